//! What the planner decided: `Plan`, `Action`, `Warning`.
//!
//! These are core types. The versioned JSON wire format (`PlanV1`) lives in the planner crate and
//! maps onto these, so the on-disk format can stay stable while the core evolves.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    AllotmentRef, AssignedLicense, Backend, GroupId, ServicePlanId, SkuId, StateSource, TenantInfo,
};

/// A group, named the two ways people and Graph know it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupRef {
    /// Object id.
    pub id: GroupId,
    /// Display name.
    pub display_name: String,
}

/// A SKU, named the two ways people and Graph know it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SkuRef {
    /// `skuId`.
    pub sku_id: SkuId,
    /// `skuPartNumber`.
    pub sku_part_number: String,
}

impl SkuRef {
    /// `PART_NUMBER (Product name)` when the admin center's name is known (see
    /// [`crate::product_names`]), the part number alone otherwise. Not sanitized.
    pub fn label(&self) -> String {
        crate::product_names::sku_label(self.sku_id, &self.sku_part_number)
    }
}

/// A stable hash of license state, written `sha256:<hex>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fingerprint(pub String);

impl Fingerprint {
    /// The fingerprint of one group's `assignedLicenses`, independent of the order Graph returned
    /// them in. Used by the stale-plan check: apply re-reads the group and compares.
    pub fn of_group(id: GroupId, licenses: &[AssignedLicense]) -> Fingerprint {
        let mut sorted: Vec<&AssignedLicense> = licenses.iter().collect();
        sorted.sort();
        let mut canonical = format!("group:{id}");
        for l in sorted {
            canonical.push_str(&format!(";sku:{}", l.sku_id));
            for p in &l.disabled_plans {
                canonical.push_str(&format!(",off:{p}"));
            }
            // Only cloud-licensing states carry allotments, so group-licensing fingerprints
            // are what they always were.
            if let Some(a) = &l.allotment_id {
                canonical.push_str(&format!(",allotment:{a}"));
            }
        }
        Fingerprint::of_text(&canonical)
    }

    /// The fingerprint of a sequence of fingerprints (order-sensitive: pass them sorted).
    pub fn combine<'a>(parts: impl IntoIterator<Item = &'a Fingerprint>) -> Fingerprint {
        let mut canonical = String::new();
        for p in parts {
            canonical.push_str(&p.0);
            canonical.push('\n');
        }
        Fingerprint::of_text(&canonical)
    }

    fn of_text(text: &str) -> Fingerprint {
        Fingerprint(format!(
            "sha256:{}",
            hex::encode(Sha256::digest(text.as_bytes()))
        ))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What an action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ActionKind {
    /// Give the group a device SKU it does not hold.
    Assign,
    /// Replace the device SKU the group holds with another, in one write (no unlicensed window).
    Swap,
    /// Change `disabledPlans` of the SKU the group already holds.
    Update,
    /// Take a device SKU away: the apps on the group's devices become read-only.
    Revoke,
    /// cloud-licensing: keep the SKU but take it from another allotment (another subscription
    /// of the same product). Two writes, never an unlicensed window: create the assignment on
    /// the new allotment, then delete the one on the old.
    Move,
}

/// Why an action is in the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Reason {
    /// A spec entry with `state: present` (the default) asks for it.
    Desired {
        /// `file:line:col` of the spec entry.
        origin: String,
    },
    /// A spec entry with `state: absent` asks for it.
    Absent {
        /// `file:line:col` of the spec entry.
        origin: String,
    },
    /// The group is not in the spec and `settings.prune` is on.
    Pruned,
}

