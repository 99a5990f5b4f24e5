//! `--report`, `--summary-markdown` and `--junit` on every way apply ends: a guard refusal, a
//! stale plan, a failed sign-in and a partial failure each write all three files, and a dry run
//! writes none. (The JUnit schema itself is checked in devlic-applier's junit_schema test.)

use std::path::{Path, PathBuf};

use crate::sim::{OTHERS_LICENSE_THE_WAREHOUSE, TestSim, fixture, s, write_spec};

/// The three report files of one run, in a scratch folder.
struct Reports {
    _dir: tempfile::TempDir,
    json: PathBuf,
    markdown: PathBuf,
    junit: PathBuf,
}

impl Reports {
    fn new() -> Reports {
        let dir = tempfile::tempdir().unwrap();
        let at = |name: &str| dir.path().join(name);
        Reports {
            json: at("report.json"),
            markdown: at("summary.md"),
            junit: at("junit.xml"),
            _dir: dir,
        }
    }

    /// `apply --auto-approve ARGS` plus the three report flags.
    fn args<'a>(&'a self, extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec!["apply", "--auto-approve", "--poll-interval", "0.05"];
        args.extend_from_slice(extra);
        args.extend([
            "--report",
            s(&self.json),
            "--summary-markdown",
            s(&self.markdown),
            "--junit",
            s(&self.junit),
        ]);
        args
    }

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("{} was not written: {e}", path.display()))
    }

    /// All three files exist; returns (json, markdown, junit).
    fn all(&self) -> (serde_json::Value, String, String) {
        let json = serde_json::from_str(&Reports::read(&self.json)).expect("report is JSON");
        (
            json,
            Reports::read(&self.markdown),
            Reports::read(&self.junit),
        )
    }

    fn none_written(&self) -> bool {
        !self.json.exists() && !self.markdown.exists() && !self.junit.exists()
    }
}

/// A JUnit file's `<testsuite ...>` start tag.
fn suite_tag(junit: &str) -> &str {
    let start = junit.find("<testsuite ").expect("a testsuite");
    &junit[start..start + junit[start..].find('>').unwrap()]
}

