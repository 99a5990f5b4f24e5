//! apply() end to end against the simulator.

use std::time::Duration;

use devlic_applier::{ActionOutcome, ApplyError, ApplyOptions, LicensingBackend, apply};
use devlic_graph_sim::Faults;
use devlic_model::{ActionKind, GuardViolation};

use crate::both_backends;
use crate::harness::{
    self, Kind, calls, contoso, contoso_with_room, example_spec, expected_writes, plan, start,
    start_on, writes,
};

fn options() -> ApplyOptions {
    ApplyOptions {
        poll_interval: Duration::from_millis(20),
        verify_timeout: Duration::from_secs(10),
        ..ApplyOptions::default()
    }
}

/// [`options`] with the revocation and shortfall guards passed, as an admin who reviewed a
/// short Contoso plan would.
fn short_ok() -> ApplyOptions {
    ApplyOptions {
        allow_revoke: true,
        allow_shortfall: true,
        ..options()
    }
}

both_backends!(
    contoso_converges_and_replans_empty,
    rerun_of_an_applied_plan_writes_nothing,
    half_applied_plan_finishes_without_repeating_writes,
    stale_plan_is_refused_before_any_write,
    revocation_guard_refuses_unless_allowed,
    lost_write_response_is_judged_by_a_reread,
    count_violation_fails_the_run_and_names_the_group,
    shortfall_is_refused_without_the_flag,
    short_apply_frees_before_it_consumes,
);

/// The ordering apply writes in: revokes free units, swaps move them, assigns take them.
fn phase(kind: ActionKind) -> u8 {
    match kind {
        ActionKind::Revoke => 0,
        ActionKind::Swap | ActionKind::Move => 1,
        ActionKind::Assign => 2,
        ActionKind::Update => 3,
    }
}

async fn shortfall_is_refused_without_the_flag(kind: Kind) {
    // The fixture is 6 DEVICE1 units short for the Contoso plan.
    let env = start_on(kind, &contoso(), Faults::default()).await;
    let p = plan(&env, &example_spec("examples/contoso")).await;
    let shortfall = p
        .guard_violations
        .iter()
        .find_map(|g| match g {
            GuardViolation::Shortfall {
                devices, groups, ..
            } => Some((*devices, groups.clone())),
            _ => None,
        })
        .expect("the plan reports the shortfall as a guard");
    assert_eq!(shortfall.0, 6);
    let names: Vec<&str> = shortfall
        .1
        .iter()
        .map(|g| g.display_name.as_str())
        .collect();
    assert!(names.contains(&"Shared PCs - Warehouse"), "{names:?}");
    env.sim.clear_request_log();
    let err = apply(
        &p,
        &env.backend,
        &ApplyOptions {
            allow_revoke: true,
            ..options()
        },
        &(),
    )
    .await
    .unwrap_err();
    let ApplyError::GuardRefused(guards) = err else {
        panic!("expected a guard refusal, got {err:?}");
    };
    assert!(
        guards
            .iter()
            .all(|g| matches!(g, GuardViolation::Shortfall { .. })),
        "{guards:?}"
    );
    assert_eq!(env.sim.stats().writes, 0, "nothing is written");
}

async fn short_apply_frees_before_it_consumes(kind: Kind) {
    let env = start_on(kind, &contoso(), Faults::default()).await;
    let p = plan(&env, &example_spec("examples/contoso")).await;
    env.sim.clear_request_log();
    let opts = ApplyOptions {
        allow_revoke: true,
        allow_shortfall: true,
        concurrency: 4,
        ..options()
    };
    apply(&p, &env.backend, &opts, &()).await.unwrap();
    // The groups in the order their first write reached Graph.
    let mut order: Vec<String> = Vec::new();
    for w in writes(&env.sim.request_log()) {
        // Deletes name an assignment, not a group: they belong to a swap already counted.
        if !w.starts_with("delete:") && !order.contains(&w) {
            order.push(w);
        }
    }
    let rank = |id: &str| {
        p.actions
            .iter()
            .find(|a| a.group.id.to_string() == id)
            .map(|a| phase(a.kind))
    };
    let ranks: Vec<u8> = order.iter().filter_map(|g| rank(g)).collect();
    assert!(!ranks.is_empty(), "{order:?}");
    assert!(
        ranks.windows(2).all(|w| w[0] <= w[1]),
        "writes must go revokes, then swaps, then assigns: {order:?} -> {ranks:?}"
    );
}

