//! Table-driven tests of the planning rules: which action each situation yields.

use devlic_model::{ActionKind, Fingerprint, LiveState, Reason};
use devlic_planner::plan;
use devlic_spec::{Assignment, GroupSelector, Settings, SkuSelector};

use crate::fixtures::*;

struct Case {
    name: &'static str,
    setup: fn(&mut LiveState),
    entries: fn() -> Vec<Assignment>,
    settings: fn() -> Settings,
    /// (kind, Contoso group number, SKU part number, swapped-from part number)
    expect: &'static [(ActionKind, u8, &'static str, Option<&'static str>)],
}

fn nothing(_: &mut LiveState) {}

fn default_settings() -> Settings {
    Settings::default()
}

fn pruning() -> Settings {
    Settings {
        prune: true,
        max_revocations: 10,
        ..Settings::default()
    }
}

fn kiosks_extra_disabled(live: &mut LiveState) {
    if let Some(g) = live.groups.get_mut(&cg(1)) {
        g.assigned_licenses[0]
            .disabled_plans
            .insert(plan_id(PLAN_DEVICE1_EXTRA));
    }
}

fn training_holds_both(live: &mut LiveState) {
    if let Some(g) = live.groups.get_mut(&cg(3)) {
        g.assigned_licenses.push(lic(DEVICE1));
    }
}

use ActionKind::*;

const DEV1: &str = "OFFICE_PROPLUS_DEVICE1";
const EDUP: &str = "OFFICE_PROPLUS_DEVICE_EDUCATION";

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "assign to a group holding nothing",
            setup: nothing,
            entries: || vec![present(by_name("Shared PCs - Warehouse"), part(DEV1), 1)],
            settings: default_settings,
            expect: &[(Assign, 2, DEV1, None)],
        },
        Case {
            name: "no action when already in the desired state",
            setup: nothing,
            entries: || vec![present(by_name("Kiosks - Front Desk"), part(DEV1), 1)],
            settings: default_settings,
            expect: &[],
        },
        Case {
            name: "display names match case-insensitively",
            setup: nothing,
            entries: || {
                vec![present(
                    by_name("KIOSKS - front desk"),
                    part("office_proplus_device1"),
                    1,
                )]
            },
            settings: default_settings,
            expect: &[],
        },
        Case {
            name: "group and SKU by id",
            setup: nothing,
            entries: || {
                vec![present(
                    GroupSelector::Id(cg(5)),
                    Some(SkuSelector::Id(sku_id(DEVICE1))),
                    1,
                )]
            },
            settings: default_settings,
            expect: &[],
        },
        Case {
            name: "swap when the group holds another device SKU",
            setup: nothing,
            entries: || vec![present(by_name("Training Center PCs"), part(DEV1), 1)],
            settings: default_settings,
            expect: &[(Swap, 3, DEV1, Some(EDUP))],
        },
        Case {
            name: "swap drops the old SKU when the group holds both",
            setup: training_holds_both,
            entries: || vec![present(by_name("Training Center PCs"), part(DEV1), 1)],
            settings: default_settings,
            expect: &[(Swap, 3, DEV1, Some(EDUP))],
        },
        Case {
            name: "update when disabledPlans differ (disable by name)",
            setup: nothing,
            entries: || {
                vec![with_disabled(
                    present(by_name("Kiosks - Front Desk"), part(DEV1), 1),
                    &["extra_plan"],
                )]
            },
            settings: default_settings,
            expect: &[(Update, 1, DEV1, None)],
        },
        Case {
            name: "update when disabledPlans differ (re-enable)",
            setup: kiosks_extra_disabled,
            entries: || vec![present(by_name("Kiosks - Front Desk"), part(DEV1), 1)],
            settings: default_settings,
            expect: &[(Update, 1, DEV1, None)],
        },
        Case {
            name: "no action when disabledPlans match (by id)",
            setup: kiosks_extra_disabled,
            entries: || {
                vec![with_disabled(
                    present(by_name("Kiosks - Front Desk"), part(DEV1), 1),
                    &[PLAN_DEVICE1_EXTRA],
                )]
            },
            settings: default_settings,
            expect: &[],
        },
        Case {
            name: "state: absent revokes whatever device SKU is held",
            setup: nothing,
            entries: || vec![absent(by_name("Retired Call Center"), None, 1)],
            settings: default_settings,
            expect: &[(Revoke, 4, DEV1, None)],
        },
        Case {
            name: "state: absent with a named SKU that is held",
            setup: nothing,
            entries: || vec![absent(by_name("Retired Call Center"), part(DEV1), 1)],
            settings: default_settings,
            expect: &[(Revoke, 4, DEV1, None)],
        },
        Case {
            name: "state: absent with a named SKU that is not held",
            setup: nothing,
            entries: || vec![absent(by_name("Retired Call Center"), part(EDUP), 1)],
            settings: default_settings,
            expect: &[],
        },
        Case {
            name: "state: absent on a group holding nothing",
            setup: nothing,
            entries: || vec![absent(by_name("Shared PCs - Warehouse"), None, 1)],
            settings: default_settings,
            expect: &[],
        },
        Case {
            name: "prune off: unlisted holders are not touched",
            setup: nothing,
            entries: || vec![present(by_name("Kiosks - Front Desk"), part(DEV1), 1)],
            settings: default_settings,
            expect: &[],
        },
        Case {
            name: "prune on: unlisted holders of device SKUs are revoked, user SKUs are not",
            setup: nothing,
            entries: || vec![present(by_name("Kiosks - Front Desk"), part(DEV1), 1)],
            settings: pruning,
            expect: &[
                (Revoke, 6, DEV1, None),
                (Revoke, 5, DEV1, None),
                (Revoke, 4, DEV1, None),
                (Revoke, 3, EDUP, None),
            ],
        },
        Case {
            name: "a user SKU held next to the device SKU is kept by an assign",
            setup: nothing,
            entries: || vec![present(by_name("All Staff"), part(DEV1), 1)],
            settings: default_settings,
            expect: &[(Assign, 8, DEV1, None)],
        },
        Case {
            name: "settings.deviceSkus makes another SKU a device SKU",
            setup: nothing,
            entries: || vec![present(by_name("All Staff"), part(DEV1), 1)],
            settings: || Settings {
                device_skus: vec![SkuSelector::PartNumber("SPE_E3".to_owned())],
                ..Settings::default()
            },
            expect: &[(Swap, 8, DEV1, Some("SPE_E3"))],
        },
    ]
}

