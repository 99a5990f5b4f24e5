//! cloudLicensing over HTTP with exact control of the answer: request shapes, paging, typed
//! errors with request-ids, outcome unknown never resent, throttling honoured with a re-read.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use devlic_graph::auth::StaticToken;
use devlic_graph::{ApiVersion, ClientConfig, GraphClient, GraphError};
use devlic_model::GroupId;
use secrecy::SecretString;
use serde_json::json;
use url::Url;

use crate::support::{Reply, Scripted, TOKEN, client_for, fast_retry, graph_error};

const GROUP: &str = "1a2b3c4d-0002-4a5b-8c6d-000000000002";
const DEVICE1: &str = "ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7";

fn beta(base: &str) -> GraphClient {
    let mut config = ClientConfig::new(
        Url::parse(base).unwrap(),
        Arc::new(StaticToken::new(SecretString::from(TOKEN.to_owned()))),
    );
    config.retry = fast_retry();
    config.jitter_seed = Some(7);
    config.timeouts.request = Duration::from_secs(5);
    config.api_version = ApiVersion::Beta;
    config.write_settle = Duration::from_millis(200);
    GraphClient::new(config).unwrap()
}

fn group() -> GroupId {
    GroupId::parse(GROUP).unwrap()
}

/// A `$batch` answer to `seen` (one item) listing a group's assignments.
fn assignments_page(seen: &crate::support::Seen, with: bool) -> Reply {
    let request: serde_json::Value = serde_json::from_str(&seen.body).unwrap_or_default();
    let id = request["requests"][0]["id"].clone();
    let value = if with {
        json!([{"id": "as-1", "disabledServicePlanIds": [],
                "allotment": {"id": "pool-1", "skuId": DEVICE1}}])
    } else {
        json!([])
    };
    Reply::json(
        json!({"responses": [{"id": id, "status": 200, "headers": {},
        "body": {"value": value}}]}),
    )
}

#[tokio::test]
async fn allotments_are_read_with_select_and_every_page() {
    let server = Scripted::start(|seen, _| {
        if seen.target.starts_with("/beta/admin/cloudLicensing/allotments") {
            if seen.target.contains("skiptoken") {
                Reply::json(json!({"value": [{"id": "pool-2", "skuId": DEVICE1,
                    "allottedUnits": 10, "consumedUnits": 0, "assignableTo": "device"}]}))
            } else {
                let host = seen.header("host").unwrap_or_default().to_owned();
                Reply::json(json!({
                    "value": [{"id": "pool-1", "skuId": DEVICE1, "skuPartNumber": "OFFICE_PROPLUS_DEVICE1",
                        "allottedUnits": 100, "consumedUnits": 61, "assignableTo": "group,Device",
                        "subscriptions": [{"subscriptionId": "sub-1", "state": "active"}]}],
                    "@odata.nextLink": format!("http://{host}/beta/admin/cloudLicensing/allotments?$skiptoken=x"),
                }))
            }
        } else {
            Reply::json(json!({"value": [
                {"id": "as-1", "disabledServicePlanIds": [],
                 "allotment": {"id": "pool-1"}, "assignedTo": {"@odata.type": "#microsoft.graph.group", "id": GROUP}},
                {"id": "as-u", "disabledServicePlanIds": [],
                 "allotment": {"id": "pool-1"}, "assignedTo": {"@odata.type": "#microsoft.graph.user", "id": "9e3b0c1d-0000-4000-8000-000000000001"}},
            ]}))
        }
    })
    .await;
    let client = beta(&server.base);
    let pools = client.read_allotments().await.unwrap();
    assert_eq!(pools.len(), 2);
    assert_eq!(pools[0].id, "pool-1");
    assert_eq!(pools[0].assignable_to, vec!["group", "device"]);
    assert!(pools[0].assignable_to_devices());
    assert_eq!(pools[0].subscription_ids, vec!["sub-1"]);
    assert_eq!(
        pools[0].assignments.len(),
        1,
        "assignments to users are left out"
    );
    assert_eq!(pools[0].assignments[0].group, group());
    assert_eq!(
        pools[1].sku_part_number, DEVICE1,
        "part number falls back to the id"
    );
    let targets: Vec<String> = server.seen().iter().map(|s| s.target.clone()).collect();
    assert!(
        targets.iter().any(|t| t.contains(
            "$select=id,skuId,skuPartNumber,allottedUnits,consumedUnits,assignableTo,subscriptions"
        )),
        "{targets:?}"
    );
    assert!(
        targets
            .iter()
            .any(|t| t.starts_with("/beta/admin/cloudLicensing/assignments?$expand=allotment")),
        "{targets:?}"
    );
    assert_eq!(targets.len(), 3);
}

#[tokio::test]
async fn a_v1_client_refuses_before_sending() {
    let server = Scripted::start(|_, _| Reply::json(json!({"value": []}))).await;
    let client = client_for(&server.base, TOKEN, fast_retry());
    let err = client.read_allotments().await.unwrap_err();
    assert!(matches!(err, GraphError::InvalidRequest(_)), "{err:?}");
    assert!(
        client
            .create_assignment_request(group(), "pool-1", &BTreeSet::new())
            .is_err()
    );
    assert!(server.seen().is_empty());
}

