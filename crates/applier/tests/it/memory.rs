//! The apply algorithm's edge cases against an in-memory backend: no HTTP, no simulator, every
//! write outcome scripted, so each decision of `apply` (already applied, stale, lost responses,
//! resend or not, write order) is tested on its own.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use devlic_applier::{
    ActionOutcome, ApplyError, ApplyOptions, Change, GroupLicenseState, LicensingBackend,
    ReadError, RequestPreview, WriteError, WriteReceipt, apply,
};
use devlic_graph::{GraphError, LiveQuery};
use devlic_model::{
    Action, ActionKind, AssignedLicense, Backend, Fingerprint, GroupId, GroupRef, GuardSettings,
    LicenseErrorMember, LiveState, Plan, Reason, SkuId, SkuRef, StateSource, TenantInfo,
};

/// What the next write does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Lands and answers.
    Land,
    /// Lands, but the answer is lost.
    LandLost,
    /// Does not land, and the answer is lost.
    Lost,
    /// Someone else changes the group, and the answer is lost.
    Hijacked,
}

/// Groups and their licenses, and a script of write outcomes (default: land).
struct Memory {
    groups: Mutex<BTreeMap<GroupId, Vec<AssignedLicense>>>,
    script: Mutex<VecDeque<Outcome>>,
    writes: Mutex<Vec<GroupId>>,
}

fn unknown() -> GraphError {
    GraphError::OutcomeUnknown {
        method: "POST".to_owned(),
        path: "/groups/x/assignLicense".to_owned(),
        detail: "connection reset".to_owned(),
        request_id: None,
        client_request_id: "client-1".to_owned(),
    }
}

impl Memory {
    fn new(groups: &[(GroupId, Vec<AssignedLicense>)], script: &[Outcome]) -> Memory {
        Memory {
            groups: Mutex::new(groups.iter().cloned().collect()),
            script: Mutex::new(script.iter().copied().collect()),
            writes: Mutex::new(Vec::new()),
        }
    }

    fn land(&self, group: GroupId, change: &Change) {
        let mut groups = self.groups.lock().unwrap();
        let held = groups.entry(group).or_default();
        held.retain(|l| !change.remove.contains(&l.sku_id));
        if let Some(add) = &change.add {
            held.retain(|l| l.sku_id != add.sku_id);
            held.push(add.clone());
        }
        held.sort();
    }
}

impl LicensingBackend for Memory {
    fn backend(&self) -> Backend {
        Backend::GroupLicensing
    }

    async fn read_live(&self, _: &LiveQuery) -> Result<LiveState, ReadError> {
        Err(ReadError {
            doing: "reading the tenant",
            error: GraphError::InvalidRequest("the in-memory backend serves apply only".into()),
        })
    }

    async fn read_groups(
        &self,
        ids: &[GroupId],
    ) -> Result<BTreeMap<GroupId, GroupLicenseState>, ReadError> {
        let groups = self.groups.lock().unwrap();
        Ok(ids
            .iter()
            .filter_map(|id| {
                groups.get(id).map(|held| {
                    (
                        *id,
                        GroupLicenseState {
                            assigned_licenses: held.clone(),
                            processing_state: None,
                        },
                    )
                })
            })
            .collect())
    }

    async fn write(&self, group: GroupId, change: &Change) -> Result<WriteReceipt, WriteError> {
        self.writes.lock().unwrap().push(group);
        let outcome = self
            .script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(Outcome::Land);
        match outcome {
            Outcome::Land => {
                self.land(group, change);
                Ok(WriteReceipt {
                    request_ids: vec![format!("rid-{group}")],
                    note: None,
                })
            }
            Outcome::LandLost => {
                self.land(group, change);
                Err(WriteError::OutcomeUnknown(unknown()))
            }
            Outcome::Lost => Err(WriteError::OutcomeUnknown(unknown())),
            Outcome::Hijacked => {
                self.groups.lock().unwrap().insert(group, vec![lic(OTHER)]);
                Err(WriteError::OutcomeUnknown(unknown()))
            }
        }
    }

    async fn license_errors(
        &self,
        ids: &[GroupId],
    ) -> Result<BTreeMap<GroupId, Vec<LicenseErrorMember>>, ReadError> {
        Ok(ids.iter().map(|id| (*id, Vec::new())).collect())
    }

    fn preview(&self, _: GroupId, _: &Change) -> Vec<RequestPreview> {
        Vec::new()
    }
}

const DEVICE: &str = "ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7";
const EDU: &str = "e6564056-c8cb-4977-a87c-45c90fe87ea9";
const OTHER: &str = "05e9a617-0261-4cee-bb44-138d3ef5d965";

fn gid(n: u8) -> GroupId {
    GroupId::parse(&format!("00000000-0000-4000-8000-0000000000{n:02}")).unwrap()
}

fn lic(sku: &str) -> AssignedLicense {
    AssignedLicense {
        sku_id: SkuId::parse(sku).unwrap(),
        disabled_plans: BTreeSet::new(),
        allotment_id: None,
    }
}

fn sku(id: &str) -> SkuRef {
    SkuRef {
        sku_id: SkuId::parse(id).unwrap(),
        sku_part_number: id[..8].to_owned(),
    }
}

fn action(kind: ActionKind, n: u8, before: Vec<AssignedLicense>) -> Action {
    let (to, from) = match kind {
        ActionKind::Revoke => (DEVICE, None),
        ActionKind::Swap => (DEVICE, Some(sku(EDU))),
        _ => (DEVICE, None),
    };
    Action {
        kind,
        group: GroupRef {
            id: gid(n),
            display_name: format!("Group {n}"),
        },
        sku: sku(to),
        from_sku: from,
        disabled_plans: BTreeSet::new(),
        devices: Some(1),
        reason: Reason::Pruned,
        before_fingerprint: Fingerprint::of_group(gid(n), &before),
        before,
        allotment: None,
        from_allotment: None,
    }
}