async fn contoso_converges_and_replans_empty(kind: Kind) {
    let env = start_on(kind, &contoso_with_room(), Faults::default()).await;
    let spec = example_spec("examples/contoso");
    let before = plan(&env, &spec).await;
    let kinds: Vec<ActionKind> = before.actions.iter().map(|a| a.kind).collect();
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    assert!(kinds.contains(&ActionKind::Assign));
    assert!(kinds.contains(&ActionKind::Swap));
    assert!(kinds.contains(&ActionKind::Revoke));

    let report = apply(&before, &env.backend, &options(), &()).await.unwrap();
    assert!(report.success, "{}", report.to_json());
    assert!(
        report
            .actions
            .iter()
            .all(|a| a.outcome == ActionOutcome::Applied)
    );
    let requests: usize = report.actions.iter().map(|a| a.request_ids.len()).sum();
    assert_eq!(requests as u64, expected_writes(kind, &before));
    assert!(report.actions.iter().all(|a| a.attempts == 1));
    let verification = report.verification.as_ref().unwrap();
    assert!(verification.is_clean(), "{verification:?}");
    assert_eq!(report.backend, env.backend.backend());

    let after = plan(&env, &spec).await;
    assert!(after.actions.is_empty(), "{:?}", after.actions);
    assert_eq!(env.sim.stats().writes, expected_writes(kind, &before));
}

#[tokio::test]
async fn sends_exactly_the_expected_graph_calls() {
    let env = start(&contoso_with_room(), Faults::default()).await;
    let spec = example_spec("examples/contoso");
    let p = plan(&env, &spec).await;
    env.sim.clear_request_log();
    let opts = ApplyOptions {
        concurrency: 1,
        ..options()
    };
    apply(&p, &env.backend, &opts, &()).await.unwrap();
    let log = env.sim.request_log();
    let mut expected = vec!["POST /v1.0/$batch".to_owned()];
    // Writes go out phase by phase (frees before consumes), plan order within a phase.
    let mut ordered: Vec<_> = p.actions.iter().collect();
    ordered.sort_by_key(|a| phase(a.kind));
    for a in ordered {
        expected.push(format!("POST /v1.0/groups/{}/assignLicense", a.group.id));
    }
    // Verification: one read of the processing state (complete at once in this simulator
    // configuration), then the members with license errors.
    expected.push("POST /v1.0/$batch".to_owned());
    expected.push("POST /v1.0/$batch".to_owned());
    assert_eq!(calls(&log), expected);
}

async fn rerun_of_an_applied_plan_writes_nothing(kind: Kind) {
    let env = start_on(kind, &contoso_with_room(), Faults::default()).await;
    let spec = example_spec("examples/contoso");
    let p = plan(&env, &spec).await;
    apply(&p, &env.backend, &options(), &()).await.unwrap();
    env.sim.clear_request_log();

    // The same saved plan again, as after a killed run whose writes all landed.
    let report = apply(&p, &env.backend, &options(), &()).await.unwrap();
    assert!(report.success);
    assert!(
        report
            .actions
            .iter()
            .all(|a| a.outcome == ActionOutcome::AlreadyApplied)
    );
    assert!(writes(&env.sim.request_log()).is_empty());
}

