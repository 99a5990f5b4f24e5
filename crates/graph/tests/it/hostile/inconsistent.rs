//! Inconsistent Graph answers are errors, never data (issue 14): a `$batch` answer with two
//! responses for one item, a batch item body for another group than the one asked, a group read
//! without the `$select`ed `assignedLicenses`, and paging that does not end (a nextLink cycle,
//! endless pages, a collection too large to hold). Each read below is one devlic makes before
//! any write, so an error here means nothing is written.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use devlic_graph::{
    GraphError, LiveQuery, MAX_COLLECTION_BYTES, MAX_PAGES, PagingLimits, RetryPolicy,
};
use devlic_model::GroupId;
use serde_json::json;

use super::NO_HANG;
use crate::support::{Reply, Scripted, TOKEN, client_for};

/// A client with small paging limits, so the caps are reached in a few requests.
fn capped_client(base: &str, limits: PagingLimits) -> devlic_graph::GraphClient {
    let mut config = devlic_graph::ClientConfig::new(
        url::Url::parse(base).unwrap(),
        std::sync::Arc::new(devlic_graph::auth::StaticToken::new(
            secrecy::SecretString::from(TOKEN.to_owned()),
        )),
    );
    config.retry = RetryPolicy::none();
    config.paging = limits;
    devlic_graph::GraphClient::new(config).unwrap()
}

const ASKED: &str = "1a2b3c4d-0001-4a5b-8c6d-000000000001";
const OTHER: &str = "1a2b3c4d-0009-4a5b-8c6d-000000000009";
const DEVICE1: &str = "ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7";

fn asked() -> GroupId {
    GroupId::parse(ASKED).unwrap()
}

fn state(id: &str, licenses: serde_json::Value) -> serde_json::Value {
    json!({"id": id, "assignedLicenses": licenses, "licenseProcessingState": {"state": "ProcessingComplete"}})
}

fn holds_device1() -> serde_json::Value {
    json!([{"skuId": DEVICE1, "disabledPlans": []}])
}

fn batch(responses: serde_json::Value) -> Reply {
    Reply::json(json!({ "responses": responses }))
}

fn malformed(result: Result<impl std::fmt::Debug, GraphError>, needle: &str) {
    match result {
        Err(GraphError::Malformed { detail, .. }) => {
            assert!(detail.contains(needle), "expected `{needle}` in: {detail}");
        }
        other => panic!("expected Malformed (`{needle}`), got {other:?}"),
    }
}

#[tokio::test]
async fn duplicate_batch_ids_are_refused_however_written() {
    // One answer says the group holds the license, the other that it holds nothing: keeping
    // either could make a revoke look done.
    for (a, b) in [("0", "0"), ("0", "00"), ("0", " 0"), ("0", "+0")] {
        let server = Scripted::start(move |_, _| {
            batch(json!([
                {"id": a, "status": 200, "body": state(ASKED, holds_device1())},
                {"id": b, "status": 200, "body": state(ASKED, json!([]))},
            ]))
        })
        .await;
        let client = client_for(&server.base, TOKEN, RetryPolicy::none());
        malformed(
            client.read_groups_license_state(&[asked()]).await,
            "more than one response with id",
        );
    }
}

#[tokio::test]
async fn a_batch_body_for_another_group_is_refused() {
    let server = Scripted::start(|_, _| {
        batch(json!([{"id": "0", "status": 200, "body": state(OTHER, json!([]))}]))
    })
    .await;
    let client = client_for(&server.base, TOKEN, RetryPolicy::none());
    malformed(
        client.read_groups_license_state(&[asked()]).await,
        "not the one asked",
    );
    // The single-group read (the write loop's re-read) applies the same rule.
    let server = Scripted::start(|_, _| Reply::json(state(OTHER, holds_device1()))).await;
    let client = client_for(&server.base, TOKEN, RetryPolicy::none());
    malformed(
        client.read_group_license_state(asked()).await,
        "not the one asked",
    );
}

