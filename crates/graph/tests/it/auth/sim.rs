//! Every credential mode end to end against the Graph simulator's token, GitHub OIDC and IMDS
//! endpoints; each token is then used on a Graph route to prove the simulator accepts it.

use devlic_graph_sim::{EXCHANGE_AUDIENCE, Sim, SimConfig, Tenant};

use super::*;

const CONTOSO_ID: &str = "6f1c2a3b-0d4e-4f5a-9b8c-7d6e5f4a3b2c";
const AKS_ISSUER: &str = "https://oidc.prod-aks.azure.com/6f1c2a3b-0d4e-4f5a-9b8c-7d6e5f4a3b2c/";
const AKS_SUBJECT: &str = "system:serviceaccount:devlic:devlic-apply";
const TOKEN_ROUTE: &str = "POST /{tenant}/oauth2/v2.0/token";

fn config() -> SimConfig {
    SimConfig {
        client_id: "app-sim".to_owned(),
        client_secret: SECRET.to_owned(),
        ..Default::default()
    }
}

async fn start(config: SimConfig) -> (Sim, Endpoints) {
    let text = std::fs::read_to_string("../../examples/tenants/contoso.json").unwrap();
    let sim = Sim::start(Tenant::from_json(&text).unwrap(), config)
        .await
        .unwrap();
    let url = Url::parse(&sim.url()).unwrap();
    let endpoints = Endpoints::custom(url.clone(), url).unwrap();
    (sim, endpoints)
}

fn token_requests(sim: &Sim) -> u64 {
    sim.stats().per_route.get(TOKEN_ROUTE).copied().unwrap_or(0)
}

/// GETs `/v1.0/subscribedSkus` with the token: the simulator answers 200 only to tokens it issued.
#[allow(clippy::disallowed_methods)] // a bare client on purpose: it checks the token, not devlic
async fn graph_accepts(endpoints: &Endpoints, token: &str) -> bool {
    let url = endpoints.graph().join("v1.0/subscribedSkus").unwrap();
    let resp = reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    resp.status() == reqwest::StatusCode::OK
}

