//! The Graph wire harness shared by the `graph_wire` cargo-fuzz target (`fuzz/`, which includes
//! this file with `#[path]`) and the stable tests that replay its findings: one byte string in,
//! one client call against a loopback server whose answer to one endpoint is that string.
//!
//! Input layout: byte 0 picks the endpoint whose answer is replaced ([`TARGETS`]; every other
//! endpoint answers correctly), byte 1 the status (low nibble), content type (bits 4-5) and
//! whether the body is cut short (bit 6); the rest is the body. `@@` in the body becomes the
//! server's own root (`http://127.0.0.1:PORT`), so same-host nextLinks can be written; any other
//! host, scheme or port must be refused by the client. Selectors past [`TARGETS`] drive public
//! pure functions instead (`Retry-After` parsing, URL checks, `$batch` item decoding).
//!
//! Invariants (asserted here, so a violation is a crash for the fuzzer and a failure for tests):
//! no panic, an answer within 20 s, the server never sees a request outside `/v1.0/`, and
//! `batch_get` returns one result per item. Only devlic-graph's public API is used.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use devlic_graph::auth::{Cloud, Endpoints, StaticToken};
use devlic_graph::{
    AddLicense, BatchGet, ClientConfig, GraphClient, GraphError, ItemResponse, LiveQuery,
    RetryPolicy, check_transport_security, parse_retry_after,
};
use devlic_model::{GroupId, SkuId};
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const G1: &str = "1a2b3c4d-0001-4a5b-8c6d-000000000001";
const G2: &str = "1a2b3c4d-0002-4a5b-8c6d-000000000002";
const DEVICE1: &str = "ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7";

/// Which endpoint's answer the input replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `GET /organization` (read_live).
    Organization,
    /// `GET /subscribedSkus` (read_live).
    SubscribedSkus,
    /// `GET /groups?$filter=assignedLicenses/...` (read_live's holder listing).
    Holders,
    /// `$batch` of `id in (...)` / `displayName in (...)` lookups (read_live).
    ResolveBatch,
    /// `$batch` of first member pages (read_member_counts).
    CountsBatch,
    /// `$batch` of `membersWithLicenseErrors` (read_license_errors).
    ErrorsBatch,
    /// `$batch` of group license states (read_groups_license_state).
    StatesBatch,
    /// `GET /groups/{id}` (read_group_license_state).
    GroupState,
    /// `POST /groups/{id}/assignLicense`.
    AssignLicense,
    /// `$batch` of 25 arbitrary GETs (batch_get).
    RawBatch,
    /// `GET /groups?$select=id` (get_collection).
    Collection,
}

/// Selector byte `i` replaces the answer of `TARGETS[i]`.
pub const TARGETS: [Target; 11] = [
    Target::Organization,
    Target::SubscribedSkus,
    Target::Holders,
    Target::ResolveBatch,
    Target::CountsBatch,
    Target::ErrorsBatch,
    Target::StatesBatch,
    Target::GroupState,
    Target::AssignLicense,
    Target::RawBatch,
    Target::Collection,
];

/// Statuses selectable by the low nibble of byte 1.
pub const STATUSES: [u16; 12] = [200, 200, 200, 201, 204, 400, 404, 429, 500, 503, 504, 302];

/// Content types selectable by bits 4-5 of byte 1.
pub const CONTENT_TYPES: [Option<&str>; 4] = [
    Some("application/json"),
    Some("text/plain"),
    Some("text/html; charset=utf-16"),
    None,
];

/// The answer the server gives to the replaced endpoint.
#[derive(Debug, Clone)]
struct Fuzzed {
    target: Target,
    status: u16,
    content_type: Option<&'static str>,
    truncate: bool,
    body: Vec<u8>,
}

/// A loopback server plus a client configured for it.
pub struct WireHarness {
    client: GraphClient,
    current: Arc<Mutex<Option<Fuzzed>>>,
    strays: Arc<Mutex<Vec<String>>>,
    base: String,
}

