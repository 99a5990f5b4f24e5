//! assignLicense validation, asynchronous processing, consumedUnits and CountViolation
//! (graph docs: group-assignlicense.md, group-list-memberswithlicenseerrors.md, group.md).

use std::time::Duration;

use devlic_graph_sim::{Faults, SimConfig};
use serde_json::{Value, json};

use crate::{CALL_CENTER, DEVICE1, EDU, Env, KIOSKS, TRAINING, WAREHOUSE};

async fn assign(env: &Env, group: &str, body: Value) -> crate::Reply {
    env.send(
        "POST",
        &format!("/v1.0/groups/{group}/assignLicense"),
        &[],
        Some(body),
    )
    .await
}

async fn consumed(env: &Env, sku: &str) -> i64 {
    let v = env.get("/v1.0/subscribedSkus").await.json();
    v["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["skuId"] == sku)
        .unwrap()["consumedUnits"]
        .as_i64()
        .unwrap()
}

async fn state(env: &Env, group: &str) -> String {
    let v = env
        .get(&format!(
            "/v1.0/groups/{group}?$select=licenseProcessingState"
        ))
        .await
        .json();
    v["licenseProcessingState"]["state"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn validation_like_graph() {
    let env = Env::contoso().await;
    let unknown = "00000000-1111-4222-8333-444444444444";
    let cases = [
        (
            json!({"addLicenses": [{"skuId": unknown, "disabledPlans": []}], "removeLicenses": []}),
            400,
            "Request_BadRequest",
        ),
        (
            json!({"addLicenses": [{"skuId": DEVICE1, "disabledPlans": []}], "removeLicenses": [DEVICE1]}),
            400,
            "Request_BadRequest",
        ),
        (
            json!({"addLicenses": [{"skuId": DEVICE1, "disabledPlans": []}]}),
            400,
            "Request_BadRequest",
        ),
        (json!({"removeLicenses": []}), 400, "Request_BadRequest"),
        (
            json!({"addLicenses": [{"skuId": DEVICE1, "disabledPlans": [unknown]}], "removeLicenses": []}),
            400,
            "Request_BadRequest",
        ),
    ];
    for (body, status, code) in cases {
        let r = assign(&env, WAREHOUSE, body.clone()).await;
        assert_eq!((r.status, r.code().as_str()), (status, code), "{body}");
    }
    let r = assign(
        &env,
        "1a2b3c4d-0099-4a5b-8c6d-000000000099",
        json!({"addLicenses": [], "removeLicenses": []}),
    )
    .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (404, "Request_ResourceNotFound")
    );
    let stats = env.sim.stats();
    assert_eq!((stats.writes, stats.writes_applied), (6, 0));
    assert_eq!(
        consumed(&env, DEVICE1).await,
        61,
        "rejected writes change nothing"
    );
}

#[tokio::test]
async fn assign_returns_202_with_group_and_processes_over_the_delay() {
    // Simulator time stands still unless the test moves it, so each state is observed exactly
    // at the boundary it belongs to, with no sleeps and no margins.
    let config = SimConfig {
        processing_delay: Duration::from_secs(600),
        frozen_clock: true,
        ..SimConfig::default()
    };
    let env = Env::start("contoso", config).await;
    let r = assign(
        &env,
        WAREHOUSE,
        json!({"addLicenses": [{"skuId": DEVICE1, "disabledPlans": []}], "removeLicenses": []}),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.json()["id"], WAREHOUSE);
    assert_eq!(r.json()["displayName"], "Shared PCs - Warehouse");
    assert_eq!(state(&env, WAREHOUSE).await, "QueuedForProcessing");
    assert_eq!(
        consumed(&env, DEVICE1).await,
        61,
        "not licensed before processing completes"
    );
    let g = env
        .get(&format!(
            "/v1.0/groups/{WAREHOUSE}?$select=assignedLicenses"
        ))
        .await
        .json();
    assert_eq!(
        g["assignedLicenses"][0]["skuId"], DEVICE1,
        "assignment visible at once"
    );
    env.sim.advance_clock(Duration::from_secs(299));
    assert_eq!(state(&env, WAREHOUSE).await, "QueuedForProcessing");
    env.sim.advance_clock(Duration::from_secs(1));
    assert_eq!(
        state(&env, WAREHOUSE).await,
        "ProcessingInProgress",
        "at half"
    );
    assert_eq!(consumed(&env, DEVICE1).await, 61);
    env.sim.advance_clock(Duration::from_secs(299));
    assert_eq!(state(&env, WAREHOUSE).await, "ProcessingInProgress");
    assert_eq!(consumed(&env, DEVICE1).await, 61);
    env.sim.advance_clock(Duration::from_secs(1));
    assert_eq!(state(&env, WAREHOUSE).await, "ProcessingComplete");
    assert_eq!(
        consumed(&env, DEVICE1).await,
        100,
        "61 + 40 capped at 100 enabled units"
    );
    let errs = env
        .get(&format!(
            "/v1.0/groups/{WAREHOUSE}/membersWithLicenseErrors"
        ))
        .await
        .json();
    let errs = errs["value"].as_array().unwrap();
    assert_eq!(errs.len(), 1, "40 devices, 39 units left");
    assert_eq!(errs[0]["@odata.type"], "#microsoft.graph.device");
    assert_eq!(
        errs[0]["displayName"], "WH-040",
        "devices are licensed in member order"
    );
    let filtered = env
        .get("/v1.0/groups?$filter=hasMembersWithLicenseErrors eq true&$select=id")
        .await
        .json();
    assert_eq!(filtered["value"][0]["id"], WAREHOUSE);
}

#[tokio::test]
async fn the_contoso_plan_swaps_revokes_and_frees_units() {
    let env = Env::contoso().await;
    // Swap Training Center: EDU -> DEVICE1 in one call.
    let r = assign(
        &env,
        TRAINING,
        json!({"addLicenses": [{"skuId": DEVICE1, "disabledPlans": []}], "removeLicenses": [EDU]}),
    )
    .await;
    assert_eq!(r.status, 202);
    assert_eq!(consumed(&env, EDU).await, 0);
    assert_eq!(consumed(&env, DEVICE1).await, 91);
    // Assign the warehouse: only 9 units left, 31 devices wait.
    assign(
        &env,
        WAREHOUSE,
        json!({"addLicenses": [{"skuId": DEVICE1, "disabledPlans": []}], "removeLicenses": []}),
    )
    .await;
    assert_eq!(consumed(&env, DEVICE1).await, 100);
    let errs = env
        .get(&format!(
            "/v1.0/groups/{WAREHOUSE}/membersWithLicenseErrors?$top=999"
        ))
        .await
        .json();
    assert_eq!(errs["value"].as_array().unwrap().len(), 31);
    // Revoke the call center: 25 units go to waiting warehouse devices.
    let r = assign(
        &env,
        CALL_CENTER,
        json!({"addLicenses": [], "removeLicenses": [DEVICE1]}),
    )
    .await;
    assert_eq!(r.status, 202);
    assert_eq!(consumed(&env, DEVICE1).await, 100);
    let errs = env
        .get(&format!(
            "/v1.0/groups/{WAREHOUSE}/membersWithLicenseErrors"
        ))
        .await
        .json();
    assert_eq!(
        errs["value"].as_array().unwrap().len(),
        6,
        "short by 6, as the plan's capacity warning says"
    );
    let t = env.sim.tenant_state();
    let wh = t.groups.iter().find(|g| g.id == WAREHOUSE).unwrap();
    assert_eq!(wh.assigned_licenses[0].sku_id, DEVICE1);
    assert_eq!(t.subscribed_skus[0].consumed_units, 100);
    assert_eq!(env.sim.stats().writes_applied, 3);
}

#[tokio::test]
async fn a_device_in_two_groups_consumes_one_unit() {
    let mut tenant = crate::fixture("contoso");
    let kiosk_device = tenant.groups[0].members[0].clone();
    tenant.groups[1].members.push(kiosk_device.clone());
    let sim = devlic_graph_sim::Sim::start(tenant, SimConfig::default())
        .await
        .unwrap();
    let env = Env {
        token: sim.issue_token(),
        sim,
        http: reqwest::Client::new(),
    };
    assign(
        &env,
        WAREHOUSE,
        json!({"addLicenses": [{"skuId": DEVICE1, "disabledPlans": []}], "removeLicenses": []}),
    )
    .await;
    assert_eq!(consumed(&env, DEVICE1).await, 100);
    let errs = env
        .get(&format!(
            "/v1.0/groups/{WAREHOUSE}/membersWithLicenseErrors"
        ))
        .await
        .json();
    // 41 members, one already licensed through the kiosks: 40 new units needed, 39 free.
    // Counting the shared device twice would leave two devices without a license.
    let errs = errs["value"].as_array().unwrap();
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0]["displayName"], "WH-040");
    assert!(env.sim.device_licenses()[&kiosk_device].contains(&DEVICE1.to_owned()));
    // Removing the kiosk group's license keeps the shared device licensed through the warehouse.
    assign(
        &env,
        KIOSKS,
        json!({"addLicenses": [], "removeLicenses": [DEVICE1]}),
    )
    .await;
    assert!(env.sim.device_licenses()[&kiosk_device].contains(&DEVICE1.to_owned()));
}