#[tokio::test]
async fn create_sends_the_documented_body_and_returns_the_id() {
    let server = Scripted::start(|_, _| {
        Reply::Send(
            201,
            vec![("request-id", "rid-create".to_owned())],
            json!({"id": "as-new", "disabledServicePlanIds": []}).to_string(),
        )
    })
    .await;
    let client = beta(&server.base);
    let plans: BTreeSet<_> =
        [devlic_model::ServicePlanId::parse("3c994f28-87d5-4273-b07a-eb6190852599").unwrap()]
            .into();
    let created = client
        .create_assignment(group(), "pool-1", &plans)
        .await
        .unwrap();
    assert_eq!(created.id.as_deref(), Some("as-new"));
    // The scripted server numbers its request-ids by arrival.
    assert_eq!(created.request_id, "rid-0");
    let seen = &server.seen()[0];
    assert_eq!(seen.method, "POST");
    assert_eq!(
        seen.target,
        format!("/beta/groups/{GROUP}/cloudLicensing/assignments")
    );
    let body: serde_json::Value = serde_json::from_str(&seen.body).unwrap();
    assert_eq!(
        body["allotment@odata.bind"],
        format!(
            "{}/beta/admin/cloudLicensing/allotments/pool-1",
            server.base
        )
    );
    assert_eq!(
        body["disabledServicePlanIds"],
        json!(["3c994f28-87d5-4273-b07a-eb6190852599"])
    );
    assert!(
        client
            .create_assignment_request(group(), "../x", &BTreeSet::new())
            .is_err()
    );
}

#[tokio::test]
async fn a_lost_create_is_settled_by_rereads_and_never_resent() {
    // The create's connection drops; every re-read (a `$batch` of one) shows no assignment.
    let reread = |assignments: serde_json::Value| {
        Reply::json(
            json!({"responses": [{"id": "0", "status": 200, "body": {"value": assignments}}]}),
        )
    };
    let server = Scripted::start(move |seen, _| {
        if seen.target.contains("$batch") {
            reread(json!([]))
        } else {
            Reply::Drop
        }
    })
    .await;
    let client = beta(&server.base);
    let err = client
        .create_assignment(group(), "pool-1", &BTreeSet::new())
        .await
        .unwrap_err();
    let GraphError::OutcomeUnknown { method, detail, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(method, "POST");
    assert!(
        detail.contains("did not show it") && detail.contains("not idempotent"),
        "says what the re-reads saw: {detail}"
    );
    let seen = server.seen();
    let creates = seen.iter().filter(|r| !r.target.contains("$batch")).count();
    assert_eq!(creates, 1, "never resent");
    assert!(seen.len() - creates >= 2, "re-read over the window");

    // The create's connection drops, but it landed: the re-read proves it.
    let server = Scripted::start(move |seen, _| {
        if seen.target.contains("$batch") {
            reread(json!([
                {"id": "as-9", "disabledServicePlanIds": [], "allotment": {"id": "pool-1", "skuId": "ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7"}}
            ]))
        } else {
            Reply::Drop
        }
    })
    .await;
    let created = beta(&server.base)
        .create_assignment(group(), "pool-1", &BTreeSet::new())
        .await
        .expect("landed");
    assert_eq!(created.attempts, 1);
    assert!(
        created
            .note
            .as_deref()
            .is_some_and(|n| n.contains("showed it had landed")),
        "{created:?}"
    );
}

/// A `$batch` answer listing the group's assignments: `as-1` while `held`, nothing after.
fn delete_reread(seen: &crate::support::Seen, held: bool) -> Reply {
    assignments_page(seen, held)
}

#[tokio::test]
async fn a_lost_delete_is_settled_by_rereading_its_group() {
    // The delete's answer is cut off, but a re-read of the group shows the assignment gone:
    // success, never resent.
    let server = Scripted::start(|seen, _| {
        if seen.target.ends_with("$batch") {
            delete_reread(seen, false)
        } else {
            Reply::Truncated(100, "{\"id\":".to_owned())
        }
    })
    .await;
    let sent = beta(&server.base)
        .delete_assignment(group(), "as-1")
        .await
        .expect("the re-read shows it landed");
    assert_eq!(sent.attempts, 1);
    assert!(
        sent.note
            .as_deref()
            .is_some_and(|n| n.contains("showed it had landed")),
        "{sent:?}"
    );
    let deletes: Vec<String> = server
        .seen()
        .iter()
        .filter(|s| s.method == "DELETE")
        .map(|s| s.target.clone())
        .collect();
    assert_eq!(
        deletes,
        [format!(
            "/beta/groups/{GROUP}/cloudLicensing/assignments/as-1"
        )]
    );

    // The answer is lost and the group still holds the assignment over the whole window: sent
    // once more (deleting twice cannot remove more), and that answer counts.
    let deletes_seen = std::sync::atomic::AtomicUsize::new(0);
    let server = Scripted::start(move |seen, _| {
        if seen.target.ends_with("$batch") {
            delete_reread(seen, true)
        } else if deletes_seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            Reply::Truncated(100, "{\"id\":".to_owned())
        } else {
            Reply::Send(204, vec![], String::new())
        }
    })
    .await;
    let sent = beta(&server.base)
        .delete_assignment(group(), "as-1")
        .await
        .expect("the resend is answered");
    assert_eq!(sent.attempts, 2);
    assert!(
        sent.note
            .as_deref()
            .is_some_and(|n| n.contains("deleting twice cannot remove more")),
        "{sent:?}"
    );
    let deletes = server
        .seen()
        .iter()
        .filter(|s| s.method == "DELETE")
        .count();
    assert_eq!(deletes, 2, "resent once after the window");
}

