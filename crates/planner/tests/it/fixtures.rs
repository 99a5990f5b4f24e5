//! Test data: the Contoso scenario of the shared brief, and small builders for table tests.

use std::collections::{BTreeMap, BTreeSet};

use devlic_model::{
    AssignedLicense, CapabilityStatus, Group, GroupId, LiveState, MemberCounts, PrepaidUnits,
    ProcessingState, ServicePlan, ServicePlanId, Sku, SkuId, StateSource, TenantInfo,
};
use devlic_spec::{
    Assignment, DesiredState, GroupSelector, Origin, PlanSelector, Settings, SkuSelector, Spec,
};

pub const DEVICE1: &str = "ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7";
pub const EDU: &str = "e6564056-c8cb-4977-a87c-45c90fe87ea9";
pub const E3: &str = "05e9a617-0261-4cee-bb44-138d3ef5d965";
pub const PLAN_DEVICE1: &str = "3c994f28-87d5-4273-b07a-eb6190852599";
pub const PLAN_EDU: &str = "a7a5c3b1-5a27-4a7e-9d5f-3e3b1e0c2d11";
/// A second service plan of DEVICE1, made up for `disabledPlans` tests.
pub const PLAN_DEVICE1_EXTRA: &str = "0f0e0d0c-0b0a-4909-8807-060504030201";
pub const CONTOSO_TENANT: &str = "6f1c2a3b-0d4e-4f5a-9b8c-7d6e5f4a3b2c";
pub const SPEC_FILE: &str = "examples/contoso/devlic.yaml";

pub fn sku_id(s: &str) -> SkuId {
    SkuId::parse(s).expect("test SKU id")
}

pub fn plan_id(s: &str) -> ServicePlanId {
    ServicePlanId::parse(s).expect("test plan id")
}

/// Contoso group `n` (1..=8).
pub fn cg(n: u8) -> GroupId {
    GroupId::parse(&format!("1a2b3c4d-000{n}-4a5b-8c6d-00000000000{n}")).expect("test group id")
}

pub fn sku(id: &str, part: &str, enabled: u64, consumed: u64, plans: &[(&str, &str)]) -> Sku {
    Sku {
        sku_id: sku_id(id),
        sku_part_number: part.to_owned(),
        capability_status: CapabilityStatus::Enabled,
        consumed_units: consumed,
        prepaid_units: PrepaidUnits {
            enabled,
            ..PrepaidUnits::default()
        },
        service_plans: plans
            .iter()
            .map(|(pid, name)| ServicePlan {
                service_plan_id: plan_id(pid),
                service_plan_name: (*name).to_owned(),
                applies_to: None,
            })
            .collect(),
        applies_to: None,
    }
}

pub fn lic(id: &str) -> AssignedLicense {
    AssignedLicense {
        sku_id: sku_id(id),
        disabled_plans: BTreeSet::new(),
        allotment_id: None,
    }
}

/// A healthy security group of Windows devices.
pub fn group(id: GroupId, name: &str, devices: u64, holds: &[&str]) -> Group {
    Group {
        id,
        display_name: name.to_owned(),
        security_enabled: true,
        mail_enabled: false,
        group_types: Vec::new(),
        assigned_licenses: holds.iter().map(|h| lic(h)).collect(),
        license_processing_state: Some(ProcessingState::ProcessingComplete),
        members: Some(MemberCounts {
            devices,
            non_devices: 0,
            groups: 0,
        }),
        license_errors: Some(Vec::new()),
    }
}

pub fn contoso_skus() -> Vec<Sku> {
    vec![
        sku(
            DEVICE1,
            "OFFICE_PROPLUS_DEVICE1",
            100,
            61,
            &[
                (PLAN_DEVICE1, "OFFICE_PROPLUS_DEVICE"),
                (PLAN_DEVICE1_EXTRA, "EXTRA_PLAN"),
            ],
        ),
        sku(
            EDU,
            "OFFICE_PROPLUS_DEVICE_EDUCATION",
            50,
            30,
            &[(PLAN_EDU, "OFFICE_PROPLUS_DEVICE_EDUCATION")],
        ),
        sku(E3, "SPE_E3", 500, 430, &[]),
    ]
}

