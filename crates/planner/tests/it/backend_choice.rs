//! `settings.backend: auto`: the backend chosen from the tenant's allotments, the reason the
//! plan records, and the warning when devlic falls back to group-licensing.

use devlic_model::{
    AllotmentEvidence, Backend, BackendChoice, BackendSetting, LiveState, WarningKind,
};
use devlic_planner::{PlanError, choose_backend, plan, render};
use devlic_spec::{Settings, Spec};

use crate::allotments::live_with;
use crate::fixtures::*;

fn auto_spec(sku: &str) -> Spec {
    spec(
        vec![present(by_name("Shared PCs - Warehouse"), part(sku), 20)],
        Settings {
            backend: BackendSetting::Auto,
            ..contoso_settings()
        },
    )
}

/// A state as the reader leaves it for `auto`: the choice recorded, nothing else.
fn read_for(mut live: LiveState, spec: &Spec) -> LiveState {
    let evidence = AllotmentEvidence::Listed(live.allotments.clone());
    live.backend = Some(choose_backend(Some(spec), &evidence));
    live
}

#[test]
fn a_device_allotment_for_every_assigned_subscription_chooses_cloud_licensing() {
    let s = auto_spec("OFFICE_PROPLUS_DEVICE1");
    let live = read_for(live_with(None), &s);
    let choice = live.backend.clone().expect("recorded");
    assert_eq!(choice.backend, Backend::CloudLicensing);
    assert!(choice.automatic);
    assert!(
        choice.reason.contains("OFFICE_PROPLUS_DEVICE1"),
        "{}",
        choice.reason
    );
    let p = plan(&s, &live).expect("plans");
    assert_eq!(p.backend, Backend::CloudLicensing);
    assert_eq!(p.backend_reason.as_deref(), Some(choice.reason.as_str()));
    assert!(
        p.warnings
            .iter()
            .all(|w| w.kind != WarningKind::UndocumentedBackend)
    );
    // The assign draws from the device allotment, as with `settings.backend: cloud-licensing`.
    assert_eq!(
        p.actions[0].allotment.as_ref().map(|a| a.id.as_str()),
        Some("d1-main")
    );
}

#[test]
fn no_device_allotment_for_a_subscription_chooses_group_licensing_and_says_why() {
    // Only the user/group pool of DEVICE1: not assignable to devices.
    let mut live = live_with(None);
    live.allotments.retain(|a| a.id == "d1-users");
    let s = auto_spec("OFFICE_PROPLUS_DEVICE1");
    let live = read_for(live, &s);
    let p = plan(&s, &live).expect("plans");
    assert_eq!(p.backend, Backend::GroupLicensing);
    let reason = p.backend_reason.clone().expect("reason");
    assert!(
        reason.contains(
            "no cloudLicensing allotment assignable to devices for OFFICE_PROPLUS_DEVICE1"
        ),
        "{reason}"
    );
    let w = p
        .warnings
        .iter()
        .find(|w| w.kind == WarningKind::UndocumentedBackend)
        .expect("the undocumented-route warning");
    assert!(w.message.contains(&reason), "{}", w.message);
    assert!(w.message.contains("assignLicense"), "{}", w.message);
    // Every renderer says which backend and why.
    assert!(render::text(&p, &Default::default()).contains(&reason));
    assert!(render::markdown(&p).contains("OFFICE_PROPLUS_DEVICE1"));
    assert!(render::json(&p).contains("\"backendReason\""));
}

#[test]
fn one_subscription_without_a_device_allotment_is_enough_for_group_licensing() {
    // EDU has a device pool, DEVICE1 only a user one: one backend per plan, so group-licensing.
    let mut live = live_with(None);
    live.allotments.retain(|a| a.id != "d1-main");
    let mut s = auto_spec("OFFICE_PROPLUS_DEVICE1");
    s.assignments.push(present(
        by_name("Training Center PCs"),
        part("OFFICE_PROPLUS_DEVICE_EDUCATION"),
        10,
    ));
    let choice = choose_backend(Some(&s), &AllotmentEvidence::Listed(live.allotments));
    assert_eq!(choice.backend, Backend::GroupLicensing);
    assert!(choice.reason.contains("OFFICE_PROPLUS_DEVICE1"));
    assert!(!choice.reason.contains("EDUCATION"), "{}", choice.reason);
}

#[test]
fn a_403_or_404_on_the_allotments_read_is_evidence_for_group_licensing() {
    for (status, code) in [(403, Some("Authorization_RequestDenied")), (404, None)] {
        let choice = choose_backend(
            Some(&auto_spec("OFFICE_PROPLUS_DEVICE1")),
            &AllotmentEvidence::Unavailable {
                status,
                code: code.map(str::to_owned),
            },
        );
        assert_eq!(choice.backend, Backend::GroupLicensing);
        assert!(
            choice.reason.contains(&status.to_string()),
            "{}",
            choice.reason
        );
        if let Some(code) = code {
            assert!(choice.reason.contains(code), "{}", choice.reason);
        }
    }
}

