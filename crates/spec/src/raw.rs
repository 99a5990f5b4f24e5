//! The spec as written: serde types that mirror the YAML one to one.
//!
//! These types keep every value's location ([`At`], a compact `Spanned`) so the semantic checks
//! in `check.rs` can point at the exact line and column. They are also the source of the JSON Schema: the doc
//! comments below become the schema's descriptions (what editors show on hover), so they are
//! written for the people who edit spec files.
//!
//! Every struct denies unknown fields, and no struct uses `flatten` or untagged enums: both make
//! serde buffer values, which loses serde-saphyr's locations.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_saphyr::Spanned;

use crate::parse::Loc;

/// A devlic spec file: which Entra ID groups hold which Microsoft 365 Apps device subscription.
///
/// A spec is one file, or a folder of `*.yaml`/`*.yml` files that are merged (each file starts
/// with `apiVersion` and `kind`; `tenant` and `settings` may be written in any one of them).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "devlic spec")]
pub(crate) struct RawFile {
    /// The spec format version. Always `devlic/v1`.
    // Read by serde only: deserializing it is the check (an unknown version is an error).
    #[allow(dead_code)]
    #[schemars(with = "ApiVersion")]
    pub api_version: At<ApiVersion>,
    /// The kind of document. Always `DeviceLicenses`.
    #[allow(dead_code)]
    #[schemars(with = "Kind")]
    pub kind: At<Kind>,
    /// The tenant this spec is for: its GUID or one of its verified domains (for example
    /// `contoso.onmicrosoft.com`). `devlic plan` refuses to run against any other tenant.
    /// Omit it to allow any tenant.
    #[schemars(with = "Option<String>", length(min = 1))]
    pub tenant: Option<At<String>>,
    /// How devlic plans and applies this spec. Write it in one file only.
    #[schemars(with = "Option<RawSettings>")]
    pub settings: Option<At<RawSettings>>,
    /// The groups and the device subscription each one holds. A group may appear once in the
    /// whole spec (across all files) and hold one device subscription.
    #[schemars(with = "Option<Vec<RawAssignment>>")]
    pub assignments: Option<Vec<At<RawAssignment>>>,
}

/// The spec format version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub(crate) enum ApiVersion {
    /// Version 1 of the devlic spec format.
    #[serde(rename = "devlic/v1")]
    V1,
}

/// The kind of document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub(crate) enum Kind {
    /// Device license assignments.
    DeviceLicenses,
}

/// `settings`: how devlic plans and applies the spec.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "Settings")]
pub(crate) struct RawSettings {
    /// Revoke the device subscriptions devlic manages from every group this spec does not list.
    /// Default `false`: such groups are only reported.
    #[schemars(with = "Option<bool>")]
    pub prune: Option<At<bool>>,
    /// The most revocations a plan may contain before it needs `--allow-revoke`. Default `0`:
    /// every revocation needs it.
    pub max_revocations: Option<u64>,
    /// Revocations touching more than this percentage of all device-licensed devices need
    /// `--allow-revoke`, whatever `maxRevocations` says. Default `25`.
    #[schemars(with = "Option<u8>", range(min = 0, max = 100))]
    pub max_revoke_percent: Option<At<u64>>,
    /// Allow an empty `assignments` list together with `prune: true` (which revokes every
    /// device subscription in the tenant). Default `false`.
    pub allow_empty: Option<bool>,
    /// Apply a plan that leaves a device subscription (or allotment) without enough units for
    /// the devices it licenses, without `--allow-shortfall`. The devices that do not fit stay
    /// without Microsoft 365 Apps. Default `false`: such a plan is refused.
    pub allow_shortfall: Option<bool>,
    /// What a plan does when one device subscription is assigned to more than one group of the
    /// spec: `warn` (the default), `error`, or `off`. Microsoft's device-based licensing docs
    /// say a device license can be assigned to only one group, and suggest nesting groups within
    /// that one group.
    #[schemars(with = "Option<RawOneGroup>")]
    pub one_group_per_subscription: Option<At<RawOneGroup>>,
    /// Device subscriptions devlic does not know yet, by skuPartNumber or skuId GUID. devlic
    /// knows `OFFICE_PROPLUS_DEVICE1` and `OFFICE_PROPLUS_DEVICE_EDUCATION` already.
    #[schemars(with = "Option<Vec<String>>")]
    pub device_skus: Option<Vec<At<String>>>,
    /// The Microsoft Graph API that carries the assignments: `auto` (the default: devlic reads
    /// the tenant's beta cloudLicensing allotments and uses `cloud-licensing` when every
    /// subscription the spec assigns has an allotment assignable to devices, `group-licensing`
    /// otherwise; the plan says which and why), `group-licensing` (v1.0 `assignLicense`) or
    /// `cloud-licensing` (beta allotments).
    #[schemars(with = "Option<RawBackend>")]
    pub backend: Option<At<RawBackend>>,
}

