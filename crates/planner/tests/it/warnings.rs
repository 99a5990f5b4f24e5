//! Table-driven tests of warnings: each situation yields its warning, and none blocks the plan.

use devlic_model::{
    CapabilityStatus, LicenseErrorMember, LiveState, MemberCounts, ProcessingState, StateSource,
    WarningKind,
};
use devlic_planner::plan;
use devlic_spec::{Assignment, Settings};

use crate::fixtures::*;

const DEV1: &str = "OFFICE_PROPLUS_DEVICE1";

struct Case {
    name: &'static str,
    setup: fn(&mut LiveState),
    entries: fn() -> Vec<Assignment>,
    kind: WarningKind,
    /// Contoso group the warning is about (0 = none).
    group: u8,
    contains: &'static str,
}

fn warehouse() -> Vec<Assignment> {
    vec![present(by_name("Shared PCs - Warehouse"), part(DEV1), 3)]
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "Unified group",
            setup: |_| {},
            entries: || vec![present(by_name("Marketing Team"), part(DEV1), 3)],
            kind: WarningKind::UnsupportedGroupType,
            group: 7,
            contains: "Microsoft 365 (Unified) group",
        },
        Case {
            name: "distribution list",
            setup: |l| {
                if let Some(g) = l.groups.get_mut(&cg(2)) {
                    g.security_enabled = false;
                    g.mail_enabled = true;
                }
            },
            entries: warehouse,
            kind: WarningKind::NotSecurityGroup,
            group: 2,
            contains: "distribution list",
        },
        Case {
            name: "mail-enabled security group",
            setup: |l| {
                if let Some(g) = l.groups.get_mut(&cg(2)) {
                    g.mail_enabled = true;
                }
            },
            entries: warehouse,
            kind: WarningKind::NotSecurityGroup,
            group: 2,
            contains: "mail-enabled",
        },
        Case {
            name: "non-device members",
            setup: |l| {
                if let Some(g) = l.groups.get_mut(&cg(2)) {
                    g.members = Some(MemberCounts {
                        devices: 40,
                        non_devices: 2,
                        groups: 0,
                    });
                }
            },
            entries: warehouse,
            kind: WarningKind::NonDeviceMembers,
            group: 2,
            contains: "2 members that are not devices",
        },
        Case {
            name: "nested groups",
            setup: |l| {
                if let Some(g) = l.groups.get_mut(&cg(2)) {
                    g.members = Some(MemberCounts {
                        devices: 40,
                        non_devices: 0,
                        groups: 1,
                    });
                }
            },
            entries: warehouse,
            kind: WarningKind::NestedGroups,
            group: 2,
            contains: "1 nested group;",
        },
        Case {
            // Errors on a group the spec keeps licensed are drift (`Plan::unlicensed`, see
            // license_loss.rs); on a group the plan revokes they stay a warning.
            name: "license errors on a revoked group",
            setup: |l| {
                if let Some(g) = l.groups.get_mut(&cg(4)) {
                    g.license_errors = Some(vec![
                        LicenseErrorMember {
                            id: "d1".into(),
                            kind: "device".into(),
                            display_name: None,
                            error: Some("CountViolation".into()),
                        },
                        LicenseErrorMember {
                            id: "d2".into(),
                            kind: "device".into(),
                            display_name: None,
                            error: Some("CountViolation".into()),
                        },
                    ]);
                }
            },
            entries: || vec![absent(by_name("Retired Call Center"), None, 3)],
            kind: WarningKind::LicenseErrors,
            group: 4,
            contains: "2 members with license errors from the last processing: 2 CountViolation (not enough licenses",
        },
        Case {
            name: "processing pending on a revoked group",
            setup: |l| {
                if let Some(g) = l.groups.get_mut(&cg(4)) {
                    g.license_processing_state = Some(ProcessingState::QueuedForProcessing);
                }
            },
            entries: || vec![absent(by_name("Retired Call Center"), None, 3)],
            kind: WarningKind::ProcessingPending,
            group: 4,
            contains: "QueuedForProcessing",
        },
        Case {
            name: "unmanaged holder with prune off",
            setup: |_| {},
            entries: warehouse,
            kind: WarningKind::UnmanagedHolder,
            group: 6,
            contains: "holds OFFICE_PROPLUS_DEVICE1 for 6 devices but is not in the spec",
        },
        Case {
            name: "subscription in warning",
            setup: |l| l.skus[0].capability_status = CapabilityStatus::Warning,
            entries: warehouse,
            kind: WarningKind::SubscriptionStatus,
            group: 0,
            contains: "OFFICE_PROPLUS_DEVICE1 is Warning",
        },
        Case {
            name: "offline plan",
            setup: |l| {
                l.source = StateSource::Snapshot {
                    graph_url: "https://graph.microsoft.com".into(),
                }
            },
            entries: warehouse,
            kind: WarningKind::Offline,
            group: 0,
            contains: "snapshot of Contoso Ltd taken at 2026-11-20T08:00:00Z",
        },
        // A short subscription is a guard (`GuardViolation::Shortfall`), not a warning: see
        // license_loss.rs.
        Case {
            name: "unknown device counts",
            setup: |l| {
                if let Some(g) = l.groups.get_mut(&cg(2)) {
                    g.members = None;
                }
            },
            entries: warehouse,
            kind: WarningKind::Capacity,
            group: 0,
            contains: "device counts are unknown for 1 group",
        },
    ]
}

