//! The file formats through the binary: `devlic snapshot` writes the versioned snapshot format,
//! `plan --snapshot` reads it tolerantly and refuses other versions with a clear help line, and
//! saved plans with the old `format_version` spelling still apply.

use serde_json::Value;

use crate::sim::{TestSim, clean_devlic, finish, s};

fn contoso_snapshot() -> Value {
    let path = crate::support::root().join("examples/tenants/contoso.snapshot.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn plan_offline(snapshot: &std::path::Path) -> crate::support::Run {
    finish(clean_devlic(&[
        "plan",
        "examples/contoso",
        "--snapshot",
        s(snapshot),
        "--format",
        "json",
    ]))
}

#[test]
fn snapshot_writes_the_versioned_format() {
    let sim = TestSim::start("contoso");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snap.json");
    let r = sim.run(&["snapshot", "--out", s(&out)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.starts_with("{\n  \"formatVersion\": 1,\n  \"state\": {"),
        "{text}"
    );
    assert!(text.ends_with("}\n"));
    assert_eq!(plan_offline(&out).code, 0);
}

/// A snapshot from a newer devlic of the same `formatVersion` may carry fields this one does not
/// know: the plan is the same as from the committed file.
#[test]
fn snapshot_with_unknown_fields_plans_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let committed = crate::support::root().join("examples/tenants/contoso.snapshot.json");
    let expected = plan_offline(&committed);
    assert_eq!(expected.code, 0, "{}", expected.stderr);

    let mut doc = contoso_snapshot();
    doc["writtenBy"] = "devlic 9.9".into();
    doc["state"]["region"] = "EU".into();
    let first = doc["state"]["groups"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    doc["state"]["groups"][&first]["createdDateTime"] = "2026-01-01T00:00:00Z".into();
    let newer = dir.path().join("newer.json");
    std::fs::write(&newer, doc.to_string()).unwrap();
    let r = plan_offline(&newer);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, expected.stdout);
}

#[test]
fn snapshot_of_a_newer_version_is_refused_with_upgrade_help() {
    let dir = tempfile::tempdir().unwrap();
    let mut doc = contoso_snapshot();
    doc["formatVersion"] = 2.into();
    let newer = dir.path().join("v2.json");
    std::fs::write(&newer, doc.to_string()).unwrap();
    let r = plan_offline(&newer);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("not a devlic snapshot: formatVersion 2 is not supported"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("help: the snapshot was written by a newer devlic"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty());

    let mut doc = contoso_snapshot();
    doc.as_object_mut().unwrap().remove("formatVersion");
    let missing = dir.path().join("none.json");
    std::fs::write(&missing, doc.to_string()).unwrap();
    let r = plan_offline(&missing);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("no integer `formatVersion` field"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("help: write one with `devlic snapshot"),
        "{}",
        r.stderr
    );
}

/// A plan saved before the version key was spelled `formatVersion` still applies, and the run
/// report it produces spells it `formatVersion` too.
#[test]
fn saved_plan_with_the_old_key_spelling_still_applies() {
    let sim = TestSim::start("northwind");
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    let r = sim.run(&["plan", "examples/northwind", "--out", s(&plan)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(&plan).unwrap();
    assert!(text.contains("\"formatVersion\": 3"), "{text}");
    let old = text
        .replace("\"formatVersion\"", "\"format_version\"")
        .replace("\"stateTakenAt\"", "\"state_taken_at\"");
    std::fs::write(&plan, old).unwrap();

    let report = dir.path().join("report.json");
    let r = sim.run(&[
        "apply",
        "--plan",
        s(&plan),
        "--auto-approve",
        "--poll-interval",
        "0.05",
        "--report",
        s(&report),
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(sim.stats().writes_applied, 2);
    // The run report uses the same version key as every other document.
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(report["formatVersion"], 1);
    assert!(report.get("format_version").is_none());
}