pub fn contoso_live() -> LiveState {
    let mut warehouse = group(cg(2), "Shared PCs - Warehouse", 40, &[]);
    warehouse.group_types = vec!["DynamicMembership".to_owned()];
    let mut marketing = group(cg(7), "Marketing Team", 0, &[]);
    marketing.group_types = vec!["Unified".to_owned()];
    marketing.security_enabled = false;
    marketing.mail_enabled = true;
    marketing.members = Some(MemberCounts {
        devices: 0,
        non_devices: 9,
        groups: 0,
    });
    let mut staff = group(cg(8), "All Staff", 0, &[E3]);
    staff.members = Some(MemberCounts {
        devices: 0,
        non_devices: 120,
        groups: 0,
    });
    let groups = vec![
        group(cg(1), "Kiosks - Front Desk", 12, &[DEVICE1]),
        warehouse,
        group(cg(3), "Training Center PCs", 30, &[EDU]),
        group(cg(4), "Retired Call Center", 25, &[DEVICE1]),
        group(cg(5), "Finance Laptops", 18, &[DEVICE1]),
        group(cg(6), "Conference Room Displays", 6, &[DEVICE1]),
        marketing,
        staff,
    ];
    LiveState {
        tenant: TenantInfo {
            id: CONTOSO_TENANT.to_owned(),
            display_name: Some("Contoso Ltd".to_owned()),
            domains: vec![
                "contoso.onmicrosoft.com".to_owned(),
                "contoso.com".to_owned(),
            ],
        },
        source: StateSource::Graph {
            graph_url: "https://graph.microsoft.com".to_owned(),
        },
        taken_at: "2026-11-20T08:00:00Z".parse().expect("timestamp"),
        skus: contoso_skus(),
        groups: groups
            .into_iter()
            .map(|g| (g.id, g))
            .collect::<BTreeMap<_, _>>(),
        allotments: Vec::new(),
        // Read for group-licensing, as `--backend group-licensing` records it.
        backend: Some(devlic_model::BackendChoice {
            backend: devlic_model::Backend::GroupLicensing,
            reason: "set by --backend group-licensing".to_owned(),
            automatic: false,
        }),
    }
}

pub fn origin(line: u32) -> Origin {
    Origin {
        file: SPEC_FILE.to_owned(),
        line,
        column: 5,
    }
}

pub fn by_name(name: &str) -> GroupSelector {
    GroupSelector::Name(name.to_owned())
}

pub fn part(p: &str) -> Option<SkuSelector> {
    Some(SkuSelector::PartNumber(p.to_owned()))
}

pub fn present(group: GroupSelector, sku: Option<SkuSelector>, line: u32) -> Assignment {
    Assignment {
        group,
        subscription: sku,
        allotment: None,
        disabled_plans: Vec::new(),
        state: DesiredState::Present,
        description: None,
        origin: origin(line),
    }
}

pub fn absent(group: GroupSelector, sku: Option<SkuSelector>, line: u32) -> Assignment {
    Assignment {
        state: DesiredState::Absent,
        ..present(group, sku, line)
    }
}

pub fn with_disabled(mut a: Assignment, plans: &[&str]) -> Assignment {
    a.disabled_plans = plans
        .iter()
        .map(|p| match ServicePlanId::parse(p) {
            Ok(id) => PlanSelector::Id(id),
            Err(_) => PlanSelector::Name((*p).to_owned()),
        })
        .collect();
    a
}

pub fn spec(assignments: Vec<Assignment>, settings: Settings) -> Spec {
    Spec {
        tenant: Some("contoso.onmicrosoft.com".to_owned()),
        settings,
        assignments,
        files: vec![SPEC_FILE.to_owned()],
    }
}

pub fn contoso_settings() -> Settings {
    Settings {
        prune: false,
        max_revocations: 1,
        ..Settings::default()
    }
}

/// The Contoso spec of `examples/contoso/devlic.yaml`, built by hand.
pub fn contoso_spec() -> Spec {
    spec(
        vec![
            present(
                by_name("Kiosks - Front Desk"),
                part("OFFICE_PROPLUS_DEVICE1"),
                16,
            ),
            present(
                by_name("Shared PCs - Warehouse"),
                part("OFFICE_PROPLUS_DEVICE1"),
                20,
            ),
            present(
                by_name("Training Center PCs"),
                part("OFFICE_PROPLUS_DEVICE1"),
                25,
            ),
            absent(by_name("Retired Call Center"), None, 31),
            present(
                GroupSelector::Id(cg(5)),
                Some(SkuSelector::Id(sku_id(DEVICE1))),
                35,
            ),
        ],
        contoso_settings(),
    )
}

/// The live state after the Contoso plan was applied.
pub fn contoso_converged() -> LiveState {
    let mut live = contoso_live();
    if let Ok(plan) = devlic_planner::plan(&contoso_spec(), &live) {
        crate::apply(&mut live, &plan);
    }
    live
}
