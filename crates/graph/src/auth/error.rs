//! Typed authentication errors.
//!
//! Invariant: no variant ever holds a client secret, a private key, a client assertion, a federated
//! token, a request token or an access token. Variants carry what Entra ID sent back for diagnosis
//! (`error`, `error_codes`, `trace_id`, `correlation_id`) plus a hint saying what to do next.

use std::fmt;
use std::path::PathBuf;

/// Entra ID's `AADSTS70021`: "no matching federated identity record found for presented
/// assertion". A federated credential that was just created takes a few minutes to propagate,
/// so this code is retried.
pub const AADSTS_NO_MATCHING_FEDERATED_CREDENTIAL: u32 = 70021;

/// Why a token could not be obtained, or why the auth configuration is unusable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The token endpoint (or the managed identity endpoint) answered with an OAuth error body.
    /// 5xx, 429 and AADSTS70021 (a federated credential created minutes ago and not yet
    /// propagated) were retried before this was returned; see [`AuthError::is_transient`].
    #[error("{0}")]
    Entra(Box<EntraError>),

    /// An endpoint answered with an error status and no OAuth error body.
    #[error("{what} at {url} answered HTTP {status}; {hint}")]
    Status {
        /// Which endpoint (token endpoint, managed identity, GitHub OIDC).
        what: &'static str,
        /// The URL without its query string.
        url: String,
        /// HTTP status.
        status: u16,
        /// What to do about it.
        hint: &'static str,
    },

    /// An endpoint answered with a redirect (3xx). Sign-in never follows one: it would resend
    /// the client secret, the client assertion or the managed-identity header to wherever the
    /// answer points. Not retried.
    #[error(
        "{what} at {url} answered HTTP {status} (a redirect); devlic never follows redirects when signing in, because that would resend the credential; point --authority-url (or AZURE_AUTHORITY_HOST, IDENTITY_ENDPOINT) at the final address"
    )]
    Redirected {
        /// Which endpoint.
        what: &'static str,
        /// The URL without its query string.
        url: String,
        /// HTTP status.
        status: u16,
    },

    /// The request did not get an HTTP response (DNS, connect, TLS, timeout, reset). Connection
    /// refused, an unknown host and a failed TLS handshake are final ([`AuthError::is_unreachable`]);
    /// timeouts and resets are retried.
    #[error(
        "could not reach the {what} at {url}: {}; check the network, proxy and the --cloud/--authority-url setting",
        crate::http::transport_detail(source)
    )]
    Transport {
        /// Which endpoint.
        what: &'static str,
        /// The URL without its query string.
        url: String,
        /// The underlying error, stripped of its URL.
        #[source]
        source: reqwest::Error,
    },

    /// A response arrived but was not the JSON document the protocol promises.
    #[error("the {what} at {url} sent an unusable response: {reason}")]
    InvalidResponse {
        /// Which endpoint.
        what: &'static str,
        /// The URL without its query string.
        url: String,
        /// What was wrong (never includes the body).
        reason: String,
    },

    /// A setting that the chosen credential needs is missing.
    #[error("{what} is not set; {hint}")]
    MissingSetting {
        /// The flag or environment variable.
        what: &'static str,
        /// What to do about it.
        hint: &'static str,
    },

    /// Managed identity was chosen but no managed identity answered at IMDS.
    #[error(
        "no managed identity answered at {endpoint}; --auth managed-identity works only on Azure (a VM, an AKS node, App Service, Functions, Container Apps) with an identity assigned; elsewhere choose another --auth mode"
    )]
    NoCredential {
        /// The managed identity endpoint that was tried.
        endpoint: String,
    },

    /// No `--auth` mode was given and no credential variable is set: nothing to sign in with.
    /// The message lists what each mode needs, by name.
    #[error("{}", no_credential_found(*tenant_id, *client_id))]
    NoCredentialFound {
        /// Whether a tenant was given (`--tenant-id` or `AZURE_TENANT_ID`).
        tenant_id: bool,
        /// Whether a client id was given (`--client-id` or `AZURE_CLIENT_ID`).
        client_id: bool,
    },

    /// A flag or variable holds a malformed value.
    #[error("invalid auth configuration: {reason}")]
    InvalidConfig {
        /// What is wrong and how to fix it.
        reason: String,
    },

    /// A URL could not be parsed.
    #[error("{what} is not a valid URL ({reason}); give an absolute https:// URL")]
    InvalidUrl {
        /// Which flag or variable held it.
        what: &'static str,
        /// The parser's complaint.
        reason: String,
    },

    /// A plain `http://` URL names a host that is not loopback.
    #[error(
        "{what} {url} uses plain http to a non-loopback host; use https (plain http is allowed only for 127.0.0.0/8, ::1 and localhost)"
    )]
    InsecureUrl {
        /// Which flag or variable held it.
        what: &'static str,
        /// The URL (scheme, host, port and path only).
        url: String,
    },

    /// The certificate file could not be read or used.
    #[error("client certificate {path}: {reason}")]
    Certificate {
        /// The PEM file.
        path: PathBuf,
        /// What is wrong and how to fix it (never key material).
        reason: String,
    },

    /// The federated token file (Kubernetes workload identity) could not be read or is empty.
    #[error(
        "federated token file {path}: {reason}; check that the workload identity webhook mounted it (AZURE_FEDERATED_TOKEN_FILE)"
    )]
    TokenFile {
        /// The token file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },

    /// `--auth azure-cli`: `az account get-access-token` could not be run or gave no token.
    #[error("Azure CLI sign-in: {reason}")]
    AzureCli {
        /// What went wrong and what to do (never the token).
        reason: String,
    },

    /// Signing the client assertion failed.
    #[error("could not sign the client assertion: {reason}")]
    Signing {
        /// The signer's complaint (never key material).
        reason: String,
    },
}

