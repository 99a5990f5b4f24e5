//! Reads: organization, subscribedSkus, groups with $select/$top/$filter/$count/paging,
//! members and counts (graph docs: group-list.md, group-get.md, subscribedsku-list.md,
//! organization-get.md, group-list-members.md, group-list-transitivemembers.md, paging.md,
//! aad-advanced-queries.md, errors.md).

use serde_json::Value;

use crate::{CALL_CENTER, DEVICE1, EDU, Env, KIOSKS, TRAINING, WAREHOUSE};

#[tokio::test]
async fn organization_has_id_name_and_domains() {
    let env = Env::contoso().await;
    let r = env.get("/v1.0/organization").await;
    assert_eq!(r.status, 200);
    let org = &r.json()["value"][0];
    assert_eq!(org["id"], "6f1c2a3b-0d4e-4f5a-9b8c-7d6e5f4a3b2c");
    assert_eq!(org["displayName"], "Contoso Ltd");
    let domains = org["verifiedDomains"].as_array().unwrap();
    assert!(
        domains
            .iter()
            .any(|d| d["name"] == "contoso.onmicrosoft.com" && d["isInitial"] == true)
    );
    assert!(
        domains
            .iter()
            .any(|d| d["name"] == "contoso.com" && d["isDefault"] == true)
    );
    assert!(
        r.json()["@odata.context"]
            .as_str()
            .unwrap()
            .starts_with(&env.sim.url())
    );
}

#[tokio::test]
async fn subscribed_skus_full_shape_and_select() {
    let env = Env::contoso().await;
    let r = env.get("/v1.0/subscribedSkus").await;
    assert_eq!(r.status, 200);
    let skus = r.json()["value"].as_array().unwrap().clone();
    let d1 = skus.iter().find(|s| s["skuId"] == DEVICE1).unwrap();
    assert_eq!(d1["skuPartNumber"], "OFFICE_PROPLUS_DEVICE1");
    assert_eq!(d1["consumedUnits"], 61);
    assert_eq!(d1["prepaidUnits"]["enabled"], 100);
    for k in ["suspended", "warning", "lockedOut"] {
        assert_eq!(d1["prepaidUnits"][k], 0, "{k}");
    }
    assert_eq!(d1["capabilityStatus"], "Enabled");
    assert_eq!(
        d1["id"],
        format!("6f1c2a3b-0d4e-4f5a-9b8c-7d6e5f4a3b2c_{DEVICE1}")
    );
    assert_eq!(
        d1["servicePlans"][0]["servicePlanName"],
        "OFFICE_PROPLUS_DEVICE"
    );
    assert!(d1.get("_comment").is_none());
    let sel = env
        .get("/v1.0/subscribedSkus?$select=skuId,consumedUnits")
        .await
        .json();
    let keys: Vec<&String> = sel["value"][0].as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 2, "{keys:?}");
}

#[tokio::test]
async fn group_default_properties_exclude_license_fields_unless_selected() {
    let env = Env::contoso().await;
    let g = env.get(&format!("/v1.0/groups/{KIOSKS}")).await.json();
    assert_eq!(g["displayName"], "Kiosks - Front Desk");
    assert_eq!(g["securityEnabled"], true);
    assert!(g.get("assignedLicenses").is_none());
    assert!(g.get("licenseProcessingState").is_none());
    assert!(
        g["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#groups/$entity")
    );
    let g = env
        .get(&format!(
            "/v1.0/groups/{KIOSKS}?$select=id,assignedLicenses,licenseProcessingState"
        ))
        .await
        .json();
    assert_eq!(g["assignedLicenses"][0]["skuId"], DEVICE1);
    assert_eq!(g["licenseProcessingState"]["state"], "ProcessingComplete");
    assert!(g.get("displayName").is_none());
    let wh = env
        .get(&format!(
            "/v1.0/groups/{WAREHOUSE}?$select=membershipRule,groupTypes"
        ))
        .await
        .json();
    assert_eq!(
        wh["membershipRule"],
        "(device.displayName -startsWith \"WH-\")"
    );
    assert_eq!(wh["groupTypes"][0], "DynamicMembership");
}

#[tokio::test]
async fn group_errors_not_found_bad_id_bad_select() {
    let env = Env::contoso().await;
    let r = env
        .get("/v1.0/groups/00000000-0000-4000-8000-000000000000")
        .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (404, "Request_ResourceNotFound")
    );
    let inner = &r.json()["error"]["innerError"];
    assert_eq!(
        inner["request-id"].as_str(),
        r.headers["request-id"].to_str().ok()
    );
    let r = env.get("/v1.0/groups/not-a-guid").await;
    assert_eq!((r.status, r.code().as_str()), (400, "Request_BadRequest"));
    let r = env
        .get(&format!("/v1.0/groups/{KIOSKS}?$select=bogus"))
        .await;
    assert_eq!((r.status, r.code().as_str()), (400, "Request_BadRequest"));
}

