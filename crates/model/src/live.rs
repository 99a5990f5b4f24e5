//! The observed state of a tenant: `LiveState`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::{Allotment, GroupId, ServicePlanId, SkuId};

/// What the tenant looks like, as far as device licensing is concerned.
///
/// Producers (the Graph reader and snapshot files) guarantee one invariant the planner relies on:
/// `groups` holds **every** group that currently holds a device SKU, and every group the spec names
/// (by id or by display name) that exists. A name the spec uses that matches no entry in `groups`
/// therefore does not exist in the tenant.
///
/// The serde derives are for in-process use (tests, benchmarks); they are not a file format.
/// Snapshot files go through the versioned `devlic_planner::wire::snapshot::SnapshotV1`, so a
/// field added here does not change what older snapshot files mean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveState {
    /// The tenant that was read.
    pub tenant: TenantInfo,
    /// Where this state came from.
    pub source: StateSource,
    /// When it was read.
    pub taken_at: jiff::Timestamp,
    /// `subscribedSkus`: every SKU the tenant has (device or not).
    pub skus: Vec<Sku>,
    /// Groups keyed by id (see the type-level invariant).
    pub groups: BTreeMap<GroupId, Group>,
    /// The beta `cloudLicensing` allotments (device SKUs only), when the state was read for the
    /// cloud-licensing backend; empty otherwise. Absent in older snapshots.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allotments: Vec<Allotment>,
    /// The backend this state was read for and why (`settings.backend: auto` decides from the
    /// tenant's allotments). `None` in states of older snapshots and in hand-made states.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<crate::BackendChoice>,
}

impl LiveState {
    /// The SKU with this id, if the tenant has it.
    pub fn sku(&self, id: SkuId) -> Option<&Sku> {
        self.skus.iter().find(|s| s.sku_id == id)
    }

    /// Groups whose display name equals `name` (Graph compares display names case-insensitively).
    pub fn groups_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Group> + 'a {
        self.groups
            .values()
            .filter(move |g| g.display_name.eq_ignore_ascii_case(name))
    }

    /// The allotments of one SKU.
    pub fn allotments_of(&self, sku: SkuId) -> impl Iterator<Item = &Allotment> + '_ {
        self.allotments.iter().filter(move |a| a.sku_id == sku)
    }

    /// Sets [`LiveState::allotments`] and replaces every group's `assigned_licenses` by its
    /// cloudLicensing assignments (SKU, disabled plans and allotment), sorted. The one place the
    /// cloud view of a group is built, for a live read and for a snapshot alike, so a plan and a
    /// saved plan's stale check compare the same thing. Groups with no assignment hold nothing.
    pub fn set_cloud_view(&mut self, allotments: Vec<Allotment>) {
        let mut held: BTreeMap<GroupId, Vec<AssignedLicense>> = BTreeMap::new();
        for a in &allotments {
            for x in &a.assignments {
                held.entry(x.group).or_default().push(AssignedLicense {
                    sku_id: a.sku_id,
                    disabled_plans: x.disabled_plans.clone(),
                    allotment_id: Some(a.id.clone()),
                });
            }
        }
        for (id, g) in &mut self.groups {
            let mut licenses = held.remove(id).unwrap_or_default();
            licenses.sort();
            g.assigned_licenses = licenses;
        }
        self.allotments = allotments;
    }

    /// Fills the missing `allotment_id` of cloud-licensing licenses from
    /// [`LiveState::allotments`]: each license without one takes the first allotment of its SKU
    /// with an assignment to the group that no other license of the group has taken. For states
    /// recorded before licenses carried their allotment (older snapshots).
    pub fn attach_allotment_ids(&mut self) {
        for g in self.groups.values_mut() {
            let mut taken: Vec<String> = g
                .assigned_licenses
                .iter()
                .filter_map(|l| l.allotment_id.clone())
                .collect();
            for l in g
                .assigned_licenses
                .iter_mut()
                .filter(|l| l.allotment_id.is_none())
            {
                let found = self.allotments.iter().find(|a| {
                    a.sku_id == l.sku_id
                        && !taken.contains(&a.id)
                        && a.assignments.iter().any(|x| x.group == g.id)
                });
                if let Some(a) = found {
                    taken.push(a.id.clone());
                    l.allotment_id = Some(a.id.clone());
                }
            }
            g.assigned_licenses.sort();
        }
    }
}

/// The tenant a state or plan belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantInfo {
    /// The tenant (directory) id, a GUID.
    pub id: String,
    /// The organization's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Verified domains, e.g. `contoso.onmicrosoft.com`.
    #[serde(default)]
    pub domains: Vec<String>,
}

