//! The device SKUs devlic recognises without configuration.
//!
//! `subscribedSkus` has no "device" flag (`appliesTo` is documented only as `User`/`Company`), so
//! device SKUs are recognised by part number or id. A spec can declare more with
//! `settings.deviceSkus`.

use crate::{ServicePlanId, SkuId};
use uuid::uuid;

/// One device SKU devlic knows out of the box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownDeviceSku {
    /// The product name the admin center shows.
    pub product: &'static str,
    /// `subscribedSku.skuPartNumber`.
    pub part_number: &'static str,
    /// `subscribedSku.skuId`.
    pub sku_id: SkuId,
    /// Friendly aliases accepted in a spec's `subscription` field.
    pub aliases: &'static [&'static str],
}

/// Microsoft 365 Apps for enterprise (device).
pub const ENTERPRISE_DEVICE: KnownDeviceSku = KnownDeviceSku {
    product: "Microsoft 365 Apps for enterprise (device)",
    part_number: "OFFICE_PROPLUS_DEVICE1",
    sku_id: SkuId(uuid!("ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7")),
    aliases: &[
        "m365-apps-enterprise-device",
        "m365-apps-device",
        "office-proplus-device",
    ],
};

/// Microsoft 365 Apps for Education (device). The part number and id are not confirmed by a
/// Microsoft source (see graph-reference.md); tenants that differ declare theirs in
/// `settings.deviceSkus`.
pub const EDUCATION_DEVICE: KnownDeviceSku = KnownDeviceSku {
    product: "Microsoft 365 Apps for Education (device)",
    part_number: "OFFICE_PROPLUS_DEVICE_EDUCATION",
    sku_id: SkuId(uuid!("e6564056-c8cb-4977-a87c-45c90fe87ea9")),
    aliases: &[
        "m365-apps-education-device",
        "office-proplus-device-education",
    ],
};

/// Every device SKU devlic knows.
pub const ALL: [KnownDeviceSku; 2] = [ENTERPRISE_DEVICE, EDUCATION_DEVICE];

/// Looks up a known device SKU by alias (case-insensitive).
pub fn by_alias(alias: &str) -> Option<&'static KnownDeviceSku> {
    ALL.iter()
        .find(|s| s.aliases.iter().any(|a| a.eq_ignore_ascii_case(alias)))
}

/// Looks up a known device SKU by the product name the admin center shows, as an admin would
/// copy or type it: case-insensitive, any run of spaces counting as one.
pub fn by_product(name: &str) -> Option<&'static KnownDeviceSku> {
    ALL.iter().find(|s| same_words(s.product, name))
}

/// The same words in the same order, ASCII case ignored, however much whitespace separates them.
/// Allocates nothing: the spec loader asks it for every entry.
fn same_words(a: &str, b: &str) -> bool {
    let (mut a, mut b) = (a.split_whitespace(), b.split_whitespace());
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) if x.eq_ignore_ascii_case(y) => {}
            _ => return false,
        }
    }
}

/// Looks up a known device SKU by part number (case-insensitive) or id.
pub fn by_part_number(part: &str) -> Option<&'static KnownDeviceSku> {
    ALL.iter()
        .find(|s| s.part_number.eq_ignore_ascii_case(part))
}

/// Looks up a known device SKU by id.
pub fn by_id(id: SkuId) -> Option<&'static KnownDeviceSku> {
    ALL.iter().find(|s| s.sku_id == id)
}

/// The service plan that carries the Office apps in Microsoft 365 Apps for enterprise (device)
/// (`OFFICE_PROPLUS_DEVICE`).
pub const OFFICE_DEVICE_PLAN: ServicePlanId =
    ServicePlanId(uuid!("3c994f28-87d5-4273-b07a-eb6190852599"));