async fn half_applied_plan_finishes_without_repeating_writes(kind: Kind) {
    let env = start_on(kind, &contoso_with_room(), Faults::default()).await;
    let spec = example_spec("examples/contoso");
    let p = plan(&env, &spec).await;
    // Apply only the first action, as if the run had been killed after one write.
    let mut first = p.clone();
    first.actions.truncate(1);
    first.guard_violations.clear();
    apply(&first, &env.backend, &options(), &()).await.unwrap();
    env.sim.clear_request_log();

    let report = apply(&p, &env.backend, &options(), &()).await.unwrap();
    assert!(report.success, "{}", report.to_json());
    assert_eq!(report.actions[0].outcome, ActionOutcome::AlreadyApplied);
    let written = writes(&env.sim.request_log());
    let mut rest = p.clone();
    rest.actions.remove(0);
    assert_eq!(written.len() as u64, expected_writes(kind, &rest));
    assert!(!written.contains(&p.actions[0].group.id.to_string()));
}

async fn stale_plan_is_refused_before_any_write(kind: Kind) {
    let env = start_on(kind, &contoso_with_room(), Faults::default()).await;
    let spec = example_spec("examples/contoso");
    let p = plan(&env, &spec).await;
    // Someone else gives the revoked group a third state: a second device SKU. (Both SKUs on a
    // swap's group would be the cloud backend's own half-way state, which is resumed, not
    // refused; see cloud_half_swap_is_resumed.)
    let swap = p
        .actions
        .iter()
        .find(|a| a.kind == ActionKind::Revoke)
        .unwrap();
    let other_sku = p
        .actions
        .iter()
        .find(|a| a.kind == ActionKind::Swap)
        .and_then(|a| a.from_sku.clone())
        .unwrap();
    let other = harness::client(&env.sim);
    other
        .assign_license(
            swap.group.id,
            &[devlic_graph::AddLicense {
                sku_id: other_sku.sku_id,
                disabled_plans: vec![],
            }],
            &[],
        )
        .await
        .unwrap();
    env.sim.clear_request_log();

    let err = apply(&p, &env.backend, &options(), &()).await.unwrap_err();
    let ApplyError::Stale(groups) = err else {
        panic!("expected a stale plan, got {err:?}")
    };
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].group.id, swap.group.id);
    assert_eq!(groups[0].found.as_ref().map(Vec::len), Some(2));
    assert!(writes(&env.sim.request_log()).is_empty());
}

async fn revocation_guard_refuses_unless_allowed(kind: Kind) {
    let env = start_on(kind, &contoso_with_room(), Faults::default()).await;
    let spec = harness::spec(
        r#"apiVersion: devlic/v1
kind: DeviceLicenses
tenant: contoso.onmicrosoft.com
assignments:
  - group: Retired Call Center
    state: absent
"#,
    );
    let p = plan(&env, &spec).await;
    assert!(
        p.guard_violations
            .contains(&GuardViolation::MaxRevocations {
                revocations: 1,
                max: 0
            }),
        "{:?}",
        p.guard_violations
    );
    let err = apply(&p, &env.backend, &options(), &()).await.unwrap_err();
    assert!(matches!(err, ApplyError::GuardRefused(_)), "{err:?}");
    assert_eq!(env.sim.stats().writes, 0);

    let allowed = ApplyOptions {
        allow_revoke: true,
        ..options()
    };
    let report = apply(&p, &env.backend, &allowed, &()).await.unwrap();
    assert!(report.success);
    assert_eq!(env.sim.stats().writes, 1);
}

async fn lost_write_response_is_judged_by_a_reread(kind: Kind) {
    let env = start_on(kind, &contoso_with_room(), Faults::default()).await;
    let spec = example_spec("examples/contoso");
    let p = plan(&env, &spec).await;
    env.sim.set_faults(Faults {
        lost_write_rate: 1.0,
        ..Faults::default()
    });
    let report = apply(&p, &env.backend, &options(), &()).await.unwrap();
    env.sim.set_faults(Faults::default());
    assert!(report.success, "{}", report.to_json());
    for a in &report.actions {
        assert_eq!(a.outcome, ActionOutcome::Applied);
        assert_eq!(a.attempts, 1, "a write that landed must not be sent again");
        assert!(
            a.note.as_deref().unwrap_or_default().contains("landed"),
            "{a:?}"
        );
    }
    assert_eq!(env.sim.stats().writes, expected_writes(kind, &p));
    assert!(plan(&env, &spec).await.actions.is_empty());
}

