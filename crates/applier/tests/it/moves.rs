//! cloud-licensing moves between allotments (issue 13): create on the new allotment, then
//! delete the old, and resume from the state between the two.

use devlic_applier::{ActionOutcome, AnyBackend, Change, LicensingBackend, WriteError};
use devlic_graph_sim::Faults;
use devlic_model::{ActionKind, Backend};

use crate::harness::{
    Env, Kind, apply_cleanly, beta_client, client, plan, repo, spec, start_on, write_calls,
};

const MOVE_TENANT: &str = "tests/scenarios/allotment-move/tenant.json";
const STUDIO: &str = "5ca1ab1e-0001-4000-8000-0000000000d1";

fn woodgrove() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(repo(MOVE_TENANT)).unwrap()).unwrap()
}

fn move_spec() -> devlic_spec::Spec {
    spec(
        "apiVersion: devlic/v1\nkind: DeviceLicenses\ntenant: woodgrove.onmicrosoft.com\n\
         settings:\n  backend: cloud-licensing\nassignments:\n  - group: \"Design Studio PCs\"\n    \
         subscription: OFFICE_PROPLUS_DEVICE1\n    allotment: 5b0c0002-0000-4000-8000-000000000002\n",
    )
}

/// The allotments the studio's assignments draw from, as the cloud backend reads them.
async fn studio_allotments(env: &Env) -> Vec<Option<String>> {
    let id = STUDIO.parse().unwrap();
    let state = env.backend.read_groups(&[id]).await.unwrap();
    state[&id]
        .assigned_licenses
        .iter()
        .map(|l| l.allotment_id.clone())
        .collect()
}

#[tokio::test]
async fn a_move_creates_on_the_new_allotment_then_deletes_the_old() {
    let env = start_on(Kind::Cloud, &woodgrove(), Faults::default()).await;
    let p = plan(&env, &move_spec()).await;
    assert_eq!(p.actions.len(), 1, "{:#?}", p.actions);
    let mv = p.actions[0].clone();
    assert_eq!(mv.kind, ActionKind::Move);

    // The dry run shows the same two requests, POST (binding the new allotment) first.
    let preview = env.backend.preview(mv.group.id, &Change::of(&mv));
    let methods: Vec<&str> = preview.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(methods, ["POST", "DELETE"]);
    let bind = preview[0].body.as_ref().unwrap()["allotment@odata.bind"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(bind.ends_with("/allotments/a11o7-2026-woodgrove"), "{bind}");
    assert!(
        preview[1].url.contains("a11o7-2025-woodgrove"),
        "{}",
        preview[1].url
    );

    let report = apply_cleanly(&env, &p).await;
    assert_eq!(report.actions[0].outcome, ActionOutcome::Applied);
    assert_eq!(report.actions[0].request_ids.len(), 2);
    // The report says where the license comes from now, in JSON and Markdown.
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(
        json["actions"][0]["moved"],
        serde_json::json!({"from": "a11o7-2025-woodgrove", "to": "a11o7-2026-woodgrove"})
    );
    assert!(
        report
            .to_markdown()
            .contains("(allotment a11o7-2025-woodgrove → a11o7-2026-woodgrove)"),
        "{}",
        report.to_markdown()
    );
    let w = write_calls(&env);
    assert_eq!(w.len(), 2, "{w:?}");
    assert_eq!(
        w[0],
        format!("POST /beta/groups/{STUDIO}/cloudLicensing/assignments")
    );
    assert!(
        w[1].starts_with(&format!(
            "DELETE /beta/groups/{STUDIO}/cloudLicensing/assignments/"
        )),
        "{w:?}"
    );
    assert_eq!(
        studio_allotments(&env).await,
        vec![Some("a11o7-2026-woodgrove".to_owned())]
    );
    // The usage rights read after the move: all ten devices hold the product.
    let rights = report
        .verification
        .as_ref()
        .and_then(|v| v.usage_rights.as_ref())
        .expect("read");
    assert_eq!(
        rights
            .groups
            .iter()
            .map(|g| (g.devices, g.holders))
            .collect::<Vec<_>>(),
        vec![(10, 10)]
    );
    // Converged: a new plan is empty.
    assert!(plan(&env, &move_spec()).await.actions.is_empty());
}

#[tokio::test]
async fn a_half_done_move_is_finished_by_the_delete_alone() {
    let env = start_on(Kind::Cloud, &woodgrove(), Faults::default()).await;
    let p = plan(&env, &move_spec()).await;
    // A run that died between its two writes: the studio holds both allotments.
    beta_client(&env.sim)
        .create_assignment(
            STUDIO.parse().unwrap(),
            "a11o7-2026-woodgrove",
            &Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(studio_allotments(&env).await.len(), 2);
    let report = apply_cleanly(&env, &p).await;
    assert_eq!(report.actions[0].outcome, ActionOutcome::Applied);
    let w = write_calls(&env);
    assert_eq!(w.len(), 1, "only the delete is left: {w:?}");
    assert!(w[0].starts_with("DELETE "), "{w:?}");
    assert_eq!(
        studio_allotments(&env).await,
        vec![Some("a11o7-2026-woodgrove".to_owned())]
    );
}

#[tokio::test]
async fn a_move_applied_by_someone_else_is_already_applied_and_a_third_allotment_is_stale() {
    let env = start_on(Kind::Cloud, &woodgrove(), Faults::default()).await;
    let p = plan(&env, &move_spec()).await;
    let other = beta_client(&env.sim);
    let studio = STUDIO.parse().unwrap();
    other
        .create_assignment(studio, "a11o7-2026-woodgrove", &Default::default())
        .await
        .unwrap();
    let old = other.read_group_assignments(&[studio]).await.unwrap()[&studio]
        .iter()
        .find(|a| a.allotment_id == "a11o7-2025-woodgrove")
        .unwrap()
        .id
        .clone();
    other.delete_assignment(studio, &old).await.unwrap();
    let report = apply_cleanly(&env, &p).await;
    assert_eq!(report.actions[0].outcome, ActionOutcome::AlreadyApplied);
    assert!(write_calls(&env).is_empty());
}

#[tokio::test]
async fn group_licensing_refuses_a_move_it_cannot_express() {
    let env = start_on(Kind::Cloud, &woodgrove(), Faults::default()).await;
    let p = plan(&env, &move_spec()).await;
    let v1 = AnyBackend::new(Backend::GroupLicensing, client(&env.sim));
    env.sim.clear_request_log();
    let err = v1
        .write(p.actions[0].group.id, &Change::of(&p.actions[0]))
        .await
        .expect_err("refused");
    assert!(matches!(err, WriteError::Unsupported { .. }), "{err:?}");
    assert!(write_calls(&env).is_empty(), "nothing may be sent");
}
