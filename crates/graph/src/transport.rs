//! One HTTP exchange at a time: tokens, bounded concurrency, request ids, retries of idempotent
//! requests, and the rule that keeps bearer tokens on the configured Graph host.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;
use url::Url;

use crate::auth::{AuthError, TokenSource};
use crate::config::{ClientConfig, ConfigError};
use crate::error::{Exhaustion, GraphError, excerpt};
use crate::http::HttpClient;
use crate::paging::PagingLimits;
use crate::retry::{Jitter, RetryPolicy, next_delay, retry_after_from};

/// Bodies larger than this are refused rather than buffered (a hostile or broken server must not
/// exhaust memory). Graph pages of 999 groups with `$select` are far below it.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// HTTP method of a request (devlic reads, posts, and deletes cloudLicensing assignments).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
    /// DELETE.
    Delete,
    /// PATCH (cloudLicensing assignment updates).
    Patch,
}

impl Method {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Delete => "DELETE",
            Method::Patch => "PATCH",
        }
    }
}

/// A request ready to send.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub method: Method,
    pub url: Url,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<serde_json::Value>,
}

impl Request {
    /// A POST of a JSON `body` (a write) with no extra headers.
    pub fn post(url: Url, body: serde_json::Value) -> Request {
        Request {
            method: Method::Post,
            url,
            headers: Vec::new(),
            body: Some(body),
        }
    }
}

/// A response read to the end.
#[derive(Debug)]
pub(crate) struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: bytes::Bytes,
    pub request_id: Option<String>,
    pub client_request_id: String,
    /// Method and path (no query) of the request, for errors.
    pub method: Method,
    pub path: String,
}

impl Response {
    /// Turns an error status into [`GraphError::Service`].
    pub fn ensure_success(self) -> Result<Response, GraphError> {
        if (200..300).contains(&self.status) {
            return Ok(self);
        }
        Err(self.into_service_error())
    }

    /// The [`GraphError::Service`] this (error) response describes.
    pub fn into_service_error(self) -> GraphError {
        GraphError::from_error_answer(
            self.status,
            &self.body,
            (self.method.as_str(), &self.path),
            (self.request_id, None),
            self.client_request_id,
        )
    }

    /// Deserialises the body, or a typed [`GraphError::Malformed`] when the body is not JSON or
    /// is not labelled as JSON (see [`is_json_media_type`]).
    ///
    /// A missing `Content-Type` is refused too: Graph labels every body it sends, so an
    /// unlabelled body came from something between us and Graph (a proxy, a captive portal, a
    /// load balancer's error page) and parsing it as if Graph had said it would defeat the check.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, GraphError> {
        self.ensure_json_content_type()?;
        serde_json::from_slice(&self.body).map_err(|e| GraphError::Malformed {
            path: self.path.clone(),
            detail: format!("{e} in body starting `{}`", excerpt(&self.body)),
            request_id: self.request_id.clone(),
        })
    }

    /// `Ok` when the `Content-Type` header names JSON; a [`GraphError::Malformed`] naming the
    /// content type otherwise.
    pub fn ensure_json_content_type(&self) -> Result<(), GraphError> {
        let detail = match self.headers.get(reqwest::header::CONTENT_TYPE) {
            None => "the answer has no Content-Type (expected application/json)".to_owned(),
            Some(v) => match v.to_str() {
                Ok(ct) if is_json_media_type(ct) => return Ok(()),
                // Header values cannot carry control characters, but `excerpt` also bounds the
                // length and blanks anything odd.
                _ => format!(
                    "content type `{}` is not JSON (expected application/json)",
                    excerpt(v.as_bytes())
                ),
            },
        };
        Err(GraphError::Malformed {
            path: self.path.clone(),
            detail,
            request_id: self.request_id.clone(),
        })
    }
}

