//! The wire protocols: Entra's token endpoint, GitHub's OIDC endpoint, managed identity.
//!
//! Every request and response body that holds a secret stays in this module; errors are built
//! from status codes and Entra's diagnostic fields only.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use super::cloud::redact_url;
use super::error::{EntraError, hint_for};
use super::{AccessToken, AuthError, Credential, TokenProvider};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const GITHUB_AUDIENCE: &str = "api://AzureADTokenExchange";
pub(super) const TOKEN_ENDPOINT: &str = "token endpoint";
const GITHUB_ENDPOINT: &str = "GitHub OIDC endpoint";
const MI_ENDPOINT: &str = "managed identity endpoint";
/// Responses larger than this are refused: a token response is a few kilobytes.
const MAX_BODY: usize = 256 * 1024;
/// The longest token lifetime accepted (managed identity issues tokens for up to 24 hours).
const MAX_TOKEN_LIFETIME: SignedDuration = SignedDuration::from_hours(24);
/// IMDS answers in milliseconds where it exists; elsewhere do not hang a laptop for long.
const IMDS_TIMEOUT: Duration = Duration::from_secs(5);

/// A token answer: the access token and, when the sign-in asked for `offline_access`, the
/// refresh token that renews it without the person (kept only in memory, only as a secret).
pub(super) struct Grant {
    /// The access token.
    pub(super) token: AccessToken,
    /// The refresh token, if the answer carried one.
    pub(super) refresh: Option<SecretString>,
}

impl From<AccessToken> for Grant {
    fn from(token: AccessToken) -> Grant {
        Grant {
            token,
            refresh: None,
        }
    }
}

/// One token acquisition, without retries or caching.
pub(super) async fn acquire(p: &TokenProvider) -> Result<Grant, AuthError> {
    let scope = p.endpoints.scope();
    let token_url = p.endpoints.token_url(&p.tenant);
    let token = match &p.credential {
        Credential::StaticToken(secret) => Ok(AccessToken::new(secret.clone(), None)),
        Credential::ClientSecret { client_id, secret } => {
            let form = [
                ("grant_type", "client_credentials"),
                ("client_id", client_id.as_str()),
                ("scope", scope.as_str()),
                ("client_secret", secret.expose_secret()),
            ];
            post_token(p, &token_url, &form).await
        }
        Credential::ClientCertificate {
            client_id,
            certificate,
        } => {
            let assertion = certificate.assertion(client_id, token_url.as_str(), p.now())?;
            post_assertion(p, &token_url, client_id, &scope, &assertion).await
        }
        Credential::WorkloadIdentity {
            client_id,
            token_file,
        } => {
            // Re-read on every refresh: the kubelet rotates the projected token (hourly by default).
            let text =
                tokio::fs::read_to_string(token_file)
                    .await
                    .map_err(|e| AuthError::TokenFile {
                        path: token_file.clone(),
                        reason: format!("cannot read it: {e}"),
                    })?;
            let assertion = SecretString::from(text.trim().to_owned());
            drop(text);
            if assertion.expose_secret().is_empty() {
                return Err(AuthError::TokenFile {
                    path: token_file.clone(),
                    reason: "it is empty".to_owned(),
                });
            }
            post_assertion(p, &token_url, client_id, &scope, &assertion).await
        }
        Credential::GitHubOidc {
            client_id,
            request_url,
            request_token,
        } => {
            let assertion = github_id_token(p, request_url, request_token).await?;
            post_assertion(p, &token_url, client_id, &scope, &assertion).await
        }
        Credential::ManagedIdentity {
            client_id,
            endpoint,
            identity_header,
        } => managed_identity(p, client_id.as_deref(), endpoint, identity_header.as_ref()).await,
        Credential::DeviceCode { client_id, prompt } => {
            return super::human::device_code(p, client_id, prompt.as_ref()).await;
        }
        Credential::AzureCli { tenant_id } => {
            super::human::azure_cli(p, tenant_id.as_deref()).await
        }
    }?;
    Ok(token.into())
}

async fn post_assertion(
    p: &TokenProvider,
    token_url: &Url,
    client_id: &str,
    scope: &str,
    assertion: &SecretString,
) -> Result<AccessToken, AuthError> {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("scope", scope),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion.expose_secret()),
    ];
    post_token(p, token_url, &form).await
}

async fn post_token(
    p: &TokenProvider,
    token_url: &Url,
    form: &[(&str, &str)],
) -> Result<AccessToken, AuthError> {
    let (status, body) = post_form(p, token_url, TOKEN_ENDPOINT, form).await?;
    token_from_response(status, &body, TOKEN_ENDPOINT, token_url, p.now())
}

