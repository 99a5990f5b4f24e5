//! The run report: what apply did, as data (`--report` JSON), Markdown (`--summary-markdown`,
//! for `$GITHUB_STEP_SUMMARY`) and JUnit XML (`--junit`).

use std::fmt::Write as _;
use std::time::Duration;

use devlic_model::display::{markdown_code, markdown_text, sanitize};
use devlic_model::{
    Action, ActionKind, AssignedLicense, Backend, GroupId, GroupRef, LicenseErrorMember, Plan,
    SkuRef, Unlicensed, license_errors,
};
use serde::Serialize;

pub use crate::throughput::WritePhase;
pub use crate::usage_rights_report::{GroupUsageRights, UsageRightsCheck};

/// The run report format version; bump on any incompatible change.
pub const REPORT_FORMAT_VERSION: u32 = 1;

/// What happened to one action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ActionOutcome {
    /// Written now.
    Applied,
    /// The group was already in the planned state (e.g. a rerun after an interrupted apply).
    AlreadyApplied,
    /// The write failed; see `error`.
    Failed,
    /// Not written: the run stopped before writing anything (see the report's `stopped`).
    NotWritten,
}

impl ActionOutcome {
    /// True when the group ended in the planned state.
    pub fn landed(self) -> bool {
        matches!(self, ActionOutcome::Applied | ActionOutcome::AlreadyApplied)
    }
}

/// The two allotments of a move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AllotmentMove {
    /// The allotment the group's assignment came from.
    pub from: String,
    /// The allotment it comes from now.
    pub to: String,
}

impl AllotmentMove {
    /// The allotments of a move action; `None` for every other kind.
    pub fn of(action: &Action) -> Option<AllotmentMove> {
        match (action.kind, &action.from_allotment, &action.allotment) {
            (ActionKind::Move, Some(from), Some(to)) => Some(AllotmentMove {
                from: from.id.clone(),
                to: to.id.clone(),
            }),
            _ => None,
        }
    }
}

/// `allotment FROM → TO` (not sanitized), as the report and the apply progress name a move.
impl std::fmt::Display for AllotmentMove {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "allotment {} → {}", self.from, self.to)
    }
}

/// One action's line in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionReport {
    /// assign, revoke, swap, update or move.
    pub action: ActionKind,
    /// The group.
    pub group: GroupRef,
    /// The SKU assigned or revoked.
    pub sku: SkuRef,
    /// The SKU replaced by a swap.
    pub from_sku: Option<SkuRef>,
    /// A move between allotments: the allotment ids, from and to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved: Option<AllotmentMove>,
    /// Devices affected, when known.
    pub devices: Option<u64>,
    /// What happened.
    pub outcome: ActionOutcome,
    /// Writes sent (0 when already applied; 2 only after a lost response proven not to have landed).
    pub attempts: u32,
    /// Graph request-ids of the writes.
    pub request_ids: Vec<String>,
    /// Wall time of this action, in milliseconds.
    pub duration_ms: u64,
    /// Why it failed.
    pub error: Option<String>,
    /// Anything else worth knowing (e.g. a lost response that had landed).
    pub note: Option<String>,
}

impl ActionReport {
    pub(crate) fn new(action: &Action, outcome: ActionOutcome) -> ActionReport {
        ActionReport {
            action: action.kind,
            group: action.group.clone(),
            sku: action.sku.clone(),
            from_sku: action.from_sku.clone(),
            moved: AllotmentMove::of(action),
            devices: action.devices,
            outcome,
            attempts: 0,
            request_ids: Vec::new(),
            duration_ms: 0,
            error: None,
            note: None,
        }
    }
}

/// A group that moved since the plan was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StaleGroup {
    /// The group.
    pub group: GroupRef,
    /// What the plan saw.
    pub planned_before: Vec<AssignedLicense>,
    /// What the plan would produce.
    pub planned_after: Vec<AssignedLicense>,
    /// What the tenant has now (`None`: the group no longer exists).
    pub found: Option<Vec<AssignedLicense>>,
}