/// Whether a `Content-Type` value names JSON: `application/json` or a structured-syntax
/// `application/…+json` type, with or without parameters (Graph sends
/// `application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8`).
/// Media types are case-insensitive (RFC 9110 §8.3.1).
pub(crate) fn is_json_media_type(value: &str) -> bool {
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.split_once('/') {
        Some(("application", sub)) => {
            sub == "json" || sub.strip_suffix("+json").is_some_and(|s| !s.is_empty())
        }
        _ => false,
    }
}

/// How the last attempt of a request that is given up on ended.
#[derive(Debug)]
pub(crate) struct LastAttempt {
    /// E.g. `HTTP 429` or `connection error`.
    pub outcome: String,
    /// `request-id` of its answer, if any.
    pub request_id: Option<String>,
    /// The `client-request-id` it was sent with.
    pub client_request_id: String,
}

/// Why a single attempt got no response.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Nothing reached the server (a connect timeout): always safe to retry.
    NotSent(String),
    /// The server cannot be reached at all: connection refused, unknown host, TLS handshake
    /// refused. Not transient: retrying would only repeat it, so it is reported at once.
    Unreachable(String),
    /// The request may have reached the server (timeout, reset after sending, truncated answer).
    Unknown(String),
    /// No token.
    Auth(AuthError),
    /// Not sent: the client's overall time limit has passed.
    Deadline,
    /// The server answered, but with a body over [`MAX_BODY_BYTES`] (declared by
    /// `Content-Length` or found while reading). Not transient: resending would download it
    /// again, so readers report it as [`GraphError::Malformed`] at once.
    TooLarge {
        /// What was refused.
        detail: String,
        /// `request-id` of the refused answer.
        request_id: Option<String>,
    },
}

impl Failure {
    /// What a request refused by [`Failure::Deadline`] reports as its last answer.
    pub const DEADLINE: &'static str = "not sent: the overall time limit has passed";
}

pub(crate) fn is_transient(status: u16) -> bool {
    matches!(status, 429 | 503 | 504)
}

/// The HTTP layer shared by every operation of one client.
#[derive(Debug)]
pub(crate) struct Transport {
    http: HttpClient,
    /// `{graph_url}/{version}` without a trailing slash.
    root: String,
    root_url: Url,
    tokens: Arc<dyn TokenSource>,
    permits: Semaphore,
    /// The limit of requests in flight (`ClientConfig::concurrency`), the ceiling of `$batch`'s
    /// adaptive window.
    pub concurrency: usize,
    pub policy: RetryPolicy,
    pub jitter: Jitter,
    /// How long to re-read after a lost write response (see `write_loop`).
    pub write_settle: Duration,
    /// Bounds on one paged collection.
    pub paging: PagingLimits,
    /// When the client was built, and its overall time limit.
    started: Instant,
    overall: Duration,
    requests: AtomicU64,
    retries: AtomicU64,
    waited_ms: AtomicU64,
}

impl Transport {
    pub fn new(config: &ClientConfig) -> Result<Transport, ConfigError> {
        config.validate()?;
        let http =
            HttpClient::for_graph(&config.graph_url, &config.timeouts, config.http.as_ref())?;
        let root = format!(
            "{}/{}",
            config.graph_url.as_str().trim_end_matches('/'),
            config.api_version.segment()
        );
        let root_url = Url::parse(&root).map_err(|e| ConfigError::HttpClient(e.to_string()))?;
        Ok(Transport {
            http,
            root,
            root_url,
            tokens: config.token_source.clone(),
            permits: Semaphore::new(config.concurrency),
            concurrency: config.concurrency,
            policy: config.retry,
            jitter: Jitter::new(config.jitter_seed),
            write_settle: config.write_settle,
            paging: config.paging,
            started: Instant::now(),
            overall: config.timeouts.overall,
            requests: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            waited_ms: AtomicU64::new(0),
        })
    }

    /// `{graph_url}/{version}`, e.g. `https://graph.microsoft.com/v1.0`.
    pub fn root(&self) -> &str {
        &self.root
    }