#[tokio::test]
async fn client_request_id_is_echoed() {
    let env = Env::contoso().await;
    let r = env
        .send(
            "GET",
            "/v1.0/organization",
            &[("client-request-id", "abc-123")],
            None,
        )
        .await;
    assert_eq!(r.headers["client-request-id"], "abc-123");
    assert!(uuid::Uuid::parse_str(r.headers["request-id"].to_str().unwrap()).is_ok());
}

#[tokio::test]
async fn top_bounds_like_graph() {
    let env = Env::contoso().await;
    for bad in ["0", "1000", "abc"] {
        let r = env.get(&format!("/v1.0/groups?$top={bad}")).await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (400, "Request_BadRequest"),
            "{bad}"
        );
    }
    assert_eq!(env.get("/v1.0/groups?$top=999").await.status, 200);
    let r = env.get("/v1.0/groups?$skip=2").await;
    assert_eq!(r.status, 400);
}

async fn ids(env: &Env, path: &str) -> Vec<String> {
    let r = env.get(path).await;
    assert_eq!(r.status, 200, "{path}: {}", r.text);
    r.json()["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn filters_select_the_right_groups() {
    let env = Env::contoso().await;
    let holders = ids(
        &env,
        &format!("/v1.0/groups?$filter=assignedLicenses/any(x:x/skuId eq {DEVICE1})&$select=id"),
    )
    .await;
    assert_eq!(holders.len(), 4);
    assert!(holders.contains(&KIOSKS.to_owned()) && holders.contains(&CALL_CENTER.to_owned()));
    let by_name = ids(
        &env,
        "/v1.0/groups?$filter=displayName eq 'training center pcs'",
    )
    .await;
    assert_eq!(by_name, vec![TRAINING.to_owned()]);
    let quoted = ids(
        &env,
        "/v1.0/groups?$filter=displayName in ('Kiosks - Front Desk', 'Nope''s group')",
    )
    .await;
    assert_eq!(quoted, vec![KIOSKS.to_owned()]);
    let by_id = ids(
        &env,
        &format!("/v1.0/groups?$filter=id in ('{KIOSKS}','{TRAINING}')"),
    )
    .await;
    assert_eq!(by_id.len(), 2);
    let sec = ids(&env, "/v1.0/groups?$filter=securityEnabled eq true").await;
    assert_eq!(sec.len(), 7, "the Unified group is not a security group");
    let combo = ids(&env, &format!("/v1.0/groups?$filter=securityEnabled eq true and assignedLicenses/any(s:s/skuId eq {EDU})")).await;
    assert_eq!(combo, vec![TRAINING.to_owned()]);
    let unified = ids(
        &env,
        "/v1.0/groups?$filter=groupTypes/any(c:c eq 'Unified')",
    )
    .await;
    assert_eq!(unified.len(), 1);
    let starts = ids(
        &env,
        "/v1.0/groups?$filter=startswith(displayName,'Lab') or startswith(displayName,'Kiosk')",
    )
    .await;
    assert_eq!(starts, vec![KIOSKS.to_owned()]);
}

#[tokio::test]
async fn unsupported_filters_are_refused_not_ignored() {
    let env = Env::contoso().await;
    let cases = [
        ("description eq 'x'", "Request_UnsupportedQuery"),
        ("nosuchProp eq 'x'", "Request_BadRequest"),
        ("displayName ne 'x'", "Request_UnsupportedQuery"),
        ("endswith(displayName,'PCs')", "Request_UnsupportedQuery"),
        (
            "assignedLicenses/any(x:x/skuId eq 'ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7')",
            "Request_BadRequest",
        ),
        ("displayName eq", "BadRequest"),
        ("displayName gt 'a'", "Request_UnsupportedQuery"),
    ];
    for (f, code) in cases {
        let r = env
            .get(&format!("/v1.0/groups?$filter={}", urlencode(f)))
            .await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (400, code),
            "{f}: {}",
            r.text
        );
    }
    let sixteen: Vec<String> = (0..16).map(|i| format!("'g{i}'")).collect();
    let r = env
        .get(&format!(
            "/v1.0/groups?$filter=displayName in ({})",
            sixteen.join(",")
        ))
        .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "Request_UnsupportedQuery")
    );
    let fifteen = &sixteen[..15];
    let r = env
        .get(&format!(
            "/v1.0/groups?$filter=displayName in ({})",
            fifteen.join(",")
        ))
        .await;
    assert_eq!(r.status, 200);
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn advanced_queries_need_count_and_eventual() {
    let env = Env::contoso().await;
    let path = "/v1.0/groups?$filter=displayName ne 'All Staff'&$count=true";
    assert_eq!(env.get(path).await.status, 400);
    let r = env.get_eventual(path).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["@odata.count"], 7);
    // $count=true without the header is ignored silently, as Graph does (no @odata.count).
    let r = env.get("/v1.0/groups?$count=true").await;
    assert_eq!(r.status, 200);
    assert!(r.json().get("@odata.count").is_none());
    let r = env
        .get_eventual("/v1.0/groups?$count=true&$top=3")
        .await
        .json();
    assert_eq!(r["@odata.count"], 8);
    let r = env.get("/v1.0/groups/$count").await;
    assert_eq!((r.status, r.code().as_str()), (400, "Request_BadRequest"));
    assert_eq!(env.get_eventual("/v1.0/groups/$count").await.text, "8");
}

