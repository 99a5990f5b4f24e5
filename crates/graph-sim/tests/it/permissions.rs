//! Permissions: tokens carry the tenant file's grants (`roles` app-only, `scp` delegated) and
//! every Graph route checks them against its reference page's permission table, answering 403
//! `Authorization_RequestDenied` like the directory (concepts/json-batching.md shows the body;
//! the tables are cited route by route in src/permissions.rs). SECURITY.md's least-privilege
//! identities are the bundled fixtures' `devlic-{plan,apply}-{group,cloud}` applications.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use devlic_graph_sim::{Application, Sim, SimConfig};
use serde_json::{Value, json};

use crate::{CALL_CENTER, DEVICE1, Env, KIOSKS, Reply, WAREHOUSE, fixture};

const D1_ALLOTMENT: &str = "default-ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7";

/// One Graph call a devlic command makes, and the status it gets with enough permissions.
struct Call {
    method: &'static str,
    path: String,
    body: Option<Value>,
    ok: u16,
}

fn get(path: String) -> Call {
    Call {
        method: "GET",
        path,
        body: None,
        ok: 200,
    }
}

/// What `plan`, `snapshot`, `export` and `skus` read on group-licensing.
fn plan_group_calls() -> Vec<Call> {
    vec![
        get("/v1.0/organization".to_owned()),
        get("/v1.0/subscribedSkus".to_owned()),
        get(
            "/v1.0/groups?$select=id,displayName,assignedLicenses,licenseProcessingState"
                .to_owned(),
        ),
        get("/v1.0/groups?$filter=hasMembersWithLicenseErrors eq true&$select=id".to_owned()),
        get(format!(
            "/v1.0/groups/{WAREHOUSE}/transitiveMembers/microsoft.graph.device/$count"
        )),
        get(format!("/v1.0/groups/{WAREHOUSE}/membersWithLicenseErrors")),
    ]
}

/// The same on cloud-licensing: the v1.0 reads plus allotments and group assignments.
fn plan_cloud_calls() -> Vec<Call> {
    let mut calls = plan_group_calls();
    calls.extend([
        get("/beta/admin/cloudLicensing/allotments".to_owned()),
        get(format!(
            "/beta/admin/cloudLicensing/allotments/{D1_ALLOTMENT}/waitingMembers"
        )),
        get(format!("/beta/groups/{KIOSKS}/cloudLicensing/assignments")),
    ]);
    calls
}

fn apply_group_calls() -> Vec<Call> {
    let mut calls = plan_group_calls();
    calls.push(Call {
        method: "POST",
        path: format!("/v1.0/groups/{WAREHOUSE}/assignLicense"),
        body: Some(
            json!({"addLicenses": [{"skuId": DEVICE1, "disabledPlans": []}], "removeLicenses": []}),
        ),
        ok: 202,
    });
    calls
}

/// The writes on the documented group routes; the delete's path is filled in at run time.
fn apply_cloud_calls(sim_url: &str) -> Vec<Call> {
    let mut calls = plan_cloud_calls();
    calls.push(Call {
        method: "POST",
        path: format!("/beta/groups/{WAREHOUSE}/cloudLicensing/assignments"),
        body: Some(json!({
            "allotment@odata.bind": format!("{sim_url}/beta/admin/cloudLicensing/allotments/{D1_ALLOTMENT}"),
            "disabledServicePlanIds": [],
        })),
        ok: 201,
    });
    calls.push(Call {
        method: "DELETE",
        path: format!("/beta/groups/{CALL_CENTER}/cloudLicensing/assignments/{{id}}"),
        body: None,
        ok: 204,
    });
    // Verification after a cloud apply reads the devices' usage rights
    // (cloudlicensing-devicecloudlicensing-list-usagerights-permissions.md).
    let kiosk = fixture("contoso")
        .groups
        .iter()
        .find(|g| g.id == KIOSKS)
        .unwrap()
        .members[0]
        .clone();
    calls.push(Call {
        method: "GET",
        path: format!("/beta/devices/{kiosk}/cloudLicensing/usageRights?$select=skuId"),
        body: None,
        ok: 200,
    });
    calls
}

