//! insta snapshots of the user-visible output that had none: the multi-tenant plan in every
//! format, and what `apply` prints for a dry run, a stale saved plan and a failed write.
//! Ports, timestamps, request ids and the sign-in service's trace ids vary per run and are
//! redacted.

use crate::sim::{OTHERS_LICENSE_THE_WAREHOUSE, TestSim, s};

/// Replaces what varies between runs: timestamps, the simulator's port, request ids, temporary
/// directories and elapsed times.
macro_rules! assert_redacted_snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!({filters => vec![
            (r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?Z", "[TIMESTAMP]"),
            (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
            (r"(?i)(request[- ]id:? ?)[0-9a-f-]{36}", "${1}[REQUEST-ID]"),
            (r"(?i)(client-request-id:? ?)[0-9a-f-]{36}", "${1}[REQUEST-ID]"),
            (r"(?i)(trace[ _]id:? ?|correlation[ _]id:? ?)[0-9a-f-]{36}", "${1}[TRACE-ID]"),
            (r"/[^\s]*/\.tmp[A-Za-z0-9]+", "[TEMP]"),
            (r"in \d+(\.\d+)? ?m?s\b", "in [ELAPSED]"),
            (r"\b\d+(\.\d+)? accepted per second", "[RATE] accepted per second"),
        ]}, {
            insta::assert_snapshot!($name, $value);
        });
    };
}

const FAST: [&str; 2] = ["--poll-interval", "0.05"];

/// Three folders against one simulator: Contoso with changes, a kiosk-only folder already in
/// its desired state (`crates/cli/tests/data/contoso-kiosks`), and Northwind, whose tenant the
/// simulator does not serve (sign-in fails).
#[test]
fn multi_tenant_plan_in_every_format() {
    let sim = TestSim::start("contoso");
    let second = "crates/cli/tests/data/contoso-kiosks";
    let args = ["plan", "examples/contoso", second, "examples/northwind"];
    for format in ["text", "markdown", "json"] {
        let r = sim.run(&[&args[..], &["--format", format]].concat());
        assert_eq!(r.code, 1, "{format}: {}", r.stderr);
        assert_redacted_snapshot!(format!("multi_tenant_plan_{format}"), r.stdout);
    }
    assert_eq!(sim.stats().writes, 0, "plan never writes");
}

#[test]
fn dry_run_text() {
    let sim = TestSim::start("contoso");
    // The guards are passed so the dry run exits 0; without them it would exit 3.
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
    assert_redacted_snapshot!("dry_run_group_licensing", r.stdout);
    let r = sim.run(&[
        "apply",
        "examples/contoso",
        "--dry-run",
        "--allow-revoke",
        "--allow-shortfall",
        "--backend",
        "cloud-licensing",
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_redacted_snapshot!("dry_run_cloud_licensing", r.stdout);
    assert_eq!(sim.stats().writes, 0);
}

#[test]
fn stale_plan_text() {
    let sim = TestSim::start("contoso");
    let dir = tempfile::tempdir().unwrap();
    // Before the plan is applied, someone else licenses the warehouse (the plan is stale) and
    // revokes the retired call center (what the plan would do: already applied, not stale).
    let plan = sim.stale_saved_plan(
        dir.path(),
        &[],
        &format!(
            "{OTHERS_LICENSE_THE_WAREHOUSE}  - group: \"Retired Call Center\"\n    state: absent\n"
        ),
    );

    let r = sim.run(
        &[
            &[
                "apply",
                "--plan",
                s(&plan),
                "--auto-approve",
                "--allow-revoke",
                "--allow-shortfall",
            ][..],
            &FAST,
        ]
        .concat(),
    );
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert_redacted_snapshot!("stale_plan_stderr", r.stderr);
}

/// A write Graph refuses (400: a disabled plan that is not a service plan of the SKU, put into a
/// saved plan by hand; the plan's integrity checks cover counts and what it was planned from,
/// not the request bodies) fails that action; the others land and the run says which failed.
#[test]
fn failed_write_text() {
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
            s(&plan),
        ])
        .code,
        0
    );
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    doc["actions"][0]["disabledPlans"] =
        serde_json::json!(["0f0e0d0c-0b0a-4909-8807-060504030201"]);
    std::fs::write(&plan, doc.to_string()).unwrap();

    let r = sim.run(
        &[
            &[
                "apply",
                "--plan",
                s(&plan),
                "--auto-approve",
                "--concurrency",
                "1",
            ][..],
            &FAST,
        ]
        .concat(),
    );
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(sim.stats().writes_applied, 1, "the other action landed");
    assert_redacted_snapshot!("failed_write_stdout", r.stdout);
    assert_redacted_snapshot!("failed_write_stderr", r.stderr);
}