#[tokio::test]
async fn paging_follows_next_links_on_the_sim_host() {
    let env = Env::contoso().await;
    let mut next = Some(format!(
        "{}/v1.0/groups?$top=3&$select=id,displayName&$count=true",
        env.sim.url()
    ));
    let mut seen = Vec::new();
    let mut pages = 0;
    while let Some(url) = next {
        let r = env
            .send("GET", &url, &[("ConsistencyLevel", "eventual")], None)
            .await
            .json();
        pages += 1;
        assert_eq!(
            r.get("@odata.count").is_some(),
            pages == 1,
            "count only on the first page"
        );
        for g in r["value"].as_array().unwrap() {
            seen.push(g["id"].as_str().unwrap().to_owned());
            assert!(
                g.get("description").is_none(),
                "select carried to next pages"
            );
        }
        next = r["@odata.nextLink"].as_str().map(str::to_owned);
        if let Some(n) = &next {
            assert!(n.starts_with(&format!("{}/v1.0/groups?", env.sim.url())));
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 8);
    let r = env.get("/v1.0/groups?$skiptoken=garbage").await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn members_listing_and_counts() {
    let env = Env::start("northwind", Default::default()).await;
    let music = "2b3c4d5e-0005-4b6c-9d7e-000000000005";
    let r = env
        .get(&format!("/v1.0/groups/{music}/members?$top=20"))
        .await
        .json();
    assert_eq!(r["value"].as_array().unwrap().len(), 20);
    assert_eq!(r["value"][0]["@odata.type"], "#microsoft.graph.device");
    assert_eq!(r["value"][0]["trustType"], "AzureAd");
    assert!(r["@odata.nextLink"].is_string());
    let all = env
        .get(&format!("/v1.0/groups/{music}/members?$top=999"))
        .await
        .json();
    let types: Vec<&str> = all["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["@odata.type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types
            .iter()
            .filter(|t| **t == "#microsoft.graph.user")
            .count(),
        2
    );
    let devs = env
        .get(&format!(
            "/v1.0/groups/{music}/members/microsoft.graph.device?$top=999"
        ))
        .await
        .json();
    assert_eq!(devs["value"].as_array().unwrap().len(), 25);
    for rel in ["members", "transitiveMembers"] {
        let path = format!("/v1.0/groups/{music}/{rel}/microsoft.graph.device/$count");
        let r = env.get(&path).await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (400, "Request_BadRequest"),
            "{rel}"
        );
        let r = env.get_eventual(&path).await;
        assert_eq!((r.status, r.text.as_str()), (200, "25"), "{rel}");
        assert!(
            r.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        assert_eq!(
            env.get_eventual(&format!("/v1.0/groups/{music}/{rel}/$count"))
                .await
                .text,
            "27"
        );
    }
    let r = env
        .get_eventual("/v1.0/groups/2b3c4d5e-0009-4b6c-9d7e-000000000009/members/$count")
        .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn beta_serves_the_same_groups() {
    let env = Env::contoso().await;
    let r = env
        .get(&format!("/beta/groups/{KIOSKS}?$select=assignedLicenses"))
        .await
        .json();
    assert_eq!(r["assignedLicenses"][0]["skuId"], DEVICE1);
    assert!(
        r["@odata.context"]
            .as_str()
            .unwrap()
            .contains("/beta/$metadata#groups")
    );
    let r = env.get("/v1.0/nothing").await;
    assert_eq!(r.status, 400);
    let v: Value = env.get("/beta/subscribedSkus").await.json();
    assert_eq!(v["value"].as_array().unwrap().len(), 3);
}

/// A listing page is written straight to bytes, a single group through `serde_json::Value`:
/// both must be the same JSON, for the default properties and for a `$select` in any case and
/// order (canonical names, each once), and the page keeps its keys in order.
#[tokio::test]
async fn a_listed_group_is_the_same_json_as_the_group_read_alone() {
    let env = Env::contoso().await;
    for select in [
        "",
        "?$select=licenseProcessingState,ID,displayName,assignedLicenses,displayname",
        "?$select=visibility,groupTypes,mail,createdDateTime,id",
    ] {
        let page = env.get(&format!("/v1.0/groups{select}")).await;
        assert_eq!(page.status, 200, "{}", page.text);
        let first = page.text.find("\"@odata.context\"");
        let value = page.text.find("\"value\"");
        assert!(first == Some(1) && value > first, "{}", page.text);
        let listed = page.json()["value"].as_array().cloned().unwrap_or_default();
        assert!(listed.len() > 3, "{}", page.text);
        for item in listed {
            let id = item["id"].as_str().expect("id").to_owned();
            let alone = env.get(&format!("/v1.0/groups/{id}{select}")).await;
            assert_eq!(alone.status, 200, "{}", alone.text);
            let mut alone = alone.json();
            if let Some(m) = alone.as_object_mut() {
                m.remove("@odata.context");
            }
            assert_eq!(item, alone, "{select}");
        }
    }
}