/// One write the applier will make: exactly one Graph call per action on the v1.0 backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Action {
    /// What it does.
    pub kind: ActionKind,
    /// The group it touches.
    pub group: GroupRef,
    /// The SKU assigned (assign, swap, update) or revoked (revoke).
    pub sku: SkuRef,
    /// For a swap: the device SKU being replaced.
    pub from_sku: Option<SkuRef>,
    /// The `disabledPlans` to send with the added SKU (empty for a revoke).
    pub disabled_plans: BTreeSet<ServicePlanId>,
    /// Devices in the group (transitive), when known.
    pub devices: Option<u64>,
    /// Why.
    pub reason: Reason,
    /// The group's `assignedLicenses` when planned.
    pub before: Vec<AssignedLicense>,
    /// [`Fingerprint::of_group`] of `before`; `apply --plan` refuses when it changed.
    pub before_fingerprint: Fingerprint,
    /// On the cloud-licensing backend: the allotment an assign, swap or update takes licenses
    /// from (`None` on group-licensing and for revokes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allotment: Option<AllotmentRef>,
    /// For a move: the allotment the group's assignment comes from now (deleted once the new
    /// assignment exists). `None` for every other kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_allotment: Option<AllotmentRef>,
}

impl Action {
    /// SKU ids to add with this action's write.
    pub fn adds(&self) -> Option<SkuId> {
        match self.kind {
            ActionKind::Revoke => None,
            _ => Some(self.sku.sku_id),
        }
    }

    /// SKU ids to remove with this action's write.
    pub fn removes(&self) -> Vec<SkuId> {
        match self.kind {
            ActionKind::Revoke => vec![self.sku.sku_id],
            ActionKind::Swap => self.from_sku.iter().map(|s| s.sku_id).collect(),
            // A move removes an assignment, not a SKU: see `from_allotment`.
            ActionKind::Assign | ActionKind::Update | ActionKind::Move => Vec::new(),
        }
    }
}

/// What a warning is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum WarningKind {
    /// Not enough units for the devices the plan licenses.
    Capacity,
    /// The group is a Microsoft 365 (Unified) group: device licensing does not support it.
    UnsupportedGroupType,
    /// The group is not a security group (distribution list, or mail-enabled security group).
    NotSecurityGroup,
    /// The group has members that are not devices (they do not consume device licenses).
    NonDeviceMembers,
    /// The group nests other groups.
    NestedGroups,
    /// The last license processing left members with errors.
    LicenseErrors,
    /// License processing has not finished for this group.
    ProcessingPending,
    /// A group holds a device SKU but is not in the spec (not touched without `prune`).
    UnmanagedHolder,
    /// The subscription is suspended, in warning, deleted or locked out.
    SubscriptionStatus,
    /// The plan was made from a snapshot, not from the live tenant.
    Offline,
    /// devlic chose group-licensing from the tenant's evidence: Microsoft documents no v1.0
    /// `assignLicense` for device SKUs.
    UndocumentedBackend,
    /// One device subscription is assigned to more than one group of the spec; Microsoft's
    /// device-based licensing docs allow one group per subscription.
    SubscriptionInSeveralGroups,
}

/// A finding that never blocks planning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Warning {
    /// What it is about.
    pub kind: WarningKind,
    /// The group concerned, if any.
    pub group: Option<GroupRef>,
    /// The SKU concerned, if any.
    pub sku: Option<SkuRef>,
    /// A sentence for people.
    pub message: String,
}

/// The capacity arithmetic for one SKU, shown to people so they can check it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CapacityLine {
    /// The SKU.
    pub sku: SkuRef,
    /// `prepaidUnits.enabled`.
    pub prepaid_enabled: u64,
    /// `consumedUnits`.
    pub consumed: u64,
    /// Devices the plan newly licenses with this SKU.
    pub newly_licensed: u64,
    /// Devices the plan frees from this SKU.
    pub freed: u64,
    /// `prepaid_enabled - consumed - newly_licensed + freed` (negative = short).
    pub available_after: i64,
    /// On the cloud-licensing backend the pool is one allotment: then `prepaid_enabled` is its
    /// `allottedUnits` and `consumed` its `consumedUnits`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allotment: Option<AllotmentRef>,
}

