//! cloud-licensing: a group holding the right SKU from another allotment than the spec's
//! (allotment drift) gets a `move`: create on the new allotment, then delete the old.

use devlic_model::{
    ActionKind, Allotment, AllotmentAssignment, Backend, GuardViolation, LiveState,
};
use devlic_planner::{plan, render, wire};
use devlic_spec::{Settings, Spec};

use crate::allotments::live_with;
use crate::fixtures::*;

/// Contoso's cloud view with a second DEVICE1 allotment (`d1-2026`, subscription `sub-2026`,
/// `units` allotted, none used); every group's licenses rebuilt from the assignments, as a live
/// read builds them.
fn cloud_live(units: u64, extra: impl FnOnce(&mut Vec<Allotment>)) -> LiveState {
    let mut live = live_with(None);
    let mut allotments = std::mem::take(&mut live.allotments);
    allotments.push(Allotment {
        id: "d1-2026".to_owned(),
        sku_id: sku_id(DEVICE1),
        sku_part_number: "OFFICE_PROPLUS_DEVICE1".to_owned(),
        allotted_units: units,
        consumed_units: 0,
        assignable_to: vec!["group".to_owned(), "device".to_owned()],
        subscription_ids: vec!["sub-2026".to_owned()],
        assignments: Vec::new(),
    });
    extra(&mut allotments);
    live.set_cloud_view(allotments);
    live
}

/// Kiosks - Front Desk (12 devices, on `d1-main`) asked to draw from `allotment`.
fn kiosks_on(allotment: &str) -> Spec {
    let mut kiosks = present(
        by_name("Kiosks - Front Desk"),
        part("OFFICE_PROPLUS_DEVICE1"),
        9,
    );
    kiosks.allotment = Some(allotment.to_owned());
    spec(
        vec![kiosks],
        Settings {
            backend: devlic_model::BackendSetting::Fixed(Backend::CloudLicensing),
            ..contoso_settings()
        },
    )
}

/// A crash between a move's create and delete: Kiosks holds DEVICE1 from `d1-main` and
/// `d1-2026`.
fn half_moved_kiosks() -> LiveState {
    cloud_live(50, |all| {
        let new = all.iter_mut().find(|a| a.id == "d1-2026").expect("d1-2026");
        new.assignments.push(AllotmentAssignment {
            id: "as-new".to_owned(),
            group: cg(1),
            disabled_plans: Default::default(),
        });
    })
}