#[test]
fn a_refused_apply_writes_all_three_reports() {
    let sim = TestSim::start("northwind");
    let dir = tempfile::tempdir().unwrap();
    let spec = write_spec(
        dir.path(),
        "retire.yaml",
        "apiVersion: devlic/v1\nkind: DeviceLicenses\nsettings:\n  maxRevocations: 0\nassignments:\n  - group: \"Library Kiosks\"\n    state: absent\n",
    );
    let reports = Reports::new();
    let r = sim.run(&reports.args(&[s(&spec)]));
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(sim.stats().writes, 0);

    let (json, markdown, junit) = reports.all();
    assert_eq!(json["success"], false);
    assert_eq!(json["stopped"]["reason"], "guardRefused");
    assert!(
        json["stopped"]["message"]
            .as_str()
            .unwrap()
            .contains("a guard refused the plan"),
        "{json}"
    );
    assert_eq!(json["tenant"], sim.tenant_id.as_str());
    let actions = json["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 1, "{json}");
    assert_eq!(actions[0]["outcome"], "notWritten");
    assert!(
        markdown.contains("### ⛔ devlic apply stopped: nothing was written"),
        "{markdown}"
    );
    assert!(markdown.contains("A guard refused the plan."), "{markdown}");
    assert!(markdown.contains("| not written | revoke | Library Kiosks |"));
    let tag = suite_tag(&junit);
    assert!(
        tag.contains("tests=\"2\" failures=\"1\" errors=\"0\"") && tag.contains("skipped=\"1\""),
        "{junit}"
    );
    assert!(junit.contains("type=\"GuardRefused\""), "{junit}");
}

#[test]
fn a_stale_plan_writes_all_three_reports() {
    let sim = TestSim::start("contoso");
    let dir = tempfile::tempdir().unwrap();
    let plan = sim.stale_saved_plan(dir.path(), &[], OTHERS_LICENSE_THE_WAREHOUSE);

    let reports = Reports::new();
    // The flags pass the guards, so what refuses is the stale-plan check.
    let r = sim.run(&reports.args(&["--plan", s(&plan), "--allow-revoke", "--allow-shortfall"]));
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    let (json, markdown, junit) = reports.all();
    assert_eq!(json["stopped"]["reason"], "stalePlan");
    let stale = json["stopped"]["staleGroups"].as_array().unwrap();
    assert_eq!(stale[0]["group"]["displayName"], "Shared PCs - Warehouse");
    assert!(
        markdown.contains("- **Shared PCs - Warehouse**: changed since the plan was made"),
        "{markdown}"
    );
    assert!(junit.contains("type=\"StalePlan\""), "{junit}");
}

#[test]
fn a_failed_sign_in_writes_all_three_reports() {
    let sim = TestSim::start("northwind");
    let reports = Reports::new();
    let mut cmd = sim.devlic(&reports.args(&["examples/northwind"]));
    cmd.env("AZURE_CLIENT_SECRET", "not-the-secret");
    let r = crate::sim::finish(cmd);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(sim.stats().writes, 0);

    let (json, markdown, junit) = reports.all();
    assert_eq!(json["stopped"]["reason"], "failed");
    let message = json["stopped"]["message"].as_str().unwrap();
    assert!(message.contains("access token"), "{message}");
    assert!(!message.contains("not-the-secret"), "{message}");
    // No plan was made, so no action to list; the tenant is the one configured.
    assert_eq!(json["actions"].as_array().unwrap().len(), 0);
    assert_eq!(json["tenant"], sim.tenant_id.as_str());
    assert!(
        markdown.contains("devlic stopped on an error before writing."),
        "{markdown}"
    );
    assert!(!markdown.contains("not-the-secret"));
    let tag = suite_tag(&junit);
    assert!(
        tag.contains("tests=\"1\" failures=\"0\" errors=\"1\""),
        "{junit}"
    );
    assert!(!junit.contains("not-the-secret"));
}

#[test]
fn a_partial_failure_writes_all_three_reports() {
    let mut tenant = fixture("northwind");
    let edu = tenant
        .subscribed_skus
        .iter_mut()
        .find(|s| s.sku_part_number == "OFFICE_PROPLUS_DEVICE_EDUCATION")
        .unwrap();
    edu.prepaid_units.enabled = 120; // 48 planned devices do not fit
    let sim = TestSim::with_tenant(tenant);
    let reports = Reports::new();
    // Northwind is short here; the admin passed the shortfall guard.
    let r = sim.run(&reports.args(&["examples/northwind", "--allow-shortfall"]));
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let (json, markdown, junit) = reports.all();
    assert_eq!(json["success"], false);
    assert!(json.get("stopped").is_none(), "{json}");
    assert!(markdown.contains("❌ devlic apply failed"), "{markdown}");
    // License processing (devices waiting) and the devices' usage rights both fail.
    assert!(
        suite_tag(&junit).contains("failures=\"2\" errors=\"0\""),
        "{junit}"
    );
    assert!(junit.contains("type=\"UsageRights\""), "{junit}");
    // 120 enabled - 113 consumed: 7 units left, so 7 of the 55 devices hold the right.
    let groups = json["verification"]["usageRights"]["groups"]
        .as_array()
        .unwrap();
    let sum = |k: &str| groups.iter().map(|g| g[k].as_u64().unwrap()).sum::<u64>();
    assert_eq!(
        (sum("holders"), sum("devicesRead"), sum("devices")),
        (7, 55, 55)
    );
    assert!(
        markdown.contains("Device usage rights after apply"),
        "{markdown}"
    );
    assert!(r.stdout.contains("usage rights:") || r.stderr.contains("usage rights:"));
}

#[test]
fn a_dry_run_writes_no_report() {
    let sim = TestSim::start("northwind");
    let reports = Reports::new();
    let mut args = reports.args(&["examples/northwind"]);
    args.push("--dry-run");
    let r = sim.run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(reports.none_written());
}
