//! `settings.backend: auto` (the default) against the simulator: the backend comes from the
//! tenant's cloudLicensing allotments, costs one request, none when the backend is explicit, and
//! the plan, the snapshot and an offline plan all say which backend and why.

use serde_json::Value;

use crate::sim::{TestSim, s, write_spec};

const ALLOTMENTS: &str = "/beta/admin/cloudLicensing/allotments";

fn allotment_reads(sim: &TestSim) -> usize {
    sim.sim
        .request_log()
        .iter()
        .filter(|r| r.method == "GET" && r.path_and_query.starts_with(ALLOTMENTS))
        .count()
}

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout).expect("a JSON plan")
}

#[test]
fn auto_chooses_cloud_licensing_when_the_tenant_has_device_allotments() {
    let sim = TestSim::start("northwind");
    let r = sim.run(&["plan", "examples/northwind", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let auto_requests = sim.stats().requests;
    let auto_allotment_reads = allotment_reads(&sim);
    let plan = json(&r.stdout);
    assert_eq!(plan["backend"], "cloud-licensing");
    assert_eq!(
        plan["backendReason"],
        "the tenant has a cloudLicensing allotment assignable to devices for \
         OFFICE_PROPLUS_DEVICE_EDUCATION"
    );

    // The same plan with the backend given costs exactly one request less: the probe.
    sim.sim.reset_stats();
    sim.sim.clear_request_log();
    let r = sim.run(&[
        "plan",
        "examples/northwind",
        "--format",
        "json",
        "--backend",
        "cloud-licensing",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(sim.stats().requests + 1, auto_requests);
    assert_eq!(allotment_reads(&sim) + 1, auto_allotment_reads);
    let explicit = json(&r.stdout);
    assert_eq!(
        explicit["backendReason"],
        "set by --backend cloud-licensing"
    );
    assert_eq!(explicit["actions"], plan["actions"]);
}

#[test]
fn an_explicit_backend_sends_no_probe() {
    let sim = TestSim::start("contoso");
    let r = sim.run(&["plan", "examples/contoso", "--backend", "group-licensing"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(allotment_reads(&sim), 0);
    assert!(
        r.stdout
            .contains("Backend group-licensing: set by --backend group-licensing."),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("undocumented backend"), "{}", r.stdout);
}

#[test]
fn a_403_on_the_allotments_read_chooses_group_licensing_and_warns() {
    // devlic-plan-group holds what SECURITY.md grants a group-licensing plan identity: no
    // CloudLicensing.Read.All, so Graph answers 403 to the allotments read.
    let sim = TestSim::start("contoso");
    let r = sim.run_as("devlic-plan-group", &["plan", "examples/contoso"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(
            "Backend group-licensing: GET /beta/admin/cloudLicensing/allotments answered 403 \
             Authorization_RequestDenied"
        ),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("[undocumented backend]"), "{}", r.stdout);
    assert!(r.stdout.contains("assignLicense"), "{}", r.stdout);
}

#[test]
fn backend_auto_overrides_a_fixed_spec_setting() {
    let sim = TestSim::start("northwind");
    let dir = tempfile::tempdir().unwrap();
    let path = write_spec(
        dir.path(),
        "labs.yaml",
        "apiVersion: devlic/v1\nkind: DeviceLicenses\nsettings:\n  backend: group-licensing\n\
         assignments:\n  - group: \"Lab - Art Room\"\n    subscription: OFFICE_PROPLUS_DEVICE_EDUCATION\n",
    );
    let fixed = sim.run(&["plan", s(&path), "--format", "json"]);
    assert_eq!(fixed.code, 0, "{}", fixed.stderr);
    let fixed = json(&fixed.stdout);
    assert_eq!(fixed["backend"], "group-licensing");
    assert_eq!(
        fixed["backendReason"],
        "set by settings.backend: group-licensing"
    );
    let auto = sim.run(&["plan", s(&path), "--format", "json", "--backend", "auto"]);
    assert_eq!(auto.code, 0, "{}", auto.stderr);
    assert_eq!(json(&auto.stdout)["backend"], "cloud-licensing");
}

#[test]
fn a_snapshot_records_the_choice_and_an_offline_plan_makes_the_same_one() {
    let sim = TestSim::start("northwind");
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap.json");
    let r = sim.run(&["snapshot", "--out", s(&snap), "examples/northwind"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&snap).unwrap()).unwrap();
    assert_eq!(file["state"]["backend"]["backend"], "cloud-licensing");
    assert_eq!(file["state"]["backend"]["automatic"], true);

    let live = sim.run(&["plan", "examples/northwind", "--format", "json"]);
    let offline = sim.run(&[
        "plan",
        "examples/northwind",
        "--format",
        "json",
        "--snapshot",
        s(&snap),
    ]);
    assert_eq!(offline.code, 0, "{}", offline.stderr);
    let (live, offline) = (json(&live.stdout), json(&offline.stdout));
    assert_eq!(offline["backend"], live["backend"]);
    assert_eq!(offline["backendReason"], live["backendReason"]);
    assert_eq!(offline["actions"], live["actions"]);
}
