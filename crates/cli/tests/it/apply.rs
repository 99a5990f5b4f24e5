//! `devlic apply` end to end against the simulator: convergence, stale plans, reruns,
//! verification failures, dry runs, guards and confirmation.

use crate::sim::{OTHERS_LICENSE_THE_WAREHOUSE, TestSim, fixture, s, write_spec};

const FAST: [&str; 2] = ["--poll-interval", "0.05"];

fn apply_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["apply", "--auto-approve"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&FAST);
    args
}

#[test]
fn northwind_plan_apply_plan_converges() {
    let sim = TestSim::start("northwind");
    let before = sim.run(&["plan", "examples/northwind", "--detailed-exitcode"]);
    assert_eq!(before.code, 2, "{}", before.stderr);
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let summary = dir.path().join("summary.md");
    let junit = dir.path().join("junit.xml");
    let r = sim.run(&apply_args(&[
        "examples/northwind",
        "--report",
        s(&report),
        "--summary-markdown",
        s(&summary),
        "--junit",
        s(&junit),
    ]));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("Apply complete: 2 of 2"), "{}", r.stdout);
    assert!(
        r.stderr
            .contains("applied: + OFFICE_PROPLUS_DEVICE_EDUCATION (Microsoft 365 Apps for Education (device)) on Lab - Art Room")
    );
    assert_eq!(sim.stats().writes_applied, 2);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(report["success"], true);
    assert!(!std::fs::read_to_string(&summary).unwrap().is_empty());
    assert!(
        std::fs::read_to_string(&junit)
            .unwrap()
            .contains("<testsuite")
    );

    let after = sim.run(&["plan", "examples/northwind", "--detailed-exitcode"]);
    assert_eq!(after.code, 0, "{}\n{}", after.stdout, after.stderr);
    assert!(after.stdout.contains("No changes"), "{}", after.stdout);
}

/// Green means licensed: the Contoso story of issue 18, end to end on group-licensing (the
/// cloud-licensing run is in `cloud.rs`).
#[test]
fn contoso_story_is_green_only_once_every_device_is_licensed() {
    crate::story::contoso_story(&[]);
}

