//! The Northwind school district of the shared scenario: an Education-only tenant with
//! `prune: true` and `maxRevocations: 0`.

use std::collections::BTreeMap;

use devlic_model::{
    ActionKind, GroupId, LiveState, MemberCounts, StateSource, TenantInfo, WarningKind,
};
use devlic_planner::plan;
use devlic_spec::{Settings, Spec};

use crate::fixtures::*;

const FACULTY: &str = "94763226-9b3c-4e75-a931-5c89701abe66";
const STUDENT: &str = "314c4481-f395-4525-be8b-2ec4bb1e9d91";

fn ng(n: u8) -> GroupId {
    GroupId::parse(&format!("2b3c4d5e-000{n}-4b6c-9d7e-00000000000{n}")).expect("id")
}

fn northwind() -> (Spec, LiveState) {
    let mut music = group(ng(5), "Lab - Music", 25, &[]);
    music.members = Some(MemberCounts {
        devices: 25,
        non_devices: 2,
        groups: 0,
    });
    let mut teachers = group(ng(6), "Teachers", 0, &[FACULTY]);
    teachers.members = Some(MemberCounts {
        devices: 0,
        non_devices: 150,
        groups: 0,
    });
    let groups = vec![
        group(ng(1), "Lab - Science Building", 60, &[EDU]),
        group(ng(2), "Lab - Library", 45, &[EDU]),
        group(ng(3), "Library Kiosks", 8, &[EDU]),
        group(ng(4), "Lab - Art Room", 30, &[]),
        music,
        teachers,
    ];
    let live = LiveState {
        tenant: TenantInfo {
            id: "8a7b6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c5d".into(),
            display_name: Some("Northwind School District".into()),
            domains: vec![
                "northwindschools.onmicrosoft.com".into(),
                "northwindschools.org".into(),
            ],
        },
        source: StateSource::Graph {
            graph_url: "https://graph.microsoft.com".into(),
        },
        taken_at: "2026-11-20T08:00:00Z".parse().expect("ts"),
        skus: vec![
            sku(
                EDU,
                "OFFICE_PROPLUS_DEVICE_EDUCATION",
                200,
                113,
                &[(PLAN_EDU, "OFFICE_PROPLUS_DEVICE_EDUCATION")],
            ),
            sku(FACULTY, "STANDARDWOFFPACK_FACULTY", 300, 180, &[]),
            sku(STUDENT, "STANDARDWOFFPACK_STUDENT", 3000, 2400, &[]),
        ],
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
    };
    let names = [
        "Lab - Science Building",
        "Lab - Library",
        "Library Kiosks",
        "Lab - Art Room",
        "Lab - Music",
    ];
    let entries = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            present(
                by_name(n),
                part("OFFICE_PROPLUS_DEVICE_EDUCATION"),
                5 + 3 * i as u32,
            )
        })
        .collect();
    let mut s = spec(
        entries,
        Settings {
            prune: true,
            max_revocations: 0,
            ..Settings::default()
        },
    );
    s.tenant = Some("northwindschools.org".into());
    (s, live)
}

#[test]
fn two_assigns_no_revokes_and_a_non_device_warning() {
    let (s, live) = northwind();
    let p = plan(&s, &live).expect("plan");
    let got: Vec<_> = p
        .actions
        .iter()
        .map(|a| (a.kind, a.group.id, a.devices))
        .collect();
    assert_eq!(
        got,
        vec![
            (ActionKind::Assign, ng(4), Some(30)),
            (ActionKind::Assign, ng(5), Some(25))
        ]
    );
    assert!(p.guard_violations.is_empty());
    let kinds: Vec<_> = p
        .warnings
        .iter()
        .map(|w| (w.kind, w.group.as_ref().map(|g| g.id)))
        .collect();
    // The labs share one education subscription: Microsoft's docs allow one group per device
    // subscription, so the plan says so.
    assert_eq!(
        kinds,
        vec![
            (WarningKind::NonDeviceMembers, Some(ng(5))),
            (WarningKind::SubscriptionInSeveralGroups, None)
        ]
    );
    // 200 - 113 - 55 = 32 left: no capacity warning.
    assert_eq!(p.capacity.len(), 1);
    assert_eq!(p.capacity[0].available_after, 32);
}
