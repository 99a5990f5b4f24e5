//! The one place devlic builds an HTTP client.
//!
//! Every `reqwest::Client` devlic uses (the Graph transport, and sign-in: Entra's token endpoint,
//! GitHub's OIDC endpoint, managed identity) comes from [`build`], so every client gets the same
//! rules:
//! - **no redirects** (`Policy::none()`): a redirect would re-post a client secret or assertion,
//!   replay a managed-identity header or carry a bearer token to a host devlic never checked
//!   (Graph and Entra do not redirect the calls devlic makes, so a 3xx is an error);
//! - rustls, devlic's user agent, a connect timeout and a request timeout;
//! - no system proxy for loopback targets (the simulator);
//! - the target URL ([`HttpClient::for_graph`]: the Graph root; [`HttpClient::for_sign_in`]: the
//!   authority) passes [`check_endpoint_url`]: https, plain http to loopback only, no query or
//!   fragment, no user info.
//!
//! [`build`] is the one place allowed to call `reqwest::Client::builder`. Ready for the
//! workspace's `clippy.toml` (test code that talks to the simulator directly marks itself with
//! `#[allow(clippy::disallowed_methods)]`, as [`build`] does):
//!
//! ```toml
//! disallowed-methods = [
//!     { path = "reqwest::Client::new", reason = "build HTTP clients with devlic_graph::HttpClient (redirects off, timeouts)" },
//!     { path = "reqwest::Client::builder", reason = "build HTTP clients with devlic_graph::HttpClient (redirects off, timeouts)" },
//! ]
//! ```

use std::time::Duration;

use url::Url;

use crate::auth::Endpoints;
use crate::config::{ConfigError, Timeouts, check_endpoint_url, is_loopback_host};

/// The user agent of every request devlic sends.
pub const USER_AGENT: &str = concat!("devlic/", env!("CARGO_PKG_VERSION"));

/// An HTTP client built by devlic's one client factory (redirects off, rustls, timeouts, user
/// agent). Cheap to clone; clones share the connection pool.
#[derive(Debug, Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    /// The rules it was built with (connect and request timeouts, and whether the system proxy
    /// is bypassed): a client is reused only for a URL that needs the same ones.
    connect: Duration,
    request: Duration,
    no_proxy: bool,
}

impl HttpClient {
    /// The client of a Graph transport for `graph_url` (checked by [`check_endpoint_url`]):
    /// `sign_in` itself when it was built with the rules `graph_url` needs (same timeouts, same
    /// proxy decision), else a new client.
    /// Building a client loads the system's root certificates, which was a few percent of a
    /// `plan DIR…` run's CPU when every tenant built two; the sign-in and Graph hosts still get
    /// their own connections (reqwest pools per host). A shared client is never shared between
    /// tenants.
    pub fn for_graph(
        graph_url: &Url,
        timeouts: &Timeouts,
        sign_in: Option<&HttpClient>,
    ) -> Result<HttpClient, ConfigError> {
        check_endpoint_url(graph_url, "the Graph URL")?;
        let no_proxy = loopback(graph_url);
        match sign_in {
            Some(c) if c.built_with(timeouts, no_proxy) => Ok(c.clone()),
            _ => build(timeouts, no_proxy),
        }
    }

    /// Whether this client was built with these rules.
    fn built_with(&self, timeouts: &Timeouts, no_proxy: bool) -> bool {
        self.no_proxy == no_proxy
            && self.connect == connect_timeout(timeouts)
            && self.request == timeouts.request
    }

    /// The client for signing in against `endpoints`' authority (and, for the credentials that
    /// need them, the GitHub OIDC and managed-identity endpoints). The authority passes the same
    /// checks as a Graph URL ([`check_endpoint_url`]).
    pub fn for_sign_in(
        endpoints: &Endpoints,
        timeouts: &Timeouts,
    ) -> Result<HttpClient, ConfigError> {
        check_endpoint_url(endpoints.authority(), "the authority URL")?;
        build(timeouts, loopback(endpoints.authority()))
    }

    /// The underlying reqwest client (crate-internal: only this crate sends HTTP).
    pub(crate) fn reqwest(&self) -> &reqwest::Client {
        &self.inner
    }
}