/// A federated token as Kubernetes would project it: the simulator checks claims, not signatures.
fn projected_token(issuer: &str, subject: &str, audience: &str) -> String {
    use base64::Engine as _;
    let b64 = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let now = Timestamp::now().as_second();
    format!(
        "{}.{}.{}",
        b64(serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": "k8s"})),
        b64(
            serde_json::json!({"iss": issuer, "sub": subject, "aud": [audience], "iat": now, "nbf": now, "exp": now + 3600})
        ),
        "c2lnbmF0dXJlLW5vdC1jaGVja2Vk"
    )
}

fn provider_for(credential: Credential, endpoints: &Endpoints, tenant: &str) -> TokenProvider {
    TokenProvider::new(credential, endpoints.clone(), tenant, sign_in_http())
        .with_retry(fast_retry(3))
}

#[tokio::test]
async fn every_credential_mode_gets_a_token_graph_accepts() {
    let (sim, endpoints) = start(config()).await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("azure-identity-token");
    std::fs::write(
        &token_file,
        projected_token(AKS_ISSUER, AKS_SUBJECT, EXCHANGE_AUDIENCE),
    )
    .unwrap();
    let base = [
        ("AZURE_TENANT_ID", CONTOSO_ID),
        ("AZURE_CLIENT_ID", "app-sim"),
    ];
    let with = |extra: &[(&str, &str)]| {
        let mut all = base.to_vec();
        all.extend_from_slice(extra);
        Credential::from_env(env(&all), CredentialArgs::default()).unwrap()
    };
    let gh_url = format!("{}/_sim/github-oidc", sim.url());
    let imds = format!("{}/metadata/identity/oauth2/token", sim.url());
    let credentials = [
        with(&[("AZURE_CLIENT_SECRET", SECRET)]),
        with(&[("AZURE_CLIENT_CERTIFICATE_PATH", TEST_PEM)]),
        with(&[("AZURE_FEDERATED_TOKEN_FILE", token_file.to_str().unwrap())]),
        with(&[
            ("ACTIONS_ID_TOKEN_REQUEST_URL", &gh_url),
            (
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
                "devlic-sim-gh-request-token",
            ),
        ]),
        Credential::ManagedIdentity {
            client_id: None,
            endpoint: Url::parse(&imds).unwrap(),
            identity_header: None,
        },
    ];
    let expected = [
        AuthMode::ClientSecret,
        AuthMode::ClientCertificate,
        AuthMode::WorkloadIdentity,
        AuthMode::GitHubOidc,
        AuthMode::ManagedIdentity,
    ];
    for (credential, mode) in credentials.into_iter().zip(expected) {
        assert_eq!(credential.mode(), mode);
        let provider = provider_for(credential, &endpoints, CONTOSO_ID);
        let token = provider
            .token()
            .await
            .unwrap_or_else(|e| panic!("{mode}: {e}"));
        assert!(token.expires_at().is_some(), "{mode}");
        assert!(
            graph_accepts(&endpoints, token.secret()).await,
            "{mode}: Graph refused the token"
        );
    }
    // The tenant may be named by a verified domain too.
    let provider = provider_for(
        with(&[("AZURE_CLIENT_SECRET", SECRET)]),
        &endpoints,
        "contoso.onmicrosoft.com",
    );
    assert!(graph_accepts(&endpoints, provider.token().await.unwrap().secret()).await);
    // A static token is passed through untouched: one the simulator issued works, a made-up one does not.
    let issued = sim.issue_token();
    let source = devlic_graph::auth::token_source(
        env(&[("DEVLIC_ACCESS_TOKEN", &issued)]),
        CredentialArgs::default(),
        endpoints.clone(),
        sign_in_http(),
    )
    .unwrap();
    assert!(graph_accepts(&endpoints, source.token().await.unwrap().secret()).await);
    assert!(!graph_accepts(&endpoints, STATIC).await);
    assert_eq!(
        sim.stats().per_route.get("GET /_sim/github-oidc").copied(),
        Some(1)
    );
    assert_eq!(
        sim.stats()
            .per_route
            .get("GET /metadata/identity/oauth2/token")
            .copied(),
        Some(1)
    );
}

#[tokio::test]
async fn many_callers_share_one_token_request_until_it_nears_expiry() {
    let (sim, endpoints) = start(config()).await;
    let clock = TestClock::default();
    let credential = Credential::ClientSecret {
        client_id: "app-sim".to_owned(),
        secret: SecretString::from(SECRET),
    };
    let provider =
        Arc::new(provider_for(credential, &endpoints, CONTOSO_ID).with_clock(clock.clock()));
    let calls = (0..25).map(|_| {
        let p = provider.clone();
        tokio::spawn(async move { p.token().await.map(|t| t.secret().to_owned()) })
    });
    let tokens: Vec<String> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    assert!(tokens.iter().all(|t| *t == tokens[0]));
    for _ in 0..25 {
        provider.token().await.unwrap();
    }
    assert_eq!(token_requests(&sim), 1);

    // The simulator's tokens live 3599 s; five minutes before that the provider refreshes once.
    clock.advance(3599 - 5 * 60 + 1);
    let fresh = provider.token().await.unwrap();
    assert_ne!(fresh.secret(), tokens[0]);
    provider.token().await.unwrap();
    assert_eq!(token_requests(&sim), 2);
    assert!(graph_accepts(&endpoints, fresh.secret()).await);
}

#[tokio::test]
async fn entra_errors_from_the_simulator_are_typed_with_hints() {
    let (sim, endpoints) = start(config()).await;
    let cases: [(Credential, &str, u32, &str); 3] = [
        (
            Credential::ClientSecret {
                client_id: "app-sim".to_owned(),
                secret: SecretString::from("wrong-secret"),
            },
            CONTOSO_ID,
            7000215,
            "Value (not its ID)",
        ),
        (
            Credential::ClientSecret {
                client_id: "app-other".to_owned(),
                secret: SecretString::from(SECRET),
            },
            CONTOSO_ID,
            700016,
            "AZURE_CLIENT_ID",
        ),
        (
            Credential::ClientSecret {
                client_id: "app-sim".to_owned(),
                secret: SecretString::from(SECRET),
            },
            "fabrikam.onmicrosoft.com",
            90002,
            "AZURE_TENANT_ID",
        ),
    ];
    for (credential, tenant, code, hint) in cases {
        let err = provider_for(credential, &endpoints, tenant)
            .token()
            .await
            .unwrap_err();
        let AuthError::Entra(e) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(e.error_codes, [code]);
        assert!(e.trace_id.is_some() && e.correlation_id.is_some(), "{err}");
        assert!(err.to_string().contains(hint), "{err}");
        assert!(!err.to_string().contains(SECRET), "{err}");
    }
    assert_eq!(token_requests(&sim), 3, "permanent errors are not retried");
}

#[tokio::test]
async fn an_unmatched_federated_subject_is_retried_as_aadsts70021_then_reported() {
    let (sim, endpoints) = start(SimConfig {
        github_subject: "repo:contoso/devlic:environment:staging".to_owned(),
        ..config()
    })
    .await;
    let credential = Credential::GitHubOidc {
        client_id: "app-sim".to_owned(),
        request_url: Url::parse(&format!("{}/_sim/github-oidc", sim.url())).unwrap(),
        request_token: SecretString::from("devlic-sim-gh-request-token"),
    };
    let err = provider_for(credential, &endpoints, CONTOSO_ID)
        .token()
        .await
        .unwrap_err();
    let AuthError::Entra(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        e.error_codes,
        [devlic_graph::auth::AADSTS_NO_MATCHING_FEDERATED_CREDENTIAL]
    );
    assert!(err.to_string().contains("environment:staging"), "{err}");
    let retried = token_requests(&sim);
    assert!(retried >= 2, "retried until the time limit: {retried}");

    // A wrong request token is GitHub's 401, not retried.
    let credential = Credential::GitHubOidc {
        client_id: "app-sim".to_owned(),
        request_url: Url::parse(&format!("{}/_sim/github-oidc", sim.url())).unwrap(),
        request_token: SecretString::from(GH_REQUEST_TOKEN),
    };
    let err = provider_for(credential, &endpoints, CONTOSO_ID)
        .token()
        .await
        .unwrap_err();
    assert!(
        matches!(err, AuthError::Status { status: 401, .. }),
        "{err:?}"
    );
    assert!(!format!("{err} {err:?}").contains(GH_REQUEST_TOKEN));
}

/// A device-code sign-in asks for `offline_access`; when its access token nears its end, the
/// provider redeems the refresh token instead of showing a second code, also after a 401, and
/// asks the person again only when the refresh token is refused.
#[tokio::test]
async fn a_device_code_sign_in_is_renewed_with_its_refresh_token_not_a_second_prompt() {
    let (sim, endpoints) = start(config()).await;
    let sim = Arc::new(sim);
    let clock = TestClock::default();
    let prompts = Arc::new(Mutex::new(Vec::<String>::new()));
    // The person: reads the prompt and approves its code at once.
    let prompt = {
        let (sim, prompts) = (sim.clone(), prompts.clone());
        DeviceCodePrompt(Arc::new(move |message: &str| {
            let code = message
                .split("enter the code ")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .unwrap();
            assert!(sim.approve_device_code(code));
            prompts.lock().unwrap().push(message.to_owned());
        }))
    };
    let credential = Credential::DeviceCode {
        client_id: "app-sim".to_owned(),
        prompt: Some(prompt),
    };
    let provider = provider_for(credential, &endpoints, CONTOSO_ID).with_clock(clock.clock());
    let first = provider.token().await.unwrap();
    assert_eq!(prompts.lock().unwrap().len(), 1);
    assert_eq!(sim.issued_refresh_tokens().len(), 1, "no offline_access");
    let requests = token_requests(&sim);
    // Cached while fresh.
    assert_eq!(provider.token().await.unwrap().secret(), first.secret());
    assert_eq!(token_requests(&sim), requests);

    // Five minutes before the end: one refresh_token grant, no second prompt.
    clock.advance(3599 - 5 * 60 + 1);
    let renewed = provider.token().await.unwrap();
    assert_ne!(renewed.secret(), first.secret());
    assert!(graph_accepts(&endpoints, renewed.secret()).await);
    assert_eq!(token_requests(&sim), requests + 1);
    assert_eq!(prompts.lock().unwrap().len(), 1);
    assert_eq!(sim.issued_refresh_tokens().len(), 2);

    // Graph refused the token (401): the next token comes from the refresh token too.
    provider.invalidate(&renewed).await;
    let after_401 = provider.token().await.unwrap();
    assert_ne!(after_401.secret(), renewed.secret());
    assert_eq!(token_requests(&sim), requests + 2);
    assert_eq!(prompts.lock().unwrap().len(), 1);

    // Revoked: the refresh is refused, and only then is the person asked again.
    sim.revoke_refresh_tokens();
    clock.advance(3599);
    let signed_in_again = provider.token().await.unwrap();
    assert!(graph_accepts(&endpoints, signed_in_again.secret()).await);
    assert_eq!(prompts.lock().unwrap().len(), 2);
    assert_eq!(sim.issued_refresh_tokens().len(), 1);
    // The refresh token never shows in Debug output.
    let debug = format!("{provider:?}");
    for rt in sim.issued_refresh_tokens() {
        assert!(!debug.contains(&rt), "{debug}");
    }
}

/// A token that lives less than ten minutes (a simulator's) is renewed at half its life, not
/// at once: five minutes before the end would be before it was issued.
#[tokio::test]
async fn a_short_lived_token_is_renewed_at_half_its_life() {
    let (sim, endpoints) = start(SimConfig {
        token_lifetime: Duration::from_secs(120),
        ..config()
    })
    .await;
    let clock = TestClock::default();
    let credential = Credential::ClientSecret {
        client_id: "app-sim".to_owned(),
        secret: SecretString::from(SECRET),
    };
    let provider = provider_for(credential, &endpoints, CONTOSO_ID).with_clock(clock.clock());
    let first = provider.token().await.unwrap();
    clock.advance(59);
    assert_eq!(provider.token().await.unwrap().secret(), first.secret());
    assert_eq!(token_requests(&sim), 1);
    clock.advance(2);
    assert_ne!(provider.token().await.unwrap().secret(), first.secret());
    assert_eq!(token_requests(&sim), 2);
}