#[test]
fn planning_rules() {
    for case in cases() {
        let mut live = contoso_live();
        (case.setup)(&mut live);
        let spec = spec((case.entries)(), (case.settings)());
        let p = match plan(&spec, &live) {
            Ok(p) => p,
            Err(e) => panic!("{}: unexpected errors:\n{e}", case.name),
        };
        let got: Vec<(ActionKind, devlic_model::GroupId, String, Option<String>)> = p
            .actions
            .iter()
            .map(|a| {
                (
                    a.kind,
                    a.group.id,
                    a.sku.sku_part_number.clone(),
                    a.from_sku.as_ref().map(|s| s.sku_part_number.clone()),
                )
            })
            .collect();
        let want: Vec<_> = case
            .expect
            .iter()
            .map(|(k, g, s, f)| (*k, cg(*g), (*s).to_owned(), f.map(str::to_owned)))
            .collect();
        assert_eq!(got, want, "case: {}", case.name);
        // Planning is idempotent: the state after applying plans to nothing.
        let mut after = live.clone();
        crate::apply(&mut after, &p);
        let again = plan(&spec, &after).expect("re-plan");
        assert!(
            again.actions.is_empty(),
            "case {}: re-plan not empty: {:?}",
            case.name,
            again.actions
        );
    }
}

#[test]
fn contoso_actions_carry_everything_apply_needs() {
    let live = contoso_live();
    let p = plan(&contoso_spec(), &live).expect("plan");
    let kinds: Vec<_> = p
        .actions
        .iter()
        .map(|a| (a.kind, a.group.display_name.as_str()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (Revoke, "Retired Call Center"),
            (Assign, "Shared PCs - Warehouse"),
            (Swap, "Training Center PCs"),
        ]
    );
    let swap = &p.actions[2];
    assert_eq!(swap.group.id, cg(3));
    assert_eq!(swap.sku.sku_id, sku_id(DEVICE1));
    assert_eq!(swap.from_sku.as_ref().map(|s| s.sku_id), Some(sku_id(EDU)));
    assert_eq!(swap.devices, Some(30));
    assert_eq!(
        swap.reason,
        Reason::Desired {
            origin: format!("{SPEC_FILE}:25:5")
        }
    );
    assert_eq!(swap.before, vec![lic(EDU)]);
    assert_eq!(
        swap.before_fingerprint,
        Fingerprint::of_group(cg(3), &[lic(EDU)])
    );
    assert_eq!(swap.removes(), vec![sku_id(EDU)]);
    assert_eq!(
        p.actions[0].reason,
        Reason::Absent {
            origin: format!("{SPEC_FILE}:31:5")
        }
    );
    assert_eq!(
        p.fingerprint,
        Fingerprint::combine(p.actions.iter().map(|a| &a.before_fingerprint))
    );
    let s = p.summary();
    assert_eq!((s.assign, s.revoke, s.swap, s.update), (1, 1, 1, 0));
}

