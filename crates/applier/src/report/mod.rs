//! The run report: what apply did, as data (`--report` JSON), Markdown (`--summary-markdown`,
//! for `$GITHUB_STEP_SUMMARY`) and JUnit XML (`--junit`). The types and the JSON are here;
//! the Markdown and JUnit renderings live in their own files.

mod junit;
mod markdown;

use std::time::Duration;

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
