//! [`TokenProvider`]: the cache, the shared refresh and the retry loop around the token flows.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use jiff::{SignedDuration, Timestamp};
use secrecy::SecretString;

use crate::http::HttpClient;
use crate::retry::{Jitter, RetryPolicy, next_delay};

use super::flows::Grant;
use super::{
    AccessToken, AuthError, Credential, Endpoints, TokenFuture, TokenKind, TokenSource, flows,
    human,
};

/// Where the provider reads the time. Tests pass a settable clock to exercise expiry without
/// waiting an hour; production uses [`Timestamp::now`].
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// A token is refreshed this long before it expires, so a request never leaves with a token
/// that dies in flight. A token that lives less than twice as long (never one from Entra, whose
/// tokens live an hour or more; a simulator's may) is refreshed at half its life instead, so
/// it is used at all.
const REFRESH_MARGIN: SignedDuration = SignedDuration::from_secs(5 * 60);

/// What the provider holds between requests.
#[derive(Default)]
struct Cache {
    /// The access token, and from when on it is renewed rather than handed out.
    token: Option<(AccessToken, Timestamp)>,
    /// A device-code sign-in's refresh token: renews the access token without the person.
    refresh: Option<SecretString>,
}

/// When `token`, obtained at `now`, should be renewed; `None` if it does not expire.
fn renew_at(token: &AccessToken, now: Timestamp) -> Option<Timestamp> {
    let expires = token.expires_at()?;
    let margin = REFRESH_MARGIN.min(expires.duration_since(now) / 2);
    expires.checked_sub(margin).ok()
}

/// Runs the client-credentials flow (or a managed-identity request) for a [`Credential`],
/// caching the token until five minutes before it expires.
///
/// Concurrent callers share one refresh: the cache sits behind an async mutex held across the
/// request, so a burst of requests after expiry sends one token request, not one each.
pub struct TokenProvider {
    pub(super) credential: Credential,
    pub(super) endpoints: Endpoints,
    pub(super) tenant: String,
    pub(super) http: HttpClient,
    cache: tokio::sync::Mutex<Cache>,
    /// A device-code sign-in ended without a token (declined, expired): requests that were
    /// waiting for it must not each show the person a new code.
    interactive_failed: std::sync::atomic::AtomicBool,
    clock: Clock,
    retry: RetryPolicy,
    jitter: Jitter,
}

impl TokenProvider {
    /// A provider for `credential` against `endpoints`. `tenant` (a GUID or verified domain) is
    /// ignored by managed identity and static tokens. `http` comes from
    /// [`HttpClient::for_sign_in`], so no sign-in request ever follows a redirect.
    pub fn new(
        credential: Credential,
        endpoints: Endpoints,
        tenant: impl Into<String>,
        http: HttpClient,
    ) -> Self {
        TokenProvider {
            credential,
            endpoints,
            tenant: tenant.into(),
            http,
            cache: tokio::sync::Mutex::new(Cache::default()),
            interactive_failed: std::sync::atomic::AtomicBool::new(false),
            clock: Arc::new(Timestamp::now),
            retry: RetryPolicy::sign_in(),
            jitter: Jitter::new(None),
        }
    }

    /// Replaces the clock (tests, simulations).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the retry policy (default [`RetryPolicy::sign_in`]: transient failures are
    /// retried for up to 30 s).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The credential in use.
    pub fn credential(&self) -> &Credential {
        &self.credential
    }

    /// The endpoints in use.
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// Drops the cached token if it is `rejected` (Graph answered 401 to it), so the next call
    /// fetches a new one; a token refreshed meanwhile by another caller is kept, and so is a
    /// refresh token (the next call redeems it rather than asking the person again).
    pub async fn invalidate(&self, rejected: &AccessToken) {
        let mut cache = self.cache.lock().await;
        if cache
            .token
            .as_ref()
            .is_some_and(|(t, _)| t.secret() == rejected.secret())
        {
            cache.token = None;
        }
    }

    pub(super) fn now(&self) -> Timestamp {
        (self.clock)()
    }