impl WireHarness {
    /// Binds 127.0.0.1 on a random port and serves on the current tokio runtime.
    pub async fn start() -> WireHarness {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let current: Arc<Mutex<Option<Fuzzed>>> = Arc::default();
        let strays: Arc<Mutex<Vec<String>>> = Arc::default();
        let (c2, s2, b2) = (current.clone(), strays.clone(), base.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, c2.clone(), s2.clone(), b2.clone()));
            }
        });
        let mut config = ClientConfig::new(
            url::Url::parse(&base).expect("base"),
            Arc::new(StaticToken::new(SecretString::from(
                "wire-token".to_owned(),
            ))),
        );
        // One attempt: a throttling answer ends the call at once instead of sleeping.
        config.retry = RetryPolicy::none();
        config.timeouts.request = Duration::from_secs(5);
        config.jitter_seed = Some(1);
        let client = GraphClient::new(config).expect("client");
        WireHarness {
            client,
            current,
            strays,
            base,
        }
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.base
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("base has a port")
    }

    /// Runs one input; returns the client's outcome (`None` for inputs too short to select
    /// anything). Panics when an invariant breaks.
    pub async fn run(&self, data: &[u8]) -> Option<Result<String, GraphError>> {
        let (&selector, rest) = data.split_first()?;
        let Some(&target) = TARGETS.get(usize::from(selector)) else {
            pure(selector, rest);
            return Some(Ok(String::new()));
        };
        let (&shape, body) = rest.split_first()?;
        *self.current.lock().expect("current") = Some(Fuzzed {
            target,
            status: STATUSES[usize::from(shape & 0x0F) % STATUSES.len()],
            content_type: CONTENT_TYPES[usize::from((shape >> 4) & 0x03)],
            truncate: shape & 0x40 != 0,
            body: body.to_vec(),
        });
        let outcome = tokio::time::timeout(Duration::from_secs(20), drive(&self.client, target))
            .await
            .expect("the client hung for 20 s on one answer");
        if let Err(e) = &outcome {
            // Rendering must not panic either.
            let _ = (e.to_string(), e.request_id(), e.code());
        }
        let strays = std::mem::take(&mut *self.strays.lock().expect("strays"));
        assert!(
            strays.is_empty(),
            "requests left the /v1.0 root: {strays:?} (base {})",
            self.base
        );
        Some(outcome)
    }
}

/// The replaced endpoint a request hits, if any.
fn target_of(method: &str, path: &str) -> Option<Target> {
    Some(match (method, path) {
        ("GET", p) if p.starts_with("/v1.0/organization") => Target::Organization,
        ("GET", p) if p.starts_with("/v1.0/subscribedSkus") => Target::SubscribedSkus,
        ("GET", p) if p.starts_with("/v1.0/groups?") && p.contains("assignedLicenses") => {
            Target::Holders
        }
        ("GET", p) if p.starts_with("/v1.0/groups?") => Target::Collection,
        // `/groups/{id}?$select=...` only: `/groups/{id}/membersWithLicenseErrors` pages (from
        // nextLinks) get the default empty page.
        ("GET", p)
            if p.strip_prefix("/v1.0/groups/")
                .is_some_and(|rest| !rest.split('?').next().unwrap_or_default().contains('/')) =>
        {
            Target::GroupState
        }
        ("POST", p) if p.ends_with("/assignLicense") => Target::AssignLicense,
        _ => return None,
    })
}

fn is_batch_target(t: Target) -> bool {
    matches!(
        t,
        Target::ResolveBatch
            | Target::CountsBatch
            | Target::ErrorsBatch
            | Target::StatesBatch
            | Target::RawBatch
    )
}

/// A correct answer for requests that are not replaced.
fn default_body(method: &str, path: &str, body: &[u8]) -> String {
    if method == "POST" && path == "/v1.0/$batch" {
        let req: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let responses: Vec<serde_json::Value> = req["requests"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| serde_json::json!({"id": r["id"], "status": 200, "body": {"value": []}}))
            .collect();
        return serde_json::json!({ "responses": responses }).to_string();
    }
    match target_of(method, path) {
        Some(Target::Organization) => {
            serde_json::json!({"value": [{"id": "t", "verifiedDomains": []}]}).to_string()
        }
        Some(Target::SubscribedSkus) => serde_json::json!({"value": [{
            "skuId": DEVICE1, "skuPartNumber": "OFFICE_PROPLUS_DEVICE1",
            "capabilityStatus": "Enabled", "consumedUnits": 1,
            "prepaidUnits": {"enabled": 2}}]})
        .to_string(),
        Some(Target::GroupState) => {
            serde_json::json!({"id": G1, "assignedLicenses": []}).to_string()
        }
        Some(Target::AssignLicense) => "{}".to_owned(),
        _ => serde_json::json!({"value": []}).to_string(),
    }
}