async fn send_as(env: &Env, token: &str, method: &str, path: &str, body: Option<Value>) -> Reply {
    let mut req = env
        .http
        .request(method.parse().unwrap(), format!("{}{path}", env.sim.url()))
        .bearer_auth(token)
        .header("ConsistencyLevel", "eventual");
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    Reply {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        text: resp.text().await.unwrap(),
    }
}

/// The id of a group's first cloudLicensing assignment, read with the configured app.
async fn assignment_of(env: &Env, group: &str) -> String {
    env.get(&format!("/beta/groups/{group}/cloudLicensing/assignments"))
        .await
        .json()["value"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Runs `calls` with `token` on a fresh Contoso; returns each call's reply.
async fn run(token_for: impl Fn(&Sim) -> String, calls: Vec<Call>) -> Vec<(Call, Reply)> {
    let env = Env::contoso().await;
    let token = token_for(&env.sim);
    let mut out = Vec::new();
    for mut c in calls {
        if c.path.contains("{id}") {
            c.path = c
                .path
                .replace("{id}", &assignment_of(&env, CALL_CENTER).await);
        }
        let r = send_as(&env, &token, c.method, &c.path, c.body.clone()).await;
        out.push((c, r));
    }
    out
}

fn identity(name: &str) -> Application {
    Application::documented()
        .into_iter()
        .find(|a| a.display_name == name)
        .unwrap()
}

fn calls_of(name: &str, url: &str) -> Vec<Call> {
    match name {
        "devlic-plan-group" => plan_group_calls(),
        "devlic-plan-cloud" => plan_cloud_calls(),
        "devlic-apply-group" => apply_group_calls(),
        _ => apply_cloud_calls(url),
    }
}

const IDENTITIES: [&str; 4] = [
    "devlic-plan-group",
    "devlic-plan-cloud",
    "devlic-apply-group",
    "devlic-apply-cloud",
];

#[tokio::test]
async fn the_fixtures_grant_securitys_least_privilege_sets() {
    for name in ["contoso", "northwind"] {
        let mut apps = fixture(name).applications;
        for a in &mut apps {
            a.comment = None;
        }
        assert_eq!(
            apps,
            Application::documented(),
            "{name}.json lists the identities of Application::documented()"
        );
    }
    let roles = |n: &str| identity(n).roles;
    assert_eq!(
        roles("devlic-plan-group"),
        ["Organization.Read.All", "Group.Read.All"]
    );
    assert_eq!(
        roles("devlic-apply-cloud"),
        [
            "Organization.Read.All",
            "Group.Read.All",
            "CloudLicensing.Read.All",
            "Group-CloudLicensing.AssignLicenses.Organization",
            "CloudLicensing-UsageRights.Read.All"
        ]
    );
}

#[tokio::test]
async fn each_documented_identity_runs_its_commands_calls() {
    for name in IDENTITIES {
        let url_probe = Env::contoso().await;
        let calls = calls_of(name, &url_probe.sim.url());
        drop(url_probe);
        let replies = run(|sim| sim.issue_token_for(name).unwrap(), calls).await;
        for (c, r) in replies {
            // The bind URL names the probe's port; the allotment id is all the sim reads.
            assert_eq!(
                r.status, c.ok,
                "{name}: {} {}: {}",
                c.method, c.path, r.text
            );
        }
    }
}

#[tokio::test]
async fn one_permission_fewer_is_refused_with_the_directorys_403() {
    for name in IDENTITIES {
        let app = identity(name);
        for dropped in &app.roles {
            let fewer: Vec<String> = app
                .roles
                .iter()
                .filter(|r| *r != dropped)
                .cloned()
                .collect();
            let url_probe = Env::contoso().await;
            let calls = calls_of(name, &url_probe.sim.url());
            drop(url_probe);
            let replies = run(
                |sim| {
                    sim.issue_token_with_roles(
                        &fewer.iter().map(String::as_str).collect::<Vec<_>>(),
                    )
                },
                calls,
            )
            .await;
            let denied: Vec<&(Call, Reply)> =
                replies.iter().filter(|(_, r)| r.status == 403).collect();
            assert!(
                !denied.is_empty(),
                "{name} without {dropped}: every call still succeeded, so the set is not least"
            );
            for (c, r) in denied {
                let e = &r.json()["error"];
                assert_eq!(
                    e["code"], "Authorization_RequestDenied",
                    "{} {}",
                    c.method, c.path
                );
                assert_eq!(
                    e["message"],
                    "Insufficient privileges to complete the operation."
                );
                assert!(e["innerError"]["request-id"].is_string());
            }
        }
    }
}

#[tokio::test]
async fn the_admin_delete_route_is_refused_to_the_group_permission() {
    // cloudlicensing-assignment-delete.md: the admin route takes CloudLicensing.AssignLicenses.
    // Organization; Group-CloudLicensing.AssignLicenses.Organization (SECURITY.md's apply set)
    // covers only DELETE /groups/{id}/cloudLicensing/assignments/{id}.
    let env = Env::contoso().await;
    let token = env.sim.issue_token_for("devlic-apply-cloud").unwrap();
    let id = assignment_of(&env, KIOSKS).await;
    let admin = format!("/beta/admin/cloudLicensing/assignments/{id}");
    let r = send_as(&env, &token, "DELETE", &admin, None).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "Authorization_RequestDenied")
    );
    let group = format!("/beta/groups/{KIOSKS}/cloudLicensing/assignments/{id}");
    assert_eq!(
        send_as(&env, &token, "DELETE", &group, None).await.status,
        204
    );
    assert_eq!(
        env.sim.stats().writes_applied,
        1,
        "the refused delete changed nothing"
    );
}

