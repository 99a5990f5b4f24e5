//! Auth flows: clouds and endpoints, credential selection, the token flows over HTTP (against the
//! Graph simulator and a scripted loopback server for exact wire checks), caching, refresh,
//! retries, typed Entra errors, and that no secret ever shows in Debug or error output.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use devlic_graph::auth::{
    AuthError, AuthMode, Clock, Cloud, Credential, CredentialArgs, Endpoints, RetryPolicy,
    StaticToken, TokenProvider, TokenSource,
};
use jiff::{SignedDuration, Timestamp};
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

const TEST_PEM: &str = "tests/data/test-only-client-cert.pem";
const SECRET: &str = "known-client-secret-Zq81";
const GH_REQUEST_TOKEN: &str = "known-gh-request-token-Vb55";
const STATIC: &str = "known-static-access-token-Ut3";
const IDENTITY_HEADER: &str = "known-identity-header-Pp07";

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |k| map.get(k).cloned()
}

fn fast_retry(attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts: attempts,
        base_delay: Duration::from_millis(2),
        max_delay: Duration::from_millis(5),
    }
}

/// A clock that tests can move forward.
#[derive(Clone, Default)]
struct TestClock(Arc<AtomicI64>);

impl TestClock {
    fn clock(&self) -> Clock {
        let offset = self.0.clone();
        Arc::new(move || {
            Timestamp::now() + SignedDuration::from_secs(offset.load(Ordering::SeqCst))
        })
    }
    fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

// ---------------------------------------------------------------------------------------------
// A scripted HTTP/1.1 server on 127.0.0.1: answers canned responses in order (repeating the last)
// and records every request, so tests can count token requests and read the exact form sent.

#[derive(Debug, Clone)]
struct Seen {
    head: String,
    body: String,
}

#[derive(Clone)]
struct Scripted {
    url: Url,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Scripted {
    async fn start(responses: Vec<(u16, String)>) -> Scripted {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let queue = Arc::new(Mutex::new(VecDeque::from(responses)));
        let seen2 = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let (seen, queue) = (seen2.clone(), queue.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    let head_end = loop {
                        let n = sock.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break p + 4;
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                    let len = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse().ok())?
                        })
                        .unwrap_or(0usize);
                    while buf.len() < head_end + len {
                        let n = sock.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    let body = String::from_utf8_lossy(&buf[head_end..]).to_string();
                    seen.lock().unwrap().push(Seen { head, body });
                    let (status, body) = {
                        let mut q = queue.lock().unwrap();
                        if q.len() > 1 {
                            q.pop_front()
                        } else {
                            q.front().cloned()
                        }
                    }
                    .unwrap_or((500, String::new()));
                    let reply = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = sock.write_all(reply.as_bytes()).await;
                });
            }
        });
        Scripted { url, seen }
    }

    fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn endpoints(&self) -> Endpoints {
        Endpoints::custom(self.url.clone(), self.url.clone()).unwrap()
    }
}