    async fn cached_or_refresh(&self) -> Result<AccessToken, AuthError> {
        let mut cache = self.cache.lock().await;
        if let Some((token, renew)) = cache.token.as_ref()
            && self.now() < *renew
        {
            return Ok(token.clone());
        }
        // A person's sign-in is renewed with its refresh token: no second code to enter.
        if let (Credential::DeviceCode { client_id, .. }, Some(refresh)) =
            (&self.credential, cache.refresh.take())
        {
            match self
                .retrying("refresh", || human::refresh(self, client_id, &refresh))
                .await
            {
                Ok(grant) => {
                    // A new refresh token replaces the one redeemed.
                    let refresh = grant.refresh.clone().or(Some(refresh));
                    return Ok(self.store(&mut cache, grant, refresh));
                }
                // Revoked, expired, or the person's session ended: only a new sign-in helps.
                Err(e) => tracing::warn!(
                    error = %e,
                    "the sign-in's refresh token was refused; signing in again"
                ),
            }
        }
        let interactive = matches!(self.credential, Credential::DeviceCode { .. });
        if interactive && self.interactive_failed.load(Ordering::Relaxed) {
            return Err(AuthError::InvalidConfig {
                reason: "the device-code sign-in of this run already failed".to_owned(),
            });
        }
        let grant = match self.retrying("sign-in", || flows::acquire(self)).await {
            Ok(grant) => grant,
            Err(e) => {
                if interactive {
                    self.interactive_failed.store(true, Ordering::Relaxed);
                }
                return Err(e);
            }
        };
        let refresh = grant.refresh.clone();
        Ok(self.store(&mut cache, grant, refresh))
    }

    /// Caches `grant`'s access token (and `refresh`) and returns the token.
    fn store(&self, cache: &mut Cache, grant: Grant, refresh: Option<SecretString>) -> AccessToken {
        let now = self.now();
        let renew = renew_at(&grant.token, now).unwrap_or(Timestamp::MAX);
        cache.token = Some((grant.token.clone(), renew));
        cache.refresh = refresh;
        grant.token
    }

    /// Runs one token request (`what`: "sign-in" or "refresh"), retrying transient failures
    /// within the sign-in retry policy.
    async fn retrying<F, Fut>(&self, what: &'static str, request: F) -> Result<Grant, AuthError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Grant, AuthError>>,
    {
        let first_sent = Instant::now();
        let mut attempt = 1u32;
        loop {
            match request().await {
                Ok(grant) => {
                    tracing::debug!(
                        mode = %self.credential.mode(),
                        expires_at = ?grant.token.expires_at(),
                        attempt,
                        what,
                        "acquired a Graph access token"
                    );
                    return Ok(grant);
                }
                Err(err) if err.is_transient() => {
                    let delay = next_delay(&self.retry, attempt - 1, None, &self.jitter);
                    if !self.retry.allows(first_sent.elapsed(), delay) {
                        tracing::warn!(
                            mode = %self.credential.mode(),
                            attempt,
                            what,
                            limit_s = self.retry.max_elapsed.as_secs(),
                            "token request still failing at the sign-in retry limit; giving up"
                        );
                        return Err(err);
                    }
                    tracing::warn!(
                        mode = %self.credential.mode(),
                        attempt,
                        what,
                        delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        error = %err,
                        "token request failed; retrying"
                    );
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                Err(err) => return Err(err),
            }
        }
    }
}

impl fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The credential's Debug is redacted; the cached token is never shown.
        f.debug_struct("TokenProvider")
            .field("credential", &self.credential)
            .field("endpoints", &self.endpoints)
            .field("tenant", &self.tenant)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl TokenSource for TokenProvider {
    fn token(&self) -> TokenFuture<'_> {
        Box::pin(self.cached_or_refresh())
    }

    fn invalidate<'a>(
        &'a self,
        rejected: &'a AccessToken,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(TokenProvider::invalidate(self, rejected))
    }

    fn kind(&self) -> TokenKind {
        self.credential.token_kind()
    }
}
