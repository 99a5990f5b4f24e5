//! cloud-licensing: which allotment each entry assigns from, and capacity per allotment.

use devlic_model::{ActionKind, Allotment, AllotmentAssignment, Backend, LiveState};
use devlic_planner::{PlanError, plan, render};
use devlic_spec::{Settings, Spec};

use crate::fixtures::*;

fn allotment(
    id: &str,
    sku: &str,
    part: &str,
    to: &str,
    units: (u64, u64),
    subs: &[&str],
) -> Allotment {
    Allotment {
        id: id.to_owned(),
        sku_id: sku_id(sku),
        sku_part_number: part.to_owned(),
        allotted_units: units.0,
        consumed_units: units.1,
        assignable_to: to.split(',').map(str::to_owned).collect(),
        subscription_ids: subs.iter().map(|s| (*s).to_owned()).collect(),
        assignments: Vec::new(),
    }
}

/// Contoso with cloudLicensing allotments: DEVICE1 has two pools (a company one assignable to
/// devices, and a user/group one), EDU has one device pool that Training Center PCs draws from.
pub(crate) fn live_with(extra_device1: Option<Allotment>) -> LiveState {
    let mut live = contoso_live();
    let mut main = allotment(
        "d1-main",
        DEVICE1,
        "OFFICE_PROPLUS_DEVICE1",
        "device,group",
        (100, 61),
        &["sub-main"],
    );
    // The DEVICE1 holders draw from the device pool.
    for n in [1, 4, 5, 6] {
        main.assignments.push(AllotmentAssignment {
            id: format!("as-{n}"),
            group: cg(n),
            disabled_plans: Default::default(),
        });
    }
    live.allotments = vec![
        main,
        allotment(
            "d1-users",
            DEVICE1,
            "OFFICE_PROPLUS_DEVICE1",
            "user,group",
            (20, 0),
            &["sub-users"],
        ),
        {
            let mut a = allotment(
                "edu",
                EDU,
                "OFFICE_PROPLUS_DEVICE_EDUCATION",
                "device,group",
                (50, 30),
                &["sub-edu"],
            );
            a.assignments.push(AllotmentAssignment {
                id: "as-training".to_owned(),
                group: cg(3),
                disabled_plans: Default::default(),
            });
            a
        },
    ];
    live.allotments.extend(extra_device1);
    live
}

fn cloud_spec(allotment: Option<&str>) -> Spec {
    let mut warehouse = present(
        by_name("Shared PCs - Warehouse"),
        part("OFFICE_PROPLUS_DEVICE1"),
        20,
    );
    warehouse.allotment = allotment.map(str::to_owned);
    spec(
        vec![warehouse],
        Settings {
            backend: devlic_model::BackendSetting::Fixed(Backend::CloudLicensing),
            ..contoso_settings()
        },
    )
}

/// (case, live state, the spec's `allotment`, expected allotment id or error kind)
type Case = (
    &'static str,
    LiveState,
    Option<&'static str>,
    Result<&'static str, &'static str>,
);

#[test]
fn allotment_resolution_table() {
    let second = || {
        Some(allotment(
            "d1-second",
            DEVICE1,
            "OFFICE_PROPLUS_DEVICE1",
            "device",
            (10, 0),
            &["sub-second"],
        ))
    };
    // (case, live, spec's allotment, expected allotment id or error discriminant)
    let cases: Vec<Case> = vec![
        (
            "the only device-assignable one",
            live_with(None),
            None,
            Ok("d1-main"),
        ),
        (
            "explicit by id",
            live_with(second()),
            Some("d1-second"),
            Ok("d1-second"),
        ),
        (
            "explicit by subscription id",
            live_with(second()),
            Some("SUB-SECOND"),
            Ok("d1-second"),
        ),
        ("ambiguous", live_with(second()), None, Err("ambiguous")),
        (
            "explicit, unknown",
            live_with(None),
            Some("nope"),
            Err("not-found"),
        ),
        (
            "explicit, not for devices",
            live_with(None),
            Some("d1-users"),
            Err("not-for-devices"),
        ),
        ("none at all", contoso_live(), None, Err("not-found")),
    ];
    for (case, live, wanted, expected) in cases {
        let got = plan(&cloud_spec(wanted), &live);
        match (expected, got) {
            (Ok(id), Ok(p)) => {
                let a = &p.actions[0];
                assert_eq!(a.kind, ActionKind::Assign, "{case}");
                assert_eq!(
                    a.allotment.as_ref().map(|x| x.id.as_str()),
                    Some(id),
                    "{case}"
                );
                assert_eq!(p.backend, Backend::CloudLicensing, "{case}");
            }
            (Err(kind), Err(errors)) => {
                let e = errors.iter().next().expect("one error");
                let matched = match kind {
                    "ambiguous" => {
                        matches!(e, PlanError::AmbiguousAllotment { candidates, .. } if candidates.len() == 2)
                    }
                    "not-found" => matches!(e, PlanError::AllotmentNotFound { .. }),
                    "not-for-devices" => matches!(e, PlanError::AllotmentNotForDevices { .. }),
                    _ => false,
                };
                assert!(matched, "{case}: {e:?}");
                assert_eq!(e.origin(), Some(&origin(20)), "{case}");
                assert!(!e.help().is_empty(), "{case}");
            }
            (expected, got) => panic!("{case}: expected {expected:?}, got {got:?}"),
        }
    }
}

