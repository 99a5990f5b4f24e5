//! Fault injection: reproducible from the seed, and each kind observable on the wire
//! (graph docs: concepts/throttling.md, concepts/best-practices-concept.md).

use std::time::Duration;

use devlic_graph_sim::{Faults, LoggedRequest, SimConfig};
use serde_json::json;

use crate::{DEVICE1, Env, WAREHOUSE};

/// Sends the same 60 requests and returns the log (statuses and faults) and stats.
async fn run(seed: u64) -> (Vec<LoggedRequest>, devlic_graph_sim::Stats) {
    let faults = Faults {
        throttle_rate: 0.2,
        unavailable_rate: 0.1,
        drop_rate: 0.1,
        retry_after_secs: 1.0,
        latency_jitter: Some(Duration::from_millis(2)),
        ..Faults::default()
    };
    let env = Env::start(
        "contoso",
        SimConfig {
            seed,
            faults,
            ..SimConfig::default()
        },
    )
    .await;
    for i in 0..60 {
        let path = if i % 2 == 0 {
            "/v1.0/groups?$top=5"
        } else {
            "/v1.0/subscribedSkus"
        };
        let resp = env
            .http
            .get(format!("{}{path}", env.sim.url()))
            .bearer_auth(&env.token)
            .send()
            .await;
        if let Ok(r) = resp {
            let _ = r.bytes().await;
        }
    }
    (env.sim.request_log(), env.sim.stats())
}

#[tokio::test]
async fn same_seed_same_faults_bit_for_bit() {
    let (log_a, stats_a) = run(42).await;
    let (log_b, stats_b) = run(42).await;
    assert_eq!(log_a, log_b);
    assert_eq!(stats_a.faults, stats_b.faults);
    assert!(
        stats_a.faults.throttled > 0
            && stats_a.faults.unavailable > 0
            && stats_a.faults.dropped > 0,
        "{:?}",
        stats_a.faults
    );
    let (log_c, _) = run(43).await;
    assert_ne!(log_a, log_c, "another seed, other faults");
}

#[tokio::test]
async fn throttle_with_retry_after_seconds_and_date() {
    let env = Env::contoso().await;
    // By default: the directory's code and message, and a whole second to wait.
    env.sim.set_faults(Faults {
        throttle_rate: 1.0,
        ..Faults::default()
    });
    let r = env.get("/v1.0/groups").await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (429, "Request_ThrottledTemporarily")
    );
    assert_eq!(r.headers["retry-after"], "1");
    assert_eq!(
        r.json()["error"]["message"],
        "Your request is throttled temporarily. Please try after 1 seconds."
    );
    env.sim.set_faults(Faults {
        throttle_rate: 1.0,
        retry_after_secs: 3.0,
        ..Faults::default()
    });
    let r = env.get("/v1.0/groups").await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (429, "Request_ThrottledTemporarily")
    );
    assert_eq!(r.headers["retry-after"], "3");
    env.sim.set_faults(Faults {
        throttle_rate: 1.0,
        retry_after_secs: 3.0,
        retry_after_as_date: true,
        ..Faults::default()
    });
    let r = env.get("/v1.0/groups").await;
    assert!(r.headers["retry-after"].to_str().unwrap().ends_with(" GMT"));
    env.sim.set_faults(Faults {
        unavailable_rate: 1.0,
        ..Faults::default()
    });
    let r = env.get("/v1.0/groups").await;
    assert!(r.status == 503 || r.status == 504);
}

#[tokio::test]
async fn lost_write_is_applied_but_the_response_is_dropped() {
    let env = Env::contoso().await;
    env.sim.set_faults(Faults {
        lost_write_rate: 1.0,
        ..Faults::default()
    });
    let resp = env
        .http
        .post(format!("{}/v1.0/groups/{WAREHOUSE}/assignLicense", env.sim.url()))
        .bearer_auth(&env.token)
        .json(&json!({"addLicenses": [{"skuId": DEVICE1, "disabledPlans": []}], "removeLicenses": []}))
        .send()
        .await;
    let failed = match resp {
        Err(_) => true,
        Ok(r) => r.bytes().await.is_err(),
    };
    assert!(failed, "the client never sees a complete response");
    let stats = env.sim.stats();
    assert_eq!((stats.writes_applied, stats.faults.lost_writes), (1, 1));
    env.sim.set_faults(Faults::default());
    let g = env
        .get(&format!(
            "/v1.0/groups/{WAREHOUSE}?$select=assignedLicenses"
        ))
        .await
        .json();
    assert_eq!(
        g["assignedLicenses"][0]["skuId"], DEVICE1,
        "the write landed"
    );
}

#[tokio::test]
async fn control_api_state_stats_faults_reset() {
    let env = Env::contoso().await;
    let base = env.sim.url();
    env.get("/v1.0/organization").await;
    let stats: serde_json::Value = env
        .http
        .get(format!("{base}/_sim/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["requests"], 1);
    assert_eq!(stats["per_route"]["GET /v1.0/organization"], 1);
    let r = env
        .http
        .post(format!("{base}/_sim/faults"))
        .json(&json!({"throttle_rate": 1.0, "latency": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(env.get("/v1.0/organization").await.status, 429);
    let r = env
        .http
        .post(format!("{base}/_sim/faults"))
        .json(&json!({"bogus": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    env.http
        .post(format!("{base}/_sim/reset-stats"))
        .send()
        .await
        .unwrap();
    assert_eq!(env.sim.stats().requests, 0);
    assert!(env.sim.request_log().is_empty());
    let state: serde_json::Value = env
        .http
        .get(format!("{base}/_sim/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["displayName"], "Contoso Ltd");
    let t = devlic_graph_sim::Tenant::from_json(&state.to_string()).unwrap();
    assert_eq!(t.groups.len(), 8);
}

#[test]
fn generated_tenants_are_valid_and_deterministic() {
    let a = devlic_graph_sim::generate(50, 1000, 3);
    let b = devlic_graph_sim::generate(50, 1000, 3);
    assert_eq!(a, b);
    let round = devlic_graph_sim::Tenant::from_json(&a.to_json()).unwrap();
    assert_eq!(round.devices.len(), 1000);
    assert_eq!(round.groups.len(), 50);
}

#[test]
fn broken_tenant_files_are_rejected() {
    let t = crate::fixture("contoso");
    let mut bad = t.clone();
    bad.groups[0]
        .members
        .push("00000000-0000-4000-8000-00000000dead".to_owned());
    assert!(devlic_graph_sim::Tenant::from_json(&bad.to_json()).is_err());
    let mut bad = t.clone();
    bad.subscribed_skus[0].consumed_units = 10;
    let err = devlic_graph_sim::Tenant::from_json(&bad.to_json()).unwrap_err();
    assert!(err.to_string().contains("consumedUnits"), "{err}");
    assert!(devlic_graph_sim::Tenant::from_json("{").is_err());
    assert!(
        devlic_graph_sim::Tenant::from_json(&t.to_json().replace("\"groups\"", "\"groupz\""))
            .is_err()
    );
}