fn token_body(token: &str, expires_in: i64) -> (u16, String) {
    (
        200,
        format!(r#"{{"token_type":"Bearer","expires_in":{expires_in},"access_token":"{token}"}}"#),
    )
}

fn form(body: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn secret_credential() -> Credential {
    Credential::ClientSecret {
        client_id: "app-1".to_owned(),
        secret: SecretString::from(SECRET),
    }
}

// ---------------------------------------------------------------------------------------------
// Clouds and endpoints

#[test]
fn each_cloud_has_its_graph_and_login_hosts() {
    let expected = [
        (
            Cloud::Global,
            "global",
            "https://graph.microsoft.com/",
            "https://login.microsoftonline.com/",
        ),
        (
            Cloud::UsGov,
            "usgov",
            "https://graph.microsoft.us/",
            "https://login.microsoftonline.us/",
        ),
        (
            Cloud::UsGovDod,
            "usgovdod",
            "https://dod-graph.microsoft.us/",
            "https://login.microsoftonline.us/",
        ),
        (
            Cloud::China,
            "china",
            "https://microsoftgraph.chinacloudapi.cn/",
            "https://login.chinacloudapi.cn/",
        ),
    ];
    for (cloud, name, graph, login) in expected {
        assert_eq!(cloud.graph_url().as_str(), graph);
        assert_eq!(cloud.authority_url().as_str(), login);
        assert_eq!(name.parse::<Cloud>().unwrap(), cloud);
        assert_eq!(cloud.to_string(), name);
        let ep = Endpoints::for_cloud(cloud);
        assert_eq!(
            ep.scope(),
            format!("{}/.default", graph.trim_end_matches('/'))
        );
        assert_eq!(
            ep.token_url("contoso.onmicrosoft.com").as_str(),
            format!("{login}contoso.onmicrosoft.com/oauth2/v2.0/token")
        );
    }
    assert!("mars".parse::<Cloud>().is_err());
}

#[test]
fn overrides_win_over_the_cloud_and_env_loses_to_the_flag() {
    let ep = Endpoints::resolve(Cloud::China, None, None, None).unwrap();
    assert_eq!(ep, Endpoints::for_cloud(Cloud::China));

    let ep = Endpoints::resolve(
        Cloud::Global,
        Some("https://graph.proxy.example/base"),
        None,
        Some("https://login.env.example"),
    )
    .unwrap();
    assert_eq!(ep.graph().as_str(), "https://graph.proxy.example/base/");
    assert_eq!(ep.scope(), "https://graph.proxy.example/base/.default");
    assert_eq!(ep.authority().as_str(), "https://login.env.example/");

    let ep = Endpoints::resolve(
        Cloud::UsGov,
        None,
        Some("https://login.flag.example/"),
        Some("https://login.env.example"),
    )
    .unwrap();
    assert_eq!(ep.authority().as_str(), "https://login.flag.example/");
    assert_eq!(ep.graph().as_str(), "https://graph.microsoft.us/");
}

#[test]
fn plain_http_is_accepted_only_for_loopback() {
    for ok in [
        "http://127.0.0.1:8080",
        "http://127.45.6.7/",
        "http://[::1]:9/",
        "http://localhost:1/x",
        "https://graph.example.com",
    ] {
        Endpoints::resolve(Cloud::Global, Some(ok), Some(ok), None)
            .unwrap_or_else(|e| panic!("{ok} refused: {e}"));
    }
    for bad in [
        "http://graph.example.com",
        "http://10.0.0.1/",
        "http://169.254.169.254/",
        "http://[fe80::1]/",
        "http://localhost.evil.example/",
        "http://127.0.0.1.nip.io/",
    ] {
        let err = Endpoints::resolve(Cloud::Global, Some(bad), None, None).unwrap_err();
        assert!(
            matches!(
                err,
                AuthError::InsecureUrl {
                    what: "--graph-url",
                    ..
                }
            ),
            "{bad}: {err:?}"
        );
        let err = Endpoints::resolve(Cloud::Global, None, None, Some(bad)).unwrap_err();
        assert!(
            matches!(
                err,
                AuthError::InsecureUrl {
                    what: "AZURE_AUTHORITY_HOST",
                    ..
                }
            ),
            "{bad}: {err:?}"
        );
        assert!(err.to_string().contains("use https"), "{err}");
    }
    for bad in [
        "ftp://graph.example.com/",
        "not a url",
        "https://user:pw@graph.example.com/",
    ] {
        let err = Endpoints::resolve(Cloud::Global, Some(bad), None, None).unwrap_err();
        assert!(
            matches!(err, AuthError::InvalidUrl { .. }),
            "{bad}: {err:?}"
        );
        assert!(!err.to_string().contains("pw@"), "{err}");
    }
}

// ---------------------------------------------------------------------------------------------
// Choosing the credential

fn full_env(cert: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AZURE_TENANT_ID", "contoso.onmicrosoft.com".to_owned()),
        ("AZURE_CLIENT_ID", "app-1".to_owned()),
        ("DEVLIC_ACCESS_TOKEN", STATIC.to_owned()),
        ("AZURE_CLIENT_SECRET", SECRET.to_owned()),
        ("AZURE_CLIENT_CERTIFICATE_PATH", cert.to_owned()),
        (
            "AZURE_FEDERATED_TOKEN_FILE",
            "/var/run/secrets/azure/tokens/azure-identity-token".to_owned(),
        ),
        (
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "https://pipelines.actions.example/idtoken?api-version=2.0".to_owned(),
        ),
        (
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            GH_REQUEST_TOKEN.to_owned(),
        ),
        (
            "IDENTITY_ENDPOINT",
            "http://localhost:42356/msi/token".to_owned(),
        ),
        ("IDENTITY_HEADER", IDENTITY_HEADER.to_owned()),
    ]
}

fn lookup_of(vars: &[(&'static str, String)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<&'static str, String> = vars.iter().cloned().collect();
    move |k| map.get(k).cloned()
}

#[test]
fn environment_is_searched_in_the_documented_order() {
    let mut vars = full_env(TEST_PEM);
    let order = [
        ("DEVLIC_ACCESS_TOKEN", AuthMode::AccessToken),
        ("AZURE_CLIENT_SECRET", AuthMode::ClientSecret),
        ("AZURE_CLIENT_CERTIFICATE_PATH", AuthMode::ClientCertificate),
        ("AZURE_FEDERATED_TOKEN_FILE", AuthMode::WorkloadIdentity),
        ("ACTIONS_ID_TOKEN_REQUEST_URL", AuthMode::GitHubOidc),
        ("IDENTITY_ENDPOINT", AuthMode::ManagedIdentity),
    ];
    for (var, mode) in order {
        let cred = Credential::from_env(lookup_of(&vars), CredentialArgs::default()).unwrap();
        assert_eq!(cred.mode(), mode, "with {var} set");
        vars.retain(|(k, _)| *k != var);
    }
    // With IDENTITY_* gone, managed identity falls back to IMDS; AZURE_CLIENT_ID picks the identity.
    let cred = Credential::from_env(lookup_of(&vars), CredentialArgs::default()).unwrap();
    match cred {
        Credential::ManagedIdentity {
            client_id,
            endpoint,
            identity_header,
        } => {
            assert_eq!(client_id.as_deref(), Some("app-1"));
            assert_eq!(
                endpoint.as_str(),
                "http://169.254.169.254/metadata/identity/oauth2/token"
            );
            assert!(identity_header.is_none());
        }
        other => panic!("expected IMDS, got {other:?}"),
    }
}

#[test]
fn flags_come_before_the_environment() {
    let vars = full_env(TEST_PEM);
    let forced = |mode| CredentialArgs {
        mode: Some(mode),
        ..Default::default()
    };
    for mode in AuthMode::ALL {
        let cred = Credential::from_env(lookup_of(&vars), forced(mode)).unwrap();
        assert_eq!(cred.mode(), mode);
        assert_eq!(mode.name().parse::<AuthMode>().unwrap(), mode);
    }
    // --certificate wins over AZURE_CLIENT_SECRET and DEVLIC_ACCESS_TOKEN; --client-id over AZURE_CLIENT_ID.
    let args = CredentialArgs {
        certificate_path: Some(PathBuf::from(TEST_PEM)),
        client_id: Some("app-from-flag".to_owned()),
        ..Default::default()
    };
    match Credential::from_env(lookup_of(&vars), args).unwrap() {
        Credential::ClientCertificate {
            client_id,
            certificate,
        } => {
            assert_eq!(client_id, "app-from-flag");
            assert_eq!(certificate.path(), Path::new(TEST_PEM));
            assert_eq!(certificate.thumbprint_s256().len(), 43);
        }
        other => panic!("expected certificate, got {other:?}"),
    }
    let args = CredentialArgs {
        federated_token_file: Some("/tmp/flag-token".into()),
        ..Default::default()
    };
    match Credential::from_env(lookup_of(&vars), args).unwrap() {
        Credential::WorkloadIdentity { token_file, .. } => {
            assert_eq!(token_file, Path::new("/tmp/flag-token"))
        }
        other => panic!("expected workload identity, got {other:?}"),
    }
}

#[test]
fn missing_or_bad_settings_are_typed_errors_with_hints() {
    let err = Credential::from_env(
        env(&[("AZURE_CLIENT_SECRET", SECRET), ("AZURE_CLIENT_ID", "a")]),
        CredentialArgs::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            AuthError::MissingSetting {
                what: "AZURE_TENANT_ID",
                ..
            }
        ),
        "{err:?}"
    );
    let err = Credential::from_env(
        env(&[("AZURE_CLIENT_SECRET", SECRET), ("AZURE_TENANT_ID", "t")]),
        CredentialArgs::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            AuthError::MissingSetting {
                what: "AZURE_CLIENT_ID",
                ..
            }
        ),
        "{err:?}"
    );
    let err = Credential::from_env(
        env(&[
            ("AZURE_CLIENT_SECRET", SECRET),
            ("AZURE_CLIENT_ID", "a"),
            ("AZURE_TENANT_ID", "x/../../evil"),
        ]),
        CredentialArgs::default(),
    )
    .unwrap_err();
    assert!(matches!(err, AuthError::InvalidConfig { .. }), "{err:?}");
    // Empty values count as unset.
    let cred = Credential::from_env(
        env(&[("DEVLIC_ACCESS_TOKEN", " "), ("AZURE_CLIENT_SECRET", "")]),
        CredentialArgs::default(),
    )
    .unwrap();
    assert_eq!(cred.mode(), AuthMode::ManagedIdentity);
    let err = Credential::from_env(
        env(&[]),
        CredentialArgs {
            mode: Some(AuthMode::GitHubOidc),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("id-token: write"), "{err}");
    let err = Credential::from_env(
        env(&[
            ("AZURE_TENANT_ID", "t"),
            ("AZURE_CLIENT_ID", "a"),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", "http://gh.example/x"),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", GH_REQUEST_TOKEN),
        ]),
        CredentialArgs::default(),
    )
    .unwrap_err();
    assert!(matches!(err, AuthError::InsecureUrl { .. }), "{err:?}");
    let err = Credential::from_env(
        env(&[
            ("AZURE_TENANT_ID", "t"),
            ("AZURE_CLIENT_ID", "a"),
            ("AZURE_CLIENT_CERTIFICATE_PATH", "/nonexistent/cert.pem"),
        ]),
        CredentialArgs::default(),
    )
    .unwrap_err();
    assert!(matches!(err, AuthError::Certificate { .. }), "{err:?}");
    assert!("bogus".parse::<AuthMode>().is_err());
}

// ---------------------------------------------------------------------------------------------
// Wire checks and behaviour against the scripted server

#[tokio::test]
async fn client_secret_form_caching_and_shared_refresh() {
    let server = Scripted::start(vec![token_body("tok-1", 3600), token_body("tok-2", 3600)]).await;
    let clock = TestClock::default();
    let provider = Arc::new(
        TokenProvider::new(
            secret_credential(),
            server.endpoints(),
            "contoso.onmicrosoft.com",
            reqwest::Client::new(),
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
    provider.invalidate().await;
    assert_eq!(provider.token().await.unwrap().secret(), "tok-2");
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn entra_error_body_becomes_a_typed_error_with_a_hint() {
    let body = r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 0a1b\r\nCorrelation ID: 9f8e","error_codes":[7000215],"timestamp":"2026-11-24 10:00:00Z","trace_id":"0a1b2c3d-0000-4000-8000-000000000001","correlation_id":"9f8e7d6c-0000-4000-8000-000000000002"}"#;
    let server = Scripted::start(vec![(401, body.to_owned())]).await;
    let provider = TokenProvider::new(
        secret_credential(),
        server.endpoints(),
        "t",
        reqwest::Client::new(),
    )
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
    let provider = TokenProvider::new(
        secret_credential(),
        server.endpoints(),
        "t",
        reqwest::Client::new(),
    )
    .with_retry(fast_retry(4));
    assert_eq!(provider.token().await.unwrap().secret(), "tok-after-retry");
    assert_eq!(server.requests().len(), 3);

    // AADSTS70021 that never clears ends as the typed error after max_attempts.
    let server = Scripted::start(vec![(400, fresh_credential.to_owned())]).await;
    let provider = TokenProvider::new(
        secret_credential(),
        server.endpoints(),
        "t",
        reqwest::Client::new(),
    )
    .with_retry(fast_retry(3));
    let err = provider.token().await.unwrap_err();
    assert_eq!(server.requests().len(), 3);
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
    let provider = TokenProvider::new(secret_credential(), endpoints, "t", reqwest::Client::new())
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
        let provider = TokenProvider::new(
            secret_credential(),
            server.endpoints(),
            "t",
            reqwest::Client::new(),
        );
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
    let provider = TokenProvider::new(
        credential,
        server.endpoints(),
        "ignored",
        reqwest::Client::new(),
    );
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
        reqwest::Client::new(),
    )
    .unwrap();
    assert_eq!(chosen.token().await.unwrap().secret(), STATIC);
    assert_eq!(format!("{chosen:?}"), "StaticToken(<redacted>)");
}

fn jwt_part(jwt: &str, index: usize) -> serde_json::Value {
    use base64::Engine as _;
    let part = jwt.split('.').nth(index).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
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
    let provider = TokenProvider::new(
        credential,
        server.endpoints(),
        vars[0].1,
        reqwest::Client::new(),
    );
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
    let provider = TokenProvider::new(credential, server.endpoints(), "t", reqwest::Client::new())
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
    provider.invalidate().await;
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
    let provider = TokenProvider::new(credential, server.endpoints(), "t", reqwest::Client::new());
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
    let err = TokenProvider::new(credential, server.endpoints(), "t", reqwest::Client::new())
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
            reqwest::Client::new(),
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
    let server =
        Scripted::start(vec![(token_body(issued, 3600)), (401, rejected.to_owned())]).await;
    let ok = TokenProvider::new(
        secret_credential(),
        server.endpoints(),
        "t",
        reqwest::Client::new(),
    );
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
        let provider = TokenProvider::new(cred, server.endpoints(), "t", reqwest::Client::new())
            .with_retry(fast_retry(1));
        if let Err(err) = provider.token().await {
            shown.push(format!("{err} {err:?}"));
        }
    }
    let errors = shown
        .iter()
        .filter(|s| s.contains("invalid_client") || s.contains("HTTP 401"))
        .count();
    assert!(errors >= 4, "expected rejected flows, got {shown:#?}");
    for text in &shown {
        for secret in &secrets {
            assert!(!text.contains(secret), "secret {secret:?} leaked in {text}");
        }
    }
}
