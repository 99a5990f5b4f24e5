//! The beta cloudLicensing pages, route by route: GET of one assignment
//! (cloudlicensing-assignment-get.md), PATCH of its disabled plans
//! (cloudlicensing-assignment-update.md), the group- and allotment-scoped deletes
//! (cloudlicensing-assignment-delete.md), the nested `$expand=allotment($filter=...)`
//! (cloudlicensing-admincloudlicensing-list-assignments.md, example 3), device usage rights
//! (cloudlicensing-devicecloudlicensing-list-usagerights.md) and the `graph.*` cast aliases.

use serde_json::{Value, json};

use crate::{CALL_CENTER, DEVICE1, EDU, Env, KIOSKS, TRAINING, WAREHOUSE, fixture};

const D1_ALLOTMENT: &str = "default-ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7";
const EDU_ALLOTMENT: &str = "default-e6564056-c8cb-4977-a87c-45c90fe87ea9";
const D1_PLAN: &str = "3c994f28-87d5-4273-b07a-eb6190852599";

async fn assignment_of(env: &Env, group: &str) -> String {
    env.get(&format!("/beta/groups/{group}/cloudLicensing/assignments"))
        .await
        .json()["value"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn patch(env: &Env, path: &str, body: Value) -> crate::Reply {
    env.send("PATCH", path, &[], Some(body)).await
}

#[tokio::test]
async fn one_assignment_on_every_documented_route() {
    let env = Env::contoso().await;
    let id = assignment_of(&env, KIOSKS).await;
    for path in [
        format!("/beta/admin/cloudLicensing/assignments/{id}"),
        format!("/beta/admin/cloudLicensing/allotments/{D1_ALLOTMENT}/assignments/{id}"),
        format!("/beta/groups/{KIOSKS}/cloudLicensing/assignments/{id}"),
    ] {
        let r = env.get(&path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        let v = r.json();
        assert_eq!(v["id"], id.as_str());
        assert_eq!(
            v["@odata.type"],
            "#microsoft.graph.cloudLicensing.assignment"
        );
        assert_eq!(v["disabledServicePlanIds"], json!([]));
        assert!(
            v.get("allotment").is_none(),
            "relationships only with $expand"
        );
    }
    let v = env
        .get(&format!(
            "/beta/admin/cloudLicensing/assignments/{id}?$select=id&$expand=allotment($select=id,skuId),assignedTo"
        ))
        .await
        .json();
    assert_eq!(v["allotment"]["id"], D1_ALLOTMENT);
    assert_eq!(v["allotment"]["skuId"], DEVICE1);
    assert!(
        v["allotment"].get("allottedUnits").is_none(),
        "nested $select"
    );
    assert_eq!(v["assignedTo"]["id"], KIOSKS);
    assert!(v.get("disabledServicePlanIds").is_none(), "$select applies");
    // Scoped routes reach only their own assignments.
    for path in [
        format!("/beta/groups/{WAREHOUSE}/cloudLicensing/assignments/{id}"),
        format!("/beta/admin/cloudLicensing/allotments/{EDU_ALLOTMENT}/assignments/{id}"),
        "/beta/admin/cloudLicensing/assignments/c10d0000-a55e-4000-8000-0000000fffff".to_owned(),
    ] {
        let r = env.get(&path).await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (404, "Request_ResourceNotFound"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn patch_updates_disabled_plans_and_shows_in_both_apis() {
    let env = Env::contoso_with_admin_cloud_writes().await;
    let id = assignment_of(&env, KIOSKS).await;
    let path = format!("/beta/groups/{KIOSKS}/cloudLicensing/assignments/{id}");
    let r = patch(
        &env,
        &path,
        json!({"disabledServicePlanIds": [D1_PLAN.to_uppercase()]}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["id"], id.as_str());
    assert_eq!(r.json()["disabledServicePlanIds"], json!([D1_PLAN]));
    let v1 = env
        .get(&format!("/v1.0/groups/{KIOSKS}?$select=assignedLicenses"))
        .await
        .json();
    assert_eq!(v1["assignedLicenses"][0]["disabledPlans"], json!([D1_PLAN]));
    assert_eq!(env.sim.stats().writes_applied, 1);

    // Back to all plans enabled, through the admin route.
    let admin = format!("/beta/admin/cloudLicensing/assignments/{id}");
    let r = patch(&env, &admin, json!({"disabledServicePlanIds": []})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["disabledServicePlanIds"], json!([]));

    let bad = [
        (json!({}), "required"),
        (
            json!({"disabledServicePlanIds": ["not-a-guid"]}),
            "Invalid value",
        ),
        (
            json!({"disabledServicePlanIds": ["00000000-1111-4222-8333-444444444444"]}),
            "does not belong",
        ),
        (
            json!({"disabledServicePlanIds": [], "allotment@odata.bind": format!("{}/beta/admin/cloudLicensing/allotments/{EDU_ALLOTMENT}", env.sim.url())}),
            "cannot be changed",
        ),
    ];
    for (body, says) in bad {
        let r = patch(&env, &path, body.clone()).await;
        assert_eq!(r.status, 400, "{body}");
        assert!(r.text.contains(says), "{body}: {}", r.text);
    }
    let other = format!("/beta/groups/{WAREHOUSE}/cloudLicensing/assignments/{id}");
    assert_eq!(
        patch(&env, &other, json!({"disabledServicePlanIds": []}))
            .await
            .status,
        404
    );
    assert_eq!(
        env.sim.stats().writes_applied,
        2,
        "refused updates change nothing"
    );
}

#[tokio::test]
async fn the_documented_identity_updates_on_the_group_route_only() {
    let env = Env::contoso().await;
    let token = env.sim.issue_token_for("devlic-apply-cloud").unwrap();
    let id = assignment_of(&env, KIOSKS).await;
    let send = |path: String| {
        let http = env.http.clone();
        let url = format!("{}{path}", env.sim.url());
        let token = token.clone();
        async move {
            http.patch(url)
                .bearer_auth(token)
                .json(&json!({"disabledServicePlanIds": [D1_PLAN]}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        send(format!("/beta/admin/cloudLicensing/assignments/{id}")).await,
        403
    );
    assert_eq!(
        send(format!(
            "/beta/groups/{KIOSKS}/cloudLicensing/assignments/{id}"
        ))
        .await,
        200
    );
}

#[tokio::test]
async fn scoped_deletes_reach_only_their_own_assignments() {
    let env = Env::contoso_with_admin_cloud_writes().await;
    let id = assignment_of(&env, CALL_CENTER).await;
    let wrong_group = format!("/beta/groups/{KIOSKS}/cloudLicensing/assignments/{id}");
    assert_eq!(
        env.send("DELETE", &wrong_group, &[], None).await.status,
        404
    );
    let wrong_pool =
        format!("/beta/admin/cloudLicensing/allotments/{EDU_ALLOTMENT}/assignments/{id}");
    assert_eq!(env.send("DELETE", &wrong_pool, &[], None).await.status, 404);
    let right_pool =
        format!("/beta/admin/cloudLicensing/allotments/{D1_ALLOTMENT}/assignments/{id}");
    assert_eq!(env.send("DELETE", &right_pool, &[], None).await.status, 204);
    let group = format!("/beta/groups/{CALL_CENTER}/cloudLicensing/assignments/{id}");
    assert_eq!(
        env.send("DELETE", &group, &[], None).await.status,
        404,
        "already gone"
    );
    assert_eq!(env.sim.stats().writes_applied, 1);
}

#[tokio::test]
async fn assignments_filtered_by_their_allotments_sku() {
    let env = Env::contoso().await;
    let ids = |v: Value| -> Vec<String> {
        v["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["assignedTo"]["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = env
        .get("/beta/admin/cloudLicensing/assignments?$expand=assignedTo($select=id)")
        .await
        .json();
    assert!(ids(all.clone()).contains(&TRAINING.to_owned()));
    let d1 = env
        .get(&format!(
            "/beta/admin/cloudLicensing/assignments?$expand=assignedTo($select=id),allotment($filter=skuId in ({DEVICE1}, 00000000-1111-4222-8333-444444444444))"
        ))
        .await;
    assert_eq!(d1.status, 200, "{}", d1.text);
    let d1 = d1.json();
    assert!(
        !ids(d1.clone()).contains(&TRAINING.to_owned()),
        "EDU assignment filtered out"
    );
    assert!(ids(d1.clone()).contains(&KIOSKS.to_owned()));
    assert!(
        d1["value"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["allotment"]["skuId"] == DEVICE1)
    );
    let edu = env
        .get(&format!(
            "/beta/admin/cloudLicensing/assignments?$expand=allotment($select=id;$filter=skuId eq '{EDU}'),assignedTo($select=id)"
        ))
        .await
        .json();
    assert_eq!(ids(edu.clone()), vec![TRAINING.to_owned()]);
    assert_eq!(edu["value"][0]["allotment"]["id"], EDU_ALLOTMENT);
    assert!(
        edu["value"][0]["allotment"].get("skuId").is_none(),
        "nested $select"
    );
    for bad in [
        "$expand=allotment($filter=consumedUnits gt 1)",
        "$expand=assignedTo($filter=id eq 'x')",
    ] {
        let r = env
            .get(&format!("/beta/admin/cloudLicensing/assignments?{bad}"))
            .await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (400, "Request_UnsupportedQuery"),
            "{bad}"
        );
    }
    let allotments = env
        .get(&format!(
            "/beta/admin/cloudLicensing/allotments?$select=id&$filter=skuId in ({DEVICE1}, {EDU})"
        ))
        .await
        .json();
    assert_eq!(allotments["value"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn device_usage_rights_follow_group_licenses() {
    let env = Env::contoso().await;
    let tenant = fixture("contoso");
    let group = |id: &str| tenant.groups.iter().find(|g| g.id == id).unwrap().clone();
    let kiosk = group(KIOSKS).members[0].clone();
    let warehouse = group(WAREHOUSE).members[0].clone();
    let rights = |device: String, query: &'static str| {
        let env = &env;
        async move {
            env.get(&format!(
                "/beta/devices/{device}/cloudLicensing/usageRights{query}"
            ))
            .await
        }
    };
    let r = rights(kiosk.clone(), "").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    let list = v["value"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(
        list[0]["@odata.type"],
        "#microsoft.graph.cloudLicensing.usageRight"
    );
    assert_eq!(list[0]["skuId"], DEVICE1);
    assert_eq!(list[0]["skuPartNumber"], "OFFICE_PROPLUS_DEVICE1");
    assert_eq!(list[0]["services"][0]["planId"], D1_PLAN);
    let none = rights(warehouse.clone(), "").await.json();
    assert_eq!(
        none["value"],
        json!([]),
        "an unlicensed group grants nothing"
    );
    let filtered = rights(
        kiosk.clone(),
        "?$filter=skuId eq e6564056-c8cb-4977-a87c-45c90fe87ea9",
    )
    .await;
    assert_eq!(filtered.json()["value"], json!([]));
    // Disabling the SKU's only plan leaves the right without services.
    let id = assignment_of(&env, KIOSKS).await;
    let path = format!("/beta/groups/{KIOSKS}/cloudLicensing/assignments/{id}");
    patch(&env, &path, json!({"disabledServicePlanIds": [D1_PLAN]})).await;
    let v = rights(kiosk.clone(), "?$select=skuId,services")
        .await
        .json();
    assert_eq!(v["value"][0]["skuId"], DEVICE1);
    assert_eq!(v["value"][0]["services"], json!([]));
    assert!(
        v["value"][0].get("skuPartNumber").is_none(),
        "$select applies"
    );
    let r = rights("00000000-0000-4000-8000-00000000abcd".to_owned(), "").await;
    assert_eq!(r.status, 404);
    // The documented permission: CloudLicensing-UsageRights.Read.All, not the plan identity's.
    let plan = env.sim.issue_token_for("devlic-plan-cloud").unwrap();
    let status = env
        .http
        .get(format!(
            "{}/beta/devices/{kiosk}/cloudLicensing/usageRights",
            env.sim.url()
        ))
        .bearer_auth(plan)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 403);
}

#[tokio::test]
async fn kiota_cast_aliases_are_accepted() {
    let env = Env::contoso().await;
    for (path, want) in [
        (
            format!("/v1.0/groups/{WAREHOUSE}/members/graph.device/$count"),
            "40",
        ),
        (
            format!("/v1.0/groups/{WAREHOUSE}/transitiveMembers/microsoft.graph.device/$count"),
            "40",
        ),
        (
            format!("/v1.0/groups/{WAREHOUSE}/members/graph.group/$count"),
            "0",
        ),
    ] {
        let r = env.get_eventual(&path).await;
        assert_eq!((r.status, r.text.as_str()), (200, want), "{path}");
    }
    let v = env
        .get(&format!(
            "/v1.0/groups/{WAREHOUSE}/members/graph.device?$select=id&$top=1"
        ))
        .await
        .json();
    assert_eq!(v["value"][0]["@odata.type"], "#microsoft.graph.device");
}

/// A group may hold one SKU from two allotments (a move between subscriptions holds both for a
/// moment), each device then using a unit of each ("one license from each allotment to which
/// they're directly or indirectly assigned", resources/cloudlicensing-assignment.md); the same
/// allotment twice is refused.
#[tokio::test]
async fn one_sku_from_two_allotments_but_not_one_allotment_twice() {
    let text = std::fs::read_to_string(format!(
        "{}/../../tests/scenarios/allotment-move/tenant.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("tenant readable");
    let sim = devlic_graph_sim::Sim::start(
        devlic_graph_sim::Tenant::from_json(&text).expect("tenant valid"),
        devlic_graph_sim::SimConfig::default(),
    )
    .await
    .expect("sim starts");
    let token = sim.issue_token();
    let env = Env {
        sim,
        http: reqwest::Client::new(),
        token,
    };
    const STUDIO: &str = "5ca1ab1e-0001-4000-8000-0000000000d1";
    let post = |allotment: &str| {
        json!({
            "allotment@odata.bind": format!(
                "https://graph.microsoft.com/beta/admin/cloudLicensing/allotments/{allotment}"
            ),
            "disabledServicePlanIds": [],
        })
    };
    let path = format!("/beta/groups/{STUDIO}/cloudLicensing/assignments");
    assert_eq!(
        allotment_units(&env).await,
        vec![
            ("a11o7-2025-woodgrove".to_owned(), 10),
            ("a11o7-2026-woodgrove".to_owned(), 0)
        ]
    );
    let r = env
        .send("POST", &path, &[], Some(post("a11o7-2026-woodgrove")))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let held = env
        .get(&format!("{path}?$expand=allotment($select=id,skuId)"))
        .await
        .json();
    let mut pools: Vec<&str> = held["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["allotment"]["id"].as_str().unwrap())
        .collect();
    pools.sort_unstable();
    assert_eq!(pools, ["a11o7-2025-woodgrove", "a11o7-2026-woodgrove"]);
    // Every device of the studio now uses a unit of both allotments.
    assert_eq!(
        allotment_units(&env).await,
        vec![
            ("a11o7-2025-woodgrove".to_owned(), 10),
            ("a11o7-2026-woodgrove".to_owned(), 10)
        ]
    );
    let again = env
        .send("POST", &path, &[], Some(post("a11o7-2026-woodgrove")))
        .await;
    assert_eq!(again.status, 409, "{}", again.text);
    assert!(
        again.text.contains("a11o7-2026-woodgrove"),
        "{}",
        again.text
    );
}

/// `(allotment id, consumedUnits)` of every allotment, in listing order.
async fn allotment_units(env: &Env) -> Vec<(String, i64)> {
    let v = env
        .get("/beta/admin/cloudLicensing/allotments?$select=id,consumedUnits")
        .await
        .json();
    v["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["id"].as_str().unwrap().to_owned(),
                a["consumedUnits"].as_i64().unwrap(),
            )
        })
        .collect()
}
