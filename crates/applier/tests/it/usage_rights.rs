//! Verification on cloud-licensing reads the devices' usage rights: the run report says per
//! touched group how many of its devices hold its subscription, read in `$batch`es.

use std::collections::BTreeSet;
use std::time::Duration;

use devlic_applier::{ApplyOptions, LicensingBackend, RunReport, USAGE_RIGHTS_DEVICE_CAP, apply};
use devlic_graph_sim::{Faults, Sim};
use devlic_model::GroupId;
use serde_json::Value;

use crate::harness::{
    Env, Kind, beta_client, calls, contoso, contoso_with_room, example_spec, plan, start_on,
};

fn options() -> ApplyOptions {
    ApplyOptions {
        allow_revoke: true,
        allow_shortfall: true,
        concurrency: 2,
        poll_interval: Duration::from_millis(20),
        verify_timeout: Duration::from_secs(10),
        ..ApplyOptions::default()
    }
}

/// Devices of `group` (transitive) that the simulator licensed for `sku`.
async fn licensed_in_sim(sim: &Sim, group: GroupId, sku: &str) -> (u64, u64) {
    let devices = beta_client(sim)
        .read_groups_device_ids(&[group])
        .await
        .unwrap()
        .remove(&group)
        .unwrap_or_default();
    let held = sim.device_licenses();
    let holders = devices
        .iter()
        .filter(|d| held.get(*d).is_some_and(|s| s.iter().any(|x| x == sku)))
        .count();
    (devices.len() as u64, holders as u64)
}

async fn apply_contoso(env: &Env) -> RunReport {
    let p = plan(env, &example_spec("examples/contoso")).await;
    apply(&p, &env.backend, &options(), &()).await.unwrap()
}

/// Each group's counts against the simulator's own licensing; returns (devices, holders) summed.
async fn check_against_sim(env: &Env, report: &RunReport) -> (u64, u64) {
    let rights = report
        .verification
        .as_ref()
        .and_then(|v| v.usage_rights.as_ref())
        .expect("cloud-licensing verification reads usage rights");
    assert_eq!(rights.read_error, None);
    assert!(!rights.truncated);
    assert_eq!(rights.device_cap, USAGE_RIGHTS_DEVICE_CAP as u64);
    // One entry per landed action that gives a subscription (assign, swap, ...).
    let giving: BTreeSet<GroupId> = report
        .actions
        .iter()
        .filter(|a| a.outcome.landed() && a.action != devlic_model::ActionKind::Revoke)
        .map(|a| a.group.id)
        .collect();
    let reported: BTreeSet<GroupId> = rights.groups.iter().map(|g| g.group.id).collect();
    assert_eq!(reported, giving);
    let (mut devices, mut holders) = (0, 0);
    for g in &rights.groups {
        let (d, h) = licensed_in_sim(&env.sim, g.group.id, &g.sku.sku_id.to_string()).await;
        assert_eq!((g.devices, g.devices_read, g.holders), (d, d, h), "{g:?}");
        devices += d;
        holders += h;
    }
    (devices, holders)
}

#[tokio::test]
async fn every_device_of_the_touched_groups_holds_the_right_when_units_suffice() {
    let env = start_on(Kind::Cloud, &contoso_with_room(), Faults::default()).await;
    let report = apply_contoso(&env).await;
    assert!(report.success, "{}", report.to_json());
    let (devices, holders) = check_against_sim(&env, &report).await;
    assert!(devices > 0);
    assert_eq!(holders, devices);
    // The JSON report carries it; the Markdown and JUnit say it.
    let json: Value = serde_json::from_str(&report.to_json()).unwrap();
    assert!(json["verification"]["usageRights"]["groups"][0]["holders"].is_u64());
    assert!(
        report
            .to_markdown()
            .contains("Device usage rights after apply")
    );
    assert!(report.to_junit().contains("device usage rights"));
}

