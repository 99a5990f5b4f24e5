//! JSON batching (`POST /$batch`) of read requests: up to 20 GETs per request, per-item retries of
//! 429/5xx items only, results in request order.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::de::DeserializeOwned;

use crate::error::GraphError;
use crate::retry::parse_retry_after;
use crate::transport::Transport;

mod per_group;
mod window;

pub(crate) use per_group::{by_group, per_group_items, unique_sorted};

/// Graph's limit of requests in one `$batch`.
pub const MAX_BATCH: usize = 20;

/// One GET inside a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchGet {
    /// URL relative to the version root, starting with `/` (e.g. `/groups/{id}`).
    pub url: String,
    /// Extra headers, e.g. `ConsistencyLevel: eventual`.
    pub headers: Vec<(&'static str, String)>,
}

impl BatchGet {
    /// A GET of `url` with no extra headers.
    pub fn new(url: impl Into<String>) -> BatchGet {
        BatchGet {
            url: url.into(),
            headers: Vec::new(),
        }
    }

    /// Adds `ConsistencyLevel: eventual` (needed for `$count` and advanced queries).
    pub fn eventual(mut self) -> BatchGet {
        self.headers
            .push(("ConsistencyLevel", "eventual".to_owned()));
        self
    }
}

/// The answer to one batch item.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemResponse {
    /// The item's HTTP status.
    pub status: u16,
    /// The item's headers, names lowercased.
    pub headers: BTreeMap<String, String>,
    /// The item's body (`Null` when absent).
    pub body: serde_json::Value,
    /// `request-id` of the `$batch` request that carried this answer.
    pub request_id: Option<String>,
    /// `client-request-id` of the `$batch` request that carried this answer.
    pub client_request_id: String,
    /// The item URL (for error messages).
    pub url: String,
}

impl ItemResponse {
    /// Turns an error status into [`GraphError::Service`].
    pub fn ensure_success(self) -> Result<ItemResponse, GraphError> {
        if (200..300).contains(&self.status) {
            return Ok(self);
        }
        let body = serde_json::to_vec(&self.body).unwrap_or_default();
        // The item's own request-id, else the body's, else the `$batch` request's.
        let item_rid = self.headers.get("request-id").cloned();
        Err(GraphError::from_error_answer(
            self.status,
            &body,
            ("GET", self.path()),
            (item_rid, self.request_id.clone()),
            self.client_request_id.clone(),
        ))
    }

    /// The item URL without its query (for error messages).
    pub fn path(&self) -> &str {
        self.url.split('?').next().unwrap_or_default()
    }

    /// Deserialises the body.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, GraphError> {
        T::deserialize(&self.body).map_err(|e| GraphError::Malformed {
            path: self.url.clone(),
            detail: format!("{e} in batch item body"),
            request_id: self.request_id.clone(),
        })
    }

    /// A `$count` answer: a JSON number, a numeric string, or (for text/plain bodies) base64 of
    /// the digits.
    pub fn count(&self) -> Result<u64, GraphError> {
        let parsed = match &self.body {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s.trim().parse::<u64>().ok().or_else(|| {
                base64::engine::general_purpose::STANDARD
                    .decode(s.trim())
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .and_then(|t| t.trim().trim_start_matches('\u{feff}').parse().ok())
            }),
            _ => None,
        };
        parsed.ok_or_else(|| GraphError::Malformed {
            path: self.url.clone(),
            detail: format!("expected a count, got `{}`", self.body),
            request_id: self.request_id.clone(),
        })
    }

    fn retry_after(&self) -> Option<Duration> {
        parse_retry_after(self.headers.get("retry-after")?, jiff::Timestamp::now())
    }
}

/// True for item statuses worth retrying. devlic sends no `dependsOn`, so a 424 can only be the
/// older documented behaviour of a throttled batch (its dependency was throttled): retry it too.
fn item_retryable(status: u16) -> bool {
    status == 429 || status == 424 || (500..=599).contains(&status)
}

