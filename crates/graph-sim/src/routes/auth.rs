//! Authentication: the Entra token endpoint (client secret, certificate assertion, federated
//! assertion), a GitHub-Actions-style OIDC issuer, an IMDS-style managed-identity endpoint, and
//! bearer checks on Graph routes.
//!
//! Assertions are checked by their claims (`iss`, `sub`, `aud`, `exp`, `nbf`) and never by their
//! signature: the simulator has no keys to check against, and tests only need the flows' shapes.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::http::{Ctx, SimRequest, SimResponse};
use crate::server::{Inner, Shared};

/// The GitHub Actions OIDC issuer.
pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";
/// The audience Entra expects on federated tokens.
pub const EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Routes that are not Graph: returns the route name for stats and the response.
pub(crate) fn handle(shared: &Shared, ctx: &Ctx, req: &SimRequest) -> (String, SimResponse) {
    let segs: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    match (&req.method, segs.as_slice()) {
        (&Method::POST, [tenant, "oauth2", "v2.0", "token"]) => (
            "POST /{tenant}/oauth2/v2.0/token".to_owned(),
            token(shared, ctx, req, tenant),
        ),
        (&Method::GET, ["_sim", "github-oidc"]) => {
            ("GET /_sim/github-oidc".to_owned(), github_oidc(shared, req))
        }
        (&Method::GET, ["metadata", "identity", "oauth2", "token"]) => (
            "GET /metadata/identity/oauth2/token".to_owned(),
            managed_identity(shared, req),
        ),
        _ => (
            "unknown".to_owned(),
            ctx.error(
                StatusCode::NOT_FOUND,
                "NotFound",
                &format!("devlic-sim serves no route {} {}", req.method, req.path),
            ),
        ),
    }
}

/// Checks `Authorization: Bearer` on a Graph request.
pub(crate) fn check_bearer(
    inner: &mut Inner,
    ctx: &Ctx,
    req: &SimRequest,
) -> Result<(), SimResponse> {
    let unauthorized = |msg: &str| {
        ctx.error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", msg)
            .with_header(
                "WWW-Authenticate",
                "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"".to_owned(),
            )
    };
    let token = req
        .header("authorization")
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return Err(unauthorized("Access token is empty."));
    };
    let now = inner.clock.now();
    match inner.tokens.get(token) {
        None => Err(unauthorized(
            "Access token validation failure. Invalid audience.",
        )),
        Some(exp) if now >= *exp => Err(unauthorized(
            "Access token has expired or is not yet valid.",
        )),
        Some(_) => Ok(()),
    }
}

/// Issues an access token valid for the configured lifetime and remembers it.
pub(crate) fn issue(shared: &Shared, lifetime: Duration) -> String {
    let now = jiff::Timestamp::now().as_second();
    let (tid, appid) = {
        let inner = shared.lock();
        (inner.tenant.id.clone(), shared.config.client_id.clone())
    };
    let token = jwt(&json!({
        "aud": "https://graph.microsoft.com",
        "iss": format!("https://sts.windows.net/{tid}/"),
        "iat": now, "nbf": now, "exp": now + lifetime.as_secs() as i64,
        "appid": appid, "tid": tid,
        "roles": ["LicenseAssignment.ReadWrite.All", "GroupMember.Read.All", "Organization.Read.All"],
        "jti": uuid::Uuid::new_v4().to_string(),
    }));
    let mut inner = shared.lock();
    let expires = inner.clock.now() + lifetime;
    inner.tokens.insert(token.clone(), expires);
    token
}

/// An unsigned-in-spirit JWT: real header and payload, a placeholder signature.
pub(crate) fn jwt(payload: &Value) -> String {
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": "devlic-sim"});
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        URL_SAFE_NO_PAD.encode(b"devlic-sim does not sign tokens"),
    )
}

