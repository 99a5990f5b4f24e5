//! Sign-in for a person at a terminal: the OAuth 2.0 device authorization grant, and reuse of
//! the Azure CLI's signed-in account.
//!
//! Device code, per the Microsoft identity platform's "OAuth 2.0 device authorization grant"
//! page (MicrosoftDocs/entra-docs, `docs/identity-platform/v2-oauth2-device-code.md`) and RFC
//! 8628: POST `client_id` and `scope` to `/{tenant}/oauth2/v2.0/devicecode`, show the answer's
//! `message` (verification URL and user code), then poll the token endpoint with the
//! `device_code` grant every `interval` seconds while it answers `authorization_pending`, five
//! seconds slower after each `slow_down`; `authorization_declined`, `bad_verification_code` and
//! `expired_token` end the flow. The scope adds `offline_access`, so the answer carries a
//! refresh token (the same page, "Successful authentication response"): when the access token
//! nears its end during a run, [`refresh`] redeems it at the same token endpoint
//! (`grant_type=refresh_token`, `docs/identity-platform/v2-oauth2-auth-code-flow.md`, "Refresh
//! the access token") instead of showing the person a second code. The refresh token lives in
//! memory only, as a [`SecretString`]; nothing is written to disk, so each run signs in once.
//!
//! Azure CLI: `az account get-access-token --resource GRAPH --output json [--tenant T]`, the
//! same command azure-identity's `AzureCliCredential` runs. The token never touches a file or a
//! command line; `az`'s stderr is quoted only by its first line (it never holds the token).

use std::process::Stdio;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::cloud::redact_url;
use super::credential::DeviceCodePrompt;
use super::flows::{
    ClassifyName, Grant, NumberOrString, TOKEN_ENDPOINT, error_from_response, grant_from_response,
    oauth_error_code, post_form,
};
use super::{AccessToken, AuthError, TokenProvider};

const DEVICE_ENDPOINT: &str = "device code endpoint";
const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const REFRESH_TOKEN_GRANT: &str = "refresh_token";
/// RFC 8628 section 3.5: after `slow_down`, poll this much less often.
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
/// RFC 8628: the interval when the server names none.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// `az` answers in a second or two; a hung one must not hang a run.
const AZ_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Deserialize)]
struct DeviceAuthorization {
    device_code: String,
    user_code: String,
    verification_uri: String,
    expires_in: u64,
    interval: Option<u64>,
    message: Option<String>,
}

/// The scope of a person's sign-in: Graph's `.default` (the permissions consented for the app)
/// and `offline_access`, for a refresh token.
fn delegated_scope(p: &TokenProvider) -> String {
    format!("{} offline_access", p.endpoints.scope())
}

/// The device authorization grant, from the code request to the token (and refresh token).
pub(super) async fn device_code(
    p: &TokenProvider,
    client_id: &str,
    prompt: Option<&DeviceCodePrompt>,
) -> Result<Grant, AuthError> {
    let scope = delegated_scope(p);
    let start_url = p.endpoints.device_code_url(&p.tenant);
    let form = [("client_id", client_id), ("scope", scope.as_str())];
    let (status, body) = post_form(p, &start_url, DEVICE_ENDPOINT, &form).await?;
    if !status.is_success() {
        return Err(error_from_response(
            status,
            &body,
            DEVICE_ENDPOINT,
            &start_url,
        ));
    }
    let started: DeviceAuthorization =
        serde_json::from_slice(&body).map_err(|e| AuthError::InvalidResponse {
            what: DEVICE_ENDPOINT,
            url: redact_url(&start_url),
            reason: format!("not the expected JSON ({})", e.classify_name()),
        })?;
    let device_code = SecretString::from(started.device_code);
    let text = started.message.unwrap_or_else(|| {
        format!(
            "To sign in, use a web browser to open the page {} and enter the code {} to authenticate.",
            started.verification_uri, started.user_code
        )
    });
    match prompt {
        Some(show) => (show.0)(&text),
        None => tracing::warn!("{text}"),
    }
    let mut interval = started
        .interval
        .map_or(DEFAULT_INTERVAL, Duration::from_secs)
        .max(Duration::from_secs(1));
    // Entra answers expired_token after expires_in; this bound only stops a server that never does.
    let give_up = Instant::now() + Duration::from_secs(started.expires_in) + interval * 2;
    let token_url = p.endpoints.token_url(&p.tenant);
    loop {
        tokio::time::sleep(interval).await;
        let form = [
            ("grant_type", DEVICE_CODE_GRANT),
            ("client_id", client_id),
            ("device_code", device_code.expose_secret()),
        ];
        let (status, body) = post_form(p, &token_url, TOKEN_ENDPOINT, &form).await?;
        if status.is_success() {
            return grant_from_response(status, &body, TOKEN_ENDPOINT, &token_url, p.now());
        }
        match oauth_error_code(&body).as_deref() {
            Some("authorization_pending") if Instant::now() < give_up => {}
            Some("slow_down") if Instant::now() < give_up => interval += SLOW_DOWN_STEP,
            _ => {
                return Err(error_from_response(
                    status,
                    &body,
                    TOKEN_ENDPOINT,
                    &token_url,
                ));
            }
        }
    }
}

