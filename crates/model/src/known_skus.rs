//! The device SKUs devlic recognises without configuration.
//!
//! `subscribedSkus` has no "device" flag (`appliesTo` is documented only as `User`/`Company`), so
//! device SKUs are recognised by part number or id. A spec can declare more with
//! `settings.deviceSkus`.

use crate::SkuId;
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

/// Looks up a known device SKU by part number (case-insensitive) or id.
pub fn by_part_number(part: &str) -> Option<&'static KnownDeviceSku> {
    ALL.iter()
        .find(|s| s.part_number.eq_ignore_ascii_case(part))
}

/// Looks up a known device SKU by id.
pub fn by_id(id: SkuId) -> Option<&'static KnownDeviceSku> {
    ALL.iter().find(|s| s.sku_id == id)
}
