//! One group per device subscription.
//!
//! Microsoft's device-based licensing page for Microsoft 365 Apps (MicrosoftDocs/
//! OfficeDocs-DeployOffice, `DeployOffice/device-based-licensing.md`) says a device license can
//! be assigned to only one group, and that groups can be nested within that one group. A spec
//! that gives one subscription to several groups is therefore warned about (or refused, with
//! `settings.oneGroupPerSubscription: error`), with nesting as the suggested fix.

use std::collections::{BTreeMap, BTreeSet};

use devlic_model::{
    AllotmentRef, Backend, GroupId, GroupRef, LiveState, SkuId, SkuRef, Warning, WarningKind,
};
use devlic_spec::{DesiredState, Origin};

use super::gref;
use crate::actions::Core;
use crate::error::PlanError;
use crate::resolve::sku_ref;

/// One device subscription the spec assigns to more than one group.
pub(crate) struct SharedSubscription {
    /// The subscription.
    pub sku: SkuRef,
    /// On cloud-licensing, when the product has several allotments, the one shared: two
    /// allotments of one SKU are two subscriptions, each of which may go to its own group.
    pub allotment: Option<AllotmentRef>,
    /// The groups, in spec order, with the entry that names each.
    pub groups: Vec<(GroupRef, Origin)>,
}

/// Every subscription the spec's present entries give to more than one group, by SKU id (and
/// on cloud-licensing by allotment; an entry whose allotment does not resolve is reported by
/// the allotment check and left out here). Linear in the entries (a set of the groups seen per
/// subscription): a spec of 10,000 groups on one subscription is an ordinary spec, and a scan
/// of the groups kept so far made this check quadratic, a fifth of a steady 10,000-group plan's
/// CPU.
pub(crate) fn shared_subscriptions(
    core: &Core<'_>,
    live: &LiveState,
    backend: Backend,
) -> Vec<SharedSubscription> {
    type Key = (SkuId, Option<String>);
    let mut by_sku: BTreeMap<Key, (SharedSubscription, BTreeSet<GroupId>)> = BTreeMap::new();
    for r in &core.resolved {
        let (DesiredState::Present, Some(sku), true) = (r.entry.state, r.sku, r.complete) else {
            continue;
        };
        let allotment = if backend.uses_allotments() {
            match crate::allotments::resolve(r.entry, sku, live) {
                Ok(a) => Some(a),
                Err(_) => continue,
            }
        } else {
            None
        };
        let key = (sku.sku_id, allotment.as_ref().map(|a| a.id.clone()));
        // The warning names the allotment only where the product has several.
        let allotment = allotment.filter(|_| live.allotments_of(sku.sku_id).count() > 1);
        let (shared, seen) = by_sku.entry(key).or_insert_with(|| {
            (
                SharedSubscription {
                    sku: sku_ref(sku),
                    allotment,
                    groups: Vec::new(),
                },
                BTreeSet::new(),
            )
        });
        if seen.insert(r.group.id) {
            shared.groups.push((gref(r.group), r.entry.origin.clone()));
        }
    }
    by_sku
        .into_values()
        .map(|(shared, _)| shared)
        .filter(|s| s.groups.len() > 1)
        .collect()
}

fn a_label(a: &AllotmentRef) -> String {
    crate::render::allotment_label(a)
}

fn by_name(groups: &[(GroupRef, Origin)]) -> Vec<(GroupRef, Origin)> {
    let mut sorted = groups.to_vec();
    sorted.sort_by_cached_key(|(g, _)| (g.display_name.to_lowercase(), g.id));
    sorted
}

fn names(groups: &[(GroupRef, Origin)]) -> String {
    groups
        .iter()
        .map(|(g, _)| format!("\"{}\"", g.display_name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The warning for one shared subscription (groups by name, so the spec's order does not
/// matter). Nesting is the fix the device-based licensing docs give, where the backend licenses
/// nested members ([`Backend::licenses_nested_members`]); group-licensing (v1.0 group-based
/// licensing, entra-docs `licensing-group-advanced.md`) does not, so there the fix is one group
/// holding the devices.
pub(crate) fn warning(shared: &SharedSubscription, backend: Backend) -> Warning {
    let fix = if backend.licenses_nested_members() {
        "nest the others in one group and assign it there"
    } else {
        "put the devices in one group (group-licensing does not reach members of nested groups)"
    };
    Warning {
        kind: WarningKind::SubscriptionInSeveralGroups,
        group: None,
        sku: Some(shared.sku.clone()),
        message: format!(
            "{} is assigned to {} groups ({}); Microsoft's device-based licensing docs allow one \
             group per device subscription: {fix} (or set settings.oneGroupPerSubscription: \
             error to refuse such plans)",
            match &shared.allotment {
                Some(a) => format!("{} ({})", shared.sku.sku_part_number, a_label(a)),
                None => shared.sku.sku_part_number.clone(),
            },
            shared.groups.len(),
            names(&by_name(&shared.groups))
        ),
    }
}

/// The errors for one shared subscription: one per group after the first.
pub(crate) fn errors(shared: &SharedSubscription) -> Vec<PlanError> {
    let Some(((first, _), rest)) = shared.groups.split_first() else {
        return Vec::new();
    };
    rest.iter()
        .map(|(group, origin)| PlanError::SubscriptionInSeveralGroups {
            origin: origin.clone(),
            sku: shared.sku.clone(),
            group: group.display_name.clone(),
            first: first.display_name.clone(),
        })
        .collect()
}