/// `settings.oneGroupPerSubscription`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(rename = "OneGroupPerSubscription")]
pub(crate) enum RawOneGroup {
    /// The plan warns and suggests nesting the groups in one (default).
    Warn,
    /// The plan is an error.
    Error,
    /// No check.
    Off,
}

/// The Microsoft Graph API that carries the assignments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(rename = "Backend")]
pub(crate) enum RawBackend {
    /// Choose from the tenant's evidence (default): `cloud-licensing` when the tenant exposes
    /// an allotment assignable to devices for every subscription the spec assigns.
    Auto,
    /// Graph v1.0 `groups/{id}/assignLicense`.
    GroupLicensing,
    /// Graph beta `admin/cloudLicensing` allotments and group assignments.
    CloudLicensing,
}

/// One group and the device subscription it holds.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "Assignment")]
pub(crate) struct RawAssignment {
    /// The Entra ID group: its display name (which must match exactly one group) or
    /// `{id: GUID}` (its object id).
    #[schemars(with = "RawGroup")]
    pub group: At<RawGroup>,
    /// The device subscription: a skuPartNumber (`OFFICE_PROPLUS_DEVICE1`), a skuId GUID, an
    /// alias (`m365-apps-enterprise-device`, `m365-apps-education-device`), or the admin center's
    /// product name (`Microsoft 365 Apps for enterprise (device)`). Required unless
    /// `state: absent`.
    #[schemars(with = "Option<String>", extend("examples" = [
        "OFFICE_PROPLUS_DEVICE1",
        "OFFICE_PROPLUS_DEVICE_EDUCATION",
        "m365-apps-enterprise-device",
        "m365-apps-education-device",
        "Microsoft 365 Apps for enterprise (device)"
    ]))]
    pub subscription: Option<At<String>>,
    /// cloud-licensing only: the allotment to assign from (its id, or its subscription id) when
    /// the subscription has several.
    #[schemars(with = "Option<String>", length(min = 1))]
    pub allotment: Option<At<String>>,
    /// Service plans of the subscription to turn off for this group, by servicePlanName or
    /// servicePlanId GUID.
    #[schemars(with = "Option<Vec<String>>")]
    pub disabled_plans: Option<Vec<At<String>>>,
    /// `present` (default): the group holds the subscription. `absent`: the group holds no
    /// device subscription; devlic revokes it even with `prune: false`.
    #[schemars(with = "Option<RawState>")]
    pub state: Option<At<RawState>>,
    /// Free text for reviewers: why this group holds this subscription.
    pub description: Option<String>,
}

/// Whether the group holds the subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(rename = "State")]
pub(crate) enum RawState {
    /// The group holds the subscription.
    Present,
    /// The group holds no device subscription.
    Absent,
}

