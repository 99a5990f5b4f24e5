//! Graph's throttling budgets (concepts/throttling-limits.md, identity and access): writes and
//! read resource units per app, 429 with `Retry-After` and the `x-ms-throttle-*` headers when a
//! bucket is empty, `$batch` items charged one by one. Off by default.

use std::time::Duration;

use devlic_graph_sim::{Budgets, SimConfig};
use serde_json::{Value, json};

use crate::{DEVICE1, Env, KIOSKS};

fn assign() -> Value {
    json!({"addLicenses": [{"skuId": DEVICE1, "disabledPlans": []}], "removeLicenses": []})
}

async fn budgeted() -> Env {
    Env::start(
        "contoso",
        SimConfig {
            // 30 writes per 1.5 s, 80 read units per 0.1 s; frozen, so only the test refills.
            budgets: Some(Budgets::graph().scaled(0.01)),
            frozen_clock: true,
            ..SimConfig::default()
        },
    )
    .await
}

#[tokio::test]
async fn writes_beyond_the_budget_are_throttled_until_it_refills() {
    let env = budgeted().await;
    let path = format!("/v1.0/groups/{KIOSKS}/assignLicense");
    for i in 0..30 {
        let r = env.send("POST", &path, &[], Some(assign())).await;
        assert!((200..300).contains(&r.status), "write {i}: {}", r.text);
        // Past 80 % of the budget, answers say how close the app is.
        if i >= 24 {
            let pct: f64 = r.headers["x-ms-throttle-limit-percentage"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((0.8..=1.8).contains(&pct), "{pct}");
        }
    }
    let r = env.send("POST", &path, &[], Some(assign())).await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert_eq!(r.code(), "Request_ThrottledTemporarily");
    // One write refills in 1.5 s / 30 = 50 ms.
    assert_eq!(r.headers["retry-after"], "0.05");
    let scope = r.headers["x-ms-throttle-scope"].to_str().unwrap();
    assert!(
        scope.starts_with("Tenant_Application/Write/devlic-sim/"),
        "{scope}"
    );
    assert_eq!(r.headers["x-ms-throttle-information"], "WriteLimitExceeded");
    // Reads have their own budget.
    assert_eq!(env.get("/v1.0/organization?$select=id").await.status, 200);
    env.sim.advance_clock(Duration::from_millis(50));
    let r = env.send("POST", &path, &[], Some(assign())).await;
    assert!((200..300).contains(&r.status), "{}", r.text);
    let stats = env.sim.stats();
    assert_eq!(stats.throttled_by_budget, 1);
    assert_eq!(stats.faults.throttled, 0, "not an injected fault");
}

#[tokio::test]
async fn reads_are_charged_in_resource_units_and_batch_items_one_by_one() {
    let env = budgeted().await;
    // transitiveMembers costs 5 units, 4 with $select: 20 of them are the 80-unit budget.
    let item = |i: usize| {
        json!({"id": i.to_string(), "method": "GET",
               "url": format!("/groups/{KIOSKS}/transitiveMembers?$select=id")})
    };
    let reqs: Vec<Value> = (0..21).map(item).collect();
    let body = json!({"requests": reqs[..20]});
    let r = env.send("POST", "/v1.0/$batch", &[], Some(body)).await;
    assert_eq!(r.status, 200, "the envelope itself is free");
    let v = r.json();
    let items = v["responses"].as_array().unwrap();
    assert!(items.iter().all(|i| i["status"] == 200), "{v:#}");
    assert!(
        items
            .iter()
            .all(|i| i["headers"]["x-ms-resource-unit"] == "4")
    );
    let body = json!({"requests": reqs[20..]});
    let v = env
        .send("POST", "/v1.0/$batch", &[], Some(body))
        .await
        .json();
    let throttled = &v["responses"][0];
    assert_eq!(throttled["status"], 429, "{v:#}");
    assert_eq!(
        throttled["headers"]["x-ms-throttle-information"],
        "ResourceUnitLimitExceeded"
    );
    // 4 units refill in 4 × 0.1 s / 80 = 5 ms.
    assert_eq!(throttled["headers"]["Retry-After"], "0.005");
}

#[tokio::test]
async fn without_budgets_nothing_is_charged() {
    let env = Env::contoso().await;
    let path = format!("/v1.0/groups/{KIOSKS}/assignLicense");
    for _ in 0..40 {
        let r = env.send("POST", &path, &[], Some(assign())).await;
        assert!((200..300).contains(&r.status), "{}", r.text);
    }
    let r = env.get("/v1.0/subscribedSkus").await;
    assert!(r.headers.get("x-ms-resource-unit").is_none());
    assert_eq!(env.sim.stats().throttled_by_budget, 0);
}
