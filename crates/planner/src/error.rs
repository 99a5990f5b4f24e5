//! Resolution errors: why a spec cannot be planned against a tenant.
//!
//! The planner never stops at the first problem: it resolves every spec entry and returns all the
//! errors at once ([`PlanErrors`]), so a reviewer fixes a spec in one round trip.

use std::fmt;

use devlic_model::{Backend, GroupId, GroupRef, SkuRef};
use devlic_spec::Origin;

/// One reason a spec cannot be planned. Each variant names the spec entry ([`Origin`]) it comes
/// from, when there is one, and [`PlanError::help`] says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The spec pins a tenant (`tenant:`) other than the one the live state was read from.
    /// Planning one tenant's spec against another tenant could revoke licenses there, so this is
    /// an error, never a warning.
    #[error(
        "the spec is for tenant `{spec_tenant}`, but the live state is from tenant {live_tenant_id}{}",
        live_display_name.as_deref().map(|n| format!(" ({n})")).unwrap_or_default()
    )]
    TenantMismatch {
        /// The spec's `tenant` value.
        spec_tenant: String,
        /// The id of the tenant that was read.
        live_tenant_id: String,
        /// Its display name, when known.
        live_display_name: Option<String>,
        /// Its verified domains (any of them, or the id, would match).
        live_domains: Vec<String>,
    },

    /// No group in the tenant has this display name. `suggestions` are the closest names the
    /// tenant has (case, spaces and dashes ignored, then a small edit distance; see
    /// `devlic_model::suggest`), the same from a live read as from a snapshot.
    #[error("{origin}: no group is named \"{name}\"{}", did_you_mean(suggestions))]
    GroupNameNotFound {
        /// The spec entry.
        origin: Origin,
        /// The display name the spec uses.
        name: String,
        /// Up to three display names of the tenant close to `name`, closest first.
        suggestions: Vec<String>,
    },

    /// No group has this exact display name, but one does once invisible characters
    /// (zero-width, other format characters) and unusual spaces (no-break, thin, ...) are
    /// removed from both: the two names look the same and are not. Never matched silently.
    #[error(
        "{origin}: no group is named \"{name}\" exactly; group \"{tenant_name}\" looks the same \
         but differs in invisible characters or unusual spaces"
    )]
    LookalikeGroupName {
        /// The spec entry.
        origin: Origin,
        /// The display name the spec uses.
        name: String,
        /// The tenant's group name that looks the same.
        tenant_name: String,
    },

    /// Several groups share this display name (display names are not unique in Entra ID).
    #[error(
        "{origin}: {} groups are named \"{name}\": {}",
        candidates.len(),
        join_ids(candidates)
    )]
    AmbiguousGroupName {
        /// The spec entry.
        origin: Origin,
        /// The display name the spec uses.
        name: String,
        /// The ids of every group with that name, sorted.
        candidates: Vec<GroupId>,
    },

    /// No group in the tenant has this object id.
    #[error("{origin}: no group has the id {id}")]
    GroupIdNotFound {
        /// The spec entry.
        origin: Origin,
        /// The id the spec uses.
        id: GroupId,
    },

    /// Two spec entries name the same group (for example once by name and once by id).
    #[error(
        "{origin}: this entry and the one at {first_origin} both resolve to group \"{display_name}\" ({id})"
    )]
    DuplicateGroup {
        /// The later spec entry.
        origin: Origin,
        /// The earlier spec entry naming the same group.
        first_origin: Origin,
        /// The group's id.
        id: GroupId,
        /// The group's display name.
        display_name: String,
    },

    /// The subscription is not one of the tenant's `subscribedSkus`.
    #[error("{origin}: the tenant has no subscription `{subscription}`")]
    SubscriptionNotInTenant {
        /// The spec entry.
        origin: Origin,
        /// The subscription as written (part number or skuId).
        subscription: String,
        /// The device SKUs the tenant has.
        device_skus: Vec<SkuRef>,
    },

    /// The subscription exists in the tenant but is not a device SKU (for example a user SKU such
    /// as `SPE_E3`).
    #[error("{origin}: `{subscription}` is not a device subscription")]
    NotADeviceSku {
        /// The spec entry.
        origin: Origin,
        /// The subscription as written.
        subscription: String,
        /// The device SKUs the tenant has.
        device_skus: Vec<SkuRef>,
    },

    /// A `disabledPlans` entry names no service plan of the subscription.
    #[error("{origin}: `{plan}` is not a service plan of {}", sku.sku_part_number)]
    UnknownDisabledPlan {
        /// The spec entry.
        origin: Origin,
        /// The service plan as written (name or id).
        plan: String,
        /// The subscription it was looked up in.
        sku: SkuRef,
        /// The service plan names that SKU has, sorted.
        known: Vec<String>,
    },

    /// A group the plan must change holds several device SKUs, which one `assignLicense` call in
    /// devlic's plan cannot untangle (the admin center allows one device subscription per group).
    #[error(
        "{}group \"{display_name}\" ({id}) holds {} device subscriptions: {}",
        origin.as_ref().map(|o| format!("{o}: ")).unwrap_or_default(),
        skus.len(),
        skus.iter().map(|s| s.sku_part_number.as_str()).collect::<Vec<_>>().join(", ")
    )]
    ConflictingDeviceSkus {
        /// The spec entry, or `None` when the group is pruned (not in the spec).
        origin: Option<Origin>,
        /// The group's id.
        id: GroupId,
        /// The group's display name.
        display_name: String,
        /// The device SKUs it holds.
        skus: Vec<SkuRef>,
    },

    /// cloud-licensing: no allotment of the SKU matches the entry's `allotment`, or (when the
    /// entry names none) the SKU has no allotment assignable to devices.
    #[error(
        "{origin}: {}",
        match requested {
            Some(r) => format!("no allotment of {} has the id or subscription id `{r}`", sku.sku_part_number),
            None => format!("{} has no allotment assignable to devices", sku.sku_part_number),
        }
    )]
    AllotmentNotFound {
        /// The spec entry.
        origin: Origin,
        /// The SKU.
        sku: SkuRef,
        /// The entry's `allotment`, when it names one.
        requested: Option<String>,
        /// Every allotment of the SKU, described.
        candidates: Vec<String>,
    },

    /// cloud-licensing: the SKU has several allotments assignable to devices and the entry does
    /// not say which one to use.
    #[error(
        "{origin}: {} has {} allotments assignable to devices; name one with `allotment:`",
        sku.sku_part_number,
        candidates.len()
    )]
    AmbiguousAllotment {
        /// The spec entry.
        origin: Origin,
        /// The SKU.
        sku: SkuRef,
        /// The allotments assignable to devices, described.
        candidates: Vec<String>,
    },

    /// cloud-licensing: the allotment the entry names cannot be assigned to devices.
    #[error("{origin}: allotment {allotment} of {} is not assignable to devices", sku.sku_part_number)]
    AllotmentNotForDevices {
        /// The spec entry.
        origin: Origin,
        /// The SKU.
        sku: SkuRef,
        /// The allotment, described.
        allotment: String,
    },

    /// A saved plan adds or removes a subscription that is not a device subscription of the
    /// tenant: it was not made by devlic from a spec, or it was edited.
    #[error(
        "the saved plan's action on \"{}\" ({}) uses {} ({}), which is not a device subscription of this tenant",
        group.display_name,
        group.id,
        sku.sku_part_number,
        sku.sku_id
    )]
    SavedPlanNotDeviceSku {
        /// The group of the action.
        group: GroupRef,
        /// The subscription.
        sku: SkuRef,
    },

    /// `settings.deviceSkus` declares a subscription that Graph says is for users.
    #[error(
        "`{}` is declared in settings.deviceSkus, but the tenant shows it is a user subscription ({evidence})",
        sku.sku_part_number
    )]
    UserSkuDeclaredAsDevice {
        /// The subscription.
        sku: SkuRef,
        /// What Graph says, e.g. `appliesTo: User`.
        evidence: String,
    },

    /// `settings.oneGroupPerSubscription: error`: the entry gives a device subscription to a
    /// second group. Microsoft's device-based licensing docs allow one group per subscription.
    #[error(
        "{origin}: {} is already assigned to \"{}\"; a device subscription can be assigned to only one group",
        sku.sku_part_number,
        first
    )]
    SubscriptionInSeveralGroups {
        /// The spec entry of the extra group.
        origin: Origin,
        /// The subscription.
        sku: SkuRef,
        /// The extra group's display name.
        group: String,
        /// The display name of the first group the spec gives the subscription to.
        first: String,
    },

    /// The entry names an `allotment`, but the plan goes through group-licensing (chosen by
    /// `settings.backend: auto`), which has no allotments.
    #[error("{origin}: `allotment` is set, but devlic chose group-licensing: {reason}")]
    AllotmentWithoutCloudLicensing {
        /// The spec entry.
        origin: Origin,
        /// Why group-licensing was chosen.
        reason: String,
    },

    /// The entry changes `disabledPlans` of a subscription the group already holds, and the
    /// backend cannot change them in place.
    #[error(
        "{origin}: changing the disabled plans of {} on \"{}\" is not supported by the {backend} backend",
        sku.sku_part_number,
        group.display_name
    )]
    UpdateNotSupported {
        /// The spec entry.
        origin: Origin,
        /// The group.
        group: GroupRef,
        /// The SKU whose plans would change.
        sku: SkuRef,
        /// The backend in use.
        backend: Backend,
    },
}

