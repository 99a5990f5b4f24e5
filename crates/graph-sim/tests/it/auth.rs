//! Token endpoint (client secret, certificate and federated assertions), GitHub OIDC, managed
//! identity, and Graph's 401s (entra docs: v2-oauth2-client-creds-grant-flow.md,
//! workload-identity-federation.md, managed identity IMDS; graph docs: concepts/errors.md).

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use devlic_graph_sim::{EXCHANGE_AUDIENCE, GITHUB_ISSUER, SimConfig};
use serde_json::{Value, json};

use crate::Env;

const TENANT: &str = "6f1c2a3b-0d4e-4f5a-9b8c-7d6e5f4a3b2c";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn jwt(claims: Value) -> String {
    let h = URL_SAFE_NO_PAD
        .encode(json!({"alg": "RS256", "typ": "JWT", "x5t#S256": "abc"}).to_string());
    let p = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{h}.{p}.c2lnbmF0dXJl")
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn token(env: &Env, tenant: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let r = env
        .http
        .post(format!("{}/{tenant}/oauth2/v2.0/token", env.sim.url()))
        .form(form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn base<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut v = vec![
        ("grant_type", "client_credentials"),
        ("client_id", "devlic-sim"),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    v.extend_from_slice(extra);
    v
}

async fn graph_with(env: &Env, token: &str) -> u16 {
    env.http
        .get(format!("{}/v1.0/organization", env.sim.url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn client_secret_by_tenant_id_or_domain() {
    let env = Env::contoso().await;
    for tenant in [TENANT, "contoso.onmicrosoft.com", "contoso.com"] {
        let (status, v) = token(
            &env,
            tenant,
            &base(&[("client_secret", "devlic-sim-secret")]),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["token_type"], "Bearer");
        assert_eq!(v["expires_in"], 3599);
        assert_eq!(
            graph_with(&env, v["access_token"].as_str().unwrap()).await,
            200
        );
    }
}

/// (tenant in the URL, form, expected status, `error`, first of `error_codes`).
type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, u16, &'a str, u64);

#[tokio::test]
async fn token_endpoint_errors_use_entra_shape() {
    let env = Env::contoso().await;
    let cases: Vec<Case> = vec![
        (
            "fabrikam.com",
            base(&[("client_secret", "devlic-sim-secret")]),
            400,
            "invalid_request",
            90002,
        ),
        (
            TENANT,
            base(&[("client_secret", "wrong")]),
            401,
            "invalid_client",
            7000215,
        ),
        (
            TENANT,
            vec![
                ("grant_type", "password"),
                ("client_id", "devlic-sim"),
                ("scope", "x/.default"),
            ],
            400,
            "unsupported_grant_type",
            70003,
        ),
        (
            TENANT,
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "other"),
                ("scope", "https://graph.microsoft.com/.default"),
                ("client_secret", "s"),
            ],
            400,
            "unauthorized_client",
            700016,
        ),
        (
            TENANT,
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "devlic-sim"),
                ("scope", "User.Read"),
                ("client_secret", "devlic-sim-secret"),
            ],
            400,
            "invalid_scope",
            1002012,
        ),
        (TENANT, base(&[]), 401, "invalid_client", 7000218),
    ];
    for (tenant, form, status, error, code) in cases {
        let (s, v) = token(&env, tenant, &form).await;
        assert_eq!((s, v["error"].as_str().unwrap()), (status, error), "{v}");
        assert_eq!(v["error_codes"][0], code);
        for k in [
            "error_description",
            "trace_id",
            "correlation_id",
            "timestamp",
        ] {
            assert!(v[k].is_string(), "{k}");
        }
        assert!(!v.to_string().contains("devlic-sim-secret"));
    }
}

#[tokio::test]
async fn certificate_assertion_checks_claims() {
    let env = Env::contoso().await;
    let aud = format!("https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token");
    let good = jwt(
        json!({"iss": "devlic-sim", "sub": "devlic-sim", "aud": aud, "exp": now() + 600, "nbf": now(), "jti": "1"}),
    );
    let (s, v) = token(
        &env,
        TENANT,
        &base(&[
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &good),
        ]),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let expired =
        jwt(json!({"iss": "devlic-sim", "sub": "devlic-sim", "aud": aud, "exp": now() - 10}));
    let (s, v) = token(
        &env,
        TENANT,
        &base(&[
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &expired),
        ]),
    )
    .await;
    assert_eq!((s, v["error_codes"][0].as_u64()), (401, Some(700024)));
    let (s, _) = token(
        &env,
        TENANT,
        &base(&[
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", "not.a.jwt"),
        ]),
    )
    .await;
    assert_eq!(s, 401);
    let (s, _) = token(
        &env,
        TENANT,
        &base(&[
            ("client_assertion_type", "wrong"),
            ("client_assertion", &good),
        ]),
    )
    .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn github_oidc_token_exchanges_through_the_federated_credential() {
    let env = Env::contoso().await;
    let oidc = format!(
        "{}/_sim/github-oidc?audience={EXCHANGE_AUDIENCE}",
        env.sim.url()
    );
    let r = env.http.get(&oidc).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = env
        .http
        .get(&oidc)
        .header("Authorization", "bearer devlic-sim-gh-request-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let gh = v["value"].as_str().unwrap().to_owned();
    let claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(gh.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["iss"], GITHUB_ISSUER);
    let (s, v) = token(
        &env,
        "contoso.com",
        &base(&[
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &gh),
        ]),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    // A subject with no federated credential is refused with AADSTS70021.
    let other = jwt(
        json!({"iss": GITHUB_ISSUER, "sub": "repo:evil/fork:pull_request", "aud": EXCHANGE_AUDIENCE, "exp": now() + 300}),
    );
    let (s, v) = token(
        &env,
        TENANT,
        &base(&[
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &other),
        ]),
    )
    .await;
    assert_eq!((s, v["error_codes"][0].as_u64()), (400, Some(70021)));
    let wrong_aud = jwt(
        json!({"iss": GITHUB_ISSUER, "sub": "repo:contoso/devlic:environment:production", "aud": "api://other", "exp": now() + 300}),
    );
    let (s, v) = token(
        &env,
        TENANT,
        &base(&[
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &wrong_aud),
        ]),
    )
    .await;
    assert_eq!((s, v["error_codes"][0].as_u64()), (400, Some(700212)));
    let unknown_iss = jwt(
        json!({"iss": "https://evil.example", "sub": "x", "aud": EXCHANGE_AUDIENCE, "exp": now() + 300}),
    );
    let (s, _) = token(
        &env,
        TENANT,
        &base(&[
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &unknown_iss),
        ]),
    )
    .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn kubernetes_federated_token_file_flow() {
    let env = Env::contoso().await;
    let k8s = jwt(json!({
        "iss": format!("https://oidc.prod-aks.azure.com/{TENANT}/"),
        "sub": "system:serviceaccount:devlic:devlic-apply", "aud": [EXCHANGE_AUDIENCE], "exp": now() + 3600,
    }));
    let (s, v) = token(
        &env,
        TENANT,
        &base(&[
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &k8s),
        ]),
    )
    .await;
    assert_eq!(s, 200, "{v}");
}

