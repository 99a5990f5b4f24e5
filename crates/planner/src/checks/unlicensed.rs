//! Device outcomes: which groups of the spec have devices Graph could not license.

use devlic_model::{LiveState, Unlicensed, license_errors};
use devlic_spec::DesiredState;

use super::gref;
use crate::actions::Core;

/// Every `state: present` group of the spec with members Graph reports as unlicensed, sorted by
/// group name then id. Needs the groups' `license_errors` read (the CLI reads them for every
/// group Graph lists with license errors); a group whose errors were not read is not reported.
pub(crate) fn unlicensed(live: &LiveState, core: &Core<'_>) -> Vec<Unlicensed> {
    let mut out: Vec<Unlicensed> = core
        .resolved
        .iter()
        .filter(|r| r.entry.state == DesiredState::Present)
        .filter_map(|r| {
            let errors = r.group.license_errors.as_ref()?;
            // A member without a code most likely did not fit: say so when the subscription the
            // group holds has no free unit.
            let exhausted = r
                .group
                .held(&core.device.ids)
                .filter_map(|l| live.sku(l.sku_id))
                .any(|s| s.available() <= 0);
            let causes = license_errors::summarize(errors, exhausted);
            let devices: u64 = causes.iter().map(|c| c.devices).sum();
            (devices > 0).then(|| Unlicensed {
                group: gref(r.group),
                sku: r.sku.map(crate::resolve::sku_ref),
                devices,
                causes,
            })
        })
        .collect();
    out.sort_by_cached_key(|u| (u.group.display_name.to_lowercase(), u.group.id));
    out.dedup_by_key(|u| u.group.id);
    out
}
