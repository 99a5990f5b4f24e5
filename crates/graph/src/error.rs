//! Typed errors of the Graph client. Every variant that follows a response keeps its
//! `request-id`; every variant keeps the `client-request-id` we sent, so even a request that never
//! got an answer can be traced.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use crate::auth::AuthError;
use crate::config::ConfigError;

/// Why retrying stopped: the next wait would have passed a time limit (see [`crate::RetryPolicy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exhaustion {
    /// The request had been retried for as long as [`crate::RetryPolicy::max_elapsed`] allows.
    RequestTime {
        /// The limit.
        limit: Duration,
    },
    /// The client's overall time limit ([`crate::Timeouts::overall`]) was reached.
    Overall {
        /// The limit.
        limit: Duration,
    },
}

impl fmt::Display for Exhaustion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exhaustion::RequestTime { limit } => write!(
                f,
                "waiting again as Graph asks would pass the per-request retry limit of {}s",
                limit.as_secs()
            ),
            Exhaustion::Overall { limit } => write!(
                f,
                "the overall time limit of {}s is reached (raise it if the tenant is this slow)",
                limit.as_secs()
            ),
        }
    }
}

/// A failed Graph operation.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// The configuration was refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// No token could be obtained.
    #[error("could not get a Graph access token: {0}")]
    Auth(#[from] AuthError),
    /// Graph answered with an error status and (usually) an error body. Branch on `code`.
    #[error(
        "Graph answered {status} {code} to {method} {path}: {message} (request-id {}, client-request-id {client_request_id})",
        request_id.as_deref().unwrap_or("none")
    )]
    Service {
        /// HTTP status.
        status: u16,
        /// HTTP method of the request (`GET` for a `$batch` item).
        method: String,
        /// Request path, without host or query (a query could hold a filter value; never a
        /// secret, but paths are all diagnosis needs).
        path: String,
        /// `error.code`, e.g. `Request_ResourceNotFound`; `Unknown` when the body had none.
        code: String,
        /// `error.message`.
        message: String,
        /// `request-id` header or `error.innerError.request-id` (for a `$batch` item: the item's,
        /// else the `$batch` request's).
        request_id: Option<String>,
        /// The `client-request-id` we sent (for a `$batch` item: the `$batch` request's).
        client_request_id: String,
    },
    /// Graph's host could not be reached at all (connection refused, unknown host, TLS
    /// handshake failed). Reported at the first attempt, not retried: waiting does not start a
    /// server or fix a URL.
    #[error("could not connect to Graph at {url}: {detail}")]
    Unreachable {
        /// The Graph root that was tried, e.g. `http://127.0.0.1:5555/v1.0`.
        url: String,
        /// Whether that host is loopback (a local simulator, most likely).
        loopback: bool,
        /// What failed, e.g. `connection refused`.
        detail: String,
    },
    /// Throttling or transient failures outlasted the retry time limits.
    #[error(
        "gave up on {method} {path} after {attempts} attempt(s) over {}s: {reason}; last answer {last} (request-id {}, client-request-id {client_request_id})",
        elapsed.as_secs(),
        request_id.as_deref().unwrap_or("none")
    )]
    RetriesExhausted {
        /// Why retrying stopped.
        reason: Exhaustion,
        /// Time from the first attempt to giving up.
        elapsed: Duration,
        /// HTTP method.
        method: String,
        /// Request path (no host, no secrets).
        path: String,
        /// Attempts made.
        attempts: u32,
        /// The last failure, e.g. `429 Too Many Requests` or `connection error`.
        last: String,
        /// `request-id` of the last response, if any.
        request_id: Option<String>,
        /// The `client-request-id` of the last attempt.
        client_request_id: String,
    },
    /// A write was sent but its outcome is unknown (connection dropped after sending, timeout,
    /// 504). It was NOT retried: re-read the group before deciding anything.
    #[error(
        "outcome of {method} {path} is unknown ({detail}); re-read before retrying (request-id {}, client-request-id {client_request_id})",
        request_id.as_deref().unwrap_or("none")
    )]
    OutcomeUnknown {
        /// HTTP method.
        method: String,
        /// Request path.
        path: String,
        /// What happened.
        detail: String,
        /// `request-id`, if a response (e.g. a 504) carried one.
        request_id: Option<String>,
        /// The `client-request-id` we sent.
        client_request_id: String,
    },
    /// A response body was not what Graph documents (malformed, truncated, wrong types, too big).
    #[error("unexpected response to {path}: {detail} (request-id {})", request_id.as_deref().unwrap_or("none"))]
    Malformed {
        /// Request path.
        path: String,
        /// What was wrong.
        detail: String,
        /// `request-id`, if any.
        request_id: Option<String>,
    },
    /// A `@odata.nextLink` or `$batch` URL pointed outside the configured Graph root. Following
    /// it would send our bearer token to another host.
    #[error("refusing to follow `{url}`: it leaves the configured Graph root {expected}")]
    ForeignUrl {
        /// The refused URL.
        url: String,
        /// The configured Graph root (scheme, host, port, version).
        expected: String,
    },
    /// A request could not be built (e.g. more than 15 values in one `in (...)` filter).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
}