    /// HTTP requests sent so far (a `$batch` counts once).
    pub fn requests_made(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Retries so far (whole requests and `$batch` items).
    pub fn retries_made(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// Time spent waiting between retries so far.
    pub fn waited(&self) -> Duration {
        Duration::from_millis(self.waited_ms.load(Ordering::Relaxed))
    }

    /// Whether the overall time limit has passed.
    fn past_deadline(&self) -> bool {
        self.started.elapsed() >= self.overall
    }

    /// The absolute URL of a path relative to the version root (`/groups?...`).
    pub fn url(&self, path_and_query: &str) -> Result<Url, GraphError> {
        if !path_and_query.starts_with('/') {
            return Err(GraphError::InvalidRequest(format!(
                "Graph path `{path_and_query}` must start with `/`"
            )));
        }
        Url::parse(&format!("{}{}", self.root, path_and_query))
            .map_err(|e| GraphError::InvalidRequest(format!("bad Graph path: {e}")))
    }

    /// Refuses URLs outside the configured root (scheme, host, port and version path).
    pub fn check_same_root(&self, url: &Url) -> Result<(), GraphError> {
        let root = &self.root_url;
        let same_origin = url.scheme() == root.scheme()
            && url.host_str().map(str::to_ascii_lowercase)
                == root.host_str().map(str::to_ascii_lowercase)
            && url.port_or_known_default() == root.port_or_known_default();
        let root_path = root.path().trim_end_matches('/');
        let path = url.path();
        let under_root = path == root_path
            || (path.starts_with(root_path) && path[root_path.len()..].starts_with('/'));
        if same_origin && under_root && url.username().is_empty() && url.password().is_none() {
            Ok(())
        } else {
            Err(GraphError::ForeignUrl {
                url: url.to_string(),
                expected: self.root.clone(),
            })
        }
    }

    /// The part of a same-root URL after the version root (for `$batch` item URLs).
    pub fn relative(&self, url: &Url) -> Result<String, GraphError> {
        self.check_same_root(url)?;
        let root_path = self.root_url.path().trim_end_matches('/');
        let mut rel = url.path()[root_path.len()..].to_owned();
        if let Some(q) = url.query() {
            rel.push('?');
            rel.push_str(q);
        }
        Ok(rel)
    }

    /// One attempt: token, permit, send, read the whole body (bounded). `retries` is how many
    /// times this request was sent before (for the request log).
    pub async fn send_once(
        &self,
        req: &Request,
        retries: u32,
    ) -> (String, Result<Response, Failure>) {
        let client_request_id = uuid::Uuid::new_v4().to_string();
        if self.past_deadline() {
            return (client_request_id, Err(Failure::Deadline));
        }
        let token = match self.tokens.token().await {
            Ok(t) => t,
            Err(e) => return (client_request_id, Err(Failure::Auth(e))),
        };
        let result = self.attempt(req, &client_request_id, &token, retries).await;
        if matches!(&result, Ok(r) if r.status == 401) {
            // A 401 means the request was not processed, so resending (even a write) is safe.
            // The token expired or was revoked early: drop it and try once with a fresh one.
            self.tokens.invalidate(&token).await;
            let client_request_id = uuid::Uuid::new_v4().to_string();
            let token = match self.tokens.token().await {
                Ok(t) => t,
                Err(e) => return (client_request_id, Err(Failure::Auth(e))),
            };
            let result = self
                .attempt(req, &client_request_id, &token, retries + 1)
                .await;
            return (client_request_id, result);
        }
        (client_request_id, result)
    }

    /// One HTTP exchange under a concurrency permit, logged as one line of the request log
    /// ([`crate::REQUEST_LOG_TARGET`]) whatever its outcome.
    async fn attempt(
        &self,
        req: &Request,
        client_request_id: &str,
        token: &crate::auth::AccessToken,
        retries: u32,
    ) -> Result<Response, Failure> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| Failure::NotSent("the client's request limiter was closed".into()))?;
        // Timed from the permit on, so a request queued behind others is not counted as slow.
        let started = Instant::now();
        let result = self.exchange(req, client_request_id, token).await;
        crate::request_log::log_request(req, &result, started.elapsed(), retries);
        result
    }

