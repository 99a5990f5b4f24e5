//! Beta cloudLicensing: allotments, assignments, waiting members, and the "one licensing
//! system" property (GDC: cloudlicensing-allotment.md, cloudlicensing-assignment.md,
//! cloudlicensing-groupcloudlicensing-post-assignments.md, cloudlicensing-assignment-delete.md,
//! cloudlicensing-allotment-list-waitingmembers.md).

use devlic_graph_sim::{Faults, Sim, SimConfig};
use serde_json::{Value, json};

use crate::{CALL_CENTER, DEVICE1, EDU, Env, KIOSKS, TRAINING, WAREHOUSE, fixture};

const D1_ALLOTMENT: &str = "default-ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7";
const EDU_ALLOTMENT: &str = "default-e6564056-c8cb-4977-a87c-45c90fe87ea9";

fn bind(env: &Env, allotment: &str) -> String {
    format!(
        "{}/beta/admin/cloudLicensing/allotments/{allotment}",
        env.sim.url()
    )
}

async fn create(env: &Env, group: &str, allotment: &str) -> crate::Reply {
    env.send(
        "POST",
        &format!("/beta/groups/{group}/cloudLicensing/assignments"),
        &[],
        Some(json!({
            "@odata.type": "#microsoft.graph.cloudLicensing.assignment",
            "allotment@odata.bind": bind(env, allotment),
            "disabledServicePlanIds": [],
        })),
    )
    .await
}