/// What each sign-in mode needs, one line each, by the names a user sets.
const CREDENTIAL_MODES: &[(&str, &str)] = &[
    (
        "client secret",
        "set AZURE_CLIENT_SECRET (--auth client-secret)",
    ),
    (
        "certificate",
        "set AZURE_CLIENT_CERTIFICATE_PATH or --certificate PATH (--auth certificate)",
    ),
    (
        "workload identity",
        "set AZURE_FEDERATED_TOKEN_FILE or --federated-token-file PATH (--auth workload-identity)",
    ),
    (
        "GitHub Actions OIDC",
        "give the job `permissions: id-token: write` (--auth github)",
    ),
    (
        "managed identity",
        "--auth managed-identity, on an Azure VM, AKS node, App Service or Container App",
    ),
    ("access token", "set DEVLIC_ACCESS_TOKEN (--auth token)"),
    (
        "your own account",
        "--auth device-code (sign in in a browser), or --auth azure-cli after `az login`",
    ),
];

fn no_credential_found(tenant_id: bool, client_id: bool) -> String {
    let given = match (tenant_id, client_id) {
        (true, true) => {
            "AZURE_TENANT_ID and AZURE_CLIENT_ID are set, but no secret, certificate or token"
        }
        (true, false) => "AZURE_TENANT_ID is set, but no client id and no credential",
        (false, true) => "AZURE_CLIENT_ID is set, but no tenant and no credential",
        (false, false) => "no sign-in setting is set",
    };
    let mut text = format!(
        "no credential to sign in with: {given}; set one of these (or choose with --auth MODE or DEVLIC_AUTH):"
    );
    for (mode, needs) in CREDENTIAL_MODES {
        text.push_str(&format!("\n  {mode}: {needs}"));
    }
    if !(tenant_id && client_id) {
        text.push_str("\n  client secret, certificate, workload identity and GitHub also need AZURE_TENANT_ID (--tenant-id) and AZURE_CLIENT_ID (--client-id)");
    }
    text
}

impl AuthError {
    /// Whether the endpoint cannot be reached at all (connection refused, unknown host, TLS
    /// handshake failed): nothing answers there, so retrying is pointless. The URL in the error
    /// is what to check.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, AuthError::Transport { source, .. } if crate::http::is_unreachable(source))
    }

    /// The URL an unreachable endpoint was tried at (see [`AuthError::is_unreachable`]).
    pub fn unreachable_url(&self) -> Option<&str> {
        match self {
            AuthError::Transport { url, source, .. } if crate::http::is_unreachable(source) => {
                Some(url)
            }
            _ => None,
        }
    }

    /// Whether retrying the same request may succeed: transport failures other than an
    /// unreachable endpoint, 5xx/429, and
    /// AADSTS70021 (a fresh federated credential that has not propagated yet).
    pub fn is_transient(&self) -> bool {
        match self {
            AuthError::Transport { source, .. } => !crate::http::is_unreachable(source),
            AuthError::Status { status, .. } => *status == 429 || *status >= 500,
            AuthError::Entra(e) => {
                e.status == 429
                    || e.status >= 500
                    || e.error_codes
                        .contains(&AADSTS_NO_MATCHING_FEDERATED_CREDENTIAL)
            }
            _ => false,
        }
    }
}

