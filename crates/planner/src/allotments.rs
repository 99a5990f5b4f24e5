//! The cloud-licensing backend's extra resolution step: which allotment each entry assigns from.
//!
//! An allotment is a pool of licenses of one SKU, usually one per subscription. A spec entry may
//! name one (`allotment:` by allotment id or by subscription id); otherwise the SKU must have
//! exactly one allotment assignable to devices. Anything else is an error listing the candidates,
//! never a guess: picking the wrong pool bills the wrong subscription.

use devlic_model::{Allotment, AllotmentRef, GroupId, LiveState, Sku, SkuId};
use devlic_spec::Assignment;

use crate::error::PlanError;
use crate::resolve::sku_ref;

/// A candidate allotment as error messages list it: `id (subscriptions …, assignable to …)`.
fn describe(a: &Allotment) -> String {
    let subs = if a.subscription_ids.is_empty() {
        "no subscription listed".to_owned()
    } else {
        format!("subscription {}", a.subscription_ids.join(", "))
    };
    format!(
        "{} ({subs}; assignable to {}; {} of {} units used)",
        a.id,
        if a.assignable_to.is_empty() {
            "nothing".to_owned()
        } else {
            a.assignable_to.join(",")
        },
        a.consumed_units,
        a.allotted_units
    )
}

/// Resolves the allotment a present entry for `sku` assigns from.
pub(crate) fn resolve(
    entry: &Assignment,
    sku: &Sku,
    live: &LiveState,
) -> Result<AllotmentRef, PlanError> {
    let of_sku: Vec<&Allotment> = live.allotments_of(sku.sku_id).collect();
    let candidates = || of_sku.iter().map(|a| describe(a)).collect::<Vec<_>>();
    if let Some(wanted) = &entry.allotment {
        let hit = of_sku.iter().find(|a| {
            a.id.eq_ignore_ascii_case(wanted)
                || a.subscription_ids
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(wanted))
        });
        return match hit {
            Some(a) if a.assignable_to_devices() => Ok(AllotmentRef::from(*a)),
            Some(a) => Err(PlanError::AllotmentNotForDevices {
                origin: entry.origin.clone(),
                sku: sku_ref(sku),
                allotment: describe(a),
            }),
            None => Err(PlanError::AllotmentNotFound {
                origin: entry.origin.clone(),
                sku: sku_ref(sku),
                requested: Some(wanted.clone()),
                candidates: candidates(),
            }),
        };
    }
    let for_devices: Vec<&&Allotment> = of_sku
        .iter()
        .filter(|a| a.assignable_to_devices())
        .collect();
    match for_devices.as_slice() {
        [one] => Ok(AllotmentRef::from(**one)),
        [] => Err(PlanError::AllotmentNotFound {
            origin: entry.origin.clone(),
            sku: sku_ref(sku),
            requested: None,
            candidates: candidates(),
        }),
        many => Err(PlanError::AmbiguousAllotment {
            origin: entry.origin.clone(),
            sku: sku_ref(sku),
            candidates: many.iter().map(|a| describe(a)).collect(),
        }),
    }
}

/// The allotment a group's current assignment of `sku` comes from, if the live state shows it.
pub(crate) fn source_of(live: &LiveState, group: GroupId, sku: SkuId) -> Option<&Allotment> {
    live.allotments_of(sku)
        .find(|a| a.assignments.iter().any(|x| x.group == group))
}
