//! Synthetic tenants for benchmarks: many groups and devices, deterministic from a seed.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::tenant::{
    AssignedLicense, Device, Group, PrepaidUnits, ServicePlan, SubscribedSku, Tenant,
    VerifiedDomain,
};

const DEVICE1: &str = "ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7";
const EDU: &str = "e6564056-c8cb-4977-a87c-45c90fe87ea9";

fn guid(rng: &mut ChaCha8Rng) -> String {
    uuid::Builder::from_random_bytes(rng.random())
        .into_uuid()
        .to_string()
}

/// A tenant with `groups` security groups and `devices` Windows devices spread over them
/// round-robin; about a third of the groups hold DEVICE1, a sixth EDUCATION, and the SKUs have
/// enough units for every device (consumedUnits match the licensed devices).
pub fn generate(groups: usize, devices: usize, seed: u64) -> Tenant {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let device_list: Vec<Device> = (0..devices)
        .map(|i| Device {
            id: guid(&mut rng),
            device_id: Some(guid(&mut rng)),
            display_name: format!("PC-{i:06}"),
            trust_type: Some("AzureAd".to_owned()),
            operating_system: Some("Windows".to_owned()),
            operating_system_version: Some("10.0.22631.4460".to_owned()),
            account_enabled: true,
        })
        .collect();
    let mut group_list: Vec<Group> = (0..groups)
        .map(|i| {
            let sku = match rng.random_range(0..6) {
                0 | 1 => Some(DEVICE1),
                2 => Some(EDU),
                _ => None,
            };
            Group {
                id: guid(&mut rng),
                display_name: format!("Device group {i:05}"),
                description: None,
                security_enabled: true,
                mail_enabled: false,
                mail_nickname: Some(format!("devgroup{i:05}")),
                mail: None,
                group_types: Vec::new(),
                membership_rule: None,
                membership_rule_processing_state: None,
                created_date_time: Some("2024-01-15T08:00:00Z".to_owned()),
                assigned_licenses: sku
                    .map(|s| {
                        vec![AssignedLicense {
                            sku_id: s.to_owned(),
                            disabled_plans: Vec::new(),
                            allotment_id: None,
                        }]
                    })
                    .unwrap_or_default(),
                license_processing_state: None,
                members: Vec::new(),
            }
        })
        .collect();
    if !group_list.is_empty() {
        let n = group_list.len();
        for (i, d) in device_list.iter().enumerate() {
            group_list[i % n].members.push(d.id.clone());
        }
    }
    let count = |sku: &str| {
        group_list
            .iter()
            .filter(|g| g.assigned_licenses.iter().any(|l| l.sku_id == sku))
            .map(|g| g.members.len() as i64)
            .sum::<i64>()
    };
    let (d1, edu) = (count(DEVICE1), count(EDU));
    let sku = |id: &str, part: &str, plan_id: &str, plan: &str, used: i64| SubscribedSku {
        comment: None,
        sku_id: id.to_owned(),
        sku_part_number: part.to_owned(),
        applies_to: "Company".to_owned(),
        capability_status: "Enabled".to_owned(),
        consumed_units: used,
        prepaid_units: PrepaidUnits {
            enabled: devices as i64 + 100,
            ..PrepaidUnits::default()
        },
        service_plans: vec![ServicePlan {
            service_plan_id: plan_id.to_owned(),
            service_plan_name: plan.to_owned(),
            provisioning_status: "Success".to_owned(),
            applies_to: "Company".to_owned(),
        }],
        subscription_ids: Vec::new(),
    };
    Tenant {
        comment: Some(format!(
            "generated: {groups} groups, {devices} devices, seed {seed}"
        )),
        id: guid(&mut rng),
        display_name: "Generated Tenant".to_owned(),
        verified_domains: vec![VerifiedDomain {
            name: "generated.onmicrosoft.com".to_owned(),
            is_default: true,
            is_initial: true,
        }],
        federated_credentials: Vec::new(),
        subscribed_skus: vec![
            sku(
                DEVICE1,
                "OFFICE_PROPLUS_DEVICE1",
                "3c994f28-87d5-4273-b07a-eb6190852599",
                "OFFICE_PROPLUS_DEVICE",
                d1,
            ),
            sku(
                EDU,
                "OFFICE_PROPLUS_DEVICE_EDUCATION",
                "a7a5c3b1-5a27-4a7e-9d5f-3e3b1e0c2d11",
                "OFFICE_PROPLUS_DEVICE_EDUCATION",
                edu,
            ),
        ],
        groups: group_list,
        devices: device_list,
        users: Vec::new(),
        allotments: Vec::new(),
        applications: crate::Application::documented(),
    }
}