/// A guard the plan trips: apply refuses (exit 3) unless the guard is explicitly passed.
///
/// The revocation guards count every action that takes Microsoft 365 Apps away from devices
/// (see `devlic_planner::license_losses`): a revoke, a swap into a subscription without room for
/// the group's devices, and `disabledPlans` that switch off the Office apps of a device
/// subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum GuardViolation {
    /// More actions that take the apps away than `settings.maxRevocations`; pass with
    /// `--allow-revoke`.
    MaxRevocations {
        /// Actions in the plan that take the apps away from devices.
        revocations: u64,
        /// The configured maximum.
        max: u64,
    },
    /// Those actions would touch more than the allowed share of all licensed devices.
    RevokeShare {
        /// Devices losing the apps.
        devices: u64,
        /// Devices licensed with device SKUs before the plan.
        licensed: u64,
        /// The allowed share, in percent.
        max_percent: u8,
    },
    /// Actions take the apps away from groups whose device count is unknown, so the share
    /// cannot be checked: fail closed; pass with `--allow-revoke` after reviewing them.
    UnknownDeviceCount {
        /// The groups whose device count could not be read.
        groups: Vec<GroupRef>,
    },
    /// A device subscription (or allotment) would end up short: devices in these groups would
    /// be left without the apps. Pass with `--allow-shortfall` or `settings.allowShortfall`.
    Shortfall {
        /// The subscription.
        sku: SkuRef,
        /// On cloud-licensing, the allotment that runs short.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        allotment: Option<AllotmentRef>,
        /// Devices that will not get a license.
        devices: u64,
        /// The groups the plan licenses from this pool, where the unlicensed devices will be.
        groups: Vec<GroupRef>,
    },
    /// The spec has no assignments but `prune` is on, and `allowEmpty` is not set.
    EmptySpec,
}

/// Group names for a sentence: the first five, then how many more (a plan can touch thousands).
pub fn name_list(groups: &[GroupRef]) -> String {
    const SHOWN: usize = 5;
    let mut out = groups
        .iter()
        .take(SHOWN)
        .map(|g| g.display_name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    if groups.len() > SHOWN {
        out.push_str(&format!(" and {} more", groups.len() - SHOWN));
    }
    out
}

/// The flags a person can give to pass guards after reviewing a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GuardPasses {
    /// `--allow-revoke`: pass the revocation guards.
    pub allow_revoke: bool,
    /// `--allow-shortfall` (or `settings.allowShortfall`): pass the shortfall guard.
    pub allow_shortfall: bool,
}

/// The guard thresholds a plan is checked against: the spec's `settings`.
///
/// A saved plan records them, but a plan file is data, not authority: `apply --plan` without
/// `--spec` uses [`GuardSettings::stricter`] of the file's and the defaults, so editing a plan
/// can only make its guards stricter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GuardSettings {
    /// `settings.maxRevocations`.
    pub max_revocations: u64,
    /// `settings.maxRevokePercent`.
    pub max_revoke_percent: u8,
    /// `settings.allowEmpty`.
    pub allow_empty: bool,
    /// `settings.allowShortfall`.
    pub allow_shortfall: bool,
}

impl Default for GuardSettings {
    /// The spec defaults: no revocation without `--allow-revoke`, 25 %, no empty spec, no
    /// shortfall.
    fn default() -> Self {
        GuardSettings {
            max_revocations: 0,
            max_revoke_percent: 25,
            allow_empty: false,
            allow_shortfall: false,
        }
    }
}

impl GuardSettings {
    /// The stricter of two sets of thresholds, field by field.
    pub fn stricter(self, other: GuardSettings) -> GuardSettings {
        GuardSettings {
            max_revocations: self.max_revocations.min(other.max_revocations),
            max_revoke_percent: self.max_revoke_percent.min(other.max_revoke_percent),
            allow_empty: self.allow_empty && other.allow_empty,
            allow_shortfall: self.allow_shortfall && other.allow_shortfall,
        }
    }
}

/// How many devices of a group are not licensed for one reason Graph gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CauseCount {
    /// Graph's error code (`CountViolation`, ...), or `Unknown` when it gave none.
    pub code: String,
    /// Devices with that error.
    pub devices: u64,
    /// True when Graph gave no code and devlic inferred this one from the subscription having
    /// no free units (Graph reports devices that did not fit without a code).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inferred: bool,
}