#[tokio::test]
async fn batch_items_are_checked_one_by_one() {
    let env = Env::contoso().await;
    let token = env.sim.issue_token_for("devlic-plan-group").unwrap();
    let body = json!({"requests": [
        {"id": "read", "method": "GET", "url": "/organization"},
        {"id": "write", "method": "POST", "url": format!("/groups/{WAREHOUSE}/assignLicense"),
         "headers": {"Content-Type": "application/json"},
         "body": {"addLicenses": [{"skuId": DEVICE1, "disabledPlans": []}], "removeLicenses": []}}]});
    let r = send_as(&env, &token, "POST", "/v1.0/$batch", Some(body)).await;
    assert_eq!(r.status, 200, "$batch needs no permission of its own");
    let v = r.json();
    let item = |id: &str| {
        v["responses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(item("read")["status"], 200);
    assert_eq!(item("write")["status"], 403);
    assert_eq!(
        item("write")["body"]["error"]["code"],
        "Authorization_RequestDenied"
    );
    assert_eq!(env.sim.stats().writes_applied, 0);
}

#[tokio::test]
async fn delegated_tokens_are_checked_by_their_scopes() {
    let env = Env::contoso().await;
    // User.Read is the delegated permission for /organization, not an application one.
    let user_read = env.sim.issue_delegated_token_with_scopes(&["User.Read"]);
    assert_eq!(
        send_as(&env, &user_read, "GET", "/v1.0/organization", None)
            .await
            .status,
        200
    );
    let skus = send_as(&env, &user_read, "GET", "/v1.0/subscribedSkus", None).await;
    assert_eq!(skus.status, 403);
    let app_user_read = env.sim.issue_token_with_roles(&["User.Read"]);
    assert_eq!(
        send_as(&env, &app_user_read, "GET", "/v1.0/organization", None)
            .await
            .status,
        403,
        "roles and scopes are separate tables"
    );
    // SECURITY.md's delegated plan set reads what plan reads.
    let plan = env
        .sim
        .issue_delegated_token_for("devlic-plan-group")
        .unwrap();
    for c in plan_group_calls() {
        let r = send_as(&env, &plan, c.method, &c.path, None).await;
        assert_eq!(r.status, 200, "{}: {}", c.path, r.text);
    }
    let payload = claims(&plan);
    assert_eq!(
        payload["scp"],
        "User.Read LicenseAssignment.Read.All Group.Read.All"
    );
    assert!(payload.get("roles").is_none());
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn client_credentials_sign_in_as_the_named_application() {
    let env = Env::contoso().await;
    let token_of = |client_id: &'static str| {
        let http = env.http.clone();
        let url = format!(
            "{}/contoso.onmicrosoft.com/oauth2/v2.0/token",
            env.sim.url()
        );
        async move {
            let r = http
                .post(url)
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", client_id),
                    ("client_secret", "devlic-sim-secret"),
                    ("scope", "https://graph.microsoft.com/.default"),
                ])
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, v) = token_of("devlic-plan-cloud").await;
    assert_eq!(status, 200);
    let token = v["access_token"].as_str().unwrap();
    let c = claims(token);
    assert_eq!(c["appid"], "devlic-plan-cloud");
    assert_eq!(
        c["roles"],
        json!([
            "Organization.Read.All",
            "Group.Read.All",
            "CloudLicensing.Read.All"
        ])
    );
    let write = send_as(
        &env,
        token,
        "POST",
        &format!("/v1.0/groups/{WAREHOUSE}/assignLicense"),
        Some(json!({"addLicenses": [], "removeLicenses": [DEVICE1]})),
    )
    .await;
    assert_eq!(write.status, 403, "a plan identity cannot write");
    // The configured client id signs in as the entry without an appId.
    let (_, v) = token_of("devlic-sim").await;
    assert_eq!(
        claims(v["access_token"].as_str().unwrap())["app_displayname"],
        "devlic-sim"
    );
    let (status, v) = token_of("devlic-unknown").await;
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
}

#[tokio::test]
async fn a_tenant_without_applications_grants_nothing() {
    let mut tenant = fixture("contoso");
    tenant.applications.clear();
    let sim = Sim::start(tenant, SimConfig::default()).await.unwrap();
    let env = Env {
        token: sim.issue_token(),
        sim,
        http: reqwest::Client::new(),
    };
    let r = env.get("/v1.0/organization").await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "Authorization_RequestDenied")
    );
    assert!(env.sim.issue_token_for("devlic-plan-group").is_none());
}