impl Transport {
    /// Runs `items` through `$batch` (20 per request, requests in flight bounded by the client's
    /// limiter) and returns one result per item, in the order given. Only items that failed with
    /// 429/424/5xx are retried, after the longest `Retry-After` among them (or backoff).
    pub async fn batch_get(&self, items: &[BatchGet]) -> Vec<Result<ItemResponse, GraphError>> {
        let mut results: Vec<Option<Result<ItemResponse, GraphError>>> =
            items.iter().map(|_| None).collect();
        let batch_url = match self.url("/$batch") {
            Ok(u) => u,
            Err(e) => {
                let msg = e.to_string();
                return items
                    .iter()
                    .map(|_| Err(GraphError::InvalidRequest(msg.clone())))
                    .collect();
            }
        };
        let mut pending: Vec<usize> = Vec::new();
        let mut normalized: Vec<BatchGet> = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let url = match self.normalize_item_url(&item.url) {
                Ok(url) => {
                    pending.push(i);
                    url
                }
                Err(e) => {
                    results[i] = Some(Err(e));
                    String::new()
                }
            };
            normalized.push(BatchGet {
                url,
                headers: item.headers.clone(),
            });
        }
        let items = &normalized[..];
        let first_sent = Instant::now();
        let mut window = self.concurrency.max(1);
        let mut round = 0u32;
        let mut last_retryable: BTreeMap<usize, ItemResponse> = BTreeMap::new();
        while !pending.is_empty() {
            let chunks: Vec<&[usize]> = pending.chunks(MAX_BATCH).collect();
            let answers = self
                .send_chunks_adaptive(&batch_url, items, &chunks, &mut window)
                .await;
            let mut retry_later = Vec::new();
            let mut wait: Option<Duration> = None;
            for (chunk, answer) in chunks.iter().zip(answers) {
                match answer {
                    Err(e) => {
                        // The whole $batch failed after its own retries: every item shares it.
                        let shared = std::sync::Arc::new(batch_level(e));
                        for &i in *chunk {
                            results[i] = Some(Err(share(&shared)));
                        }
                    }
                    Ok(mut by_id) => {
                        for &i in *chunk {
                            match by_id.remove(&i) {
                                Some(resp) if item_retryable(resp.status) => {
                                    let ra = resp.retry_after();
                                    wait = wait.max(ra);
                                    last_retryable.insert(i, resp);
                                    retry_later.push(i);
                                }
                                Some(resp) => results[i] = Some(Ok(resp)),
                                // An item missing from the answer was not processed: retry it.
                                None => retry_later.push(i),
                            }
                        }
                    }
                }
            }
            if retry_later.is_empty() {
                break;
            }
            match self.plan_retry(first_sent, round, wait) {
                Ok(delay) => {
                    tracing::debug!(items = retry_later.len(), ?delay, "retrying batch items");
                    tokio::time::sleep(delay).await;
                    round += 1;
                    pending = retry_later;
                }
                Err(reason) => {
                    for i in retry_later {
                        let last = last_retryable.remove(&i);
                        let (request_id, client_request_id) = match last.as_ref() {
                            Some(r) => (r.request_id.clone(), r.client_request_id.clone()),
                            None => (None, String::new()),
                        };
                        results[i] = Some(Err(GraphError::RetriesExhausted {
                            reason,
                            elapsed: first_sent.elapsed(),
                            method: "GET".to_owned(),
                            path: items[i]
                                .url
                                .split('?')
                                .next()
                                .unwrap_or_default()
                                .to_owned(),
                            attempts: round + 1,
                            last: last.as_ref().map_or_else(
                                || "missing from the $batch response".to_owned(),
                                |r| format!("HTTP {}", r.status),
                            ),
                            request_id,
                            client_request_id,
                        }));
                    }
                    break;
                }
            }
        }
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(GraphError::InvalidRequest(
                        "batch item left without an answer".to_owned(),
                    ))
                })
            })
            .collect()
    }

    /// Item URLs are relative to the version root; an absolute URL must stay on that root and is
    /// made relative.
    fn normalize_item_url(&self, url: &str) -> Result<String, GraphError> {
        if url.starts_with('/') && !url.starts_with("//") {
            return Ok(url.to_owned());
        }
        match url::Url::parse(url) {
            Ok(abs) => self.relative(&abs),
            Err(_) => Err(GraphError::InvalidRequest(format!(
                "batch item URL `{url}` must start with `/`"
            ))),
        }
    }
}

