//! What only the cloud-licensing backend does: two writes per swap, in the safe order, and
//! resuming from the state between them.

use std::collections::BTreeSet;

use devlic_applier::{ActionOutcome, AnyBackend, Change, LicensingBackend, apply};
use devlic_graph_sim::Faults;
use devlic_model::{ActionKind, Backend};

use crate::harness::{
    Kind, apply_cleanly, beta_client, beta_client_as, contoso_with_room, example_spec,
    one_at_a_time, plan, spec, start_on,
};

#[tokio::test]
async fn swap_creates_the_new_assignment_before_deleting_the_old() {
    let env = start_on(Kind::Cloud, &contoso_with_room(), Faults::default()).await;
    let spec = example_spec("examples/contoso");
    let p = plan(&env, &spec).await;
    let swap = p
        .actions
        .iter()
        .find(|a| a.kind == ActionKind::Swap)
        .unwrap()
        .clone();
    let mut only_swap = p.clone();
    only_swap.actions = vec![swap.clone()];
    only_swap.guard_violations.clear();

    // The dry-run preview lists the same two requests, POST first.
    let preview = env.backend.preview(swap.group.id, &Change::of(&swap));
    let methods: Vec<&str> = preview.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(methods, ["POST", "DELETE"]);
    assert!(preview[0].url.ends_with(&format!(
        "/beta/groups/{}/cloudLicensing/assignments",
        swap.group.id
    )));
    let body = preview[0].body.as_ref().unwrap();
    let allotment = swap.allotment.as_ref().unwrap();
    assert!(
        body["allotment@odata.bind"]
            .as_str()
            .unwrap()
            .ends_with(&format!(
                "/beta/admin/cloudLicensing/allotments/{}",
                allotment.id
            ))
    );
    assert_eq!(body["disabledServicePlanIds"], serde_json::json!([]));
    assert!(
        preview[1].url.contains(&format!(
            "/beta/groups/{}/cloudLicensing/assignments/{{assignmentId}}",
            swap.group.id
        )),
        "{}",
        preview[1].url
    );

    let report = apply_cleanly(&env, &only_swap).await;
    assert_eq!(report.actions[0].request_ids.len(), 2);
    let writes = crate::harness::write_calls(&env);
    assert_eq!(writes.len(), 2, "{writes:?}");
    assert!(
        writes[0].starts_with(&format!(
            "POST /beta/groups/{}/cloudLicensing/assignments",
            swap.group.id
        )),
        "{writes:?}"
    );
    assert!(
        writes[1].starts_with(&format!(
            "DELETE /beta/groups/{}/cloudLicensing/assignments/",
            swap.group.id
        )),
        "{writes:?}"
    );
    // The old SKU is gone, the new one is there: the group is in the planned state.
    let state = env.backend.read_groups(&[swap.group.id]).await.unwrap();
    let skus: Vec<_> = state[&swap.group.id]
        .assigned_licenses
        .iter()
        .map(|l| l.sku_id)
        .collect();
    assert_eq!(skus, vec![swap.sku.sku_id]);
}

/// Issue 13: the documented least-privileged apply identity (SECURITY.md: the plan set plus
/// Group-CloudLicensing.AssignLicenses.Organization) must be able to finish a swap and a revoke.
/// When deletes went to `/admin/cloudLicensing/assignments/{id}` it got 403 on every delete:
/// the swap stopped half-done and the revoke failed.
#[tokio::test]
async fn the_documented_apply_identity_swaps_and_revokes_to_convergence() {
    let mut env = start_on(Kind::Cloud, &contoso_with_room(), Faults::default()).await;
    env.backend = AnyBackend::new(
        Backend::CloudLicensing,
        beta_client_as(&env.sim, "devlic-apply-cloud"),
    );
    let spec = example_spec("examples/contoso");
    let p = plan(&env, &spec).await;
    let kinds: Vec<ActionKind> = p.actions.iter().map(|a| a.kind).collect();
    assert!(kinds.contains(&ActionKind::Swap), "{kinds:?}");
    assert!(kinds.contains(&ActionKind::Revoke), "{kinds:?}");
    assert!(p.guard_violations.is_empty(), "{:?}", p.guard_violations);

    apply_cleanly(&env, &p).await;
    let log = env.sim.request_log();
    let refused: Vec<String> = log
        .iter()
        .filter(|r| r.status == 403)
        .map(|r| format!("{} {}", r.method, r.path_and_query))
        .collect();
    assert!(refused.is_empty(), "refused: {refused:?}");
    let deletes: Vec<&str> = log
        .iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.path_and_query.as_str())
        .collect();
    // One delete for the swap's old assignment, one for the revoke, both on the group route.
    let deleted_from: BTreeSet<String> = deletes
        .iter()
        .filter(|d| d.starts_with("/beta/groups/") && d.contains("/cloudLicensing/assignments/"))
        .map(|d| d.split('/').nth(3).unwrap_or_default().to_owned())
        .collect();
    let swapped_or_revoked: BTreeSet<String> = p
        .actions
        .iter()
        .filter(|a| matches!(a.kind, ActionKind::Swap | ActionKind::Revoke))
        .map(|a| a.group.id.to_string())
        .collect();
    assert_eq!(deletes.len(), 2, "{deletes:?}");
    assert_eq!(deleted_from, swapped_or_revoked, "{deletes:?}");
    assert!(plan(&env, &spec).await.actions.is_empty(), "converged");
}