#[test]
fn too_few_units_are_refused_and_with_the_flag_fail_the_run() {
    let mut tenant = fixture("northwind");
    let edu = tenant
        .subscribed_skus
        .iter_mut()
        .find(|s| s.sku_part_number == "OFFICE_PROPLUS_DEVICE_EDUCATION")
        .unwrap();
    edu.prepaid_units.enabled = 120; // 113 used + 55 planned: 48 devices do not fit
    let sim = TestSim::with_tenant(tenant);
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let refused = sim.run(&apply_args(&["examples/northwind"]));
    assert_eq!(refused.code, 3, "{}\n{}", refused.stdout, refused.stderr);
    assert!(
        refused.stderr.contains("--allow-shortfall"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        sim.stats().writes,
        0,
        "a short plan writes nothing without the flag"
    );
    let r = sim.run(&apply_args(&[
        "examples/northwind",
        "--allow-shortfall",
        "--report",
        s(&report),
    ]));
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("CountViolation"), "{}", r.stderr);
    assert!(r.stderr.contains("error: apply did not fully succeed"));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(report["success"], false);
    assert!(
        !report["verification"]["licenseErrors"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn stale_saved_plan_is_refused_and_fresh_rerun_converges() {
    let sim = TestSim::start("contoso");
    let dir = tempfile::tempdir().unwrap();
    // Someone else licenses the warehouse with the Education SKU before the plan is applied.
    let plan = sim.stale_saved_plan(dir.path(), &[], OTHERS_LICENSE_THE_WAREHOUSE);

    // The flags pass every guard, so what refuses is the stale-plan check.
    let r = sim.run(&apply_args(&[
        "--plan",
        s(&plan),
        "--allow-revoke",
        "--allow-shortfall",
    ]));
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("the plan is stale"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("Shared PCs - Warehouse (1a2b3c4d-0002-4a5b-8c6d-000000000002):"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("found now:    OFFICE_PROPLUS_DEVICE_EDUCATION")
    );
    assert_eq!(sim.stats().writes, 0, "a stale plan writes nothing");
}

#[test]
fn rerunning_an_applied_plan_sends_no_write() {
    let sim = TestSim::start("northwind");
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    assert_eq!(
        sim.run(&["plan", "examples/northwind", "--out", s(&plan)])
            .code,
        0
    );
    let first = sim.run(&apply_args(&["--plan", s(&plan)]));
    assert_eq!(first.code, 0, "{}", first.stderr);
    sim.sim.reset_stats();
    let again = sim.run(&apply_args(&["--plan", s(&plan)]));
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again
            .stderr
            .contains("already applied: + OFFICE_PROPLUS_DEVICE_EDUCATION (Microsoft 365 Apps for Education (device)) on Lab - Art Room")
    );
    assert_eq!(sim.stats().writes, 0, "no write the second time");
    assert!(
        sim.sim
            .request_log()
            .iter()
            .all(|r| !r.path_and_query.contains("assignLicense"))
    );
}

#[test]
fn dry_run_prints_requests_and_writes_nothing() {
    let sim = TestSim::start("contoso");
    // A dry run says whether the real run would be refused: the Contoso plan trips guards.
    let guarded = sim.run(&[
        "apply",
        "examples/contoso",
        "--dry-run",
        "--backend",
        "group-licensing",
    ]);
    assert_eq!(guarded.code, 3, "{}\n{}", guarded.stdout, guarded.stderr);
    assert!(
        guarded.stderr.contains("apply would refuse this plan"),
        "{}",
        guarded.stderr
    );
    let r = sim.run(&[
        "apply",
        "examples/contoso",
        "--dry-run",
        "--backend",
        "group-licensing",
        "--allow-revoke",
        "--allow-shortfall",
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let url = format!(
        "POST {}/v1.0/groups/1a2b3c4d-0003-4a5b-8c6d-000000000003/assignLicense",
        sim.sim.url()
    );
    assert!(r.stdout.contains(&url), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("\"removeLicenses\": [\n    \"e6564056-c8cb-4977-a87c-45c90fe87ea9\"\n  ]")
    );
    assert_eq!(sim.stats().writes, 0);
    assert!(sim.sim.request_log().iter().all(|r| r.method == "GET"
        || r.path_and_query.contains("$batch")
        || r.path_and_query.contains("token")));
}

#[test]
fn guard_refuses_revocations_without_allow_revoke() {
    let sim = TestSim::start("northwind");
    let dir = tempfile::tempdir().unwrap();
    let spec = write_spec(
        dir.path(),
        "retire.yaml",
        "apiVersion: devlic/v1\nkind: DeviceLicenses\nsettings:\n  maxRevocations: 0\nassignments:\n  - group: \"Library Kiosks\"\n    state: absent\n",
    );
    let plan = sim.run(&["plan", s(&spec), "--detailed-exitcode"]);
    assert_eq!(plan.code, 3, "{}", plan.stderr);
    assert!(plan.stderr.contains("guard:"), "{}", plan.stderr);

    let r = sim.run(&apply_args(&[s(&spec)]));
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("--allow-revoke"), "{}", r.stderr);
    assert_eq!(sim.stats().writes, 0);

    let r = sim.run(&apply_args(&[s(&spec), "--allow-revoke"]));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(sim.stats().writes_applied, 1);
}

#[test]
fn no_terminal_and_no_auto_approve_refuses() {
    let sim = TestSim::start("northwind");
    let r = sim.run(&["apply", "examples/northwind"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("no terminal to ask on"), "{}", r.stderr);
    assert!(r.stderr.contains("--auto-approve"), "{}", r.stderr);
    assert_eq!(sim.stats().writes, 0);
}

/// A saved plan is data, not authority: deleting its guard violations, adding a revoke or
/// turning a swap into a revoke changes nothing about what apply refuses.
#[test]
fn a_tampered_saved_plan_cannot_pass_a_guard() {
    let sim = TestSim::start("northwind");
    let dir = tempfile::tempdir().unwrap();
    let spec = write_spec(
        dir.path(),
        "retire.yaml",
        "apiVersion: devlic/v1\nkind: DeviceLicenses\nsettings:\n  maxRevocations: 5\n  maxRevokePercent: 100\nassignments:\n  - group: \"Library Kiosks\"\n    state: absent\n",
    );
    let plan = dir.path().join("plan.json");
    let r = sim.run(&["plan", s(&spec), "--out", s(&plan)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    // The spec allowed 5 revocations; the file claims 50 and no tripped guard.
    v["guardSettings"]["maxRevocations"] = 50.into();
    v["guardViolations"] = serde_json::json!([]);
    std::fs::write(&plan, v.to_string()).unwrap();

    // Without --spec the thresholds are no looser than the defaults (0 revocations).
    let r = sim.run(&apply_args(&["--plan", s(&plan)]));
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("settings.maxRevocations is 0"),
        "{}",
        r.stderr
    );
    assert_eq!(sim.stats().writes, 0);

    // With --spec the spec's own thresholds apply, after checking the plan is the spec's.
    let r = sim.run(&apply_args(&["--plan", s(&plan), "--spec", s(&spec)]));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(sim.stats().writes_applied, 1);
}

/// A saved plan whose revoke targets another group than the spec's is refused with --spec.
#[test]
fn a_saved_plan_that_differs_from_the_spec_is_refused() {
    let sim = TestSim::start("northwind");
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    let r = sim.run(&["plan", "examples/northwind", "--out", s(&plan)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let actions = v["actions"].as_array_mut().unwrap();
    let removed = actions.pop().unwrap();
    v["summary"][removed["action"].as_str().unwrap()] = (v["summary"]
        [removed["action"].as_str().unwrap()]
    .as_u64()
    .unwrap()
        - 1)
    .into();
    let fingerprints: Vec<devlic_model::Fingerprint> = v["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| devlic_model::Fingerprint(a["beforeFingerprint"].as_str().unwrap().to_owned()))
        .collect();
    v["fingerprint"] = devlic_model::Fingerprint::combine(&fingerprints).0.into();
    std::fs::write(&plan, v.to_string()).unwrap();
    let r = sim.run(&apply_args(&[
        "--plan",
        s(&plan),
        "--spec",
        "examples/northwind",
    ]));
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("does not match what the spec yields now"),
        "{}",
        r.stderr
    );
    assert_eq!(sim.stats().writes, 0);
}

/// A saved plan applies through the backend it was reviewed for.
#[test]
fn a_saved_plan_refuses_another_backend() {
    let sim = TestSim::start("northwind");
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    assert_eq!(
        sim.run(&[
            "plan",
            "examples/northwind",
            "--backend",
            "group-licensing",
            "--out",
            s(&plan)
        ])
        .code,
        0
    );
    let r = sim.run(&apply_args(&[
        "--plan",
        s(&plan),
        "--backend",
        "cloud-licensing",
    ]));
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("group-licensing backend"), "{}", r.stderr);
    assert_eq!(sim.stats().writes, 0);
}

/// A saved plan names the Graph root it was made against; another one is refused.
#[test]
fn a_saved_plan_refuses_another_graph() {
    let first = TestSim::start("northwind");
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    assert_eq!(
        first
            .run(&["plan", "examples/northwind", "--out", s(&plan)])
            .code,
        0
    );
    let second = TestSim::start("northwind");
    let r = second.run(&apply_args(&["--plan", s(&plan)]));
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("Graph: the plan was made against"),
        "{}",
        r.stderr
    );
    assert_eq!(second.stats().writes, 0);
}
