//! The Graph beta cloud-licensing backend: allotment assignments, created and deleted.
//!
//! cloudLicensing has no call that adds one license and removes another at once, so a swap is
//! two writes, ordered so the devices never lose the apps: **create** the new assignment first,
//! then **delete** the old one(s). If the create fails nothing is deleted; if a delete fails after
//! the create, the group holds both SKUs (the apps keep working), the action is reported failed
//! with that said plainly, and a rerun converges (the create is skipped because the group already
//! holds the new SKU, and only the delete is sent).
//!
//! Every write starts by reading the group's current assignments, which makes it idempotent: an
//! assignment already present is not created again, one already gone is not deleted again. An
//! `update` (other disabled plans for a SKU the group holds) is a PATCH of that assignment.

use std::collections::{BTreeMap, BTreeSet};

use devlic_graph::{CloudAssignment, GraphClient, GraphError, LiveQuery};
use devlic_model::{AssignedLicense, Backend, GroupId, LicenseErrorMember, LiveState, SkuId};

use crate::backend::{
    Change, GroupLicenseState, LicensingBackend, ReadError, RequestPreview, UsageRightCount,
    WriteError, WriteReceipt,
};

/// The most devices whose usage rights one apply reads during verification: one `$batch` item
/// each, so 1,000 devices cost 50 requests. Groups past the cap are reported as read short.
pub const USAGE_RIGHTS_DEVICE_CAP: usize = 1000;

/// Writes through `POST /beta/groups/{id}/cloudLicensing/assignments` and
/// `PATCH`/`DELETE /beta/groups/{id}/cloudLicensing/assignments/{id}` (the group routes, which
/// take the documented group permission); reads the group's licenses from its
/// cloudLicensing assignments and its license errors from the allotments' `waitingMembers`.
#[derive(Debug)]
pub struct CloudLicensing {
    client: GraphClient,
}

impl CloudLicensing {
    /// Wraps a Graph client, which must be configured for `/beta`
    /// ([`devlic_graph::ApiVersion::Beta`]); other clients fail every call with a clear error.
    pub fn new(client: GraphClient) -> CloudLicensing {
        CloudLicensing { client }
    }

    /// The client, e.g. for its request counters.
    pub fn client(&self) -> &GraphClient {
        &self.client
    }

    async fn assignments_of(&self, group: GroupId) -> Result<Vec<CloudAssignment>, GraphError> {
        Ok(self
            .client
            .read_group_assignments(&[group])
            .await?
            .remove(&group)
            .unwrap_or_default())
    }
}

fn licenses(list: &[CloudAssignment]) -> Vec<AssignedLicense> {
    let mut out: Vec<AssignedLicense> = list
        .iter()
        .map(|a| AssignedLicense {
            sku_id: a.sku_id,
            disabled_plans: a.disabled_plans.clone(),
            allotment_id: Some(a.allotment_id.clone()),
        })
        .collect();
    out.sort();
    out
}

/// Both notes of a two-step write, in order.
fn join_notes(first: Option<String>, then: Option<String>) -> Option<String> {
    match (first, then) {
        (Some(a), Some(b)) => Some(format!("{a}; then {b}")),
        (a, b) => a.or(b),
    }
}

impl LicensingBackend for CloudLicensing {
    fn backend(&self) -> Backend {
        Backend::CloudLicensing
    }

    fn token_kind(&self) -> devlic_graph::auth::TokenKind {
        self.client.token_kind()
    }

    async fn read_live(&self, query: &LiveQuery) -> Result<LiveState, ReadError> {
        self.client
            .read_live_cloud(query)
            .await
            .map_err(ReadError::doing("reading the tenant"))
    }

    async fn read_groups(
        &self,
        ids: &[GroupId],
    ) -> Result<BTreeMap<GroupId, GroupLicenseState>, ReadError> {
        let map = self
            .client
            .read_group_assignments(ids)
            .await
            .map_err(ReadError::doing("reading the groups' assignments"))?;
        Ok(map
            .into_iter()
            .map(|(id, list)| {
                (
                    id,
                    GroupLicenseState {
                        assigned_licenses: licenses(&list),
                        // cloudLicensing exposes no processing state; verification relies on
                        // waitingMembers instead.
                        processing_state: None,
                    },
                )
            })
            .collect())
    }