#[tokio::test]
async fn half_swap_is_resumed_by_deleting_only() {
    let env = start_on(Kind::Cloud, &contoso_with_room(), Faults::default()).await;
    let spec = example_spec("examples/contoso");
    let p = plan(&env, &spec).await;
    let swap = p
        .actions
        .iter()
        .find(|a| a.kind == ActionKind::Swap)
        .unwrap()
        .clone();
    // A run that died between the create and the delete: the group holds both SKUs.
    let other = beta_client(&env.sim);
    other
        .create_assignment(
            swap.group.id,
            &swap.allotment.as_ref().unwrap().id,
            &Default::default(),
        )
        .await
        .unwrap();
    let report = apply_cleanly(&env, &p).await;
    let swap_report = report
        .actions
        .iter()
        .find(|a| a.group.id == swap.group.id)
        .unwrap();
    assert_eq!(swap_report.outcome, ActionOutcome::Applied);
    assert_eq!(swap_report.request_ids.len(), 1, "only the delete is left");
    let creates = env
        .sim
        .request_log()
        .iter()
        .filter(|r| {
            r.method == "POST"
                && r.path_and_query
                    .contains(&format!("groups/{}/cloudLicensing", swap.group.id))
        })
        .count();
    assert_eq!(creates, 0, "the new assignment must not be created twice");
    assert!(plan(&env, &spec).await.actions.is_empty());
}

#[tokio::test]
async fn a_v1_client_is_refused_clearly() {
    let env = start_on(Kind::Group, &contoso_with_room(), Faults::default()).await;
    let cloud = devlic_applier::CloudLicensing::new(crate::harness::client(&env.sim));
    let err = cloud
        .read_groups(&[
            devlic_model::GroupId::parse("1a2b3c4d-0001-4a5b-8c6d-000000000001").unwrap(),
        ])
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("ApiVersion::Beta"), "{message}");
    assert_eq!(env.sim.stats().requests, 0);
}

/// Contoso with room, and a second service plan in DEVICE1 that a spec can switch off without
/// switching Office off.
fn contoso_with_a_second_plan() -> serde_json::Value {
    let mut t = contoso_with_room();
    for sku in t["subscribedSkus"].as_array_mut().unwrap() {
        if sku["skuPartNumber"] == "OFFICE_PROPLUS_DEVICE1" {
            sku["servicePlans"]
                .as_array_mut()
                .unwrap()
                .push(serde_json::json!({
                    "servicePlanId": ONEDRIVE_BASIC,
                    "servicePlanName": "ONEDRIVE_BASIC",
                    "provisioningStatus": "Success",
                    "appliesTo": "Company"
                }));
        }
    }
    t
}

const ONEDRIVE_BASIC: &str = "da792a53-cbc0-4184-a10d-e544dd34b3c1";
const KIOSKS: &str = "1a2b3c4d-0001-4a5b-8c6d-000000000001";

