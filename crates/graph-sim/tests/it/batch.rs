//! JSON batching (graph docs: concepts/json-batching.md, concepts/throttling.md).

use devlic_graph_sim::{Faults, SimConfig};
use serde_json::{Value, json};

use crate::{DEVICE1, Env, KIOSKS, WAREHOUSE};

fn by_id(v: &Value, id: &str) -> Value {
    v["responses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .cloned()
        .unwrap()
}

#[tokio::test]
async fn mixed_items_dependson_and_base64_counts() {
    let env = Env::contoso().await;
    let body = json!({"requests": [
        {"id": "1", "method": "GET", "url": format!("/groups/{KIOSKS}?$select=id,assignedLicenses")},
        {"id": "2", "method": "GET", "url": "/groups/00000000-0000-4000-8000-000000000000"},
        {"id": "3", "method": "GET", "url": "/groups?$filter=displayName eq 'Finance Laptops'&$select=id"},
        {"id": "4", "method": "GET", "url": format!("/groups/{WAREHOUSE}/members/microsoft.graph.device/$count"),
         "headers": {"ConsistencyLevel": "eventual"}},
        {"id": "5", "method": "POST", "url": format!("/groups/{WAREHOUSE}/assignLicense"), "dependsOn": ["2"],
         "headers": {"Content-Type": "application/json"},
         "body": {"addLicenses": [{"skuId": DEVICE1, "disabledPlans": []}], "removeLicenses": []}},
        {"id": "6", "method": "GET", "url": format!("/groups/{WAREHOUSE}/members/$count")},
    ]});
    let r = env.send("POST", "/v1.0/$batch", &[], Some(body)).await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(by_id(&v, "1")["status"], 200);
    assert_eq!(
        by_id(&v, "1")["body"]["assignedLicenses"][0]["skuId"],
        DEVICE1
    );
    assert_eq!(by_id(&v, "2")["status"], 404);
    assert_eq!(
        by_id(&v, "2")["body"]["error"]["code"],
        "Request_ResourceNotFound"
    );
    assert_eq!(
        by_id(&v, "3")["body"]["value"][0]["id"],
        "1a2b3c4d-0005-4a5b-8c6d-000000000005"
    );
    let count = by_id(&v, "4");
    assert_eq!(count["headers"]["Content-Type"], "text/plain");
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(count["body"].as_str().unwrap())
        .unwrap();
    assert_eq!(decoded, b"40");
    assert_eq!(by_id(&v, "5")["status"], 424, "depends on a failed request");
    assert_eq!(
        by_id(&v, "6")["status"],
        400,
        "no ConsistencyLevel on the item"
    );
    assert_eq!(env.sim.stats().writes_applied, 0);
    let log = env.sim.request_log();
    assert_eq!(log[0].path_and_query, "/v1.0/$batch");
    assert_eq!(log.len(), 7);
    assert_eq!(
        log[3].path_and_query,
        "/v1.0/groups?$filter=displayName eq 'Finance Laptops'&$select=id"
    );
    assert_eq!(log[3].batch_item.as_deref(), Some("3"));
}

#[tokio::test]
async fn batch_level_errors() {
    let env = Env::contoso().await;
    let many: Vec<Value> = (0..21)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/organization"}))
        .collect();
    let r = env
        .send("POST", "/v1.0/$batch", &[], Some(json!({"requests": many})))
        .await;
    assert_eq!(r.status, 400);
    let dup = json!({"requests": [
        {"id": "1", "method": "GET", "url": "/organization"},
        {"id": "1", "method": "GET", "url": "/subscribedSkus"}]});
    assert_eq!(
        env.send("POST", "/v1.0/$batch", &[], Some(dup))
            .await
            .status,
        400
    );
    let no_ct = json!({"requests": [{"id": "1", "method": "POST", "url": format!("/groups/{KIOSKS}/assignLicense"),
        "body": {"addLicenses": [], "removeLicenses": []}}]});
    assert_eq!(
        env.send("POST", "/v1.0/$batch", &[], Some(no_ct))
            .await
            .status,
        400
    );
    assert_eq!(env.sim.stats().batch_items, 0);
}

#[tokio::test]
async fn per_item_throttling_and_seeded_order() {
    let config = SimConfig {
        seed: 7,
        faults: Faults {
            throttle_rate: 0.5,
            retry_after_secs: 2.5,
            ..Faults::default()
        },
        ..SimConfig::default()
    };
    let env = Env::start("contoso", config.clone()).await;
    let reqs: Vec<Value> = (0..20)
        .map(|i| json!({"id": format!("r{i}"), "method": "GET", "url": "/organization?$select=id"}))
        .collect();
    let v = run(&env, &reqs).await;
    let items = v["responses"].as_array().unwrap();
    let throttled: Vec<&Value> = items.iter().filter(|r| r["status"] == 429).collect();
    assert!(
        !throttled.is_empty() && throttled.len() < 20,
        "{}",
        throttled.len()
    );
    for t in &throttled {
        assert_eq!(t["headers"]["Retry-After"], "2.5");
        assert_eq!(t["body"]["error"]["code"], "Request_ThrottledTemporarily");
    }
    let order: Vec<&str> = items.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let sorted: Vec<String> = (0..20).map(|i| format!("r{i}")).collect();
    assert_ne!(
        order,
        sorted.iter().map(String::as_str).collect::<Vec<_>>(),
        "shuffled"
    );
    // Same seed, same requests: same statuses, same order.
    let env2 = Env::start("contoso", config).await;
    let v2 = run(&env2, &reqs).await;
    let strip = |v: &Value| -> Vec<(String, u64)> {
        v["responses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["id"].as_str().unwrap().to_owned(),
                    r["status"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(strip(&v), strip(&v2));
}

/// Sends the batch; the outer request may itself be throttled, so retry until it goes through.
async fn run(env: &Env, reqs: &[Value]) -> Value {
    let body = json!({"requests": reqs});
    loop {
        let r = env
            .send("POST", "/v1.0/$batch", &[], Some(body.clone()))
            .await;
        if r.status == 200 {
            return r.json();
        }
        assert_eq!(r.status, 429);
    }
}

/// concepts/json-batching.md: an id is "not case-sensitive" and must be unique, otherwise the
/// batch fails with 400; `dependsOn` names an id the same way.
#[tokio::test]
async fn ids_compare_case_insensitively() {
    let env = Env::contoso().await;
    let dup = json!({"requests": [
        {"id": "Read-A", "method": "GET", "url": "/organization"},
        {"id": "read-a", "method": "GET", "url": "/subscribedSkus"}]});
    let r = env.send("POST", "/v1.0/$batch", &[], Some(dup)).await;
    assert_eq!((r.status, r.code().as_str()), (400, "BadRequest"));
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("duplicate")
    );
    assert_eq!(env.sim.stats().batch_items, 0, "nothing ran");

    let chained = json!({"requests": [
        {"id": "First", "method": "GET", "url": "/groups/00000000-0000-4000-8000-000000000000"},
        {"id": "second", "method": "GET", "url": "/organization", "dependsOn": ["FIRST"]}]});
    let v = env
        .send("POST", "/v1.0/$batch", &[], Some(chained))
        .await
        .json();
    assert_eq!(by_id(&v, "First")["status"], 404, "ids are echoed as sent");
    assert_eq!(
        by_id(&v, "second")["status"],
        424,
        "dependsOn finds 'First' under another case"
    );
}
