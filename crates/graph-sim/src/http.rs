//! The simulator's internal request/response types. Graph routes work on these rather than on
//! axum types so the same code answers top-level requests and `$batch` items.

use axum::http::{HeaderMap, Method, StatusCode};
use serde_json::{Value, json};

/// A request as the Graph dispatcher sees it.
#[derive(Clone, Debug)]
pub(crate) struct SimRequest {
    pub(crate) method: Method,
    /// Percent-decoded path, e.g. `/v1.0/groups/abc`.
    pub(crate) path: String,
    /// Decoded query pairs, in order.
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl SimRequest {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `ConsistencyLevel: eventual` present?
    pub(crate) fn eventual(&self) -> bool {
        self.header("consistencylevel")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("eventual"))
    }
}

/// A response body.
#[derive(Clone, Debug)]
pub(crate) enum Body {
    Json(Value),
    /// JSON already serialised (a listing page written straight to bytes).
    JsonBytes(Vec<u8>),
    Text(String),
    /// No body at all (a 204): sent without a `Content-Type`, as Graph does.
    Empty,
}

/// A response as the Graph dispatcher produces it.
#[derive(Clone, Debug)]
pub(crate) struct SimResponse {
    pub(crate) status: StatusCode,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Body,
}

impl SimResponse {
    pub(crate) fn json(status: StatusCode, body: Value) -> SimResponse {
        SimResponse {
            status,
            headers: Vec::new(),
            body: Body::Json(body),
        }
    }

    /// A JSON answer already serialised.
    pub(crate) fn json_bytes(status: StatusCode, body: Vec<u8>) -> SimResponse {
        SimResponse {
            status,
            headers: Vec::new(),
            body: Body::JsonBytes(body),
        }
    }

    pub(crate) fn text(status: StatusCode, body: String) -> SimResponse {
        SimResponse {
            status,
            headers: Vec::new(),
            body: Body::Text(body),
        }
    }

    pub(crate) fn with_header(mut self, name: &str, value: String) -> SimResponse {
        self.headers.push((name.to_owned(), value));
        self
    }

    /// The `Content-Type` Graph labels this body with (clients check it: JSON parsers refuse a
    /// body not labelled JSON), `None` for no body.
    pub(crate) fn content_type(&self) -> Option<&'static str> {
        match self.body {
            Body::Json(_) | Body::JsonBytes(_) => Some(
                "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8",
            ),
            Body::Text(_) => Some("text/plain"),
            Body::Empty => None,
        }
    }

    pub(crate) fn body_bytes(&self) -> Vec<u8> {
        match &self.body {
            Body::Json(v) => serde_json::to_vec(v).unwrap_or_default(),
            Body::JsonBytes(b) => b.clone(),
            Body::Text(t) => t.clone().into_bytes(),
            Body::Empty => Vec::new(),
        }
    }
}

/// Per-request identity used in error bodies and headers.
#[derive(Clone, Debug)]
pub(crate) struct Ctx {
    pub(crate) request_id: String,
    pub(crate) client_request_id: String,
    /// The simulator's base URL (`http://127.0.0.1:PORT`), for `@odata` links.
    pub(crate) base: String,
}

impl Ctx {
    pub(crate) fn new(base: &str, client_request_id: Option<&str>) -> Ctx {
        let request_id = uuid::Uuid::new_v4().to_string();
        Ctx {
            client_request_id: client_request_id
                .map(str::to_owned)
                .unwrap_or_else(|| request_id.clone()),
            request_id,
            base: base.to_owned(),
        }
    }

    /// Graph's error body: `{"error":{"code","message","innerError":{...}}}`.
    pub(crate) fn error(&self, status: StatusCode, code: &str, message: &str) -> SimResponse {
        SimResponse::json(
            status,
            json!({
                "error": {
                    "code": code,
                    "message": message,
                    "innerError": {
                        "date": now_graph_date(),
                        "request-id": self.request_id,
                        "client-request-id": self.client_request_id,
                    }
                }
            }),
        )
    }

    pub(crate) fn bad_request(&self, message: &str) -> SimResponse {
        self.error(StatusCode::BAD_REQUEST, "Request_BadRequest", message)
    }

    pub(crate) fn unsupported(&self, message: &str) -> SimResponse {
        self.error(StatusCode::BAD_REQUEST, "Request_UnsupportedQuery", message)
    }

    pub(crate) fn not_found(&self, id: &str) -> SimResponse {
        self.error(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            &format!(
                "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
            ),
        )
    }
}

/// `2024-05-01T12:00:00`, the format of `innerError.date`.
pub(crate) fn now_graph_date() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

/// An RFC 7231 HTTP date, e.g. for `Retry-After`.
pub(crate) fn http_date(t: jiff::Timestamp) -> String {
    t.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string()
}
