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

/// Several tenant folders in one run: one section per tenant in every format, a failing tenant
/// does not hide the others, and the exit code is the worst of them.
#[test]
fn several_tenants_plan_concurrently_with_one_section_each() {
    let sim = crate::sim::TestSim::start("contoso");
    let dir = tempfile::tempdir().unwrap();
    let second = dir.path().join("contoso-kiosks");
    std::fs::create_dir(&second).unwrap();
    std::fs::write(
        second.join("devlic.yaml"),
        "apiVersion: devlic/v1\nkind: DeviceLicenses\ntenant: contoso.com\nassignments:\n  - group: Kiosks - Front Desk\n    subscription: OFFICE_PROPLUS_DEVICE1\n",
    )
    .unwrap();
    let second = second.to_str().unwrap();
    // Northwind's tenant is not the one the simulator serves: its sign-in fails.
    let args = ["plan", "examples/contoso", second, "examples/northwind"];

    let text = sim.run(&args);
    assert_eq!(text.code, 1, "{}", text.stderr);
    assert!(
        text.stdout
            .contains("══ tenant contoso.onmicrosoft.com (examples/contoso) ══"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("Plan: 1 to assign, 1 to revoke, 1 to swap, 0 to update.")
    );
    assert!(text.stdout.contains("No changes"), "{}", text.stdout);
    assert!(
        text.stdout
            .contains("══ tenant northwindschools.onmicrosoft.com (examples/northwind) ══")
    );

    let json = sim.run(&[&args[..], &["--format", "json"]].concat());
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["formatVersion"], 1);
    let tenants = doc["tenants"].as_array().unwrap();
    assert_eq!(tenants.len(), 3);
    assert_eq!(tenants[0]["plan"]["summary"]["swap"], 1);
    assert_eq!(tenants[1]["plan"]["actions"].as_array().unwrap().len(), 0);
    assert!(
        tenants[2]["error"].as_str().unwrap().contains("error"),
        "{}",
        tenants[2]
    );
    assert!(!json.stdout.contains('\u{1b}'));

    let md = sim.run(&[&args[..], &["--format", "markdown"]].concat());
    assert_eq!(md.stdout.matches("## Tenant ").count(), 3, "{}", md.stdout);
    assert!(md.stdout.len() <= 65_535);

    // Without the failing tenant: Contoso has changes and the kiosk folder none, so exit 2.
    let ok = sim.run(&["plan", "examples/contoso", second, "--detailed-exitcode"]);
    assert_eq!(ok.code, 2, "{}", ok.stderr);
}
