//! The apply algorithm: guards, stale-plan check, bounded-concurrency writes, verification.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use devlic_model::{
    Action, ActionKind, Fingerprint, GroupId, GuardPasses, GuardViolation, Plan, ProcessingState,
};
use futures::StreamExt;

use crate::backend::{Change, GroupLicenseState, LicensingBackend, ReadError, WriteError};
use crate::report::{
    ActionOutcome, ActionReport, GroupErrors, GroupUsageRights, RunReport, StaleGroup,
    UnknownState, UsageRightsCheck, Verification,
};
use crate::throughput::WritePhase;

/// How to apply.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Pass the revocation guards (`--allow-revoke`).
    pub allow_revoke: bool,
    /// Pass the shortfall guard (`--allow-shortfall`).
    pub allow_shortfall: bool,
    /// Groups written at once (default 16). Write requests in flight are bounded by the Graph
    /// client (its in-flight limit, taken turn by turn in its write pacer) and paced to Graph's
    /// write budget, and a group waiting out a 429 of its own holds no turn, so this bounds only
    /// the groups in progress: enough of them keep the budget's 20 writes per second busy while
    /// some wait. Measured with 1,000 assigns under the simulator's budget and 30 % injected
    /// 429s (`Retry-After: 1`): 4 at once used 44 % of the budget, 16 used 97 %.
    pub concurrency: usize,
    /// Wait for license processing and check license errors after writing.
    pub verify: bool,
    /// How long to wait for license processing to finish.
    pub verify_timeout: Duration,
    /// Pause between two polls of the processing state.
    pub poll_interval: Duration,
}

impl ApplyOptions {
    /// The guard-passing flags these options carry.
    pub fn passes(&self) -> GuardPasses {
        GuardPasses {
            allow_revoke: self.allow_revoke,
            allow_shortfall: self.allow_shortfall,
        }
    }
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            allow_revoke: false,
            allow_shortfall: false,
            concurrency: 16,
            verify: true,
            verify_timeout: Duration::from_secs(600),
            poll_interval: Duration::from_secs(5),
        }
    }
}

/// Why apply refused to write anything.
#[derive(Debug, thiserror::Error)]
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
    Read(#[source] Box<ReadError>),
}

fn describe_guards(guards: &[GuardViolation]) -> String {
    guards
        .iter()
        .map(GuardViolation::message)
        .collect::<Vec<_>>()
        .join("; ")
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
        /// Time spent waiting so far.
        elapsed: Duration,
        /// How long the wait may last in all.
        timeout: Duration,
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
            .map_err(|e| ApplyError::Read(Box::new(e)))?
    };
    let two_step = backend.backend().writes_in_two_steps();
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
    let (counters_before, writes_started) = (backend.write_counters(), Instant::now());
    // Frees before it consumes: every write of one phase finishes before the next phase starts,
    // so a plan that is tight on units never has an assign waiting for a unit that a revoke in
    // the same run would free.
    for phase in write_phases(plan, &todo) {
        let mut writes = futures::stream::iter(phase)
            .map(|i| async move { (i, run_action(&plan.actions[i], backend, two_step).await) })
            .buffer_unordered(concurrency);
        while let Some((i, report)) = writes.next().await {
            progress.event(Event::ActionFinished {
                action: &plan.actions[i],
                outcome: report.outcome,
            });
            reports[i] = Some(report);
        }
    }
    // The write phase in numbers, when anything was written and the backend counts its writes.
    let writes = match (counters_before, backend.write_counters()) {
        (Some(before), Some(after)) if !todo.is_empty() => {
            Some(WritePhase::between(before, after, writes_started.elapsed()))
        }
        _ => None,
    };
    let actions: Vec<ActionReport> = reports.into_iter().flatten().collect();

    let touched: Vec<GroupId> = actions
        .iter()
        .filter(|r| r.outcome.landed())
        .map(|r| r.group.id)
        .collect();
    let verification = if options.verify && !touched.is_empty() {
        progress.event(Event::VerifyStarted);
        let mut v = verify(backend, &touched, options, progress).await;
        v.usage_rights = usage_rights(plan, &actions, backend).await;
        Some(v)
    } else {
        None
    };

    let mut report = RunReport::new(
        plan,
        backend.backend(),
        started,
        clock.elapsed(),
        actions,
        verification,
    );
    report.writes = writes;
    Ok(report)
}

/// The order writes go out in: revokes (free units), then swaps and moves (free one pool, take
/// from another), then assigns (take units), then updates (neutral). Each phase keeps plan
/// order.
fn write_phases(plan: &Plan, todo: &[usize]) -> Vec<Vec<usize>> {
    [
        ActionKind::Revoke,
        ActionKind::Swap,
        ActionKind::Move,
        ActionKind::Assign,
        ActionKind::Update,
    ]
    .iter()
    .map(|kind| {
        todo.iter()
            .copied()
            .filter(|&i| plan.actions[i].kind == *kind)
            .collect::<Vec<_>>()
    })
    .filter(|phase| !phase.is_empty())
    .collect()
}

