//! Table-driven tests of resolution errors: every problem is reported, each with its origin and
//! a help text.

use devlic_model::{GroupId, LiveState};
use devlic_planner::{PlanError, plan};
use devlic_spec::{Assignment, GroupSelector, Settings, SkuSelector, Spec};

use crate::fixtures::*;

fn errors_of(spec: &Spec, live: &LiveState) -> Vec<PlanError> {
    match plan(spec, live) {
        Ok(p) => panic!(
            "expected errors, got a plan with {} actions",
            p.actions.len()
        ),
        Err(e) => e.errors,
    }
}

fn one(entries: Vec<Assignment>, live: &LiveState) -> PlanError {
    let errs = errors_of(&spec(entries, Settings::default()), live);
    assert_eq!(errs.len(), 1, "{errs:?}");
    errs.into_iter().next().expect("one error")
}

const DEV1: &str = "OFFICE_PROPLUS_DEVICE1";

#[test]
fn tenant_mismatch_is_an_error() {
    let mut s = contoso_spec();
    s.tenant = Some("fabrikam.onmicrosoft.com".to_owned());
    let errs = errors_of(&s, &contoso_live());
    assert!(
        matches!(&errs[0], PlanError::TenantMismatch { spec_tenant, .. } if spec_tenant == "fabrikam.onmicrosoft.com")
    );
    assert!(errs[0].origin().is_none());
    assert!(errs[0].help().contains("contoso.com"));
}

#[test]
fn tenant_matches_by_id_or_any_domain() {
    for t in [CONTOSO_TENANT, "CONTOSO.COM", "contoso.onmicrosoft.com"] {
        let mut s = contoso_spec();
        s.tenant = Some(t.to_owned());
        assert!(plan(&s, &contoso_live()).is_ok(), "{t}");
    }
    let mut s = contoso_spec();
    s.tenant = None;
    assert!(plan(&s, &contoso_live()).is_ok());
}