/// Whether a request failed because its target cannot be reached at all: the connection was
/// refused, the host name does not resolve, or the TLS handshake failed. A connect *timeout* is
/// not included (a slow or busy network can recover), and nothing here ever reached the server,
/// so treating it as final loses nothing.
pub(crate) fn is_unreachable(e: &reqwest::Error) -> bool {
    e.is_connect() && !e.is_timeout()
}

/// A short account of a connect failure, without the URL (callers name it): what happened in
/// words, then the innermost cause, e.g. `the host name does not resolve (DNS): failed to lookup
/// address information`. A refused connection needs no cause: it reads the same everywhere.
pub(crate) fn connect_failure(e: &reqwest::Error) -> String {
    let mut causes: Vec<String> = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        causes.push(s.to_string());
        source = s.source();
    }
    let any = |needle: &str| {
        causes
            .iter()
            .any(|c| c.to_ascii_lowercase().contains(needle))
    };
    let innermost = causes.last().cloned().unwrap_or_default();
    if any("connection refused") || any("os error 10061") {
        "connection refused (nothing listens on that port)".to_owned()
    } else if any("dns error") || any("failed to lookup") {
        format!("the host name does not resolve (DNS): {innermost}")
    } else if any("certificate") || any("tls") || any("handshake") {
        format!("the TLS handshake failed: {innermost}")
    } else if innermost.is_empty() {
        "the connection could not be made".to_owned()
    } else {
        format!("the connection could not be made: {innermost}")
    }
}

/// A short account of any failed request that got no answer (for sign-in errors).
pub(crate) fn transport_detail(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else {
        connect_failure(e)
    }
}

fn loopback(url: &Url) -> bool {
    url.host().is_some_and(|h| is_loopback_host(&h))
}

/// The factory. `no_proxy`: the target is loopback, so a system proxy must never see the
/// traffic (and could not reach 127.0.0.1 anyway).
#[allow(clippy::disallowed_methods)] // the one place allowed to build a reqwest client
fn build(timeouts: &Timeouts, no_proxy: bool) -> Result<HttpClient, ConfigError> {
    if timeouts.connect.is_zero() || timeouts.request.is_zero() {
        return Err(ConfigError::ZeroTimeout);
    }
    let mut builder = reqwest::Client::builder()
        .tls_backend_rustls()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(USER_AGENT)
        .connect_timeout(connect_timeout(timeouts))
        .timeout(timeouts.request)
        // Idle pooled connections are dropped well before Graph's front ends close them.
        .pool_idle_timeout(Duration::from_secs(60));
    if no_proxy {
        builder = builder.no_proxy();
    }
    let inner = builder
        .build()
        .map_err(|e| ConfigError::HttpClient(e.to_string()))?;
    Ok(HttpClient {
        inner,
        connect: connect_timeout(timeouts),
        request: timeouts.request,
        no_proxy,
    })
}

/// The connect timeout a client gets: never longer than the request timeout.
fn connect_timeout(timeouts: &Timeouts) -> Duration {
    timeouts.connect.min(timeouts.request)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn a_graph_client_reuses_the_sign_in_client_only_under_the_same_rules() {
        let t = Timeouts::default();
        let loopback_sign_in = build(&t, true).expect("client");
        let remote_sign_in = build(&t, false).expect("client");
        let sim = url("http://127.0.0.1:8080");
        let graph = url("https://graph.microsoft.com");

        let shared = HttpClient::for_graph(&sim, &t, Some(&loopback_sign_in)).expect("client");
        assert!(shared.built_with(&t, true));
        // A Graph URL that needs the other proxy decision gets its own client.
        let own = HttpClient::for_graph(&graph, &t, Some(&loopback_sign_in)).expect("client");
        assert!(own.built_with(&t, false) && !own.built_with(&t, true));
        assert!(remote_sign_in.built_with(&t, false));
        // Other timeouts: a new client with those.
        let slower = Timeouts {
            request: t.request * 2,
            ..t
        };
        assert!(!loopback_sign_in.built_with(&slower, true));
        let rebuilt =
            HttpClient::for_graph(&sim, &slower, Some(&loopback_sign_in)).expect("client");
        assert!(rebuilt.built_with(&slower, true));
        // The URL is checked whether or not a client is shared.
        assert!(
            HttpClient::for_graph(&url("http://example.com"), &t, Some(&remote_sign_in)).is_err()
        );
    }
}