/// How an assignment names its group, as written.
///
/// Hand-written `Deserialize` instead of `#[serde(untagged)]`: untagged enums buffer their input,
/// which loses the location of the `id` value and turns every mistake into "data did not match
/// any variant".
#[derive(Debug)]
pub(crate) enum RawGroup {
    /// `group: "Kiosks - Front Desk"`.
    Name(String),
    /// `group: {id: 1a2b3c4d-...}`.
    Id(At<String>),
}

impl<'de> Deserialize<'de> for RawGroup {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct GroupVisitor;

        impl<'de> Visitor<'de> for GroupVisitor {
            type Value = RawGroup;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a group display name or {id: GUID}")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawGroup, E> {
                Ok(RawGroup::Name(v.to_owned()))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawGroup, A::Error> {
                let mut id: Option<At<String>> = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key != "id" {
                        return Err(de::Error::unknown_field(&key, &["id"]));
                    }
                    // Duplicate keys never reach here: serde-saphyr rejects them first.
                    id = Some(map.next_value()?);
                }
                id.map(RawGroup::Id)
                    .ok_or_else(|| de::Error::missing_field("id"))
            }
        }

        deserializer.deserialize_any(GroupVisitor)
    }
}

/// The regular expression of a hyphenated GUID, as Graph writes ids.
pub(crate) const GUID_PATTERN: &str =
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

impl JsonSchema for RawGroup {
    fn schema_name() -> Cow<'static, str> {
        "Group".into()
    }

    fn json_schema(_generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "The Entra ID group: its display name (which must match exactly one group) or {id: GUID} (its object id).",
            "oneOf": [
                {
                    "type": "string",
                    "minLength": 1,
                    "description": "The group's display name, exactly as Entra ID shows it."
                },
                {
                    "type": "object",
                    "properties": {
                        "id": {
                            "type": "string",
                            "pattern": GUID_PATTERN,
                            "description": "The group's object id (a GUID)."
                        }
                    },
                    "required": ["id"],
                    "additionalProperties": false
                }
            ]
        })
    }
}

/// A value and where it is written: serde-saphyr's [`Spanned`], kept small. `Spanned` carries
/// two full locations (where a value is referenced and where an anchor defined it, 96 bytes);
/// the checks need only the first, and a 10,000-entry spec holds about 70,000 of these, so the
/// raw spec of such a file shrinks from about 8 MB to under 3 MB.
#[derive(Debug)]
pub(crate) struct At<T> {
    pub value: T,
    pub referenced: Place,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for At<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // serde-saphyr recognises `Spanned` itself and fills in its locations.
        let spanned = Spanned::<T>::deserialize(deserializer)?;
        Ok(At {
            value: spanned.value,
            referenced: Place::from(Loc::from_yaml(spanned.referenced)),
        })
    }
}

/// A [`Loc`] in 20 bytes: 1-based line and column, and the byte span when known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Place {
    line: u32,
    column: u32,
    span: Option<(u32, u32)>,
}

impl From<Loc> for Place {
    fn from(loc: Loc) -> Place {
        // Spec files are at most MAX_FILE_BYTES (far below 4 GiB): every offset fits.
        let span = loc.span.and_then(|r| {
            let start = u32::try_from(r.start).ok()?;
            let len = u32::try_from(r.end.saturating_sub(r.start)).ok()?;
            Some((start, len))
        });
        Place {
            line: loc.line,
            column: loc.column,
            span,
        }
    }
}

impl From<Place> for Loc {
    fn from(place: Place) -> Loc {
        Loc {
            line: place.line,
            column: place.column,
            span: place.span.map(|(start, len)| {
                let start = start as usize;
                start..start.saturating_add(len as usize)
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_place_keeps_what_a_loc_says() {
        for loc in [
            Loc::start(),
            Loc {
                line: 12,
                column: 7,
                span: Some(310..334),
            },
            Loc {
                line: 3,
                column: 1,
                span: Some(40..40),
            },
        ] {
            assert_eq!(Loc::from(Place::from(loc.clone())), loc);
        }
        assert!(std::mem::size_of::<At<()>>() <= 20);
    }
}
