//! Guards: recorded in the plan, never an error.

use devlic_model::GuardViolation;
use devlic_planner::plan;
use devlic_spec::Settings;

use crate::fixtures::*;

/// Contoso with enough DEVICE1 units for the plan: only the revocation guards are in play
/// (the short tenant's shortfall and swap-without-room are in `license_loss.rs`).
fn roomy_live() -> devlic_model::LiveState {
    let mut live = contoso_live();
    live.skus[0].prepaid_units.enabled = 200;
    live
}

#[test]
fn contoso_trips_the_revoke_share_guard_at_the_default_25_percent() {
    // 25 revoked devices of 91 device-licensed ones (61 + 30 consumed) is 27.5 %.
    let p = plan(&contoso_spec(), &roomy_live()).expect("plan");
    assert_eq!(
        p.guard_violations,
        vec![GuardViolation::RevokeShare {
            devices: 25,
            licensed: 91,
            max_percent: 25
        }]
    );
}

#[test]
fn revoke_share_at_or_under_the_limit_passes() {
    let mut s = contoso_spec();
    s.settings.max_revoke_percent = 28;
    assert!(
        plan(&s, &roomy_live())
            .expect("plan")
            .guard_violations
            .is_empty()
    );
    // 25 * 100 = 2500 > 27 * 91 = 2457
    s.settings.max_revoke_percent = 27;
    assert_eq!(
        plan(&s, &roomy_live())
            .expect("plan")
            .guard_violations
            .len(),
        1
    );
}

#[test]
fn max_revocations() {
    let mut s = contoso_spec();
    s.settings.max_revocations = 0;
    s.settings.max_revoke_percent = 100;
    let p = plan(&s, &roomy_live()).expect("plan");
    assert_eq!(
        p.guard_violations,
        vec![GuardViolation::MaxRevocations {
            revocations: 1,
            max: 0
        }]
    );
    s.settings.max_revocations = 1;
    assert!(
        plan(&s, &roomy_live())
            .expect("plan")
            .guard_violations
            .is_empty()
    );
}

#[test]
fn empty_spec_with_prune() {
    let settings = Settings {
        prune: true,
        max_revocations: 100,
        max_revoke_percent: 100,
        ..Settings::default()
    };
    let p = plan(&spec(Vec::new(), settings.clone()), &contoso_live()).expect("plan");
    assert_eq!(p.guard_violations, vec![GuardViolation::EmptySpec]);
    // Every device-SKU holder is revoked; the user-SKU group is not.
    assert_eq!(p.actions.len(), 5);
    let allowed = Settings {
        allow_empty: true,
        ..settings
    };
    let p = plan(&spec(Vec::new(), allowed), &contoso_live()).expect("plan");
    assert!(p.guard_violations.is_empty());
}

#[test]
fn swaps_are_not_revocations() {
    let mut s = contoso_spec();
    s.assignments
        .retain(|a| a.state == devlic_spec::DesiredState::Present);
    s.settings.max_revocations = 0;
    let p = plan(&s, &roomy_live()).expect("plan");
    assert!(p.guard_violations.is_empty(), "{:?}", p.guard_violations);
}