#[test]
fn without_a_spec_any_device_allotment_of_a_device_subscription_counts() {
    let live = live_with(None);
    let choice = choose_backend(None, &AllotmentEvidence::Listed(live.allotments.clone()));
    assert_eq!(choice.backend, Backend::CloudLicensing);
    let users_only: Vec<_> = live
        .allotments
        .into_iter()
        .filter(|a| a.id == "d1-users")
        .collect();
    let choice = choose_backend(None, &AllotmentEvidence::Listed(users_only));
    assert_eq!(choice.backend, Backend::GroupLicensing);
}

/// A snapshot records the choice without a spec; a live plan makes it from the spec. For the
/// same allotment both say the same thing, so a plan from the snapshot reads like a live one.
#[test]
fn a_snapshot_and_a_live_plan_word_the_same_choice_the_same_way() {
    let live = live_with(None);
    let evidence = AllotmentEvidence::Listed(live.allotments.clone());
    let from_snapshot = choose_backend(None, &evidence);
    let from_spec = choose_backend(Some(&auto_spec("OFFICE_PROPLUS_DEVICE1")), &evidence);
    assert_eq!(from_snapshot, from_spec);
    assert_eq!(
        from_spec.reason,
        "the tenant has a cloudLicensing allotment assignable to devices for \
         OFFICE_PROPLUS_DEVICE1"
    );
    // And the fallback: no device pool for a spec's subscription, or for any device one.
    let users_only = AllotmentEvidence::Listed(
        live.allotments
            .into_iter()
            .filter(|a| a.id == "d1-users")
            .collect(),
    );
    let without_spec = choose_backend(None, &users_only).reason;
    let with_spec = choose_backend(Some(&auto_spec("OFFICE_PROPLUS_DEVICE1")), &users_only).reason;
    assert_eq!(
        without_spec,
        "the tenant has no cloudLicensing allotment assignable to devices for a device \
         subscription (1 allotment(s) listed)"
    );
    assert_eq!(
        with_spec,
        "the tenant has no cloudLicensing allotment assignable to devices for \
         OFFICE_PROPLUS_DEVICE1 (1 allotment(s) listed)"
    );
}

#[test]
fn an_explicit_backend_is_never_second_guessed_and_gets_no_warning() {
    let mut s = auto_spec("OFFICE_PROPLUS_DEVICE1");
    s.settings.backend = BackendSetting::Fixed(Backend::GroupLicensing);
    // A snapshot whose recorded choice was cloud-licensing: the spec's setting wins.
    let live = read_for(live_with(None), &auto_spec("OFFICE_PROPLUS_DEVICE1"));
    let p = plan(&s, &live).expect("plans");
    assert_eq!(p.backend, Backend::GroupLicensing);
    assert_eq!(
        p.backend_reason.as_deref(),
        Some("set by settings.backend: group-licensing")
    );
    assert!(
        p.warnings
            .iter()
            .all(|w| w.kind != WarningKind::UndocumentedBackend)
    );
}

#[test]
fn an_old_snapshot_without_a_recorded_choice_plans_for_group_licensing_with_the_warning() {
    let mut live = contoso_live();
    live.backend = None;
    let p = plan(&auto_spec("OFFICE_PROPLUS_DEVICE1"), &live).expect("plans");
    assert_eq!(p.backend, Backend::GroupLicensing);
    assert!(
        p.backend_reason
            .as_deref()
            .is_some_and(|r| r.contains("records no backend choice"))
    );
    assert_eq!(p.warnings[0].kind, WarningKind::UndocumentedBackend);
}

#[test]
fn an_allotment_in_the_spec_is_an_error_when_auto_chose_group_licensing() {
    let mut s = auto_spec("OFFICE_PROPLUS_DEVICE1");
    s.assignments[0].allotment = Some("d1-main".to_owned());
    let mut live = contoso_live();
    live.backend = Some(BackendChoice {
        backend: Backend::GroupLicensing,
        reason: "GET /beta/admin/cloudLicensing/allotments answered 403".to_owned(),
        automatic: true,
    });
    let errors = plan(&s, &live).expect_err("refused");
    assert!(errors.iter().any(|e| matches!(
        e,
        PlanError::AllotmentWithoutCloudLicensing { reason, .. } if reason.contains("403")
    )));
}

mod one_group_per_subscription {
    use devlic_model::{Backend, BackendSetting, WarningKind};
    use devlic_planner::{PlanError, plan};
    use devlic_spec::{OneGroupPerSubscription, Settings, Spec};

    /// The plan's warnings about one subscription in several groups.
    fn shared_warnings(p: &devlic_model::Plan) -> Vec<&devlic_model::Warning> {
        p.warnings
            .iter()
            .filter(|w| w.kind == WarningKind::SubscriptionInSeveralGroups)
            .collect()
    }