/// A group of the spec whose devices are not all licensed: drift, even when no write is
/// planned for it (a write may not be able to fix it: more units or fewer devices may be needed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Unlicensed {
    /// The group.
    pub group: GroupRef,
    /// The subscription the spec wants it to hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<SkuRef>,
    /// Members without a license (devices, or members of unknown type).
    pub devices: u64,
    /// Why, as Graph reports it, most frequent first.
    pub causes: Vec<CauseCount>,
}

impl GuardViolation {
    /// The one sentence for this guard, shared by every renderer, the applier and the CLI.
    pub fn message(&self) -> String {
        match self {
            GuardViolation::MaxRevocations { revocations, max } => format!(
                "the plan takes Microsoft 365 Apps away from the devices of {revocations} group{} \
                 (each revoke, swap into a subscription without room, or disabledPlans that \
                 switch Office off counts) but settings.maxRevocations is {max}; apply refuses \
                 without --allow-revoke",
                if *revocations == 1 { "" } else { "s" }
            ),
            GuardViolation::RevokeShare {
                devices,
                licensed,
                max_percent,
            } => format!(
                "the plan takes Microsoft 365 Apps away from {devices} of {licensed} \
                 device-licensed devices, more than settings.maxRevokePercent ({max_percent}%); \
                 apply refuses without --allow-revoke"
            ),
            GuardViolation::UnknownDeviceCount { groups } => format!(
                "the plan takes the apps away from {} whose device count could not be read \
                 ({}), so settings.maxRevokePercent cannot be checked; apply refuses without \
                 --allow-revoke",
                if groups.len() == 1 {
                    "a group".to_owned()
                } else {
                    format!("{} groups", groups.len())
                },
                name_list(groups)
            ),
            GuardViolation::Shortfall {
                sku,
                allotment,
                devices,
                groups,
            } => format!(
                "{} {}would be short by {devices} unit{}: {devices} device{} in {} would not get \
                 Microsoft 365 Apps; add licenses, or apply with --allow-shortfall",
                sku.label(),
                allotment
                    .as_ref()
                    .map(|a| format!("(allotment {}) ", a.id))
                    .unwrap_or_default(),
                if *devices == 1 { "" } else { "s" },
                if *devices == 1 { "" } else { "s" },
                name_list(groups)
            ),
            GuardViolation::EmptySpec => "the spec has no assignments and prune is on, so every \
                 device license would be revoked; set settings.allowEmpty: true if that is intended"
                .to_owned(),
        }
    }

    /// Whether `passes` lets apply go ahead despite this guard. An empty spec with prune is a
    /// spec mistake: no flag passes it.
    pub fn is_passed_by(&self, passes: GuardPasses) -> bool {
        match self {
            GuardViolation::MaxRevocations { .. }
            | GuardViolation::RevokeShare { .. }
            | GuardViolation::UnknownDeviceCount { .. } => passes.allow_revoke,
            GuardViolation::Shortfall { .. } => passes.allow_shortfall,
            GuardViolation::EmptySpec => false,
        }
    }
}

/// Counts per action kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PlanSummary {
    /// Assigns.
    pub assign: u64,
    /// Revokes.
    pub revoke: u64,
    /// Swaps.
    pub swap: u64,
    /// Updates.
    pub update: u64,
    /// Moves between allotments (cloud-licensing).
    #[serde(default)]
    pub r#move: u64,
}

impl PlanSummary {
    /// Counts the actions.
    pub fn of(actions: &[Action]) -> PlanSummary {
        let mut s = PlanSummary::default();
        for a in actions {
            match a.kind {
                ActionKind::Assign => s.assign += 1,
                ActionKind::Revoke => s.revoke += 1,
                ActionKind::Swap => s.swap += 1,
                ActionKind::Update => s.update += 1,
                ActionKind::Move => s.r#move += 1,
            }
        }
        s
    }

    /// Total number of actions.
    pub fn total(&self) -> u64 {
        self.assign + self.revoke + self.swap + self.update + self.r#move
    }
}