/// POSTs a form to a sign-in endpoint (`what` names it in errors) and reads the answer, whatever
/// its status: the OAuth endpoints answer errors with a JSON body the caller reads.
pub(super) async fn post_form(
    p: &TokenProvider,
    url: &Url,
    what: &'static str,
    form: &[(&str, &str)],
) -> Result<(reqwest::StatusCode, Vec<u8>), AuthError> {
    let request = p
        .http
        .reqwest()
        .post(url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .form(form);
    send(request, what, url).await
}

/// GitHub Actions' OIDC token for Entra's audience (the job needs `id-token: write`).
async fn github_id_token(
    p: &TokenProvider,
    request_url: &Url,
    request_token: &SecretString,
) -> Result<SecretString, AuthError> {
    let mut url = request_url.clone();
    url.query_pairs_mut()
        .append_pair("audience", GITHUB_AUDIENCE);
    let request = p
        .http
        .reqwest()
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .header(
            reqwest::header::AUTHORIZATION,
            format!("bearer {}", request_token.expose_secret()),
        );
    let (status, body) = send(request, GITHUB_ENDPOINT, request_url).await?;
    if !status.is_success() {
        return Err(AuthError::Status {
            what: GITHUB_ENDPOINT,
            url: redact_url(request_url),
            status: status.as_u16(),
            hint: "check that the job has `permissions: id-token: write` and that ACTIONS_ID_TOKEN_REQUEST_TOKEN is current",
        });
    }
    #[derive(Deserialize)]
    struct IdToken {
        value: Option<String>,
    }
    let parsed: IdToken =
        serde_json::from_slice(&body).map_err(|e| AuthError::InvalidResponse {
            what: GITHUB_ENDPOINT,
            url: redact_url(request_url),
            reason: format!("not the expected JSON ({})", e.classify_name()),
        })?;
    match parsed.value {
        Some(v) if !v.is_empty() => Ok(SecretString::from(v)),
        _ => Err(AuthError::InvalidResponse {
            what: GITHUB_ENDPOINT,
            url: redact_url(request_url),
            reason: "no `value` in the response".to_owned(),
        }),
    }
}

async fn managed_identity(
    p: &TokenProvider,
    client_id: Option<&str>,
    endpoint: &Url,
    identity_header: Option<&SecretString>,
) -> Result<AccessToken, AuthError> {
    let mut url = endpoint.clone();
    let resource = p.endpoints.resource();
    {
        let mut q = url.query_pairs_mut();
        // App Service's IDENTITY_ENDPOINT speaks 2019-08-01; IMDS 2018-02-01.
        let version = if identity_header.is_some() {
            "2019-08-01"
        } else {
            "2018-02-01"
        };
        q.append_pair("api-version", version);
        q.append_pair("resource", &resource);
        if let Some(id) = client_id {
            q.append_pair("client_id", id);
        }
    }
    let mut request = p.http.reqwest().get(url);
    request = match identity_header {
        Some(h) => request.header("X-IDENTITY-HEADER", h.expose_secret()),
        None => request.timeout(IMDS_TIMEOUT).header("Metadata", "true"),
    };
    let (status, body) = match send(request, MI_ENDPOINT, endpoint).await {
        Err(AuthError::Transport { .. }) if identity_header.is_none() => {
            return Err(AuthError::NoCredential {
                endpoint: redact_url(endpoint),
            });
        }
        other => other?,
    };
    token_from_response(status, &body, MI_ENDPOINT, endpoint, p.now())
}

/// Sends a request and reads at most [`MAX_BODY`] bytes of the response.
pub(super) async fn send(
    request: reqwest::RequestBuilder,
    what: &'static str,
    url: &Url,
) -> Result<(reqwest::StatusCode, Vec<u8>), AuthError> {
    let transport = |e: reqwest::Error| AuthError::Transport {
        what,
        url: redact_url(url),
        source: e.without_url(),
    };
    let mut response = request.send().await.map_err(transport)?;
    let status = response.status();
    if status.is_redirection() {
        // The client never follows redirects (crate::http); say so rather than report the
        // 3xx as an odd error status. The body is not read.
        return Err(AuthError::Redirected {
            what,
            url: redact_url(url),
            status: status.as_u16(),
        });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(AuthError::InvalidResponse {
                what,
                url: redact_url(url),
                reason: format!("the response is larger than {MAX_BODY} bytes"),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, body))
}

/// A number that some endpoints send as a JSON string (managed identity does).
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum NumberOrString {
    Number(i64),
    String(String),
}

impl NumberOrString {
    pub(super) fn get(&self) -> Option<i64> {
        match self {
            NumberOrString::Number(n) => Some(*n),
            NumberOrString::String(s) => s.trim().parse().ok(),
        }
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    expires_in: Option<NumberOrString>,
    expires_on: Option<NumberOrString>,
    refresh_token: Option<String>,
}

#[derive(Deserialize)]
struct OAuthError {
    error: String,
    error_description: Option<String>,
    #[serde(default)]
    error_codes: Vec<u32>,
    trace_id: Option<String>,
    correlation_id: Option<String>,
}

pub(super) fn token_from_response(
    status: reqwest::StatusCode,
    body: &[u8],
    what: &'static str,
    url: &Url,
    now: Timestamp,
) -> Result<AccessToken, AuthError> {
    grant_from_response(status, body, what, url, now).map(|g| g.token)
}

/// [`token_from_response`] with the refresh token, if the answer carries one.
pub(super) fn grant_from_response(
    status: reqwest::StatusCode,
    body: &[u8],
    what: &'static str,
    url: &Url,
    now: Timestamp,
) -> Result<Grant, AuthError> {
    let invalid = |reason: String| AuthError::InvalidResponse {
        what,
        url: redact_url(url),
        reason,
    };
    if !status.is_success() {
        return Err(error_from_response(status, body, what, url));
    }
    let parsed: TokenResponse = serde_json::from_slice(body)
        .map_err(|e| invalid(format!("not the expected JSON ({})", e.classify_name())))?;
    let secret = match parsed.access_token {
        Some(t) if !t.is_empty() => SecretString::from(t),
        _ => return Err(invalid("no access_token in the response".to_owned())),
    };
    let expires_at = if let Some(secs) = parsed.expires_in.as_ref().and_then(NumberOrString::get) {
        now.checked_add(SignedDuration::from_secs(secs)).ok()
    } else if let Some(epoch) = parsed.expires_on.as_ref().and_then(NumberOrString::get) {
        Timestamp::from_second(epoch).ok()
    } else {
        None
    };
    let expires_at =
        expires_at.ok_or_else(|| invalid("no usable expires_in or expires_on".to_owned()))?;
    let lifetime = expires_at.duration_since(now);
    if lifetime <= SignedDuration::ZERO {
        // A token that is dead on arrival would be fetched again before every request.
        return Err(invalid(
            "the token expires immediately (expires_in or expires_on is not in the future)"
                .to_owned(),
        ));
    }
    if lifetime > MAX_TOKEN_LIFETIME {
        // Entra issues tokens for 60 to 90 minutes, managed identity for up to 24 hours; a
        // longer claim is a broken or hostile endpoint, and trusting it would keep a revoked
        // token cached.
        return Err(invalid(format!(
            "the token claims to be valid for {} seconds, more than the {} seconds devlic accepts",
            lifetime.as_secs(),
            MAX_TOKEN_LIFETIME.as_secs()
        )));
    }
    Ok(Grant {
        token: AccessToken::new(secret, Some(expires_at)),
        refresh: parsed
            .refresh_token
            .filter(|t| !t.is_empty())
            .map(SecretString::from),
    })
}

/// The error an unsuccessful answer describes: Entra's OAuth error body when there is one.
pub(super) fn error_from_response(
    status: reqwest::StatusCode,
    body: &[u8],
    what: &'static str,
    url: &Url,
) -> AuthError {
    match serde_json::from_slice::<OAuthError>(body) {
        Ok(e) => AuthError::Entra(Box::new(EntraError {
            status: status.as_u16(),
            hint: hint_for(&e.error, &e.error_codes),
            description: e.error_description.as_deref().and_then(first_line),
            error: e.error,
            error_codes: e.error_codes,
            trace_id: e.trace_id,
            correlation_id: e.correlation_id,
        })),
        Err(_) => AuthError::Status {
            what,
            url: redact_url(url),
            status: status.as_u16(),
            hint: if status.is_server_error() {
                "the service is having trouble; devlic retried, try again later"
            } else {
                "check --cloud/--authority-url and the credential settings"
            },
        },
    }
}

/// Just the OAuth `error` field of an answer (e.g. `authorization_pending`), if it has one.
pub(super) fn oauth_error_code(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<OAuthError>(body)
        .ok()
        .map(|e| e.error)
}

/// Entra appends trace details on later lines; keep the human sentence, bounded.
fn first_line(description: &str) -> Option<String> {
    let line = description.lines().next()?.trim();
    if line.is_empty() {
        return None;
    }
    Some(line.chars().take(400).collect())
}

pub(super) trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    /// serde_json's Display can quote parts of the input; name the class only.
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "I/O error",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "unexpected fields or types",
            serde_json::error::Category::Eof => "truncated",
        }
    }
}
