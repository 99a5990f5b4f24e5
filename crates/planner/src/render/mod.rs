//! Renderers: a [`Plan`] as terminal text, as a pull-request Markdown comment, or as JSON.
//!
//! All three are pure functions of the plan, so their output is as deterministic as the plan
//! (snapshot-tested). None prints anything: the caller writes the string where it belongs.
//!
//! Every string that comes from the tenant, a spec or a snapshot (group names, SKU part
//! numbers, allotment ids, tenant names, warning messages quoting them, spec origins) goes
//! through [`devlic_model::display`] in the helpers below, so no rendering ever writes a raw
//! control character from data. JSON needs no such care: serde escapes them.

mod markdown;
mod text;

use devlic_model::display::sanitize;
use devlic_model::{Action, ActionKind, Backend, GroupRef, Plan, SkuRef};

pub use markdown::{MARKDOWN_LIMIT, markdown};
pub use text::{TextOptions, text};

use crate::wire::PlanV1;

/// The plan as pretty-printed [`PlanV1`] JSON, ending with a newline.
#[expect(
    clippy::expect_used,
    reason = "serializing PlanV1 cannot fail; a Result would hand callers an impossible error"
)]
pub fn json(plan: &Plan) -> String {
    let v1 = PlanV1::from_plan(plan);
    // PlanV1 holds only strings, numbers, booleans, sequences and structs: serde_json cannot
    // fail on it, so an error here is a bug in this crate, not bad input.
    let mut out = serde_json::to_string_pretty(&v1).expect("PlanV1 always serializes");
    out.push('\n');
    out
}

/// The symbol of an action kind: `+` assign, `-` revoke, `~` update, `⇄` swap, `→` move.
pub fn symbol(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::Assign => "+",
        ActionKind::Revoke => "-",
        ActionKind::Update => "~",
        ActionKind::Swap => "⇄",
        ActionKind::Move => "→",
    }
}

/// The verb of an action kind.
pub(crate) fn verb(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::Assign => "assign",
        ActionKind::Revoke => "revoke",
        ActionKind::Update => "update",
        ActionKind::Swap => "swap",
        ActionKind::Move => "move",
    }
}

/// `Plan: N to assign, N to revoke, N to swap, N to update.` (with `, N to move` when the plan
/// moves groups between allotments) or the no-change sentence.
pub fn summary_line(plan: &Plan) -> String {
    let s = plan.summary();
    let unlicensed = plan.unlicensed_devices();
    let groups = plan.unlicensed.len();
    match (s.total(), unlicensed) {
        (0, 0) => "No changes. The tenant's device licenses match the spec.".to_owned(),
        (0, n) => format!(
            "No changes to write, but {n} device{} in {groups} group{} of the spec {} not \
             licensed: add units or remove devices.",
            if n == 1 { "" } else { "s" },
            if groups == 1 { "" } else { "s" },
            if n == 1 { "is" } else { "are" }
        ),
        (_, n) => format!(
            "Plan: {} to assign, {} to revoke, {} to swap, {} to update{}.{}",
            s.assign,
            s.revoke,
            s.swap,
            s.update,
            if s.r#move == 0 {
                String::new()
            } else {
                format!(", {} to move", s.r#move)
            },
            if n == 0 {
                String::new()
            } else {
                format!(
                    " {n} device{} of the spec's groups {} not licensed now.",
                    if n == 1 { "" } else { "s" },
                    if n == 1 { "is" } else { "are" }
                )
            }
        ),
    }
}

/// The top line of every format when the plan leaves a pool short: how many devices end up
/// without the apps, and where.
pub(crate) fn shortfall_banner(plan: &Plan) -> Option<String> {
    let parts: Vec<String> = plan
        .guard_violations
        .iter()
        .filter_map(|g| match g {
            devlic_model::GuardViolation::Shortfall {
                sku,
                devices,
                groups,
                ..
            } => Some((sku, *devices, groups)),
            _ => None,
        })
        .map(|(sku, devices, groups)| {
            format!(
                "{} is short by {devices} for {}",
                sku.label(),
                devlic_model::name_list(groups)
            )
        })
        .collect();
    let total: u64 = plan
        .guard_violations
        .iter()
        .map(|g| match g {
            devlic_model::GuardViolation::Shortfall { devices, .. } => *devices,
            _ => 0,
        })
        .sum();
    (total > 0).then(|| {
        sanitize(&format!(
            "{total} device{} will end up without Microsoft 365 Apps: {}",
            if total == 1 { "" } else { "s" },
            parts.join("; ")
        ))
        .into_owned()
    })
}

