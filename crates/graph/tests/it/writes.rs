//! Writes over HTTP with exact control of the answer: never resent when the outcome is unknown,
//! re-read before resending after throttling.

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

#[tokio::test]
async fn dropped_connection_after_sending_a_write_is_outcome_unknown() {
    let server = Scripted::start(|_, _| Reply::Drop).await;
    let client = client_for(&server.base, TOKEN, fast_retry());
    let err = client
        .assign_license(group(), &add(), &[])
        .await
        .expect_err("dropped");
    match &err {
        GraphError::OutcomeUnknown {
            path,
            client_request_id,
            ..
        } => {
            assert_eq!(path, &format!("/v1.0/groups/{GROUP}/assignLicense"));
            // The id we sent is the one we report, so the request can be traced.
            assert_eq!(
                server.seen()[0].header("client-request-id"),
                Some(client_request_id.as_str())
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        posts(&server),
        1,
        "a write with unknown outcome must not be resent"
    );
}

#[tokio::test]
async fn gateway_timeout_on_a_write_is_outcome_unknown() {
    let server = Scripted::start(|_, _| Reply::Send(504, vec![], String::new())).await;
    let client = client_for(&server.base, TOKEN, fast_retry());
    let err = client
        .assign_license(group(), &add(), &[])
        .await
        .expect_err("504");
    assert!(
        matches!(&err, GraphError::OutcomeUnknown { request_id: Some(r), .. } if r == "rid-0"),
        "{err:?}"
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
