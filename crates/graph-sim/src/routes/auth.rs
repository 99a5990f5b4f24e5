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

use crate::applications::{Application, Caller};
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
        (&Method::POST, [tenant, "oauth2", "v2.0", "devicecode"]) => (
            "POST /{tenant}/oauth2/v2.0/devicecode".to_owned(),
            device_authorization(shared, req, tenant),
        ),
        // Where a user would type the code: the simulator's microsoft.com/devicelogin.
        (&Method::POST, ["_sim", "devicelogin"]) => {
            let form: Vec<(String, String)> = url::form_urlencoded::parse(&req.body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
            let decline = get("decline") == Some("true");
            let resp = match get("user_code") {
                Some(code) if super::device_code::approve(shared, code, decline) => {
                    SimResponse::json(StatusCode::OK, json!({"approved": !decline}))
                }
                _ => SimResponse::json(
                    StatusCode::NOT_FOUND,
                    json!({"error": "no live device code with that user_code"}),
                ),
            };
            ("POST /_sim/devicelogin".to_owned(), resp)
        }
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

/// Checks `Authorization: Bearer` on a Graph request; returns who the token acts as.
pub(crate) fn check_bearer(
    inner: &mut Inner,
    ctx: &Ctx,
    req: &SimRequest,
) -> Result<Caller, SimResponse> {
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
        Some((exp, _)) if now >= *exp => Err(unauthorized(
            "Access token has expired or is not yet valid.",
        )),
        Some((_, caller)) => Ok(caller.clone()),
    }
}

/// The app registration a client id signs in as: the tenant file's entry with that `appId`,
/// or, for the simulator's configured client id, the entry without one. `None` for an unknown
/// client id.
pub(crate) fn application(shared: &Shared, client_id: &str) -> Option<Application> {
    let inner = shared.lock();
    let apps = &inner.tenant.applications;
    apps.iter()
        .find(|a| a.app_id.as_deref() == Some(client_id))
        .or_else(|| {
            (client_id == shared.config.client_id)
                .then(|| apps.iter().find(|a| a.app_id.is_none()))
                .flatten()
        })
        .cloned()
}

/// The configured app's registration; one with no permissions if the tenant file lists none,
/// so its tokens are valid but every Graph route answers 403.
pub(crate) fn configured_app(shared: &Shared) -> Application {
    application(shared, &shared.config.client_id).unwrap_or_else(|| Application {
        comment: None,
        display_name: shared.config.client_id.clone(),
        app_id: None,
        roles: Vec::new(),
        delegated_scopes: Vec::new(),
    })
}

/// Issues an app-only access token for the configured app, valid for `lifetime`.
pub(crate) fn issue(shared: &Shared, lifetime: Duration) -> String {
    issue_as(shared, &configured_app(shared), false, lifetime)
}

/// Issues an access token for `app`: app-only (`roles`) or, with `delegated`, on behalf of a
/// signed-in user (`scp`). The simulator remembers it with its identity and expiry.
pub(crate) fn issue_as(
    shared: &Shared,
    app: &Application,
    delegated: bool,
    lifetime: Duration,
) -> String {
    let now = jiff::Timestamp::now().as_second();
    let tid = shared.lock().tenant.id.clone();
    let appid = app
        .app_id
        .clone()
        .unwrap_or_else(|| shared.config.client_id.clone());
    let mut claims = json!({
        "aud": "https://graph.microsoft.com",
        "iss": format!("https://sts.windows.net/{tid}/"),
        "iat": now, "nbf": now, "exp": now + lifetime.as_secs() as i64,
        "appid": appid, "app_displayname": app.display_name, "tid": tid,
        "jti": uuid::Uuid::new_v4().to_string(),
    });
    let caller = if delegated {
        claims["scp"] = Value::String(app.delegated_scopes.join(" "));
        Caller::Delegated(app.delegated_scopes.clone())
    } else {
        claims["roles"] = json!(app.roles);
        Caller::App(app.roles.clone())
    };
    let token = jwt(&claims);
    let mut inner = shared.lock();
    let expires = inner.clock.now() + lifetime;
    inner.tokens.insert(token.clone(), (expires, caller));
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

/// The `appid` claim of the request's bearer token (the app its budget is charged to).
pub(crate) fn token_app_id(req: &SimRequest) -> Option<String> {
    let token = req.header("authorization")?.split_once(' ')?.1.trim();
    let (_, payload) = decode_jwt(token)?;
    payload.get("appid")?.as_str().map(str::to_owned)
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
pub(crate) fn entra_error(
    status: StatusCode,
    error: &str,
    code: u32,
    description: &str,
) -> SimResponse {
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

/// `POST /{tenant}/oauth2/v2.0/devicecode`: starts a device-code sign-in for a known app.
fn device_authorization(shared: &Shared, req: &SimRequest, tenant: &str) -> SimResponse {
    let bad = StatusCode::BAD_REQUEST;
    let known_tenant = {
        let inner = shared.lock();
        let t = &inner.tenant;
        tenant.eq_ignore_ascii_case(&t.id)
            || t.verified_domains
                .iter()
                .any(|d| d.name.eq_ignore_ascii_case(tenant))
    };
    if !known_tenant {
        return entra_error(
            bad,
            "invalid_request",
            90002,
            &format!("Tenant '{tenant}' not found."),
        );
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&req.body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let Some(client_id) = get("client_id") else {
        return entra_error(
            bad,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        );
    };
    let Some(app) = application(shared, client_id) else {
        return entra_error(
            bad,
            "unauthorized_client",
            700016,
            &format!("Application with identifier '{client_id}' was not found in the directory."),
        );
    };
    let verification_uri = format!("{}/_sim/devicelogin", shared.base);
    super::device_code::start(shared, app, get("scope").unwrap_or(""), verification_uri)
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
        // A person's grants: no client secret (a public client), the client id only.
        Some(
            grant @ (super::device_code::DEVICE_CODE_GRANT
            | super::device_code::REFRESH_TOKEN_GRANT),
        ) => {
            let Some(client_id) = field("client_id") else {
                return entra_error(
                    bad,
                    "invalid_request",
                    900144,
                    "The request body must contain the following parameter: 'client_id'.",
                );
            };
            return if grant == super::device_code::DEVICE_CODE_GRANT {
                super::device_code::redeem(shared, client_id, field("device_code"))
            } else {
                super::device_code::refresh(
                    shared,
                    client_id,
                    field("refresh_token"),
                    field("scope"),
                )
            };
        }
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
    let Some(app) = application(shared, client_id)
        .or_else(|| (client_id == shared.config.client_id).then(|| configured_app(shared)))
    else {
        return entra_error(
            bad,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{tid}'."
            ),
        );
    };
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
    let token = issue_as(shared, &app, false, lifetime);
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