    async fn exchange(
        &self,
        req: &Request,
        client_request_id: &str,
        token: &crate::auth::AccessToken,
    ) -> Result<Response, Failure> {
        let mut builder = match req.method {
            Method::Get => self.http.reqwest().get(req.url.clone()),
            Method::Post => self.http.reqwest().post(req.url.clone()),
            Method::Delete => self.http.reqwest().delete(req.url.clone()),
            Method::Patch => self.http.reqwest().patch(req.url.clone()),
        }
        .bearer_auth(token.secret())
        .header("client-request-id", client_request_id)
        .header("return-client-request-id", "true");
        for (name, value) in &req.headers {
            builder = builder.header(*name, value);
        }
        if let Some(body) = &req.body {
            builder = builder.json(body);
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let mut resp = builder.send().await.map_err(|e| classify(&e))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let request_id = headers
            .get("request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        // Refuse before reading a byte when the server says up front that it is too much.
        if let Some(declared) = resp.content_length()
            && declared > MAX_BODY_BYTES as u64
        {
            return Err(Failure::TooLarge {
                detail: format!(
                    "response body of {declared} bytes (Content-Length) is larger than {MAX_BODY_BYTES} bytes"
                ),
                request_id,
            });
        }
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_BODY_BYTES {
                        return Err(Failure::TooLarge {
                            detail: format!("response body larger than {MAX_BODY_BYTES} bytes"),
                            request_id,
                        });
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    return Err(Failure::Unknown(format!(
                        "response truncated after {} bytes: {}",
                        body.len(),
                        describe(&e)
                    )));
                }
            }
        }
        Ok(Response {
            status,
            headers,
            body: body.into(),
            request_id,
            client_request_id: client_request_id.to_owned(),
            method: req.method,
            path: req.url.path().to_owned(),
        })
    }