    async fn write(&self, group: GroupId, change: &Change) -> Result<WriteReceipt, WriteError> {
        let mut receipt = WriteReceipt::default();
        let current = self
            .assignments_of(group)
            .await
            .map_err(WriteError::from_graph)?;
        // The assignment the change wants: its SKU, from the plan's allotment when it names one
        // (during a move the group may hold the SKU from the old allotment too).
        let wanted = |a: &CloudAssignment| {
            change.add.as_ref().is_some_and(|add| {
                a.sku_id == add.sku_id
                    && change
                        .allotment
                        .as_ref()
                        .is_none_or(|want| a.allotment_id.eq_ignore_ascii_case(want))
            })
        };
        if let Some(add) = &change.add {
            match current.iter().find(|a| wanted(a)) {
                Some(a) if a.disabled_plans == add.disabled_plans => {}
                Some(a) => {
                    // The group holds the SKU with other disabled plans: change them in place
                    // (an update, or a rerun of a swap whose create landed with other plans).
                    // The PATCH is idempotent; the client settles a lost answer by re-reading.
                    let sent = self
                        .client
                        .update_assignment(group, &a.id, &add.disabled_plans)
                        .await
                        .map_err(WriteError::from_graph)?;
                    receipt.request_ids.push(sent.request_id);
                    receipt.note = sent.note;
                }
                None => {
                    let Some(allotment) = &change.allotment else {
                        return Err(WriteError::Unsupported {
                            reason: "the plan names no allotment for this assignment; re-plan \
                                     with settings.backend: cloud-licensing"
                                .to_owned(),
                        });
                    };
                    match self
                        .client
                        .create_assignment(group, allotment, &add.disabled_plans)
                        .await
                    {
                        Ok(created) => {
                            receipt.request_ids.push(created.request_id);
                            receipt.note = created.note;
                        }
                        Err(e @ GraphError::OutcomeUnknown { .. }) => {
                            if change.remove.is_empty() && change.move_from.is_none() {
                                // Nothing else to do: the applier re-reads and judges.
                                return Err(WriteError::OutcomeUnknown(e));
                            }
                            // Look before deciding: deleting the old SKU is safe only once the
                            // new assignment exists.
                            let landed = self
                                .assignments_of(group)
                                .await
                                .is_ok_and(|now| now.iter().any(wanted));
                            if !landed {
                                return Err(WriteError::OutcomeUnknown(e));
                            }
                            receipt
                                .request_ids
                                .extend(e.request_id().map(str::to_owned));
                        }
                        Err(e) => return Err(WriteError::from_graph(e)),
                    }
                }
            }
        }
        let created = receipt.request_ids.clone();
        // What goes once the wanted assignment exists: every assignment of a removed SKU, and
        // for a move the assignment of the same SKU on the old allotment.
        let old = |a: &&CloudAssignment| {
            change.remove.contains(&a.sku_id)
                || change.move_from.as_ref().is_some_and(|from| {
                    change
                        .add
                        .as_ref()
                        .is_some_and(|add| a.sku_id == add.sku_id)
                        && a.allotment_id.eq_ignore_ascii_case(from)
                })
        };
        for a in current.iter().filter(old) {
            match self.client.delete_assignment(group, &a.id).await {
                Ok(sent) => {
                    receipt.request_ids.push(sent.request_id);
                    receipt.note = join_notes(receipt.note.take(), sent.note);
                }
                // Already gone (a rerun, or someone else): the goal is reached.
                Err(e) if e.is_not_found() => {}
                // The client re-read and resent already; the applier re-reads the group and
                // judges (a rerun of this write is safe: the create is skipped once the new
                // assignment is there).
                Err(e @ GraphError::OutcomeUnknown { .. }) => {
                    return Err(WriteError::OutcomeUnknown(e));
                }
                Err(error) if change.add.is_some() => {
                    return Err(WriteError::HalfDone {
                        created,
                        assignment: format!(
                            "{} of {} (allotment {})",
                            a.id, a.sku_id, a.allotment_id
                        ),
                        error,
                    });
                }
                Err(e) => return Err(WriteError::from_graph(e)),
            }
        }
        Ok(receipt)
    }

    async fn license_errors(
        &self,
        ids: &[GroupId],
    ) -> Result<BTreeMap<GroupId, Vec<LicenseErrorMember>>, ReadError> {
        let held = self
            .client
            .read_group_assignments(ids)
            .await
            .map_err(ReadError::doing("reading the groups' assignments"))?;
        let pools: BTreeSet<&str> = held
            .values()
            .flatten()
            .map(|a| a.allotment_id.as_str())
            .collect();
        let mut waiting = Vec::new();
        for pool in pools {
            for m in self
                .client
                .read_waiting_members(pool)
                .await
                .map_err(ReadError::doing("reading waiting members"))?
            {
                waiting.push((pool.to_owned(), m));
            }
        }
        let mut out = BTreeMap::new();
        for (group, list) in &held {
            let mine: BTreeSet<&str> = list.iter().map(|a| a.allotment_id.as_str()).collect();
            let relevant: Vec<_> = waiting
                .iter()
                .filter(|(pool, _)| mine.contains(pool.as_str()))
                .collect();
            let mut members = Vec::new();
            if !relevant.is_empty() {
                let devices = self
                    .client
                    .read_group_device_ids(*group)
                    .await
                    .map_err(ReadError::doing("reading the group's devices"))?;
                for (pool, m) in relevant {
                    let Some(id) = &m.member_id else { continue };
                    if devices.contains(&id.to_ascii_lowercase())
                        && !members.iter().any(|x: &LicenseErrorMember| &x.id == id)
                    {
                        members.push(LicenseErrorMember {
                            id: id.clone(),
                            kind: m.kind.clone().unwrap_or_else(|| "device".to_owned()),
                            display_name: m.display_name.clone(),
                            error: Some(format!(
                                "waiting for a unit of allotment {pool} since {} (CountViolation)",
                                m.waiting_since.as_deref().unwrap_or("an unknown time")
                            )),
                        });
                    }
                }
            }
            out.insert(*group, members);
        }
        Ok(out)
    }