#[test]
fn ambiguity_error_lists_candidates_and_how_to_fix() {
    let live = live_with(Some(allotment(
        "d1-second",
        DEVICE1,
        "OFFICE_PROPLUS_DEVICE1",
        "device",
        (10, 0),
        &["sub-second"],
    )));
    let errors = plan(&cloud_spec(None), &live).expect_err("ambiguous");
    let e = errors.iter().next().expect("error");
    let text = format!("{e} / {}", e.help());
    assert!(
        text.contains("2 allotments assignable to devices"),
        "{text}"
    );
    assert!(
        text.contains("d1-main") && text.contains("d1-second"),
        "{text}"
    );
    assert!(text.contains("allotment:"), "{text}");
}

#[test]
fn group_licensing_ignores_allotments() {
    let mut s = cloud_spec(None);
    s.settings.backend = devlic_model::BackendSetting::Fixed(Backend::GroupLicensing);
    let p = plan(&s, &contoso_live()).expect("plan");
    assert!(p.actions.iter().all(|a| a.allotment.is_none()));
    assert!(p.capacity.iter().all(|c| c.allotment.is_none()));
}

#[test]
fn capacity_per_allotment_and_swap_wording() {
    let live = live_with(None);
    let mut s = contoso_spec();
    s.settings.backend = devlic_model::BackendSetting::Fixed(Backend::CloudLicensing);
    let p = plan(&s, &live).expect("plan");
    let swap = p
        .actions
        .iter()
        .find(|a| a.kind == ActionKind::Swap)
        .expect("the Training Center swap");
    assert_eq!(
        swap.allotment.as_ref().map(|a| a.id.as_str()),
        Some("d1-main")
    );
    // DEVICE1 device pool: 100 allotted - 61 consumed - 70 new + 25 freed = -6.
    let d1 = p
        .capacity
        .iter()
        .find(|c| c.allotment.as_ref().is_some_and(|a| a.id == "d1-main"))
        .expect("DEVICE1 line");
    assert_eq!(
        (d1.prepaid_enabled, d1.consumed, d1.newly_licensed, d1.freed),
        (100, 61, 70, 25)
    );
    assert_eq!(d1.available_after, -6);
    // EDU's units freed by the swap count against the allotment Training Center draws from.
    let edu = p
        .capacity
        .iter()
        .find(|c| c.allotment.as_ref().is_some_and(|a| a.id == "edu"))
        .expect("EDU line");
    assert_eq!((edu.freed, edu.available_after), (30, 50));
    let text = render::text(&p, &render::TextOptions::default());
    assert!(text.contains("backend cloud-licensing"), "{text}");
    assert!(
        text.contains("is created first, then the old one is removed"),
        "{text}"
    );
    // The allotment that runs short is named in the shortfall guard.
    assert!(text.contains("(allotment "), "{text}");
    let md = render::markdown(&p);
    assert!(md.contains("is created first"), "{md}");
    // The JSON round-trips the allotments.
    let json = render::json(&p);
    let back = devlic_planner::wire::parse(&json).expect("read back");
    assert_eq!(back.actions, p.actions);
    assert_eq!(back.capacity, p.capacity);
}

/// Issue 13: cloud-licensing changes disabled plans with the documented PATCH, so other
/// `disabledPlans` for a SKU the group holds are an `update` action drawing from the group's
/// allotment, not the plan error they were while the backend could not send it.
#[test]
fn other_disabled_plans_are_an_update_on_cloud_licensing() {
    let kiosks = with_disabled(
        present(
            by_name("Kiosks - Front Desk"),
            part("OFFICE_PROPLUS_DEVICE1"),
            20,
        ),
        &["EXTRA_PLAN"],
    );
    let spec = spec(
        vec![kiosks],
        Settings {
            backend: devlic_model::BackendSetting::Fixed(Backend::CloudLicensing),
            ..contoso_settings()
        },
    );
    let p = plan(&spec, &live_with(None)).expect("an update is planned, not refused");
    assert_eq!(p.actions.len(), 1, "{:?}", p.actions);
    let a = &p.actions[0];
    assert_eq!(a.kind, ActionKind::Update);
    assert_eq!(
        a.disabled_plans
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [PLAN_DEVICE1_EXTRA]
    );
    assert_eq!(a.allotment.as_ref().map(|x| x.id.as_str()), Some("d1-main"));
}