    /// The wait before retry number `retry` (0-based) of a request first sent at `first_sent`:
    /// Graph's `Retry-After` when given, backoff otherwise. `Err` when waiting would pass the
    /// request's retry limit or the client's overall limit.
    pub fn plan_retry(
        &self,
        first_sent: Instant,
        retry: u32,
        retry_after: Option<Duration>,
    ) -> Result<Duration, Exhaustion> {
        let delay = next_delay(&self.policy, retry, retry_after, &self.jitter);
        let overall_left = self.overall.saturating_sub(self.started.elapsed());
        if delay >= overall_left {
            return Err(Exhaustion::Overall {
                limit: self.overall,
            });
        }
        if !self.policy.allows(first_sent.elapsed(), delay) {
            return Err(Exhaustion::RequestTime {
                limit: self.policy.max_elapsed,
            });
        }
        self.retries.fetch_add(1, Ordering::Relaxed);
        self.waited_ms.fetch_add(
            u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        Ok(delay)
    }

    /// Sends a request that is safe to repeat (GETs, read-only `$batch`), retrying 429/503/504 and
    /// transport failures. Returns the final response whatever its status.
    pub async fn send_idempotent(&self, req: &Request) -> Result<Response, GraphError> {
        let first_sent = Instant::now();
        let mut retry = 0u32;
        loop {
            let (crid, outcome) = self.send_once(req, retry).await;
            let (last, request_id, retry_after) = match outcome {
                Ok(resp) if is_transient(resp.status) => {
                    let ra = retry_after_from(
                        |n| resp.headers.get(n).and_then(|v| v.to_str().ok()),
                        jiff::Timestamp::now(),
                    );
                    (format!("HTTP {}", resp.status), resp.request_id, ra)
                }
                Ok(resp) => return Ok(resp),
                Err(Failure::Auth(e)) => return Err(GraphError::Auth(e)),
                Err(Failure::TooLarge { detail, request_id }) => {
                    return Err(GraphError::Malformed {
                        path: req.url.path().to_owned(),
                        detail,
                        request_id,
                    });
                }
                Err(Failure::NotSent(d) | Failure::Unknown(d)) => (d, None, None),
                Err(Failure::Unreachable(detail)) => return Err(self.unreachable(detail)),
                Err(Failure::Deadline) => return Err(self.gave_up(req, first_sent, retry, crid)),
            };
            let last = LastAttempt {
                outcome: last,
                request_id,
                client_request_id: crid,
            };
            self.wait_to_retry(req, first_sent, (retry, retry + 1), retry_after, last)
                .await?;
            retry += 1;
        }
    }

    /// Waits before retry number `retry` of `req` (the request has had `attempts` attempts, the
    /// last ending as `last`), or returns [`GraphError::RetriesExhausted`] when the wait would
    /// pass a time limit.
    pub(crate) async fn wait_to_retry(
        &self,
        req: &Request,
        first_sent: Instant,
        (retry, attempts): (u32, u32),
        retry_after: Option<Duration>,
        last: LastAttempt,
    ) -> Result<(), GraphError> {
        match self.plan_retry(first_sent, retry, retry_after) {
            Ok(delay) => {
                tracing::debug!(path = req.url.path(), last = %last.outcome, ?delay, "retrying");
                tokio::time::sleep(delay).await;
                Ok(())
            }
            Err(reason) => Err(self.exhausted(req, first_sent, attempts, reason, last)),
        }
    }

    /// The [`GraphError::RetriesExhausted`] of `req`, first sent at `first_sent`, after
    /// `attempts` attempts, the last of which ended as `last`.
    pub(crate) fn exhausted(
        &self,
        req: &Request,
        first_sent: Instant,
        attempts: u32,
        reason: Exhaustion,
        last: LastAttempt,
    ) -> GraphError {
        GraphError::RetriesExhausted {
            reason,
            elapsed: first_sent.elapsed(),
            method: req.method.as_str().to_owned(),
            path: req.url.path().to_owned(),
            attempts,
            last: last.outcome,
            request_id: last.request_id,
            client_request_id: last.client_request_id,
        }
    }

    /// The error of a request whose target cannot be reached at all (see [`Failure::Unreachable`]).
    pub(crate) fn unreachable(&self, detail: String) -> GraphError {
        GraphError::Unreachable {
            url: self.root.clone(),
            loopback: crate::auth::is_loopback(&self.root_url),
            detail,
        }
    }

    /// The error of a request refused because the overall time limit has passed.
    pub(crate) fn gave_up(
        &self,
        req: &Request,
        first_sent: Instant,
        attempts: u32,
        client_request_id: String,
    ) -> GraphError {
        let reason = Exhaustion::Overall {
            limit: self.overall,
        };
        let last = LastAttempt {
            outcome: Failure::DEADLINE.to_owned(),
            request_id: None,
            client_request_id,
        };
        self.exhausted(req, first_sent, attempts, reason, last)
    }

    /// GET a JSON document (retried), failing on error statuses.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        url: Url,
        headers: Vec<(&'static str, String)>,
    ) -> Result<T, GraphError> {
        Ok(self.get_json_sized(url, headers).await?.0)
    }

    /// [`Transport::get_json`], with the size of the body read (for paging bounds).
    pub async fn get_json_sized<T: DeserializeOwned>(
        &self,
        url: Url,
        headers: Vec<(&'static str, String)>,
    ) -> Result<(T, usize), GraphError> {
        self.check_same_root(&url)?;
        let req = Request {
            method: Method::Get,
            url,
            headers,
            body: None,
        };
        let resp = self.send_idempotent(&req).await?.ensure_success()?;
        Ok((resp.json()?, resp.body.len()))
    }
}

fn classify(e: &reqwest::Error) -> Failure {
    if crate::http::is_unreachable(e) {
        Failure::Unreachable(crate::http::connect_failure(e))
    } else if e.is_connect() || e.is_builder() {
        Failure::NotSent(describe(e))
    } else {
        Failure::Unknown(describe(e))
    }
}

/// A reqwest error without its URL (URLs are fine, but keep messages short and uniform).
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "body error"
    } else {
        "connection error"
    };
    let mut detail = kind.to_owned();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        source = s.source();
    }
    detail
}