#[tokio::test]
async fn managed_identity_endpoint() {
    let env = Env::contoso().await;
    let url = format!(
        "{}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://graph.microsoft.com",
        env.sim.url()
    );
    assert_eq!(env.http.get(&url).send().await.unwrap().status(), 400);
    let r = env
        .http
        .get(&url)
        .header("Metadata", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["resource"], "https://graph.microsoft.com");
    assert_eq!(v["expires_in"], "3599");
    assert!(v["expires_on"].as_str().unwrap().parse::<i64>().unwrap() > now());
    assert_eq!(
        graph_with(&env, v["access_token"].as_str().unwrap()).await,
        200
    );
}

#[tokio::test]
async fn graph_401s_for_missing_unknown_and_expired_tokens() {
    let config = SimConfig {
        token_lifetime: Duration::from_secs(3599),
        ..SimConfig::default()
    };
    let env = Env::start("contoso", config).await;
    let r = env
        .http
        .get(format!("{}/v1.0/groups", env.sim.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "InvalidAuthenticationToken");
    assert_eq!(graph_with(&env, "made-up").await, 401);
    // Expiry follows simulator time: freeze it and step over the lifetime.
    env.sim.freeze_clock();
    let short = env.sim.issue_token_with_lifetime(Duration::from_secs(60));
    env.sim.advance_clock(Duration::from_secs(59));
    assert_eq!(graph_with(&env, &short).await, 200);
    env.sim.advance_clock(Duration::from_secs(1));
    assert_eq!(graph_with(&env, &short).await, 401);
}

/// Starts a device-code sign-in for `client_id`; the answer's JSON.
async fn device_code(env: &Env, client_id: &str) -> (u16, Value) {
    device_code_for(env, client_id, "https://graph.microsoft.com/.default").await
}

/// [`device_code`] asking for `scope`.
async fn device_code_for(env: &Env, client_id: &str, scope: &str) -> (u16, Value) {
    let r = env
        .http
        .post(format!(
            "{}/contoso.onmicrosoft.com/oauth2/v2.0/devicecode",
            env.sim.url()
        ))
        .form(&[("client_id", client_id), ("scope", scope)])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn poll(env: &Env, client_id: &str, code: &str) -> (u16, Value) {
    token(
        env,
        "contoso.onmicrosoft.com",
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", client_id),
            ("device_code", code),
        ],
    )
    .await
}

/// Microsoft identity platform, "OAuth 2.0 device authorization grant"
/// (MicrosoftDocs/entra-docs, docs/identity-platform/v2-oauth2-device-code.md).
#[tokio::test]
async fn device_code_flow_pending_slow_down_approval_and_delegated_token() {
    let env = Env::start("contoso", SimConfig::default()).await;
    let (status, started) = device_code(&env, "devlic-sim").await;
    assert_eq!(status, 200, "{started}");
    for field in ["device_code", "user_code", "verification_uri", "message"] {
        assert!(started[field].is_string(), "{field}: {started}");
    }
    assert_eq!(started["expires_in"], 900);
    assert!(started["interval"].as_u64().unwrap() >= 1);
    let code = started["device_code"].as_str().unwrap();
    let user_code = started["user_code"].as_str().unwrap();
    assert!(
        started["message"]
            .as_str()
            .unwrap()
            .contains(&format!("enter the code {user_code}"))
    );
    // Not yet approved: pending; polled again at once: slow_down.
    let (status, body) = poll(&env, "devlic-sim", code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("authorization_pending"))
    );
    let (status, body) = poll(&env, "devlic-sim", code).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("slow_down")));
    // Another app cannot redeem the code.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (_, body) = poll(&env, "devlic-plan-group", code).await;
    assert_eq!(body["error"], "invalid_grant");
    // The user approves: a delegated token whose scp is the app's delegatedScopes.
    assert!(env.sim.approve_device_code(&user_code.to_lowercase()));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, body) = poll(&env, "devlic-sim", code).await;
    assert_eq!(status, 200, "{body}");
    let access = body["access_token"].as_str().unwrap();
    let payload = access.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert!(
        claims["scp"].as_str().unwrap().contains("Group.Read.All"),
        "{claims}"
    );
    assert!(claims.get("roles").is_none(), "{claims}");
    assert_eq!(graph_with(&env, access).await, 200);
    // The code is spent.
    let (_, body) = poll(&env, "devlic-sim", code).await;
    assert_eq!(body["error"], "bad_verification_code");
}

