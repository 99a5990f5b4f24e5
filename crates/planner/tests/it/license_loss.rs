//! Green means licensed: the one license-loss rule, the shortfall guard, unlicensed devices as
//! drift, user subscriptions declared as device ones, and re-checking a saved plan.

use devlic_model::{ActionKind, GuardSettings, GuardViolation, LicenseErrorMember, MemberCounts};
use devlic_planner::{PlanError, plan, recheck};

use crate::fixtures::*;

/// Contoso with enough DEVICE1 units for the whole plan.
fn roomy() -> devlic_model::LiveState {
    let mut live = contoso_live();
    live.skus[0].prepaid_units.enabled = 200;
    live
}

#[test]
fn contoso_is_short_and_says_how_many_devices_and_where() {
    let p = plan(&contoso_spec(), &contoso_live()).expect("plan");
    let shortfall = p
        .guard_violations
        .iter()
        .find_map(|g| match g {
            GuardViolation::Shortfall {
                sku,
                devices,
                groups,
                ..
            } => Some((sku.sku_part_number.clone(), *devices, groups.clone())),
            _ => None,
        })
        .expect("a shortfall guard");
    assert_eq!(shortfall.0, "OFFICE_PROPLUS_DEVICE1");
    assert_eq!(shortfall.1, 6);
    let names: Vec<&str> = shortfall
        .2
        .iter()
        .map(|g| g.display_name.as_str())
        .collect();
    assert_eq!(names, ["Shared PCs - Warehouse", "Training Center PCs"]);
    // The swap into the short subscription counts as taking the apps away: with the revoke,
    // two actions against maxRevocations 1.
    assert!(
        p.guard_violations
            .contains(&GuardViolation::MaxRevocations {
                revocations: 2,
                max: 1
            })
    );
    // A shortfall is a guard, not a warning any more.
    assert!(
        p.warnings.iter().all(|w| !w.message.contains("short by")),
        "{:?}",
        p.warnings
    );
}

#[test]
fn a_swap_with_room_is_not_a_revocation() {
    let p = plan(&contoso_spec(), &roomy()).expect("plan");
    assert!(
        p.guard_violations
            .iter()
            .all(|g| !matches!(g, GuardViolation::Shortfall { .. })),
        "{:?}",
        p.guard_violations
    );
    let losses = devlic_planner::license_losses(&p.actions, &p.capacity, &roomy());
    assert_eq!(losses.len(), 1, "only the revoke: {losses:?}");
    assert_eq!(losses[0].cause, devlic_planner::LossCause::Revoke);
}

#[test]
fn disabling_office_on_a_group_that_keeps_its_subscription_is_a_loss() {
    let s = spec(
        vec![with_disabled(
            present(
                by_name("Kiosks - Front Desk"),
                part("OFFICE_PROPLUS_DEVICE1"),
                3,
            ),
            &["OFFICE_PROPLUS_DEVICE"],
        )],
        devlic_spec::Settings::default(),
    );
    let p = plan(&s, &contoso_live()).expect("plan");
    assert_eq!(p.actions.len(), 1);
    assert_eq!(p.actions[0].kind, ActionKind::Update);
    assert!(
        p.guard_violations
            .contains(&GuardViolation::MaxRevocations {
                revocations: 1,
                max: 0
            })
    );
    // Disabling another plan is not.
    let s = spec(
        vec![with_disabled(
            present(
                by_name("Kiosks - Front Desk"),
                part("OFFICE_PROPLUS_DEVICE1"),
                3,
            ),
            &["EXTRA_PLAN"],
        )],
        devlic_spec::Settings::default(),
    );
    assert!(
        plan(&s, &contoso_live())
            .expect("plan")
            .guard_violations
            .is_empty()
    );
}