    use crate::allotments::live_with;
    use crate::fixtures::*;

    /// DEVICE1 for two groups, EDU for one.
    fn shared_spec(setting: OneGroupPerSubscription, backend: Backend) -> Spec {
        spec(
            vec![
                present(
                    by_name("Shared PCs - Warehouse"),
                    part("OFFICE_PROPLUS_DEVICE1"),
                    20,
                ),
                present(
                    by_name("Kiosks - Front Desk"),
                    part("OFFICE_PROPLUS_DEVICE1"),
                    24,
                ),
                present(
                    by_name("Training Center PCs"),
                    part("OFFICE_PROPLUS_DEVICE_EDUCATION"),
                    28,
                ),
            ],
            Settings {
                backend: BackendSetting::Fixed(backend),
                one_group_per_subscription: setting,
                ..contoso_settings()
            },
        )
    }

    #[test]
    fn a_subscription_in_two_groups_warns_and_suggests_nesting_on_cloud_licensing() {
        let p = plan(
            &shared_spec(OneGroupPerSubscription::Warn, Backend::CloudLicensing),
            &live_with(None),
        )
        .expect("plans");
        let shared = shared_warnings(&p);
        assert_eq!(shared.len(), 1, "only DEVICE1 is shared: {shared:?}");
        let w = shared[0];
        assert_eq!(
            w.sku.as_ref().map(|s| s.sku_part_number.as_str()),
            Some("OFFICE_PROPLUS_DEVICE1")
        );
        assert!(
            w.message
                .contains("\"Kiosks - Front Desk\", \"Shared PCs - Warehouse\""),
            "{}",
            w.message
        );
        assert!(w.message.contains("nest the others"), "{}", w.message);
    }

    #[test]
    fn on_group_licensing_the_fix_is_one_group_not_nesting() {
        let p = plan(
            &shared_spec(OneGroupPerSubscription::Warn, Backend::GroupLicensing),
            &contoso_live(),
        )
        .expect("plans");
        let w = p
            .warnings
            .iter()
            .find(|w| w.kind == WarningKind::SubscriptionInSeveralGroups)
            .expect("warned");
        assert!(
            w.message
                .contains("does not reach members of nested groups"),
            "{}",
            w.message
        );
    }

    #[test]
    fn error_mode_refuses_each_extra_group_at_its_entry() {
        let errors = plan(
            &shared_spec(OneGroupPerSubscription::Error, Backend::GroupLicensing),
            &contoso_live(),
        )
        .expect_err("refused");
        let shared: Vec<_> = errors
            .iter()
            .filter_map(|e| match e {
                PlanError::SubscriptionInSeveralGroups {
                    origin,
                    group,
                    first,
                    ..
                } => Some((origin.line, group.clone(), first.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(
            shared,
            vec![(
                24,
                "Kiosks - Front Desk".to_owned(),
                "Shared PCs - Warehouse".to_owned()
            )]
        );
    }

    /// Thousands of groups on one subscription (an ordinary large spec) make one warning that
    /// names each group once, in name order.
    #[test]
    fn thousands_of_groups_on_one_subscription_make_one_warning_naming_each_once() {
        const N: usize = 3_000;
        let mut live = contoso_live();
        let mut entries = Vec::new();
        for i in 0..N {
            let id = devlic_model::GroupId::parse(&format!("00000000-0000-4000-8000-{i:012}"))
                .expect("id");
            let name = format!("Bulk {i:05}");
            live.groups.insert(id, group(id, &name, 1, &[]));
            entries.push(present(
                by_name(&name),
                part("OFFICE_PROPLUS_DEVICE1"),
                u32::try_from(i + 1).expect("line"),
            ));
        }
        let p = plan(
            &spec(
                entries,
                Settings {
                    backend: BackendSetting::Fixed(Backend::GroupLicensing),
                    one_group_per_subscription: OneGroupPerSubscription::Warn,
                    ..contoso_settings()
                },
            ),
            &live,
        )
        .expect("plans");
        let shared = shared_warnings(&p);
        assert_eq!(shared.len(), 1);
        let message = &shared[0].message;
        assert!(
            message.contains(&format!("assigned to {N} groups")),
            "{message}"
        );
        assert_eq!(message.matches("\"Bulk 00042\"").count(), 1);
        assert!(
            message.contains("(\"Bulk 00000\", \"Bulk 00001\", "),
            "{message}"
        );
    }

    #[test]
    fn off_says_nothing() {
        let p = plan(
            &shared_spec(OneGroupPerSubscription::Off, Backend::GroupLicensing),
            &contoso_live(),
        )
        .expect("plans");
        assert!(
            p.warnings
                .iter()
                .all(|w| w.kind != WarningKind::SubscriptionInSeveralGroups)
        );
    }
}