#[tokio::test]
async fn read_after_write_lag_shows_the_old_state() {
    let env = Env::start(
        "contoso",
        SimConfig {
            frozen_clock: true,
            ..SimConfig::default()
        },
    )
    .await;
    env.sim.set_faults(Faults {
        read_after_write_lag: Some(Duration::from_secs(30)),
        ..Faults::default()
    });
    assign(
        &env,
        WAREHOUSE,
        json!({"addLicenses": [{"skuId": DEVICE1, "disabledPlans": []}], "removeLicenses": []}),
    )
    .await;
    let g = env
        .get(&format!(
            "/v1.0/groups/{WAREHOUSE}?$select=assignedLicenses"
        ))
        .await
        .json();
    assert!(
        g["assignedLicenses"].as_array().unwrap().is_empty(),
        "stale read"
    );
    env.sim.advance_clock(Duration::from_secs(29));
    let g = env
        .get(&format!(
            "/v1.0/groups/{WAREHOUSE}?$select=assignedLicenses"
        ))
        .await
        .json();
    assert!(
        g["assignedLicenses"].as_array().unwrap().is_empty(),
        "still stale a second before the lag ends"
    );
    env.sim.advance_clock(Duration::from_secs(1));
    let g = env
        .get(&format!(
            "/v1.0/groups/{WAREHOUSE}?$select=assignedLicenses"
        ))
        .await
        .json();
    assert_eq!(g["assignedLicenses"][0]["skuId"], DEVICE1);
}