async fn serve(
    mut stream: TcpStream,
    current: Arc<Mutex<Option<Fuzzed>>>,
    strays: Arc<Mutex<Vec<String>>>,
    base: String,
) {
    // Head and body go out in two writes: without this, Nagle's algorithm holds the second one
    // for the client's delayed ACK (40 ms a request).
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    loop {
        let end = loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break end;
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        let mut lines = head.split("\r\n");
        let mut first = lines.next().unwrap_or_default().split(' ');
        let method = first.next().unwrap_or_default().to_owned();
        let path = first.next().unwrap_or_default().to_owned();
        let len: usize = lines
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < end + 4 + len {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let req_body = buf[end + 4..end + 4 + len].to_vec();
        buf.drain(..end + 4 + len);
        if !path.starts_with("/v1.0/") {
            strays.lock().expect("strays").push(path.clone());
        }
        let fuzzed = current.lock().expect("current").clone();
        let mine = fuzzed.filter(|f| {
            if method == "POST" && path == "/v1.0/$batch" {
                is_batch_target(f.target)
            } else {
                target_of(&method, &path) == Some(f.target)
            }
        });
        let (status, content_type, truncate, body) = match mine {
            Some(f) => (
                f.status,
                f.content_type,
                f.truncate,
                replace_root(&f.body, base.as_bytes()),
            ),
            None => (
                200,
                Some("application/json"),
                false,
                default_body(&method, &path, &req_body).into_bytes(),
            ),
        };
        let declared = if truncate {
            body.len() + 17
        } else {
            body.len()
        };
        let mut head = format!(
            "HTTP/1.1 {status} X\r\ncontent-length: {declared}\r\nrequest-id: wire-rid\r\n"
        );
        if let Some(ct) = content_type {
            head.push_str(&format!("content-type: {ct}\r\n"));
        }
        if status == 429 || status == 503 {
            head.push_str("retry-after: 1\r\n");
        }
        head.push_str("\r\n");
        if stream.write_all(head.as_bytes()).await.is_err()
            || stream.write_all(&body).await.is_err()
            || truncate
        {
            return;
        }
    }
}

/// Replaces every `@@` with the server root.
fn replace_root(body: &[u8], root: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        if body[i..].starts_with(b"@@") {
            out.extend_from_slice(root);
            i += 2;
        } else {
            out.push(body[i]);
            i += 1;
        }
    }
    out
}

fn gid(s: &str) -> GroupId {
    GroupId::parse(s).expect("test group id")
}

/// Runs the client call that reaches `target`, rendering its result (rendering must not panic
/// either).
async fn drive(client: &GraphClient, target: Target) -> Result<String, GraphError> {
    let groups = [gid(G1), gid(G2)];
    match target {
        Target::Organization | Target::SubscribedSkus | Target::Holders => client
            .read_live(&LiveQuery::default())
            .await
            .map(|l| format!("{} groups", l.groups.len())),
        Target::ResolveBatch => client
            .read_live(&LiveQuery {
                group_ids: vec![gid(G2)],
                group_names: vec!["Lab - Art Room".to_owned()],
                ..LiveQuery::default()
            })
            .await
            .map(|l| format!("{} groups", l.groups.len())),
        Target::CountsBatch => client
            .read_member_counts(&groups)
            .await
            .map(|m| format!("{m:?}")),
        Target::ErrorsBatch => client
            .read_license_errors(&groups)
            .await
            .map(|m| format!("{m:?}")),
        Target::StatesBatch => client
            .read_groups_license_state(&groups)
            .await
            .map(|m| format!("{m:?}")),
        Target::GroupState => client
            .read_group_license_state(gid(G1))
            .await
            .map(|s| format!("{s:?}")),
        Target::AssignLicense => {
            let add = [AddLicense {
                sku_id: SkuId::parse(DEVICE1).expect("sku"),
                disabled_plans: Vec::new(),
            }];
            client
                .assign_license(gid(G1), &add, &[])
                .await
                .map(|r| format!("{r:?}"))
        }
        Target::RawBatch => {
            let items: Vec<BatchGet> = (0..25)
                .map(|i| BatchGet::new(format!("/groups/{i}")))
                .collect();
            let results = client.batch_get(&items).await;
            assert_eq!(results.len(), items.len(), "one result per item");
            let mut shown = String::new();
            for r in results {
                match r {
                    Ok(item) => {
                        let _ = (item.count(), item.json::<serde_json::Value>());
                        shown.push_str(&format!("{:?};", item.ensure_success().map(|i| i.status)));
                    }
                    Err(e) => shown.push_str(&format!("{e};")),
                }
            }
            Ok(shown)
        }
        Target::Collection => client
            .get_collection("/groups?$select=id")
            .await
            .map(|v| v.len().to_string()),
    }
}

/// The selectors that need no server.
fn pure(selector: u8, rest: &[u8]) {
    let text = String::from_utf8_lossy(rest);
    match selector % 3 {
        0 => {
            if let Some(d) = parse_retry_after(&text, jiff::Timestamp::UNIX_EPOCH) {
                assert!(d <= Duration::from_secs(24 * 3600), "unclamped {d:?}");
            }
        }
        1 => {
            if let Ok(url) = url::Url::parse(&text) {
                let _ = check_transport_security(&url).map_err(|e| e.to_string());
            }
            let _ = Endpoints::resolve(Cloud::Global, Some(&text), Some(&text), None)
                .map_err(|e| e.to_string());
        }
        _ => {
            if let Ok(value) = serde_json::from_slice::<serde_json::Value>(rest) {
                let item = ItemResponse {
                    status: 200,
                    headers: Default::default(),
                    body: value,
                    request_id: None,
                    client_request_id: String::new(),
                    url: "/groups/x/$count".to_owned(),
                };
                let _ = item.count();
                let _ = item.json::<serde_json::Value>();
                let mut failed = item;
                failed.status = 400;
                let _ = failed.ensure_success().map_err(|e| e.to_string());
            }
        }
    }
}
