//! Throttling and transient failures over HTTP: Retry-After in seconds, decimals and HTTP dates,
//! budget and attempt exhaustion, dropped connections, truncated and malformed bodies.

use std::time::{Duration, Instant};

use devlic_graph::{Exhaustion, GraphError, RetryPolicy};

use crate::support::{Reply, Scripted, TOKEN, client_for, fast_retry, graph_error};

fn sku_page() -> String {
    serde_json::json!({"value": [{"skuId": "ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7",
        "skuPartNumber": "OFFICE_PROPLUS_DEVICE1", "capabilityStatus": "Enabled",
        "consumedUnits": 61, "prepaidUnits": {"enabled": 100}, "servicePlans": []}]})
    .to_string()
}

fn org_page() -> String {
    serde_json::json!({"value": [{"id": "6f1c2a3b-0d4e-4f5a-9b8c-7d6e5f4a3b2c",
        "displayName": "Contoso Ltd", "verifiedDomains": [{"name": "contoso.com", "isInitial": false},
        {"name": "contoso.onmicrosoft.com", "isInitial": true}]}]})
    .to_string()
}

/// Reads `/organization` + `/subscribedSkus` (+ empty holder listings) through `read_live`,
/// with `first` as the answer to the very first request.
async fn read_with_first(
    first: Reply,
) -> (
    Scripted,
    Result<devlic_model::LiveState, GraphError>,
    Duration,
) {
    let server = Scripted::start(move |seen, i| {
        if i == 0 {
            return first.clone();
        }
        if seen.target.contains("/organization") {
            Reply::Send(200, vec![], org_page())
        } else if seen.target.contains("/subscribedSkus") {
            Reply::Send(200, vec![], sku_page())
        } else {
            Reply::json(serde_json::json!({"value": []}))
        }
    })
    .await;
    let client = client_for(&server.base, TOKEN, fast_retry());
    let started = Instant::now();
    let result = client.read_live(&Default::default()).await;
    (server, result, started.elapsed())
}

#[tokio::test]
async fn retry_after_in_seconds_is_honoured() {
    let (server, result, elapsed) = read_with_first(Reply::Send(
        429,
        vec![("Retry-After", "1".into())],
        graph_error("TooManyRequests", "slow down", "rid-throttle"),
    ))
    .await;
    let live = result.expect("read after one retry");
    assert_eq!(live.tenant.domains[0], "contoso.onmicrosoft.com");
    assert!(
        elapsed >= Duration::from_millis(950),
        "waited only {elapsed:?}"
    );
    // org + skus + one retry + one holder listing (only DEVICE1 is in the tenant).
    assert_eq!(server.seen().len(), 4);
}

#[tokio::test]
async fn decimal_retry_after_is_honoured() {
    let (_server, result, elapsed) = read_with_first(Reply::Send(
        503,
        vec![("Retry-After", "0.4".into())],
        String::new(),
    ))
    .await;
    result.expect("read after one retry");
    assert!(
        elapsed >= Duration::from_millis(390),
        "waited only {elapsed:?}"
    );
}

#[tokio::test]
async fn retry_after_as_http_date_is_honoured() {
    // Two seconds ahead, at whole-second precision: the wait is between 1 and 2 seconds.
    let at = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(2);
    let date = jiff::fmt::rfc2822::DateTimePrinter::new()
        .timestamp_to_rfc9110_string(&at)
        .expect("format HTTP date");
    let (_server, result, elapsed) =
        read_with_first(Reply::Send(429, vec![("Retry-After", date)], String::new())).await;
    result.expect("read after one retry");
    assert!(
        elapsed >= Duration::from_millis(900),
        "waited only {elapsed:?}"
    );
}

