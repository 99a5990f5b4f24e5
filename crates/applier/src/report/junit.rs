//! The run report as JUnit XML (`--junit`).

use std::fmt::Write as _;

use devlic_model::display::sanitize;

use super::{ActionOutcome, RunReport, StopReason, causes_text, error_codes, kind_word};

impl RunReport {
    /// JUnit XML in the shape of the widely used Jenkins/Ant schema (`testsuites` >
    /// `testsuite` > `testcase`, with `tests`, `failures`, `errors`, `skipped` and `time`
    /// wherever the schema allows them, `time` on every test case): one test case per action, one for
    /// verification, and for a stopped run one for the stop (a failure for a guard or a stale
    /// plan, an error otherwise) with the actions as skipped test cases.
    pub fn to_junit(&self) -> String {
        let mut suite = JunitSuite::default();
        if let Some(stopped) = &self.stopped {
            let (element, name) = match stopped.reason {
                StopReason::GuardRefused => ("failure", "guards"),
                StopReason::StalePlan => ("failure", "stale-plan check"),
                StopReason::Failed => ("error", "run"),
            };
            let mut why = vec![sanitize(&stopped.message).replace('\n', " ")];
            why.extend(
                stopped
                    .stale_groups
                    .iter()
                    .map(|g| format!("{} changed since the plan was made", g.group.display_name)),
            );
            suite.case(
                "devlic.apply",
                name,
                self.duration_ms,
                Some((element, stop_type(stopped.reason), why.join("; "))),
            );
        }
        for a in &self.actions {
            let name = format!(
                "{} {} {}",
                kind_word(a.action),
                a.group.display_name,
                a.sku.sku_part_number
            );
            let outcome = match a.outcome {
                ActionOutcome::Applied | ActionOutcome::AlreadyApplied => None,
                ActionOutcome::Failed => Some((
                    "failure",
                    "WriteFailed",
                    a.error.clone().unwrap_or_else(|| "failed".to_owned()),
                )),
                ActionOutcome::NotWritten => Some((
                    "skipped",
                    "",
                    "not written: the run stopped before writing".to_owned(),
                )),
            };
            suite.case("devlic.apply", &name, a.duration_ms, outcome);
        }
        if let Some(v) = &self.verification {
            let outcome = (!v.is_clean()).then(|| {
                let mut why = Vec::new();
                if !v.pending_groups.is_empty() {
                    why.push(format!(
                        "{} group(s) still processing",
                        v.pending_groups.len()
                    ));
                }
                for g in &v.license_errors {
                    why.push(format!(
                        "{}: {} member(s) with errors ({})",
                        self.group_name(g.group),
                        g.members.len(),
                        error_codes(&g.members)
                    ));
                }
                if !v.vanished_groups.is_empty() {
                    why.push(format!(
                        "{} group(s) no longer exist",
                        v.vanished_groups.len()
                    ));
                }
                for u in &v.unknown_states {
                    why.push(format!(
                        "{}: unknown license processing state {}",
                        self.group_name(u.group),
                        u.state
                    ));
                }
                if let Some(e) = &v.read_error {
                    why.push(e.clone());
                }
                if let Some(e) = v.usage_rights.as_ref().and_then(|u| u.read_error.as_ref()) {
                    why.push(format!("reading the devices' usage rights failed: {e}"));
                }
                ("failure", "LicenseProcessing", why.join("; "))
            });
            suite.case(
                "devlic.verify",
                "license processing",
                v.duration_ms,
                outcome,
            );
            if let Some(u) = &v.usage_rights {
                let outcome = u.shortfall().map(|why| ("failure", "UsageRights", why));
                suite.case("devlic.verify", "device usage rights", 0, outcome);
            }
        }
        for u in &self.unlicensed {
            suite.case(
                "devlic.licensed",
                &u.group.display_name,
                0,
                Some((
                    "failure",
                    "Unlicensed",
                    format!("{} device(s) not licensed: {}", u.devices, causes_text(u)),
                )),
            );
        }
        // The Jenkins schema has `skipped` on a testsuite only.
        let totals = format!(
            "tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{}\"",
            suite.tests,
            suite.failures,
            suite.errors,
            seconds(self.duration_ms)
        );
        // The write phase as suite properties (before the test cases, as the schema orders them).
        let properties = self.writes.map_or_else(String::new, |w| {
            let mut p = String::from("    <properties>\n");
            for (name, value) in w.junit_properties() {
                let _ = writeln!(p, "      <property name=\"{name}\" value=\"{value}\"/>");
            }
            p.push_str("    </properties>\n");
            p
        });
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"devlic\" {totals}>\n  <testsuite name=\"devlic apply\" {totals} skipped=\"{}\" timestamp=\"{}\">\n{properties}{}  </testsuite>\n</testsuites>\n",
            suite.skipped,
            self.started_at.strftime("%Y-%m-%dT%H:%M:%S"),
            suite.cases
        )
    }
}

/// Test cases and their tallies, for [`RunReport::to_junit`].
#[derive(Default)]
struct JunitSuite {
    cases: String,
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
}

impl JunitSuite {
    /// One `testcase`; `outcome` is `(element, type, message)` for a failure, an error or a
    /// skip (`failure`, `error`, `skipped`; skips carry no type).
    fn case(
        &mut self,
        classname: &str,
        name: &str,
        duration_ms: u64,
        outcome: Option<(&str, &str, String)>,
    ) {
        self.tests += 1;
        let _ = write!(
            self.cases,
            "    <testcase classname=\"{classname}\" name=\"{}\" time=\"{}\"",
            escape_xml(name),
            seconds(duration_ms)
        );
        let Some((element, kind, message)) = outcome else {
            self.cases.push_str("/>\n");
            return;
        };
        match element {
            "failure" => self.failures += 1,
            "error" => self.errors += 1,
            _ => self.skipped += 1,
        }
        let kind = if kind.is_empty() {
            String::new()
        } else {
            format!(" type=\"{kind}\"")
        };
        let _ = write!(
            self.cases,
            ">\n      <{element} message=\"{}\"{kind}/>\n    </testcase>\n",
            escape_xml(&message)
        );
    }
}

/// Milliseconds as JUnit's decimal seconds.
fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// The JUnit `type` of a stop.
fn stop_type(reason: StopReason) -> &'static str {
    match reason {
        StopReason::GuardRefused => "GuardRefused",
        StopReason::StalePlan => "StalePlan",
        StopReason::Failed => "Error",
    }
}

/// Text for an XML attribute: [sanitized](sanitize) first (XML 1.0 cannot even carry most
/// control characters, and CI systems show these messages in terminals and web pages), then
/// the XML escapes.
fn escape_xml(s: &str) -> String {
    sanitize(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
