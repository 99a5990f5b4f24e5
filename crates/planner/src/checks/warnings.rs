//! Warnings: findings that inform a reviewer and never block. One function per kind of finding,
//! so each rule and its wording live in one place.

use std::collections::BTreeSet;

use devlic_model::{
    Action, ActionKind, Backend, CapabilityStatus, Group, GroupKind, LiveState, ProcessingState,
    SkuId, Warning, WarningKind, license_errors,
};
use devlic_spec::DesiredState;

use super::{gref, plural};
use crate::actions::Core;
use crate::resolve::{sku_ref, sku_ref_of};

fn group_warning(kind: WarningKind, g: &Group, message: String) -> Warning {
    Warning {
        kind,
        group: Some(gref(g)),
        sku: None,
        message,
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

/// Every warning of the plan, sorted by kind, group, then message.
pub(crate) fn warnings(live: &LiveState, core: &Core<'_>, backend: Backend) -> Vec<Warning> {
    let present: Vec<&Group> = core
        .resolved
        .iter()
        .filter(|r| r.entry.state == DesiredState::Present)
        .map(|r| r.group)
        .collect();
    let mut out = Vec::new();
    out.extend(offline(live));
    out.extend(present.iter().filter_map(|g| group_type(g)));
    out.extend(present.iter().flat_map(|g| membership(g, backend)));
    out.extend(processing(live, core, &present));
    out.extend(unmanaged(live, core));
    out.extend(subscription_status(live, core));
    out.extend(unknown_device_counts(&core.actions));
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

/// [`WarningKind::Offline`]: the plan was made from a snapshot.
fn offline(live: &LiveState) -> Option<Warning> {
    if !live.source.is_offline() {
        return None;
    }
    let who = live
        .tenant
        .display_name
        .as_deref()
        .unwrap_or(&live.tenant.id);
    Some(Warning {
        kind: WarningKind::Offline,
        group: None,
        sku: None,
        message: format!(
            "planned offline from a snapshot of {who} taken at {}; the tenant may have changed \
             since, and apply re-reads every group it touches and refuses when one moved",
            live.taken_at
        ),
    })
}

/// [`WarningKind::UnsupportedGroupType`] and [`WarningKind::NotSecurityGroup`]: device
/// licenses need a plain security group.
fn group_type(g: &Group) -> Option<Warning> {
    let (kind, message) = match g.kind() {
        GroupKind::Microsoft365 => (
            WarningKind::UnsupportedGroupType,
            "is a Microsoft 365 (Unified) group; device licenses need a security group, so its \
             devices will not be licensed",
        ),
        GroupKind::Distribution => (
            WarningKind::NotSecurityGroup,
            "is not a security group (a distribution list); device licenses need a security group",
        ),
        GroupKind::MailEnabledSecurity => (
            WarningKind::NotSecurityGroup,
            "is a mail-enabled security group; use a plain security group for device licenses",
        ),
        GroupKind::Security => return None,
    };
    Some(group_warning(kind, g, message.to_owned()))
}

/// [`WarningKind::NonDeviceMembers`] and [`WarningKind::NestedGroups`]. Counts are transitive
/// (`transitiveMembers`) on every backend; whether the devices of nested groups get the group's
/// subscription depends on the backend ([`Backend::licenses_nested_members`]).
fn membership(g: &Group, backend: Backend) -> Vec<Warning> {
    let Some(m) = g.members else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if m.non_devices > 0 {
        out.push(group_warning(
            WarningKind::NonDeviceMembers,
            g,
            format!(
                "has {} that {} not devices (users, service principals or contacts); they get \
                 no device license",
                plural(m.non_devices, "member", "members"),
                if m.non_devices == 1 { "is" } else { "are" }
            ),
        ));
    }
    if m.groups > 0 {
        let nested = plural(m.groups, "nested group", "nested groups");
        let message = if backend.licenses_nested_members() {
            // DeployOffice/device-based-licensing.md: groups can be nested within the one
            // licensed group.
            format!(
                "has {nested}; device-based licensing reaches their devices through this group, \
                 and the device count includes them"
            )
        } else {
            // entra-docs licensing-group-advanced.md: only first-level members are licensed.
            format!(
                "has {nested}; group-based licensing gives a group's licenses to its direct \
                 members only, so the devices of nested groups get none from this group (the \
                 device count includes them)"
            )
        };
        out.push(group_warning(WarningKind::NestedGroups, g, message));
    }
    out
}

/// [`WarningKind::LicenseErrors`] (for groups the plan touches that the spec does not keep
/// licensed: those of the spec are drift, in `Plan::unlicensed`) and
/// [`WarningKind::ProcessingPending`].
fn processing(live: &LiveState, core: &Core<'_>, present: &[&Group]) -> Vec<Warning> {
    let present_ids: BTreeSet<_> = present.iter().map(|g| g.id).collect();
    let mut seen = BTreeSet::new();
    let touched = core
        .actions
        .iter()
        .filter_map(|a| live.groups.get(&a.group.id));
    let mut out = Vec::new();
    for g in present.iter().copied().chain(touched) {
        if !seen.insert(g.id) {
            continue;
        }
        if let Some(errors) = g.license_errors.as_ref().filter(|e| !e.is_empty())
            && !present_ids.contains(&g.id)
        {
            out.push(group_warning(
                WarningKind::LicenseErrors,
                g,
                format!(
                    "{} with license errors from the last processing: {}",
                    plural(errors.len() as u64, "member", "members"),
                    license_errors::causes_line(&license_errors::summarize(errors, false))
                ),
            ));
        }
        if let Some(state) = g
            .license_processing_state
            .as_ref()
            .filter(|s| !s.is_complete())
        {
            out.push(group_warning(
                WarningKind::ProcessingPending,
                g,
                format!(
                    "license processing has not finished ({}); its licenses may still change",
                    processing_text(state)
                ),
            ));
        }
    }
    out
}

/// [`WarningKind::UnmanagedHolder`]: a group holds a device SKU the spec does not mention.
fn unmanaged(live: &LiveState, core: &Core<'_>) -> Vec<Warning> {
    core.unmanaged
        .iter()
        .map(|g| {
            let held: Vec<String> = g
                .held(&core.device.ids)
                .map(|l| sku_ref_of(live, l.sku_id).sku_part_number)
                .collect();
            let devices = g
                .members
                .map(|m| format!(" for {}", plural(m.devices, "device", "devices")))
                .unwrap_or_default();
            Warning {
                kind: WarningKind::UnmanagedHolder,
                group: Some(gref(g)),
                sku: g
                    .held(&core.device.ids)
                    .next()
                    .map(|l| sku_ref_of(live, l.sku_id)),
                message: format!(
                    "holds {}{devices} but is not in the spec; left untouched (add it to the \
                     spec, or set `prune: true` to revoke it)",
                    held.join(", ")
                ),
            }
        })
        .collect()
}

/// [`WarningKind::SubscriptionStatus`]: a subscription the spec uses is not active.
fn subscription_status(live: &LiveState, core: &Core<'_>) -> Vec<Warning> {
    let mut used: BTreeSet<SkuId> = core
        .resolved
        .iter()
        .filter_map(|r| r.sku.map(|s| s.sku_id))
        .collect();
    used.extend(core.actions.iter().filter_map(Action::adds));
    used.into_iter()
        .filter_map(|id| live.sku(id))
        .filter(|s| s.capability_status != CapabilityStatus::Enabled)
        .map(|sku| Warning {
            kind: WarningKind::SubscriptionStatus,
            group: None,
            sku: Some(sku_ref(sku)),
            message: format!(
                "{} is {:?}: devices licensed with it may lose the apps; renew or reactivate the \
                 subscription",
                sku.sku_part_number, sku.capability_status
            ),
        })
        .collect()
}

/// [`WarningKind::Capacity`]: device counts the arithmetic could not use. (A pool the plan
/// leaves short is a guard, `GuardViolation::Shortfall`, not a warning.)
fn unknown_device_counts(actions: &[Action]) -> Option<Warning> {
    let unknown = actions
        .iter()
        .filter(|a| a.devices.is_none() && a.kind != ActionKind::Update)
        .count() as u64;
    (unknown > 0).then(|| Warning {
        kind: WarningKind::Capacity,
        group: None,
        sku: None,
        message: format!(
            "device counts are unknown for {}; the capacity arithmetic counts them as 0",
            plural(unknown, "group", "groups")
        ),
    })
}
