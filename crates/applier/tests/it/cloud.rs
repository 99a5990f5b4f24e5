//! What only the cloud-licensing backend does: two writes per swap, in the safe order, and
//! resuming from the state between them.

use std::time::Duration;

use devlic_applier::{ActionOutcome, ApplyOptions, Change, LicensingBackend, apply};
use devlic_graph_sim::Faults;
use devlic_model::ActionKind;

use crate::harness::{Kind, beta_client, contoso_with_room, example_spec, plan, start_on};

fn options() -> ApplyOptions {
    ApplyOptions {
        concurrency: 1,
        poll_interval: Duration::from_millis(20),
        verify_timeout: Duration::from_secs(10),
        ..ApplyOptions::default()
    }
}

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
        preview[1]
            .url
            .contains("/beta/admin/cloudLicensing/assignments/")
    );

    env.sim.clear_request_log();
    let report = apply(&only_swap, &env.backend, &options(), &())
        .await
        .unwrap();
    assert!(report.success, "{}", report.to_json());
    assert_eq!(report.actions[0].request_ids.len(), 2);
    let writes: Vec<String> = env
        .sim
        .request_log()
        .iter()
        .filter(|r| r.method != "GET" && !r.path_and_query.contains("$batch"))
        .map(|r| {
            format!(
                "{} {}",
                r.method,
                r.path_and_query.split('?').next().unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(writes.len(), 2, "{writes:?}");
    assert!(
        writes[0].starts_with(&format!(
            "POST /beta/groups/{}/cloudLicensing/assignments",
            swap.group.id
        )),
        "{writes:?}"
    );
    assert!(
        writes[1].starts_with("DELETE /beta/admin/cloudLicensing/assignments/"),
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
    env.sim.clear_request_log();
    let report = apply(&p, &env.backend, &options(), &()).await.unwrap();
    assert!(report.success, "{}", report.to_json());
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
