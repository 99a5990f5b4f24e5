//! Test helpers: client construction, and a scripted HTTP/1.1 server on 127.0.0.1 for the wire
//! situations the simulator cannot produce on demand (a given reply to a given request, a
//! nextLink to another host, a connection dropped at an exact point, truncated bodies).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use devlic_graph::auth::StaticToken;
use devlic_graph::{ClientConfig, GraphClient, RetryPolicy};
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

/// A bearer token the tests use (never a real one).
pub const TOKEN: &str = "test-bearer-token-not-secret";

/// A fast retry policy so tests that exercise backoff stay quick.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        base: Duration::from_millis(10),
        cap: Duration::from_millis(50),
        max_elapsed: Duration::from_secs(20),
    }
}

/// A client for `base` (a loopback root such as `http://127.0.0.1:1234`).
pub fn client_for(base: &str, token: &str, retry: RetryPolicy) -> GraphClient {
    let mut config = ClientConfig::new(
        Url::parse(base).expect("test base URL"),
        Arc::new(StaticToken::new(SecretString::from(token.to_owned()))),
    );
    config.retry = retry;
    config.jitter_seed = Some(7);
    // Lost write answers are settled by re-reading this long (the default 5 s is for Graph).
    config.write_settle = Duration::from_millis(200);
    config.timeouts.request = Duration::from_secs(5);
    GraphClient::new(config).expect("valid test config")
}

/// One request the scripted server received.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Method.
    pub method: String,
    /// Path and query as sent.
    pub target: String,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// Body text.
    pub body: String,
}

impl Seen {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the scripted server does with one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Answer with this status, headers and body.
    Send(u16, Vec<(&'static str, String)>, String),
    /// Close the connection without answering (the request was fully received).
    Drop,
    /// Announce `declared` body bytes, send `body`, then close.
    Truncated(usize, String),
    /// A 200 with chunked framing (no `Content-Length`) sending up to `bytes` bytes of JSON
    /// whitespace, then close: a body whose size nothing announces.
    Flood(usize),
}

impl Reply {
    /// A 200 with a JSON body.
    pub fn json(body: serde_json::Value) -> Reply {
        Reply::Send(200, vec![], body.to_string())
    }

    /// A 200 with `body` labelled `content_type` (`None`: no `Content-Type` header at all).
    pub fn typed(content_type: Option<&str>, body: impl Into<String>) -> Reply {
        let header = match content_type {
            Some(ct) => ("content-type", ct.to_owned()),
            None => (NO_CONTENT_TYPE, String::new()),
        };
        Reply::Send(200, vec![header], body.into())
    }
}

/// An extra header name in [`Reply::Send`] that means "send no `Content-Type`".
pub const NO_CONTENT_TYPE: &str = "x-test-no-content-type";

type Handler = Arc<dyn Fn(&Seen, usize) -> Reply + Send + Sync>;

/// A scripted server: `handler(request, index)` decides each reply.
pub struct Scripted {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    log: Arc<Mutex<Vec<Seen>>>,
}

impl Scripted {
    /// Starts the server on a random loopback port.
    pub async fn start(
        handler: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static,
    ) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let log: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let handler: Handler = Arc::new(handler);
        let log2 = log.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (handler, log) = (handler.clone(), log2.clone());
                tokio::spawn(serve(stream, handler, log));
            }
        });
        Scripted { base, log }
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.log.lock().expect("log").clone()
    }
}

async fn serve(mut stream: TcpStream, handler: Handler, log: Arc<Mutex<Vec<Seen>>>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let Some(end) = find(&buf, b"\r\n\r\n") else {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    continue;
                }
            }
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_string();
        let mut lines = head.split("\r\n");
        let mut first = lines.next().unwrap_or_default().split(' ');
        let method = first.next().unwrap_or_default().to_owned();
        let target = first.next().unwrap_or_default().to_owned();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let len: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        while buf.len() < end + 4 + len {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).to_string();
        buf.drain(..end + 4 + len);
        let seen = Seen {
            method,
            target,
            headers,
            body,
        };
        let index = {
            let mut log = log.lock().expect("log");
            log.push(seen.clone());
            log.len() - 1
        };
        match handler(&seen, index) {
            Reply::Drop => return,
            Reply::Truncated(declared, body) => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {declared}\r\nrequest-id: rid-{index}\r\n\r\n"
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(body.as_bytes()).await;
                return;
            }
            Reply::Flood(bytes) => {
                flood(&mut stream, index, bytes).await;
                return;
            }
            Reply::Send(status, extra, body) => {
                let mut head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nrequest-id: rid-{index}\r\n",
                    body.len()
                );
                // JSON unless the reply names its own content type (or asks for none).
                if !extra
                    .iter()
                    .any(|(k, _)| k.eq_ignore_ascii_case("content-type") || *k == NO_CONTENT_TYPE)
                {
                    head.push_str("content-type: application/json\r\n");
                }
                for (k, v) in extra.into_iter().filter(|(k, _)| *k != NO_CONTENT_TYPE) {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                if stream.write_all(head.as_bytes()).await.is_err()
                    || stream.write_all(body.as_bytes()).await.is_err()
                {
                    return;
                }
            }
        }
    }
}

/// Sends a chunked 200 of up to `bytes` spaces, stopping early when the client hangs up.
async fn flood(stream: &mut TcpStream, index: usize, bytes: usize) {
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nrequest-id: rid-{index}\r\n\r\n"
    );
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let block = vec![b' '; 1024 * 1024];
    let mut sent = 0;
    while sent < bytes {
        let size = format!("{:x}\r\n", block.len());
        if stream.write_all(size.as_bytes()).await.is_err()
            || stream.write_all(&block).await.is_err()
            || stream.write_all(b"\r\n").await.is_err()
        {
            return;
        }
        sent += block.len();
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A Graph error body.
pub fn graph_error(code: &str, message: &str, request_id: &str) -> String {
    serde_json::json!({"error": {"code": code, "message": message,
        "innerError": {"date": "2026-11-24T12:00:00", "request-id": request_id}}})
    .to_string()
}