#[test]
fn a_group_on_another_allotment_is_moved() {
    let p = plan(&kiosks_on("sub-2026"), &cloud_live(50, |_| {})).expect("plan");
    assert_eq!(p.actions.len(), 1, "{:#?}", p.actions);
    let a = &p.actions[0];
    assert_eq!(a.kind, ActionKind::Move);
    assert_eq!(a.group.id, cg(1));
    assert_eq!(a.allotment.as_ref().map(|x| x.id.as_str()), Some("d1-2026"));
    assert_eq!(
        a.from_allotment.as_ref().map(|x| x.id.as_str()),
        Some("d1-main")
    );
    assert_eq!(a.from_sku, None);
    // The move changes only where the license comes from, which the fingerprints see.
    assert_ne!(a.before_fingerprint, a.after_fingerprint());
    assert_eq!(
        a.expected_after()
            .iter()
            .map(|l| l.allotment_id.as_deref())
            .collect::<Vec<_>>(),
        vec![Some("d1-2026")]
    );
    // Capacity: the new allotment takes the 12 devices, the old one gets them back.
    let line = |id: &str| {
        p.capacity
            .iter()
            .find(|l| l.allotment.as_ref().is_some_and(|x| x.id == id))
            .map(|l| (l.newly_licensed, l.freed))
    };
    assert_eq!(line("d1-2026"), Some((12, 0)));
    assert_eq!(line("d1-main"), Some((0, 12)));
    assert!(p.guard_violations.is_empty(), "{:?}", p.guard_violations);
    assert_eq!(p.summary().r#move, 1);
    assert!(
        render::summary_line(&p).ends_with("0 to update, 1 to move."),
        "{}",
        render::summary_line(&p)
    );
}

#[test]
fn a_group_already_on_the_named_allotment_needs_nothing() {
    let p = plan(&kiosks_on("sub-main"), &cloud_live(50, |_| {})).expect("plan");
    assert!(p.actions.is_empty(), "{:#?}", p.actions);
}

#[test]
fn a_half_done_move_is_still_a_move() {
    // A crash between the create and the delete leaves the group on both allotments.
    let live = half_moved_kiosks();
    assert_eq!(live.groups[&cg(1)].assigned_licenses.len(), 2);
    let p = plan(&kiosks_on("sub-2026"), &live).expect("plan");
    assert_eq!(p.actions.len(), 1);
    assert_eq!(p.actions[0].kind, ActionKind::Move);
    assert_eq!(
        p.actions[0].from_allotment.as_ref().map(|x| x.id.as_str()),
        Some("d1-main")
    );
}

#[test]
fn a_group_on_a_pool_not_for_devices_moves_to_the_only_device_pool() {
    // No `allotment:` in the spec: DEVICE1's only device-assignable pool is `d1-main`, but
    // Conference Room Displays draws from the user/group pool `d1-users`.
    let mut live = live_with(None);
    let mut allotments = std::mem::take(&mut live.allotments);
    for a in &mut allotments {
        if a.id == "d1-main" {
            a.assignments.retain(|x| x.group != cg(6));
        }
        if a.id == "d1-users" {
            a.assignments.push(AllotmentAssignment {
                id: "as-6".to_owned(),
                group: cg(6),
                disabled_plans: Default::default(),
            });
        }
    }
    live.set_cloud_view(allotments);
    let s = spec(
        vec![present(
            by_name("Conference Room Displays"),
            part("OFFICE_PROPLUS_DEVICE1"),
            4,
        )],
        Settings {
            backend: devlic_model::BackendSetting::Fixed(Backend::CloudLicensing),
            ..contoso_settings()
        },
    );
    let p = plan(&s, &live).expect("plan");
    let moves: Vec<_> = p
        .actions
        .iter()
        .filter(|a| a.kind == ActionKind::Move)
        .map(|a| {
            (
                a.group.display_name.as_str(),
                a.from_allotment.as_ref().map(|x| x.id.as_str()),
                a.allotment.as_ref().map(|x| x.id.as_str()),
            )
        })
        .collect();
    assert_eq!(
        moves,
        vec![(
            "Conference Room Displays",
            Some("d1-users"),
            Some("d1-main")
        )]
    );
}

#[test]
fn a_move_into_a_full_allotment_is_a_guarded_loss() {
    // d1-2026 has 5 units for Kiosks' 12 devices: 7 devices would lose the apps.
    let p = plan(&kiosks_on("sub-2026"), &cloud_live(5, |_| {})).expect("plan");
    assert_eq!(p.actions[0].kind, ActionKind::Move);
    let shortfall = p.guard_violations.iter().find_map(|g| match g {
        GuardViolation::Shortfall {
            allotment,
            devices,
            groups,
            ..
        } => Some((
            allotment.as_ref().map(|a| a.id.clone()),
            *devices,
            groups.iter().map(|g| g.id).collect::<Vec<_>>(),
        )),
        _ => None,
    });
    assert_eq!(
        shortfall,
        Some((Some("d1-2026".to_owned()), 7, vec![cg(1)]))
    );
    let losses = devlic_planner::license_losses(&p.actions, &p.capacity, &live_for_losses());
    assert_eq!(losses.len(), 1);
    assert_eq!(losses[0].devices, Some(7));
    // With no revocation allowed, that loss also trips the revocation guard.
    let mut strict = kiosks_on("sub-2026");
    strict.settings.max_revocations = 0;
    let p2 = plan(&strict, &cloud_live(5, |_| {})).expect("plan");
    assert!(
        p2.guard_violations
            .iter()
            .any(|g| matches!(g, GuardViolation::MaxRevocations { revocations: 1, .. })),
        "a move that leaves devices without the apps counts as a revocation: {:?}",
        p2.guard_violations
    );
    let text = render::text(&p, &render::TextOptions::default());
    assert!(
        text.contains("up to 7 devices of these may be left without Microsoft 365 Apps"),
        "{text}"
    );
}

fn live_for_losses() -> LiveState {
    cloud_live(5, |_| {})
}

#[test]
fn revoking_a_half_moved_group_is_one_revoke() {
    let live = half_moved_kiosks();
    let s = spec(
        vec![absent(by_name("Kiosks - Front Desk"), None, 3)],
        Settings {
            backend: devlic_model::BackendSetting::Fixed(Backend::CloudLicensing),
            max_revocations: 1,
            max_revoke_percent: 100,
            ..contoso_settings()
        },
    );
    let p = plan(&s, &live).expect("plan");
    let kinds: Vec<_> = p.actions.iter().map(|a| (a.kind, a.group.id)).collect();
    assert_eq!(kinds, vec![(ActionKind::Revoke, cg(1))]);
}

#[test]
fn a_move_survives_the_wire_format_and_a_tampered_one_does_not() {
    let p = plan(&kiosks_on("sub-2026"), &cloud_live(50, |_| {})).expect("plan");
    let json = render::json(&p);
    assert!(json.contains("\"formatVersion\": 3"), "{json}");
    assert!(json.contains("\"fromAllotment\""), "{json}");
    assert!(json.contains("\"allotmentId\": \"d1-main\""), "{json}");
    let back = wire::parse(&json).expect("round trip");
    assert_eq!(back.actions, p.actions);

    // A move must name both allotments, and they must differ.
    let same = json.replace("\"id\": \"d1-main\"", "\"id\": \"d1-2026\"");
    assert!(matches!(
        wire::parse(&same),
        Err(wire::WireError::InvalidAction { .. })
    ));
    // A move whose `fromAllotment` is not what `before` holds is refused: the delete could
    // otherwise be aimed at another assignment.
    let elsewhere = json.replacen("\"id\": \"d1-main\"", "\"id\": \"d1-users\"", 1);
    assert_ne!(elsewhere, json);
    assert!(matches!(
        wire::parse(&elsewhere),
        Err(wire::WireError::InvalidAction { .. })
    ));
    // `fromAllotment` on another kind is refused.
    let as_update = json
        .replace("\"action\": \"move\"", "\"action\": \"update\"")
        .replace(
            "\"update\": 0,\n    \"move\": 1",
            "\"update\": 1,\n    \"move\": 0",
        );
    assert!(
        matches!(
            wire::parse(&as_update),
            Err(wire::WireError::InvalidAction { .. })
        ),
        "{:?}",
        wire::parse(&as_update).map(|_| ())
    );
    // The summary counts moves.
    let miscounted = json.replace("\"move\": 1", "\"move\": 0");
    assert!(matches!(
        wire::parse(&miscounted),
        Err(wire::WireError::SummaryMismatch)
    ));
}

#[test]
fn cloud_plans_of_older_formats_are_refused_group_plans_still_read() {
    let p = plan(&kiosks_on("sub-2026"), &cloud_live(50, |_| {})).expect("plan");
    let old = render::json(&p).replace("\"formatVersion\": 3", "\"formatVersion\": 2");
    let err = wire::parse(&old).map(|_| ()).expect_err("refused");
    assert!(
        matches!(
            err,
            wire::WireError::CloudPlanWithoutAllotments { found: 2 }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("re-create it with `devlic plan --out`")
    );

    let group = plan(&contoso_spec(), &contoso_live()).expect("plan");
    let old = render::json(&group).replace("\"formatVersion\": 3", "\"formatVersion\": 2");
    assert_eq!(wire::parse(&old).expect("reads").actions, group.actions);
}

#[test]
fn one_group_per_subscription_counts_each_allotment_as_its_own_subscription() {
    let entry = |name: &str, allotment: &str, line: u32| {
        let mut e = present(by_name(name), part("OFFICE_PROPLUS_DEVICE1"), line);
        e.allotment = Some(allotment.to_owned());
        e
    };
    let settings = || Settings {
        backend: devlic_model::BackendSetting::Fixed(Backend::CloudLicensing),
        ..contoso_settings()
    };
    let shared = |p: &devlic_model::Plan| -> Vec<String> {
        p.warnings
            .iter()
            .filter(|w| w.kind == devlic_model::WarningKind::SubscriptionInSeveralGroups)
            .map(|w| w.message.clone())
            .collect()
    };
    let live = cloud_live(50, |_| {});
    // Two purchases of the product, one group each: nothing to warn about.
    let apart = spec(
        vec![
            entry("Kiosks - Front Desk", "sub-main", 3),
            entry("Finance Laptops", "sub-2026", 6),
        ],
        settings(),
    );
    assert_eq!(
        shared(&plan(&apart, &live).expect("plan")),
        Vec::<String>::new()
    );
    // Both on one purchase: the warning names that allotment.
    let together = spec(
        vec![
            entry("Kiosks - Front Desk", "sub-2026", 3),
            entry("Finance Laptops", "sub-2026", 6),
        ],
        settings(),
    );
    let messages = shared(&plan(&together, &live).expect("plan"));
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0].starts_with(
            "OFFICE_PROPLUS_DEVICE1 (allotment d1-2026 (subscription sub-2026)) is assigned to 2 groups"
        ),
        "{}",
        messages[0]
    );
}