/// Issue 13: an `update` (other disabled plans for a SKU the group holds) is a PATCH of the
/// group's assignment on the documented group route, planned without error and converging.
#[tokio::test]
async fn an_update_is_one_patch_of_the_assignment_and_converges() {
    let mut env = start_on(
        Kind::Cloud,
        &contoso_with_a_second_plan(),
        Faults::default(),
    )
    .await;
    env.backend = AnyBackend::new(
        Backend::CloudLicensing,
        beta_client_as(&env.sim, "devlic-apply-cloud"),
    );
    let spec = spec(&format!(
        "apiVersion: devlic/v1\nkind: DeviceLicenses\nassignments:\n  - group: {{ id: {KIOSKS} }}\n    subscription: OFFICE_PROPLUS_DEVICE1\n    disabledPlans: [ONEDRIVE_BASIC]\n"
    ));
    let p = plan(&env, &spec).await;
    let kinds: Vec<ActionKind> = p.actions.iter().map(|a| a.kind).collect();
    assert_eq!(kinds, [ActionKind::Update], "{p:?}");

    let update = &p.actions[0];
    let preview = env.backend.preview(update.group.id, &Change::of(update));
    assert_eq!(preview.len(), 1, "{preview:?}");
    assert_eq!(preview[0].method, "PATCH");
    assert!(
        preview[0].url.contains(&format!(
            "/beta/groups/{KIOSKS}/cloudLicensing/assignments/{{assignmentId}}"
        )),
        "{}",
        preview[0].url
    );
    assert_eq!(
        preview[0].body,
        Some(serde_json::json!({"disabledServicePlanIds": [ONEDRIVE_BASIC]}))
    );

    let report = apply_cleanly(&env, &p).await;
    assert_eq!(report.actions[0].outcome, ActionOutcome::Applied);
    // The exact Graph calls: the applier's re-read of the group, the backend's own re-read
    // before writing, the PATCH, then verification reads. Only one write, and it is the PATCH.
    let log = env.sim.request_log();
    let writes: Vec<String> = log
        .iter()
        .filter(|r| r.method != "GET" && !r.path_and_query.contains("$batch"))
        .map(|r| format!("{} {}", r.method, r.path_and_query))
        .collect();
    let assignment = writes
        .first()
        .and_then(|w| w.rsplit('/').next())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        writes,
        [format!(
            "PATCH /beta/groups/{KIOSKS}/cloudLicensing/assignments/{assignment}"
        )]
    );
    assert_eq!(env.sim.stats().writes_applied, 1);
    let state = env.backend.read_groups(&[update.group.id]).await.unwrap();
    let held = &state[&update.group.id].assigned_licenses;
    assert_eq!(held.len(), 1);
    assert_eq!(
        held[0]
            .disabled_plans
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [ONEDRIVE_BASIC]
    );
    assert!(plan(&env, &spec).await.actions.is_empty(), "converged");
}

/// A PATCH whose answer is lost is settled by re-reading the assignment: it landed, so it is
/// not sent again.
#[tokio::test]
async fn a_lost_patch_answer_is_settled_by_a_reread() {
    let env = start_on(
        Kind::Cloud,
        &contoso_with_a_second_plan(),
        Faults::default(),
    )
    .await;
    let spec = spec(&format!(
        "apiVersion: devlic/v1\nkind: DeviceLicenses\nassignments:\n  - group: {{ id: {KIOSKS} }}\n    subscription: OFFICE_PROPLUS_DEVICE1\n    disabledPlans: [ONEDRIVE_BASIC]\n"
    ));
    let p = plan(&env, &spec).await;
    env.sim.clear_request_log();
    env.sim.set_faults(Faults {
        lost_write_rate: 1.0,
        ..Faults::default()
    });
    let report = apply(&p, &env.backend, &one_at_a_time(), &())
        .await
        .unwrap();
    env.sim.set_faults(Faults::default());
    assert!(report.success, "{}", report.to_json());
    let a = &report.actions[0];
    assert_eq!(a.outcome, ActionOutcome::Applied);
    assert!(
        a.note.as_deref().unwrap_or_default().contains("landed"),
        "{a:?}"
    );
    let patches = env
        .sim
        .request_log()
        .iter()
        .filter(|r| r.method == "PATCH")
        .count();
    assert_eq!(patches, 1, "a PATCH that landed is not sent again");
    assert!(plan(&env, &spec).await.actions.is_empty());
}