async fn count_violation_fails_the_run_and_names_the_group(kind: Kind) {
    // The fixture is 6 DEVICE1 units short for this plan; the admin passes the shortfall guard.
    let env = start_on(kind, &contoso(), Faults::default()).await;
    let spec = example_spec("examples/contoso");
    let p = plan(&env, &spec).await;
    let report = apply(&p, &env.backend, &short_ok(), &()).await.unwrap();
    assert!(!report.success);
    assert!(
        report
            .actions
            .iter()
            .all(|a| a.outcome == ActionOutcome::Applied)
    );
    let v = report.verification.as_ref().unwrap();
    let failing: usize = v.license_errors.iter().map(|g| g.members.len()).sum();
    assert_eq!(failing, 6, "{v:?}");
    // Graph lists the members but documents no per-device error code (licenseAssignmentStates
    // exists on users only), so the report says the code was not reported rather than guess.
    assert!(
        v.license_errors
            .iter()
            .flat_map(|g| &g.members)
            .all(|m| m.kind == "device")
    );
    let md = report.to_markdown();
    assert!(md.contains("member(s) with license errors"), "{md}");
    let junit = report.to_junit();
    assert!(junit.contains("<failure"), "{junit}");
}

/// Every rendering of a run report, with the values that vary between runs filtered out.
#[tokio::test]
async fn report_formats() {
    let env = start(&contoso(), Faults::default()).await;
    let spec = example_spec("examples/contoso");
    let p = plan(&env, &spec).await;
    let report = apply(&p, &env.backend, &short_ok(), &()).await.unwrap();
    insta::with_settings!({filters => vec![
        (r#""startedAt": "[^"]+""#, r#""startedAt": "[time]""#),
        (r#""(duration|durationMs)": \d+"#, r#""$1": "[ms]""#),
        // The simulator's request-ids are random; the tenant's own ids are fixed and stay.
        (r#"("requestIds": \[\s*)"[0-9a-f-]{36}""#, r#"$1"[request-id]""#),
        (r"\| [0-9a-f-]{36} \|", "| [request-id] |"),
        (r#"time="[0-9.]+""#, r#"time="[s]""#),
        (r#"timestamp="[0-9T:-]+""#, r#"timestamp="[time]""#),
        (r"· [0-9.]+ s", "· [s] s"),
        // The write phase's duration and rate vary with the machine; its counts do not.
        (r#""perSecond": [0-9.]+"#, r#""perSecond": "[rate]""#),
        (r"in [0-9.]+ s: [0-9.]+ accepted per second", "in [s] s: [rate] accepted per second"),
        (
            r#"(name="devlic\.writes\.(?:seconds|perSecond)" value=)"[0-9.]+""#,
            r#"$1"[n]""#,
        ),
    ]}, {
        insta::assert_snapshot!("report_json", report.to_json());
        insta::assert_snapshot!("report_markdown", report.to_markdown());
        insta::assert_snapshot!("report_junit", report.to_junit());
    });
}

/// Names, part numbers, error codes and messages from the tenant or from Graph can carry
/// escape sequences, carriage returns, bells, `|`, `<details>` and XML: the Markdown and JUnit
/// renderings escape them (visibly), JSON keeps them exact.
#[test]
fn hostile_strings_never_reach_the_report_raw() {
    use devlic_applier::{ActionReport, GroupErrors, RunReport, Verification};
    use devlic_model::{Backend, GroupId, GroupRef, LicenseErrorMember, SkuId, SkuRef};

    const HOSTILE: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J\r\u{9b}31m\t</details><details open>|<x a=\"b\">&\u{202e}\n# forged\u{0}";
    let group = GroupId::parse("1a2b3c4d-0002-4a5b-8c6d-000000000002").expect("id");
    let sku = |p: &str| SkuRef {
        sku_id: SkuId::parse("ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7").expect("sku"),
        sku_part_number: format!("{p}{HOSTILE}"),
    };
    let action = |outcome| ActionReport {
        action: ActionKind::Swap,
        group: GroupRef {
            id: group,
            display_name: format!("Group {HOSTILE}"),
        },
        sku: sku("TO_"),
        from_sku: Some(sku("FROM_")),
        moved: None,
        devices: Some(3),
        outcome,
        attempts: 1,
        request_ids: vec![format!("rid{HOSTILE}")],
        duration_ms: 5,
        error: Some(format!("Graph said {HOSTILE}")),
        note: None,
    };
    let report = RunReport {
        format_version: devlic_applier::REPORT_FORMAT_VERSION,
        tenant: format!("tenant{HOSTILE}"),
        backend: Backend::GroupLicensing,
        started_at: jiff::Timestamp::UNIX_EPOCH,
        duration_ms: 10,
        actions: vec![
            action(ActionOutcome::Failed),
            action(ActionOutcome::Applied),
        ],
        verification: Some(Verification {
            pending_groups: vec![group],
            license_errors: vec![GroupErrors {
                group,
                members: vec![LicenseErrorMember {
                    id: "d1".to_owned(),
                    kind: "device".to_owned(),
                    display_name: Some(HOSTILE.to_owned()),
                    error: Some(format!("Code{HOSTILE}")),
                }],
            }],
            read_error: Some(format!("read failed {HOSTILE}")),
            usage_rights: None,
            duration_ms: 3,
            vanished_groups: vec![group],
            unknown_states: vec![devlic_applier::UnknownState {
                group,
                state: format!("State{HOSTILE}"),
            }],
        }),
        unlicensed: vec![devlic_model::Unlicensed {
            group: GroupRef {
                id: group,
                display_name: format!("Unlicensed {HOSTILE}"),
            },
            sku: Some(sku("WANT_")),
            devices: 2,
            causes: vec![devlic_model::CauseCount {
                code: format!("Code{HOSTILE}"),
                devices: 2,
                inferred: false,
            }],
        }],
        success: false,
        stopped: None,
        writes: None,
    };
    let raw = |c: char| c != '\n' && devlic_model::display::is_unsafe(c);
    let md = report.to_markdown();
    assert!(!md.chars().any(raw), "{md:?}");
    // Outside code spans (shown literally by GitHub), no tag from data.
    let prose: String = md.split('`').step_by(2).collect();
    assert!(
        !prose.contains("<details") && !prose.contains("<x "),
        "{md}"
    );
    assert!(!md.contains("\n# forged"), "{md}");
    assert!(md.contains(r"\\u{1b}\]0;pwned"), "{md}");
    // Every table row keeps its 6 cells.
    for row in md.lines().filter(|l| l.starts_with("| ")).skip(1) {
        let cells = row
            .char_indices()
            .filter(|&(i, c)| c == '|' && !row[..i].ends_with('\\'))
            .count();
        assert_eq!(cells, 7, "{row}");
    }
    let junit = report.to_junit();
    assert!(!junit.chars().any(raw), "{junit:?}");
    assert!(
        !junit.contains("<details") && !junit.contains("<x "),
        "{junit}"
    );
    assert!(junit.contains(r"\u{1b}]0;pwned"), "{junit}");
    // Two actions, verification, and the still-unlicensed group.
    assert_eq!(junit.matches("<testcase ").count(), 4, "{junit}");
    // JSON is exact: serde escapes the control characters, a parser gets the name back.
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).expect("json");
    assert_eq!(
        json["actions"][0]["group"]["displayName"],
        format!("Group {HOSTILE}")
    );
}