#[test]
fn an_older_cloud_snapshot_without_allotment_ids_still_shows_the_drift() {
    let mut live = cloud_live(50, |_| {});
    live.backend = Some(devlic_model::BackendChoice {
        backend: Backend::CloudLicensing,
        reason: "set by --backend cloud-licensing".to_owned(),
        automatic: false,
    });
    let text = wire::snapshot::to_json(&live).expect("snapshot");
    assert!(text.contains("\"allotmentId\": \"d1-main\""), "{text}");
    // As written before snapshots recorded the allotment of each license.
    let mut doc: serde_json::Value = serde_json::from_str(&text).expect("json");
    for g in doc["state"]["groups"]
        .as_object_mut()
        .expect("groups")
        .values_mut()
    {
        for l in g["assignedLicenses"].as_array_mut().expect("licenses") {
            l.as_object_mut().expect("license").remove("allotmentId");
        }
    }
    assert!(!doc.to_string().contains("allotmentId"));
    let read = wire::snapshot::parse(&doc.to_string()).expect("reads");
    assert_eq!(
        read.groups, live.groups,
        "the ids come back from the allotments"
    );
    let p = plan(&kiosks_on("sub-2026"), &read).expect("plan");
    assert_eq!(
        p.actions.iter().map(|a| a.kind).collect::<Vec<_>>(),
        vec![ActionKind::Move]
    );
}
