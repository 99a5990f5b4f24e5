//! Parsing of the names a spec uses: tenants, subscriptions, service plans, GUIDs.
//!
//! Each function returns the validated value, or the error kind plus a fix-it hint.

use devlic_model::{ServicePlanId, SkuId};
use devlic_model::{known_skus, product_names, suggest};

use crate::error::SpecErrorKind;
use crate::model::{PlanSelector, SkuSelector};

/// An error kind and its hint, before a location is attached.
pub(crate) type Problem = (SpecErrorKind, String);

const GUID_HELP: &str =
    "write the GUID as 8-4-4-4-12 hexadecimal digits, e.g. ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7";

/// Whether `s` was probably meant as a GUID: only hex digits and dashes, long enough.
pub(crate) fn looks_like_guid(s: &str) -> bool {
    s.len() >= 8 && s.contains('-') && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
        || s.len() == 36 && s.matches('-').count() == 4
}

/// The error for a malformed GUID.
pub(crate) fn invalid_guid(value: &str) -> Problem {
    (
        SpecErrorKind::InvalidGuid {
            value: value.to_owned(),
        },
        GUID_HELP.to_owned(),
    )
}

/// Whether `s` is a plain identifier as Graph uses for skuPartNumber and servicePlanName.
fn is_identifier(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Validates `tenant`: a GUID or a domain name.
pub(crate) fn parse_tenant(value: &str) -> Result<String, Problem> {
    let help = "use the tenant's GUID (Entra ID > Overview > Tenant ID) or one of its verified domains, e.g. contoso.onmicrosoft.com";
    if looks_like_guid(value) {
        return devlic_model::GroupId::parse(value)
            .map(|_| value.to_ascii_lowercase())
            .map_err(|_| invalid_guid(value));
    }
    let labels: Vec<&str> = value.split('.').collect();
    let valid_domain = value.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if valid_domain {
        Ok(value.to_ascii_lowercase())
    } else {
        Err((
            SpecErrorKind::InvalidTenant {
                value: value.to_owned(),
            },
            help.to_owned(),
        ))
    }
}

/// Resolves a `subscription` or `deviceSkus` entry: a skuId GUID, a known alias or the admin
/// center's product name (resolved to its part number), or a skuPartNumber. A value that is none
/// of these but close to a device SKU devlic knows gets "did you mean" in its hint.
pub(crate) fn parse_sku(value: &str) -> Result<SkuSelector, Problem> {
    if looks_like_guid(value) {
        return SkuId::parse(value)
            .map(SkuSelector::Id)
            .map_err(|_| invalid_guid(value));
    }
    // Every product name has several words: a value without whitespace is never one, and
    // nearly every spec entry is such a value (a part number).
    let product = || {
        value
            .contains(char::is_whitespace)
            .then(|| known_skus::by_product(value))
            .flatten()
    };
    if let Some(known) = known_skus::by_alias(value).or_else(product) {
        return Ok(SkuSelector::PartNumber(known.part_number.to_owned()));
    }
    if is_identifier(value) {
        // Known part numbers get their canonical spelling; others are kept as written and
        // compared case-insensitively by the planner.
        let part = known_skus::by_part_number(value)
            .map_or_else(|| value.to_owned(), |k| k.part_number.to_owned());
        return Ok(SkuSelector::PartNumber(part));
    }
    if let Some(product) = user_product(value) {
        return Err((
            SpecErrorKind::NotADeviceSku {
                value: value.to_owned(),
            },
            user_product_help(value, product),
        ));
    }
    let suggestion = did_you_mean(value);
    if value.contains('-') && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        let help = match suggestion {
            Some(k) => format!(
                "did you mean {}? Known aliases: {}",
                label(k),
                known_aliases()
            ),
            None => format!(
                "use a skuPartNumber, a skuId GUID, or a known alias: {}",
                known_aliases()
            ),
        };
        return Err((
            SpecErrorKind::UnknownAlias {
                value: value.to_owned(),
                suggestion: suggestion.map(|k| k.part_number.to_owned()),
            },
            help,
        ));
    }
    let help = match suggestion {
        Some(k) => format!(
            "did you mean {}? Write a skuPartNumber, a skuId GUID, the admin center's product \
             name, or a known alias",
            label(k)
        ),
        None => format!(
            "use a skuPartNumber such as OFFICE_PROPLUS_DEVICE1, a skuId GUID, the admin \
             center's product name (\"{}\"), or a known alias: {}",
            known_skus::ENTERPRISE_DEVICE.product,
            known_aliases()
        ),
    };
    Err((
        SpecErrorKind::InvalidSkuName {
            value: value.to_owned(),
        },
        help,
    ))
}