/// A failure of the `$batch` request itself, as shared by its items. A 404 there says nothing
/// about the items (Graph's `$batch` endpoint always exists: it is a wrong Graph URL or a proxy),
/// but copied as is it would read as "not found" to every item, and callers skip items that are
/// not found as deleted groups. So it becomes [`GraphError::Malformed`], which no caller skips.
fn batch_level(e: GraphError) -> GraphError {
    match e {
        GraphError::Service {
            status: 404,
            code,
            message,
            request_id,
            ..
        } => GraphError::Malformed {
            path: "/$batch".to_owned(),
            detail: format!(
                "the $batch endpoint itself answered 404 {code}: {message} (check the Graph URL)"
            ),
            request_id,
        },
        other => other,
    }
}

/// Copies a shared batch-level error into each item's slot (GraphError is not `Clone` because
/// `AuthError` need not be).
fn share(e: &std::sync::Arc<GraphError>) -> GraphError {
    match e.as_ref() {
        GraphError::Service {
            status,
            code,
            message,
            method,
            path,
            request_id,
            client_request_id,
        } => GraphError::Service {
            status: *status,
            code: code.clone(),
            message: message.clone(),
            method: method.clone(),
            path: path.clone(),
            request_id: request_id.clone(),
            client_request_id: client_request_id.clone(),
        },
        GraphError::RetriesExhausted {
            reason,
            elapsed,
            method,
            path,
            attempts,
            last,
            request_id,
            client_request_id,
        } => GraphError::RetriesExhausted {
            reason: *reason,
            elapsed: *elapsed,
            method: method.clone(),
            path: path.clone(),
            attempts: *attempts,
            last: last.clone(),
            request_id: request_id.clone(),
            client_request_id: client_request_id.clone(),
        },
        GraphError::Malformed {
            path,
            detail,
            request_id,
        } => GraphError::Malformed {
            path: path.clone(),
            detail: detail.clone(),
            request_id: request_id.clone(),
        },
        other => GraphError::InvalidRequest(format!("$batch failed: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(body: serde_json::Value) -> ItemResponse {
        ItemResponse {
            status: 200,
            headers: BTreeMap::new(),
            body,
            request_id: None,
            client_request_id: "crid-1".into(),
            url: "/groups/x/transitiveMembers/$count".into(),
        }
    }

    #[test]
    fn counts_in_every_documented_shape() {
        assert_eq!(item(serde_json::json!(12)).count().unwrap(), 12);
        assert_eq!(item(serde_json::json!("40")).count().unwrap(), 40);
        assert_eq!(item(serde_json::json!("MzA=")).count().unwrap(), 30);
        assert!(item(serde_json::json!(-1)).count().is_err());
        assert!(item(serde_json::json!({"a": 1})).count().is_err());
    }

    #[test]
    fn retryable_item_statuses() {
        for s in [429, 424, 500, 502, 503, 504] {
            assert!(item_retryable(s), "{s}");
        }
        for s in [200, 400, 403, 404] {
            assert!(!item_retryable(s), "{s}");
        }
    }

    #[test]
    fn item_error_uses_body_code() {
        let mut r = item(
            serde_json::json!({"error":{"code":"Request_ResourceNotFound","message":"gone","innerError":{"request-id":"rid-1"}}}),
        );
        r.status = 404;
        let e = r.ensure_success().unwrap_err();
        assert_eq!(e.code(), Some("Request_ResourceNotFound"));
        assert_eq!(e.request_id(), Some("rid-1"));
        assert!(e.is_not_found());
        let GraphError::Service {
            method,
            path,
            client_request_id,
            ..
        } = &e
        else {
            panic!("{e:?}")
        };
        assert_eq!(
            (method.as_str(), path.as_str(), client_request_id.as_str()),
            ("GET", "/groups/x/transitiveMembers/$count", "crid-1")
        );
    }
}
