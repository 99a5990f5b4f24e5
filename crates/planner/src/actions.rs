//! The diff itself: which write each resolved entry (and each pruned holder) needs.

use std::collections::{BTreeSet, HashSet};

use devlic_model::{
    Action, ActionKind, AllotmentRef, AssignedLicense, Backend, Fingerprint, Group, GroupId,
    GroupRef, LiveState, Reason, ServicePlanId, SkuId, SkuRef,
};
use devlic_spec::{DesiredState, Origin, Spec};

use crate::allotments;
use crate::error::PlanError;
use crate::resolve::{DeviceSkus, Resolved, device_skus, resolve, sku_ref, sku_ref_of};

/// Everything the planner derives before warnings and guards.
pub(crate) struct Core<'a> {
    pub device: DeviceSkus,
    pub resolved: Vec<Resolved<'a>>,
    pub actions: Vec<Action>,
    pub errors: Vec<PlanError>,
    /// Groups holding a device SKU that the spec does not name, with `prune` off.
    pub unmanaged: Vec<&'a Group>,
}

pub(crate) fn core<'a>(spec: &'a Spec, live: &'a LiveState, backend: Backend) -> Core<'a> {
    let (device, sku_errors) = device_skus(spec, live);
    let (resolved, mut errors) = resolve(spec, live, &device);
    errors.extend(sku_errors);
    let mut actions = Vec::new();

    let cloud = backend.uses_allotments();
    for r in &resolved {
        if !r.complete {
            continue;
        }
        // On cloud-licensing every present entry needs exactly one allotment, whether or not it
        // changes anything now: a spec that is ambiguous today fails today, not on the day the
        // group first needs a write.
        let allotment = match (cloud, r.entry.state, r.sku) {
            (true, DesiredState::Present, Some(sku)) => {
                match allotments::resolve(r.entry, sku, live) {
                    Ok(a) => Some(a),
                    Err(e) => {
                        errors.push(e);
                        continue;
                    }
                }
            }
            _ => None,
        };
        match entry_action(r, live, &device, allotment.as_ref()) {
            Ok(Some(a))
                if a.kind == ActionKind::Update
                    && !backend.capabilities().updates_disabled_plans =>
            {
                errors.push(PlanError::UpdateNotSupported {
                    origin: r.entry.origin.clone(),
                    group: a.group.clone(),
                    sku: a.sku.clone(),
                    backend,
                });
            }
            Ok(Some(mut a)) => {
                if a.kind != ActionKind::Revoke {
                    a.allotment = allotment;
                }
                actions.push(a);
            }
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }

    let named: HashSet<GroupId> = resolved.iter().map(|r| r.group.id).collect();
    let mut unmanaged = Vec::new();
    for g in live.groups.values() {
        if named.contains(&g.id) {
            continue;
        }
        let held: Vec<&AssignedLicense> = g.held(&device.ids).collect();
        if held.is_empty() {
            continue;
        }
        if !spec.settings.prune {
            unmanaged.push(g);
            continue;
        }
        match held.as_slice() {
            [one] => actions.push(make_action(
                ActionKind::Revoke,
                g,
                sku_ref_of(live, one.sku_id),
                None,
                BTreeSet::new(),
                Reason::Pruned,
            )),
            many => errors.push(conflict(None, g, many, live)),
        }
    }

    sort_actions(&mut actions);
    Core {
        device,
        resolved,
        actions,
        errors,
        unmanaged,
    }
}

/// Actions by display name (case-insensitive), then id: stable across runs and input orders.
pub(crate) fn sort_actions(actions: &mut [Action]) {
    actions.sort_by_cached_key(|a| (a.group.display_name.to_lowercase(), a.group.id));
}

fn conflict(
    origin: Option<&Origin>,
    g: &Group,
    held: &[&AssignedLicense],
    live: &LiveState,
) -> PlanError {
    PlanError::ConflictingDeviceSkus {
        origin: origin.cloned(),
        id: g.id,
        display_name: g.display_name.clone(),
        skus: held.iter().map(|l| sku_ref_of(live, l.sku_id)).collect(),
    }
}

/// The allotment a group's assignment of the entry's SKU comes from when it is not the one the
/// spec resolves to (allotment drift): the group then needs a move. `None` when the group holds
/// the SKU from the wanted allotment (also during a half-done move, when it holds both: the
/// move is then still to finish), from no known allotment, or not at all.
fn drifted_from(
    held: &[&AssignedLicense],
    sku: SkuId,
    wanted: &AllotmentRef,
    live: &LiveState,
) -> Option<AllotmentRef> {
    held.iter()
        .filter(|l| l.sku_id == sku)
        .filter_map(|l| l.allotment_id.as_deref())
        .find(|id| !id.eq_ignore_ascii_case(&wanted.id))
        .map(|id| {
            live.allotments
                .iter()
                .find(|a| a.id.eq_ignore_ascii_case(id))
                .map(AllotmentRef::from)
                .unwrap_or_else(|| AllotmentRef {
                    id: id.to_owned(),
                    subscription_ids: Vec::new(),
                })
        })
}

fn entry_action(
    r: &Resolved<'_>,
    live: &LiveState,
    device: &DeviceSkus,
    allotment: Option<&AllotmentRef>,
) -> Result<Option<Action>, PlanError> {
    let g = r.group;
    let origin = &r.entry.origin;
    let held: Vec<&AssignedLicense> = g.held(&device.ids).collect();
    match r.entry.state {
        DesiredState::Present => {
            // A present entry always has a subscription once the loader validated it; an entry
            // without one has nothing to converge to.
            let Some(sku) = r.sku else { return Ok(None) };
            let reason = Reason::Desired {
                origin: origin.to_string(),
            };
            let mine = held.iter().find(|l| l.sku_id == sku.sku_id);
            let others: Vec<&AssignedLicense> = held
                .iter()
                .copied()
                .filter(|l| l.sku_id != sku.sku_id)
                .collect();
            // cloud-licensing: the SKU is held, but from another allotment than the spec's.
            let drift = allotment.and_then(|want| drifted_from(&held, sku.sku_id, want, live));
            if let (true, Some(from)) = (others.is_empty(), drift) {
                let mut a = make_action(
                    ActionKind::Move,
                    g,
                    sku_ref(sku),
                    None,
                    r.disabled.clone(),
                    reason,
                );
                a.from_allotment = Some(from);
                return Ok(Some(a));
            }
            let kind_from = match (others.as_slice(), mine) {
                ([], None) => Some((ActionKind::Assign, None)),
                ([], Some(m)) if m.disabled_plans == r.disabled => None,
                ([], Some(_)) => Some((ActionKind::Update, None)),
                // One call adds the new SKU and removes the old: devices never lose the apps.
                // When the group already holds both, the same call just drops the old one.
                ([old], _) => Some((ActionKind::Swap, Some(sku_ref_of(live, old.sku_id)))),
                (_, _) => return Err(conflict(Some(origin), g, &held, live)),
            };
            Ok(kind_from.map(|(kind, from)| {
                make_action(kind, g, sku_ref(sku), from, r.disabled.clone(), reason)
            }))
        }
        DesiredState::Absent => {
            let reason = Reason::Absent {
                origin: origin.to_string(),
            };
            let mut target: Vec<&AssignedLicense> = match r.sku {
                Some(sku) => held
                    .iter()
                    .copied()
                    .filter(|l| l.sku_id == sku.sku_id)
                    .collect(),
                None => held,
            };
            // A group moving between allotments holds one SKU twice; revoking it is one action.
            let skus: BTreeSet<SkuId> = target.iter().map(|l| l.sku_id).collect();
            if skus.len() == 1 {
                target.truncate(1);
            }
            match target.as_slice() {
                [] => Ok(None),
                [one] => Ok(Some(make_action(
                    ActionKind::Revoke,
                    g,
                    sku_ref_of(live, one.sku_id),
                    None,
                    BTreeSet::new(),
                    reason,
                ))),
                many => Err(conflict(Some(origin), g, many, live)),
            }
        }
    }
}

fn make_action(
    kind: ActionKind,
    g: &Group,
    sku: SkuRef,
    from_sku: Option<SkuRef>,
    disabled_plans: BTreeSet<ServicePlanId>,
    reason: Reason,
) -> Action {
    let mut before = g.assigned_licenses.clone();
    before.sort();
    let before_fingerprint = Fingerprint::of_group(g.id, &before);
    Action {
        kind,
        group: GroupRef {
            id: g.id,
            display_name: g.display_name.clone(),
        },
        sku,
        from_sku,
        disabled_plans,
        devices: g.members.map(|m| m.devices),
        reason,
        before,
        before_fingerprint,
        allotment: None,
        from_allotment: None,
    }
}
