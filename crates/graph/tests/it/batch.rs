//! `$batch` with mixed per-item statuses: only throttled/failed items are retried, after their
//! own Retry-After, and results come back in request order whatever order Graph answers in.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use devlic_graph::{BatchGet, GraphError, RetryPolicy};

use crate::support::{Reply, Scripted, TOKEN, client_for, fast_retry};

/// Answers each item by the number in its URL (`/groups/{n}`): on the first sight, n % 9 == 1 is
/// throttled with a per-item Retry-After, 2 is a 503, 3 is a 424 (older throttled-batch
/// behaviour), 4 is a 404, 5 is left out of the answer; everything else (and every retry)
/// succeeds. Answers are listed in reverse order.
fn mixed_server() -> impl Fn(&crate::support::Seen, usize) -> Reply + Send + Sync + 'static {
    let seen_count: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    move |seen, _| {
        let body: serde_json::Value = serde_json::from_str(&seen.body).unwrap_or_default();
        let mut responses = Vec::new();
        for r in body["requests"].as_array().into_iter().flatten() {
            let url = r["url"].as_str().unwrap_or_default().to_owned();
            let n: u64 = url.trim_start_matches("/groups/").parse().unwrap_or(0);
            let first = {
                let mut counts = seen_count.lock().unwrap();
                let c = counts.entry(url.clone()).or_default();
                *c += 1;
                *c == 1
            };
            let item = match (first, n % 9) {
                (true, 1) => serde_json::json!({"id": r["id"], "status": 429,
                    "headers": {"Retry-After": "1"},
                    "body": {"error": {"code": "TooManyRequests", "message": "x"}}}),
                (true, 2) => serde_json::json!({"id": r["id"], "status": 503, "body": {}}),
                (true, 3) => serde_json::json!({"id": r["id"], "status": 424,
                    "body": {"error": {"code": "FailedDependency", "message": "x"}}}),
                (_, 4) => serde_json::json!({"id": r["id"], "status": 404,
                    "body": {"error": {"code": "Request_ResourceNotFound", "message": "gone",
                        "innerError": {"request-id": format!("item-rid-{n}")}}}}),
                (true, 5) => continue,
                _ => serde_json::json!({"id": r["id"], "status": 200, "body": {"n": n}}),
            };
            responses.push(item);
        }
        responses.reverse();
        Reply::json(serde_json::json!({ "responses": responses }))
    }
}

fn batch_urls(seen: &crate::support::Seen) -> Vec<String> {
    let body: serde_json::Value = serde_json::from_str(&seen.body).unwrap();
    body["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["url"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn mixed_item_statuses_retry_only_the_failed_items_in_order() {
    let server = Scripted::start(mixed_server()).await;
    let client = client_for(&server.base, TOKEN, fast_retry());
    let items: Vec<BatchGet> = (0..45)
        .map(|n| BatchGet::new(format!("/groups/{n}")))
        .collect();
    let started = Instant::now();
    let results = client.batch_get(&items).await;
    let elapsed = started.elapsed();

    assert_eq!(results.len(), 45);
    for (n, r) in results.iter().enumerate() {
        if n % 9 == 4 {
            // A 404 is a final answer, handed back as is (not retried); callers branch on it.
            let item = r.as_ref().expect("404 is an answer").clone();
            assert_eq!(item.status, 404);
            let e = item.ensure_success().expect_err("404 is an error");
            assert!(e.is_not_found(), "{e:?}");
            // Graph's request-id from the item's error body is kept.
            assert_eq!(e.request_id(), Some(format!("item-rid-{n}").as_str()));
        } else {
            let item = r.as_ref().unwrap_or_else(|e| panic!("item {n}: {e}"));
            assert_eq!(item.status, 200);
            assert_eq!(item.body["n"], n as u64, "results must be in request order");
        }
    }

    let seen = server.seen();
    // 45 items = 20 + 20 + 5, then one retry batch of the 20 failed/missing items.
    assert_eq!(
        seen.len(),
        4,
        "{:?}",
        seen.iter().map(batch_urls).collect::<Vec<_>>()
    );
    let mut first_round: Vec<usize> = seen[..3].iter().map(|s| batch_urls(s).len()).collect();
    first_round.sort_unstable();
    assert_eq!(first_round, [5, 20, 20]);
    let retried = batch_urls(&seen[3]);
    let expected: Vec<String> = (0..45u64)
        .filter(|n| matches!(n % 9, 1 | 2 | 3 | 5))
        .map(|n| format!("/groups/{n}"))
        .collect();
    assert_eq!(retried, expected);
    // The per-item Retry-After of 1 s was honoured.
    assert!(elapsed >= Duration::from_millis(950), "{elapsed:?}");
    assert_eq!(client.requests_made(), 4);
    assert_eq!(client.stats().retries, 1);
}

#[tokio::test]
async fn items_throttled_beyond_the_budget_fail_with_a_typed_error() {
    let server = Scripted::start(|seen, _| {
        let body: serde_json::Value = serde_json::from_str(&seen.body).unwrap_or_default();
        let responses: Vec<serde_json::Value> = body["requests"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                if r["url"] == "/groups/0" {
                    serde_json::json!({"id": r["id"], "status": 429, "headers": {"retry-after": "30"}})
                } else {
                    serde_json::json!({"id": r["id"], "status": 200, "body": {}})
                }
            })
            .collect();
        Reply::json(serde_json::json!({ "responses": responses }))
    })
    .await;
    let policy = RetryPolicy {
        max_elapsed: Duration::from_secs(5),
        ..fast_retry()
    };
    let client = client_for(&server.base, TOKEN, policy);
    let items: Vec<BatchGet> = (0..3)
        .map(|n| BatchGet::new(format!("/groups/{n}")))
        .collect();
    let results = client.batch_get(&items).await;
    match &results[0] {
        Err(GraphError::RetriesExhausted {
            path,
            last,
            request_id,
            ..
        }) => {
            assert_eq!(path, "/groups/0");
            assert_eq!(last, "HTTP 429");
            assert_eq!(request_id.as_deref(), Some("rid-0"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(results[1].is_ok() && results[2].is_ok());
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn whole_batch_throttled_is_retried_as_a_request() {
    let server = Scripted::start(|seen, i| {
        if i == 0 {
            return Reply::Send(429, vec![("Retry-After", "0".into())], String::new());
        }
        let body: serde_json::Value = serde_json::from_str(&seen.body).unwrap_or_default();
        let responses: Vec<serde_json::Value> = body["requests"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| serde_json::json!({"id": r["id"], "status": 200, "body": 7}))
            .collect();
        Reply::json(serde_json::json!({ "responses": responses }))
    })
    .await;
    let client = client_for(&server.base, TOKEN, fast_retry());
    let results = client
        .batch_get(&[BatchGet::new("/groups/1/transitiveMembers/$count").eventual()])
        .await;
    assert_eq!(results[0].as_ref().unwrap().count().unwrap(), 7);
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    let body: serde_json::Value = serde_json::from_str(&seen[1].body).unwrap();
    assert_eq!(
        body["requests"][0]["headers"]["ConsistencyLevel"],
        "eventual"
    );
    assert_eq!(seen[1].target, "/v1.0/$batch");
}