/// Decodes a JWT's header and payload without checking its signature.
fn decode_jwt(token: &str) -> Option<(Value, Value)> {
    let mut parts = token.split('.');
    let (h, p, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || s.is_empty() {
        return None;
    }
    let dec = |x: &str| {
        URL_SAFE_NO_PAD
            .decode(x.trim_end_matches('='))
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
    };
    let header = dec(h)?;
    let payload = dec(p)?;
    if header
        .get("alg")
        .and_then(Value::as_str)
        .is_none_or(|a| a.eq_ignore_ascii_case("none"))
    {
        return None;
    }
    Some((header, payload))
}

/// Entra's token error: `{"error","error_description","error_codes","timestamp","trace_id","correlation_id"}`.
fn entra_error(status: StatusCode, error: &str, code: u32, description: &str) -> SimResponse {
    let trace = uuid::Uuid::new_v4().to_string();
    let correlation = uuid::Uuid::new_v4().to_string();
    let ts = jiff::Timestamp::now()
        .strftime("%Y-%m-%d %H:%M:%SZ")
        .to_string();
    SimResponse::json(
        status,
        json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {description} Trace ID: {trace} Correlation ID: {correlation} Timestamp: {ts}"),
            "error_codes": [code],
            "timestamp": ts,
            "trace_id": trace,
            "correlation_id": correlation,
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
        }),
    )
}

fn token(shared: &Shared, _ctx: &Ctx, req: &SimRequest, tenant: &str) -> SimResponse {
    let bad = StatusCode::BAD_REQUEST;
    let (tenant_ok, tid, federated) = {
        let inner = shared.lock();
        let t = &inner.tenant;
        let ok = tenant.eq_ignore_ascii_case(&t.id)
            || t.verified_domains
                .iter()
                .any(|d| d.name.eq_ignore_ascii_case(tenant));
        (ok, t.id.clone(), t.federated_credentials.clone())
    };
    if !tenant_ok {
        return entra_error(
            bad,
            "invalid_request",
            90002,
            &format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        );
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&req.body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    match field("grant_type") {
        None => {
            return entra_error(
                bad,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'grant_type'.",
            );
        }
        Some("client_credentials") => {}
        Some(other) => {
            return entra_error(
                bad,
                "unsupported_grant_type",
                70003,
                &format!("The app requested an unsupported grant type '{other}'."),
            );
        }
    }
    let Some(client_id) = field("client_id") else {
        return entra_error(
            bad,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        );
    };
    let Some(scope) = field("scope") else {
        return entra_error(
            bad,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'scope'.",
        );
    };
    if client_id != shared.config.client_id {
        return entra_error(
            bad,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{tid}'."
            ),
        );
    }
    if !scope.split(' ').all(|s| s.ends_with("/.default")) {
        return entra_error(
            bad,
            "invalid_scope",
            1002012,
            &format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        );
    }
    let unauthorized = StatusCode::UNAUTHORIZED;
    if let Some(secret) = field("client_secret") {
        if secret != shared.config.client_secret {
            return entra_error(
                unauthorized,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app.",
            );
        }
    } else if let Some(assertion) = field("client_assertion") {
        if field("client_assertion_type") != Some(ASSERTION_TYPE) {
            return entra_error(
                bad,
                "invalid_request",
                50027,
                "Invalid client_assertion_type: expected 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'.",
            );
        }
        if let Err(resp) = check_assertion(assertion, client_id, &federated) {
            return resp;
        }
    } else {
        return entra_error(
            unauthorized,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        );
    }
    let lifetime = shared.config.token_lifetime;
    let token = issue(shared, lifetime);
    SimResponse::json(
        StatusCode::OK,
        json!({
            "token_type": "Bearer",
            "expires_in": lifetime.as_secs(),
            "ext_expires_in": lifetime.as_secs(),
            "access_token": token,
        }),
    )
}

