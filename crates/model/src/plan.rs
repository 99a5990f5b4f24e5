//! What the planner decided: `Plan`, `Action`, `Warning`.
//!
//! These are core types. The versioned JSON wire format (`PlanV1`) lives in the planner crate and
//! maps onto these, so the on-disk format can stay stable while the core evolves.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    AllotmentRef, AssignedLicense, GroupId, ServicePlanId, SkuId, StateSource, TenantInfo,
};

/// Which Graph API carries the license assignments.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// Graph v1.0 `groups/{id}/assignLicense` (default).
    #[default]
    GroupLicensing,
    /// Graph beta `admin/cloudLicensing` allotments and group assignments.
    CloudLicensing,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::GroupLicensing => "group-licensing",
            Backend::CloudLicensing => "cloud-licensing",
        })
    }
}

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
            ActionKind::Assign | ActionKind::Update => Vec::new(),
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum GuardViolation {
    /// More revocations than `settings.maxRevocations`; pass with `--allow-revoke`.
    MaxRevocations {
        /// Revocations in the plan.
        revocations: u64,
        /// The configured maximum.
        max: u64,
    },
    /// Revocations would touch more than the allowed share of all licensed devices.
    RevokeShare {
        /// Devices losing a license.
        devices: u64,
        /// Devices licensed with device SKUs before the plan.
        licensed: u64,
        /// The allowed share, in percent.
        max_percent: u8,
    },
    /// The spec has no assignments but `prune` is on, and `allowEmpty` is not set.
    EmptySpec,
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
            }
        }
        s
    }

    /// Total number of actions.
    pub fn total(&self) -> u64 {
        self.assign + self.revoke + self.swap + self.update
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
    /// [`Fingerprint::combine`] of every action's `before_fingerprint`, in action order.
    pub fingerprint: Fingerprint,
}

impl Plan {
    /// Counts per action kind.
    pub fn summary(&self) -> PlanSummary {
        PlanSummary::of(&self.actions)
    }

    /// True when there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }
}

impl Action {
    /// The group's `assignedLicenses` once this action has landed: `before` minus the removed
    /// SKUs, with the added SKU (and its `disabled_plans`) replacing any entry for the same SKU.
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
