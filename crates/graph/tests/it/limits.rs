//! What the client refuses to read: bodies over [`MAX_BODY_BYTES`] (refused once, never
//! re-downloaded by a retry) and bodies not labelled as JSON.

use devlic_graph::{AddLicense, BatchGet, GraphError, MAX_BODY_BYTES};
use devlic_model::{GroupId, SkuId};

use crate::support::{Reply, Scripted, TOKEN, client_for, fast_retry};

const GROUP: &str = "1a2b3c4d-0002-4a5b-8c6d-000000000002";
const DEVICE1: &str = "ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7";
const PAGE: &str = r#"{"value":[{"id":"1a2b3c4d-0002-4a5b-8c6d-000000000002"}]}"#;

/// `GET /groups?$select=id` against a server that always gives `reply`; returns the outcome and
/// how many requests the server received.
async fn collection_with(reply: Reply) -> (Result<Vec<serde_json::Value>, GraphError>, usize) {
    let server = Scripted::start(move |_, _| reply.clone()).await;
    // fast_retry allows 5 attempts: a transient classification would show up as 5 requests.
    let client = client_for(&server.base, TOKEN, fast_retry());
    let result = client.get_collection("/groups?$select=id").await;
    (result, server.seen().len())
}

#[tokio::test]
async fn a_declared_oversized_body_is_refused_before_reading_and_not_retried() {
    // The server announces one byte over the limit and sends nothing: the client must decide
    // from the header alone.
    let (result, requests) =
        collection_with(Reply::Truncated(MAX_BODY_BYTES + 1, String::new())).await;
    let err = result.expect_err("an announced 64 MiB + 1 body was accepted");
    match &err {
        GraphError::Malformed {
            detail, request_id, ..
        } => {
            assert!(detail.contains("Content-Length"), "{detail}");
            assert!(
                detail.contains(&format!("larger than {MAX_BODY_BYTES} bytes")),
                "{detail}"
            );
            assert_eq!(request_id.as_deref(), Some("rid-0"));
        }
        other => panic!("expected Malformed, got {other:?}"),
    }
    assert_eq!(requests, 1, "an oversized answer was asked for again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_oversized_body_is_malformed_and_not_retried() {
    let (result, requests) = collection_with(Reply::Flood(MAX_BODY_BYTES + 4 * 1024 * 1024)).await;
    let err = result.expect_err("a body past the limit was accepted");
    assert!(
        matches!(&err, GraphError::Malformed { detail, .. }
            if detail.contains(&format!("larger than {MAX_BODY_BYTES} bytes"))),
        "{err:?}"
    );
    assert_eq!(requests, 1, "an oversized answer was downloaded again");
}

#[tokio::test]
async fn an_oversized_answer_to_a_write_is_outcome_unknown_and_not_resent() {
    let server = Scripted::start(|_, _| Reply::Truncated(MAX_BODY_BYTES + 1, String::new())).await;
    let client = client_for(&server.base, TOKEN, fast_retry());
    let add = [AddLicense {
        sku_id: SkuId::parse(DEVICE1).expect("sku"),
        disabled_plans: vec![],
    }];
    let err = client
        .assign_license(GroupId::parse(GROUP).expect("group"), &add, &[])
        .await
        .expect_err("an unread answer cannot confirm a write");
    assert!(
        matches!(&err, GraphError::OutcomeUnknown { detail, request_id, .. }
            if detail.contains("larger than") && request_id.as_deref() == Some("rid-0")),
        "{err:?}"
    );
    // The re-read that would settle it is refused too (same oversized answer); the write is
    // never sent again.
    let posts = server.seen().iter().filter(|r| r.method == "POST").count();
    assert_eq!(posts, 1);
}

#[tokio::test]
async fn json_labelled_as_anything_but_json_is_malformed_naming_the_type() {
    for content_type in [
        "text/html",
        "text/html; charset=utf-8",
        "text/plain",
        "application/jsonp",
        "application/+json",
        "application/octet-stream",
        "json",
    ] {
        let (result, requests) = collection_with(Reply::typed(Some(content_type), PAGE)).await;
        match result {
            Err(GraphError::Malformed { detail, .. }) => {
                assert!(
                    detail.contains(&format!("content type `{content_type}` is not JSON")),
                    "{content_type}: {detail}"
                );
            }
            other => panic!("{content_type}: {other:?}"),
        }
        // A mislabelled answer is not transient.
        assert_eq!(requests, 1, "{content_type}");
    }
}

#[tokio::test]
async fn an_unlabelled_body_is_malformed() {
    let (result, _) = collection_with(Reply::typed(None, PAGE)).await;
    assert!(
        matches!(&result, Err(GraphError::Malformed { detail, .. }) if detail.contains("no Content-Type")),
        "{result:?}"
    );
}

#[tokio::test]
async fn every_json_content_type_graph_sends_is_accepted() {
    for content_type in [
        "application/json",
        "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8",
        "Application/JSON; charset=UTF-8",
        " application/json ;charset=utf-8",
        "application/problem+json",
    ] {
        let (result, _) = collection_with(Reply::typed(Some(content_type), PAGE)).await;
        let values = result.unwrap_or_else(|e| panic!("{content_type}: {e}"));
        assert_eq!(values.len(), 1, "{content_type}");
    }
}

#[tokio::test]
async fn a_batch_answer_labelled_html_is_malformed_for_every_item() {
    let server = Scripted::start(|seen, _| {
        let req: serde_json::Value = serde_json::from_str(&seen.body).unwrap_or_default();
        let responses: Vec<serde_json::Value> = req["requests"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| serde_json::json!({"id": r["id"], "status": 200, "body": {"id": GROUP}}))
            .collect();
        Reply::typed(
            Some("text/html"),
            serde_json::json!({ "responses": responses }).to_string(),
        )
    })
    .await;
    let client = client_for(&server.base, TOKEN, fast_retry());
    let results = client
        .batch_get(&[BatchGet::new(format!("/groups/{GROUP}"))])
        .await;
    assert_eq!(results.len(), 1);
    for r in results {
        assert!(
            matches!(&r, Err(GraphError::Malformed { detail, .. }) if detail.contains("text/html")),
            "{r:?}"
        );
    }
}