impl StaleGroup {
    pub(crate) fn new(action: &Action, found: Option<Vec<AssignedLicense>>) -> StaleGroup {
        StaleGroup {
            group: action.group.clone(),
            planned_before: action.before.clone(),
            planned_after: action.expected_after(),
            found,
        }
    }
}

/// Members with license errors in one group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupErrors {
    /// The group.
    pub group: GroupId,
    /// Its members with errors.
    pub members: Vec<LicenseErrorMember>,
}

/// A group whose `licenseProcessingState` is not one Graph documents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UnknownState {
    /// The group.
    pub group: GroupId,
    /// The state Graph reported.
    pub state: String,
}

/// What verification found after the writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    /// Groups whose license processing had not finished when the wait timed out.
    pub pending_groups: Vec<GroupId>,
    /// Groups that no longer exist (deleted during the run): the wait for them ended at once.
    pub vanished_groups: Vec<GroupId>,
    /// Groups reporting a processing state devlic does not know: not waited for.
    pub unknown_states: Vec<UnknownState>,
    /// Groups with members whose license could not be applied (CountViolation, ...).
    pub license_errors: Vec<GroupErrors>,
    /// A read that failed during verification.
    pub read_error: Option<String>,
    /// cloud-licensing only: how many devices of each touched group hold a usage right for the
    /// group's subscription after apply. Absent on group-licensing (no such concept there) and
    /// in reports written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_rights: Option<UsageRightsCheck>,
    /// Wall time of the verification, in milliseconds.
    pub duration_ms: u64,
}

impl Verification {
    /// True when every touched group finished processing without errors and, on
    /// cloud-licensing, every device read holds a usage right for its group's subscription
    /// (green means licensed: a device without the right is not licensed, whatever else says).
    pub fn is_clean(&self) -> bool {
        self.pending_groups.is_empty()
            && self.vanished_groups.is_empty()
            && self.unknown_states.is_empty()
            && self.license_errors.is_empty()
            && self.read_error.is_none()
            && self
                .usage_rights
                .as_ref()
                .is_none_or(|u| u.shortfall().is_none())
    }
}

/// Why a run stopped before writing anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum StopReason {
    /// A guard tripped and was not passed (revocations, an empty spec with prune).
    GuardRefused,
    /// The tenant moved since the plan was made (`apply --plan`).
    StalePlan,
    /// An error before any write: the spec, signing in, reading the tenant or the groups, a
    /// plan for another tenant, no confirmation.
    Failed,
}

/// The report's account of a run that wrote nothing because it stopped first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stopped {
    /// Why.
    pub reason: StopReason,
    /// What devlic said on the terminal, without styles.
    pub message: String,
    /// For a stale plan: the groups that moved.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stale_groups: Vec<StaleGroup>,
}

/// Everything an apply run did (`--report FILE`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    /// [`REPORT_FORMAT_VERSION`].
    pub format_version: u32,
    /// The tenant id.
    pub tenant: String,
    /// The API written through.
    pub backend: Backend,
    /// When the run started.
    pub started_at: jiff::Timestamp,
    /// Wall time, in milliseconds.
    pub duration_ms: u64,
    /// One entry per plan action, in plan order.
    pub actions: Vec<ActionReport>,
    /// What verification found (`None`: skipped, or nothing was written).
    pub verification: Option<Verification>,
    /// Groups of the spec that the plan found with unlicensed devices and this run did not
    /// write to: no write of this run can have changed them, so they are still unlicensed.
    pub unlicensed: Vec<Unlicensed>,
    /// True when every action landed, verification (if run) was clean, and no group of the spec
    /// is left with unlicensed devices: green means licensed.
    pub success: bool,
    /// Set when the run stopped before writing (guard, stale plan, sign-in or read failure);
    /// every action is then `notWritten`. Absent for a run that got to its writes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<Stopped>,
    /// The write phase: its duration, the write requests sent, accepted and throttled (429),
    /// and accepted writes per second. Absent when nothing was written (and in reports written
    /// before it existed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub writes: Option<WritePhase>,
}

