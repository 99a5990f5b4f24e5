//! The apply algorithm: guards, stale-plan check, bounded-concurrency writes, verification.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use devlic_model::{
    Action, ActionKind, Backend, Fingerprint, GroupId, GuardViolation, Plan, ProcessingState,
};
use futures::StreamExt;

use crate::backend::{Change, GroupLicenseState, LicensingBackend, WriteError};
use crate::report::{
    ActionOutcome, ActionReport, GroupErrors, RunReport, StaleGroup, Verification,
};

/// How to apply.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Pass the revocation guards (`--allow-revoke`).
    pub allow_revoke: bool,
    /// Writes in flight at once.
    pub concurrency: usize,
    /// Wait for license processing and check license errors after writing.
    pub verify: bool,
    /// How long to wait for license processing to finish.
    pub verify_timeout: Duration,
    /// Pause between two polls of the processing state.
    pub poll_interval: Duration,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            allow_revoke: false,
            concurrency: 4,
            verify: true,
            verify_timeout: Duration::from_secs(600),
            poll_interval: Duration::from_secs(5),
        }
    }
}

/// Why apply refused to write anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// A guard tripped and was not passed.
    #[error("a guard refused the plan: {}", describe_guards(.0))]
    GuardRefused(Vec<GuardViolation>),
    /// The tenant moved since the plan was made: some groups are neither in the state the plan
    /// saw nor in the state it would produce.
    #[error("the plan is stale: {} group(s) changed since it was made", .0.len())]
    Stale(Vec<StaleGroup>),
    /// Reading the groups before writing failed; nothing was written.
    #[error("could not read the groups the plan touches; nothing was written: {0}")]
    Read(String),
}

fn describe_guards(guards: &[GuardViolation]) -> String {
    guards
        .iter()
        .map(describe_guard)
        .collect::<Vec<_>>()
        .join("; ")
}

/// A sentence for one guard violation, with what to do about it.
pub fn describe_guard(guard: &GuardViolation) -> String {
    match guard {
        GuardViolation::MaxRevocations { revocations, max } => format!(
            "{revocations} revocation(s) but settings.maxRevocations is {max} (pass --allow-revoke after reviewing them)"
        ),
        GuardViolation::RevokeShare { devices, licensed, max_percent } => format!(
            "revoking {devices} of {licensed} licensed devices exceeds settings.maxRevokePercent ({max_percent}%) (pass --allow-revoke after reviewing them)"
        ),
        GuardViolation::EmptySpec => "the spec has no assignments and prune is on: it would revoke every device license (set settings.allowEmpty: true if that is really intended)".to_owned(),
    }
}

/// Progress events, for a progress bar or log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// Writing starts (`total` actions).
    WritesStarted {
        /// Number of actions that need a write.
        total: usize,
    },
    /// One action finished.
    ActionFinished {
        /// The action.
        action: &'a Action,
        /// Its outcome.
        outcome: ActionOutcome,
    },
    /// Verification starts.
    VerifyStarted,
    /// One verification poll found groups still processing.
    StillProcessing {
        /// Groups not yet complete.
        pending: usize,
    },
}

