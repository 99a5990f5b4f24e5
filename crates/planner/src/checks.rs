//! Warnings, capacity arithmetic and guards: everything that informs a reviewer without blocking
//! planning.

use std::collections::{BTreeMap, BTreeSet};

use devlic_model::{
    Action, ActionKind, AllotmentRef, Backend, CapabilityStatus, CapacityLine, Group, GroupId,
    GroupKind, GroupRef, GuardViolation, LiveState, ProcessingState, SkuId, Warning, WarningKind,
};
use devlic_spec::{DesiredState, Spec};

use crate::actions::Core;
use crate::allotments;
use crate::resolve::{sku_ref, sku_ref_of};

fn gref(g: &Group) -> GroupRef {
    GroupRef {
        id: g.id,
        display_name: g.display_name.clone(),
    }
}

fn processing_text(state: &ProcessingState) -> &str {
    match state {
        ProcessingState::QueuedForProcessing => "QueuedForProcessing",
        ProcessingState::ProcessingInProgress => "ProcessingInProgress",
        ProcessingState::ProcessingComplete => "ProcessingComplete",
        ProcessingState::Other(s) => s,
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Every warning of the plan, sorted by kind, group, then message.
pub(crate) fn warnings(
    live: &LiveState,
    core: &Core<'_>,
    capacity: &[CapacityLine],
) -> Vec<Warning> {
    let mut out = Vec::new();
    let warn = |out: &mut Vec<Warning>, kind, g: Option<&Group>, message: String| {
        out.push(Warning {
            kind,
            group: g.map(gref),
            sku: None,
            message,
        });
    };

    if live.source.is_offline() {
        let who = live
            .tenant
            .display_name
            .as_deref()
            .unwrap_or(&live.tenant.id);
        warn(
            &mut out,
            WarningKind::Offline,
            None,
            format!(
                "planned offline from a snapshot of {who} taken at {}; the tenant may have changed \
                 since, and apply re-reads every group it touches and refuses when one moved",
                live.taken_at
            ),
        );
    }

    let present: Vec<&Group> = core
        .resolved
        .iter()
        .filter(|r| r.entry.state == DesiredState::Present)
        .map(|r| r.group)
        .collect();
    for g in &present {
        match g.kind() {
            GroupKind::Microsoft365 => warn(
                &mut out,
                WarningKind::UnsupportedGroupType,
                Some(g),
                "is a Microsoft 365 (Unified) group; device licenses need a security group, so \
                 its devices will not be licensed"
                    .to_owned(),
            ),
            GroupKind::Distribution => warn(
                &mut out,
                WarningKind::NotSecurityGroup,
                Some(g),
                "is not a security group (a distribution list); device licenses need a security \
                 group"
                    .to_owned(),
            ),
            GroupKind::MailEnabledSecurity => warn(
                &mut out,
                WarningKind::NotSecurityGroup,
                Some(g),
                "is a mail-enabled security group; use a plain security group for device licenses"
                    .to_owned(),
            ),
            GroupKind::Security => {}
        }
        if let Some(m) = g.members {
            if m.non_devices > 0 {
                warn(
                    &mut out,
                    WarningKind::NonDeviceMembers,
                    Some(g),
                    format!(
                        "has {} that {} not devices (users, service principals or contacts); \
                         they get no device license",
                        plural(m.non_devices, "member", "members"),
                        if m.non_devices == 1 { "is" } else { "are" }
                    ),
                );
            }
            if m.groups > 0 {
                warn(
                    &mut out,
                    WarningKind::NestedGroups,
                    Some(g),
                    format!(
                        "has {}; group-based licensing does not reach the members of nested groups",
                        plural(m.groups, "nested group", "nested groups")
                    ),
                );
            }
        }
    }

    // Processing and error state matters for every group the plan touches or keeps licensed.
    let mut seen = BTreeSet::new();
    let touched = core
        .actions
        .iter()
        .filter_map(|a| live.groups.get(&a.group.id));
    for g in present.iter().copied().chain(touched) {
        if !seen.insert(g.id) {
            continue;
        }
        if let Some(errors) = g.license_errors.as_ref().filter(|e| !e.is_empty()) {
            let mut by_code: BTreeMap<&str, u64> = BTreeMap::new();
            for e in errors {
                *by_code
                    .entry(e.error.as_deref().unwrap_or("unknown error"))
                    .or_default() += 1;
            }
            let codes: Vec<String> = by_code.iter().map(|(c, n)| format!("{c}: {n}")).collect();
            warn(
                &mut out,
                WarningKind::LicenseErrors,
                Some(g),
                format!(
                    "{} with license errors from the last processing ({})",
                    plural(errors.len() as u64, "member", "members"),
                    codes.join(", ")
                ),
            );
        }
        if let Some(state) = g
            .license_processing_state
            .as_ref()
            .filter(|s| !s.is_complete())
        {
            warn(
                &mut out,
                WarningKind::ProcessingPending,
                Some(g),
                format!(
                    "license processing has not finished ({}); its licenses may still change",
                    processing_text(state)
                ),
            );
        }
    }

    for g in &core.unmanaged {
        let held: Vec<String> = g
            .held(&core.device.ids)
            .map(|l| sku_ref_of(live, l.sku_id).sku_part_number)
            .collect();
        let devices = g
            .members
            .map(|m| format!(" for {}", plural(m.devices, "device", "devices")))
            .unwrap_or_default();
        out.push(Warning {
            kind: WarningKind::UnmanagedHolder,
            group: Some(gref(g)),
            sku: g
                .held(&core.device.ids)
                .next()
                .map(|l| sku_ref_of(live, l.sku_id)),
            message: format!(
                "holds {}{devices} but is not in the spec; left untouched (add it to the spec, \
                 or set `prune: true` to revoke it)",
                held.join(", ")
            ),
        });
    }

    let mut used: BTreeSet<SkuId> = core
        .resolved
        .iter()
        .filter_map(|r| r.sku.map(|s| s.sku_id))
        .collect();
    used.extend(core.actions.iter().filter_map(Action::adds));
    for id in used {
        if let Some(sku) = live
            .sku(id)
            .filter(|s| s.capability_status != CapabilityStatus::Enabled)
        {
            out.push(Warning {
                kind: WarningKind::SubscriptionStatus,
                group: None,
                sku: Some(sku_ref(sku)),
                message: format!(
                    "{} is {:?}: devices licensed with it may lose the apps; renew or \
                     reactivate the subscription",
                    sku.sku_part_number, sku.capability_status
                ),
            });
        }
    }

    for line in capacity
        .iter()
        .filter(|l| l.available_after < 0 && l.newly_licensed > 0)
    {
        out.push(Warning {
            kind: WarningKind::Capacity,
            group: None,
            sku: Some(line.sku.clone()),
            message: format!(
                "{}: {} {} - {} consumed - {} newly licensed + {} freed = {}: short by {}; \
                 the devices that do not fit get a CountViolation license error{}",
                line.sku.sku_part_number,
                line.prepaid_enabled,
                if line.allotment.is_some() {
                    "allotted"
                } else {
                    "enabled"
                },
                line.consumed,
                line.newly_licensed,
                line.freed,
                line.available_after,
                line.available_after.unsigned_abs(),
                match &line.allotment {
                    Some(a) => format!(
                        " (allotment {}: they wait in its waitingMembers until units free up)",
                        a.id
                    ),
                    None => String::new(),
                }
            ),
        });
    }
    let unknown: Vec<&Action> = core
        .actions
        .iter()
        .filter(|a| a.devices.is_none() && a.kind != ActionKind::Update)
        .collect();
    if !unknown.is_empty() {
        out.push(Warning {
            kind: WarningKind::Capacity,
            group: None,
            sku: None,
            message: format!(
                "device counts are unknown for {}; the capacity arithmetic counts them as 0",
                plural(unknown.len() as u64, "group", "groups")
            ),
        });
    }

    out.sort_by_cached_key(|w| {
        (
            w.kind,
            w.group
                .as_ref()
                .map(|g| (g.display_name.to_lowercase(), g.id)),
            w.message.clone(),
        )
    });
    out
}

/// Capacity arithmetic per device SKU the plan licenses or frees, sorted by part number.
///
/// On cloud-licensing the pool is the allotment: devices newly licensed count against the
/// action's allotment, devices freed against the allotment the group's current assignment comes
/// from, and the line uses that allotment's `allottedUnits` and `consumedUnits`. Moves whose
/// allotment is unknown fall back to the SKU's `subscribedSku` numbers.
pub(crate) fn capacity(
    live: &LiveState,
    backend: Backend,
    actions: &[Action],
) -> Vec<CapacityLine> {
    let cloud = backend == Backend::CloudLicensing;
    let source = |a: &Action, sku: SkuId| -> Option<String> {
        if cloud {
            allotments::source_of(live, a.group.id, sku).map(|x| x.id.clone())
        } else {
            None
        }
    };
    let mut moves: BTreeMap<(SkuId, Option<String>), (u64, u64)> = BTreeMap::new();
    for a in actions {
        let n = a.devices.unwrap_or(0);
        let target = (a.sku.sku_id, a.allotment.as_ref().map(|x| x.id.clone()));
        match a.kind {
            ActionKind::Assign => moves.entry(target).or_default().0 += n,
            ActionKind::Swap => {
                moves.entry(target).or_default().0 += n;
                if let Some(from) = &a.from_sku {
                    let key = (from.sku_id, source(a, from.sku_id));
                    moves.entry(key).or_default().1 += n;
                }
            }
            ActionKind::Revoke => {
                let key = (a.sku.sku_id, source(a, a.sku.sku_id));
                moves.entry(key).or_default().1 += n;
            }
            ActionKind::Update => {}
        }
    }
    let mut lines: Vec<CapacityLine> = moves
        .into_iter()
        .filter(|(_, (newly, freed))| *newly > 0 || *freed > 0)
        .map(|((id, allotment), (newly, freed))| {
            let pool = allotment
                .as_ref()
                .and_then(|x| live.allotments.iter().find(|a| &a.id == x));
            let (prepaid, consumed) = match pool {
                Some(p) => (p.allotted_units, p.consumed_units),
                None => live
                    .sku(id)
                    .map(|s| (s.prepaid_units.enabled, s.consumed_units))
                    .unwrap_or((0, 0)),
            };
            let available_after =
                to_i64(prepaid) - to_i64(consumed) - to_i64(newly) + to_i64(freed);
            CapacityLine {
                sku: sku_ref_of(live, id),
                prepaid_enabled: prepaid,
                consumed,
                newly_licensed: newly,
                freed,
                available_after,
                allotment: pool.map(AllotmentRef::from),
            }
        })
        .collect();
    lines.sort_by_cached_key(|l| {
        (
            l.sku.sku_part_number.to_lowercase(),
            l.sku.sku_id,
            l.allotment.as_ref().map(|a| a.id.clone()),
        )
    });
    lines
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The guards the plan trips, in a fixed order.
pub(crate) fn guards(
    spec: &Spec,
    live: &LiveState,
    device: &BTreeSet<SkuId>,
    actions: &[Action],
) -> Vec<GuardViolation> {
    let mut out = Vec::new();
    let revokes: Vec<&Action> = actions
        .iter()
        .filter(|a| a.kind == ActionKind::Revoke)
        .collect();
    let revocations = revokes.len() as u64;
    if revocations > spec.settings.max_revocations {
        out.push(GuardViolation::MaxRevocations {
            revocations,
            max: spec.settings.max_revocations,
        });
    }
    // Devices revoked vs. devices licensed with any device SKU. consumedUnits is the tenant's own
    // count of licensed devices, so it needs no member count of groups the plan does not touch.
    let devices: u64 = revokes.iter().filter_map(|a| a.devices).sum();
    let licensed: u64 = live
        .skus
        .iter()
        .filter(|s| device.contains(&s.sku_id))
        .map(|s| s.consumed_units)
        .sum();
    let max_percent = spec.settings.max_revoke_percent;
    if devices > 0 && u128::from(devices) * 100 > u128::from(max_percent) * u128::from(licensed) {
        out.push(GuardViolation::RevokeShare {
            devices,
            licensed,
            max_percent,
        });
    }
    if spec.assignments.is_empty() && spec.settings.prune && !spec.settings.allow_empty {
        out.push(GuardViolation::EmptySpec);
    }
    out
}

/// Groups touched by actions, sorted and deduplicated.
pub(crate) fn touched_groups(actions: &[Action]) -> Vec<GroupId> {
    let set: BTreeSet<GroupId> = actions.iter().map(|a| a.group.id).collect();
    set.into_iter().collect()
}
