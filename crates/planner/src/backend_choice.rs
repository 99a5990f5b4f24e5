//! `settings.backend: auto`: which backend a plan goes through, chosen from the tenant's
//! evidence, and why.
//!
//! The evidence is one read, `GET /beta/admin/cloudLicensing/allotments`
//! (microsoft-graph-docs-contrib `api-reference/beta/api/cloudlicensing-admincloudlicensing-list-allotments.md`).
//! An allotment is "an independently manageable pool of licenses supported by a subscription";
//! its `assignableTo` (`none`, `user`, `group`, `device`, comma-separated) says which directory
//! objects it can be assigned to (`api-reference/beta/resources/cloudlicensing-allotment.md`).
//! cloudLicensing is the only route Microsoft documents for device licenses; the v1.0
//! `groups/{id}/assignLicense` page says a group's licenses go to the users in the group. So
//! devlic uses cloud-licensing when every subscription the spec assigns has an allotment
//! assignable to devices, and otherwise group-licensing with a warning that says so.

use devlic_model::{
    AllotmentEvidence, Backend, BackendChoice, BackendSetting, LiveState, SkuSelector, Warning,
    WarningKind, is_device_sku,
};
use devlic_spec::{DesiredState, Spec};

/// Chooses the backend for `spec` (or for the whole tenant when there is no spec, as
/// `devlic snapshot` without a spec) from what the allotments read showed.
///
/// cloud-licensing when every subscription the spec's present entries assign has an allotment
/// whose `assignableTo` includes `device` (a spec that assigns nothing: when any device
/// subscription has one); group-licensing otherwise, and when the read answered 403 or 404.
pub fn choose_backend(spec: Option<&Spec>, evidence: &AllotmentEvidence) -> BackendChoice {
    let group = |reason: String| BackendChoice {
        backend: Backend::GroupLicensing,
        reason,
        automatic: true,
    };
    let allotments = match evidence {
        AllotmentEvidence::Unavailable { status, code } => {
            return group(format!(
                "GET /beta/admin/cloudLicensing/allotments answered {status}{}: the tenant does \
                 not expose cloudLicensing allotments to this identity",
                code.as_deref().map(|c| format!(" {c}")).unwrap_or_default()
            ));
        }
        AllotmentEvidence::Listed(a) => a,
    };
    let for_devices: Vec<_> = allotments
        .iter()
        .filter(|a| a.assignable_to_devices())
        .collect();
    let mut wanted: Vec<&SkuSelector> = Vec::new();
    for a in spec.iter().flat_map(|s| &s.assignments) {
        if let (DesiredState::Present, Some(sel)) = (a.state, &a.subscription)
            && !wanted.contains(&sel)
        {
            wanted.push(sel);
        }
    }
    if wanted.is_empty() {
        let declared = spec.map_or(&[][..], |s| &s.settings.device_skus[..]);
        return match for_devices
            .iter()
            .find(|a| is_device_sku(a.sku_id, &a.sku_part_number, declared))
        {
            Some(a) => BackendChoice {
                backend: Backend::CloudLicensing,
                reason: allotments_found(&[&a.sku_part_number]),
                automatic: true,
            },
            None => group(allotments_missing(
                "a device subscription",
                allotments.len(),
            )),
        };
    }
    let missing: Vec<String> = wanted
        .iter()
        .filter(|sel| {
            !for_devices
                .iter()
                .any(|a| sel.matches(a.sku_id, &a.sku_part_number))
        })
        .map(ToString::to_string)
        .collect();
    // Named by part number, once each (a spec may name one SKU by id and by part number).
    let mut names: Vec<&str> = for_devices
        .iter()
        .filter(|a| {
            wanted
                .iter()
                .any(|sel| sel.matches(a.sku_id, &a.sku_part_number))
        })
        .map(|a| a.sku_part_number.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    if missing.is_empty() {
        BackendChoice {
            backend: Backend::CloudLicensing,
            reason: allotments_found(&names),
            automatic: true,
        }
    } else {
        group(allotments_missing(&missing.join(", "), allotments.len()))
    }
}

/// Why cloud-licensing was chosen: the subscriptions (part numbers) with an allotment assignable
/// to devices. The one wording for a live plan, a snapshot (which records the choice without a
/// spec) and a plan made from that snapshot.
fn allotments_found(part_numbers: &[&str]) -> String {
    format!(
        "the tenant has a cloudLicensing allotment assignable to devices for {}",
        part_numbers.join(", ")
    )
}

/// Why group-licensing was chosen although allotments were listed: `what` has none assignable
/// to devices.
fn allotments_missing(what: &str, listed: usize) -> String {
    format!(
        "the tenant has no cloudLicensing allotment assignable to devices for {what} ({listed} \
         allotment(s) listed)"
    )
}

/// The backend `spec` is planned for against `live`: the spec's (or `--backend`'s) fixed backend,
/// else the choice recorded when `live` was read, else (an older snapshot) a choice from the
/// allotments it holds.
pub(crate) fn for_plan(spec: &Spec, live: &LiveState) -> BackendChoice {
    match spec.settings.backend {
        BackendSetting::Fixed(b) => match &live.backend {
            // The reader recorded why it was fixed (`--backend`, or the spec).
            Some(c) if c.backend == b && !c.automatic => c.clone(),
            _ => BackendChoice {
                backend: b,
                reason: format!("set by settings.backend: {b}"),
                automatic: false,
            },
        },
        BackendSetting::Auto => match &live.backend {
            Some(c) => c.clone(),
            None if live.allotments.is_empty() => BackendChoice {
                backend: Backend::GroupLicensing,
                reason: "the state records no backend choice and no cloudLicensing allotments \
                         (a snapshot taken by an older devlic, or for group-licensing)"
                    .to_owned(),
                automatic: true,
            },
            None => choose_backend(
                Some(spec),
                &AllotmentEvidence::Listed(live.allotments.clone()),
            ),
        },
    }
}

/// The warning a plan carries when devlic chose group-licensing by itself.
pub(crate) fn warning(choice: &BackendChoice) -> Option<Warning> {
    (choice.automatic && choice.backend == Backend::GroupLicensing).then(|| Warning {
        kind: WarningKind::UndocumentedBackend,
        group: None,
        sku: None,
        message: format!(
            "devlic chose group-licensing because {}. Microsoft documents no v1.0 assignLicense \
             for device subscriptions (the group assignLicense and group-based licensing pages \
             say a group's licenses go to the users in it); the documented route for device \
             licenses is the beta cloudLicensing API. Set `settings.backend: group-licensing` to \
             make this choice explicit, or `cloud-licensing` once the tenant exposes allotments \
             assignable to devices",
            choice.reason
        ),
    })
}
