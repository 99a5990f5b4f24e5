//! Client configuration and its validation (transport security rules live here).

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::auth::TokenSource;
use crate::http::HttpClient;
use crate::paging::PagingLimits;
use crate::retry::RetryPolicy;

/// Which Graph API version requests go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ApiVersion {
    /// `v1.0`, the supported API (default).
    #[default]
    V1,
    /// `beta` (cloudLicensing lives here; not supported for production by Microsoft).
    Beta,
}

impl ApiVersion {
    /// The path segment, `v1.0` or `beta`.
    pub fn segment(self) -> &'static str {
        match self {
            ApiVersion::V1 => "v1.0",
            ApiVersion::Beta => "beta",
        }
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.segment())
    }
}

/// Everything a [`crate::GraphClient`] needs. Build with [`ClientConfig::new`], adjust the public
/// fields, then hand it to [`crate::GraphClient::new`], which validates it.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The Graph root without a version, e.g. `https://graph.microsoft.com` (from auth's `Cloud`
    /// or `--graph-url`). Plain `http` is accepted only for loopback hosts.
    pub graph_url: Url,
    /// Where bearer tokens come from.
    pub token_source: Arc<dyn TokenSource>,
    /// Requests in flight at most (default 4).
    pub concurrency: usize,
    /// Retry and throttling policy (defaults in [`RetryPolicy::default`]).
    pub retry: RetryPolicy,
    /// Connect, request and overall timeouts (defaults in [`Timeouts`]).
    pub timeouts: Timeouts,
    /// API version of every request (default v1.0).
    pub api_version: ApiVersion,
    /// After a write's response is lost, how long to keep re-reading the group before deciding
    /// it did not land (default 5 s; Graph's reads can lag its writes). See the `write_loop`
    /// module for which write is resent afterwards.
    pub write_settle: Duration,
    /// Bounds on one paged collection: pages and bytes (defaults [`crate::MAX_PAGES`] and
    /// [`crate::MAX_COLLECTION_BYTES`]).
    pub paging: PagingLimits,
    /// Seed of the backoff jitter; `None` seeds from the OS. Tests set it for reproducible delays.
    pub jitter_seed: Option<u64>,
    /// The sign-in's HTTP client, reused for Graph when it was built with the rules the Graph
    /// URL needs ([`HttpClient::for_graph`]): one client per tenant instead of two.
    pub http: Option<HttpClient>,
}

impl ClientConfig {
    /// A configuration with devlic's defaults.
    pub fn new(graph_url: Url, token_source: Arc<dyn TokenSource>) -> ClientConfig {
        ClientConfig {
            graph_url,
            token_source,
            concurrency: 4,
            retry: RetryPolicy::default(),
            timeouts: Timeouts::default(),
            api_version: ApiVersion::V1,
            write_settle: Duration::from_secs(5),
            paging: PagingLimits::default(),
            jitter_seed: None,
            http: None,
        }
    }

    /// Checks the rules a client relies on; [`crate::GraphClient::new`] calls it.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_endpoint_url(&self.graph_url, "the Graph URL")?;
        if self.paging.max_pages == 0 || self.paging.max_bytes == 0 {
            return Err(ConfigError::ZeroPagingLimit);
        }
        if self.concurrency == 0 {
            return Err(ConfigError::ZeroConcurrency);
        }
        if self.timeouts.connect.is_zero()
            || self.timeouts.request.is_zero()
            || self.timeouts.overall.is_zero()
        {
            return Err(ConfigError::ZeroTimeout);
        }
        Ok(())
    }
}

/// How long devlic waits. `connect` and `request` apply to Graph and to sign-in (the token
/// endpoint, GitHub's OIDC endpoint, managed identity); `overall` bounds a Graph client's whole
/// life. With the defaults, one request that Graph keeps throttling gives up after about
/// 5 minutes ([`RetryPolicy::max_elapsed`]), a hung Graph costs at most that plus one request
/// timeout, and no run lasts longer than an hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP and TLS connection set-up (default 10 s). Capped at `request`.
    pub connect: Duration,
    /// One HTTP exchange, connect to last body byte (default 60 s). A request that times out
    /// is retried when it is a read; a write that times out has an unknown outcome and is
    /// re-read instead (see the `writes` module).
    pub request: Duration,
    /// Wall-clock limit of a Graph client, counted from [`crate::GraphClient::new`] (default
    /// 60 min). Once passed, the client starts no request and no retry: every call fails with
    /// [`crate::GraphError::RetriesExhausted`] naming [`crate::Exhaustion::Overall`].
    pub overall: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            request: Duration::from_secs(60),
            overall: Duration::from_secs(3600),
        }
    }
}

