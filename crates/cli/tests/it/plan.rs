//! `devlic plan` against the simulator and against snapshots: formats, exit codes, errors.

use crate::sim::{TestSim, clean_devlic, finish, s, write_spec};

/// Replaces what varies between runs: timestamps and the simulator's port.
macro_rules! assert_stable_snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!({filters => vec![
            (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "[TIMESTAMP]"),
            (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
        ]}, {
            insta::assert_snapshot!($name, $value);
        });
    };
}

#[test]
fn contoso_plan_in_every_format() {
    let sim = TestSim::start("contoso");
    for format in ["text", "markdown", "json"] {
        let r = sim.run(&["plan", "examples/contoso", "--format", format]);
        assert_eq!(r.code, 0, "{format}: {}", r.stderr);
        assert_stable_snapshot!(format!("contoso_plan_{format}"), r.stdout);
    }
    let r = sim.run(&["plan", "examples/contoso", "--detailed-exitcode"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(sim.stats().writes, 0, "plan never writes");
}

#[test]
fn northwind_plan_text() {
    let sim = TestSim::start("northwind");
    let r = sim.run(&["plan", "examples/northwind"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_stable_snapshot!("northwind_plan_text", r.stdout);
}

#[test]
fn offline_plan_needs_no_credentials_and_says_so() {
    let r = finish(clean_devlic(&[
        "plan",
        "examples/contoso",
        "--snapshot",
        "examples/tenants/contoso.snapshot.json",
        "--detailed-exitcode",
    ]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stdout.contains("OFFLINE PLAN"), "{}", r.stdout);
    for needle in ["+ assign", "- revoke", "⇄ swap", "short by 6"] {
        assert!(r.stdout.contains(needle), "missing {needle}:\n{}", r.stdout);
    }
    let json = finish(clean_devlic(&[
        "plan",
        "examples/contoso",
        "--snapshot",
        "examples/tenants/contoso.snapshot.json",
        "--format",
        "json",
    ]));
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["offline"], true);
}

#[test]
fn resolution_errors_are_located_with_help() {
    let dir = tempfile::tempdir().unwrap();
    let spec = write_spec(
        dir.path(),
        "bad.yaml",
        "apiVersion: devlic/v1\nkind: DeviceLicenses\nassignments:\n  - group: \"No Such Group\"\n    subscription: OFFICE_PROPLUS_DEVICE1\n",
    );
    let r = finish(clean_devlic(&[
        "plan",
        s(&spec),
        "--snapshot",
        "examples/tenants/contoso.snapshot.json",
    ]));
    assert_eq!(r.code, 1);
    let location = format!(
        "{}:4:5: error: no group is named \"No Such Group\"",
        s(&spec)
    );
    assert!(r.stderr.contains(&location), "{}", r.stderr);
    assert!(
        r.stderr.contains("help: check the spelling"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty(), "nothing on stdout on error");
}

#[test]
fn invalid_spec_is_rendered_like_validate() {
    let r = finish(clean_devlic(&[
        "plan",
        "examples/broken/unknown-field.yaml",
        "--snapshot",
        "examples/tenants/contoso.snapshot.json",
    ]));
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("examples/broken/unknown-field.yaml:6:5: error: unknown field `subscripton`"),
        "{}",
        r.stderr
    );
}

#[test]
fn missing_credentials_say_what_to_set() {
    let r = finish(clean_devlic(&[
        "plan",
        "examples/contoso",
        "--auth",
        "secret",
        "--graph-url",
        "http://127.0.0.1:9",
    ]));
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("error: cannot sign in"), "{}", r.stderr);
    assert!(r.stderr.contains("--snapshot"), "{}", r.stderr);
}

#[test]
fn saved_plan_is_the_json_format() {
    let sim = TestSim::start("northwind");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plan.json");
    let r = sim.run(&["plan", "examples/northwind", "--out", s(&out)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("devlic apply --plan"), "{}", r.stderr);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["format_version"], 1);
    assert_eq!(v["summary"]["assign"], 2);
}
