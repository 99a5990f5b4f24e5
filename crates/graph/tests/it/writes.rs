//! Writes over HTTP with exact control of the answer: a lost answer is settled by re-reading, an
//! idempotent write is resent at most once, and throttled writes are re-read before resending.

use devlic_graph::{AddLicense, GraphError};
use devlic_model::{GroupId, SkuId};

use crate::support::{Reply, Scripted, TOKEN, client_for, fast_retry, graph_error};

const GROUP: &str = "1a2b3c4d-0002-4a5b-8c6d-000000000002";
const DEVICE1: &str = "ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7";

fn group() -> GroupId {
    GroupId::parse(GROUP).unwrap()
}

fn add() -> Vec<AddLicense> {
    vec![AddLicense {
        sku_id: SkuId::parse(DEVICE1).unwrap(),
        disabled_plans: vec![],
    }]
}

fn posts(server: &Scripted) -> usize {
    server.seen().iter().filter(|s| s.method == "POST").count()
}

/// A re-read answer: the group holds nothing yet.
fn not_landed() -> Reply {
    Reply::json(serde_json::json!({"id": GROUP, "assignedLicenses": []}))
}

#[tokio::test]
async fn a_write_whose_answers_are_lost_twice_is_outcome_unknown_after_one_resend() {
    // assignLicense is idempotent: after re-reads over the settle window show nothing, it is
    // sent once more; when that answer is lost too, the outcome is reported unknown.
    let server = Scripted::start(|seen, _| {
        if seen.method == "POST" {
            Reply::Drop
        } else {
            not_landed()
        }
    })
    .await;
    let client = client_for(&server.base, TOKEN, fast_retry());
    let err = client
        .assign_license(group(), &add(), &[])
        .await
        .expect_err("dropped");
    match &err {
        GraphError::OutcomeUnknown {
            path,
            detail,
            client_request_id,
            ..
        } => {
            assert_eq!(path, &format!("/v1.0/groups/{GROUP}/assignLicense"));
            assert!(detail.contains("lost too"), "{detail}");
            // The id we sent last is the one we report, so the request can be traced.
            let last_post = server.seen().into_iter().rfind(|s| s.method == "POST");
            assert_eq!(
                last_post
                    .as_ref()
                    .and_then(|s| s.header("client-request-id")),
                Some(client_request_id.as_str())
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(posts(&server), 2, "one idempotent resend, never a third");
}

#[tokio::test]
async fn gateway_timeout_on_a_write_is_settled_by_rereads() {
    // Not landed: resent once, then unknown.
    let server = Scripted::start(|seen, _| {
        if seen.method == "POST" {
            Reply::Send(504, vec![], String::new())
        } else {
            not_landed()
        }
    })
    .await;
    let client = client_for(&server.base, TOKEN, fast_retry());
    let err = client
        .assign_license(group(), &add(), &[])
        .await
        .expect_err("504");
    assert!(
        matches!(&err, GraphError::OutcomeUnknown { request_id: Some(r), detail, .. }
            if r.starts_with("rid-") && detail.contains("504")),
        "{err:?}"
    );
    assert_eq!(posts(&server), 2);
    // Landed: a re-read shows it, the receipt says how it was established.
    let server = Scripted::start(|seen, _| {
        if seen.method == "POST" {
            Reply::Send(504, vec![], String::new())
        } else {
            Reply::json(serde_json::json!({"id": GROUP,
                "assignedLicenses": [{"skuId": DEVICE1, "disabledPlans": []}]}))
        }
    })
    .await;
    let receipt = client_for(&server.base, TOKEN, fast_retry())
        .assign_license(group(), &add(), &[])
        .await
        .expect("landed");
    assert_eq!(receipt.attempts, 1);
    assert!(
        receipt
            .note
            .as_deref()
            .is_some_and(|n| n.contains("504") && n.contains("landed")),
        "{receipt:?}"
    );
    assert_eq!(posts(&server), 1);
}

#[tokio::test]
async fn throttled_write_that_landed_is_not_resent() {
    // 429 on the POST, but the re-read shows the license: Graph applied it after all.
    let server = Scripted::start(|seen, _| {
        if seen.method == "POST" {
            Reply::Send(
                429,
                vec![("Retry-After", "0".into())],
                graph_error("TooManyRequests", "x", "y"),
            )
        } else {
            Reply::json(serde_json::json!({"id": GROUP,
                "assignedLicenses": [{"skuId": DEVICE1, "disabledPlans": []}],
                "licenseProcessingState": {"state": "QueuedForProcessing"}}))
        }
    })
    .await;
    let client = client_for(&server.base, TOKEN, fast_retry());
    let receipt = client
        .assign_license(group(), &add(), &[])
        .await
        .expect("landed");
    assert_eq!(receipt.request_id, "rid-0");
    assert_eq!(posts(&server), 1);
    let seen = server.seen();
    assert_eq!(
        seen[1].target,
        format!("/v1.0/groups/{GROUP}?$select=id,assignedLicenses,licenseProcessingState")
    );
}

#[tokio::test]
async fn throttled_write_that_did_not_land_is_resent_once_after_the_re_read() {
    let server = Scripted::start(|seen, i| match (seen.method.as_str(), i) {
        ("POST", 0) => Reply::Send(429, vec![("Retry-After", "0".into())], String::new()),
        ("POST", _) => Reply::Send(202, vec![], "{}".into()),
        _ => Reply::json(serde_json::json!({"id": GROUP, "assignedLicenses": []})),
    })
    .await;
    let client = client_for(&server.base, TOKEN, fast_retry());
    let receipt = client
        .assign_license(group(), &add(), &[])
        .await
        .expect("second try");
    assert_eq!(receipt.attempts, 2);
    assert_eq!(receipt.request_id, "rid-2");
    let methods: Vec<String> = server.seen().iter().map(|s| s.method.clone()).collect();
    assert_eq!(methods, ["POST", "GET", "POST"]);
    // Both arrays are always sent.
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&server.seen()[2].body).unwrap(),
        serde_json::json!({"addLicenses": [{"skuId": DEVICE1, "disabledPlans": []}], "removeLicenses": []})
    );
}

#[tokio::test]
async fn refused_write_is_a_typed_service_error() {
    let server = Scripted::start(|_, _| {
        Reply::Send(
            400,
            vec![],
            graph_error(
                "Request_BadRequest",
                "License ... does not correspond to a valid company License.",
                "body-rid",
            ),
        )
    })
    .await;
    let client = client_for(&server.base, TOKEN, fast_retry());
    let err = client
        .assign_license(group(), &add(), &[])
        .await
        .expect_err("400");
    assert_eq!(err.code(), Some("Request_BadRequest"));
    assert_eq!(err.request_id(), Some("rid-0"));
    assert_eq!(posts(&server), 1);
}

#[tokio::test]
async fn empty_write_is_refused_before_sending() {
    let server = Scripted::start(|_, _| Reply::Send(202, vec![], "{}".into())).await;
    let client = client_for(&server.base, TOKEN, fast_retry());
    let err = client
        .assign_license(group(), &[], &[])
        .await
        .expect_err("nothing to do");
    assert!(matches!(err, GraphError::InvalidRequest(_)));
    assert!(server.seen().is_empty());
}
