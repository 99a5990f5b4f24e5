//! [`GraphClient`]: the handle every other part of devlic uses.

use std::sync::Arc;

use url::Url;

use crate::auth::TokenKind;
use crate::config::{ApiVersion, ClientConfig, ConfigError};
use crate::pacing::WritePacer;
use crate::transport::Transport;

/// A Microsoft Graph client. Cheap to clone (clones share the connection pool, the in-flight
/// limit, the retry budget and the request counter).
#[derive(Debug, Clone)]
pub struct GraphClient {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub transport: Transport,
    /// The pace of writes, learned from Graph's throttling answers (pacing.rs).
    pub write_pacer: WritePacer,
    pub graph_url: Url,
    pub api_version: ApiVersion,
    /// What the token source's tokens carry (application or delegated permissions).
    pub token_kind: TokenKind,
}

/// Counters for reports and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClientStats {
    /// HTTP requests sent (a `$batch` counts once, every retry counts).
    pub requests: u64,
    /// Retries (of whole requests or of `$batch` items).
    pub retries: u64,
    /// Time spent waiting between retries, in milliseconds.
    pub retry_wait_ms: u64,
    /// Spacing between writes the client has learned from Graph's throttling, in
    /// milliseconds (0: writes are not paced).
    pub write_spacing_ms: u64,
    /// Write requests sent (every attempt that went out: resends after a 429 count again).
    pub writes_sent: u64,
    /// Write requests Graph accepted (2xx).
    pub writes_accepted: u64,
    /// Write requests answered 429 (throttled).
    pub writes_throttled: u64,
    /// Write requests whose answer was lost (dropped connection, timeout, unreadable body):
    /// the write loop settled each by re-reading the group.
    pub writes_unanswered: u64,
}

impl GraphClient {
    /// Validates `config` and builds the client.
    pub fn new(config: ClientConfig) -> Result<GraphClient, ConfigError> {
        let transport = Transport::new(&config)?;
        let token_kind = config.token_source.kind();
        Ok(GraphClient {
            inner: Arc::new(Inner {
                transport,
                write_pacer: WritePacer::new(config.concurrency),
                graph_url: config.graph_url,
                api_version: config.api_version,
                token_kind,
            }),
        })
    }

    /// The configured Graph root (no version), e.g. `https://graph.microsoft.com/`.
    pub fn graph_url(&self) -> &Url {
        &self.inner.graph_url
    }

    /// The API version requests use.
    pub fn api_version(&self) -> ApiVersion {
        self.inner.api_version
    }

    /// Whether the client's tokens carry application or delegated permissions (where a 403's
    /// missing permission is granted: [`crate::GraphError::missing_permission_for`]).
    pub fn token_kind(&self) -> TokenKind {
        self.inner.token_kind
    }

    /// `{graph_url}/{version}`: the prefix of every request URL.
    pub fn version_root(&self) -> &str {
        self.inner.transport.root()
    }

    /// HTTP requests sent so far.
    pub fn requests_made(&self) -> u64 {
        self.inner.transport.requests_made()
    }

    /// All counters.
    pub fn stats(&self) -> ClientStats {
        let (writes_sent, writes_accepted, writes_throttled, writes_unanswered) =
            self.inner.write_pacer.counts();
        ClientStats {
            writes_sent,
            writes_accepted,
            writes_throttled,
            writes_unanswered,
            requests: self.inner.transport.requests_made(),
            retries: self.inner.transport.retries_made(),
            retry_wait_ms: u64::try_from(self.inner.transport.waited().as_millis())
                .unwrap_or(u64::MAX),
            write_spacing_ms: u64::try_from(self.inner.write_pacer.spacing().as_millis())
                .unwrap_or(u64::MAX),
        }
    }

    /// The transport (crate-internal).
    pub(crate) fn transport(&self) -> &Transport {
        &self.inner.transport
    }

    /// GETs every page of a collection at `path` (relative to the version root) as raw JSON.
    /// For callers that need a resource devlic has no typed read for (e.g. the cloudLicensing
    /// backend); the nextLink rule and retries apply as everywhere.
    pub async fn get_collection(
        &self,
        path: &str,
    ) -> Result<Vec<serde_json::Value>, crate::GraphError> {
        let url = self.transport().url(path)?;
        self.transport().get_all(url, Vec::new()).await
    }
}
