//! Group serialisation and the `assignLicense` body parser.

use serde_json::{Map, Value, json};

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

/// Every property the simulator can return for a group.
pub(crate) fn group_properties(g: &Group, view: &LicenseView) -> Map<String, Value> {
    let v = json!({
        "id": g.id,
        "deletedDateTime": null,
        "classification": null,
        "createdDateTime": g.created_date_time,
        "creationOptions": [],
        "description": g.description,
        "displayName": g.display_name,
        "expirationDateTime": null,
        "groupTypes": g.group_types,
        "isAssignableToRole": null,
        "mail": g.mail,
        "mailEnabled": g.mail_enabled,
        "mailNickname": g.mail_nickname,
        "membershipRule": g.membership_rule,
        "membershipRuleProcessingState": g.membership_rule_processing_state,
        "onPremisesDomainName": null,
        "onPremisesLastSyncDateTime": null,
        "onPremisesNetBiosName": null,
        "onPremisesSamAccountName": null,
        "onPremisesSecurityIdentifier": null,
        "onPremisesSyncEnabled": null,
        "preferredDataLocation": null,
        "preferredLanguage": null,
        "proxyAddresses": [],
        "renewedDateTime": g.created_date_time,
        "resourceBehaviorOptions": [],
        "resourceProvisioningOptions": [],
        "securityEnabled": g.security_enabled,
        "securityIdentifier": null,
        "theme": null,
        "visibility": if g.group_types.iter().any(|t| t == "Unified") { Value::from("Private") } else { Value::Null },
        "onPremisesProvisioningErrors": [],
        "serviceProvisioningErrors": [],
        "assignedLicenses": view.assigned().iter().map(|l| json!({
            "disabledPlans": l.disabled_plans,
            "skuId": l.sku_id,
        })).collect::<Vec<_>>(),
        "licenseProcessingState": {"state": view.state.as_str()},
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}