#[tokio::test]
async fn a_group_without_the_selected_assigned_licenses_is_refused() {
    let bare = json!({"id": ASKED, "licenseProcessingState": {"state": "ProcessingComplete"}});
    let null = json!({"id": ASKED, "assignedLicenses": null});
    for (body, says) in [(bare, "assignedLicenses"), (null, "null")] {
        let one = body.clone();
        let server = Scripted::start(move |_, _| Reply::json(one.clone())).await;
        let client = client_for(&server.base, TOKEN, RetryPolicy::none());
        malformed(
            client.read_group_license_state(asked()).await,
            "assignedLicenses",
        );

        let item = body.clone();
        let server = Scripted::start(move |_, _| {
            batch(json!([{"id": "0", "status": 200, "body": item.clone()}]))
        })
        .await;
        let client = client_for(&server.base, TOKEN, RetryPolicy::none());
        malformed(client.read_groups_license_state(&[asked()]).await, says);

        // The live-state read: a device-SKU holder listing whose group lacks the property.
        let listed = body.clone();
        let server = Scripted::start(move |seen, _| {
            if seen.target.starts_with("/v1.0/organization") {
                Reply::json(json!({"value": [{"id": "t-1", "verifiedDomains": []}]}))
            } else if seen.target.starts_with("/v1.0/subscribedSkus") {
                Reply::json(json!({"value": [{
                    "skuId": DEVICE1, "skuPartNumber": "OFFICE_PROPLUS_DEVICE1",
                    "capabilityStatus": "Enabled", "consumedUnits": 1,
                    "prepaidUnits": {"enabled": 10}, "servicePlans": []
                }]}))
            } else {
                let mut group = listed.clone();
                group["displayName"] = json!("Lab");
                Reply::json(json!({"value": [group]}))
            }
        })
        .await;
        let client = client_for(&server.base, TOKEN, RetryPolicy::none());
        let result = client.read_live(&LiveQuery::default()).await;
        assert!(
            matches!(&result, Err(GraphError::Malformed { detail, .. }) if detail.contains(says)),
            "{result:?}"
        );
    }
}

/// A collection server whose answer number `i` links to its own root plus `next(i)`; bodies
/// are padded to about `pad` bytes.
async fn paging_server(next: fn(usize) -> String, pad: usize) -> Scripted {
    let base: Arc<OnceLock<String>> = Arc::new(OnceLock::new());
    let own = base.clone();
    let padding: Arc<str> = " ".repeat(pad).into();
    let server = Scripted::start(move |_, i| {
        let root = own.get().cloned().unwrap_or_default();
        Reply::Send(
            200,
            vec![],
            format!(
                r#"{{"value":[],"@odata.nextLink":"{root}{}","pad":"{padding}"}}"#,
                next(i)
            ),
        )
    })
    .await;
    base.set(server.base.clone()).expect("set once");
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_next_link_cycle_is_refused_at_once() {
    // A -> B -> A -> ...
    let server = paging_server(
        |i| {
            format!(
                "/v1.0/groups?$skiptoken={}",
                if i % 2 == 0 { "B" } else { "A" }
            )
        },
        0,
    )
    .await;
    let client = client_for(&server.base, TOKEN, RetryPolicy::none());
    let started = Instant::now();
    let result = tokio::time::timeout(NO_HANG, client.get_collection("/groups?$skiptoken=A"))
        .await
        .expect("hang");
    malformed(result, "returns to a page already read");
    assert!(server.seen().len() <= 3, "{} requests", server.seen().len());
    assert!(started.elapsed() < NO_HANG);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_distinct_pages_stop_at_the_page_cap() {
    let server = paging_server(|i| format!("/v1.0/groups?$skiptoken=p{i}"), 0).await;
    let limits = PagingLimits {
        max_pages: 40,
        ..PagingLimits::default()
    };
    let client = capped_client(&server.base, limits);
    let result = tokio::time::timeout(NO_HANG, client.get_collection("/groups"))
        .await
        .expect("hang");
    malformed(result, "more than 40 pages");
    assert_eq!(server.seen().len(), 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collection_past_the_byte_cap_is_refused() {
    // Pages of 1 MiB until the collection passes a 6 MiB cap.
    const PAGE: usize = 1024 * 1024;
    let server = paging_server(|i| format!("/v1.0/groups?$skiptoken=b{i}"), PAGE).await;
    let limits = PagingLimits {
        max_bytes: 6 * PAGE,
        ..PagingLimits::default()
    };
    let client = capped_client(&server.base, limits);
    let result = tokio::time::timeout(NO_HANG, client.get_collection("/groups"))
        .await
        .expect("hang");
    malformed(result, &format!("larger than {} bytes", 6 * PAGE));
    assert_eq!(server.seen().len(), 6);
}

#[test]
fn the_default_caps_are_the_documented_ones() {
    let limits = PagingLimits::default();
    assert_eq!(limits.max_pages, MAX_PAGES);
    assert_eq!(limits.max_bytes, MAX_COLLECTION_BYTES);
    assert_eq!(
        devlic_graph::ClientConfig::new(
            url::Url::parse("http://127.0.0.1:1").unwrap(),
            std::sync::Arc::new(devlic_graph::auth::StaticToken::new(
                secrecy::SecretString::from(TOKEN.to_owned())
            )),
        )
        .paging,
        limits
    );
}