#[test]
fn an_unknown_device_count_fails_closed() {
    let mut live = roomy();
    live.groups.get_mut(&cg(4)).expect("call center").members = None;
    let mut s = contoso_spec();
    s.settings.max_revoke_percent = 100;
    let p = plan(&s, &live).expect("plan");
    let unknown: Vec<&str> = p
        .guard_violations
        .iter()
        .flat_map(|g| match g {
            GuardViolation::UnknownDeviceCount { groups } => {
                groups.iter().map(|g| g.display_name.as_str()).collect()
            }
            _ => Vec::new(),
        })
        .collect();
    assert_eq!(unknown, ["Retired Call Center"]);
}

#[test]
fn devices_left_unlicensed_are_drift_with_the_reason() {
    let mut live = contoso_converged();
    let warehouse = live.groups.get_mut(&cg(2)).expect("warehouse");
    warehouse.license_errors = Some(
        (0..6)
            .map(|i| LicenseErrorMember {
                id: format!("device-{i}"),
                kind: "device".to_owned(),
                display_name: None,
                error: None,
            })
            .collect(),
    );
    // The subscription has no free unit: the missing code is inferred as CountViolation.
    live.skus[0].consumed_units = live.skus[0].prepaid_units.enabled;
    let p = plan(&contoso_spec(), &live).expect("plan");
    assert!(p.actions.is_empty());
    assert!(!p.is_converged());
    assert_eq!(p.unlicensed_devices(), 6);
    assert_eq!(p.unlicensed[0].group.display_name, "Shared PCs - Warehouse");
    assert_eq!(p.unlicensed[0].causes[0].code, "CountViolation");
    assert!(p.unlicensed[0].causes[0].inferred);
    assert!(
        devlic_planner::render::summary_line(&p).starts_with("No changes to write, but 6 devices"),
        "{}",
        devlic_planner::render::summary_line(&p)
    );
}

#[test]
fn a_user_subscription_declared_as_a_device_one_is_an_error_with_the_evidence() {
    let mut live = contoso_live();
    live.skus[2].applies_to = Some("User".to_owned());
    let mut s = contoso_spec();
    s.settings.device_skus = vec![devlic_model::SkuSelector::PartNumber("SPE_E3".to_owned())];
    let errors = plan(&s, &live).expect_err("a user SKU is refused");
    assert!(
        errors.iter().any(|e| matches!(
            e,
            PlanError::UserSkuDeclaredAsDevice { sku, evidence }
                if sku.sku_part_number == "SPE_E3" && evidence.contains("appliesTo: User")
        )),
        "{errors}"
    );
}

#[test]
fn a_saved_plan_is_rechecked_from_the_tenant_not_from_the_file() {
    let live = roomy();
    let mut s = contoso_spec();
    s.settings.max_revocations = 5;
    s.settings.max_revoke_percent = 100;
    let mut saved = plan(&s, &live).expect("plan");
    assert!(saved.guard_violations.is_empty());
    // Tampering: looser thresholds, inflated and deflated counts, no guards.
    saved.guard_settings.max_revocations = 50;
    for a in &mut saved.actions {
        a.devices = Some(0);
    }
    let checked = recheck(
        &saved,
        &live,
        saved.guard_settings.stricter(GuardSettings::default()),
        &[],
    )
    .expect("recheck");
    assert!(
        checked
            .guard_violations
            .contains(&GuardViolation::MaxRevocations {
                revocations: 1,
                max: 0
            })
    );
    assert_eq!(
        checked
            .actions
            .iter()
            .find(|a| a.kind == ActionKind::Revoke)
            .and_then(|a| a.devices),
        Some(25),
        "device counts come from the tenant"
    );
}

#[test]
fn a_saved_plan_that_swaps_in_a_user_subscription_is_refused() {
    let live = roomy();
    let mut saved = plan(&contoso_spec(), &live).expect("plan");
    let swap = saved
        .actions
        .iter_mut()
        .find(|a| a.kind == ActionKind::Swap)
        .expect("a swap");
    swap.sku.sku_id = sku_id(E3);
    swap.sku.sku_part_number = "OFFICE_PROPLUS_DEVICE1".to_owned(); // the file lies
    let errors = recheck(&saved, &live, GuardSettings::default(), &[]).expect_err("refused");
    assert!(
        errors.iter().any(|e| matches!(
            e,
            PlanError::SavedPlanNotDeviceSku { sku, .. } if sku.sku_part_number == "SPE_E3"
        )),
        "{errors}"
    );
}