#[tokio::test]
async fn a_throttled_create_is_resent_only_after_a_reread_shows_it_missing() {
    // 429, then the re-read shows nothing: resend, 201.
    let server = Scripted::start(|seen, i| match (seen.method.as_str(), i) {
        ("POST", 0) => Reply::Send(
            429,
            vec![("Retry-After", "0".to_owned())],
            graph_error("TooManyRequests", "slow down", "rid-429"),
        ),
        ("POST", _) if seen.target.ends_with("$batch") => assignments_page(seen, false),
        _ => Reply::Send(201, vec![], json!({"id": "as-new"}).to_string()),
    })
    .await;
    let client = beta(&server.base);
    let created = client
        .create_assignment(group(), "pool-1", &BTreeSet::new())
        .await
        .unwrap();
    assert_eq!(created.attempts, 2);
    let creates = server
        .seen()
        .iter()
        .filter(|s| s.target.ends_with("/cloudLicensing/assignments"))
        .count();
    assert_eq!(creates, 2);

    // 429, but the re-read shows the assignment: not resent.
    let server = Scripted::start(|seen, i| match (seen.method.as_str(), i) {
        ("POST", 0) => Reply::Send(
            429,
            vec![("Retry-After", "0".to_owned())],
            graph_error("TooManyRequests", "slow down", "rid-429"),
        ),
        _ if seen.target.ends_with("$batch") => assignments_page(seen, true),
        _ => Reply::Send(201, vec![], "{}".to_owned()),
    })
    .await;
    let client = beta(&server.base);
    let created = client
        .create_assignment(group(), "pool-1", &BTreeSet::new())
        .await
        .unwrap();
    assert_eq!(created.id, None);
    let creates = server
        .seen()
        .iter()
        .filter(|s| s.target.ends_with("/cloudLicensing/assignments"))
        .count();
    assert_eq!(
        creates, 1,
        "a throttled write that landed must not be sent again"
    );
}

#[tokio::test]
async fn errors_are_typed_with_request_ids() {
    let server = Scripted::start(|_, _| {
        Reply::Send(
            404,
            vec![("request-id", "rid-404".to_owned())],
            graph_error("Request_ResourceNotFound", "gone", "rid-404"),
        )
    })
    .await;
    let client = beta(&server.base);
    let err = client.delete_assignment(group(), "as-1").await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(err.request_id(), Some("rid-0"));
    assert_eq!(server.seen()[0].method, "DELETE");
    assert_eq!(
        server.seen()[0].target,
        format!("/beta/groups/{GROUP}/cloudLicensing/assignments/as-1")
    );
    let err = client.read_waiting_members("pool-1").await.unwrap_err();
    assert!(err.is_not_found());
}

#[tokio::test]
async fn waiting_members_are_expanded_and_paged() {
    let server = Scripted::start(|seen, _| {
        let host = seen.header("host").unwrap_or_default().to_owned();
        if seen.target.contains("skiptoken") {
            Reply::json(json!({"value": [{"id": "w2", "waitingSinceDateTime": "2026-01-01T00:00:00Z"}]}))
        } else {
            Reply::json(json!({
                "value": [{"id": "w1", "waitingSinceDateTime": "2026-01-01T00:00:00Z",
                    "assignedTo": {"@odata.type": "#microsoft.graph.device", "id": "d-1", "displayName": "WH-01"}}],
                "@odata.nextLink": format!("http://{host}/beta/admin/cloudLicensing/allotments/pool-1/waitingMembers?$skiptoken=y"),
            }))
        }
    })
    .await;
    let client = beta(&server.base);
    let members = client.read_waiting_members("pool-1").await.unwrap();
    assert_eq!(members.len(), 2);
    assert_eq!(members[0].member_id.as_deref(), Some("d-1"));
    assert_eq!(members[0].kind.as_deref(), Some("device"));
    assert_eq!(members[1].member_id, None);
    assert!(
        server.seen()[0]
            .target
            .contains("$expand=assignedTo($select=id,displayName)")
    );
}