#[tokio::test]
async fn devices_waiting_for_a_unit_hold_no_right() {
    // The fixture is 6 DEVICE1 units short for the Contoso plan: some devices wait.
    let env = start_on(Kind::Cloud, &contoso(), Faults::default()).await;
    let report = apply_contoso(&env).await;
    let (devices, holders) = check_against_sim(&env, &report).await;
    assert!(holders < devices, "{holders} of {devices}");
    let rights = report
        .verification
        .as_ref()
        .unwrap()
        .usage_rights
        .as_ref()
        .unwrap();
    let short = rights
        .shortfall()
        .expect("holders < devices is a shortfall");
    assert!(short.contains("device(s) hold"), "{short}");
    assert!(report.to_junit().contains("UsageRights"));
}

#[tokio::test]
async fn usage_rights_are_read_in_batches_and_capped() {
    let env = start_on(Kind::Cloud, &contoso_with_room(), Faults::default()).await;
    let report = apply_contoso(&env).await;
    let rights = report.verification.unwrap().usage_rights.unwrap();
    let targets: Vec<_> = rights
        .groups
        .iter()
        .map(|g| (g.group.id, g.sku.sku_id))
        .collect();
    let devices: u64 = rights.groups.iter().map(|g| g.devices).sum();

    env.sim.clear_request_log();
    let counts = env
        .backend
        .usage_rights(&targets, USAGE_RIGHTS_DEVICE_CAP)
        .await
        .expect("cloud-licensing has usage rights")
        .unwrap();
    let read: u64 = counts.iter().map(|c| c.devices_read).sum();
    assert_eq!(read, devices);
    let log = env.sim.request_log();
    let requests = calls(&log);
    let items = log
        .iter()
        .filter(|r| r.batch_item.is_some() && r.path_and_query.contains("/usageRights"))
        .count() as u64;
    assert_eq!(items, devices, "one batch item per device");
    // One $batch for the groups' members, ⌈devices/20⌉ for the rights, nothing else.
    let bound = 1 + devices.div_ceil(20) as usize;
    eprintln!(
        "usage rights of {devices} devices in {} groups: {} requests",
        targets.len(),
        requests.len()
    );
    assert!(
        requests.len() <= bound && requests.iter().all(|r| r.ends_with("/$batch")),
        "{requests:?}"
    );

    // A cap below the devices reads that many and says the read was cut short.
    let cap = 5;
    let counts = env
        .backend
        .usage_rights(&targets, cap)
        .await
        .unwrap()
        .unwrap();
    let read: u64 = counts.iter().map(|c| c.devices_read).sum();
    assert_eq!(read, cap as u64);
    assert!(counts.iter().any(|c| c.devices_read < c.devices));
    assert!(counts.iter().all(|c| c.holders <= c.devices_read));
}

#[tokio::test]
async fn group_licensing_has_no_usage_rights_in_its_report() {
    let env = start_on(Kind::Group, &contoso_with_room(), Faults::default()).await;
    let report = apply_contoso(&env).await;
    let v = report.verification.as_ref().unwrap();
    assert_eq!(v.usage_rights, None);
    assert!(!report.to_json().contains("usageRights"));
    assert!(env.backend.usage_rights(&[], 10).await.is_none());
}

/// The short Contoso apply on cloud-licensing in every report format: the usage-rights section
/// (JSON `verification.usageRights`, the Markdown table, the JUnit case) with holders < devices.
#[tokio::test]
async fn cloud_report_formats() {
    let env = start_on(Kind::Cloud, &contoso(), Faults::default()).await;
    let report = apply_contoso(&env).await;
    insta::with_settings!({filters => vec![
        (r#""startedAt": "[^"]+""#, r#""startedAt": "[time]""#),
        (r#""(duration|durationMs)": \d+"#, r#""$1": "[ms]""#),
        (r#"("requestIds": \[\s*)"[0-9a-f-]{36}""#, r#"$1"[request-id]""#),
        // The second request-id of a swap (create, then delete) sits alone on its line.
        (
            r#"(?m)^(\s*)"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"$"#,
            r#"$1"[request-id]""#,
        ),
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
        (r"since [0-9T:.-]+Z", "since [time]"),
    ]}, {
        insta::assert_snapshot!("cloud_report_json", report.to_json());
        insta::assert_snapshot!("cloud_report_markdown", report.to_markdown());
        insta::assert_snapshot!("cloud_report_junit", report.to_junit());
    });
}