#[tokio::test]
async fn the_clock_can_be_frozen_and_advanced_over_the_control_api() {
    let config = SimConfig {
        processing_delay: Duration::from_secs(10),
        ..SimConfig::default()
    };
    let env = Env::start("contoso", config).await;
    let clock = |body: Value| {
        let http = env.http.clone();
        let url = format!("{}/_sim/clock", env.sim.url());
        async move {
            let r = http.post(url).json(&body).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, v) = clock(json!({"freeze": true})).await;
    assert_eq!(status, 200);
    assert_eq!(v, json!({"frozen": true, "advancedMs": 0}));
    assign(
        &env,
        WAREHOUSE,
        json!({"addLicenses": [{"skuId": DEVICE1, "disabledPlans": []}], "removeLicenses": []}),
    )
    .await;
    assert_eq!(state(&env, WAREHOUSE).await, "QueuedForProcessing");
    let (_, v) = clock(json!({"advanceMs": 10_000})).await;
    assert_eq!(v, json!({"frozen": true, "advancedMs": 10_000}));
    assert_eq!(state(&env, WAREHOUSE).await, "ProcessingComplete");
    assert_eq!(consumed(&env, DEVICE1).await, 100);
    let (status, v) = clock(json!({"advance": 1})).await;
    assert_eq!(status, 400, "unknown fields are refused: {v}");
    let r = env.get("/_sim/clock").await;
    assert_eq!(r.json(), json!({"frozen": true, "advancedMs": 10_000}));
}