#[tokio::test]
async fn budget_exhaustion_is_typed_and_names_the_request_id() {
    let server = Scripted::start(|_, _| {
        Reply::Send(
            429,
            vec![("Retry-After", "1".into())],
            graph_error("TooManyRequests", "slow down", "x"),
        )
    })
    .await;
    let policy = RetryPolicy {
        max_elapsed: Duration::from_millis(1500),
        ..fast_retry()
    };
    let client = client_for(&server.base, TOKEN, policy);
    let err = client
        .read_group_license_state(
            devlic_model::GroupId::parse("1a2b3c4d-0001-4a5b-8c6d-000000000001").unwrap(),
        )
        .await
        .expect_err("budget runs out");
    match &err {
        GraphError::RetriesExhausted {
            reason,
            request_id,
            attempts,
            ..
        } => {
            assert_eq!(
                *reason,
                Exhaustion::RequestTime {
                    limit: Duration::from_millis(1500)
                }
            );
            assert_eq!(*attempts, 2);
            // The scripted server numbers request-ids by arrival: the second request was the last.
            assert_eq!(request_id.as_deref(), Some("rid-1"));
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert!(err.to_string().contains("rid-1"), "{err}");
    assert!(
        err.to_string().contains("per-request retry limit of 1s"),
        "says why it gave up: {err}"
    );
    assert_eq!(server.seen().len(), 2);
    assert_eq!(client.stats().retry_wait_ms, 1000);
}

#[tokio::test]
async fn overall_time_limit_is_typed_and_stops_every_request() {
    let server = Scripted::start(|_, _| Reply::Send(503, vec![], String::new())).await;
    let mut config = devlic_graph::ClientConfig::new(
        url::Url::parse(&server.base).unwrap(),
        std::sync::Arc::new(devlic_graph::auth::StaticToken::new(
            secrecy::SecretString::from(TOKEN.to_owned()),
        )),
    );
    config.retry = fast_retry();
    config.timeouts.overall = Duration::from_millis(400);
    let client = devlic_graph::GraphClient::new(config).unwrap();
    let group = devlic_model::GroupId::parse("1a2b3c4d-0001-4a5b-8c6d-000000000001").unwrap();
    let started = std::time::Instant::now();
    let err = client
        .read_group_license_state(group)
        .await
        .expect_err("the overall limit ends it");
    assert!(started.elapsed() < Duration::from_secs(2), "bounded");
    assert!(
        matches!(
            err,
            GraphError::RetriesExhausted {
                reason: Exhaustion::Overall { .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("overall time limit"), "{err}");
    let sent = server.seen().len();
    assert!(sent >= 2, "retried while time was left: {sent}");
    // Past the limit nothing more is sent at all.
    tokio::time::sleep(Duration::from_millis(450)).await;
    let err = client.read_group_license_state(group).await.unwrap_err();
    assert!(err.to_string().contains("overall time limit"), "{err}");
    assert_eq!(server.seen().len(), sent);
}

#[tokio::test]
async fn dropped_connection_on_a_read_is_retried() {
    let (server, result, _) = read_with_first(Reply::Drop).await;
    result.expect("read succeeds after the dropped connection");
    assert_eq!(server.seen().len(), 4);
}

#[tokio::test]
async fn truncated_body_on_a_read_is_retried() {
    let (server, result, _) =
        read_with_first(Reply::Truncated(5000, "{\"value\":[{\"id\":".into())).await;
    result.expect("read succeeds after the truncated answer");
    assert_eq!(server.seen().len(), 4);
}

#[tokio::test]
async fn malformed_and_wrongly_typed_bodies_are_typed_errors() {
    for body in [
        "not json at all".to_owned(),
        r#"{"value": "not a list"}"#.to_owned(),
        r#"{"value": [{"skuId": 12}]}"#.to_owned(),
        r#"{"value": [{"skuId": "ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7", "skuPartNumber": "X", "capabilityStatus": "Enabled", "consumedUnits": -5, "prepaidUnits": {}}]}"#.to_owned(),
        String::new(),
    ] {
        let server = Scripted::start(move |seen, _| {
            if seen.target.contains("/organization") {
                Reply::Send(200, vec![], org_page())
            } else {
                Reply::Send(200, vec![], body.clone())
            }
        })
        .await;
        let client = client_for(&server.base, TOKEN, fast_retry());
        let err = client.read_live(&Default::default()).await.expect_err("malformed");
        match err {
            GraphError::Malformed { path, request_id, .. } => {
                assert_eq!(path, "/v1.0/subscribedSkus");
                assert!(request_id.is_some());
            }
            other => panic!("unexpected error {other:?}"),
        }
    }
}

#[tokio::test]
async fn graph_error_bodies_are_typed_with_code_and_request_id() {
    let server = Scripted::start(|_, _| {
        Reply::Send(
            403,
            vec![],
            graph_error(
                "Authorization_RequestDenied",
                "Insufficient privileges",
                "body-rid",
            ),
        )
    })
    .await;
    let client = client_for(&server.base, TOKEN, fast_retry());
    let err = client
        .read_live(&Default::default())
        .await
        .expect_err("403");
    assert_eq!(err.code(), Some("Authorization_RequestDenied"));
    // The response header wins over the body's copy.
    assert!(err.request_id().is_some_and(|r| r.starts_with("rid-")));
    // Never retried: 403 is not transient.
    assert_eq!(server.seen().len(), 2);
    // The bearer token went in the header and nowhere else.
    let seen = server.seen();
    assert_eq!(
        seen[0].header("authorization"),
        Some(&*format!("Bearer {TOKEN}"))
    );
    assert!(!err.to_string().contains(TOKEN));
    assert!(!format!("{err:?}").contains(TOKEN));
}

#[tokio::test]
async fn a_401_is_retried_once_with_a_fresh_token_then_typed() {
    let server = Scripted::start(|_, _| {
        Reply::Send(
            401,
            vec![],
            graph_error(
                "InvalidAuthenticationToken",
                "Access token has expired.",
                "x",
            ),
        )
    })
    .await;
    let client = client_for(&server.base, TOKEN, fast_retry());
    let err = client
        .read_live(&Default::default())
        .await
        .expect_err("401");
    assert_eq!(err.code(), Some("InvalidAuthenticationToken"));
    // Two reads in parallel, each tried twice (the static token cannot refresh), never more.
    assert_eq!(server.seen().len(), 4);
}

/// A loopback port with nothing listening: bound, then released.
async fn dead_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    port
}

#[tokio::test]
async fn connection_refused_is_reported_at_once_not_retried_as_throttling() {
    // Issue 15: a wrong port took 24 s of retries. A refused connection is final.
    let port = dead_port().await;
    let client = client_for(
        &format!("http://127.0.0.1:{port}"),
        TOKEN,
        RetryPolicy {
            base: Duration::from_millis(200),
            cap: Duration::from_secs(1),
            max_elapsed: Duration::from_secs(30),
        },
    );
    let started = Instant::now();
    let err = client.read_live(&Default::default()).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    match &err {
        GraphError::Unreachable {
            url,
            loopback,
            detail,
        } => {
            assert_eq!(url, &format!("http://127.0.0.1:{port}/v1.0"));
            assert!(*loopback);
            assert!(detail.starts_with("connection refused"), "{detail}");
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
    assert_eq!(client.stats().retries, 0);
    insta::assert_snapshot!(
        "graph_connection_refused",
        err.to_string().replace(&port.to_string(), "PORT")
    );
}
