//! Group serialisation and the `assignLicense` body parser.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

use crate::license::LicenseView;
use crate::tenant::{AssignedLicense, Group};

/// Parses an `assignLicense` body; `Err(property)` names the invalid property.
pub(crate) fn parse_assign(
    body: &Value,
) -> Result<(Vec<AssignedLicense>, Vec<String>), &'static str> {
    let add = body
        .get("addLicenses")
        .and_then(Value::as_array)
        .ok_or("addLicenses")?;
    let remove = body
        .get("removeLicenses")
        .and_then(Value::as_array)
        .ok_or("removeLicenses")?;
    let guid = |v: &Value| {
        v.as_str()
            .filter(|s| uuid::Uuid::parse_str(s).is_ok())
            .map(str::to_ascii_lowercase)
    };
    let mut adds = Vec::new();
    for a in add {
        let sku = a.get("skuId").and_then(guid).ok_or("addLicenses")?;
        let plans = match a.get("disabledPlans") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(p)) => p
                .iter()
                .map(guid)
                .collect::<Option<Vec<_>>>()
                .ok_or("disabledPlans")?,
            Some(_) => return Err("disabledPlans"),
        };
        if adds.iter().any(|x: &AssignedLicense| x.sku_id == sku) {
            return Err("addLicenses");
        }
        adds.push(AssignedLicense {
            sku_id: sku,
            disabled_plans: plans,
            allotment_id: None,
        });
    }
    let removes = remove
        .iter()
        .map(guid)
        .collect::<Option<Vec<_>>>()
        .ok_or("removeLicenses")?;
    Ok((adds, removes))
}

/// A group as Graph serialises it: the properties `props` (canonical names, sorted and each
/// once, as [`super::groups`]' `check_select` returns them), written straight to the output.
/// The one description of a group's JSON: a listing page serialises it into its bytes, and
/// single answers turn it into a `Value` ([`GroupJson::to_value`]). Building a `serde_json`
/// map per group instead was most of the simulator's CPU in a 100,000-group listing.
pub(crate) struct GroupJson<'a> {
    pub(crate) group: &'a Group,
    pub(crate) view: &'a LicenseView,
    pub(crate) props: &'a [&'static str],
}

impl GroupJson<'_> {
    /// The same JSON as a `Value` (an object).
    pub(crate) fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// `assignedLicenses` items, keys in Graph's (sorted) order.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct LicenseJson<'a> {
    disabled_plans: &'a [String],
    sku_id: &'a str,
}

/// `licenseProcessingState`.
#[derive(serde::Serialize)]
struct StateJson {
    state: &'static str,
}

impl Serialize for GroupJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (g, view) = (self.group, self.view);
        let none: Option<()> = None;
        let empty: [(); 0] = [];
        let mut m = serializer.serialize_map(None)?;
        for &name in self.props {
            match name {
                "id" => m.serialize_entry(name, &g.id)?,
                "createdDateTime" | "renewedDateTime" => {
                    m.serialize_entry(name, &g.created_date_time)?;
                }
                "description" => m.serialize_entry(name, &g.description)?,
                "displayName" => m.serialize_entry(name, &g.display_name)?,
                "groupTypes" => m.serialize_entry(name, &g.group_types)?,
                "mail" => m.serialize_entry(name, &g.mail)?,
                "mailEnabled" => m.serialize_entry(name, &g.mail_enabled)?,
                "mailNickname" => m.serialize_entry(name, &g.mail_nickname)?,
                "membershipRule" => m.serialize_entry(name, &g.membership_rule)?,
                "membershipRuleProcessingState" => {
                    m.serialize_entry(name, &g.membership_rule_processing_state)?;
                }
                "securityEnabled" => m.serialize_entry(name, &g.security_enabled)?,
                "visibility" => m.serialize_entry(
                    name,
                    &g.group_types
                        .iter()
                        .any(|t| t == "Unified")
                        .then_some("Private"),
                )?,
                "assignedLicenses" => {
                    let licenses: Vec<LicenseJson<'_>> = view
                        .entries
                        .iter()
                        .map(|e| LicenseJson {
                            disabled_plans: &e.license.disabled_plans,
                            sku_id: &e.license.sku_id,
                        })
                        .collect();
                    m.serialize_entry(name, &licenses)?;
                }
                "licenseProcessingState" => {
                    m.serialize_entry(
                        name,
                        &StateJson {
                            state: view.state.as_str(),
                        },
                    )?;
                }
                "creationOptions"
                | "proxyAddresses"
                | "resourceBehaviorOptions"
                | "resourceProvisioningOptions"
                | "onPremisesProvisioningErrors"
                | "serviceProvisioningErrors" => m.serialize_entry(name, &empty)?,
                "deletedDateTime"
                | "classification"
                | "expirationDateTime"
                | "isAssignableToRole"
                | "onPremisesDomainName"
                | "onPremisesLastSyncDateTime"
                | "onPremisesNetBiosName"
                | "onPremisesSamAccountName"
                | "onPremisesSecurityIdentifier"
                | "onPremisesSyncEnabled"
                | "preferredDataLocation"
                | "preferredLanguage"
                | "securityIdentifier"
                | "theme" => m.serialize_entry(name, &none)?,
                // Known to filters only (`hasMembersWithLicenseErrors`): never returned.
                _ => {}
            }
        }
        m.end()
    }
}