impl RunReport {
    pub(crate) fn new(
        plan: &Plan,
        backend: Backend,
        started_at: jiff::Timestamp,
        elapsed: Duration,
        actions: Vec<ActionReport>,
        verification: Option<Verification>,
    ) -> RunReport {
        let written: std::collections::BTreeSet<GroupId> =
            actions.iter().map(|a| a.group.id).collect();
        let unlicensed: Vec<Unlicensed> = plan
            .unlicensed
            .iter()
            .filter(|u| !written.contains(&u.group.id))
            .cloned()
            .collect();
        let success = actions.iter().all(|a| a.outcome.landed())
            && verification.as_ref().is_none_or(Verification::is_clean)
            && unlicensed.is_empty();
        RunReport {
            format_version: REPORT_FORMAT_VERSION,
            tenant: plan.tenant.id.clone(),
            backend,
            started_at,
            duration_ms: millis(elapsed),
            actions,
            verification,
            unlicensed,
            success,
            stopped: None,
            writes: None,
        }
    }

    /// The report of a run that stopped before writing: every action of `plan` (when there
    /// was one) is `notWritten`, and `tenant` names the plan's tenant or, before a plan
    /// existed, the configured one (empty when unknown).
    pub fn stopped(
        tenant: String,
        backend: Backend,
        plan: Option<&Plan>,
        started_at: jiff::Timestamp,
        elapsed: Duration,
        stopped: Stopped,
    ) -> RunReport {
        let actions = plan.map_or_else(Vec::new, |p| {
            p.actions
                .iter()
                .map(|a| ActionReport::new(a, ActionOutcome::NotWritten))
                .collect()
        });
        RunReport {
            format_version: REPORT_FORMAT_VERSION,
            tenant: plan.map_or(tenant, |p| p.tenant.id.clone()),
            backend: plan.map_or(backend, |p| p.backend),
            started_at,
            duration_ms: millis(elapsed),
            actions,
            verification: None,
            // A run that stopped before writing checked nothing about devices.
            unlicensed: Vec::new(),
            success: false,
            stopped: Some(stopped),
            writes: None,
        }
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    fn group_name(&self, id: GroupId) -> String {
        self.actions
            .iter()
            .find(|a| a.group.id == id)
            .map_or_else(|| id.to_string(), |a| a.group.display_name.clone())
    }

    fn count(&self, outcome: ActionOutcome) -> usize {
        self.actions.iter().filter(|a| a.outcome == outcome).count()
    }

    /// A Markdown summary for `$GITHUB_STEP_SUMMARY`. Every string from the tenant or from
    /// Graph (names, part numbers, error messages and codes, request-ids) is escaped with the
    /// planner's Markdown escaping, so none can break the table, open HTML or carry a control
    /// character.
    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        let verdict = match (&self.stopped, self.success) {
            (Some(_), _) => "⛔ devlic apply stopped: nothing was written",
            (None, true) => "✅ devlic apply succeeded",
            (None, false) => "❌ devlic apply failed",
        };
        let _ = writeln!(md, "### {verdict}\n");
        let _ = writeln!(
            md,
            "Tenant {} · backend `{}` · {} applied · {} already applied · {} failed · {:.1} s\n",
            markdown_code(&self.tenant),
            self.backend,
            self.count(ActionOutcome::Applied),
            self.count(ActionOutcome::AlreadyApplied),
            self.count(ActionOutcome::Failed),
            self.duration_ms as f64 / 1000.0
        );
        if let Some(w) = &self.writes {
            let _ = writeln!(md, "Writes: {}.\n", w.sentence());
        }
        if let Some(stopped) = &self.stopped {
            let _ = writeln!(md, "**{}**\n", stop_title(stopped.reason));
            for line in stopped.message.lines().filter(|l| !l.trim().is_empty()) {
                let _ = writeln!(md, "- {}", markdown_text(line.trim()));
            }
            for g in &stopped.stale_groups {
                let _ = writeln!(
                    md,
                    "- **{}**: changed since the plan was made",
                    markdown_text(&g.group.display_name)
                );
            }
            md.push('\n');
        }
        if !self.actions.is_empty() {
            md.push_str("| outcome | action | group | subscription | devices | request-id |\n");
            md.push_str("|---|---|---|---|---:|---|\n");
            for a in &self.actions {
                let outcome = match a.outcome {
                    ActionOutcome::Applied => "applied",
                    ActionOutcome::AlreadyApplied => "already applied",
                    ActionOutcome::Failed => "**failed**",
                    ActionOutcome::NotWritten => "not written",
                };
                let sku = match (&a.from_sku, &a.moved) {
                    (Some(from), _) => format!(
                        "{} → {}",
                        markdown_text(&from.label()),
                        markdown_text(&a.sku.label())
                    ),
                    (None, Some(m)) => format!(
                        "{} ({})",
                        markdown_text(&a.sku.label()),
                        markdown_text(&m.to_string())
                    ),
                    (None, None) => markdown_text(&a.sku.label()),
                };
                let _ = writeln!(
                    md,
                    "| {outcome} | {} | {} | {sku} | {} | {} |",
                    kind_word(a.action),
                    markdown_text(&a.group.display_name),
                    a.devices.map_or_else(|| "?".to_owned(), |d| d.to_string()),
                    markdown_text(a.request_ids.last().map_or("", String::as_str))
                );
            }
            md.push('\n');
        }
        for a in self.actions.iter().filter(|a| a.error.is_some()) {
            let _ = writeln!(
                md,
                "- **{}**: {}",
                markdown_text(&a.group.display_name),
                markdown_text(a.error.as_deref().unwrap_or_default())
            );
        }
        if let Some(v) = &self.verification {
            for id in &v.pending_groups {
                let _ = writeln!(
                    md,
                    "- **{}**: license processing did not finish in time; check again later",
                    markdown_text(&self.group_name(*id))
                );
            }
            for g in &v.license_errors {
                let _ = writeln!(
                    md,
                    "- **{}**: {} member(s) with license errors ({})",
                    markdown_text(&self.group_name(g.group)),
                    g.members.len(),
                    markdown_text(&error_codes(&g.members))
                );
            }
            for id in &v.vanished_groups {
                let _ = writeln!(
                    md,
                    "- **{}**: the group no longer exists (deleted during the run)",
                    markdown_text(&self.group_name(*id))
                );
            }
            for u in &v.unknown_states {
                let _ = writeln!(
                    md,
                    "- **{}**: Graph reports a license processing state devlic does not know ({})",
                    markdown_text(&self.group_name(u.group)),
                    markdown_code(&u.state)
                );
            }
            if let Some(e) = &v.read_error {
                let _ = writeln!(
                    md,
                    "- verification could not read the tenant: {}",
                    markdown_text(e)
                );
            }
            if let Some(u) = &v.usage_rights {
                md.push_str(&u.to_markdown());
            }
        }
        for u in &self.unlicensed {
            let _ = writeln!(
                md,
                "- **{}**: {} device(s) not licensed ({}); no write of devlic can fix this: add units to the subscription or remove devices from the group",
                markdown_text(&u.group.display_name),
                u.devices,
                markdown_text(&causes_text(u))
            );
        }
        md
    }

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

fn millis(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
}

fn stop_title(reason: StopReason) -> &'static str {
    match reason {
        StopReason::GuardRefused => "A guard refused the plan.",
        StopReason::StalePlan => "The plan is stale: the tenant moved since it was made.",
        StopReason::Failed => "devlic stopped on an error before writing.",
    }
}

/// The JUnit `type` of a stop.
fn stop_type(reason: StopReason) -> &'static str {
    match reason {
        StopReason::GuardRefused => "GuardRefused",
        StopReason::StalePlan => "StalePlan",
        StopReason::Failed => "Error",
    }
}

fn kind_word(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::Assign => "assign",
        ActionKind::Revoke => "revoke",
        ActionKind::Swap => "swap",
        ActionKind::Update => "update",
        ActionKind::Move => "move",
    }
}

/// `3 CountViolation (not enough licenses: ...); 1 Unknown (...)`: the same words as the plan.
pub(crate) fn error_codes(members: &[LicenseErrorMember]) -> String {
    license_errors::causes_line(&license_errors::summarize(members, false))
}

/// The causes of one group's unlicensed devices, in the same words as the plan.
pub(crate) fn causes_text(u: &Unlicensed) -> String {
    license_errors::causes_line(&u.causes)
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
