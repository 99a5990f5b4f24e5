//! Plans 10,000 mappings offline and prints wall time and peak memory.
//!
//! Run with `cargo run --release -p devlic-planner --example bench_plan [MAPPINGS]`.
//!
//! The tenant has one group per mapping plus 500 unmanaged holders. The spec mixes what a large
//! district looks like mid-rollout: 70 % already in place, 15 % assigns, 10 % swaps, 3 % updates
//! and 2 % revocations, half named by display name and half by id. The snapshot goes through JSON
//! first, as `devlic plan --snapshot FILE` does.

// A benchmark: printing its numbers is the point.
#![allow(clippy::print_stdout)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use devlic_model::{
    AssignedLicense, CapabilityStatus, Group, GroupId, LiveState, MemberCounts, PrepaidUnits,
    ProcessingState, ServicePlan, ServicePlanId, Sku, SkuId, StateSource, TenantInfo, known_skus,
};
use devlic_planner::{plan, render};
use devlic_spec::{
    Assignment, DesiredState, GroupSelector, Origin, PlanSelector, Settings, SkuSelector, Spec,
};

fn sku(k: &known_skus::KnownDeviceSku, plan_id: &str, enabled: u64) -> Result<Sku, String> {
    Ok(Sku {
        sku_id: k.sku_id,
        sku_part_number: k.part_number.to_owned(),
        capability_status: CapabilityStatus::Enabled,
        consumed_units: enabled / 2,
        prepaid_units: PrepaidUnits {
            enabled,
            ..PrepaidUnits::default()
        },
        service_plans: vec![ServicePlan {
            service_plan_id: ServicePlanId::parse(plan_id).map_err(|e| e.to_string())?,
            service_plan_name: "OFFICE_PROPLUS_DEVICE".to_owned(),
            applies_to: Some("Company".to_owned()),
        }],
        applies_to: Some("Company".to_owned()),
    })
}

fn gid(i: usize) -> Result<GroupId, String> {
    GroupId::parse(&format!("00000000-0000-4000-8000-{i:012}")).map_err(|e| e.to_string())
}

fn holding(ids: &[SkuId]) -> Vec<AssignedLicense> {
    ids.iter()
        .map(|&sku_id| AssignedLicense {
            sku_id,
            disabled_plans: BTreeSet::new(),
            allotment_id: None,
        })
        .collect()
}