fn check_guards(plan: &Plan, options: &ApplyOptions) -> Result<(), ApplyError> {
    let blocking = plan.blocking_guards(options.passes());
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

/// The fingerprint of a swap (or move) whose new assignment landed while the old one is still
/// there: a backend that needs two calls (cloud-licensing creates, then deletes) can stop in
/// between, and the group then holds both. On such a backend that state is safe (the devices
/// stay licensed) and the action is still to do, not stale. On group-licensing one call does
/// both, so "both" can only come from someone else and stays a stale plan. `None` for the other
/// kinds.
fn half_applied(action: &Action) -> Option<Fingerprint> {
    let removes = action.removes();
    let from = action.from_allotment.as_ref().map(|a| a.id.as_str());
    // The license the second write deletes: the swapped-out SKU, or the moved SKU's old
    // allotment.
    let old = |l: &&devlic_model::AssignedLicense| match action.kind {
        ActionKind::Swap => removes.contains(&l.sku_id),
        ActionKind::Move => l.sku_id == action.sku.sku_id && l.allotment_id.as_deref() == from,
        ActionKind::Assign | ActionKind::Update | ActionKind::Revoke => false,
    };
    if !matches!(action.kind, ActionKind::Swap | ActionKind::Move) {
        return None;
    }
    let mut both = action.expected_after();
    both.extend(action.before.iter().filter(old).cloned());
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
            Err(WriteError::OutcomeUnknown(e)) => {
                report
                    .request_ids
                    .extend(e.request_id().or(e.client_request_id()).map(str::to_owned));
                let detail = match &e {
                    devlic_graph::GraphError::OutcomeUnknown { detail, .. } => detail.clone(),
                    other => other.to_string(),
                };
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
                            "the response was lost ({detail}) and re-reading the group failed ({e}); rerun apply to converge"
                        ));
                        break;
                    }
                }
            }
            Err(e) => {
                report.request_ids.extend(e.request_id());
                // A 403 names the permission the route needs (Graph's answer does not).
                report.error = Some(
                    match e
                        .graph()
                        .and_then(|g| g.missing_permission_for(backend.token_kind()))
                    {
                        Some(m) => format!("{e} ({m}: {})", m.grant_help()),
                        None => e.to_string(),
                    },
                );
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
    let started = Instant::now();
    let deadline = started + options.verify_timeout;
    let mut pending: BTreeSet<GroupId> = touched.iter().copied().collect();
    let mut vanished = Vec::new();
    let mut unknown_states = Vec::new();
    let mut read_error: Option<String>;
    loop {
        let ids: Vec<GroupId> = pending.iter().copied().collect();
        match backend.read_groups(&ids).await {
            Ok(states) => {
                read_error = None;
                // Waiting is only worth it for a group that exists and reports a state Graph
                // documents as "in progress": a group that vanished, or a state this devlic does
                // not know, ends the wait for that group at once with a clear finding.
                pending.retain(|id| match states.get(id).map(|s| &s.processing_state) {
                    None => {
                        vanished.push(*id);
                        false
                    }
                    Some(None | Some(ProcessingState::ProcessingComplete)) => false,
                    Some(Some(ProcessingState::Other(state))) => {
                        unknown_states.push(UnknownState {
                            group: *id,
                            state: state.clone(),
                        });
                        false
                    }
                    Some(Some(
                        ProcessingState::QueuedForProcessing
                        | ProcessingState::ProcessingInProgress,
                    )) => true,
                });
            }
            Err(e) => read_error = Some(e.to_string()),
        }
        if pending.is_empty() || Instant::now() >= deadline {
            break;
        }
        progress.event(Event::StillProcessing {
            pending: pending.len(),
            elapsed: started.elapsed(),
            timeout: options.verify_timeout,
        });
        tokio::time::sleep(options.poll_interval.min(deadline - Instant::now())).await;
    }
    let present: Vec<GroupId> = touched
        .iter()
        .copied()
        .filter(|id| !vanished.contains(id))
        .collect();
    let mut license_errors = Vec::new();
    match backend.license_errors(&present).await {
        Ok(map) => {
            for (group, members) in map {
                if !members.is_empty() {
                    license_errors.push(GroupErrors { group, members });
                }
            }
        }
        Err(e) => read_error = Some(e.to_string()),
    }
    Verification {
        pending_groups: pending.into_iter().collect(),
        vanished_groups: vanished,
        unknown_states,
        license_errors,
        read_error,
        usage_rights: None,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }
}

/// Reads, on a backend that has them, the usage rights of the devices of every group an action
/// that landed gave (or changed) a subscription: assigns, swaps, moves and updates, each group
/// and subscription once, in plan order. At most [`crate::USAGE_RIGHTS_DEVICE_CAP`] devices.
/// `None` when no such action landed, or on a backend without usage rights.
async fn usage_rights<B: LicensingBackend>(
    plan: &Plan,
    actions: &[ActionReport],
    backend: &B,
) -> Option<UsageRightsCheck> {
    let mut targets = Vec::new();
    let mut refs = Vec::new();
    // `actions` holds one report per plan action, in plan order.
    for (a, report) in plan.actions.iter().zip(actions) {
        let Some(sku) = a.adds().filter(|_| report.outcome.landed()) else {
            continue;
        };
        if !targets.contains(&(a.group.id, sku)) {
            targets.push((a.group.id, sku));
            refs.push((a.group.clone(), a.sku.clone()));
        }
    }
    if targets.is_empty() {
        return None;
    }
    let cap = crate::USAGE_RIGHTS_DEVICE_CAP;
    let mut check = UsageRightsCheck {
        device_cap: cap as u64,
        truncated: false,
        groups: Vec::new(),
        read_error: None,
    };
    match backend.usage_rights(&targets, cap).await? {
        Ok(counts) => {
            for (count, (group, sku)) in counts.into_iter().zip(refs) {
                check.truncated |= count.devices_read < count.devices;
                check.groups.push(GroupUsageRights {
                    group,
                    sku,
                    devices: count.devices,
                    devices_read: count.devices_read,
                    holders: count.holders,
                });
            }
        }
        // A 403 names the permission the route needs (Graph's answer does not).
        Err(e) => {
            check.read_error = Some(match e.error.missing_permission_for(backend.token_kind()) {
                Some(m) => format!("{e} ({m}: {})", m.grant_help()),
                None => e.to_string(),
            });
        }
    }
    Some(check)
}
