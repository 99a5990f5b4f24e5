//! Property tests over random tenants and specs.

use std::collections::{BTreeMap, BTreeSet};

use devlic_model::{GroupId, LiveState, MemberCounts, StateSource, TenantInfo};
use devlic_planner::{plan, render, wire};
use devlic_spec::{Assignment, GroupSelector, Settings, SkuSelector, Spec};
use proptest::prelude::*;

use crate::fixtures::*;

/// What a random group holds before planning.
#[derive(Debug, Clone, Copy)]
enum Holds {
    Nothing,
    Device1,
    Device1Trimmed,
    Edu,
}

/// What a random spec says about a group.
#[derive(Debug, Clone, Copy)]
enum Wants {
    Unlisted,
    Device1,
    Device1Trimmed,
    Edu,
    AbsentAny,
    AbsentDevice1,
}

#[derive(Debug, Clone)]
struct World {
    live: LiveState,
    spec: Spec,
}

fn gid(i: usize) -> GroupId {
    GroupId::parse(&format!("00000000-0000-4000-8000-{i:012}")).expect("id")
}

fn world(groups: Vec<(Holds, bool, Option<u64>, Wants, bool)>, prune: bool) -> World {
    let mut map = BTreeMap::new();
    let mut assignments = Vec::new();
    for (i, (holds, has_e3, devices, wants, by_id)) in groups.into_iter().enumerate() {
        let id = gid(i);
        // Names collide in case only, to exercise case-insensitive matching without ambiguity.
        let name = format!("Group {i}");
        let mut held: Vec<&str> = match holds {
            Holds::Nothing => vec![],
            Holds::Device1 | Holds::Device1Trimmed => vec![DEVICE1],
            Holds::Edu => vec![EDU],
        };
        if has_e3 {
            held.push(E3);
        }
        let mut g = group(id, &name, devices.unwrap_or(0), &held);
        g.members = devices.map(|d| MemberCounts {
            devices: d,
            non_devices: 0,
            groups: 0,
        });
        if matches!(holds, Holds::Device1Trimmed) {
            g.assigned_licenses[0]
                .disabled_plans
                .insert(plan_id(PLAN_DEVICE1_EXTRA));
        }
        map.insert(id, g);
        let sel = if by_id {
            GroupSelector::Id(id)
        } else {
            GroupSelector::Name(name.to_uppercase())
        };
        let line = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let entry = match wants {
            Wants::Unlisted => None,
            Wants::Device1 => Some(present(sel, part("OFFICE_PROPLUS_DEVICE1"), line)),
            Wants::Device1Trimmed => Some(with_disabled(
                present(sel, Some(SkuSelector::Id(sku_id(DEVICE1))), line),
                &["EXTRA_PLAN"],
            )),
            Wants::Edu => Some(present(sel, part("office_proplus_device_education"), line)),
            Wants::AbsentAny => Some(absent(sel, None, line)),
            Wants::AbsentDevice1 => Some(absent(sel, part("OFFICE_PROPLUS_DEVICE1"), line)),
        };
        assignments.extend(entry);
    }
    let live = LiveState {
        tenant: TenantInfo {
            id: CONTOSO_TENANT.into(),
            display_name: None,
            domains: vec!["contoso.onmicrosoft.com".into()],
        },
        source: StateSource::Snapshot {
            graph_url: "https://graph.microsoft.com".into(),
        },
        taken_at: "2026-11-20T08:00:00Z".parse().expect("ts"),
        skus: contoso_skus(),
        groups: map,
        allotments: Vec::new(),
        // Read for group-licensing, as `--backend group-licensing` records it.
        backend: Some(devlic_model::BackendChoice {
            backend: devlic_model::Backend::GroupLicensing,
            reason: "set by --backend group-licensing".to_owned(),
            automatic: false,
        }),
    };
    let settings = Settings {
        prune,
        allow_empty: true,
        ..Settings::default()
    };
    World {
        live,
        spec: spec(assignments, settings),
    }
}

fn holds() -> impl Strategy<Value = Holds> {
    prop_oneof![
        Just(Holds::Nothing),
        Just(Holds::Device1),
        Just(Holds::Device1Trimmed),
        Just(Holds::Edu)
    ]
}