/// The planner's output: everything needed to review and apply a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// The tenant planned against.
    pub tenant: TenantInfo,
    /// The API the actions go through.
    pub backend: Backend,
    /// Why this backend: the setting that fixed it, or the tenant's evidence when devlic chose
    /// (`settings.backend: auto`). `None` in plans saved before devlic recorded it.
    pub backend_reason: Option<String>,
    /// Where the live state came from (offline plans say so).
    pub source: StateSource,
    /// When the live state was read.
    pub state_taken_at: jiff::Timestamp,
    /// The writes, in a deterministic order (by group display name, then id).
    pub actions: Vec<Action>,
    /// Findings that do not block.
    pub warnings: Vec<Warning>,
    /// Capacity arithmetic per device SKU the plan touches.
    pub capacity: Vec<CapacityLine>,
    /// Guards tripped.
    pub guard_violations: Vec<GuardViolation>,
    /// The thresholds the guards were checked against.
    pub guard_settings: GuardSettings,
    /// Groups of the spec whose devices are not all licensed now.
    pub unlicensed: Vec<Unlicensed>,
    /// [`Fingerprint::combine`] of every action's `before_fingerprint`, in action order.
    pub fingerprint: Fingerprint,
}

impl Plan {
    /// Counts per action kind.
    pub fn summary(&self) -> PlanSummary {
        PlanSummary::of(&self.actions)
    }

    /// The groups the plan writes to, sorted by id, each once: those whose member counts a
    /// caller reads before planning again (counts change no action, see `devlic_planner::plan`).
    pub fn groups_written(&self) -> Vec<GroupId> {
        let mut ids: Vec<GroupId> = self.actions.iter().map(|a| a.group.id).collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// True when there is nothing to write (there may still be [`Plan::unlicensed`] devices).
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// True when the tenant matches the spec: nothing to write, and every device of the spec's
    /// groups licensed. "Green means licensed".
    pub fn is_converged(&self) -> bool {
        self.actions.is_empty() && self.unlicensed.is_empty()
    }

    /// Devices of the spec's groups that are not licensed now.
    pub fn unlicensed_devices(&self) -> u64 {
        self.unlicensed.iter().map(|u| u.devices).sum()
    }

    /// The guards apply refuses on, given the flags passed: the one rule the applier, the dry
    /// run and the CLI share.
    pub fn blocking_guards(&self, passes: GuardPasses) -> Vec<GuardViolation> {
        let passes = GuardPasses {
            allow_shortfall: passes.allow_shortfall || self.guard_settings.allow_shortfall,
            ..passes
        };
        self.guard_violations
            .iter()
            .filter(|g| !g.is_passed_by(passes))
            .cloned()
            .collect()
    }
}

impl Action {
    /// The group's `assignedLicenses` once this action has landed: `before` minus the removed
    /// SKUs, with the added SKU (and its `disabled_plans`, and on cloud-licensing its allotment)
    /// replacing every entry for the same SKU, whichever allotment it came from.
    ///
    /// The applier uses it to tell "already applied" (a rerun after a crash) from "moved by
    /// someone else" (a stale plan), and to check a write whose response was lost.
    pub fn expected_after(&self) -> Vec<AssignedLicense> {
        let removes = self.removes();
        let add = self.adds();
        let mut after: Vec<AssignedLicense> = self
            .before
            .iter()
            .filter(|l| !removes.contains(&l.sku_id) && Some(l.sku_id) != add)
            .cloned()
            .collect();
        if let Some(sku_id) = add {
            after.push(AssignedLicense {
                sku_id,
                disabled_plans: self.disabled_plans.clone(),
                allotment_id: self.allotment.as_ref().map(|a| a.id.clone()),
            });
        }
        after.sort();
        after
    }

    /// [`Fingerprint::of_group`] of [`Action::expected_after`].
    pub fn after_fingerprint(&self) -> Fingerprint {
        Fingerprint::of_group(self.group.id, &self.expected_after())
    }
}