/// One line per group of the spec with unlicensed devices.
pub(crate) fn unlicensed_lines(plan: &Plan) -> Vec<String> {
    plan.unlicensed
        .iter()
        .map(|u| {
            format!(
                "{}: {} not licensed: {}",
                group_label(&u.group),
                devices_text(Some(u.devices)),
                sanitize(&devlic_model::license_errors::causes_line(&u.causes))
            )
        })
        .collect()
}

/// What an admin does about unlicensed devices.
pub(crate) const UNLICENSED_HELP: &str = "devlic cannot license these devices by writing: add \
     units to the subscription (Microsoft 365 admin center > Billing > Licenses), or remove \
     devices from the group.";

pub(crate) fn group_label(g: &GroupRef) -> String {
    format!("{} ({})", sanitize(&g.display_name), g.id)
}

pub(crate) fn devices_text(n: Option<u64>) -> String {
    match n {
        Some(1) => "1 device".to_owned(),
        Some(n) => format!("{n} devices"),
        None => "an unknown number of devices".to_owned(),
    }
}

pub(crate) fn plans_text(
    plans: &std::collections::BTreeSet<devlic_model::ServicePlanId>,
) -> String {
    if plans.is_empty() {
        "none".to_owned()
    } else {
        plans
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The disabled plans the group has now for the action's SKU (for an update's "before").
pub(crate) fn current_disabled(
    a: &Action,
) -> std::collections::BTreeSet<devlic_model::ServicePlanId> {
    a.before
        .iter()
        .find(|l| l.sku_id == a.sku.sku_id)
        .map(|l| l.disabled_plans.clone())
        .unwrap_or_default()
}

/// What an action does, in one sentence without the group (shared by text and Markdown).
pub(crate) fn describe(a: &Action, plan: &Plan) -> String {
    sanitize(&describe_raw(a, plan.backend, at_risk(a, plan))).into_owned()
}

/// Devices of a swap (or move) that the target pool has no room for, if any.
fn at_risk(a: &Action, plan: &Plan) -> Option<u64> {
    if !matches!(a.kind, ActionKind::Swap | ActionKind::Move) {
        return None;
    }
    let line = plan.capacity.iter().find(|l| {
        l.sku.sku_id == a.sku.sku_id
            && l.allotment.as_ref().map(|x| &x.id) == a.allotment.as_ref().map(|x| &x.id)
    })?;
    (line.available_after < 0).then(|| {
        let short = line.available_after.unsigned_abs();
        a.devices.map_or(short, |d| d.min(short))
    })
}

/// [`describe`] before sanitizing: it quotes SKU part numbers and allotment ids, and writes no
/// control character of its own.
fn describe_raw(a: &Action, backend: Backend, at_risk: Option<u64>) -> String {
    let devices = devices_text(a.devices);
    match a.kind {
        ActionKind::Assign => match &a.allotment {
            Some(al) => format!(
                "assign {} to {devices} from allotment {}",
                a.sku.label(),
                al.id
            ),
            None => format!("assign {} to {devices}", a.sku.label()),
        },
        // An honest swap: when the target has no room, some devices lose the apps, and the plan
        // says so instead of promising they stay licensed.
        ActionKind::Swap if at_risk.is_some() => format!(
            "swap {} → {} on {devices}: {} has no room for all the devices the plan licenses; \
             up to {} of these may be left without Microsoft 365 Apps{}",
            a.from_sku
                .as_ref()
                .map_or_else(|| "?".to_owned(), SkuRef::label),
            a.sku.label(),
            a.sku.sku_part_number,
            devices_text(at_risk),
            if backend.writes_in_two_steps() {
                " (the new assignment is created first, then the old one is removed)"
            } else {
                ""
            }
        ),
        // A backend without a single add-and-remove call: devlic creates the new assignment,
        // then deletes the old one, and says so, since the order is what keeps the apps working.
        ActionKind::Swap if backend.writes_in_two_steps() => format!(
            "swap {} → {} on {devices}: the new assignment (allotment {}) is created first, \
             then the old one is removed, so the devices are never unlicensed in between",
            a.from_sku
                .as_ref()
                .map_or_else(|| "?".to_owned(), SkuRef::label),
            a.sku.label(),
            a.allotment.as_ref().map(|x| x.id.as_str()).unwrap_or("?")
        ),
        ActionKind::Swap => format!(
            "swap {} → {} on {devices}, in one call (the apps stay licensed throughout)",
            a.from_sku
                .as_ref()
                .map_or_else(|| "?".to_owned(), SkuRef::label),
            a.sku.label()
        ),
        ActionKind::Move => {
            let from = a
                .from_allotment
                .as_ref()
                .map_or_else(|| "?".to_owned(), allotment_label);
            let to = a
                .allotment
                .as_ref()
                .map_or_else(|| "?".to_owned(), allotment_label);
            let plans = if a.disabled_plans == current_disabled(a) {
                String::new()
            } else {
                format!(
                    "; disabled plans {} → {}",
                    plans_text(&current_disabled(a)),
                    plans_text(&a.disabled_plans)
                )
            };
            match at_risk {
                Some(n) => format!(
                    "move {} on {devices} from {from} to {to}{plans}: the new allotment has no \
                     room for all the devices the plan licenses; up to {} of these may be left \
                     without Microsoft 365 Apps (the new assignment is created first, then the \
                     old one is removed)",
                    a.sku.label(),
                    devices_text(Some(n))
                ),
                None => format!(
                    "move {} on {devices} from {from} to {to}{plans}: the new assignment is \
                     created first, then the old one is removed, so the devices are never \
                     unlicensed in between",
                    a.sku.label()
                ),
            }
        }
        ActionKind::Update => format!(
            "update {} on {devices}: disabled plans {} → {}",
            a.sku.label(),
            plans_text(&current_disabled(a)),
            plans_text(&a.disabled_plans)
        ),
        ActionKind::Revoke => format!(
            "revoke {} from {devices}: Microsoft 365 Apps on {} become read-only \
             (documents can be viewed and printed, not edited or created)",
            a.sku.label(),
            if a.devices == Some(1) {
                "that device"
            } else {
                "those devices"
            }
        ),
    }
}

/// An allotment as plans name it: `allotment ID (subscription S)`, or the id alone when its
/// subscriptions are unknown.
pub(crate) fn allotment_label(a: &devlic_model::AllotmentRef) -> String {
    match a.subscription_ids.as_slice() {
        [] => format!("allotment {}", a.id),
        subs => format!("allotment {} (subscription {})", a.id, subs.join(", ")),
    }
}

pub(crate) fn reason_text(a: &Action) -> String {
    // An origin quotes the spec's file path, which can hold anything a file name can.
    match &a.reason {
        devlic_model::Reason::Desired { origin } => {
            format!("spec entry {}", sanitize(origin))
        }
        devlic_model::Reason::Absent { origin } => {
            format!("spec entry {} (state: absent)", sanitize(origin))
        }
        devlic_model::Reason::Pruned => "not in the spec, and prune is on".to_owned(),
    }
}

pub(crate) fn capacity_text(l: &devlic_model::CapacityLine) -> String {
    let tail = if l.available_after < 0 {
        format!(" (short by {})", l.available_after.unsigned_abs())
    } else {
        " available after the plan".to_owned()
    };
    let pool = match &l.allotment {
        Some(a) => format!(" (allotment {})", sanitize(&a.id)),
        None => String::new(),
    };
    format!(
        "{}{pool}: {} {} - {} consumed - {} newly licensed + {} freed = {}{tail}",
        sanitize(&l.sku.label()),
        l.prepaid_enabled,
        if l.allotment.is_some() {
            "allotted"
        } else {
            "enabled"
        },
        l.consumed,
        l.newly_licensed,
        l.freed,
        l.available_after
    )
}

pub(crate) fn warning_kind_text(k: devlic_model::WarningKind) -> &'static str {
    use devlic_model::WarningKind as W;
    match k {
        W::Capacity => "capacity",
        W::UnsupportedGroupType => "unsupported group type",
        W::NotSecurityGroup => "not a security group",
        W::NonDeviceMembers => "non-device members",
        W::NestedGroups => "nested groups",
        W::LicenseErrors => "license errors",
        W::ProcessingPending => "processing pending",
        W::UnmanagedHolder => "unmanaged holder",
        W::SubscriptionStatus => "subscription status",
        W::Offline => "offline",
        W::UndocumentedBackend => "undocumented backend",
        W::SubscriptionInSeveralGroups => "subscription in several groups",
    }
}

pub(crate) fn warning_text(w: &devlic_model::Warning) -> String {
    // Messages quote group names, SKU part numbers and Graph's error codes.
    match &w.group {
        Some(g) => format!("{}: {}", group_label(g), sanitize(&w.message)),
        None => sanitize(&w.message).into_owned(),
    }
}

pub(crate) fn offline_banner(plan: &Plan) -> Option<String> {
    plan.source.is_offline().then(|| {
        format!(
            "OFFLINE PLAN: made from a snapshot taken at {}, not from the live tenant.",
            plan.state_taken_at
        )
    })
}

pub(crate) fn tenant_text(plan: &Plan) -> String {
    match &plan.tenant.display_name {
        Some(n) => format!("{} ({})", sanitize(n), sanitize(&plan.tenant.id)),
        None => sanitize(&plan.tenant.id).into_owned(),
    }
}
