//! The OAuth 2.0 device authorization grant, as Entra ID serves it: a device-code request, the
//! user approving the code (here: `POST /_sim/devicelogin` or [`crate::Sim::approve_device_code`]
//! instead of a browser at microsoft.com/devicelogin), and the token endpoint's `device_code`
//! grant answering `authorization_pending`, `slow_down`, `expired_token` or a delegated token.
//!
//! Shapes and error codes from the Microsoft identity platform's "OAuth 2.0 device
//! authorization grant" page (MicrosoftDocs/entra-docs,
//! `docs/identity-platform/v2-oauth2-device-code.md`): the device authorization response
//! carries `device_code`, `user_code`, `verification_uri`, `expires_in`, `interval` and
//! `message`; while polling, `authorization_pending` means "keep polling", `slow_down` is not
//! RFC 8628 section 3.5's answer to polling faster than `interval` (add 5 seconds),
//! `authorization_declined` ends the flow, `bad_verification_code` names an unknown code and
//! `expired_token` (after `expires_in`, 15 minutes) ends it.
//!
//! Refresh tokens: the same page says the token answer carries a `refresh_token` only when the
//! device-code request's `scope` included `offline_access`, and that it is redeemed as in the
//! authorization code flow (`docs/identity-platform/v2-oauth2-auth-code-flow.md`, "Refresh the
//! access token"): `grant_type=refresh_token` with `client_id`, `refresh_token` and `scope` at
//! the same token endpoint, answered with a new access token and a new refresh token. Per
//! `docs/identity-platform/refresh-tokens.md` a used refresh token is not revoked, and one
//! lives 90 days by default; an unknown, expired or foreign one is `invalid_grant`.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::json;

use crate::applications::Application;
use crate::http::SimResponse;
use crate::server::Shared;

use super::auth::{entra_error, issue_as};

/// The token endpoint's grant type for the device flow (RFC 8628).
pub(crate) const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// How long a device code lives (Entra: 15 minutes).
const LIFETIME: Duration = Duration::from_secs(900);
/// Seconds between polls the simulator asks for. Entra says 5; one keeps tests quick.
const INTERVAL_SECS: u64 = 1;
/// The grant type that redeems a refresh token.
pub(crate) const REFRESH_TOKEN_GRANT: &str = "refresh_token";
/// How long a refresh token lives (Entra's default outside single-page apps: 90 days).
const REFRESH_LIFETIME: Duration = Duration::from_secs(90 * 24 * 3600);

/// A refresh token the simulator issued: for whom, and until when.
#[derive(Debug, Clone)]
pub(crate) struct RefreshGrant {
    app: Application,
    /// Simulator time after which it is refused.
    expires: Instant,
}

/// A device code waiting for its user.
#[derive(Debug, Clone)]
pub(crate) struct PendingDeviceCode {
    device_code: String,
    user_code: String,
    app: Application,
    /// Simulator time after which the code is dead.
    expires: Instant,
    approved: bool,
    declined: bool,
    /// The request's scope held `offline_access`: the token answer carries a refresh token.
    offline_access: bool,
    /// Real time of the last poll, for `slow_down` (simulator time may be frozen).
    last_poll: Option<Instant>,
}

/// `POST /{tenant}/oauth2/v2.0/devicecode` with `client_id` and `scope`.
pub(crate) fn start(
    shared: &Shared,
    app: Application,
    scope: &str,
    verification_uri: String,
) -> SimResponse {
    if scope.split(' ').all(|s| s.is_empty()) {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70011,
            "The provided request must include a 'scope' input parameter.",
        );
    }
    let device_code = uuid::Uuid::new_v4().simple().to_string();
    // Entra's user codes are nine letters; derive ours from the device code's randomness.
    let user_code: String = device_code
        .bytes()
        .take(9)
        .map(|b| char::from(b'A' + b % 26))
        .collect();
    let offline_access = asks_offline_access(scope);
    let mut inner = shared.lock();
    let expires = inner.clock.now() + LIFETIME;
    inner.device_codes.push(PendingDeviceCode {
        device_code: device_code.clone(),
        user_code: user_code.clone(),
        app,
        expires,
        approved: false,
        declined: false,
        offline_access,
        last_poll: None,
    });
    SimResponse::json(
        StatusCode::OK,
        json!({
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": verification_uri,
            "expires_in": LIFETIME.as_secs(),
            "interval": INTERVAL_SECS,
            "message": format!("To sign in, use a web browser to open the page {verification_uri} and enter the code {user_code} to authenticate."),
        }),
    )
}

/// The user entered `user_code` and approved (or, with `decline`, refused) the sign-in.
/// `false` when no live code matches.
pub(crate) fn approve(shared: &Shared, user_code: &str, decline: bool) -> bool {
    let mut inner = shared.lock();
    let now = inner.clock.now();
    match inner
        .device_codes
        .iter_mut()
        .find(|c| c.user_code.eq_ignore_ascii_case(user_code.trim()) && now < c.expires)
    {
        Some(code) => {
            code.approved = !decline;
            code.declined = decline;
            true
        }
        None => false,
    }
}