fn plan(actions: Vec<Action>) -> Plan {
    Plan {
        tenant: TenantInfo {
            id: "tenant".to_owned(),
            display_name: None,
            domains: Vec::new(),
        },
        backend: Backend::GroupLicensing,
        backend_reason: None,
        source: StateSource::Graph {
            graph_url: "http://127.0.0.1".to_owned(),
        },
        state_taken_at: jiff::Timestamp::UNIX_EPOCH,
        fingerprint: Fingerprint::combine(actions.iter().map(|a| &a.before_fingerprint)),
        actions,
        warnings: Vec::new(),
        capacity: Vec::new(),
        guard_violations: Vec::new(),
        guard_settings: GuardSettings::default(),
        unlicensed: Vec::new(),
    }
}

fn options() -> ApplyOptions {
    ApplyOptions {
        poll_interval: Duration::ZERO,
        verify_timeout: Duration::from_millis(10),
        concurrency: 4,
        ..ApplyOptions::default()
    }
}

#[tokio::test]
async fn a_lost_answer_whose_write_landed_is_not_sent_again() {
    let memory = Memory::new(&[(gid(1), vec![])], &[Outcome::LandLost]);
    let p = plan(vec![action(ActionKind::Assign, 1, vec![])]);
    let report = apply(&p, &memory, &options(), &()).await.unwrap();
    assert_eq!(report.actions[0].outcome, ActionOutcome::Applied);
    assert_eq!(report.actions[0].attempts, 1);
    assert!(
        report.actions[0]
            .note
            .as_deref()
            .unwrap()
            .contains("landed")
    );
    assert_eq!(memory.writes.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_lost_write_that_did_not_land_is_sent_once_more() {
    let memory = Memory::new(&[(gid(1), vec![])], &[Outcome::Lost]);
    let p = plan(vec![action(ActionKind::Assign, 1, vec![])]);
    let report = apply(&p, &memory, &options(), &()).await.unwrap();
    assert_eq!(report.actions[0].outcome, ActionOutcome::Applied);
    assert_eq!(report.actions[0].attempts, 2);
    assert_eq!(memory.writes.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn two_lost_writes_fail_the_action_without_a_third() {
    let memory = Memory::new(&[(gid(1), vec![])], &[Outcome::Lost, Outcome::Lost]);
    let p = plan(vec![action(ActionKind::Assign, 1, vec![])]);
    let report = apply(&p, &memory, &options(), &()).await.unwrap();
    assert_eq!(report.actions[0].outcome, ActionOutcome::Failed);
    assert_eq!(memory.writes.lock().unwrap().len(), 2);
    assert!(!report.success);
}

#[tokio::test]
async fn a_group_changed_by_someone_else_after_a_lost_answer_is_not_written_again() {
    let memory = Memory::new(&[(gid(1), vec![])], &[Outcome::Hijacked]);
    let p = plan(vec![action(ActionKind::Assign, 1, vec![])]);
    let report = apply(&p, &memory, &options(), &()).await.unwrap();
    assert_eq!(report.actions[0].outcome, ActionOutcome::Failed);
    assert!(
        report.actions[0]
            .error
            .as_deref()
            .unwrap()
            .contains("someone else changed it")
    );
    assert_eq!(memory.writes.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn an_already_applied_group_is_reported_and_not_written() {
    let memory = Memory::new(&[(gid(1), vec![lic(DEVICE)])], &[]);
    let p = plan(vec![action(ActionKind::Assign, 1, vec![])]);
    let report = apply(&p, &memory, &options(), &()).await.unwrap();
    assert_eq!(report.actions[0].outcome, ActionOutcome::AlreadyApplied);
    assert!(memory.writes.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_missing_or_moved_group_makes_the_whole_plan_stale_before_any_write() {
    let memory = Memory::new(&[(gid(1), vec![]), (gid(2), vec![lic(OTHER)])], &[]);
    let p = plan(vec![
        action(ActionKind::Assign, 1, vec![]),
        action(ActionKind::Assign, 2, vec![]),
        action(ActionKind::Assign, 3, vec![]),
    ]);
    let err = apply(&p, &memory, &options(), &()).await.unwrap_err();
    let ApplyError::Stale(groups) = err else {
        panic!("expected a stale plan, got {err:?}");
    };
    let ids: Vec<GroupId> = groups.iter().map(|g| g.group.id).collect();
    assert_eq!(ids, vec![gid(2), gid(3)]);
    assert!(groups[1].found.is_none(), "group 3 does not exist");
    assert!(memory.writes.lock().unwrap().is_empty());
}

#[tokio::test]
async fn writes_go_revokes_then_swaps_then_assigns_whatever_the_plan_order() {
    let memory = Memory::new(
        &[
            (gid(1), vec![]),
            (gid(2), vec![lic(EDU)]),
            (gid(3), vec![lic(DEVICE)]),
        ],
        &[],
    );
    let p = plan(vec![
        action(ActionKind::Assign, 1, vec![]),
        action(ActionKind::Swap, 2, vec![lic(EDU)]),
        action(ActionKind::Revoke, 3, vec![lic(DEVICE)]),
    ]);
    let opts = ApplyOptions {
        allow_revoke: true,
        ..options()
    };
    let report = apply(&p, &memory, &opts, &()).await.unwrap();
    assert!(report.success, "{report:?}");
    assert_eq!(*memory.writes.lock().unwrap(), vec![gid(3), gid(2), gid(1)]);
}
