//! Client configuration and its validation (transport security rules live here).

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::auth::TokenSource;
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
    /// Retry and throttling policy.
    pub retry: RetryPolicy,
    /// Timeout of one HTTP request, connect to last body byte (default 60 s).
    pub timeout: Duration,
    /// API version of every request (default v1.0).
    pub api_version: ApiVersion,
    /// Seed of the backoff jitter; `None` seeds from the OS. Tests set it for reproducible delays.
    pub jitter_seed: Option<u64>,
}

impl ClientConfig {
    /// A configuration with devlic's defaults.
    pub fn new(graph_url: Url, token_source: Arc<dyn TokenSource>) -> ClientConfig {
        ClientConfig {
            graph_url,
            token_source,
            concurrency: 4,
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(60),
            api_version: ApiVersion::V1,
            jitter_seed: None,
        }
    }

    /// Checks the rules a client relies on; [`crate::GraphClient::new`] calls it.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_transport_security(&self.graph_url)?;
        if self.graph_url.query().is_some() || self.graph_url.fragment().is_some() {
            return Err(ConfigError::UrlHasQuery {
                url: self.graph_url.to_string(),
            });
        }
        if self.concurrency == 0 {
            return Err(ConfigError::ZeroConcurrency);
        }
        if self.retry.max_attempts == 0 {
            return Err(ConfigError::ZeroAttempts);
        }
        if self.timeout.is_zero() {
            return Err(ConfigError::ZeroTimeout);
        }
        Ok(())
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
    /// The Graph root carries a query or fragment, which would corrupt every request URL.
    #[error("the Graph URL `{url}` must not have a query or fragment")]
    UrlHasQuery {
        /// The URL.
        url: String,
    },
    /// `concurrency` is 0: no request could ever be sent.
    #[error("concurrency must be at least 1")]
    ZeroConcurrency,
    /// `retry.max_attempts` is 0: no request could ever be sent.
    #[error("retry.max_attempts must be at least 1")]
    ZeroAttempts,
    /// A zero timeout would fail every request.
    #[error("the request timeout must be greater than zero")]
    ZeroTimeout,
    /// The HTTP client could not be built (TLS backend initialisation).
    #[error("could not build the HTTP client: {0}")]
    HttpClient(String),
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