    fn preview(&self, group: GroupId, change: &Change) -> Vec<RequestPreview> {
        let mut out = Vec::new();
        if let Some(add) = change.add.as_ref().filter(|_| change.in_place) {
            // The assignment id is only known at write time (it is re-read then).
            match self.client.update_assignment_request(
                group,
                "{assignmentId}",
                &add.disabled_plans,
            ) {
                Ok((url, body)) => out.push(RequestPreview {
                    method: "PATCH".to_owned(),
                    url: format!(
                        "{}  (the assignment of {} held by group {group})",
                        url.to_string().replace("%7B", "{").replace("%7D", "}"),
                        add.sku_id
                    ),
                    body: Some(body),
                }),
                Err(e) => out.push(RequestPreview {
                    method: "PATCH".to_owned(),
                    url: format!("(could not build the request: {e})"),
                    body: None,
                }),
            }
            return out;
        }
        if let Some(add) = &change.add {
            let allotment = change.allotment.as_deref().unwrap_or("");
            match self
                .client
                .create_assignment_request(group, allotment, &add.disabled_plans)
            {
                Ok((url, body)) => out.push(RequestPreview {
                    method: "POST".to_owned(),
                    url: url.to_string(),
                    body: Some(body),
                }),
                Err(e) => out.push(RequestPreview {
                    method: "POST".to_owned(),
                    url: format!("(could not build the request: {e})"),
                    body: None,
                }),
            }
        }
        // The assignment ids are only known at write time (they are re-read then).
        let delete = |what: String| {
            let url = match self.client.delete_assignment_url(group, "{assignmentId}") {
                Ok(u) => u.to_string().replace("%7B", "{").replace("%7D", "}"),
                Err(e) => format!("(could not build the URL: {e})"),
            };
            RequestPreview {
                method: "DELETE".to_owned(),
                url: format!("{url}  (the assignment of {what} held by group {group})"),
                body: None,
            }
        };
        if let (Some(from), Some(add)) = (&change.move_from, &change.add) {
            out.push(delete(format!("{} from allotment {from}", add.sku_id)));
        }
        out.extend(change.remove.iter().map(|sku| delete(sku.to_string())));
        out
    }

    async fn usage_rights(
        &self,
        targets: &[(GroupId, SkuId)],
        cap: usize,
    ) -> Option<Result<Vec<UsageRightCount>, ReadError>> {
        Some(self.count_usage_rights(targets, cap).await)
    }
}

impl CloudLicensing {
    /// Reads the touched groups' device members (one `$batch` item per group), then the usage
    /// rights of at most `cap` distinct devices (one item per device, 20 to a request), and
    /// counts per target the devices holding a right for its subscription.
    async fn count_usage_rights(
        &self,
        targets: &[(GroupId, SkuId)],
        cap: usize,
    ) -> Result<Vec<UsageRightCount>, ReadError> {
        let groups: Vec<GroupId> = targets.iter().map(|(g, _)| *g).collect();
        let members = self
            .client
            .read_groups_device_ids(&groups)
            .await
            .map_err(ReadError::doing("reading the groups' devices"))?;
        // Targets in order take devices until the cap; a device in two groups is read once.
        let mut chosen: BTreeSet<&str> = BTreeSet::new();
        for (group, _) in targets {
            for d in members.get(group).into_iter().flatten() {
                if chosen.len() >= cap {
                    break;
                }
                chosen.insert(d.as_str());
            }
        }
        let chosen_ids: Vec<String> = chosen.iter().map(|d| (*d).to_owned()).collect();
        let rights = self
            .client
            .read_device_usage_rights(&chosen_ids)
            .await
            .map_err(ReadError::doing("reading the devices' usage rights"))?;
        Ok(targets
            .iter()
            .map(|(group, sku)| {
                let devices = members.get(group).map(Vec::as_slice).unwrap_or_default();
                let read: Vec<&String> = devices
                    .iter()
                    .filter(|d| chosen.contains(d.as_str()))
                    .collect();
                let holders = read
                    .iter()
                    .filter(|d| rights.get(d.as_str()).is_some_and(|s| s.contains(sku)))
                    .count();
                UsageRightCount {
                    group: *group,
                    sku: *sku,
                    devices: devices.len() as u64,
                    devices_read: read.len() as u64,
                    holders: holders as u64,
                }
            })
            .collect())
    }
}