async fn group_assignments(env: &Env, group: &str) -> Vec<Value> {
    env.get(&format!(
        "/beta/groups/{group}/cloudLicensing/assignments?$expand=allotment($select=id,skuId)"
    ))
    .await
    .json()["value"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn v1_skus(env: &Env, group: &str) -> Vec<String> {
    let v = env
        .get(&format!("/v1.0/groups/{group}?$select=assignedLicenses"))
        .await
        .json();
    v["assignedLicenses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["skuId"].as_str().unwrap().to_owned())
        .collect()
}

async fn allotment(env: &Env, id: &str) -> Value {
    env.get(&format!("/beta/admin/cloudLicensing/allotments/{id}"))
        .await
        .json()
}

#[tokio::test]
async fn allotments_have_graphs_shape_select_filter_and_paging() {
    let env = Env::contoso().await;
    let r = env.get("/beta/admin/cloudLicensing/allotments").await;
    assert_eq!(r.status, 200);
    let all = r.json()["value"].as_array().unwrap().clone();
    assert_eq!(all.len(), 3, "one default allotment per subscribedSku");
    let d1 = all.iter().find(|a| a["id"] == D1_ALLOTMENT).unwrap();
    assert_eq!(
        d1["@odata.type"],
        "#microsoft.graph.cloudLicensing.allotment"
    );
    assert_eq!(d1["skuId"], DEVICE1);
    assert_eq!(d1["skuPartNumber"], "OFFICE_PROPLUS_DEVICE1");
    assert_eq!(d1["allottedUnits"], 100);
    assert_eq!(d1["consumedUnits"], 61);
    assert_eq!(d1["assignableTo"], "group,device");
    assert!(d1["services"].as_array().is_some_and(|s| !s.is_empty()));
    let e3 = all.iter().find(|a| a["skuPartNumber"] == "SPE_E3").unwrap();
    assert_eq!(e3["assignableTo"], "user,group");

    let r = env
        .get("/beta/admin/cloudLicensing/allotments?$select=id,skuId&$top=2")
        .await;
    let page = r.json();
    assert_eq!(page["value"].as_array().unwrap().len(), 2);
    assert!(page["value"][0].get("allottedUnits").is_none());
    let next = page["@odata.nextLink"].as_str().expect("a second page");
    let rest = env.get(next).await.json();
    assert_eq!(rest["value"].as_array().unwrap().len(), 1);

    let r = env
        .get(&format!(
            "/beta/admin/cloudLicensing/allotments?$filter=skuId eq {EDU}"
        ))
        .await;
    assert_eq!(r.json()["value"].as_array().unwrap().len(), 1);
    let r = env
        .get("/beta/admin/cloudLicensing/allotments?$select=nope")
        .await;
    assert_eq!(r.status, 400);
    let r = env.get("/v1.0/admin/cloudLicensing/allotments").await;
    assert_eq!(r.status, 400, "cloudLicensing is beta only");
    let r = env
        .get("/beta/admin/cloudLicensing/allotments/unknown")
        .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn explicit_allotments_from_the_tenant_file() {
    let mut tenant = fixture("contoso");
    tenant.allotments = serde_json::from_value(json!([
        {"id": "d1-a", "skuId": DEVICE1, "allottedUnits": 70, "consumedUnits": 61,
         "assignableTo": "group,device", "subscriptions": [{"subscriptionId": "sub-a"}]},
        {"id": "d1-b", "skuId": DEVICE1, "allottedUnits": 30, "consumedUnits": 0,
         "assignableTo": "device", "subscriptions": [{"subscriptionId": "sub-b", "state": "warning"}]}
    ]))
    .unwrap();
    let sim = Sim::start(tenant, SimConfig::default()).await.unwrap();
    let env = Env {
        token: sim.issue_token(),
        sim,
        http: reqwest::Client::new(),
    };
    let a = allotment(&env, "d1-a").await;
    assert_eq!(
        (a["allottedUnits"].as_i64(), a["consumedUnits"].as_i64()),
        (Some(70), Some(61))
    );
    assert_eq!(a["subscriptions"][0]["subscriptionId"], "sub-a");
    assert_eq!(a["subscriptions"][0]["state"], "active");
    let b = allotment(&env, "d1-b").await;
    assert_eq!(b["subscriptions"][0]["state"], "warning");
    // Group assignments in the file draw from the first allotment assignable to groups.
    let a_assignments = env
        .get(
            "/beta/admin/cloudLicensing/allotments/d1-a/assignments?$expand=assignedTo($select=id)",
        )
        .await
        .json();
    assert_eq!(a_assignments["value"].as_array().unwrap().len(), 4);
    assert_eq!(a_assignments["value"][0]["assignedTo"]["id"], KIOSKS);
    // d1-b is device-only: groups cannot be assigned from it.
    let r = create(&env, WAREHOUSE, "d1-b").await;
    assert_eq!(r.status, 400, "{}", r.text);
    let mut bad = fixture("contoso");
    bad.allotments = serde_json::from_value(json!([
        {"id": "x", "skuId": DEVICE1, "allottedUnits": 1, "consumedUnits": 1000, "assignableTo": "device"}
    ]))
    .unwrap();
    assert!(devlic_graph_sim::Tenant::from_json(&bad.to_json()).is_err());
}

#[tokio::test]
async fn one_licensing_system_v1_to_cloud_and_back() {
    let env = Env::contoso_with_admin_cloud_writes().await;
    // v1.0 holders show as assignments of the SKU's allotment.
    let kiosks = group_assignments(&env, KIOSKS).await;
    assert_eq!(kiosks.len(), 1);
    assert_eq!(kiosks[0]["allotment"]["id"], D1_ALLOTMENT);
    assert_eq!(kiosks[0]["allotment"]["skuId"], DEVICE1);
    assert_eq!(kiosks[0]["disabledServicePlanIds"], json!([]));

    // A v1.0 assignLicense shows in the cloud view...
    let r = env
        .send(
            "POST",
            &format!("/v1.0/groups/{WAREHOUSE}/assignLicense"),
            &[],
            Some(json!({"addLicenses": [{"skuId": DEVICE1, "disabledPlans": []}], "removeLicenses": []})),
        )
        .await;
    assert_eq!(r.status, 202);
    assert_eq!(group_assignments(&env, WAREHOUSE).await.len(), 1);
    // 61 + 40 = 101 > 100 units: the allotment is full, one device waits.
    assert_eq!(allotment(&env, D1_ALLOTMENT).await["consumedUnits"], 100);

    // ...and a cloud assignment shows in v1.0 assignedLicenses, consuming the same units.
    let r = create(&env, TRAINING, D1_ALLOTMENT).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let created = r.json();
    assert_eq!(
        created["@odata.type"],
        "#microsoft.graph.cloudLicensing.assignment"
    );
    let id = created["id"].as_str().unwrap().to_owned();
    let mut skus = v1_skus(&env, TRAINING).await;
    skus.sort();
    assert_eq!(
        skus,
        vec![EDU.to_owned(), DEVICE1.to_owned()],
        "holds both until the old one goes"
    );
    // A second assignment of the same SKU is refused.
    assert_eq!(create(&env, TRAINING, D1_ALLOTMENT).await.status, 409);

    // Delete the old (EDU) assignment through the admin route.
    let edu = group_assignments(&env, TRAINING)
        .await
        .into_iter()
        .find(|a| a["allotment"]["id"] == EDU_ALLOTMENT)
        .unwrap();
    let r = env
        .send(
            "DELETE",
            &format!(
                "/beta/admin/cloudLicensing/assignments/{}",
                edu["id"].as_str().unwrap()
            ),
            &[],
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(v1_skus(&env, TRAINING).await, vec![DEVICE1.to_owned()]);
    assert_eq!(allotment(&env, EDU_ALLOTMENT).await["consumedUnits"], 0);
    // Deleting again: 404. Deleting through the wrong group: 404.
    let again = format!(
        "/beta/admin/cloudLicensing/assignments/{}",
        edu["id"].as_str().unwrap()
    );
    assert_eq!(env.send("DELETE", &again, &[], None).await.status, 404);
    let wrong = format!("/beta/groups/{KIOSKS}/cloudLicensing/assignments/{id}");
    assert_eq!(env.send("DELETE", &wrong, &[], None).await.status, 404);
    // The group route deletes too.
    let right = format!("/beta/groups/{TRAINING}/cloudLicensing/assignments/{id}");
    assert_eq!(env.send("DELETE", &right, &[], None).await.status, 204);
    assert!(v1_skus(&env, TRAINING).await.is_empty());
    // Every write was counted.
    assert_eq!(env.sim.stats().writes_applied, 4);
}

#[tokio::test]
async fn over_assignment_puts_devices_in_waiting_members_and_count_violation() {
    let env = Env::contoso().await;
    // 61 used of 100: Warehouse (40) fits, Training (30) does not entirely: 1 unit short...
    // 61 + 40 = 101 > 100, so one Warehouse device waits.
    assert_eq!(create(&env, WAREHOUSE, D1_ALLOTMENT).await.status, 201);
    let waiting = env
        .get(&format!(
            "/beta/admin/cloudLicensing/allotments/{D1_ALLOTMENT}/waitingMembers?$expand=assignedTo($select=id)"
        ))
        .await
        .json();
    let members = waiting["value"].as_array().unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(
        members[0]["@odata.type"],
        "#microsoft.graph.cloudLicensing.waitingMember"
    );
    assert!(members[0]["waitingSinceDateTime"].as_str().is_some());
    let device = members[0]["assignedTo"]["id"].as_str().unwrap().to_owned();
    let errors = env
        .get(&format!(
            "/v1.0/groups/{WAREHOUSE}/membersWithLicenseErrors?$select=id"
        ))
        .await
        .json();
    assert_eq!(errors["value"][0]["id"], device.as_str());
    assert_eq!(allotment(&env, D1_ALLOTMENT).await["consumedUnits"], 100);
    // Freeing units (revoking the call center) lets the waiting device in.
    let call_center = group_assignments(&env, CALL_CENTER).await;
    let path = format!(
        "/beta/groups/{CALL_CENTER}/cloudLicensing/assignments/{}",
        call_center[0]["id"].as_str().unwrap()
    );
    assert_eq!(env.send("DELETE", &path, &[], None).await.status, 204);
    let waiting = env
        .get(&format!(
            "/beta/admin/cloudLicensing/allotments/{D1_ALLOTMENT}/waitingMembers"
        ))
        .await
        .json();
    assert_eq!(waiting["value"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn create_validates_like_graph() {
    let env = Env::contoso().await;
    let path = format!("/beta/groups/{WAREHOUSE}/cloudLicensing/assignments");
    let cases = [
        json!({"disabledServicePlanIds": []}),
        json!({"allotment@odata.bind": bind(&env, D1_ALLOTMENT)}),
        json!({"allotment@odata.bind": "not a url", "disabledServicePlanIds": []}),
        json!({"allotment@odata.bind": bind(&env, D1_ALLOTMENT), "disabledServicePlanIds": ["nope"]}),
        json!({"allotment@odata.bind": bind(&env, D1_ALLOTMENT), "disabledServicePlanIds": ["00000000-0000-4000-8000-000000000000"]}),
    ];
    for body in cases {
        let r = env.send("POST", &path, &[], Some(body.clone())).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        assert!(r.json()["error"]["innerError"]["request-id"].is_string());
    }
    let r = env
        .send("POST", &path, &[], Some(json!({"allotment@odata.bind": bind(&env, "missing"), "disabledServicePlanIds": []})))
        .await;
    assert_eq!(r.status, 404);
    let r = create(&env, "1a2b3c4d-0099-4a5b-8c6d-000000000099", D1_ALLOTMENT).await;
    assert_eq!(r.status, 404);
    let r = env
        .get(&format!(
            "/beta/groups/{KIOSKS}/cloudLicensing/assignments?$expand=nope"
        ))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(env.sim.stats().writes_applied, 0);
}

#[tokio::test]
async fn faults_apply_to_cloud_writes() {
    let env = Env::contoso().await;
    env.sim.set_faults(Faults {
        lost_write_rate: 1.0,
        ..Faults::default()
    });
    // The write lands, but the response is cut: the client cannot read the body.
    let url = format!(
        "{}/beta/groups/{WAREHOUSE}/cloudLicensing/assignments",
        env.sim.url()
    );
    let sent = env
        .http
        .post(url)
        .bearer_auth(&env.token)
        .json(&json!({"allotment@odata.bind": bind(&env, D1_ALLOTMENT), "disabledServicePlanIds": []}))
        .send()
        .await;
    let body = match sent {
        Ok(r) => r.text().await.is_ok(),
        Err(_) => false,
    };
    assert!(!body, "the response must be lost");
    env.sim.set_faults(Faults::default());
    assert_eq!(
        group_assignments(&env, WAREHOUSE).await.len(),
        1,
        "but the write landed"
    );
    assert_eq!(env.sim.stats().faults.lost_writes, 1);
    // Throttling hits the beta routes too.
    env.sim.set_faults(Faults {
        throttle_rate: 1.0,
        ..Faults::default()
    });
    let r = env.get("/beta/admin/cloudLicensing/allotments").await;
    assert_eq!(r.status, 429);
    assert!(r.headers.get("retry-after").is_some());
}

#[tokio::test]
async fn nested_group_counts_are_served() {
    let env = Env::contoso().await;
    for rel in ["members", "transitiveMembers"] {
        let r = env
            .get_eventual(&format!(
                "/v1.0/groups/{KIOSKS}/{rel}/microsoft.graph.group/$count"
            ))
            .await;
        assert_eq!((r.status, r.text.as_str()), (200, "0"), "{rel}");
        let r = env
            .get(&format!(
                "/v1.0/groups/{KIOSKS}/{rel}/microsoft.graph.group/$count"
            ))
            .await;
        assert_eq!(r.status, 400, "$count needs ConsistencyLevel: eventual");
        let r = env
            .get(&format!(
                "/v1.0/groups/{KIOSKS}/{rel}/microsoft.graph.group"
            ))
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["value"].as_array().unwrap().len(), 0);
    }
}

/// Every answer carries the content type Graph gives it (the client refuses JSON not labelled
/// as JSON): JSON with OData parameters, `$count` as text/plain, a 204 with none at all, and
/// the same labels on `$batch` items.
#[tokio::test]
async fn every_answer_is_labelled_as_graph_labels_it() {
    let env = Env::contoso().await;
    let ct = |r: &crate::Reply| {
        r.headers
            .get("content-type")
            .map(|v| v.to_str().expect("ASCII content type").to_owned())
    };
    let json_ct = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";
    let org = env.get("/v1.0/organization").await;
    assert_eq!(ct(&org).as_deref(), Some(json_ct));
    let missing = env
        .get("/v1.0/groups/00000000-0000-0000-0000-000000000000")
        .await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        ct(&missing).as_deref(),
        Some(json_ct),
        "error bodies are JSON"
    );
    let count = env
        .get_eventual(&format!("/v1.0/groups/{KIOSKS}/transitiveMembers/$count"))
        .await;
    assert_eq!(count.status, 200);
    assert_eq!(ct(&count).as_deref(), Some("text/plain"));

    let created = create(&env, WAREHOUSE, D1_ALLOTMENT).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(ct(&created).as_deref(), Some(json_ct));
    let id = created.json()["id"].as_str().expect("id").to_owned();
    let deleted = env
        .send(
            "DELETE",
            &format!("/beta/groups/{WAREHOUSE}/cloudLicensing/assignments/{id}"),
            &[],
            None,
        )
        .await;
    assert_eq!(deleted.status, 204);
    assert_eq!(ct(&deleted), None, "a 204 has no body to label");
    assert!(deleted.text.is_empty());

    let batch = env
        .send(
            "POST",
            "/v1.0/$batch",
            &[],
            Some(json!({"requests": [
                {"id": "1", "method": "GET", "url": "/organization"},
                {"id": "2", "method": "GET", "url": format!("/groups/{KIOSKS}/transitiveMembers/$count"),
                 "headers": {"ConsistencyLevel": "eventual"}},
            ]})),
        )
        .await;
    assert_eq!(ct(&batch).as_deref(), Some(json_ct));
    let items = batch.json()["responses"]
        .as_array()
        .expect("responses")
        .clone();
    for item in items {
        let expected = if item["id"] == "2" {
            "text/plain"
        } else {
            json_ct
        };
        assert_eq!(item["headers"]["Content-Type"], expected, "{item}");
    }
}