/// A configuration the client refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `http://` to a host that is not loopback: tokens would travel in clear text.
    #[error(
        "refusing plain http to `{host}`: use https (http is allowed only for 127.0.0.0/8, ::1 and localhost)"
    )]
    InsecureScheme {
        /// The offending host.
        host: String,
    },
    /// A scheme other than http or https.
    #[error("unsupported URL scheme `{scheme}` in `{url}`: use https")]
    UnsupportedScheme {
        /// The scheme.
        scheme: String,
        /// The URL.
        url: String,
    },
    /// The URL has no host.
    #[error("`{url}` has no host")]
    NoHost {
        /// The URL.
        url: String,
    },
    /// An endpoint (the Graph root, the authority) carries a query or fragment, which would
    /// corrupt every request URL built on it.
    #[error("{what} `{url}` must not have a query or fragment")]
    UrlHasQuery {
        /// Which endpoint, e.g. `the Graph URL`.
        what: &'static str,
        /// The URL without its query and fragment.
        url: String,
    },
    /// An endpoint carries a user name or password, which would end up in logs.
    #[error("{what} must not contain a user name or password")]
    UrlHasCredentials {
        /// Which endpoint, e.g. `the authority URL`.
        what: &'static str,
    },
    /// A paging limit is 0: no collection could ever be read.
    #[error("the paging limits (pages and bytes) must be greater than zero")]
    ZeroPagingLimit,
    /// `concurrency` is 0: no request could ever be sent.
    #[error("concurrency must be at least 1")]
    ZeroConcurrency,
    /// A zero timeout would fail every request.
    #[error("the connect, request and overall timeouts must be greater than zero")]
    ZeroTimeout,
    /// The HTTP client could not be built (TLS backend initialisation).
    #[error("could not build the HTTP client: {0}")]
    HttpClient(String),
}

/// The rule every base URL devlic talks to (the Graph root, the sign-in authority) must pass:
/// [`check_transport_security`], no query or fragment, no user name or password.
pub fn check_endpoint_url(url: &Url, what: &'static str) -> Result<(), ConfigError> {
    check_transport_security(url)?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::UrlHasCredentials { what });
    }
    if url.query().is_some() || url.fragment().is_some() {
        let mut shown = url.clone();
        shown.set_query(None);
        shown.set_fragment(None);
        return Err(ConfigError::UrlHasQuery {
            what,
            url: shown.to_string(),
        });
    }
    Ok(())
}

/// True for 127.0.0.0/8, ::1 and `localhost`.
pub fn is_loopback_host(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => IpAddr::V4(*ip).is_loopback(),
        url::Host::Ipv6(ip) => IpAddr::V6(*ip).is_loopback(),
    }
}

/// https anywhere; plain http only to loopback hosts (the simulator and tests).
pub fn check_transport_security(url: &Url) -> Result<(), ConfigError> {
    let host = url.host().ok_or_else(|| ConfigError::NoHost {
        url: url.to_string(),
    })?;
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback_host(&host) => Ok(()),
        "http" => Err(ConfigError::InsecureScheme {
            host: host.to_string(),
        }),
        other => Err(ConfigError::UnsupportedScheme {
            scheme: other.to_owned(),
            url: url.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(s: &str) -> Result<(), ConfigError> {
        check_transport_security(&Url::parse(s).unwrap())
    }

    #[test]
    fn endpoints_refuse_query_fragment_and_user_info() {
        let check = |s: &str| check_endpoint_url(&Url::parse(s).unwrap(), "the authority URL");
        for ok in ["https://login.microsoftonline.com/", "http://127.0.0.1:9/"] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
        let refused = [
            "https://login.example/?x=1",
            "https://login.example/#frag",
            "https://user:pw@login.example/",
            "http://login.example/",
            "https://login.example/?secret=hunter2",
        ];
        for bad in refused {
            let err = check(bad).unwrap_err();
            // The query and the password never reach the message.
            let shown = err.to_string();
            assert!(
                !shown.contains("hunter2") && !shown.contains("pw@"),
                "{shown}"
            );
        }
        assert!(matches!(
            check(refused[0]),
            Err(ConfigError::UrlHasQuery { .. })
        ));
        assert!(matches!(
            check(refused[2]),
            Err(ConfigError::UrlHasCredentials { .. })
        ));
    }

    #[test]
    fn http_only_for_loopback() {
        assert!(check("https://graph.microsoft.com").is_ok());
        assert!(check("http://127.0.0.1:8080").is_ok());
        assert!(check("http://127.3.2.1").is_ok());
        assert!(check("http://[::1]:9000").is_ok());
        assert!(check("http://LOCALHOST:1").is_ok());
        assert!(matches!(
            check("http://graph.microsoft.com"),
            Err(ConfigError::InsecureScheme { .. })
        ));
        assert!(matches!(
            check("http://10.0.0.1"),
            Err(ConfigError::InsecureScheme { .. })
        ));
        assert!(matches!(
            check("http://localhost.evil.example"),
            Err(ConfigError::InsecureScheme { .. })
        ));
        assert!(matches!(
            check("ftp://127.0.0.1"),
            Err(ConfigError::UnsupportedScheme { .. })
        ));
    }
}