fn world(n: usize) -> Result<(Spec, LiveState), String> {
    let device1 = known_skus::ENTERPRISE_DEVICE.sku_id;
    let edu = known_skus::EDUCATION_DEVICE.sku_id;
    let skus = vec![
        sku(
            &known_skus::ENTERPRISE_DEVICE,
            "3c994f28-87d5-4273-b07a-eb6190852599",
            2_000_000,
        )?,
        sku(
            &known_skus::EDUCATION_DEVICE,
            "a7a5c3b1-5a27-4a7e-9d5f-3e3b1e0c2d11",
            2_000_000,
        )?,
    ];
    let mut groups = BTreeMap::new();
    let mut assignments = Vec::with_capacity(n);
    for i in 0..n + 500 {
        let id = gid(i)?;
        let name = format!("Lab {i:05} - Building {}", i % 37);
        // Per mapping, by i % 100: 0-69 in place, 70-84 assign, 85-94 swap, 95-97 update,
        // 98-99 revoke. Groups past `n` are unmanaged holders.
        let bucket = i % 100;
        let held = if i >= n || bucket < 70 || (95..100).contains(&bucket) {
            holding(&[device1])
        } else if bucket < 85 {
            Vec::new()
        } else {
            holding(&[edu])
        };
        groups.insert(
            id,
            Group {
                id,
                display_name: name.clone(),
                security_enabled: true,
                mail_enabled: false,
                group_types: Vec::new(),
                assigned_licenses: held,
                license_processing_state: Some(ProcessingState::ProcessingComplete),
                members: Some(MemberCounts {
                    devices: 20 + (i % 40) as u64,
                    non_devices: 0,
                    groups: 0,
                }),
                license_errors: Some(Vec::new()),
            },
        );
        if i >= n {
            continue;
        }
        let line = u32::try_from(i * 3 + 10).unwrap_or(u32::MAX);
        assignments.push(Assignment {
            group: if i % 2 == 0 {
                GroupSelector::Name(name)
            } else {
                GroupSelector::Id(id)
            },
            subscription: (bucket < 98)
                .then(|| SkuSelector::PartNumber("OFFICE_PROPLUS_DEVICE1".to_owned())),
            allotment: None,
            disabled_plans: if (95..98).contains(&bucket) {
                vec![PlanSelector::Name("OFFICE_PROPLUS_DEVICE".to_owned())]
            } else {
                Vec::new()
            },
            state: if bucket < 98 {
                DesiredState::Present
            } else {
                DesiredState::Absent
            },
            description: None,
            origin: Origin {
                file: "devlic.yaml".to_owned(),
                line,
                column: 5,
            },
        });
    }
    let spec = Spec {
        tenant: Some("bench.onmicrosoft.com".to_owned()),
        settings: Settings {
            max_revocations: 1_000,
            ..Settings::default()
        },
        assignments,
        files: vec!["devlic.yaml".to_owned()],
    };
    let live = LiveState {
        tenant: TenantInfo {
            id: "0b0b0b0b-0000-4000-8000-000000000000".to_owned(),
            display_name: Some("Bench".to_owned()),
            domains: vec!["bench.onmicrosoft.com".to_owned()],
        },
        source: StateSource::Snapshot {
            graph_url: "https://graph.microsoft.com".to_owned(),
        },
        taken_at: jiff::Timestamp::UNIX_EPOCH,
        skus,
        groups,
        allotments: Vec::new(),
        // Read for group-licensing, as `--backend group-licensing` records it.
        backend: Some(devlic_model::BackendChoice {
            backend: devlic_model::Backend::GroupLicensing,
            reason: "set by --backend group-licensing".to_owned(),
            automatic: false,
        }),
    };
    Ok((spec, live))
}

/// Peak resident set size of this process (`VmHWM`), in KiB, on Linux.
fn peak_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn main() -> Result<(), String> {
    let n: usize = match std::env::args().nth(1) {
        Some(a) => a.parse().map_err(|_| format!("not a number: {a}"))?,
        None => 10_000,
    };
    let (spec, live) = world(n)?;
    let snapshot = serde_json::to_string(&live).map_err(|e| e.to_string())?;
    drop(live);

    let total = Instant::now();
    let t = Instant::now();
    let live: LiveState = serde_json::from_str(&snapshot).map_err(|e| e.to_string())?;
    let load_ms = ms(t);
    let t = Instant::now();
    let p = plan(&spec, &live).map_err(|e| e.to_string())?;
    let plan_ms = ms(t);
    let t = Instant::now();
    let json = render::json(&p);
    let json_ms = ms(t);
    let t = Instant::now();
    let md = render::markdown(&p);
    let text = render::text(&p, &render::TextOptions { color: false });
    let other_ms = ms(t);
    let total_ms = ms(total);

    let s = p.summary();
    println!(
        "mappings: {n} (+500 unmanaged holders), snapshot {:.1} MB",
        snapshot.len() as f64 / 1e6
    );
    println!(
        "actions: {} assign, {} swap, {} update, {} revoke; {} warnings",
        s.assign,
        s.swap,
        s.update,
        s.revoke,
        p.warnings.len()
    );
    println!("load snapshot (JSON -> LiveState): {load_ms:8.2} ms");
    println!("plan():                            {plan_ms:8.2} ms");
    println!(
        "render json ({:.1} MB):            {json_ms:8.2} ms",
        json.len() as f64 / 1e6
    );
    println!(
        "render markdown ({} B) + text:  {other_ms:8.2} ms",
        md.len()
    );
    println!(
        "offline plan total (load + plan + json): {:.2} ms",
        load_ms + plan_ms + json_ms
    );
    println!("everything above: {total_ms:.2} ms");
    match peak_kib() {
        Some(kib) => println!("peak memory (VmHWM): {:.1} MB", kib as f64 / 1024.0),
        None => println!("peak memory: unavailable (no /proc/self/status)"),
    }
    drop(text);
    Ok(())
}
