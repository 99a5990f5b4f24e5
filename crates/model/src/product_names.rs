//! The admin center's product names for the SKUs an admin meets around device licensing.
//!
//! Graph names a subscription by `skuPartNumber` (`OFFICE_PROPLUS_DEVICE1`) and `skuId`; the
//! Microsoft 365 admin center shows a product name ("Microsoft 365 Apps for enterprise
//! (device)"). devlic prints both, so an admin recognises what they bought. `subscribedSkus` has
//! no product-name field, so the names come from this table, checked against Microsoft's
//! "Product names and service plan identifiers for licensing" (MicrosoftDocs/entra-docs,
//! `docs/identity/users/licensing-service-plan-reference.md`, updated 2025-10-29). The table
//! holds the device SKUs and the user SKUs most often confused with them (the ones that carry
//! the same Office apps per user); any other SKU is shown by part number alone.

use crate::SkuId;
use crate::known_skus::{EDUCATION_DEVICE, ENTERPRISE_DEVICE};
use uuid::uuid;

/// One row: a part number, its id where the reference page lists it, and the product name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProductName {
    /// `subscribedSku.skuPartNumber`.
    pub part_number: &'static str,
    /// `subscribedSku.skuId`, when the reference page lists it.
    pub sku_id: Option<SkuId>,
    /// The product name the admin center shows.
    pub product: &'static str,
}

const fn row(part_number: &'static str, id: SkuId, product: &'static str) -> ProductName {
    ProductName {
        part_number,
        sku_id: Some(id),
        product,
    }
}

/// Every row. The device SKUs come from [`crate::known_skus`], so the two tables cannot
/// disagree. The Education device SKU is not on the reference page (see `known_skus`).
pub const PRODUCT_NAMES: &[ProductName] = &[
    row(
        ENTERPRISE_DEVICE.part_number,
        ENTERPRISE_DEVICE.sku_id,
        ENTERPRISE_DEVICE.product,
    ),
    row(
        EDUCATION_DEVICE.part_number,
        EDUCATION_DEVICE.sku_id,
        EDUCATION_DEVICE.product,
    ),
    row(
        "OFFICESUBSCRIPTION",
        SkuId(uuid!("c2273bd0-dff7-4215-9ef5-2c7bcfb06425")),
        "Microsoft 365 Apps for enterprise",
    ),
    row(
        "O365_BUSINESS",
        SkuId(uuid!("cdd28e44-67e3-425e-be4c-737fab2899d3")),
        "Microsoft 365 Apps for Business",
    ),
    row(
        "SMB_BUSINESS",
        SkuId(uuid!("b214fe43-f5a3-4703-beeb-fa97188220fc")),
        "Microsoft 365 Apps for Business",
    ),
    row(
        "OFFICESUBSCRIPTION_FACULTY",
        SkuId(uuid!("12b8c807-2e20-48fc-b453-542b6ee9d171")),
        "Microsoft 365 Apps for Faculty",
    ),
    row(
        "OFFICESUBSCRIPTION_STUDENT",
        SkuId(uuid!("c32f9321-a627-406d-a114-1f9c81aaafac")),
        "Microsoft 365 Apps for Students",
    ),
    row(
        "O365_BUSINESS_ESSENTIALS",
        SkuId(uuid!("3b555118-da6a-4418-894f-7df1e2096870")),
        "Microsoft 365 Business Basic",
    ),
    row(
        "O365_BUSINESS_PREMIUM",
        SkuId(uuid!("f245ecc8-75af-4f8e-b61f-27d8114de5f3")),
        "Microsoft 365 Business Standard",
    ),
    row(
        "SPB",
        SkuId(uuid!("cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46")),
        "Microsoft 365 Business Premium",
    ),
    row(
        "SPE_E3",
        SkuId(uuid!("05e9a617-0261-4cee-bb44-138d3ef5d965")),
        "Microsoft 365 E3",
    ),
    // The id of this row was not re-checked against the page; the part number identifies it.
    ProductName {
        part_number: "SPE_E5",
        sku_id: None,
        product: "Microsoft 365 E5",
    },
    row(
        "ENTERPRISEPACK",
        SkuId(uuid!("6fd2c87f-b296-42f0-b197-1e91e994b900")),
        "Office 365 E3",
    ),
];

/// The admin center's product name of a SKU: looked up by id first (part numbers are Graph's,
/// ids are stable), then by part number (case-insensitive).
pub fn product_name(id: SkuId, part_number: &str) -> Option<&'static str> {
    PRODUCT_NAMES
        .iter()
        .find(|r| r.sku_id == Some(id))
        .or_else(|| {
            PRODUCT_NAMES
                .iter()
                .find(|r| r.part_number.eq_ignore_ascii_case(part_number))
        })
        .map(|r| r.product)
}

/// How people read a SKU: `PART_NUMBER (Product name)` when the product is known, the part
/// number alone otherwise. Not sanitized: the part number comes from the tenant, so callers
/// pass the result through [`crate::display::sanitize`] like any data string.
pub fn sku_label(id: SkuId, part_number: &str) -> String {
    match product_name(id, part_number) {
        Some(product) if !product.eq_ignore_ascii_case(part_number) => {
            format!("{part_number} ({product})")
        }
        _ => part_number.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_by_id_then_part_number() {
        assert_eq!(
            sku_label(ENTERPRISE_DEVICE.sku_id, "OFFICE_PROPLUS_DEVICE1"),
            "OFFICE_PROPLUS_DEVICE1 (Microsoft 365 Apps for enterprise (device))"
        );
        // An id wins over a part number Microsoft may rename.
        assert_eq!(
            product_name(ENTERPRISE_DEVICE.sku_id, "RENAMED"),
            Some("Microsoft 365 Apps for enterprise (device)")
        );
        let unknown = SkuId(uuid!("00000000-0000-4000-8000-000000000009"));
        assert_eq!(product_name(unknown, "spe_e5"), Some("Microsoft 365 E5"));
        assert_eq!(sku_label(unknown, "CUSTOM_SKU"), "CUSTOM_SKU");
    }

    #[test]
    fn rows_are_unique() {
        for (i, a) in PRODUCT_NAMES.iter().enumerate() {
            for b in &PRODUCT_NAMES[i + 1..] {
                assert!(!a.part_number.eq_ignore_ascii_case(b.part_number));
                assert!(a.sku_id.is_none() || a.sku_id != b.sku_id);
            }
        }
    }
}