#[test]
fn an_already_applied_action_of_a_saved_plan_takes_no_units_again() {
    let live = contoso_live();
    let mut s = contoso_spec();
    s.settings.max_revocations = 5;
    s.settings.max_revoke_percent = 100;
    let saved = plan(&s, &live).expect("plan");
    // After a partial apply: the warehouse already holds DEVICE1.
    let mut after = live.clone();
    let warehouse = after.groups.get_mut(&cg(2)).expect("warehouse");
    warehouse.assigned_licenses = vec![lic(DEVICE1)];
    warehouse.members = Some(MemberCounts {
        devices: 40,
        non_devices: 0,
        groups: 0,
    });
    after.skus[0].consumed_units += 40;
    let settings = devlic_planner::guard_settings(&s);
    let checked = recheck(&saved, &after, settings, &[]).expect("recheck");
    let line = checked
        .capacity
        .iter()
        .find(|l| l.sku.sku_part_number == "OFFICE_PROPLUS_DEVICE1")
        .expect("a DEVICE1 line");
    assert_eq!(
        line.newly_licensed, 30,
        "only the swap still takes units: {line:?}"
    );
}

/// Contoso converged, with `n` of the warehouse's devices unlicensed for lack of units.
fn warehouse_short_by(n: usize) -> devlic_model::LiveState {
    let mut live = contoso_converged();
    let warehouse = live.groups.get_mut(&cg(2)).expect("warehouse");
    warehouse.license_errors = Some(
        (0..n)
            .map(|i| LicenseErrorMember {
                id: format!("device-{i}"),
                kind: "device".to_owned(),
                display_name: None,
                error: Some("CountViolation".to_owned()),
            })
            .collect(),
    );
    live
}

#[test]
fn a_saved_plans_unlicensed_list_is_read_again_from_the_tenant() {
    let saved = plan(&contoso_spec(), &warehouse_short_by(6)).expect("plan");
    assert_eq!(saved.unlicensed_devices(), 6);

    // Units were added since: the tenant licenses every warehouse device.
    let fixed = warehouse_short_by(0);
    let checked = recheck(&saved, &fixed, GuardSettings::default(), &[]).expect("recheck");
    assert!(checked.unlicensed.is_empty(), "{:?}", checked.unlicensed);
    assert!(checked.is_converged());

    // A file that under-reports (1 instead of 6) gets the tenant's count, not its own.
    let mut tampered = saved.clone();
    tampered.unlicensed[0].devices = 1;
    tampered.unlicensed[0].causes[0].devices = 1;
    let checked = recheck(
        &tampered,
        &warehouse_short_by(6),
        GuardSettings::default(),
        &[],
    )
    .expect("recheck");
    assert_eq!(checked.unlicensed_devices(), 6);
    assert_eq!(checked.unlicensed[0].causes[0].code, "CountViolation");

    // Errors that were not read keep the file's entry: the verdict fails closed.
    let mut unread = warehouse_short_by(0);
    unread
        .groups
        .get_mut(&cg(2))
        .expect("warehouse")
        .license_errors = None;
    let checked = recheck(&saved, &unread, GuardSettings::default(), &[]).expect("recheck");
    assert_eq!(checked.unlicensed_devices(), 6);

    // A group the tenant no longer has has no devices to license.
    let mut gone = warehouse_short_by(6);
    gone.groups.remove(&cg(2));
    let checked = recheck(&saved, &gone, GuardSettings::default(), &[]).expect("recheck");
    assert!(checked.unlicensed.is_empty());
}