/// The token endpoint's `device_code` grant for `client_id`.
pub(crate) fn redeem(shared: &Shared, client_id: &str, device_code: Option<&str>) -> SimResponse {
    let bad = StatusCode::BAD_REQUEST;
    let Some(device_code) = device_code else {
        return entra_error(
            bad,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'device_code'.",
        );
    };
    let mut inner = shared.lock();
    let now = inner.clock.now();
    let Some(index) = inner
        .device_codes
        .iter()
        .position(|c| c.device_code == device_code)
    else {
        return entra_error(
            bad,
            "bad_verification_code",
            70019,
            "Verification code expired or not recognized.",
        );
    };
    let code = &mut inner.device_codes[index];
    if let Err(refused) = issued_to(shared, &code.app, client_id, "device code") {
        return refused;
    }
    if now >= code.expires {
        inner.device_codes.remove(index);
        return entra_error(
            bad,
            "expired_token",
            70020,
            "The provided value for the input parameter 'device_code' is not valid. This device code has expired.",
        );
    }
    if code.declined {
        inner.device_codes.remove(index);
        return entra_error(
            bad,
            "authorization_declined",
            70018,
            "The user declined the sign-in.",
        );
    }
    let real_now = Instant::now();
    let too_soon = code.last_poll.is_some_and(|last| {
        real_now.duration_since(last) < Duration::from_secs(INTERVAL_SECS).mul_f64(0.9)
    });
    code.last_poll = Some(real_now);
    if too_soon {
        return entra_error(
            bad,
            "slow_down",
            70016,
            "The client polled faster than the interval; wait longer between requests.",
        );
    }
    if !code.approved {
        return entra_error(
            bad,
            "authorization_pending",
            70016,
            "The provided request has not yet been authorized by the user. The user must input their code.",
        );
    }
    let code = inner.device_codes.remove(index);
    drop(inner);
    delegated_answer(shared, &code.app, code.offline_access)
}

/// A device code or refresh token (`what`) issued to `app` is redeemed by that app only:
/// `invalid_grant` for any other `client_id`.
fn issued_to(
    shared: &Shared,
    app: &Application,
    client_id: &str,
    what: &str,
) -> Result<(), SimResponse> {
    let app_id = app.app_id.as_deref().unwrap_or(&shared.config.client_id);
    if app_id == client_id {
        return Ok(());
    }
    Err(entra_error(
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        70000,
        &format!("The {what} was issued to another application."),
    ))
}

/// Whether a space-separated `scope` asks for `offline_access` (scope names compare
/// case-insensitively).
fn asks_offline_access(scope: &str) -> bool {
    scope
        .split(' ')
        .any(|s| s.eq_ignore_ascii_case("offline_access"))
}

/// The token answer of a person's sign-in to `app`: a delegated access token and, with
/// `offline_access`, a refresh token.
fn delegated_answer(shared: &Shared, app: &Application, offline_access: bool) -> SimResponse {
    let lifetime = shared.config.token_lifetime;
    let token = issue_as(shared, app, true, lifetime);
    let mut answer = json!({
        "token_type": "Bearer",
        "scope": app.delegated_scopes.join(" "),
        "expires_in": lifetime.as_secs(),
        "ext_expires_in": lifetime.as_secs(),
        "access_token": token,
    });
    if offline_access {
        let refresh = format!("sim-rt-{}", uuid::Uuid::new_v4().simple());
        let mut inner = shared.lock();
        let expires = inner.clock.now() + REFRESH_LIFETIME;
        inner.refresh_tokens.insert(
            refresh.clone(),
            RefreshGrant {
                app: app.clone(),
                expires,
            },
        );
        answer["refresh_token"] = json!(refresh);
    }
    SimResponse::json(StatusCode::OK, answer)
}

/// The token endpoint's `refresh_token` grant for `client_id`: a new access token and a new
/// refresh token for the same person and app; the one redeemed stays valid.
pub(crate) fn refresh(
    shared: &Shared,
    client_id: &str,
    refresh_token: Option<&str>,
    scope: Option<&str>,
) -> SimResponse {
    let bad = StatusCode::BAD_REQUEST;
    let Some(refresh_token) = refresh_token else {
        return entra_error(
            bad,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'refresh_token'.",
        );
    };
    let grant = {
        let inner = shared.lock();
        let now = inner.clock.now();
        inner
            .refresh_tokens
            .get(refresh_token)
            .filter(|g| now < g.expires)
            .cloned()
    };
    let Some(grant) = grant else {
        return entra_error(
            bad,
            "invalid_grant",
            9002313,
            "Invalid request. Request is malformed or invalid.",
        );
    };
    if let Err(refused) = issued_to(shared, &grant.app, client_id, "refresh token") {
        return refused;
    }
    delegated_answer(shared, &grant.app, scope.is_none_or(asks_offline_access))
}

/// Refuses every refresh token issued so far (as a password reset or an admin's revocation
/// would); the next refresh gets `invalid_grant`.
pub(crate) fn revoke_refresh_tokens(shared: &Shared) {
    shared.lock().refresh_tokens.clear();
}

/// The refresh tokens issued so far (for tests that check none leaks).
pub(crate) fn refresh_tokens(shared: &Shared) -> Vec<String> {
    shared.lock().refresh_tokens.keys().cloned().collect()
}