#[test]
fn each_resolution_error() {
    let live = contoso_live();
    let mut twin = contoso_live();
    let twin_id = GroupId::parse("1a2b3c4d-0009-4a5b-8c6d-000000000009").expect("id");
    twin.groups
        .insert(twin_id, group(twin_id, "Kiosks - Front Desk", 3, &[]));
    let mut two = contoso_live();
    if let Some(g) = two.groups.get_mut(&cg(4)) {
        g.assigned_licenses.push(lic(EDU));
    }

    let e = one(
        vec![present(by_name("Kiosks - Lobby"), part(DEV1), 7)],
        &live,
    );
    assert!(matches!(&e, PlanError::GroupNameNotFound { name, .. } if name == "Kiosks - Lobby"));
    assert_eq!(e.origin(), Some(&origin(7)));

    let e = one(
        vec![present(by_name("kiosks - front desk"), part(DEV1), 7)],
        &twin,
    );
    match &e {
        PlanError::AmbiguousGroupName { candidates, .. } => {
            assert_eq!(candidates, &vec![cg(1), twin_id])
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains(&twin_id.to_string()));
    assert!(e.help().contains("{id: "));

    let missing = GroupId::parse("00000000-0000-4000-8000-000000000000").expect("id");
    let e = one(
        vec![present(GroupSelector::Id(missing), part(DEV1), 7)],
        &live,
    );
    assert!(matches!(e, PlanError::GroupIdNotFound { id, .. } if id == missing));

    let e = one(
        vec![present(
            by_name("Kiosks - Front Desk"),
            part("VISIOCLIENT"),
            7,
        )],
        &live,
    );
    match &e {
        PlanError::SubscriptionNotInTenant { device_skus, .. } => {
            let names: Vec<_> = device_skus
                .iter()
                .map(|s| s.sku_part_number.as_str())
                .collect();
            assert_eq!(
                names,
                vec!["OFFICE_PROPLUS_DEVICE1", "OFFICE_PROPLUS_DEVICE_EDUCATION"]
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(e.help().contains("OFFICE_PROPLUS_DEVICE_EDUCATION"));

    let e = one(
        vec![present(by_name("All Staff"), part("SPE_E3"), 7)],
        &live,
    );
    assert!(matches!(e, PlanError::NotADeviceSku { .. }));
    let e = one(
        vec![present(
            by_name("All Staff"),
            Some(SkuSelector::Id(sku_id(E3))),
            7,
        )],
        &live,
    );
    assert!(matches!(e, PlanError::NotADeviceSku { .. }));

    let e = one(
        vec![with_disabled(
            present(by_name("Kiosks - Front Desk"), part(DEV1), 7),
            &["EXCHANGE_S_STANDARD"],
        )],
        &live,
    );
    match &e {
        PlanError::UnknownDisabledPlan { plan, known, .. } => {
            assert_eq!(plan, "EXCHANGE_S_STANDARD");
            assert_eq!(
                known,
                &vec!["EXTRA_PLAN".to_owned(), "OFFICE_PROPLUS_DEVICE".to_owned()]
            );
        }
        other => panic!("{other:?}"),
    }
    // A plan id of another SKU is unknown too.
    let e = one(
        vec![with_disabled(
            present(by_name("Kiosks - Front Desk"), part(DEV1), 7),
            &[PLAN_EDU],
        )],
        &live,
    );
    assert!(matches!(e, PlanError::UnknownDisabledPlan { .. }));

    let e = one(vec![absent(by_name("Retired Call Center"), None, 7)], &two);
    match &e {
        PlanError::ConflictingDeviceSkus {
            origin: o, skus, ..
        } => {
            assert_eq!(o.as_ref(), Some(&origin(7)));
            assert_eq!(skus.len(), 2);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn same_group_by_name_and_by_id() {
    let entries = vec![
        present(by_name("Finance Laptops"), part(DEV1), 10),
        present(GroupSelector::Id(cg(5)), part(DEV1), 20),
    ];
    let e = one(entries, &contoso_live());
    match &e {
        PlanError::DuplicateGroup {
            origin: o,
            first_origin,
            id,
            ..
        } => {
            assert_eq!(o, &origin(20));
            assert_eq!(first_origin, &origin(10));
            assert_eq!(*id, cg(5));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_error_is_reported_at_once() {
    let mut s = spec(
        vec![
            present(by_name("Nope"), part(DEV1), 1),
            present(by_name("Kiosks - Front Desk"), part("SPE_E3"), 2),
            present(by_name("Nope either"), part("VISIO"), 3),
            present(by_name("Shared PCs - Warehouse"), part(DEV1), 4),
        ],
        Settings::default(),
    );
    s.tenant = Some("fabrikam.com".to_owned());
    let errs = errors_of(&s, &contoso_live());
    let lines: Vec<Option<u32>> = errs.iter().map(|e| e.origin().map(|o| o.line)).collect();
    // Tenant first, then entries in file order; an entry with two problems reports both.
    assert_eq!(lines, vec![None, Some(1), Some(2), Some(3), Some(3)]);
    let shown = devlic_planner::PlanErrors { errors: errs }.to_string();
    assert_eq!(shown.matches("error: ").count(), 5);
    assert_eq!(shown.matches("  help: ").count(), 5);
}

#[test]
fn pruning_a_group_with_two_device_skus_is_an_error_without_origin() {
    let mut live = contoso_live();
    if let Some(g) = live.groups.get_mut(&cg(6)) {
        g.assigned_licenses.push(lic(EDU));
    }
    let s = spec(
        vec![present(by_name("Kiosks - Front Desk"), part(DEV1), 1)],
        Settings {
            prune: true,
            ..Settings::default()
        },
    );
    let errs = errors_of(&s, &live);
    assert!(errs.iter().any(
        |e| matches!(e, PlanError::ConflictingDeviceSkus { origin: None, id, .. } if *id == cg(6))
    ));
}

#[test]
fn a_name_that_matches_only_without_invisible_characters_is_an_error_that_says_so() {
    let live = contoso_live();
    // The tenant has "Kiosks - Front Desk"; the spec's name has a zero-width space and a
    // no-break space in it.
    for name in ["Kiosks\u{200b} - Front Desk", "Kiosks -\u{a0}Front Desk"] {
        let e = one(vec![present(by_name(name), part(DEV1), 7)], &live);
        match &e {
            PlanError::LookalikeGroupName {
                name: n,
                tenant_name,
                ..
            } => {
                assert_eq!(
                    (n.as_str(), tenant_name.as_str()),
                    (name, "Kiosks - Front Desk")
                );
            }
            other => panic!("{name:?}: {other:?}"),
        }
        assert!(e.to_string().contains("looks the same"), "{e}");
        assert_eq!(e.origin(), Some(&origin(7)));
    }
}