#[tokio::test]
async fn device_codes_expire_and_can_be_declined() {
    let env = Env::start("contoso", SimConfig::default()).await;
    env.sim.freeze_clock();
    let (_, started) = device_code(&env, "devlic-sim").await;
    let code = started["device_code"].as_str().unwrap().to_owned();
    env.sim.advance_clock(Duration::from_secs(901));
    let (status, body) = poll(&env, "devlic-sim", &code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("expired_token"))
    );
    assert!(
        !env.sim
            .approve_device_code(started["user_code"].as_str().unwrap())
    );

    let (_, started) = device_code(&env, "devlic-sim").await;
    assert!(
        env.sim
            .decline_device_code(started["user_code"].as_str().unwrap())
    );
    let (_, body) = poll(&env, "devlic-sim", started["device_code"].as_str().unwrap()).await;
    assert_eq!(body["error"], "authorization_declined");
    // An unknown app gets Entra's 700016 before any code.
    let (status, body) = device_code(&env, "nobody").await;
    assert_eq!(
        (status, body["error_codes"][0].as_u64()),
        (400, Some(700016))
    );
}

/// A device-code sign-in to `devlic-sim` asking for `scope`, approved at once: the token
/// answer, which must be a 200.
async fn signed_in(env: &Env, scope: &str) -> Value {
    let (_, started) = device_code_for(env, "devlic-sim", scope).await;
    assert!(
        env.sim
            .approve_device_code(started["user_code"].as_str().unwrap())
    );
    let (status, body) = poll(env, "devlic-sim", started["device_code"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn refresh(env: &Env, client_id: &str, refresh_token: &str) -> (u16, Value) {
    token(
        env,
        "contoso.onmicrosoft.com",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", client_id),
            ("refresh_token", refresh_token),
            (
                "scope",
                "https://graph.microsoft.com/.default offline_access",
            ),
        ],
    )
    .await
}

/// A device-code sign-in that asks for `offline_access` gets a refresh token, redeemed at the
/// same token endpoint (entra-docs v2-oauth2-device-code.md, "Successful authentication
/// response"; v2-oauth2-auth-code-flow.md, "Refresh the access token"; refresh-tokens.md).
#[tokio::test]
async fn offline_access_brings_a_refresh_token_that_the_token_endpoint_redeems() {
    let env = Env::start("contoso", SimConfig::default()).await;
    // Without offline_access: no refresh token.
    let body = signed_in(&env, "https://graph.microsoft.com/.default").await;
    assert!(body.get("refresh_token").is_none(), "{body}");
    assert!(env.sim.issued_refresh_tokens().is_empty());

    let body = signed_in(&env, "https://graph.microsoft.com/.default OFFLINE_ACCESS").await;
    let first = body["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(env.sim.issued_refresh_tokens(), vec![first.clone()]);

    // Redeemed: a new delegated access token that Graph accepts, and a new refresh token.
    let (status, body) = refresh(&env, "devlic-sim", &first).await;
    assert_eq!(status, 200, "{body}");
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(graph_with(&env, access).await, 200);
    let payload = access.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert!(claims.get("scp").is_some(), "{claims}");
    let second = body["refresh_token"].as_str().unwrap();
    assert_ne!(second, first);
    // The one redeemed is not revoked by its use.
    assert_eq!(refresh(&env, "devlic-sim", &first).await.0, 200);

    // Another app cannot redeem it; unknown and revoked ones are invalid_grant.
    let (status, body) = refresh(&env, "devlic-plan-group", &first).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (_, body) = refresh(&env, "devlic-sim", "sim-rt-unknown").await;
    assert_eq!(body["error"], "invalid_grant");
    env.sim.revoke_refresh_tokens();
    let (_, body) = refresh(&env, "devlic-sim", second).await;
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn refresh_tokens_expire_after_90_days() {
    let env = Env::start("contoso", SimConfig::default()).await;
    env.sim.freeze_clock();
    let body = signed_in(&env, "https://graph.microsoft.com/.default offline_access").await;
    let rt = body["refresh_token"].as_str().unwrap().to_owned();
    env.sim
        .advance_clock(Duration::from_secs(90 * 24 * 3600 - 1));
    assert_eq!(refresh(&env, "devlic-sim", &rt).await.0, 200);
    env.sim.advance_clock(Duration::from_secs(1));
    let (_, body) = refresh(&env, "devlic-sim", &rt).await;
    assert_eq!(body["error"], "invalid_grant");
}