/// `; did you mean "A" or "B"?`, or nothing without suggestions. Names come from the tenant, so
/// they are quoted the way the error quotes the spec's name; renderers sanitize the message.
fn did_you_mean(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => format!("; did you mean \"{one}\"?"),
        [init @ .., last] => format!(
            "; did you mean {} or \"{last}\"?",
            init.iter()
                .map(|n| format!("\"{n}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn join_ids(ids: &[GroupId]) -> String {
    ids.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn list_skus(skus: &[SkuRef]) -> String {
    if skus.is_empty() {
        "the tenant has no device subscription".to_owned()
    } else {
        let names: Vec<String> = skus
            .iter()
            .map(
                |s| match devlic_model::product_name(s.sku_id, &s.sku_part_number) {
                    Some(product) => format!("{} ({product}, {})", s.sku_part_number, s.sku_id),
                    None => format!("{} ({})", s.sku_part_number, s.sku_id),
                },
            )
            .collect();
        format!(
            "the tenant's device subscriptions are: {}",
            names.join(", ")
        )
    }
}

impl PlanError {
    /// The spec entry the error is about, when there is one.
    pub fn origin(&self) -> Option<&Origin> {
        match self {
            PlanError::TenantMismatch { .. }
            | PlanError::UserSkuDeclaredAsDevice { .. }
            | PlanError::SavedPlanNotDeviceSku { .. } => None,
            PlanError::ConflictingDeviceSkus { origin, .. } => origin.as_ref(),
            PlanError::GroupNameNotFound { origin, .. }
            | PlanError::LookalikeGroupName { origin, .. }
            | PlanError::AmbiguousGroupName { origin, .. }
            | PlanError::GroupIdNotFound { origin, .. }
            | PlanError::DuplicateGroup { origin, .. }
            | PlanError::SubscriptionNotInTenant { origin, .. }
            | PlanError::NotADeviceSku { origin, .. }
            | PlanError::UnknownDisabledPlan { origin, .. }
            | PlanError::AllotmentNotFound { origin, .. }
            | PlanError::AmbiguousAllotment { origin, .. }
            | PlanError::AllotmentNotForDevices { origin, .. }
            | PlanError::UpdateNotSupported { origin, .. }
            | PlanError::AllotmentWithoutCloudLicensing { origin, .. }
            | PlanError::SubscriptionInSeveralGroups { origin, .. } => Some(origin),
        }
    }

    /// How to fix it, in one or two sentences.
    pub fn help(&self) -> String {
        match self {
            PlanError::TenantMismatch {
                live_tenant_id,
                live_domains,
                ..
            } => {
                let mut accepted = vec![live_tenant_id.clone()];
                accepted.extend(live_domains.iter().cloned());
                format!(
                    "sign in to the tenant the spec is for, or, if the spec really is for this \
                     tenant, set `tenant:` to one of: {}",
                    accepted.join(", ")
                )
            }
            PlanError::GroupNameNotFound { .. } => "check the spelling (names are compared \
                 case-insensitively), create the group first (devlic never creates groups), or \
                 name it by id with `group: {id: GUID}`"
                .to_owned(),
            PlanError::LookalikeGroupName { .. } => "copy the name from the Entra admin center \
                 into the spec (the escapes show where they differ), or name the group by id \
                 with `group: {id: GUID}`"
                .to_owned(),
            PlanError::AmbiguousGroupName { candidates, .. } => format!(
                "name the group by id instead, e.g. `group: {{id: {}}}`",
                candidates
                    .first()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            ),
            PlanError::GroupIdNotFound { .. } => "check the id (the group's Object ID in the \
                 Entra admin center); the group may have been deleted"
                .to_owned(),
            PlanError::DuplicateGroup { .. } => {
                "keep one entry per group: a group may hold only one device subscription".to_owned()
            }
            PlanError::SubscriptionNotInTenant { device_skus, .. }
            | PlanError::NotADeviceSku { device_skus, .. } => format!(
                "use a device subscription ({}); declare other device SKUs under \
                 `settings.deviceSkus`",
                list_skus(device_skus)
            ),
            PlanError::UnknownDisabledPlan { known, .. } => {
                if known.is_empty() {
                    "the subscription lists no service plans; remove `disabledPlans` or name \
                     plans by id"
                        .to_owned()
                } else {
                    format!("use one of: {}", known.join(", "))
                }
            }
            PlanError::ConflictingDeviceSkus { .. } => "remove all but one device subscription \
                 from the group in the Microsoft 365 admin center, then plan again"
                .to_owned(),
            PlanError::AllotmentNotFound { candidates, .. }
            | PlanError::AmbiguousAllotment { candidates, .. } => {
                if candidates.is_empty() {
                    "the tenant shows no allotment of this SKU: check that the live state was \
                     read for the cloud-licensing backend, or use `settings.backend: \
                     group-licensing`"
                        .to_owned()
                } else {
                    format!(
                        "set `allotment:` to the id or subscription id of one of: {}",
                        candidates.join("; ")
                    )
                }
            }
            PlanError::AllotmentNotForDevices { .. } => "name an allotment whose assignableTo \
                 includes `device` (the admin center shows them under Billing > Licenses)"
                .to_owned(),
            PlanError::SavedPlanNotDeviceSku { .. } => "plan again from the spec and apply that \
                 file unchanged; if the spec declares this SKU in settings.deviceSkus, pass \
                 --spec PATH so devlic can check the declaration"
                .to_owned(),
            PlanError::UserSkuDeclaredAsDevice { .. } => "remove it from settings.deviceSkus: \
                 licensing a device group with a user subscription licenses no device (devices \
                 need Microsoft 365 Apps for enterprise (device) or for Education (device))"
                .to_owned(),
            PlanError::SubscriptionInSeveralGroups { group, first, .. } => format!(
                "move the devices of \"{}\" into \"{}\" (on cloud-licensing, nesting the group \
                 there is enough) and remove this entry, or set \
                 settings.oneGroupPerSubscription: warn",
                group, first
            ),
            PlanError::AllotmentWithoutCloudLicensing { .. } => "remove `allotment` (the plan \
                 says why the tenant was not planned for cloud-licensing), or set \
                 `settings.backend: cloud-licensing`"
                .to_owned(),
            PlanError::UpdateNotSupported { .. } => "keep the group's current `disabledPlans` \
                 in the spec, change them in the Microsoft 365 admin center (Billing > Licenses > \
                 the subscription > the group > Apps), or use a backend that can update them"
                .to_owned(),
        }
    }
}

/// Every resolution error of one planning run, in a deterministic order (spec entries in file
/// order, then errors without an origin).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanErrors {
    /// The errors; never empty when returned by [`crate::plan`].
    pub errors: Vec<PlanError>,
}

impl PlanErrors {
    /// Number of errors.
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// True when there is no error (never the case for a returned `PlanErrors`).
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Iterates over the errors.
    pub fn iter(&self) -> std::slice::Iter<'_, PlanError> {
        self.errors.iter()
    }
}

impl<'a> IntoIterator for &'a PlanErrors {
    type Item = &'a PlanError;
    type IntoIter = std::slice::Iter<'a, PlanError>;
    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

impl fmt::Display for PlanErrors {
    /// One error per line, each followed by an indented `help:` line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "error: {e}\n  help: {}", e.help())?;
        }
        Ok(())
    }
}

impl std::error::Error for PlanErrors {}
