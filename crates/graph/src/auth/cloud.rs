//! National clouds, endpoint overrides and the transport rule (https, or http to loopback only).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use url::Url;

use super::AuthError;

/// A Microsoft cloud: picks the Graph host and the Entra ID login host.
///
/// Hosts from Microsoft Graph's "national cloud deployments" page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Cloud {
    /// The global service: `graph.microsoft.com`, `login.microsoftonline.com`.
    #[default]
    Global,
    /// US Government L4 (GCC High): `graph.microsoft.us`, `login.microsoftonline.us`.
    UsGov,
    /// US Government L5 (DoD): `dod-graph.microsoft.us`, `login.microsoftonline.us`.
    UsGovDod,
    /// Microsoft 365 operated by 21Vianet: `microsoftgraph.chinacloudapi.cn`, `login.chinacloudapi.cn`.
    China,
}

impl Cloud {
    /// Every cloud, in `--cloud` order.
    pub const ALL: [Cloud; 4] = [Cloud::Global, Cloud::UsGov, Cloud::UsGovDod, Cloud::China];

    /// The name used by `--cloud`.
    pub fn name(self) -> &'static str {
        match self {
            Cloud::Global => "global",
            Cloud::UsGov => "usgov",
            Cloud::UsGovDod => "usgovdod",
            Cloud::China => "china",
        }
    }

    fn graph_str(self) -> &'static str {
        match self {
            Cloud::Global => "https://graph.microsoft.com/",
            Cloud::UsGov => "https://graph.microsoft.us/",
            Cloud::UsGovDod => "https://dod-graph.microsoft.us/",
            Cloud::China => "https://microsoftgraph.chinacloudapi.cn/",
        }
    }

    fn authority_str(self) -> &'static str {
        match self {
            Cloud::Global => "https://login.microsoftonline.com/",
            Cloud::UsGov | Cloud::UsGovDod => "https://login.microsoftonline.us/",
            Cloud::China => "https://login.chinacloudapi.cn/",
        }
    }

    /// The Graph root (without `/v1.0`), e.g. `https://graph.microsoft.com/`.
    pub fn graph_url(self) -> Url {
        // The literals above are valid absolute URLs; a failure here is a typo caught by tests.
        Url::parse(self.graph_str()).unwrap_or_else(|_| unreachable!("constant Graph URL"))
    }

    /// The Entra ID authority host, e.g. `https://login.microsoftonline.com/`.
    pub fn authority_url(self) -> Url {
        Url::parse(self.authority_str()).unwrap_or_else(|_| unreachable!("constant authority URL"))
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Cloud {
    type Err = AuthError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Cloud::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| AuthError::InvalidConfig {
                reason: format!("unknown cloud {s:?}; use one of global, usgov, usgovdod, china"),
            })
    }
}

/// Where devlic talks to: the Graph root and the login authority.
///
/// Built from a [`Cloud`] and optional overrides. Both URLs have passed [`ensure_secure_url`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    graph: Url,
    authority: Url,
    /// The API version segment removed from the end of `--graph-url`, if any.
    stripped_version: Option<&'static str>,
}

impl Endpoints {
    /// The endpoints of a cloud, without overrides.
    pub fn for_cloud(cloud: Cloud) -> Self {
        Endpoints {
            graph: cloud.graph_url(),
            authority: cloud.authority_url(),
            stripped_version: None,
        }
    }

    /// Resolves the endpoints: `graph_url` (`--graph-url`) overrides the cloud's Graph root;
    /// the authority is `authority_url` (`--authority-url`), else `authority_host_env`
    /// (`AZURE_AUTHORITY_HOST`), else the cloud's. Every URL must be https, or http to loopback.
    ///
    /// A `graph_url` ending in an API version (`https://graph.microsoft.com/v1.0`, `.../beta`)
    /// is the root people copy from Graph Explorer; devlic appends the version itself, so the
    /// version is removed and [`Endpoints::stripped_version`] says which, for a note.
    pub fn resolve(
        cloud: Cloud,
        graph_url: Option<&str>,
        authority_url: Option<&str>,
        authority_host_env: Option<&str>,
    ) -> Result<Self, AuthError> {
        let (graph, stripped_version) = match graph_url {
            Some(s) => strip_api_version(parse_endpoint(s, "--graph-url")?),
            None => (cloud.graph_url(), None),
        };
        let authority = match (authority_url, authority_host_env) {
            (Some(s), _) => parse_endpoint(s, "--authority-url")?,
            (None, Some(s)) if !s.trim().is_empty() => parse_endpoint(s, "AZURE_AUTHORITY_HOST")?,
            _ => cloud.authority_url(),
        };
        Ok(Endpoints {
            graph,
            authority,
            stripped_version,
        })
    }

