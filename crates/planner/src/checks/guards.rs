//! The guards: one license-loss rule and the shortfall rule.
//!
//! Every guard is computed from a plan's actions, its capacity arithmetic and the live state, so
//! the same function checks a fresh plan and re-checks a saved one (`crate::recheck`), and a
//! plan file's own `guardViolations` are never trusted.

use std::collections::BTreeSet;

use devlic_model::{
    Action, ActionKind, CapacityLine, GroupRef, GuardSettings, GuardViolation, LiveState, SkuId,
    known_skus,
};

use super::capacity::pool_key;

/// Why an action takes Microsoft 365 Apps away from devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossCause {
    /// The device subscription is revoked: the apps become read-only.
    Revoke,
    /// A swap into a subscription (or a move into an allotment) without room for the group's
    /// devices: the old license goes, and some devices get no new one.
    NoRoom,
    /// `disabledPlans` switch off the Office apps of the device subscription the group keeps.
    OfficeDisabled,
}

/// One action that takes the apps away from devices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseLoss {
    /// The group.
    pub group: GroupRef,
    /// Why.
    pub cause: LossCause,
    /// Devices that lose the apps; `None` when the group's device count is unknown.
    pub devices: Option<u64>,
}

/// The capacity line a pool key falls on.
fn line_of<'a>(capacity: &'a [CapacityLine], a: &Action) -> Option<&'a CapacityLine> {
    let (sku, allotment) = pool_key(a);
    capacity.iter().find(|l| {
        l.sku.sku_id == sku
            && match (&l.allotment, &allotment) {
                (Some(x), Some(id)) => &x.id == id,
                (None, _) => true,
                (Some(_), None) => false,
            }
    })
}

/// Whether the action's `disabledPlans` switch off the Office apps the group's devices have now.
fn disables_office(a: &Action, live: &LiveState) -> bool {
    let Some(sku) = live.sku(a.sku.sku_id) else {
        return false;
    };
    let already_off: BTreeSet<_> = a
        .before
        .iter()
        .filter(|l| l.sku_id == a.sku.sku_id)
        .flat_map(|l| l.disabled_plans.iter().copied())
        .collect();
    sku.service_plans.iter().any(|p| {
        known_skus::is_office_apps_plan(p.service_plan_id, &p.service_plan_name)
            && a.disabled_plans.contains(&p.service_plan_id)
            && !already_off.contains(&p.service_plan_id)
    })
}

/// Every action of the plan that takes Microsoft 365 Apps away from devices, in action order.
///
/// A swap between two device subscriptions with room is not a loss; a swap into a pool that the
/// plan leaves short is, for up to as many devices as the pool is short.
pub fn license_losses(
    actions: &[Action],
    capacity: &[CapacityLine],
    live: &LiveState,
) -> Vec<LicenseLoss> {
    let mut out = Vec::new();
    for a in actions {
        let loss = match a.kind {
            ActionKind::Revoke => Some((LossCause::Revoke, a.devices)),
            ActionKind::Swap | ActionKind::Move | ActionKind::Update
                if disables_office(a, live) =>
            {
                Some((LossCause::OfficeDisabled, a.devices))
            }
            // A move into an allotment without room loses the apps like a swap: the old
            // assignment is deleted, and the devices that did not fit get nothing.
            ActionKind::Swap | ActionKind::Move => line_of(capacity, a)
                .filter(|l| l.available_after < 0)
                .map(|l| {
                    let short = l.available_after.unsigned_abs();
                    (LossCause::NoRoom, a.devices.map(|d| d.min(short)))
                }),
            ActionKind::Assign | ActionKind::Update => None,
        };
        if let Some((cause, devices)) = loss {
            out.push(LicenseLoss {
                group: a.group.clone(),
                cause,
                devices,
            });
        }
    }
    out
}

/// The guards the plan trips, in a fixed order.
///
/// `empty_spec` is true when the spec has no assignments and prunes; `device_skus` are the
/// tenant's device SKUs (their `consumedUnits` count the licensed devices).
pub(crate) fn guards(
    settings: &GuardSettings,
    empty_spec: bool,
    live: &LiveState,
    device_skus: &BTreeSet<SkuId>,
    actions: &[Action],
    capacity: &[CapacityLine],
) -> Vec<GuardViolation> {
    let mut out = Vec::new();
    let losses = license_losses(actions, capacity, live);
    let revocations = losses.len() as u64;
    if revocations > settings.max_revocations {
        out.push(GuardViolation::MaxRevocations {
            revocations,
            max: settings.max_revocations,
        });
    }
    // Devices losing the apps vs. devices licensed with any device SKU. consumedUnits is the
    // tenant's own count of licensed devices, so it needs no member count of other groups.
    let devices: u64 = losses.iter().filter_map(|l| l.devices).sum();
    let licensed: u64 = live
        .skus
        .iter()
        .filter(|s| device_skus.contains(&s.sku_id))
        .map(|s| s.consumed_units)
        .sum();
    let max_percent = settings.max_revoke_percent;
    if devices > 0 && u128::from(devices) * 100 > u128::from(max_percent) * u128::from(licensed) {
        out.push(GuardViolation::RevokeShare {
            devices,
            licensed,
            max_percent,
        });
    }
    // Fail closed: a loss whose size is unknown cannot be checked against the share.
    let unknown: Vec<GroupRef> = losses
        .iter()
        .filter(|l| l.devices.is_none())
        .map(|l| l.group.clone())
        .collect();
    if !unknown.is_empty() {
        out.push(GuardViolation::UnknownDeviceCount { groups: unknown });
    }
    for line in capacity
        .iter()
        .filter(|l| l.available_after < 0 && l.newly_licensed > 0)
    {
        let short = line.available_after.unsigned_abs();
        let groups: Vec<GroupRef> = actions
            .iter()
            .filter(|a| {
                matches!(
                    a.kind,
                    ActionKind::Assign | ActionKind::Swap | ActionKind::Move
                )
            })
            .filter(|a| line_of(std::slice::from_ref(line), a).is_some())
            .map(|a| a.group.clone())
            .collect();
        out.push(GuardViolation::Shortfall {
            sku: line.sku.clone(),
            allotment: line.allotment.clone(),
            devices: short.min(line.newly_licensed),
            groups,
        });
    }
    if empty_spec {
        out.push(GuardViolation::EmptySpec);
    }
    out
}
