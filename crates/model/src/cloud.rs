//! The beta `cloudLicensing` view of a tenant: allotments and their group assignments.
//!
//! Only the cloud-licensing backend fills these; the group-licensing backend leaves
//! [`crate::LiveState::allotments`] empty.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::{GroupId, ServicePlanId, SkuId};

/// One `microsoft.graph.cloudLicensing.allotment`: a pool of licenses of one SKU, backed by one
/// or more subscriptions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Allotment {
    /// The allotment's opaque id.
    pub id: String,
    /// `skuId`.
    pub sku_id: SkuId,
    /// `skuPartNumber`.
    pub sku_part_number: String,
    /// `allottedUnits`: licenses in the pool.
    pub allotted_units: u64,
    /// `consumedUnits`: licenses in use from the pool.
    pub consumed_units: u64,
    /// `assignableTo`, split and lower-cased (`user`, `group`, `device`, …).
    #[serde(default)]
    pub assignable_to: Vec<String>,
    /// `subscriptions[].subscriptionId`.
    #[serde(default)]
    pub subscription_ids: Vec<String>,
    /// The assignments of this allotment to groups (assignments to users are left out).
    #[serde(default)]
    pub assignments: Vec<AllotmentAssignment>,
}

impl Allotment {
    /// True when `assignableTo` includes `device`.
    pub fn assignable_to_devices(&self) -> bool {
        self.assignable_to
            .iter()
            .any(|t| t.eq_ignore_ascii_case("device"))
    }

    /// Allotted minus consumed units (negative when over-consumed).
    pub fn available(&self) -> i64 {
        i64::try_from(self.allotted_units).unwrap_or(i64::MAX)
            - i64::try_from(self.consumed_units).unwrap_or(i64::MAX)
    }

    /// A short human name: the SKU part number and the first subscription id, or the id.
    pub fn label(&self) -> String {
        match self.subscription_ids.first() {
            Some(s) => format!("{} (subscription {s})", self.sku_part_number),
            None => format!("{} (allotment {})", self.sku_part_number, self.id),
        }
    }
}

/// One `microsoft.graph.cloudLicensing.assignment` of an allotment to a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AllotmentAssignment {
    /// The assignment's opaque id.
    pub id: String,
    /// The group it licenses (`assignedTo`).
    pub group: GroupId,
    /// `disabledServicePlanIds`.
    #[serde(default)]
    pub disabled_plans: BTreeSet<ServicePlanId>,
}

/// The allotment an action assigns from, as recorded in a plan.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllotmentRef {
    /// The allotment's opaque id (what `allotment@odata.bind` points to).
    pub id: String,
    /// The subscriptions behind it, for people.
    #[serde(default)]
    pub subscription_ids: Vec<String>,
}

impl From<&Allotment> for AllotmentRef {
    fn from(a: &Allotment) -> AllotmentRef {
        AllotmentRef {
            id: a.id.clone(),
            subscription_ids: a.subscription_ids.clone(),
        }
    }
}