/// A certificate assertion has `iss == sub == client_id`; anything else must match a federated
/// credential of the tenant file by issuer, subject and audience.
fn check_assertion(
    assertion: &str,
    client_id: &str,
    federated: &[crate::tenant::FederatedCredential],
) -> Result<(), SimResponse> {
    let unauthorized = StatusCode::UNAUTHORIZED;
    let Some((_header, claims)) = decode_jwt(assertion) else {
        return Err(entra_error(
            unauthorized,
            "invalid_client",
            50027,
            "JWT token is invalid or malformed.",
        ));
    };
    let s = |k: &str| claims.get(k).and_then(Value::as_str).unwrap_or("");
    let now = jiff::Timestamp::now().as_second();
    let exp = claims.get("exp").and_then(Value::as_i64);
    if exp.is_none_or(|e| e <= now)
        || claims
            .get("nbf")
            .and_then(Value::as_i64)
            .is_some_and(|n| n > now + 300)
    {
        return Err(entra_error(
            unauthorized,
            "invalid_client",
            700024,
            "Client assertion is not within its valid time range.",
        ));
    }
    let auds: Vec<String> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    if s("iss") == client_id && s("sub") == client_id {
        // A certificate assertion is addressed to the token endpoint (any cloud's login host).
        if !auds
            .iter()
            .any(|a| a.ends_with("/oauth2/v2.0/token") || a.ends_with("/v2.0"))
        {
            return Err(entra_error(
                unauthorized,
                "invalid_client",
                700212,
                "The audience claim of the client assertion must be the token endpoint.",
            ));
        }
        return Ok(());
    }
    let by_issuer: Vec<_> = federated.iter().filter(|f| f.issuer == s("iss")).collect();
    if by_issuer.is_empty() {
        return Err(entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            700211,
            &format!(
                "No matching federated identity record found for presented assertion issuer '{}'.",
                s("iss")
            ),
        ));
    }
    let Some(cred) = by_issuer.iter().find(|f| f.subject == s("sub")) else {
        return Err(entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            70021,
            &format!(
                "No matching federated identity record found for presented assertion. Assertion Issuer: '{}'. Assertion Subject: '{}'.",
                s("iss"),
                s("sub")
            ),
        ));
    };
    if !auds.contains(&cred.audience) {
        return Err(entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            700212,
            &format!(
                "No matching federated identity record found for presented assertion audience '{}'.",
                auds.join(",")
            ),
        ));
    }
    Ok(())
}

fn github_oidc(shared: &Shared, req: &SimRequest) -> SimResponse {
    let expected = &shared.config.github_request_token;
    let ok = req
        .header("authorization")
        .and_then(|h| h.split_once(' '))
        .is_some_and(|(scheme, t)| scheme.eq_ignore_ascii_case("bearer") && t.trim() == expected);
    if !ok {
        return SimResponse::json(
            StatusCode::UNAUTHORIZED,
            json!({"message": "Bad credentials"}),
        );
    }
    let audience = req.param("audience").unwrap_or(EXCHANGE_AUDIENCE);
    let now = jiff::Timestamp::now().as_second();
    let token = jwt(&json!({
        "iss": GITHUB_ISSUER,
        "sub": shared.config.github_subject,
        "aud": audience,
        "iat": now, "nbf": now, "exp": now + 300,
        "jti": uuid::Uuid::new_v4().to_string(),
        "repository": "contoso/devlic",
        "ref": "refs/heads/main",
    }));
    SimResponse::json(StatusCode::OK, json!({"count": 1, "value": token}))
}

fn managed_identity(shared: &Shared, req: &SimRequest) -> SimResponse {
    if !req
        .header("metadata")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return SimResponse::json(
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_request", "error_description": "Required metadata header not specified"}),
        );
    }
    if req.param("api-version").is_none() {
        return SimResponse::json(
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_request", "error_description": "Required query variable 'api-version' is missing"}),
        );
    }
    let Some(resource) = req.param("resource") else {
        return SimResponse::json(
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_request", "error_description": "Required query variable 'resource' is missing"}),
        );
    };
    let lifetime = shared.config.token_lifetime;
    let token = issue(shared, lifetime);
    let now = jiff::Timestamp::now().as_second();
    // IMDS sends the numbers as strings.
    SimResponse::json(
        StatusCode::OK,
        json!({
            "access_token": token,
            "client_id": shared.config.client_id,
            "expires_in": lifetime.as_secs().to_string(),
            "expires_on": (now + lifetime.as_secs() as i64).to_string(),
            "ext_expires_in": lifetime.as_secs().to_string(),
            "not_before": now.to_string(),
            "resource": resource,
            "token_type": "Bearer",
        }),
    )
}