fn wants() -> impl Strategy<Value = Wants> {
    prop_oneof![
        Just(Wants::Unlisted),
        Just(Wants::Device1),
        Just(Wants::Device1Trimmed),
        Just(Wants::Edu),
        Just(Wants::AbsentAny),
        Just(Wants::AbsentDevice1),
    ]
}

fn worlds() -> impl Strategy<Value = World> {
    (
        prop::collection::vec(
            (
                holds(),
                any::<bool>(),
                prop::option::of(0u64..500),
                wants(),
                any::<bool>(),
            ),
            0..12,
        ),
        any::<bool>(),
    )
        .prop_map(|(groups, prune)| world(groups, prune))
}

fn named(spec: &Spec) -> BTreeSet<GroupId> {
    spec.assignments
        .iter()
        .filter_map(|a: &Assignment| match &a.group {
            GroupSelector::Id(id) => Some(*id),
            GroupSelector::Name(n) => n
                .strip_prefix("GROUP ")
                .and_then(|i| i.parse().ok())
                .map(gid),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn applying_a_plan_converges(w in worlds()) {
        let p = plan(&w.spec, &w.live).expect("random worlds always resolve");
        let mut after = w.live.clone();
        crate::apply(&mut after, &p);
        let again = plan(&w.spec, &after).expect("re-plan");
        prop_assert!(again.actions.is_empty(), "re-plan: {:?}", again.actions);
    }

    #[test]
    fn nothing_outside_the_spec_is_touched_without_prune(w in worlds()) {
        let p = plan(&w.spec, &w.live).expect("plan");
        if !w.spec.settings.prune {
            let named = named(&w.spec);
            for a in &p.actions {
                prop_assert!(named.contains(&a.group.id), "{:?} is not in the spec", a.group);
            }
        }
    }

    #[test]
    fn at_most_one_device_sku_per_group_after_applying(w in worlds()) {
        let p = plan(&w.spec, &w.live).expect("plan");
        let mut after = w.live.clone();
        crate::apply(&mut after, &p);
        let device: BTreeSet<_> = [sku_id(DEVICE1), sku_id(EDU)].into();
        for g in after.groups.values() {
            prop_assert!(g.held(&device).count() <= 1, "{} holds {:?}", g.display_name, g.assigned_licenses);
        }
    }

    #[test]
    fn deterministic_under_permutation(
        (w, order) in worlds().prop_flat_map(|w| {
            let n = w.spec.assignments.len();
            (Just(w), Just((0..n).collect::<Vec<usize>>()).prop_shuffle())
        })
    ) {
        let p = plan(&w.spec, &w.live).expect("plan");
        let mut shuffled = w.spec.clone();
        shuffled.assignments = order.iter().map(|&i| w.spec.assignments[i].clone()).collect();
        let q = plan(&shuffled, &w.live).expect("plan");
        prop_assert_eq!(&p, &q);
        prop_assert_eq!(render::json(&p), render::json(&q));
    }

    /// The CLI plans once without member counts, reads them for the groups written only, and
    /// keeps the first plan when there are none: that is sound only if counts change no action.
    #[test]
    fn member_counts_change_no_action(w in worlds()) {
        let with = plan(&w.spec, &w.live).expect("plan");
        let mut bare = w.live.clone();
        for g in bare.groups.values_mut() {
            g.members = None;
            g.license_errors = None;
            g.license_processing_state = None;
        }
        let without = plan(&w.spec, &bare).expect("plan without counts");
        let writes = |p: &devlic_model::Plan| -> Vec<_> {
            p.actions
                .iter()
                .map(|a| (a.kind, a.group.clone(), a.sku.clone(), a.from_sku.clone(), a.disabled_plans.clone()))
                .collect()
        };
        prop_assert_eq!(writes(&with), writes(&without));
        prop_assert_eq!(&with.fingerprint, &without.fingerprint);
        prop_assert_eq!(with.groups_written(), without.groups_written());
    }

    #[test]
    fn wire_round_trip(w in worlds()) {
        let p = plan(&w.spec, &w.live).expect("plan");
        let back = wire::parse(&render::json(&p)).expect("parse");
        prop_assert_eq!(back, p);
    }
}