#[test]
fn pruned_revokes_say_so() {
    let spec = spec(
        vec![present(by_name("Kiosks - Front Desk"), part(DEV1), 1)],
        pruning(),
    );
    let p = plan(&spec, &contoso_live()).expect("plan");
    assert!(p.actions.iter().all(|a| a.reason == Reason::Pruned));
}

#[test]
fn update_sends_the_new_disabled_plans() {
    let spec = spec(
        vec![with_disabled(
            present(by_name("Kiosks - Front Desk"), part(DEV1), 1),
            &["EXTRA_PLAN"],
        )],
        Settings::default(),
    );
    let p = plan(&spec, &contoso_live()).expect("plan");
    assert_eq!(p.actions.len(), 1);
    assert_eq!(
        p.actions[0]
            .disabled_plans
            .iter()
            .copied()
            .collect::<Vec<_>>(),
        vec![plan_id(PLAN_DEVICE1_EXTRA)]
    );
}

#[test]
fn groups_written_are_the_action_groups() {
    let p = plan(&contoso_spec(), &contoso_live()).expect("plan");
    assert_eq!(p.groups_written(), vec![cg(2), cg(3), cg(4)]);
}

#[test]
fn steady_state_has_nothing_to_inspect() {
    let p = plan(&contoso_spec(), &contoso_converged()).expect("plan");
    assert!(p.groups_written().is_empty());
}

#[test]
fn member_counts_do_not_change_the_actions() {
    let live = contoso_live();
    let mut blind = live.clone();
    for g in blind.groups.values_mut() {
        g.members = None;
    }
    let a = plan(&contoso_spec(), &live).expect("plan");
    let b = plan(&contoso_spec(), &blind).expect("plan");
    let strip = |p: &devlic_model::Plan| -> Vec<_> {
        p.actions
            .iter()
            .map(|a| (a.kind, a.group.id, a.sku.sku_id))
            .collect()
    };
    assert_eq!(strip(&a), strip(&b));
    assert!(b.actions.iter().all(|a| a.devices.is_none()));
}

/// Display names resolve with ASCII case ignored at any length (the index hashes names in
/// 64-byte pieces), and only ASCII case: `É` and `é` stay different names, as before.
#[test]
fn long_names_resolve_whatever_their_ascii_case() {
    let long = format!(
        "Lab PCs - {} - Building 7",
        "Physics and Chemistry ".repeat(5)
    );
    let mut live = contoso_live();
    let id = devlic_model::GroupId::parse("1a2b3c4d-0042-4a5b-8c6d-000000000042").expect("id");
    live.groups.insert(id, group(id, &long, 4, &[]));
    let accented =
        devlic_model::GroupId::parse("1a2b3c4d-0043-4a5b-8c6d-000000000043").expect("id");
    live.groups
        .insert(accented, group(accented, "Écoles - Salle 1", 2, &[]));

    let p = plan(
        &spec(
            vec![present(by_name(&long.to_uppercase()), part(DEV1), 1)],
            Settings::default(),
        ),
        &live,
    )
    .expect("plan");
    assert_eq!(p.groups_written(), vec![id]);

    let e = plan(
        &spec(
            vec![present(by_name("écoles - salle 1"), part(DEV1), 1)],
            Settings::default(),
        ),
        &live,
    )
    .expect_err("non-ASCII case is not folded");
    assert!(
        e.errors
            .iter()
            .any(|e| matches!(e, devlic_planner::PlanError::GroupNameNotFound { .. })),
        "{e:?}"
    );
}