#[test]
fn warnings() {
    for case in cases() {
        let mut live = contoso_live();
        (case.setup)(&mut live);
        let spec = spec((case.entries)(), Settings::default());
        let p = plan(&spec, &live).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let found = p.warnings.iter().find(|w| {
            w.kind == case.kind
                && w.group.as_ref().map(|g| g.id) == (case.group != 0).then(|| cg(case.group))
        });
        let Some(w) = found else {
            panic!(
                "{}: no {:?} warning in {:#?}",
                case.name, case.kind, p.warnings
            )
        };
        assert!(
            w.message.contains(case.contains),
            "{}: {:?}",
            case.name,
            w.message
        );
    }
}

#[test]
fn healthy_groups_in_the_desired_state_warn_about_nothing_but_unmanaged_holders() {
    let p = plan(&contoso_spec(), &contoso_converged()).expect("plan");
    let kinds: Vec<_> = p.warnings.iter().map(|w| w.kind).collect();
    // The spec itself gives DEVICE1 to several groups, which Microsoft's docs do not allow.
    assert_eq!(
        kinds,
        vec![
            WarningKind::UnmanagedHolder,
            WarningKind::SubscriptionInSeveralGroups
        ]
    );
    assert!(p.capacity.is_empty());
}

#[test]
fn contoso_capacity_arithmetic() {
    let p = plan(&contoso_spec(), &contoso_live()).expect("plan");
    let lines: Vec<_> = p
        .capacity
        .iter()
        .map(|l| {
            (
                l.sku.sku_part_number.as_str(),
                l.prepaid_enabled,
                l.consumed,
                l.newly_licensed,
                l.freed,
                l.available_after,
            )
        })
        .collect();
    assert_eq!(
        lines,
        vec![
            ("OFFICE_PROPLUS_DEVICE1", 100, 61, 70, 25, -6),
            ("OFFICE_PROPLUS_DEVICE_EDUCATION", 50, 30, 0, 30, 50),
        ]
    );
    // Short is a guard now, not a warning.
    assert!(
        p.warnings.iter().all(|w| w.kind != WarningKind::Capacity),
        "{:?}",
        p.warnings
    );
    assert!(p.guard_violations.iter().any(|g| matches!(
        g,
        devlic_model::GuardViolation::Shortfall { devices: 6, .. }
    )));
}

#[test]
fn warnings_are_sorted_by_kind_group_message() {
    let mut live = contoso_live();
    live.source = StateSource::Snapshot {
        graph_url: "x".into(),
    };
    let p = plan(&contoso_spec(), &live).expect("plan");
    let keys: Vec<_> = p
        .warnings
        .iter()
        .map(|w| {
            (
                w.kind,
                w.group.as_ref().map(|g| g.display_name.to_lowercase()),
                w.message.clone(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
}

/// Whether nested groups' devices are licensed depends on the backend (its capabilities): the
/// Office device-based licensing page lets groups nest within the one licensed group, while
/// Entra's group-based licensing gives a group's licenses to its first-level members only.
#[test]
fn the_nested_groups_warning_follows_the_backend() {
    use devlic_model::{Backend, BackendSetting};

    for backend in [Backend::GroupLicensing, Backend::CloudLicensing] {
        let mut live = crate::allotments::live_with(None);
        if let Some(g) = live.groups.get_mut(&cg(2)) {
            g.members = Some(MemberCounts {
                devices: 40,
                non_devices: 0,
                groups: 2,
            });
        }
        let s = spec(
            warehouse(),
            Settings {
                backend: BackendSetting::Fixed(backend),
                ..contoso_settings()
            },
        );
        let p = plan(&s, &live).expect("plans");
        let nested: Vec<_> = p
            .warnings
            .iter()
            .filter(|w| w.kind == WarningKind::NestedGroups)
            .collect();
        assert_eq!(nested.len(), 1, "{backend}: {:?}", p.warnings);
        let message = &nested[0].message;
        assert!(message.starts_with("has 2 nested groups; "), "{message}");
        assert!(
            message.contains("the device count includes them"),
            "{message}"
        );
        if backend.licenses_nested_members() {
            assert!(
                message.contains("device-based licensing reaches their devices"),
                "{message}"
            );
            assert!(!message.contains("get none"), "{message}");
        } else {
            assert!(
                message.contains("direct members only, so the devices of nested groups get none"),
                "{message}"
            );
        }
    }
}
