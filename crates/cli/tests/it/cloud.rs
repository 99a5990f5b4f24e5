//! The same end-to-end paths on the cloud-licensing backend (Graph beta allotments and
//! assignments): convergence with waiting members reported, stale plans refused, dry runs.

use devlic_graph_sim::LoggedRequest;

use crate::sim::{OTHERS_LICENSE_THE_WAREHOUSE, TestSim, s};

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

/// Green means licensed, on cloud-licensing: the same story as on group-licensing.
#[test]
fn contoso_story_is_green_only_once_every_device_is_licensed() {
    crate::story::contoso_story(&CLOUD);
}

#[test]
fn contoso_converges_and_reports_waiting_devices() {
    let sim = TestSim::start("contoso");
    let before = sim.run(&args(&["plan", "examples/contoso", "--detailed-exitcode"]));
    assert_eq!(before.code, 3, "{}", before.stderr);
    assert!(
        before.stdout.contains("backend cloud-licensing"),
        "{}",
        before.stdout
    );

    let r = sim.run(&args(&[
        "apply",
        "examples/contoso",
        "--auto-approve",
        "--allow-revoke",
        "--allow-shortfall",
        "--poll-interval",
        "0.05",
    ]));
    // Six devices do not fit in the DEVICE1 allotment: they wait, and the run says so.
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("not licensed"), "{}", r.stderr);
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

    // Nothing to write, but six devices wait: drift until units are added.
    let after = sim.run(&args(&["plan", "examples/contoso", "--detailed-exitcode"]));
    assert_eq!(after.code, 2, "{}\n{}", after.stdout, after.stderr);
    assert!(
        after.stdout.contains("Plan: 0") || after.stdout.contains("No changes to write"),
        "{}",
        after.stdout
    );
    // Both views agree: the v1.0 plan has nothing to write either, and the same drift.
    let v1 = sim.run(&["plan", "examples/contoso", "--detailed-exitcode"]);
    assert_eq!(v1.code, 2, "{}", v1.stdout);
    assert!(v1.stdout.contains("No changes to write"), "{}", v1.stdout);
}

#[test]
fn stale_saved_plan_is_refused_on_cloud_licensing() {
    let sim = TestSim::start("contoso");
    let dir = tempfile::tempdir().unwrap();
    let plan = sim.stale_saved_plan(dir.path(), &CLOUD, OTHERS_LICENSE_THE_WAREHOUSE);

    // A saved plan applies through its own backend: no --backend needed (or allowed to differ).
    let r = sim.run(&[
        "apply",
        "--plan",
        s(&plan),
        "--auto-approve",
        "--allow-revoke",
        "--allow-shortfall",
    ]);
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
    let r = sim.run(&args(&[
        "apply",
        "examples/contoso",
        "--dry-run",
        "--allow-revoke",
        "--allow-shortfall",
    ]));
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
