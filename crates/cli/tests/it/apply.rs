//! `devlic apply` end to end against the simulator: convergence, stale plans, reruns,
//! verification failures, dry runs, guards and confirmation.

use crate::sim::{TestSim, fixture, s, write_spec};

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
            .contains("applied: + OFFICE_PROPLUS_DEVICE_EDUCATION on Lab - Art Room")
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

#[test]
fn contoso_converges_but_reports_the_count_violation() {
    let sim = TestSim::start("contoso");
    let r = sim.run(&apply_args(&["examples/contoso"]));
    // DEVICE1 ends 6 units short: the run writes everything, then fails verification.
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    // Which of the two newly licensed groups comes up short depends on the order the
    // concurrent writes reach the tenant, as it would in Graph.
    assert!(
        r.stderr.contains("license errors: Shared PCs - Warehouse")
            || r.stderr.contains("license errors: Training Center PCs"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("CountViolation"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("short by 6 units of OFFICE_PROPLUS_DEVICE1")
    );
    assert_eq!(sim.stats().writes_applied, 3);

    let after = sim.run(&["plan", "examples/contoso", "--detailed-exitcode"]);
    assert_eq!(after.code, 0, "{}\n{}", after.stdout, after.stderr);
    assert!(after.stdout.contains("No changes"), "{}", after.stdout);
}

#[test]
fn too_few_units_fail_the_run() {
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
    let r = sim.run(&apply_args(&["examples/northwind", "--report", s(&report)]));
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
    let plan = dir.path().join("plan.json");
    assert_eq!(
        sim.run(&["plan", "examples/contoso", "--out", s(&plan)])
            .code,
        0
    );
    // Someone else licenses the warehouse with the Education SKU before the plan is applied.
    let other = write_spec(
        dir.path(),
        "other.yaml",
        "apiVersion: devlic/v1\nkind: DeviceLicenses\nassignments:\n  - group: \"Shared PCs - Warehouse\"\n    subscription: OFFICE_PROPLUS_DEVICE_EDUCATION\n",
    );
    let r = sim.run(&apply_args(&[s(&other), "--no-verify"]));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    sim.sim.reset_stats();

    let r = sim.run(&apply_args(&["--plan", s(&plan)]));
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
            .contains("already applied: + OFFICE_PROPLUS_DEVICE_EDUCATION on Lab - Art Room")
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
    let r = sim.run(&["apply", "examples/contoso", "--dry-run"]);
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

/// A night with nothing to change still says that devices were left unlicensed.
#[test]
fn plan_without_changes_still_warns_about_license_errors() {
    let sim = TestSim::start("contoso");
    // The fixture is 6 units short for this plan: some devices end with CountViolation.
    let r = sim.run(&apply_args(&["examples/contoso"]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    let after = sim.run(&["plan", "examples/contoso", "--detailed-exitcode"]);
    assert_eq!(after.code, 0, "{}\n{}", after.stdout, after.stderr);
    assert!(after.stdout.contains("No changes"), "{}", after.stdout);
    assert!(after.stdout.contains("license error"), "{}", after.stdout);
}