/// Redeems the refresh token of a device-code sign-in for a new access token (and, usually, a
/// new refresh token, which replaces it), with no prompt.
pub(super) async fn refresh(
    p: &TokenProvider,
    client_id: &str,
    refresh_token: &SecretString,
) -> Result<Grant, AuthError> {
    let scope = delegated_scope(p);
    let token_url = p.endpoints.token_url(&p.tenant);
    let form = [
        ("grant_type", REFRESH_TOKEN_GRANT),
        ("client_id", client_id),
        ("scope", scope.as_str()),
        ("refresh_token", refresh_token.expose_secret()),
    ];
    let (status, body) = post_form(p, &token_url, TOKEN_ENDPOINT, &form).await?;
    grant_from_response(status, &body, TOKEN_ENDPOINT, &token_url, p.now())
}

#[derive(Deserialize)]
struct AzToken {
    #[serde(rename = "accessToken")]
    access_token: Option<String>,
    /// Seconds since the epoch (Azure CLI 2.54 and later).
    expires_on: Option<NumberOrString>,
    /// Local time, `2026-12-02 09:00:00.000000` (every version).
    #[serde(rename = "expiresOn")]
    expires_on_local: Option<String>,
}

/// A Graph token from the Azure CLI's signed-in account.
pub(super) async fn azure_cli(
    p: &TokenProvider,
    tenant: Option<&str>,
) -> Result<AccessToken, AuthError> {
    let resource = p.endpoints.resource();
    // On Windows `az` is a batch file (`az.cmd`), which only cmd.exe can start.
    let mut command = if cfg!(windows) {
        let mut c = tokio::process::Command::new("cmd");
        c.args(["/d", "/c", "az"]);
        c
    } else {
        tokio::process::Command::new("az")
    };
    command.args([
        "account",
        "get-access-token",
        "--resource",
        &resource,
        "--output",
        "json",
    ]);
    if let Some(t) = tenant {
        command.args(["--tenant", t]);
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let fail = |reason: String| AuthError::AzureCli { reason };
    let output = tokio::time::timeout(AZ_TIMEOUT, command.output())
        .await
        .map_err(|_| {
            fail(format!(
                "`az account get-access-token` did not finish within {} seconds",
                AZ_TIMEOUT.as_secs()
            ))
        })?
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                fail("the Azure CLI (`az`) is not on PATH; install it and run `az login`, or choose another --auth mode".to_owned())
            } else {
                fail(format!("cannot run `az`: {e}"))
            }
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first = stderr
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("no message");
        let first: String = first.chars().take(300).collect();
        return Err(fail(format!(
            "`az account get-access-token` failed ({}): {first}; run `az login` (with --tenant TENANT for another tenant) and try again, or choose another --auth mode",
            output.status
        )));
    }
    let parsed: AzToken = serde_json::from_slice(&output.stdout).map_err(|e| {
        fail(format!(
            "`az account get-access-token` printed something other than the expected JSON ({})",
            e.classify_name()
        ))
    })?;
    let secret = match parsed.access_token {
        Some(t) if !t.is_empty() => SecretString::from(t),
        _ => return Err(fail("`az` printed no accessToken".to_owned())),
    };
    let expires_at = parsed
        .expires_on
        .as_ref()
        .and_then(NumberOrString::get)
        .and_then(|epoch| Timestamp::from_second(epoch).ok())
        .or_else(|| parsed.expires_on_local.as_deref().and_then(local_time));
    // A token that is already dead would be fetched again before every request.
    if let Some(at) = expires_at
        && at.duration_since(p.now()) <= SignedDuration::ZERO
    {
        return Err(fail(
            "the Azure CLI handed out an expired token; run `az login` again".to_owned(),
        ));
    }
    Ok(AccessToken::new(secret, expires_at))
}

/// `expiresOn` of older Azure CLIs: a local date-time without zone.
fn local_time(text: &str) -> Option<Timestamp> {
    let civil: jiff::civil::DateTime = text.trim().replace(' ', "T").parse().ok()?;
    jiff::tz::TimeZone::system().to_timestamp(civil).ok()
}
