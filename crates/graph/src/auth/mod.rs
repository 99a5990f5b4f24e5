//! Access tokens for Microsoft Graph: credentials, national clouds and the token flows.
//!
//! The Graph client asks a [`TokenSource`] for a bearer token before each request. Two sources
//! exist: [`StaticToken`] (a pre-issued token from `DEVLIC_ACCESS_TOKEN`) and [`TokenProvider`],
//! which runs the OAuth 2.0 client-credentials flow against Entra ID (or the simulator) for every
//! [`Credential`] kind, caches the token until five minutes before it expires, and lets concurrent
//! callers share one refresh.
//!
//! The flows are hand-written (form-encoded POSTs per the Entra docs) rather than taken from
//! `azure_identity`, which refuses a non-https authority (so it cannot run against the loopback
//! simulator), needs OpenSSL for certificates and has no GitHub OIDC credential.
//!
//! Invariant: secrets (client secrets, private keys, request tokens, assertions, access tokens)
//! live only in [`secrecy::SecretString`] or opaque types whose `Debug` is redacted; they never
//! reach an error, a log line or `Debug` output.

mod cert;
mod cloud;
mod credential;
mod error;
mod flows;
mod human;
mod provider;

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use jiff::Timestamp;
use secrecy::{ExposeSecret, SecretString};

/// The retry policy of token requests: the same type as Graph requests use.
pub use crate::retry::RetryPolicy;
pub use cert::ClientCertificate;
pub use cloud::{Cloud, Endpoints, ensure_secure_url, is_loopback};
pub use credential::{
    AuthMode, Credential, CredentialArgs, DeviceCodePrompt, GRAPH_CLI_CLIENT_ID, IMDS_ENDPOINT,
    token_source,
};
pub use error::{AADSTS_NO_MATCHING_FEDERATED_CREDENTIAL, AuthError, EntraError};
pub use provider::{Clock, TokenProvider};

/// The future returned by [`TokenSource::token`].
pub type TokenFuture<'a> =
    Pin<Box<dyn Future<Output = Result<AccessToken, AuthError>> + Send + 'a>>;

/// Something that hands out Graph access tokens. Implementations cache and refresh as needed,
/// so callers may ask before every request.
pub trait TokenSource: Send + Sync + fmt::Debug {
    /// A token valid for at least a few more minutes (or the only token there is).
    fn token(&self) -> Pin<Box<dyn Future<Output = Result<AccessToken, AuthError>> + Send + '_>>;

    /// Graph answered 401 to `rejected`: forget it so the next [`TokenSource::token`] fetches a
    /// new one. Only a cached token equal to `rejected` is dropped, so many requests failing with
    /// the same token cause one refresh, not one each. Sources that cannot refresh ignore it.
    fn invalidate<'a>(
        &'a self,
        rejected: &'a AccessToken,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        let _ = rejected;
        Box::pin(async {})
    }

    /// Which kind of permissions the tokens carry ([`TokenKind::Unknown`] unless the source
    /// knows): it decides where a missing permission is granted.
    fn kind(&self) -> TokenKind {
        TokenKind::Unknown
    }
}

/// Which kind of Microsoft Graph permissions a token carries. An app-only token holds the app's
/// application permissions (`roles`); a person's token holds the app's delegated permissions
/// (`scp`), and Graph also requires the person's Entra role to allow the call. A missing
/// permission is granted in a different list of the admin center for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// App-only (client secret, certificate, workload identity, GitHub OIDC, managed identity).
    Application,
    /// On behalf of a signed-in person (device code, Azure CLI).
    Delegated,
    /// A token handed over as is (`DEVLIC_ACCESS_TOKEN`): devlic does not read it, so it may
    /// be either.
    Unknown,
}

/// A bearer token and when it expires. `Debug` prints `AccessToken(<redacted>)`.
#[derive(Clone)]
pub struct AccessToken {
    secret: SecretString,
    expires_at: Option<Timestamp>,
}

impl AccessToken {
    /// A token with a known expiry (`None`: unknown, e.g. a pre-issued token).
    pub fn new(secret: SecretString, expires_at: Option<Timestamp>) -> Self {
        AccessToken { secret, expires_at }
    }

    /// The token, for the `Authorization: Bearer` header only.
    pub fn secret(&self) -> &str {
        self.secret.expose_secret()
    }

    /// When the token expires, if known.
    pub fn expires_at(&self) -> Option<Timestamp> {
        self.expires_at
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

/// A pre-issued token used as is (`DEVLIC_ACCESS_TOKEN`): for scripts that already hold one.
/// It is never refreshed; when it expires Graph answers 401 and the user must supply a new one.
#[derive(Clone)]
pub struct StaticToken {
    token: AccessToken,
}

impl StaticToken {
    /// Wraps a token.
    pub fn new(secret: SecretString) -> Self {
        StaticToken {
            token: AccessToken::new(secret, None),
        }
    }
}

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StaticToken(<redacted>)")
    }
}

impl TokenSource for StaticToken {
    fn token(&self) -> TokenFuture<'_> {
        let token = self.token.clone();
        Box::pin(async move { Ok(token) })
    }
}
