//! One `$batch` exchange (items in, answers by item out) and the adaptive window of those
//! exchanges in flight: the part of `$batch` that decides how fast to go, apart from the retry
//! rounds in the parent module that decide what to send again.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{BatchGet, ItemResponse};
use crate::error::{GraphError, excerpt};
use crate::transport::{Method, Request, Transport};

#[derive(Debug, Deserialize)]
struct WireBatch {
    responses: Vec<WireItem>,
}

#[derive(Debug, Deserialize)]
struct WireItem {
    id: String,
    status: u16,
    #[serde(default)]
    headers: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    body: serde_json::Value,
}

/// Whether an answer says the shared budget is running out, so every request should slow
/// down: an item past 80 % of a budget (`x-ms-throttle-limit-percentage` at or above 0.8;
/// concepts/throttling-limits.md sends it only past 80 % of a limit), a 429 item that names the
/// budget it exhausted (`x-ms-throttle-scope`, which Graph's identity limits send with their
/// 429s), or 429s on at least half of the items (a storm, whatever the headers say).
///
/// A lone 429 without a scope is that request's own: it is retried after its `Retry-After` by
/// the retry rounds, and does not halve the window. Halving on it made a read under scattered
/// 429s (one item in ten) run one batch at a time: 26 s of reads before a 1,000-group apply.
fn pressed(by_id: &BTreeMap<usize, ItemResponse>) -> bool {
    let throttled = by_id.values().filter(|r| r.status == 429).count();
    let storm = throttled > 0 && throttled * 2 >= by_id.len();
    storm
        || by_id.values().any(|r| {
            (r.status == 429 && r.headers.contains_key("x-ms-throttle-scope"))
                || r.headers
                    .get("x-ms-throttle-limit-percentage")
                    .and_then(|p| p.trim().parse::<f64>().ok())
                    .is_some_and(|p| p >= 0.8)
        })
}

/// The window after one answer: halved (at least 1) under pressure, else one wider (at most
/// `ceiling`, the client's in-flight limit).
fn next_window(window: usize, ceiling: usize, pressed: bool) -> usize {
    if pressed {
        (window / 2).max(1)
    } else {
        (window + 1).min(ceiling)
    }
}

impl Transport {
    /// Sends `chunks` as `$batch` requests, at most `window` in flight, and returns their answers
    /// in chunk order. The window starts at the client's in-flight limit (`--read-concurrency`,
    /// 4 by default: at Graph's 8,000 resource units per 10 s for a large tenant and about 4
    /// units per item, 20-item batches can go out at about 10 per second, which four in flight
    /// reach at 400 ms per answer) and adapts: it halves when an answer says the shared budget
    /// is running out ([`pressed`]: a scoped 429 item, half the items throttled, or
    /// `x-ms-throttle-limit-percentage` at or above 0.8), and grows back by one after a calm
    /// answer.
    pub(super) async fn send_chunks_adaptive(
        &self,
        batch_url: &url::Url,
        items: &[BatchGet],
        chunks: &[&[usize]],
        window: &mut usize,
    ) -> Vec<Result<BTreeMap<usize, ItemResponse>, GraphError>> {
        use futures::StreamExt as _;
        let ceiling = self.concurrency.max(1);
        let mut answers: Vec<Option<Result<BTreeMap<usize, ItemResponse>, GraphError>>> =
            chunks.iter().map(|_| None).collect();
        let mut in_flight = futures::stream::FuturesUnordered::new();
        let mut next = 0;
        loop {
            while next < chunks.len() && in_flight.len() < *window {
                let k = next;
                in_flight
                    .push(async move { (k, self.send_chunk(batch_url, items, chunks[k]).await) });
                next += 1;
            }
            let Some((k, answer)) = in_flight.next().await else {
                break;
            };
            *window = next_window(*window, ceiling, answer.as_ref().is_ok_and(pressed));
            answers[k] = Some(answer);
        }
        answers
            .into_iter()
            .map(|a| {
                a.unwrap_or_else(|| {
                    Err(GraphError::InvalidRequest(
                        "batch request left without an answer".to_owned(),
                    ))
                })
            })
            .collect()
    }