#[tokio::test]
async fn broader_permissions_from_the_tables_are_accepted() {
    let env = Env::contoso().await;
    let directory = env.sim.issue_token_with_roles(&["Directory.ReadWrite.All"]);
    let usage_rights = env
        .sim
        .issue_token_with_roles(&["CloudLicensing-UsageRights.ReadWrite.All"]);
    for c in apply_cloud_calls(&env.sim.url()) {
        if c.path.contains("{id}") {
            continue;
        }
        // The usageRights table lists only its own two permissions, no Directory.* one.
        let token = if c.path.contains("/usageRights") {
            &usage_rights
        } else {
            &directory
        };
        let r = send_as(&env, token, c.method, &c.path, c.body).await;
        assert_eq!(r.status, c.ok, "{} {}: {}", c.method, c.path, r.text);
    }
    // GroupMember.Read.All lists groups but not their licenses (docs issue #18753).
    let members_only = env.sim.issue_token_with_roles(&["GroupMember.Read.All"]);
    let basic = send_as(
        &env,
        &members_only,
        "GET",
        "/v1.0/groups?$select=id,displayName",
        None,
    )
    .await;
    assert_eq!(basic.status, 200);
    let licenses = send_as(
        &env,
        &members_only,
        "GET",
        &format!("/v1.0/groups/{KIOSKS}?$select=id,assignedLicenses"),
        None,
    )
    .await;
    assert_eq!(licenses.status, 403);
}
