//! Re-checking a saved plan against the tenant: a plan file is data, not authority.
//!
//! `apply --plan FILE` could be handed a file edited after review: guards deleted, revokes
//! added, a swap turned into a revoke, a user subscription swapped in. Everything the file says
//! *about* its actions (device counts, capacity, guards, thresholds) is therefore recomputed
//! here from the actions and a fresh read of the tenant; only the actions themselves are taken
//! from the file, and the applier's stale-plan check compares each one with the tenant before
//! writing. The file's list of groups with unlicensed devices is re-read too: a group the
//! tenant now licenses fully drops out, counts and causes come from Graph.

use std::collections::BTreeSet;

use devlic_model::{
    Action, Fingerprint, GuardSettings, LiveState, Plan, SkuId, SkuRef, SkuSelector, Unlicensed,
    known_skus, license_errors,
};

use crate::checks;
use crate::error::{PlanError, PlanErrors};

/// Recomputes the device counts, capacity, guards and unlicensed devices of a saved `plan` from
/// `live` (which must hold the plan's groups, and the groups of its `unlicensed` list, with
/// their member counts and license errors), with `settings` as the thresholds and
/// `declared` as the extra device SKUs (a spec's `settings.deviceSkus`; empty when no spec was
/// given, so only the device SKUs devlic knows are accepted).
///
/// # Errors
/// Every action that adds or removes a subscription that is not a device subscription of this
/// tenant (unknown to devlic and not declared, or one Graph says is for users).
pub fn recheck(
    plan: &Plan,
    live: &LiveState,
    settings: GuardSettings,
    declared: &[SkuSelector],
) -> Result<Plan, PlanErrors> {
    let device: BTreeSet<SkuId> = live
        .skus
        .iter()
        .filter(|s| {
            known_skus::is_device_sku(s.sku_id, &s.sku_part_number, declared) && !s.is_for_users()
        })
        .map(|s| s.sku_id)
        .collect();
    let mut errors = Vec::new();
    let mut actions: Vec<Action> = Vec::with_capacity(plan.actions.len());
    // Actions whose group is already in the planned state (a rerun after an interrupted apply)
    // write nothing: they neither take units nor take the apps away again.
    let mut pending: Vec<Action> = Vec::new();
    for a in &plan.actions {
        for sku in std::iter::once(&a.sku).chain(a.from_sku.iter()) {
            if !device.contains(&sku.sku_id) {
                errors.push(PlanError::SavedPlanNotDeviceSku {
                    group: a.group.clone(),
                    sku: describe_sku(live, sku),
                });
            }
        }
        let mut a = a.clone();
        // The file's count could be anything; only the tenant's own count is used, and an
        // unknown count makes the license-loss guard fail closed.
        a.devices = live
            .groups
            .get(&a.group.id)
            .and_then(|g| g.members)
            .map(|m| m.devices);
        if !already_applied(&a, live) {
            pending.push(a.clone());
        }
        actions.push(a);
    }
    if !errors.is_empty() {
        return Err(PlanErrors { errors });
    }
    let capacity = checks::capacity(live, plan.backend, &pending);
    let guard_violations = checks::guards(&settings, false, live, &device, &pending, &capacity);
    Ok(Plan {
        actions,
        capacity,
        guard_violations,
        guard_settings: settings,
        unlicensed: refresh_unlicensed(&plan.unlicensed, live, &device),
        ..plan.clone()
    })
}

/// The file's groups with unlicensed devices, as the tenant reports them now. Without the spec
/// devlic cannot know which other groups it declares, so the list can shrink or change but not
/// grow; a group whose license errors were not read keeps the file's entry (it fails closed:
/// the apply does not report "licensed" on the file's word), and a group the tenant no longer
/// has is dropped (it has no devices to license).
fn refresh_unlicensed(
    saved: &[Unlicensed],
    live: &LiveState,
    device: &BTreeSet<SkuId>,
) -> Vec<Unlicensed> {
    saved
        .iter()
        .filter_map(|u| {
            // A group the tenant no longer has is dropped.
            let group = live.groups.get(&u.group.id)?;
            let Some(errors) = group.license_errors.as_ref() else {
                return Some(u.clone());
            };
            let exhausted = group
                .held(device)
                .filter_map(|l| live.sku(l.sku_id))
                .any(|s| s.available() <= 0);
            let causes = license_errors::summarize(errors, exhausted);
            let devices: u64 = causes.iter().map(|c| c.devices).sum();
            (devices > 0).then(|| Unlicensed {
                devices,
                causes,
                ..u.clone()
            })
        })
        .collect()
}

/// Whether the group already holds what the action would leave it with.
fn already_applied(a: &Action, live: &LiveState) -> bool {
    live.groups
        .get(&a.group.id)
        .is_some_and(|g| Fingerprint::of_group(g.id, &g.assigned_licenses) == a.after_fingerprint())
}

/// The SKU as the tenant names it (the file's part number could be a lie too).
fn describe_sku(live: &LiveState, sku: &SkuRef) -> SkuRef {
    live.sku(sku.sku_id)
        .map_or_else(|| sku.clone(), crate::resolve::sku_ref)
}

/// Whether a saved plan asks for what a fresh plan of the spec asks for now, given the tenant
/// `live` both were checked against: every action of the fresh plan is in the saved plan with
/// the same outcome (the group's licenses after it, and the allotment), and every saved action
/// the fresh plan does not need has already landed (an interrupted apply being resumed).
/// Device counts and everything derived from them may differ between two reads.
pub fn same_writes(saved: &Plan, fresh: &Plan, live: &LiveState) -> bool {
    let outcome = |a: &Action| {
        (
            a.group.id,
            a.after_fingerprint(),
            a.allotment.as_ref().map(|x| x.id.clone()),
        )
    };
    saved.backend == fresh.backend
        && fresh
            .actions
            .iter()
            .all(|f| saved.actions.iter().any(|s| outcome(s) == outcome(f)))
        && saved.actions.iter().all(|s| {
            fresh.actions.iter().any(|f| outcome(s) == outcome(f)) || already_applied(s, live)
        })
}
