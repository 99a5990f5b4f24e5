//! Exact wire checks and behaviour against the scripted server.

use super::scripted::Scripted;
use super::*;

#[tokio::test]
async fn client_secret_form_caching_and_shared_refresh() {
    let server = Scripted::start(vec![
        token_body("tok-1", 3600),
        token_body("tok-2", 3600),
        token_body("tok-3", 3600),
    ])
    .await;
    let clock = TestClock::default();
    let provider = Arc::new(
        TokenProvider::new(
            secret_credential(),
            server.endpoints(),
            "contoso.onmicrosoft.com",
            sign_in_http(),
        )
        .with_clock(clock.clock()),
    );
    // Many concurrent callers on a cold cache: one token request, one token.
    let calls = (0..16).map(|_| {
        let p = provider.clone();
        tokio::spawn(async move { p.token().await.map(|t| t.secret().to_owned()) })
    });
    for call in futures::future::join_all(calls).await {
        assert_eq!(call.unwrap().unwrap(), "tok-1");
    }
    assert_eq!(server.requests().len(), 1);
    let req = &server.requests()[0];
    assert!(
        req.head
            .starts_with("POST /contoso.onmicrosoft.com/oauth2/v2.0/token HTTP/1.1"),
        "{}",
        req.head
    );
    assert!(
        req.head
            .to_ascii_lowercase()
            .contains("content-type: application/x-www-form-urlencoded")
    );
    let f = form(&req.body);
    assert_eq!(f["grant_type"], "client_credentials");
    assert_eq!(f["client_id"], "app-1");
    assert_eq!(f["client_secret"], SECRET);
    assert_eq!(f["scope"], format!("{}.default", server.url));

    // Still fresh 54 minutes later; refreshed once inside the five-minute margin.
    clock.advance(54 * 60);
    assert_eq!(provider.token().await.unwrap().secret(), "tok-1");
    assert_eq!(server.requests().len(), 1);
    clock.advance(2 * 60);
    assert_eq!(provider.token().await.unwrap().secret(), "tok-2");
    assert_eq!(provider.token().await.unwrap().secret(), "tok-2");
    assert_eq!(server.requests().len(), 2);
    // A 401 on a token that was already replaced changes nothing; on the current one, it refreshes.
    let stale = devlic_graph::auth::AccessToken::new(SecretString::from("tok-1"), None);
    provider.invalidate(&stale).await;
    assert_eq!(provider.token().await.unwrap().secret(), "tok-2");
    assert_eq!(server.requests().len(), 2);
    let source: Arc<dyn TokenSource> = provider.clone();
    let current = source.token().await.unwrap();
    source.invalidate(&current).await;
    source.invalidate(&current).await;
    assert_eq!(source.token().await.unwrap().secret(), "tok-3");
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn entra_error_body_becomes_a_typed_error_with_a_hint() {
    let body = r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 0a1b\r\nCorrelation ID: 9f8e","error_codes":[7000215],"timestamp":"2026-11-24 10:00:00Z","trace_id":"0a1b2c3d-0000-4000-8000-000000000001","correlation_id":"9f8e7d6c-0000-4000-8000-000000000002"}"#;
    let server = Scripted::start(vec![(401, body.to_owned())]).await;
    let provider = TokenProvider::new(secret_credential(), server.endpoints(), "t", sign_in_http())
        .with_retry(fast_retry(3));
    let err = provider.token().await.unwrap_err();
    assert_eq!(server.requests().len(), 1, "a wrong secret is not retried");
    let AuthError::Entra(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!((e.status, e.error.as_str()), (401, "invalid_client"));
    assert_eq!(e.error_codes, [7000215]);
    assert_eq!(
        e.trace_id.as_deref(),
        Some("0a1b2c3d-0000-4000-8000-000000000001")
    );
    assert_eq!(
        e.correlation_id.as_deref(),
        Some("9f8e7d6c-0000-4000-8000-000000000002")
    );
    assert_eq!(
        e.description.as_deref(),
        Some("AADSTS7000215: Invalid client secret provided.")
    );
    let shown = err.to_string();
    for part in [
        "AADSTS7000215",
        "trace_id 0a1b2c3d",
        "correlation_id 9f8e7d6c",
        "Value (not its ID)",
    ] {
        assert!(shown.contains(part), "{part} missing from: {shown}");
    }
    assert!(!shown.contains(SECRET));
}

#[tokio::test]
async fn transient_failures_are_retried_then_succeed() {
    let fresh_credential = r#"{"error":"invalid_client","error_description":"AADSTS70021: No matching federated identity record found for presented assertion.","error_codes":[70021]}"#;
    let server = Scripted::start(vec![
        (503, "oops".to_owned()),
        (400, fresh_credential.to_owned()),
        token_body("tok-after-retry", 3600),
    ])
    .await;
    let provider = TokenProvider::new(secret_credential(), server.endpoints(), "t", sign_in_http())
        .with_retry(fast_retry(4));
    assert_eq!(provider.token().await.unwrap().secret(), "tok-after-retry");
    assert_eq!(server.requests().len(), 3);

    // AADSTS70021 that never clears ends as the typed error at the retry time limit.
    let server = Scripted::start(vec![(400, fresh_credential.to_owned())]).await;
    let provider = TokenProvider::new(secret_credential(), server.endpoints(), "t", sign_in_http())
        .with_retry(fast_retry(3));
    let err = provider.token().await.unwrap_err();
    assert!(server.requests().len() >= 2, "{}", server.requests().len());
    assert!(err.is_transient());
    assert!(err.to_string().contains("propagating"), "{err}");
}

#[tokio::test]
async fn connection_errors_are_retried_and_reported_without_the_query() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    let endpoints = Endpoints::custom(url.clone(), url).unwrap();
    let provider = TokenProvider::new(secret_credential(), endpoints, "t", sign_in_http())
        .with_retry(fast_retry(2));
    let err = provider.token().await.unwrap_err();
    assert!(matches!(err, AuthError::Transport { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains(&format!("127.0.0.1:{port}/t/oauth2/v2.0/token")),
        "{err}"
    );
}

#[tokio::test]
async fn malformed_token_responses_are_invalid_response_errors() {
    for body in [
        r#"{"expires_in":3600}"#,
        "not json",
        r#"{"access_token":"x"}"#,
        r#"{"access_token":"x","expires_in":"soon"}"#,
    ] {
        let server = Scripted::start(vec![(200, body.to_owned())]).await;
        let provider =
            TokenProvider::new(secret_credential(), server.endpoints(), "t", sign_in_http());
        let err = provider.token().await.unwrap_err();
        assert!(
            matches!(err, AuthError::InvalidResponse { .. }),
            "{body}: {err:?}"
        );
    }
}

#[tokio::test]
async fn app_service_managed_identity_sends_its_header_and_reads_expires_on() {
    let expires_on = Timestamp::now().as_second() + 3600;
    let server = Scripted::start(vec![(
        200,
        format!(r#"{{"access_token":"tok-mi","expires_on":"{expires_on}","resource":"x","token_type":"Bearer"}}"#),
    )])
    .await;
    let credential = Credential::ManagedIdentity {
        client_id: Some("uami-1".to_owned()),
        endpoint: server.url.join("msi/token").unwrap(),
        identity_header: Some(SecretString::from(IDENTITY_HEADER)),
    };
    let provider = TokenProvider::new(credential, server.endpoints(), "ignored", sign_in_http());
    let token = provider.token().await.unwrap();
    assert_eq!(token.secret(), "tok-mi");
    assert_eq!(token.expires_at().unwrap().as_second(), expires_on);
    let req = &server.requests()[0];
    let line = req.head.lines().next().unwrap();
    assert!(
        line.starts_with("GET /msi/token?api-version=2019-08-01&resource="),
        "{line}"
    );
    assert!(line.contains("&client_id=uami-1"), "{line}");
    assert!(req.head.to_ascii_lowercase().contains(&format!(
        "x-identity-header: {}",
        IDENTITY_HEADER.to_ascii_lowercase()
    )));
}

#[tokio::test]
async fn static_token_is_handed_out_as_is() {
    let source: Arc<dyn TokenSource> = Arc::new(StaticToken::new(SecretString::from(STATIC)));
    let token = source.token().await.unwrap();
    assert_eq!(token.secret(), STATIC);
    assert_eq!(token.expires_at(), None);
    let chosen = devlic_graph::auth::token_source(
        env(&[("DEVLIC_ACCESS_TOKEN", STATIC)]),
        CredentialArgs::default(),
        Endpoints::for_cloud(Cloud::Global),
        sign_in_http(),
    )
    .unwrap();
    assert_eq!(chosen.token().await.unwrap().secret(), STATIC);
    assert_eq!(format!("{chosen:?}"), "StaticToken(<redacted>)");
}

#[tokio::test]
async fn certificate_assertion_has_the_claims_entra_requires() {
    let server = Scripted::start(vec![token_body("tok-cert", 3600)]).await;
    let vars = [
        ("AZURE_TENANT_ID", "6f1c2a3b-0d4e-4f5a-9b8c-7d6e5f4a3b2c"),
        ("AZURE_CLIENT_ID", "app-cert"),
        ("AZURE_CLIENT_CERTIFICATE_PATH", TEST_PEM),
    ];
    let credential = Credential::from_env(env(&vars), CredentialArgs::default()).unwrap();
    let Credential::ClientCertificate { certificate, .. } = &credential else {
        panic!()
    };
    let thumbprint = certificate.thumbprint_s256().to_owned();
    let provider = TokenProvider::new(credential, server.endpoints(), vars[0].1, sign_in_http());
    assert_eq!(provider.token().await.unwrap().secret(), "tok-cert");
    let f = form(&server.requests()[0].body);
    assert_eq!(
        f["client_assertion_type"],
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
    assert!(!f.contains_key("client_secret"));
    let jwt = &f["client_assertion"];
    let header = jwt_part(jwt, 0);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["x5t#S256"], thumbprint);
    let claims = jwt_part(jwt, 1);
    assert_eq!(
        claims["aud"],
        format!("{}{}/oauth2/v2.0/token", server.url, vars[0].1)
    );
    assert_eq!(claims["iss"], "app-cert");
    assert_eq!(claims["sub"], "app-cert");
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    let (nbf, exp) = (
        claims["nbf"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert!(exp > nbf && exp - nbf <= 600, "nbf {nbf} exp {exp}");
}

#[tokio::test]
async fn federated_token_file_is_reread_on_every_refresh() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("azure-identity-token");
    std::fs::write(&file, "first-projected-token\n").unwrap();
    let server = Scripted::start(vec![token_body("tok-a", 3600), token_body("tok-b", 3600)]).await;
    let clock = TestClock::default();
    let credential = Credential::WorkloadIdentity {
        client_id: "app-k8s".to_owned(),
        token_file: file.clone(),
    };
    let provider = TokenProvider::new(credential, server.endpoints(), "t", sign_in_http())
        .with_clock(clock.clock());
    assert_eq!(provider.token().await.unwrap().secret(), "tok-a");
    std::fs::write(&file, "rotated-projected-token").unwrap();
    clock.advance(3600);
    assert_eq!(provider.token().await.unwrap().secret(), "tok-b");
    let assertions: Vec<String> = server
        .requests()
        .iter()
        .map(|r| form(&r.body)["client_assertion"].clone())
        .collect();
    assert_eq!(
        assertions,
        ["first-projected-token", "rotated-projected-token"]
    );

    std::fs::write(&file, "  \n").unwrap();
    let current = provider.token().await.unwrap();
    provider.invalidate(&current).await;
    let err = provider.token().await.unwrap_err();
    assert!(matches!(err, AuthError::TokenFile { .. }), "{err:?}");
    std::fs::remove_file(&file).unwrap();
    let err = provider.token().await.unwrap_err();
    assert!(
        err.to_string().contains("AZURE_FEDERATED_TOKEN_FILE"),
        "{err}"
    );
}

#[tokio::test]
async fn github_oidc_fetches_an_id_token_for_entra_then_exchanges_it() {
    let server = Scripted::start(vec![
        (200, r#"{"count":1,"value":"gh-id-token-jwt"}"#.to_owned()),
        token_body("tok-gh", 3600),
    ])
    .await;
    let credential = Credential::GitHubOidc {
        client_id: "app-gh".to_owned(),
        request_url: server.url.join("_apis/idtoken?api-version=2.0").unwrap(),
        request_token: SecretString::from(GH_REQUEST_TOKEN),
    };
    let provider = TokenProvider::new(credential, server.endpoints(), "t", sign_in_http());
    assert_eq!(provider.token().await.unwrap().secret(), "tok-gh");
    let reqs = server.requests();
    let line = reqs[0].head.lines().next().unwrap();
    assert_eq!(
        line,
        "GET /_apis/idtoken?api-version=2.0&audience=api%3A%2F%2FAzureADTokenExchange HTTP/1.1"
    );
    assert!(
        reqs[0]
            .head
            .contains(&format!("authorization: bearer {GH_REQUEST_TOKEN}")),
        "{}",
        reqs[0].head
    );
    assert_eq!(form(&reqs[1].body)["client_assertion"], "gh-id-token-jwt");

    let server = Scripted::start(vec![(403, "{}".to_owned())]).await;
    let credential = Credential::GitHubOidc {
        client_id: "app-gh".to_owned(),
        request_url: server.url.join("_apis/idtoken?api-version=2.0").unwrap(),
        request_token: SecretString::from(GH_REQUEST_TOKEN),
    };
    let err = TokenProvider::new(credential, server.endpoints(), "t", sign_in_http())
        .token()
        .await
        .unwrap_err();
    assert!(
        matches!(err, AuthError::Status { status: 403, .. }),
        "{err:?}"
    );
    assert!(
        !err.to_string().contains("api-version"),
        "query shown: {err}"
    );
}

/// Formats every auth type with `{:?}` and every error with `{}` and `{:?}`, and checks that none
/// of the secrets used shows up anywhere.
#[tokio::test]
async fn no_secret_appears_in_debug_or_error_output() {
    let key_line = std::fs::read_to_string(TEST_PEM)
        .unwrap()
        .lines()
        .nth(4)
        .unwrap()
        .to_owned();
    let issued = "known-issued-access-token-Hh42";
    let federated = "known-federated-assertion-Kk9";
    let secrets = [
        SECRET,
        GH_REQUEST_TOKEN,
        STATIC,
        IDENTITY_HEADER,
        issued,
        federated,
        key_line.as_str(),
    ];
    let mut shown = Vec::new();
    // Every tracing event and span field of this test (all levels, including reqwest/hyper's).
    let logs = Arc::new(Mutex::new(String::new()));
    let _capture = tracing::subscriber::set_default(Capture(logs.clone()));
    // Other tests may be registering the same callsites on other threads right now; recompute
    // every callsite's cached interest so none stays disabled for this thread's subscriber.
    tracing::callsite::rebuild_interest_cache();

    let vars = full_env(TEST_PEM);
    for mode in AuthMode::ALL {
        let args = CredentialArgs {
            mode: Some(mode),
            ..Default::default()
        };
        shown.push(format!("{args:?}"));
        let cred = Credential::from_env(lookup_of(&vars), args).unwrap();
        shown.push(format!("{cred:?}"));
        let provider = TokenProvider::new(
            cred,
            Endpoints::for_cloud(Cloud::Global),
            "t",
            sign_in_http(),
        );
        shown.push(format!("{provider:?}"));
    }
    shown.push(format!(
        "{:?}",
        StaticToken::new(SecretString::from(STATIC))
    ));

    // Errors from each flow, against a server that rejects everything with an Entra body.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, federated).unwrap();
    let rejected = r#"{"error":"invalid_client","error_description":"AADSTS700027: Client assertion failed signature validation.","error_codes":[700027],"trace_id":"t1","correlation_id":"c1"}"#;
    let server = Scripted::start(vec![
        (503, String::new()),
        token_body(issued, 3600),
        (401, rejected.to_owned()),
    ])
    .await;
    let ok = TokenProvider::new(secret_credential(), server.endpoints(), "t", sign_in_http())
        .with_retry(fast_retry(2));
    tracing::callsite::rebuild_interest_cache();
    let token = ok.token().await.unwrap();
    assert_eq!(token.secret(), issued);
    shown.push(format!("{token:?} {ok:?}"));
    assert_eq!(format!("{token:?}"), "AccessToken(<redacted>)");
    let mut creds = vec![
        secret_credential(),
        Credential::from_env(
            lookup_of(&vars),
            CredentialArgs {
                mode: Some(AuthMode::ClientCertificate),
                ..Default::default()
            },
        )
        .unwrap(),
        Credential::WorkloadIdentity {
            client_id: "a".to_owned(),
            token_file: file,
        },
        Credential::GitHubOidc {
            client_id: "a".to_owned(),
            request_url: server.url.join("gh").unwrap(),
            request_token: SecretString::from(GH_REQUEST_TOKEN),
        },
        Credential::ManagedIdentity {
            client_id: None,
            endpoint: server.url.join("msi").unwrap(),
            identity_header: Some(SecretString::from(IDENTITY_HEADER)),
        },
    ];
    creds.push(Credential::StaticToken(SecretString::from(STATIC)));
    for cred in creds {
        let provider = TokenProvider::new(cred, server.endpoints(), "t", sign_in_http())
            .with_retry(fast_retry(0));
        if let Err(err) = provider.token().await {
            shown.push(format!("{err} {err:?}"));
        }
    }
    let errors = shown
        .iter()
        .filter(|s| s.contains("invalid_client") || s.contains("HTTP 401"))
        .count();
    assert!(errors >= 4, "expected rejected flows, got {shown:#?}");
    let logs = logs.lock().unwrap().clone();
    assert!(logs.contains("token request failed; retrying"), "{logs}");
    assert!(logs.contains("acquired a Graph access token"), "{logs}");
    shown.push(logs);
    for text in &shown {
        for secret in &secrets {
            assert!(!text.contains(secret), "secret {secret:?} leaked in {text}");
        }
    }
}

#[tokio::test]
async fn unreachable_imds_says_no_credential_was_found() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let credential = Credential::ManagedIdentity {
        client_id: None,
        endpoint: Url::parse(&format!(
            "http://127.0.0.1:{port}/metadata/identity/oauth2/token"
        ))
        .unwrap(),
        identity_header: None,
    };
    let provider = TokenProvider::new(
        credential,
        Endpoints::for_cloud(Cloud::Global),
        "t",
        sign_in_http(),
    )
    .with_retry(fast_retry(3));
    let err = provider.token().await.unwrap_err();
    assert!(matches!(err, AuthError::NoCredential { .. }), "{err:?}");
    assert!(!err.is_transient());
    assert!(
        err.to_string()
            .contains("--auth managed-identity works only on Azure"),
        "{err}"
    );
}

#[tokio::test]
async fn a_refused_token_endpoint_fails_at_once_naming_the_url() {
    // Issue 15: a wrong --authority-url port spent the whole sign-in retry budget.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let base = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    let credential = Credential::ClientSecret {
        client_id: "app-1".to_owned(),
        secret: SecretString::from(SECRET.to_owned()),
    };
    let provider = TokenProvider::new(
        credential,
        Endpoints::custom(base.clone(), base).unwrap(),
        "contoso.onmicrosoft.com",
        sign_in_http(),
    )
    .with_retry(RetryPolicy {
        base: Duration::from_millis(200),
        cap: Duration::from_secs(1),
        max_elapsed: Duration::from_secs(30),
    });
    let started = std::time::Instant::now();
    let err = provider.token().await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(err.is_unreachable(), "{err:?}");
    assert!(!err.is_transient());
    assert_eq!(
        err.unreachable_url(),
        Some(format!("http://127.0.0.1:{port}/contoso.onmicrosoft.com/oauth2/v2.0/token").as_str())
    );
    insta::assert_snapshot!(
        "token_endpoint_connection_refused",
        err.to_string().replace(&port.to_string(), "PORT")
    );
}

/// A tracing subscriber that writes every event's and span's fields into a string.
struct Capture(Arc<Mutex<String>>);

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write as _;
        let _ = write!(self.0, "{}={value:?} ", field.name());
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attrs: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut out = String::new();
        attrs.record(&mut Fields(&mut out));
        self.0.lock().unwrap().push_str(&out);
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let mut out = String::new();
        values.record(&mut Fields(&mut out));
        self.0.lock().unwrap().push_str(&out);
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut out = String::new();
        event.record(&mut Fields(&mut out));
        out.push('\n');
        self.0.lock().unwrap().push_str(&out);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}
