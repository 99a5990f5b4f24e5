//! `Action::expected_after` for every action kind: what the applier compares a re-read group
//! against to tell "already applied" from "stale", so every row here is a decision it makes.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeSet;

use devlic_model::{
    Action, ActionKind, AssignedLicense, Fingerprint, GroupId, GroupRef, Reason, ServicePlanId,
    SkuId, SkuRef,
};

const DEVICE1: &str = "ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7";
const EDU: &str = "e6564056-c8cb-4977-a87c-45c90fe87ea9";
const E3: &str = "05e9a617-0261-4cee-bb44-138d3ef5d965";
const PLAN_A: &str = "3c994f28-87d5-4273-b07a-eb6190852599";
const PLAN_B: &str = "0f0e0d0c-0b0a-4909-8807-060504030201";

fn sku(id: &str) -> SkuRef {
    SkuRef {
        sku_id: SkuId::parse(id).expect("test SKU id"),
        sku_part_number: format!("SKU-{}", &id[..4]),
    }
}

fn plans(ids: &[&str]) -> BTreeSet<ServicePlanId> {
    ids.iter()
        .map(|p| ServicePlanId::parse(p).expect("test plan id"))
        .collect()
}

/// A license of SKU `id` with the given disabled plans.
fn lic(id: &str, off: &[&str]) -> AssignedLicense {
    AssignedLicense {
        sku_id: SkuId::parse(id).expect("test SKU id"),
        disabled_plans: plans(off),
        allotment_id: None,
    }
}

fn action(
    kind: ActionKind,
    sku_id: &str,
    from: Option<&str>,
    off: &[&str],
    before: Vec<AssignedLicense>,
) -> Action {
    let group = GroupId::parse("1a2b3c4d-0001-4a5b-8c6d-000000000001").expect("test group id");
    Action {
        kind,
        group: GroupRef {
            id: group,
            display_name: "Kiosks".to_owned(),
        },
        sku: sku(sku_id),
        from_sku: from.map(sku),
        disabled_plans: plans(off),
        devices: Some(3),
        reason: Reason::Pruned,
        before_fingerprint: Fingerprint::of_group(group, &before),
        before,
        allotment: None,
        from_allotment: None,
    }
}

fn sorted(mut v: Vec<AssignedLicense>) -> Vec<AssignedLicense> {
    v.sort();
    v
}

#[test]
fn expected_after_for_every_action_kind() {
    use ActionKind::{Assign, Revoke, Swap, Update};
    // (case, action, the group's assignedLicenses once the action landed)
    let cases: Vec<(&str, Action, Vec<AssignedLicense>)> = vec![
        (
            "assign to a group holding nothing",
            action(Assign, DEVICE1, None, &[], vec![]),
            vec![lic(DEVICE1, &[])],
        ),
        (
            "assign with disabled plans",
            action(Assign, DEVICE1, None, &[PLAN_B, PLAN_A], vec![]),
            vec![lic(DEVICE1, &[PLAN_A, PLAN_B])],
        ),
        (
            "assign keeps a user SKU the group also holds",
            action(Assign, DEVICE1, None, &[], vec![lic(E3, &[PLAN_A])]),
            sorted(vec![lic(E3, &[PLAN_A]), lic(DEVICE1, &[])]),
        ),
        (
            "assign over an entry for the same SKU: replaced, not added twice",
            action(Assign, DEVICE1, None, &[PLAN_A], vec![lic(DEVICE1, &[])]),
            vec![lic(DEVICE1, &[PLAN_A])],
        ),
        (
            "swap replaces the old device SKU",
            action(Swap, DEVICE1, Some(EDU), &[], vec![lic(EDU, &[])]),
            vec![lic(DEVICE1, &[])],
        ),
        (
            "swap drops the old SKU's disabled plans and sends the new ones",
            action(
                Swap,
                DEVICE1,
                Some(EDU),
                &[PLAN_B],
                vec![lic(EDU, &[PLAN_A]), lic(E3, &[])],
            ),
            sorted(vec![lic(E3, &[]), lic(DEVICE1, &[PLAN_B])]),
        ),
        (
            "swap half done on cloud-licensing (both held): only the new one remains",
            action(
                Swap,
                DEVICE1,
                Some(EDU),
                &[],
                vec![lic(EDU, &[]), lic(DEVICE1, &[])],
            ),
            vec![lic(DEVICE1, &[])],
        ),
        (
            "update disables plans",
            action(Update, DEVICE1, None, &[PLAN_A], vec![lic(DEVICE1, &[])]),
            vec![lic(DEVICE1, &[PLAN_A])],
        ),
        (
            "update enables every plan again",
            action(
                Update,
                DEVICE1,
                None,
                &[],
                vec![lic(DEVICE1, &[PLAN_A, PLAN_B]), lic(E3, &[])],
            ),
            sorted(vec![lic(DEVICE1, &[]), lic(E3, &[])]),
        ),
        (
            "revoke removes the SKU whatever its disabled plans",
            action(
                Revoke,
                DEVICE1,
                None,
                &[],
                vec![lic(DEVICE1, &[PLAN_A]), lic(E3, &[])],
            ),
            vec![lic(E3, &[])],
        ),
        (
            "revoke of the only license leaves nothing",
            action(Revoke, EDU, None, &[], vec![lic(EDU, &[])]),
            vec![],
        ),
        (
            "revoke of a SKU the group does not hold changes nothing",
            action(Revoke, DEVICE1, None, &[], vec![lic(E3, &[])]),
            vec![lic(E3, &[])],
        ),
    ];
    for (case, a, expected) in cases {
        assert_eq!(a.expected_after(), expected, "{case}");
        assert_eq!(
            a.after_fingerprint(),
            Fingerprint::of_group(a.group.id, &expected),
            "{case}"
        );
        // Every other row changes the group, so "after" and "before" are told apart.
        let unchanged = a.after_fingerprint() == a.before_fingerprint;
        assert_eq!(unchanged, case.ends_with("changes nothing"), "{case}");
    }
}

#[test]
fn expected_after_is_sorted_whatever_order_graph_returned() {
    let a = action(
        ActionKind::Assign,
        EDU,
        None,
        &[],
        vec![lic(E3, &[]), lic(DEVICE1, &[PLAN_B])],
    );
    let after = a.expected_after();
    assert_eq!(after, sorted(after.clone()));
    assert_eq!(after.len(), 3);
    let mut reversed = a.clone();
    reversed.before.reverse();
    assert_eq!(reversed.expected_after(), after);
}