impl TenantInfo {
    /// True when `name` is this tenant's id or one of its verified domains (case-insensitive).
    pub fn matches(&self, name: &str) -> bool {
        self.id.eq_ignore_ascii_case(name)
            || self.domains.iter().any(|d| d.eq_ignore_ascii_case(name))
    }
}

/// Where a [`LiveState`] came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "kind"
)]
pub enum StateSource {
    /// Read from Microsoft Graph just now.
    Graph {
        /// The Graph root that was read, e.g. `https://graph.microsoft.com`.
        graph_url: String,
    },
    /// Loaded from a snapshot file written by `devlic snapshot` (offline planning).
    Snapshot {
        /// The Graph root the snapshot was read from.
        graph_url: String,
    },
}

impl StateSource {
    /// True for snapshot (offline) states.
    pub fn is_offline(&self) -> bool {
        matches!(self, StateSource::Snapshot { .. })
    }
}

/// One `subscribedSku`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sku {
    /// `skuId`.
    pub sku_id: SkuId,
    /// `skuPartNumber`, e.g. `OFFICE_PROPLUS_DEVICE1`.
    pub sku_part_number: String,
    /// `capabilityStatus`.
    pub capability_status: CapabilityStatus,
    /// `consumedUnits`.
    pub consumed_units: u64,
    /// `prepaidUnits`.
    pub prepaid_units: PrepaidUnits,
    /// `servicePlans` (needed to resolve `disabledPlans` names).
    #[serde(default)]
    pub service_plans: Vec<ServicePlan>,
    /// `appliesTo` (`User` or `Company`), when Graph gave it: evidence that a SKU declared in
    /// `settings.deviceSkus` is really for users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applies_to: Option<String>,
}

impl Sku {
    /// Whether Graph says this subscription is for users: the SKU's `appliesTo` is `User`, or
    /// every service plan's is. Device subscriptions apply to `Company`.
    pub fn is_for_users(&self) -> bool {
        let user =
            |a: &Option<String>| a.as_deref().is_some_and(|v| v.eq_ignore_ascii_case("User"));
        user(&self.applies_to)
            || (!self.service_plans.is_empty()
                && self.service_plans.iter().all(|p| user(&p.applies_to)))
    }
}

impl Sku {
    /// Enabled prepaid units minus consumed units (negative when over-consumed).
    pub fn available(&self) -> i64 {
        i64::try_from(self.prepaid_units.enabled).unwrap_or(i64::MAX)
            - i64::try_from(self.consumed_units).unwrap_or(i64::MAX)
    }
}

/// `subscribedSku.capabilityStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CapabilityStatus {
    /// Active.
    Enabled,
    /// In its grace period after expiry.
    Warning,
    /// Suspended: licenses do not work.
    Suspended,
    /// Deleted.
    Deleted,
    /// Locked out.
    LockedOut,
}

/// `subscribedSku.prepaidUnits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrepaidUnits {
    /// Units that can be assigned.
    pub enabled: u64,
    /// Units in a suspended subscription.
    #[serde(default)]
    pub suspended: u64,
    /// Units in a subscription in warning.
    #[serde(default)]
    pub warning: u64,
    /// Units locked out.
    #[serde(default)]
    pub locked_out: u64,
}

/// One service plan of a SKU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePlan {
    /// `servicePlanId`.
    pub service_plan_id: ServicePlanId,
    /// `servicePlanName`.
    pub service_plan_name: String,
    /// `appliesTo` (`User` or `Company`), when Graph gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applies_to: Option<String>,
}

/// A display name as Graph compares display names: ASCII case ignored. Compares and hashes
/// without a lowercased copy, so an index of a tenant's names borrows them (the planner's name
/// lookup, the live read's "which names are still unknown").
#[derive(Debug, Clone, Copy)]
pub struct CaselessName<'a>(pub &'a str);

impl PartialEq for CaselessName<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(other.0)
    }
}

impl Eq for CaselessName<'_> {}

impl std::hash::Hash for CaselessName<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // Lowercased a piece at a time on the stack: names equal under `eq` have equal lengths,
        // so they are cut at the same places and hash the same bytes.
        let mut buf = [0u8; 64];
        for chunk in self.0.as_bytes().chunks(buf.len()) {
            let lower = &mut buf[..chunk.len()];
            lower.copy_from_slice(chunk);
            lower.make_ascii_lowercase();
            state.write(lower);
        }
        // Like `str`'s own hash: a terminator, so ("ab", "c") and ("a", "bc") differ in tuples.
        state.write_u8(0xff);
    }
}