/// Whether a service plan is the one that delivers the Office apps: disabling it in
/// `disabledPlans` takes Microsoft 365 Apps away from the devices while the license stays
/// assigned. Recognised by id, or by the part-number family Microsoft uses for it
/// (`OFFICE_PROPLUS*`, `OFFICESUBSCRIPTION*`).
pub fn is_office_apps_plan(id: ServicePlanId, name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    id == OFFICE_DEVICE_PLAN
        || upper.starts_with("OFFICE_PROPLUS")
        || upper.starts_with("OFFICESUBSCRIPTION")
}

/// How a spec (`settings.deviceSkus`, `subscription`) or a query names a SKU.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SkuSelector {
    /// By `skuId`.
    Id(SkuId),
    /// By `skuPartNumber` (compared case-insensitively).
    PartNumber(String),
}

impl SkuSelector {
    /// Whether this selector names the SKU with `id` and part number `part`.
    pub fn matches(&self, id: SkuId, part: &str) -> bool {
        match self {
            SkuSelector::Id(x) => *x == id,
            SkuSelector::PartNumber(p) => p.eq_ignore_ascii_case(part),
        }
    }
}

impl std::fmt::Display for SkuSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkuSelector::Id(id) => write!(f, "{id}"),
            SkuSelector::PartNumber(p) => f.write_str(p),
        }
    }
}

/// The one rule for "is this a device SKU": devlic knows it (by id or part number), or the spec
/// declares it in `settings.deviceSkus`. Every crate asks this function, so the planner, the
/// Graph reads, `export` and `skus` can never disagree.
pub fn is_device_sku(id: SkuId, part: &str, declared: &[SkuSelector]) -> bool {
    by_id(id).is_some()
        || by_part_number(part).is_some()
        || declared.iter().any(|s| s.matches(id, part))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_names_match_as_typed() {
        let typed = [
            "Microsoft 365 Apps for enterprise (device)",
            "microsoft 365 apps FOR enterprise (device)",
            "  Microsoft   365 Apps\tfor enterprise (device) ",
        ];
        for name in typed {
            assert_eq!(
                by_product(name).map(|k| k.part_number),
                Some(ENTERPRISE_DEVICE.part_number),
                "{name:?}"
            );
        }
        for other in [
            "Microsoft 365 Apps for enterprise",
            "Microsoft 365 Apps for enterprise (device) extra",
            "Microsoft365 Apps for enterprise (device)",
            "",
        ] {
            assert!(by_product(other).is_none(), "{other:?}");
        }
        // The spec loader asks by_product only about values with whitespace in them.
        assert!(
            ALL.iter().all(|s| s.product.split_whitespace().count() > 1),
            "a one-word product name would need devlic_spec::names::parse_sku to ask for it"
        );
    }

    #[test]
    fn device_sku_recognition() {
        let e3 = SkuId(uuid!("05e9a617-0261-4cee-bb44-138d3ef5d965"));
        assert!(is_device_sku(
            ENTERPRISE_DEVICE.sku_id,
            "renamed-by-microsoft",
            &[]
        ));
        assert!(is_device_sku(e3, "office_proplus_device_education", &[]));
        assert!(!is_device_sku(e3, "SPE_E3", &[]));
        assert!(is_device_sku(e3, "SPE_E3", &[SkuSelector::Id(e3)]));
        assert!(is_device_sku(
            e3,
            "SPE_E3",
            &[SkuSelector::PartNumber("spe_e3".to_owned())]
        ));
    }

    #[test]
    fn office_plan_recognition() {
        let other = ServicePlanId(uuid!("00000000-0000-4000-8000-000000000001"));
        assert!(is_office_apps_plan(OFFICE_DEVICE_PLAN, "renamed"));
        assert!(is_office_apps_plan(other, "office_proplus_device_edu"));
        assert!(is_office_apps_plan(other, "OFFICESUBSCRIPTION"));
        assert!(!is_office_apps_plan(other, "EXCHANGE_S_STANDARD"));
    }
}