/// Receives [`Event`]s. `()` ignores them.
pub trait Progress: Sync {
    /// Called for each event.
    fn event(&self, event: Event<'_>);
}

impl Progress for () {
    fn event(&self, _: Event<'_>) {}
}

/// Applies a plan through a backend and reports what happened.
///
/// Refuses (writing nothing) when a guard trips and is not passed, or when a group the plan
/// touches moved since planning. A group already in the state the action produces (a rerun after
/// a crash) is reported as `alreadyApplied` and not written again. A write whose outcome is
/// unknown is judged by re-reading the group; it is sent again only when the re-read shows the
/// group still in its old state.
pub async fn apply<B: LicensingBackend>(
    plan: &Plan,
    backend: &B,
    options: &ApplyOptions,
    progress: &dyn Progress,
) -> Result<RunReport, ApplyError> {
    let started = jiff::Timestamp::now();
    let clock = Instant::now();
    check_guards(plan, options)?;

    let ids: Vec<GroupId> = plan.actions.iter().map(|a| a.group.id).collect();
    let current = if ids.is_empty() {
        BTreeMap::new()
    } else {
        backend
            .read_groups(&ids)
            .await
            .map_err(|e| ApplyError::Read(e.message))?
    };
    let two_step = backend.backend() == Backend::CloudLicensing;
    let (todo, done) = classify(plan, &current, two_step)?;

    progress.event(Event::WritesStarted { total: todo.len() });
    let mut reports: Vec<Option<ActionReport>> = vec![None; plan.actions.len()];
    for i in done {
        let action = &plan.actions[i];
        let report = ActionReport::new(action, ActionOutcome::AlreadyApplied);
        progress.event(Event::ActionFinished {
            action,
            outcome: report.outcome,
        });
        reports[i] = Some(report);
    }
    let concurrency = options.concurrency.max(1);
    let mut writes = futures::stream::iter(todo)
        .map(|i| async move { (i, run_action(&plan.actions[i], backend, two_step).await) })
        .buffer_unordered(concurrency);
    while let Some((i, report)) = writes.next().await {
        progress.event(Event::ActionFinished {
            action: &plan.actions[i],
            outcome: report.outcome,
        });
        reports[i] = Some(report);
    }
    drop(writes);
    let actions: Vec<ActionReport> = reports.into_iter().flatten().collect();

    let touched: Vec<GroupId> = actions
        .iter()
        .filter(|r| r.outcome.landed())
        .map(|r| r.group.id)
        .collect();
    let verification = if options.verify && !touched.is_empty() {
        progress.event(Event::VerifyStarted);
        Some(verify(backend, &touched, options, progress).await)
    } else {
        None
    };

    Ok(RunReport::new(
        plan,
        backend.backend(),
        started,
        clock.elapsed(),
        actions,
        verification,
    ))
}

fn check_guards(plan: &Plan, options: &ApplyOptions) -> Result<(), ApplyError> {
    let blocking: Vec<GuardViolation> = plan
        .guard_violations
        .iter()
        .filter(|g| match g {
            GuardViolation::MaxRevocations { .. } | GuardViolation::RevokeShare { .. } => {
                !options.allow_revoke
            }
            // An empty spec with prune is a spec mistake; no flag passes it.
            GuardViolation::EmptySpec => true,
        })
        .cloned()
        .collect();
    if blocking.is_empty() {
        Ok(())
    } else {
        Err(ApplyError::GuardRefused(blocking))
    }
}

/// Splits the actions into those still to write and those already applied; refuses when any
/// group is in neither the before nor the after state.
fn classify(
    plan: &Plan,
    current: &BTreeMap<GroupId, GroupLicenseState>,
    two_step: bool,
) -> Result<(Vec<usize>, Vec<usize>), ApplyError> {
    let mut todo = Vec::new();
    let mut done = Vec::new();
    let mut stale = Vec::new();
    for (i, action) in plan.actions.iter().enumerate() {
        let Some(state) = current.get(&action.group.id) else {
            stale.push(StaleGroup::new(action, None));
            continue;
        };
        let now = Fingerprint::of_group(action.group.id, &state.assigned_licenses);
        if now == action.before_fingerprint
            || (two_step && Some(&now) == half_applied(action).as_ref())
        {
            todo.push(i);
        } else if now == action.after_fingerprint() {
            done.push(i);
        } else {
            stale.push(StaleGroup::new(
                action,
                Some(state.assigned_licenses.clone()),
            ));
        }
    }
    if stale.is_empty() {
        Ok((todo, done))
    } else {
        Err(ApplyError::Stale(stale))
    }
}

/// The fingerprint of a swap whose new SKU landed while the old one is still there: a backend
/// that needs two calls (cloud-licensing creates, then deletes) can stop in between, and the
/// group then holds both. On such a backend that state is safe (the devices stay licensed) and
/// the action is still to do, not stale. On group-licensing one call does both, so "both" can
/// only come from someone else and stays a stale plan. `None` for kinds other than swap.
fn half_applied(action: &Action) -> Option<Fingerprint> {
    if action.kind != ActionKind::Swap {
        return None;
    }
    let removes = action.removes();
    let mut both = action.expected_after();
    both.extend(
        action
            .before
            .iter()
            .filter(|l| removes.contains(&l.sku_id))
            .cloned(),
    );
    both.sort();
    Some(Fingerprint::of_group(action.group.id, &both))
}

/// Runs one action: write, and on an unknown outcome re-read before deciding.
async fn run_action<B: LicensingBackend>(
    action: &Action,
    backend: &B,
    two_step: bool,
) -> ActionReport {
    let change = Change::of(action);
    let started = Instant::now();
    let mut report = ActionReport::new(action, ActionOutcome::Failed);
    // At most two writes: the second only after a re-read proved the first did not land.
    for attempt in 1..=2 {
        report.attempts = attempt;
        match backend.write(action.group.id, &change).await {
            Ok(receipt) => {
                report.request_ids.extend(receipt.request_ids);
                if receipt.note.is_some() {
                    report.note = receipt.note;
                }
                report.outcome = ActionOutcome::Applied;
                report.error = None;
                break;
            }
            Err(WriteError::OutcomeUnknown { request_id, detail }) => {
                report.request_ids.extend(request_id);
                match backend.read_groups(&[action.group.id]).await {
                    Ok(states) => {
                        let now = states
                            .get(&action.group.id)
                            .map(|s| Fingerprint::of_group(action.group.id, &s.assigned_licenses));
                        if now.as_ref() == Some(&action.after_fingerprint()) {
                            report.outcome = ActionOutcome::Applied;
                            report.error = None;
                            report.note = Some(format!(
                                "the response was lost ({detail}); a re-read showed the write landed"
                            ));
                            break;
                        } else if now.as_ref() == Some(&action.before_fingerprint)
                            || (two_step && now.is_some() && now == half_applied(action))
                        {
                            report.error = Some(format!(
                                "the response was lost ({detail}); a re-read showed the write did not land"
                            ));
                            continue;
                        } else {
                            report.error = Some(format!(
                                "the response was lost ({detail}) and the group is now in neither the old nor the planned state: someone else changed it; re-plan"
                            ));
                            break;
                        }
                    }
                    Err(e) => {
                        report.error = Some(format!(
                            "the response was lost ({detail}) and re-reading the group failed ({}); rerun apply to converge",
                            e.message
                        ));
                        break;
                    }
                }
            }
            Err(e) => {
                report.error = Some(e.to_string());
                break;
            }
        }
    }
    report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    report
}

async fn verify<B: LicensingBackend>(
    backend: &B,
    touched: &[GroupId],
    options: &ApplyOptions,
    progress: &dyn Progress,
) -> Verification {
    let deadline = Instant::now() + options.verify_timeout;
    let mut pending: BTreeSet<GroupId> = touched.iter().copied().collect();
    let mut read_error: Option<String>;
    loop {
        let ids: Vec<GroupId> = pending.iter().copied().collect();
        match backend.read_groups(&ids).await {
            Ok(states) => {
                read_error = None;
                pending.retain(|id| {
                    !matches!(
                        states.get(id).map(|s| &s.processing_state),
                        Some(None | Some(ProcessingState::ProcessingComplete))
                    )
                });
            }
            Err(e) => read_error = Some(e.message),
        }
        if pending.is_empty() || Instant::now() >= deadline {
            break;
        }
        progress.event(Event::StillProcessing {
            pending: pending.len(),
        });
        tokio::time::sleep(options.poll_interval.min(deadline - Instant::now())).await;
    }
    let mut license_errors = Vec::new();
    match backend.license_errors(touched).await {
        Ok(map) => {
            for (group, members) in map {
                if !members.is_empty() {
                    license_errors.push(GroupErrors { group, members });
                }
            }
        }
        Err(e) => read_error = Some(e.message),
    }
    Verification {
        pending_groups: pending.into_iter().collect(),
        license_errors,
        read_error,
    }
}
