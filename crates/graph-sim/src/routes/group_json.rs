//! Group serialisation and the `assignLicense` body parser.

use serde_json::{Value, json};

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

/// One property of a group as Graph returns it, by its canonical name (`None` for a name the
/// simulator does not return, such as the filter-only `hasMembersWithLicenseErrors`). Built one
/// property at a time: a listing renders only what `$select` asks for, which for devlic's reads
/// is four of the three dozen properties.
pub(crate) fn group_property(g: &Group, view: &LicenseView, name: &str) -> Option<Value> {
    Some(match name {
        "id" => json!(g.id),
        "createdDateTime" | "renewedDateTime" => json!(g.created_date_time),
        "description" => json!(g.description),
        "displayName" => json!(g.display_name),
        "groupTypes" => json!(g.group_types),
        "mail" => json!(g.mail),
        "mailEnabled" => json!(g.mail_enabled),
        "mailNickname" => json!(g.mail_nickname),
        "membershipRule" => json!(g.membership_rule),
        "membershipRuleProcessingState" => json!(g.membership_rule_processing_state),
        "securityEnabled" => json!(g.security_enabled),
        "visibility" => {
            if g.group_types.iter().any(|t| t == "Unified") {
                Value::from("Private")
            } else {
                Value::Null
            }
        }
        "assignedLicenses" => Value::Array(
            view.assigned()
                .iter()
                .map(|l| {
                    json!({
                        "disabledPlans": l.disabled_plans,
                        "skuId": l.sku_id,
                    })
                })
                .collect(),
        ),
        "licenseProcessingState" => json!({"state": view.state.as_str()}),
        "creationOptions"
        | "proxyAddresses"
        | "resourceBehaviorOptions"
        | "resourceProvisioningOptions"
        | "onPremisesProvisioningErrors"
        | "serviceProvisioningErrors" => json!([]),
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
        | "theme" => Value::Null,
        _ => return None,
    })
}