/// An OAuth error body from Entra ID (or a managed identity endpoint), with a hint.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EntraError {
    /// HTTP status of the response.
    pub status: u16,
    /// Entra's `error` field, e.g. `invalid_client`.
    pub error: String,
    /// Entra's `error_description`, first line only (it never contains the credential).
    pub description: Option<String>,
    /// Entra's `error_codes`, e.g. `[7000215]` for a wrong client secret.
    pub error_codes: Vec<u32>,
    /// Entra's `trace_id`: quote it when asking Microsoft support.
    pub trace_id: Option<String>,
    /// Entra's `correlation_id`: quote it when asking Microsoft support.
    pub correlation_id: Option<String>,
    /// What to do about it.
    pub hint: &'static str,
}

impl fmt::Display for EntraError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sign-in failed (HTTP {}, {}", self.status, self.error)?;
        for code in &self.error_codes {
            write!(f, ", AADSTS{code}")?;
        }
        f.write_str(")")?;
        if let Some(d) = &self.description {
            write!(f, ": {d}")?;
        }
        if let Some(t) = &self.trace_id {
            write!(f, "; trace_id {t}")?;
        }
        if let Some(c) = &self.correlation_id {
            write!(f, "; correlation_id {c}")?;
        }
        write!(f, "; {}", self.hint)
    }
}

/// What to do for a given Entra error, chosen by error code first, then by `error`.
pub(crate) fn hint_for(error: &str, error_codes: &[u32]) -> &'static str {
    for code in error_codes {
        let hint = match code {
            70021 => Some(
                "no federated credential matches the token's issuer/subject/audience; a credential created minutes ago may still be propagating (devlic retries), otherwise compare the app's federated credential with the token's iss and sub exactly",
            ),
            7000215 | 7000222 => Some(
                "the client secret is wrong or expired; copy the secret's Value (not its ID) from the app registration, or create a new one",
            ),
            700016 => Some(
                "the application was not found in this tenant; check AZURE_CLIENT_ID and AZURE_TENANT_ID, and that the app has a service principal there",
            ),
            90002 | 900023 => Some(
                "the tenant was not found; check AZURE_TENANT_ID (a GUID or a verified domain) and --cloud",
            ),
            700027 | 700023 => Some(
                "the client assertion was rejected; check that this certificate is uploaded to the app registration and has not expired",
            ),
            700024 => Some(
                "the client assertion is outside its validity window; check the machine clock and that the federated token file is being refreshed",
            ),
            700211..=700213 => Some(
                "the federated token's issuer, audience or subject does not match the app's federated credential; compare them exactly (no wildcards)",
            ),
            500011 => Some("the resource is unknown in this cloud; check --cloud and --graph-url"),
            _ => None,
        };
        if let Some(h) = hint {
            return h;
        }
    }
    match error {
        "invalid_client" => {
            "the client credential was rejected; check AZURE_CLIENT_ID and the secret, certificate or federated credential"
        }
        "unauthorized_client" => {
            "the application is not allowed to use this flow in this tenant; check the app registration and admin consent"
        }
        "invalid_scope" => "the scope was rejected; check --cloud and --graph-url",
        "invalid_request" => {
            "the request was malformed; check the tenant, client id and credential settings"
        }
        "temporarily_unavailable" => "Entra ID is temporarily unavailable; try again in a minute",
        "authorization_declined" => {
            "the sign-in was declined in the browser; run the command again to get a new code"
        }
        "expired_token" => {
            "the code expired before the sign-in finished (15 minutes); run the command again to get a new code"
        }
        "bad_verification_code" => "the device code was not recognised; run the command again",
        _ => {
            "check the tenant, client id and credential, and quote trace_id/correlation_id when asking for help"
        }
    }
}