    /// The API version (`v1.0` or `beta`) that [`Endpoints::resolve`] removed from the end of the
    /// Graph URL it was given, if it removed one.
    pub fn stripped_version(&self) -> Option<&'static str> {
        self.stripped_version
    }

    /// Endpoints from two explicit URLs (e.g. both the simulator's address).
    pub fn custom(graph: Url, authority: Url) -> Result<Self, AuthError> {
        ensure_endpoint_url(&graph, "the Graph URL")?;
        ensure_endpoint_url(&authority, "the authority URL")?;
        Ok(Endpoints {
            graph: with_trailing_slash(graph),
            authority: with_trailing_slash(authority),
            stripped_version: None,
        })
    }

    /// The Graph root (ends with `/`; API versions such as `v1.0/` are joined onto it).
    pub fn graph(&self) -> &Url {
        &self.graph
    }

    /// The login authority host (ends with `/`).
    pub fn authority(&self) -> &Url {
        &self.authority
    }

    /// The OAuth scope for Graph: `{graph root}/.default`.
    pub fn scope(&self) -> String {
        format!("{}/.default", self.graph.as_str().trim_end_matches('/'))
    }

    /// The managed-identity `resource`: the Graph root without a trailing slash.
    pub fn resource(&self) -> String {
        self.graph.as_str().trim_end_matches('/').to_owned()
    }

    /// `{authority}/{tenant}/oauth2/v2.0/token`; the tenant is one percent-encoded path segment.
    pub fn token_url(&self, tenant: &str) -> Url {
        self.oauth_url(tenant, "token")
    }

    /// `{authority}/{tenant}/oauth2/v2.0/devicecode`: where a device-code sign-in starts.
    pub fn device_code_url(&self, tenant: &str) -> Url {
        self.oauth_url(tenant, "devicecode")
    }

    fn oauth_url(&self, tenant: &str, endpoint: &str) -> Url {
        let mut url = self.authority.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments
                .pop_if_empty()
                .extend([tenant, "oauth2", "v2.0", endpoint]);
        }
        url
    }
}

fn parse_endpoint(value: &str, what: &'static str) -> Result<Url, AuthError> {
    let url = Url::parse(value.trim()).map_err(|e| AuthError::InvalidUrl {
        what,
        reason: e.to_string(),
    })?;
    ensure_endpoint_url(&url, what)?;
    Ok(with_trailing_slash(url))
}

/// The rule for a base URL (the Graph root, the authority): [`ensure_secure_url`], and no query
/// or fragment, which would corrupt every URL built on it (the same rule as
/// [`crate::check_endpoint_url`], reported as an [`AuthError`]).
fn ensure_endpoint_url(url: &Url, what: &'static str) -> Result<(), AuthError> {
    ensure_secure_url(url, what)?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(AuthError::InvalidUrl {
            what,
            reason: "it has a query or fragment; give the bare base URL".to_owned(),
        });
    }
    Ok(())
}

/// Removes a trailing `v1.0/` or `beta/` segment (any case) from a Graph root that ends in `/`.
fn strip_api_version(mut url: Url) -> (Url, Option<&'static str>) {
    let path = url.path().trim_end_matches('/');
    let Some((parent, last)) = path.rsplit_once('/') else {
        return (url, None);
    };
    let version = ["v1.0", "beta"]
        .into_iter()
        .find(|v| v.eq_ignore_ascii_case(last));
    if version.is_some() {
        let parent = format!("{parent}/");
        url.set_path(&parent);
    }
    (url, version)
}

fn with_trailing_slash(mut url: Url) -> Url {
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

/// Whether a URL's host is loopback: 127.0.0.0/8, `::1` or `localhost`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// Refuses anything but `https://`, or `http://` to a loopback host (the simulator).
/// Also refuses URLs carrying a user name or password, which would otherwise end up in logs.
pub fn ensure_secure_url(url: &Url, what: &'static str) -> Result<(), AuthError> {
    if !url.username().is_empty() || url.password().is_some() {
        return Err(AuthError::InvalidUrl {
            what,
            reason: "it contains a user name or password".to_owned(),
        });
    }
    match url.scheme() {
        "https" if url.host().is_some() => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(AuthError::InsecureUrl {
            what,
            url: redact_url(url),
        }),
        other => Err(AuthError::InvalidUrl {
            what,
            reason: format!("scheme {other:?} is not https"),
        }),
    }
}

/// A URL for error messages: scheme, host, port and path; never query, fragment or user info.
pub(crate) fn redact_url(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}
