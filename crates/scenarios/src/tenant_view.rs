//! The tenant's license state after a run, read from the simulator itself (never through
//! devlic), as the normalised JSON of `expected/tenant-after.json`.
//!
//! The simulator keeps one licensing model per group that both Graph views serve (v1.0
//! `assignedLicenses` and beta cloudLicensing assignments), so the same reading holds for
//! both backends: which subscriptions each group holds, and per subscription how many units
//! are used and how many devices of the groups holding it still wait for one.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use devlic_graph_sim::Tenant;
use serde_json::{Value, json};

/// `{"groups": {name: [subscriptions]}, "subscriptions": {part number: units}}`.
///
/// `holdings` maps a device to the SKU ids it holds a unit of (`Sim::device_licenses`). A
/// display name that several groups share is followed by the group id, so no group hides
/// another. A subscription with disabled service plans reads `SKU without PLAN, PLAN`; in a
/// tenant file with its own allotments, `SKU from ALLOTMENT`.
pub fn license_state(tenant: &Tenant, holdings: &BTreeMap<String, Vec<String>>) -> Value {
    let sku_name: HashMap<&str, &str> = tenant
        .subscribed_skus
        .iter()
        .map(|s| (s.sku_id.as_str(), s.sku_part_number.as_str()))
        .collect();
    let plan_name: HashMap<&str, &str> = tenant
        .subscribed_skus
        .iter()
        .flat_map(|s| &s.service_plans)
        .map(|p| (p.service_plan_id.as_str(), p.service_plan_name.as_str()))
        .collect();
    let name_of = |id: &str| sku_name.get(id).copied().unwrap_or(id).to_owned();

    let mut name_count: HashMap<&str, usize> = HashMap::new();
    for g in &tenant.groups {
        *name_count.entry(g.display_name.as_str()).or_default() += 1;
    }
    let mut groups = BTreeMap::new();
    for g in &tenant.groups {
        let key = if name_count[g.display_name.as_str()] > 1 {
            format!("{} ({})", g.display_name, g.id)
        } else {
            g.display_name.clone()
        };
        let mut held: Vec<String> = g
            .assigned_licenses
            .iter()
            .map(|l| {
                // Tenants with their own allotments show which one each license draws from.
                let sku = match &l.allotment_id {
                    Some(a) => format!("{} from {a}", name_of(&l.sku_id)),
                    None => name_of(&l.sku_id),
                };
                if l.disabled_plans.is_empty() {
                    return sku;
                }
                let mut plans: Vec<&str> = l
                    .disabled_plans
                    .iter()
                    .map(|p| plan_name.get(p.as_str()).copied().unwrap_or(p))
                    .collect();
                plans.sort_unstable();
                format!("{sku} without {}", plans.join(", "))
            })
            .collect();
        held.sort();
        groups.insert(key, held);
    }

    let devices: BTreeSet<&str> = tenant.devices.iter().map(|d| d.id.as_str()).collect();
    let index: HashMap<&str, usize> = tenant
        .groups
        .iter()
        .enumerate()
        .map(|(i, g)| (g.id.as_str(), i))
        .collect();
    // (device, SKU) pairs a group assignment asks for but the device holds no unit of.
    let mut waiting: BTreeSet<(&str, &str)> = BTreeSet::new();
    for (i, g) in tenant.groups.iter().enumerate() {
        for device in transitive_devices(tenant, &index, &devices, i) {
            for l in &g.assigned_licenses {
                let holds = holdings
                    .get(device)
                    .is_some_and(|skus| skus.iter().any(|s| s == &l.sku_id));
                if !holds {
                    waiting.insert((device, l.sku_id.as_str()));
                }
            }
        }
    }
    let mut subscriptions = BTreeMap::new();
    for s in &tenant.subscribed_skus {
        let unlicensed = waiting.iter().filter(|(_, sku)| *sku == s.sku_id).count();
        subscriptions.insert(
            s.sku_part_number.clone(),
            json!({
                "enabledUnits": s.prepaid_units.enabled,
                "consumedUnits": s.consumed_units,
                "devicesWithoutUnit": unlicensed,
            }),
        );
    }
    json!({ "groups": groups, "subscriptions": subscriptions })
}

/// Devices among the members of group `start` and of the groups nested in it, each once.
fn transitive_devices<'t>(
    tenant: &'t Tenant,
    index: &HashMap<&str, usize>,
    devices: &BTreeSet<&str>,
    start: usize,
) -> BTreeSet<&'t str> {
    let mut out = BTreeSet::new();
    let mut seen = BTreeSet::from([start]);
    let mut todo = vec![start];
    while let Some(g) = todo.pop() {
        for m in &tenant.groups[g].members {
            if devices.contains(m.as_str()) {
                out.insert(m.as_str());
            } else if let Some(&child) = index.get(m.as_str())
                && seen.insert(child)
            {
                todo.push(child);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TENANT: &str = r#"{
      "id": "00000000-0000-4000-8000-000000000000",
      "displayName": "T",
      "verifiedDomains": [{"name": "t.onmicrosoft.com", "isInitial": true}],
      "subscribedSkus": [{
        "skuId": "ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7", "skuPartNumber": "OFFICE_PROPLUS_DEVICE1",
        "consumedUnits": 1, "prepaidUnits": {"enabled": 1},
        "servicePlans": [{"servicePlanId": "3c994f28-87d5-4273-b07a-eb6190852599", "servicePlanName": "OFFICE_PROPLUS_DEVICE"}]
      }],
      "groups": [
        {"id": "10000000-0000-4000-8000-000000000001", "displayName": "Lab", "securityEnabled": true,
         "assignedLicenses": [{"skuId": "ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7"}],
         "members": ["20000000-0000-4000-8000-000000000001", "10000000-0000-4000-8000-000000000002"]},
        {"id": "10000000-0000-4000-8000-000000000002", "displayName": "Lab", "securityEnabled": true,
         "assignedLicenses": [{"skuId": "ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7",
                               "disabledPlans": ["3c994f28-87d5-4273-b07a-eb6190852599"]}],
         "members": ["20000000-0000-4000-8000-000000000002"]},
        {"id": "10000000-0000-4000-8000-000000000003", "displayName": "Empty", "securityEnabled": true}
      ],
      "devices": [
        {"id": "20000000-0000-4000-8000-000000000001", "displayName": "PC-1"},
        {"id": "20000000-0000-4000-8000-000000000002", "displayName": "PC-2"}
      ]
    }"#;

    #[test]
    fn groups_subscriptions_and_devices_without_a_unit() {
        let tenant = Tenant::from_json(TENANT).unwrap();
        let holdings = BTreeMap::from([(
            "20000000-0000-4000-8000-000000000001".to_owned(),
            vec!["ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7".to_owned()],
        )]);
        assert_eq!(
            license_state(&tenant, &holdings),
            json!({
                "groups": {
                    "Empty": [],
                    "Lab (10000000-0000-4000-8000-000000000001)": ["OFFICE_PROPLUS_DEVICE1"],
                    "Lab (10000000-0000-4000-8000-000000000002)":
                        ["OFFICE_PROPLUS_DEVICE1 without OFFICE_PROPLUS_DEVICE"],
                },
                "subscriptions": {
                    // PC-2 is wanted by both groups (the nested one and its parent): one device.
                    "OFFICE_PROPLUS_DEVICE1":
                        {"enabledUnits": 1, "consumedUnits": 1, "devicesWithoutUnit": 1},
                },
            })
        );
    }
}