    /// Sends one `$batch` with the items `chunk` (ids are the item indices).
    async fn send_chunk(
        &self,
        batch_url: &url::Url,
        items: &[BatchGet],
        chunk: &[usize],
    ) -> Result<BTreeMap<usize, ItemResponse>, GraphError> {
        let requests: Vec<serde_json::Value> = chunk
            .iter()
            .map(|&i| {
                let headers: serde_json::Map<String, serde_json::Value> = items[i]
                    .headers
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String(v.clone())))
                    .collect();
                let mut req =
                    serde_json::json!({"id": i.to_string(), "method": "GET", "url": items[i].url});
                if !headers.is_empty() {
                    req["headers"] = serde_json::Value::Object(headers);
                }
                req
            })
            .collect();
        let req = Request {
            method: Method::Post,
            url: batch_url.clone(),
            headers: Vec::new(),
            body: Some(serde_json::json!({ "requests": requests })),
        };
        // Every item is a GET, so resending the whole batch is safe.
        let resp = self.send_idempotent(&req).await?.ensure_success()?;
        // Checked apart from the parse below so the error names the content type.
        resp.ensure_json_content_type()?;
        let wire: WireBatch = resp.json().map_err(|e| match e {
            GraphError::Malformed {
                path, request_id, ..
            } => GraphError::Malformed {
                path,
                detail: format!("not a $batch response: `{}`", excerpt(&resp.body)),
                request_id,
            },
            other => other,
        })?;
        let mut out = BTreeMap::new();
        for item in wire.responses {
            // Ids are the decimal indices devlic sent; `1`, `01` and ` 1` name the same item.
            let Ok(i) = item.id.trim().to_ascii_lowercase().parse::<usize>() else {
                continue;
            };
            if !chunk.contains(&i) {
                continue;
            }
            if out.contains_key(&i) {
                // Two answers to one request: whichever devlic kept, it could be the wrong one.
                return Err(GraphError::Malformed {
                    path: "/$batch".to_owned(),
                    detail: format!(
                        "the $batch answer has more than one response with id {:?} (client-request-id {})",
                        excerpt(item.id.as_bytes()),
                        resp.client_request_id
                    ),
                    request_id: resp.request_id.clone(),
                });
            }
            let headers = item
                .headers
                .into_iter()
                .map(|(k, v)| {
                    let v = match v {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (k.to_ascii_lowercase(), v)
                })
                .collect();
            out.insert(
                i,
                ItemResponse {
                    status: item.status,
                    headers,
                    body: item.body,
                    request_id: resp.request_id.clone(),
                    client_request_id: resp.client_request_id.clone(),
                    url: items[i].url.clone(),
                },
            );
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, percentage: Option<&str>) -> BTreeMap<usize, ItemResponse> {
        let mut headers = BTreeMap::new();
        if let Some(p) = percentage {
            headers.insert("x-ms-throttle-limit-percentage".to_owned(), p.to_owned());
        }
        BTreeMap::from([(
            0,
            ItemResponse {
                status,
                headers,
                body: serde_json::Value::Null,
                request_id: None,
                client_request_id: "crid".into(),
                url: "/groups".into(),
            },
        )])
    }

    /// A 20-item answer: `throttled` items answered 429 (with `x-ms-throttle-scope` when
    /// `scoped`), the rest 200.
    fn twenty(throttled: usize, scoped: bool) -> BTreeMap<usize, ItemResponse> {
        (0..20)
            .map(|i| {
                let mut item = answer(if i < throttled { 429 } else { 200 }, None)
                    .remove(&0)
                    .expect("one item");
                if i < throttled && scoped {
                    item.headers.insert(
                        "x-ms-throttle-scope".to_owned(),
                        "Tenant_Application/Read/app/tenant".to_owned(),
                    );
                }
                (i, item)
            })
            .collect()
    }

    #[test]
    fn only_a_shared_budget_or_a_storm_narrows_the_window() {
        assert!(!pressed(&twenty(0, false)));
        // One item's own 429: retried after its Retry-After, the window stays.
        assert!(!pressed(&twenty(1, false)));
        assert!(!pressed(&twenty(9, false)));
        // Half the items: a storm, whatever the headers say.
        assert!(pressed(&twenty(10, false)));
        // One 429 that names the app-and-tenant budget it exhausted.
        assert!(pressed(&twenty(1, true)));
    }

    #[test]
    fn the_window_halves_under_pressure_and_grows_back_one_at_a_time() {
        assert!(pressed(&answer(429, None)));
        assert!(pressed(&answer(200, Some(" 0.8"))));
        assert!(!pressed(&answer(200, Some("0.79"))));
        assert!(!pressed(&answer(200, Some("busy"))));
        assert!(!pressed(&answer(404, None)));
        let mut w = 4;
        let mut seen = Vec::new();
        for pressure in [true, true, true, false, false, false, false] {
            w = next_window(w, 4, pressure);
            seen.push(w);
        }
        assert_eq!(seen, [2, 1, 1, 2, 3, 4, 4]);
    }
}