/// `OFFICE_PROPLUS_DEVICE1 (Microsoft 365 Apps for enterprise (device))`.
fn label(k: &known_skus::KnownDeviceSku) -> String {
    format!("{} ({})", k.part_number, k.product)
}

/// The known device SKU whose part number, alias or product name is close to `value` (see
/// [`devlic_model::suggest`]), if any.
fn did_you_mean(value: &str) -> Option<&'static known_skus::KnownDeviceSku> {
    let wanted = suggest::fold(value);
    known_skus::ALL
        .iter()
        .filter_map(|k| {
            std::iter::once(k.part_number)
                .chain(k.aliases.iter().copied())
                .chain(std::iter::once(k.product))
                .filter_map(|name| suggest::closeness(&wanted, name))
                .min()
                .map(|d| (d, k))
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// The product name of a user subscription the admin center shows (by part number or by
/// product name), when `value` names one.
fn user_product(value: &str) -> Option<&'static product_names::ProductName> {
    let wanted = suggest::fold(value);
    product_names::PRODUCT_NAMES.iter().find(|p| {
        known_skus::by_part_number(p.part_number).is_none()
            && (p.part_number.eq_ignore_ascii_case(value) || suggest::fold(p.product) == wanted)
    })
}

fn user_product_help(value: &str, product: &product_names::ProductName) -> String {
    let what = if product.part_number.eq_ignore_ascii_case(value) {
        format!("`{}` is {}", product.part_number, product.product)
    } else {
        format!("\"{}\" is {}", product.product, product.part_number)
    };
    let device = did_you_mean(product.product).unwrap_or(&known_skus::ENTERPRISE_DEVICE);
    format!(
        "{what}, a subscription licensed per user, not per device; did you mean {}? devlic \
         manages device subscriptions only",
        label(device)
    )
}

fn known_aliases() -> String {
    known_skus::ALL
        .iter()
        .flat_map(|k| k.aliases.iter())
        .map(|a| format!("`{a}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses a `disabledPlans` entry: a servicePlanId GUID or a servicePlanName.
pub(crate) fn parse_plan(value: &str) -> Result<PlanSelector, Problem> {
    if looks_like_guid(value) {
        return ServicePlanId::parse(value)
            .map(PlanSelector::Id)
            .map_err(|_| invalid_guid(value));
    }
    if is_identifier(value) {
        return Ok(PlanSelector::Name(value.to_owned()));
    }
    Err((
        SpecErrorKind::InvalidPlanName { value: value.to_owned() },
        "use the servicePlanName (letters, digits and `_`, e.g. OFFICE_PROPLUS_DEVICE) or the servicePlanId GUID".to_owned(),
    ))
}

/// Whether a subscription can be a device SKU given `settings.deviceSkus`.
///
/// Offline, a part number and an id cannot be matched to each other unless the SKU is known, so
/// an unknown extra entry of the other form gives the benefit of the doubt; the planner checks
/// against the tenant's real SKUs.
pub(crate) fn could_be_device_sku(sel: &SkuSelector, extra: &[SkuSelector]) -> bool {
    let unknown_extra_id = extra
        .iter()
        .any(|e| matches!(e, SkuSelector::Id(id) if known_skus::by_id(*id).is_none()));
    let unknown_extra_part = extra.iter().any(
        |e| matches!(e, SkuSelector::PartNumber(p) if known_skus::by_part_number(p).is_none()),
    );
    match sel {
        SkuSelector::PartNumber(p) => {
            known_skus::by_part_number(p).is_some()
                || extra
                    .iter()
                    .any(|e| matches!(e, SkuSelector::PartNumber(q) if q.eq_ignore_ascii_case(p)))
                || unknown_extra_id
        }
        SkuSelector::Id(id) => {
            known_skus::by_id(*id).is_some()
                || extra
                    .iter()
                    .any(|e| matches!(e, SkuSelector::Id(q) if q == id))
                || unknown_extra_part
        }
    }
}

/// The hint for a subscription that is not a device SKU: what it is when devlic knows it (a user
/// subscription), "did you mean" when it is close to a device SKU, the device SKUs otherwise.
pub(crate) fn not_a_device_sku_help(value: &str) -> String {
    if let Some(product) = user_product(value) {
        return user_product_help(value, product);
    }
    match did_you_mean(value) {
        // The service plan inside OFFICE_PROPLUS_DEVICE1 has almost the same name.
        Some(k) if value.eq_ignore_ascii_case("OFFICE_PROPLUS_DEVICE") => format!(
            "did you mean {}? `{value}` is the name of the service plan inside it",
            label(k)
        ),
        Some(k) => format!(
            "did you mean {}? If it is another device subscription, list it in \
             `settings.deviceSkus`",
            label(k)
        ),
        None => {
            let known: Vec<String> = known_skus::ALL.iter().map(label).collect();
            format!(
                "devlic manages device subscriptions only ({}); if this is a device \
                 subscription, list it in `settings.deviceSkus`",
                known.join(", ")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_every_form_of_subscription() {
        assert_eq!(
            parse_sku("m365-apps-education-device").ok(),
            Some(SkuSelector::PartNumber(
                "OFFICE_PROPLUS_DEVICE_EDUCATION".into()
            ))
        );
        assert_eq!(
            parse_sku("office_proplus_device1").ok(),
            Some(SkuSelector::PartNumber("OFFICE_PROPLUS_DEVICE1".into()))
        );
        assert!(matches!(
            parse_sku("ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7"),
            Ok(SkuSelector::Id(_))
        ));
        assert!(matches!(
            parse_sku("ea4c5ec8-50e3-4193-89b9-50da5bd4cdcz"),
            Err((SpecErrorKind::InvalidGuid { .. }, _))
        ));
        assert!(matches!(
            parse_sku("m365-apps-educaton-device"),
            Err((
                SpecErrorKind::UnknownAlias {
                    suggestion: Some(_),
                    ..
                },
                _
            ))
        ));
        assert!(matches!(
            parse_sku("two words"),
            Err((SpecErrorKind::InvalidSkuName { .. }, _))
        ));
    }

    #[test]
    fn admin_center_product_names_are_aliases() {
        for written in [
            "Microsoft 365 Apps for enterprise (device)",
            "  microsoft 365 apps  for ENTERPRISE (Device) ",
        ] {
            assert_eq!(
                parse_sku(written.trim()).ok(),
                Some(SkuSelector::PartNumber("OFFICE_PROPLUS_DEVICE1".into())),
                "{written}"
            );
        }
        assert_eq!(
            parse_sku("Microsoft 365 Apps for Education (device)").ok(),
            Some(SkuSelector::PartNumber(
                "OFFICE_PROPLUS_DEVICE_EDUCATION".into()
            ))
        );
    }

    #[test]
    fn near_misses_suggest_the_device_sku() {
        let (_, help) = parse_sku("Microsoft 365 Apps for enterprise device").unwrap_err();
        assert!(
            help.starts_with(
                "did you mean OFFICE_PROPLUS_DEVICE1 (Microsoft 365 Apps for enterprise (device))?"
            ),
            "{help}"
        );
        let (kind, help) = parse_sku("Office-ProPlus-Device1").unwrap_err();
        assert_eq!(
            kind,
            SpecErrorKind::UnknownAlias {
                value: "Office-ProPlus-Device1".into(),
                suggestion: Some("OFFICE_PROPLUS_DEVICE1".into())
            }
        );
        assert!(
            help.starts_with("did you mean OFFICE_PROPLUS_DEVICE1"),
            "{help}"
        );
        assert!(not_a_device_sku_help("OFFICE_PROPLUS_DEVICE").starts_with(
            "did you mean OFFICE_PROPLUS_DEVICE1 (Microsoft 365 Apps for enterprise (device))?"
        ));
        // A user subscription, by part number or by product name, says what it is.
        assert!(not_a_device_sku_help("spe_e3").starts_with("`SPE_E3` is Microsoft 365 E3"));
        let (kind, help) = parse_sku("Microsoft 365 Apps for enterprise").unwrap_err();
        assert!(matches!(kind, SpecErrorKind::NotADeviceSku { .. }));
        assert!(
            help.starts_with("\"Microsoft 365 Apps for enterprise\" is OFFICESUBSCRIPTION"),
            "{help}"
        );
        assert!(
            help.contains(
                "did you mean OFFICE_PROPLUS_DEVICE1 (Microsoft 365 Apps for enterprise (device))?"
            ),
            "{help}"
        );
    }

    #[test]
    fn tenants_are_guids_or_domains() {
        assert!(parse_tenant("contoso.onmicrosoft.com").is_ok());
        assert!(parse_tenant("6f1c2a3b-0d4e-4f5a-9b8c-7d6e5f4a3b2c").is_ok());
        assert!(parse_tenant("contoso").is_err());
        assert!(parse_tenant("6f1c2a3b-0d4e-4f5a-9b8c").is_err());
        assert!(parse_tenant("contoso..com").is_err());
    }

    #[test]
    fn unknown_extra_skus_give_the_benefit_of_the_doubt() {
        let user_sku = SkuSelector::PartNumber("SPE_E3".into());
        assert!(!could_be_device_sku(&user_sku, &[]));
        assert!(could_be_device_sku(
            &user_sku,
            &[SkuSelector::PartNumber("spe_e3".into())]
        ));
        let some_id = SkuId::parse("05e9a617-0261-4cee-bb44-138d3ef5d965").unwrap();
        assert!(could_be_device_sku(&user_sku, &[SkuSelector::Id(some_id)]));
    }
}