/// A group as devlic needs to see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// Object id.
    pub id: GroupId,
    /// `displayName` (not unique in Entra ID).
    pub display_name: String,
    /// `securityEnabled`.
    pub security_enabled: bool,
    /// `mailEnabled`.
    pub mail_enabled: bool,
    /// `groupTypes` (`Unified` = Microsoft 365 group, `DynamicMembership`).
    #[serde(default)]
    pub group_types: Vec<String>,
    /// `assignedLicenses`.
    #[serde(default)]
    pub assigned_licenses: Vec<AssignedLicense>,
    /// `licenseProcessingState`, when read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_processing_state: Option<ProcessingState>,
    /// Member counts, when read (devlic reads them only for groups a plan may touch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<MemberCounts>,
    /// Members with license errors, when read. `None` = not read; `Some(empty)` = none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_errors: Option<Vec<LicenseErrorMember>>,
}

impl Group {
    /// What kind of group this is, from `groupTypes`, `securityEnabled` and `mailEnabled`.
    pub fn kind(&self) -> GroupKind {
        if self
            .group_types
            .iter()
            .any(|t| t.eq_ignore_ascii_case("Unified"))
        {
            GroupKind::Microsoft365
        } else if self.security_enabled && self.mail_enabled {
            GroupKind::MailEnabledSecurity
        } else if self.security_enabled {
            GroupKind::Security
        } else {
            GroupKind::Distribution
        }
    }

    /// The device SKUs (among `device_skus`) this group holds.
    pub fn held<'a>(
        &'a self,
        device_skus: &'a BTreeSet<SkuId>,
    ) -> impl Iterator<Item = &'a AssignedLicense> + 'a {
        self.assigned_licenses
            .iter()
            .filter(|l| device_skus.contains(&l.sku_id))
    }
}

/// What kind of group a group is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum GroupKind {
    /// A security group: what device licensing expects.
    Security,
    /// A mail-enabled security group: works, but the device licensing docs advise against it.
    MailEnabledSecurity,
    /// A distribution list.
    Distribution,
    /// A Microsoft 365 (Unified) group: not supported for device licensing.
    Microsoft365,
}

/// One entry of `assignedLicenses`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignedLicense {
    /// `skuId`.
    pub sku_id: SkuId,
    /// `disabledPlans` (service plan ids), kept sorted.
    #[serde(default)]
    pub disabled_plans: BTreeSet<ServicePlanId>,
    /// cloud-licensing only: the allotment the group's assignment draws from. A group may hold
    /// one SKU from two allotments while it moves between them, and which allotment it holds
    /// is part of its state (a move changes nothing else). `None` on group-licensing, whose
    /// `assignedLicenses` has no such field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allotment_id: Option<String>,
}

/// `group.licenseProcessingState.state`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProcessingState {
    /// Queued.
    QueuedForProcessing,
    /// Being processed.
    ProcessingInProgress,
    /// Done (members may still have errors).
    ProcessingComplete,
    /// A value Graph added after this version of devlic.
    #[serde(untagged)]
    Other(String),
}

impl ProcessingState {
    /// True when the last license change has been fully processed.
    pub fn is_complete(&self) -> bool {
        matches!(self, ProcessingState::ProcessingComplete)
    }
}

/// Member counts of a group (transitive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberCounts {
    /// Devices.
    pub devices: u64,
    /// Users, service principals, contacts: anything that is neither a device nor a group.
    pub non_devices: u64,
    /// Nested groups.
    pub groups: u64,
}

/// A member of a group whose license could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LicenseErrorMember {
    /// Object id of the member.
    pub id: String,
    /// `@odata.type` without the `#microsoft.graph.` prefix, e.g. `device`.
    pub kind: String,
    /// Display name, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Error code (`CountViolation`, `MutuallyExclusiveViolation`, …), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::CaselessName;
    use std::collections::HashSet;

    #[test]
    fn caseless_names_match_and_hash_alike_ignoring_ascii_case_only() {
        let long =
            "Lab PCs - Physics and Chemistry - Building 7 - Floor 3 - Room 12 - Carts A to F";
        let upper = long.to_ascii_uppercase();
        let set: HashSet<CaselessName<'_>> = [CaselessName(long)].into();
        assert!(set.contains(&CaselessName(&upper)), "past 64 bytes too");
        assert!(set.contains(&CaselessName(long)));
        assert!(!set.contains(&CaselessName(&long[..long.len() - 1])));
        assert_ne!(CaselessName("Écoles"), CaselessName("écoles"));
        assert_eq!(
            CaselessName("KIOSKS - Front Desk"),
            CaselessName("kiosks - front desk")
        );
    }
}