impl GraphError {
    /// Graph's `error.code` for service errors.
    pub fn code(&self) -> Option<&str> {
        match self {
            GraphError::Service { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The Graph `request-id` to quote to Microsoft support, when one is known.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            GraphError::Service { request_id, .. }
            | GraphError::RetriesExhausted { request_id, .. }
            | GraphError::OutcomeUnknown { request_id, .. }
            | GraphError::Malformed { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// The `client-request-id` devlic sent, for the variants that followed a request.
    pub fn client_request_id(&self) -> Option<&str> {
        match self {
            GraphError::Service {
                client_request_id, ..
            }
            | GraphError::RetriesExhausted {
                client_request_id, ..
            }
            | GraphError::OutcomeUnknown {
                client_request_id, ..
            } => Some(client_request_id),
            _ => None,
        }
    }

    /// True for a 404 (`Request_ResourceNotFound` and friends).
    pub fn is_not_found(&self) -> bool {
        matches!(self, GraphError::Service { status: 404, .. })
    }
}

impl GraphError {
    /// The [`GraphError::Service`] an error answer describes: `code` and `message` from Graph's
    /// error body; the request-id is `first_rid`, else the body's, else `last_rid`.
    pub(crate) fn from_error_answer(
        status: u16,
        body: &[u8],
        (method, path): (&str, &str),
        (first_rid, last_rid): (Option<String>, Option<String>),
        client_request_id: String,
    ) -> GraphError {
        let (code, message, body_rid) = parse_error_body(body);
        GraphError::Service {
            status,
            code,
            message,
            method: method.to_owned(),
            path: path.to_owned(),
            request_id: first_rid.or(body_rid).or(last_rid),
            client_request_id,
        }
    }
}

/// Graph's documented error body `{"error":{"code","message","innerError":{...}}}`.
#[derive(Debug, Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default, rename = "innerError", alias = "innererror")]
    inner_error: Option<InnerError>,
}

#[derive(Debug, Deserialize)]
struct InnerError {
    #[serde(default, rename = "request-id")]
    request_id: Option<String>,
}

/// The parts of an error body devlic uses: code, message, request-id. Never fails: a body that
/// is not Graph's error shape yields `code = "Unknown"` and a short excerpt as message.
pub fn parse_error_body(body: &[u8]) -> (String, String, Option<String>) {
    match serde_json::from_slice::<ErrorEnvelope>(body) {
        Ok(env) => (
            env.error.code.unwrap_or_else(|| "Unknown".to_owned()),
            env.error.message.unwrap_or_default(),
            env.error.inner_error.and_then(|i| i.request_id),
        ),
        Err(_) => ("Unknown".to_owned(), excerpt(body), None),
    }
}

/// A short, printable excerpt of a body for error messages.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if body.len() > 200 {
        format!("{clean}…")
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_documented_error_body() {
        let body = br#"{"error":{"code":"Request_ResourceNotFound","message":"Resource 'x' does not exist.","innerError":{"date":"2026-11-24T12:00:00","request-id":"abc-123","client-request-id":"def"}}}"#;
        let (code, message, rid) = parse_error_body(body);
        assert_eq!(code, "Request_ResourceNotFound");
        assert_eq!(message, "Resource 'x' does not exist.");
        assert_eq!(rid.as_deref(), Some("abc-123"));
    }

    #[test]
    fn tolerates_odd_bodies() {
        let (code, message, rid) = parse_error_body(b"<html>Bad gateway</html>");
        assert_eq!(code, "Unknown");
        assert_eq!(message, "<html>Bad gateway</html>");
        assert!(rid.is_none());
        let (code, _, _) = parse_error_body(br#"{"error":{"code":5}}"#);
        assert_eq!(code, "Unknown");
        let (code, _, _) = parse_error_body(br#"{"error":{}}"#);
        assert_eq!(code, "Unknown");
        assert!(excerpt(&[b'a'; 500]).ends_with('…'));
    }
}
