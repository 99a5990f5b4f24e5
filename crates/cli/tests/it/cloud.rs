//! The same end-to-end paths on the cloud-licensing backend (Graph beta allotments and
//! assignments): convergence with waiting members reported, stale plans refused, dry runs.

use devlic_graph_sim::LoggedRequest;

use crate::sim::{TestSim, s, write_spec};

const CLOUD: [&str; 2] = ["--backend", "cloud-licensing"];

fn args<'a>(base: &[&'a str]) -> Vec<&'a str> {
    [base, &CLOUD[..]].concat()
}

/// cloudLicensing writes: `(method, path)` of assignment creates and deletes.
fn cloud_writes(log: &[LoggedRequest]) -> Vec<(String, String)> {
    log.iter()
        .filter(|r| {
            (r.method == "POST" || r.method == "DELETE")
                && r.path_and_query.contains("/cloudLicensing/assignments")
        })
        .map(|r| (r.method.clone(), r.path_and_query.clone()))
        .collect()
}

#[test]
fn contoso_converges_and_reports_waiting_devices() {
    let sim = TestSim::start("contoso");
    let before = sim.run(&args(&["plan", "examples/contoso", "--detailed-exitcode"]));
    assert_eq!(before.code, 2, "{}", before.stderr);
    assert!(
        before.stdout.contains("backend cloud-licensing"),
        "{}",
        before.stdout
    );

    let r = sim.run(&args(&[
        "apply",
        "examples/contoso",
        "--auto-approve",
        "--poll-interval",
        "0.05",
    ]));
    // Six devices do not fit in the DEVICE1 allotment: they wait, and the run says so.
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("license errors"), "{}", r.stderr);
    let writes = cloud_writes(&sim.sim.request_log());
    // assign: 1 create; swap: create then delete; revoke: 1 delete.
    assert_eq!(
        writes.iter().filter(|(m, _)| m == "POST").count(),
        2,
        "{writes:?}"
    );
    assert_eq!(
        writes.iter().filter(|(m, _)| m == "DELETE").count(),
        2,
        "{writes:?}"
    );

    let after = sim.run(&args(&["plan", "examples/contoso", "--detailed-exitcode"]));
    assert_eq!(after.code, 0, "{}\n{}", after.stdout, after.stderr);
    // Both views agree: the v1.0 plan is empty too.
    let v1 = sim.run(&["plan", "examples/contoso", "--detailed-exitcode"]);
    assert_eq!(v1.code, 0, "{}", v1.stdout);
}

#[test]
fn stale_saved_plan_is_refused_on_cloud_licensing() {
    let sim = TestSim::start("contoso");
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    assert_eq!(
        sim.run(&args(&["plan", "examples/contoso", "--out", s(&plan)]))
            .code,
        0
    );
    let other = write_spec(
        dir.path(),
        "other.yaml",
        "apiVersion: devlic/v1\nkind: DeviceLicenses\nassignments:\n  - group: \"Shared PCs - Warehouse\"\n    subscription: OFFICE_PROPLUS_DEVICE_EDUCATION\n",
    );
    let r = sim.run(&["apply", s(&other), "--auto-approve", "--no-verify"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    sim.sim.clear_request_log();

    let r = sim.run(&args(&["apply", "--plan", s(&plan), "--auto-approve"]));
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("the plan is stale"), "{}", r.stderr);
    assert!(
        cloud_writes(&sim.sim.request_log()).is_empty(),
        "a stale plan writes nothing"
    );
}

#[test]
fn dry_run_shows_create_before_delete_and_writes_nothing() {
    let sim = TestSim::start("contoso");
    let r = sim.run(&args(&["apply", "examples/contoso", "--dry-run"]));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let swap = r
        .stdout
        .rfind("Training Center PCs")
        .expect("the swap is listed");
    let rest = &r.stdout[swap..];
    let post = rest.find("POST").expect("a create");
    let delete = rest.find("DELETE").expect("a delete");
    assert!(
        post < delete,
        "the new assignment must be created before the old one is removed:\n{rest}"
    );
    assert!(cloud_writes(&sim.sim.request_log()).is_empty());
}
