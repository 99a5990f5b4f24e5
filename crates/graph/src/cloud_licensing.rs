//! Graph beta `cloudLicensing`: allotments, group assignments and waiting members.
//!
//! These calls need a client built with [`ApiVersion::Beta`] (the API exists only there); any
//! other client gets [`GraphError::InvalidRequest`] before a request is sent. Reads follow
//! `@odata.nextLink` like every other read. Writes go through the one write loop (`write_loop`):
//! one Graph refused under load (429/503) is retried after `Retry-After`, a create only after a
//! re-read shows it did not land; a create whose response is lost is settled by re-reading and
//! never resent (it is not idempotent); a delete whose response is lost is settled by re-reading
//! the group and resent at most once (deleting twice cannot remove more).
//!
//! Every write uses a group route with the group permission its reference page documents
//! (`Group-CloudLicensing.AssignLicenses.Organization`, application): the admin routes
//! (`/admin/cloudLicensing/assignments/{id}`) take the tenant-wide
//! `CloudLicensing.AssignLicenses.Organization` instead, which SECURITY.md does not grant.
//!
//! Request shapes (beta reference, `cloudlicensing-*.md`):
//! - `GET /admin/cloudLicensing/allotments?$select=…` and
//!   `GET /admin/cloudLicensing/assignments?$expand=allotment($select=id),assignedTo($select=id)`;
//! - `GET /groups/{id}/cloudLicensing/assignments?$expand=allotment($select=id,skuId)`;
//! - `POST /groups/{id}/cloudLicensing/assignments` with `allotment@odata.bind` and
//!   `disabledServicePlanIds` → 201;
//! - `DELETE /groups/{groupId}/cloudLicensing/assignments/{id}` → 204
//!   (api-reference/beta/api/cloudlicensing-assignment-delete.md, group table:
//!   beta/cloudlicensing-assignment-delete-3-permissions.md);
//! - `PATCH /groups/{groupId}/cloudLicensing/assignments/{id}` with `disabledServicePlanIds`
//!   → 200 (api-reference/beta/api/cloudlicensing-assignment-update.md, group table:
//!   beta/cloudlicensing-assignment-update-3-permissions.md);
//! - `GET /admin/cloudLicensing/allotments/{id}/waitingMembers?$expand=assignedTo(…)`.

use std::collections::{BTreeMap, BTreeSet};

use devlic_model::{Allotment, AllotmentAssignment, GroupId, LiveState, ServicePlanId, SkuId};
use serde::Deserialize;
use url::Url;

use crate::batch::{by_group, per_group_items};
use crate::client::GraphClient;
use crate::config::ApiVersion;
use crate::error::GraphError;
use crate::live::LiveQuery;
use crate::transport::{Method, Request};
use crate::write_loop::WriteRule;

const ALLOTMENT_SELECT: &str =
    "$select=id,skuId,skuPartNumber,allottedUnits,consumedUnits,assignableTo,subscriptions";
const GROUP_ASSIGNMENTS_EXPAND: &str = "$expand=allotment($select=id,skuId)";

/// One cloudLicensing assignment of a group, with the allotment it draws from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudAssignment {
    /// The assignment's opaque id.
    pub id: String,
    /// The allotment's id.
    pub allotment_id: String,
    /// The allotment's SKU.
    pub sku_id: SkuId,
    /// `disabledServicePlanIds`.
    pub disabled_plans: BTreeSet<ServicePlanId>,
}

/// A member waiting for a unit of an allotment (`waitingMember` with `assignedTo` expanded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingMember {
    /// The waitingMember's opaque id.
    pub id: String,
    /// The waiting directory object's id (device or user), when Graph expanded it.
    pub member_id: Option<String>,
    /// Its type without the `#microsoft.graph.` prefix (`device`, `user`), when known.
    pub kind: Option<String>,
    /// Its display name, when known.
    pub display_name: Option<String>,
    /// `waitingSinceDateTime`.
    pub waiting_since: Option<String>,
}

/// A create Graph accepted (or that a re-read after throttling showed had landed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedAssignment {
    /// The new assignment's id, when the response carried it.
    pub id: Option<String>,
    /// Graph's `request-id` (our `client-request-id` if Graph sent none).
    pub request_id: String,
    /// Requests sent, the accepted one included.
    pub attempts: u32,
    /// What is known beyond "accepted at once" (e.g. a lost response whose create a re-read
    /// showed had landed).
    pub note: Option<String>,
}

/// A delete (or update) Graph accepted, or that a re-read after a lost answer showed had landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentWrite {
    /// Graph's `request-id` (our `client-request-id` if Graph sent none).
    pub request_id: String,
    /// Requests sent, the accepted one included.
    pub attempts: u32,
    /// What is known beyond "accepted at once" (e.g. a lost answer and how its outcome was
    /// established).
    pub note: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireSubscription {
    #[serde(default)]
    subscription_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireAllotment {
    id: String,
    sku_id: SkuId,
    #[serde(default)]
    sku_part_number: Option<String>,
    #[serde(default)]
    allotted_units: u64,
    #[serde(default)]
    consumed_units: u64,
    #[serde(default)]
    assignable_to: Option<String>,
    #[serde(default)]
    subscriptions: Vec<WireSubscription>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireRef {
    #[serde(default, rename = "@odata.type")]
    odata_type: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    sku_id: Option<SkuId>,
    #[serde(default)]
    display_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireAssignment {
    id: String,
    #[serde(default)]
    disabled_service_plan_ids: Vec<ServicePlanId>,
    #[serde(default)]
    allotment: Option<WireRef>,
    #[serde(default)]
    assigned_to: Option<WireRef>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireWaiting {
    id: String,
    #[serde(default)]
    waiting_since_date_time: Option<String>,
    #[serde(default)]
    assigned_to: Option<WireRef>,
}

fn short_type(t: &Option<String>) -> Option<String> {
    t.as_deref().map(|t| {
        t.trim_start_matches('#')
            .trim_start_matches("microsoft.graph.")
            .to_owned()
    })
}

fn allotment(w: WireAllotment, assignments: Vec<AllotmentAssignment>) -> Allotment {
    Allotment {
        assignments,
        sku_part_number: w.sku_part_number.unwrap_or_else(|| w.sku_id.to_string()),
        assignable_to: w
            .assignable_to
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .collect(),
        subscription_ids: w
            .subscriptions
            .into_iter()
            .filter_map(|s| s.subscription_id)
            .collect(),
        id: w.id,
        sku_id: w.sku_id,
        allotted_units: w.allotted_units,
        consumed_units: w.consumed_units,
    }
}

fn malformed(path: &str, detail: &str) -> GraphError {
    GraphError::Malformed {
        path: path.to_owned(),
        detail: detail.to_owned(),
        request_id: None,
    }
}

impl GraphClient {
    pub(crate) fn require_beta(&self) -> Result<(), GraphError> {
        if self.api_version() == ApiVersion::Beta {
            Ok(())
        } else {
            Err(GraphError::InvalidRequest(
                "cloudLicensing is a Graph beta API: build the client with ApiVersion::Beta"
                    .to_owned(),
            ))
        }
    }

    /// Every allotment of the tenant, each with its group assignments (assignments to users are
    /// left out). Two listings, each followed to its last page.
    pub async fn read_allotments(&self) -> Result<Vec<Allotment>, GraphError> {
        self.require_beta()?;
        let t = self.transport();
        let pools_url = t.url(&format!(
            "/admin/cloudLicensing/allotments?{ALLOTMENT_SELECT}"
        ))?;
        let assignments_url = t.url(
            "/admin/cloudLicensing/assignments?$expand=allotment($select=id),assignedTo($select=id)",
        )?;
        let (pools, assignments) = futures::future::join(
            t.get_all::<WireAllotment>(pools_url, Vec::new()),
            t.get_all::<WireAssignment>(assignments_url, Vec::new()),
        )
        .await;
        let mut by_pool: BTreeMap<String, Vec<AllotmentAssignment>> = BTreeMap::new();
        for a in assignments? {
            let (Some(pool), Some(to)) = (a.allotment, a.assigned_to) else {
                return Err(malformed(
                    "/admin/cloudLicensing/assignments",
                    "an assignment came without its expanded allotment or assignedTo",
                ));
            };
            let is_group = short_type(&to.odata_type).is_none_or(|k| k == "group");
            let group = to.id.as_deref().and_then(|id| GroupId::parse(id).ok());
            if let (true, Some(pool), Some(group)) = (is_group, pool.id, group) {
                by_pool.entry(pool).or_default().push(AllotmentAssignment {
                    id: a.id,
                    group,
                    disabled_plans: a.disabled_service_plan_ids.into_iter().collect(),
                });
            }
        }
        Ok(pools?
            .into_iter()
            .map(|w| {
                let assignments = by_pool.remove(&w.id).unwrap_or_default();
                allotment(w, assignments)
            })
            .collect())
    }

    /// Every allotment of the tenant, without its assignments: one paged listing (one request
    /// unless the tenant has more allotments than a page holds). The evidence
    /// `settings.backend: auto` chooses from.
    pub async fn list_allotments(&self) -> Result<Vec<Allotment>, GraphError> {
        self.require_beta()?;
        let t = self.transport();
        let url = t.url(&format!(
            "/admin/cloudLicensing/allotments?{ALLOTMENT_SELECT}"
        ))?;
        Ok(t.get_all::<WireAllotment>(url, Vec::new())
            .await?
            .into_iter()
            .map(|w| allotment(w, Vec::new()))
            .collect())
    }

    /// The live state for the cloud-licensing backend: [`GraphClient::read_live`] (the groups the
    /// query names are looked up too, as are the groups any allotment is assigned to), then
    /// every group's `assigned_licenses` replaced by its cloudLicensing assignments, and
    /// [`LiveState::allotments`] filled. The cloud view is what this backend writes and
    /// re-reads, so plans and stale-plan checks compare like with like.
    pub async fn read_live_cloud(&self, query: &LiveQuery) -> Result<LiveState, GraphError> {
        let allotments = self.read_allotments().await?;
        let mut query = query.clone();
        for a in &allotments {
            query
                .group_ids
                .extend(a.assignments.iter().map(|x| x.group));
        }
        let mut live = self.read_live(&query).await?;
        live.set_cloud_view(allotments);
        Ok(live)
    }

    /// The cloudLicensing assignments of many groups (one `$batch` item per group, extra pages
    /// followed). Groups that do not exist are absent from the map.
    pub async fn read_group_assignments(
        &self,
        groups: &[GroupId],
    ) -> Result<BTreeMap<GroupId, Vec<CloudAssignment>>, GraphError> {
        self.require_beta()?;
        let (groups, items) = per_group_items(groups, |g| {
            format!("/groups/{g}/cloudLicensing/assignments?{GROUP_ASSIGNMENTS_EXPAND}")
        });
        let pages = self.transport().batch_pages::<WireAssignment>(&items).await;
        let mut out = BTreeMap::new();
        for (g, assignments) in by_group(&groups, pages)? {
            let mut list = Vec::new();
            for a in assignments {
                let Some(WireRef {
                    id: Some(allotment_id),
                    sku_id: Some(sku_id),
                    ..
                }) = a.allotment
                else {
                    return Err(malformed(
                        &format!("/groups/{g}/cloudLicensing/assignments"),
                        "an assignment came without its expanded allotment id and skuId",
                    ));
                };
                list.push(CloudAssignment {
                    id: a.id,
                    allotment_id,
                    sku_id,
                    disabled_plans: a.disabled_service_plan_ids.into_iter().collect(),
                });
            }
            out.insert(g, list);
        }
        Ok(out)
    }

    /// The exact request [`GraphClient::create_assignment`] sends: URL and body.
    pub fn create_assignment_request(
        &self,
        group: GroupId,
        allotment_id: &str,
        disabled_plans: &BTreeSet<ServicePlanId>,
    ) -> Result<(Url, serde_json::Value), GraphError> {
        self.require_beta()?;
        if allotment_id.is_empty() || allotment_id.contains(['/', '?', '#']) {
            return Err(GraphError::InvalidRequest(format!(
                "{allotment_id:?} is not an allotment id"
            )));
        }
        let t = self.transport();
        let url = t.url(&format!("/groups/{group}/cloudLicensing/assignments"))?;
        let bind = format!(
            "{}/admin/cloudLicensing/allotments/{allotment_id}",
            t.root()
        );
        let body = serde_json::json!({
            "@odata.type": "#microsoft.graph.cloudLicensing.assignment",
            "allotment@odata.bind": bind,
            "disabledServicePlanIds": disabled_plans.iter().map(ToString::to_string).collect::<Vec<_>>(),
        });
        Ok((url, body))
    }

    /// `POST /groups/{id}/cloudLicensing/assignments` (201). After a 429/503 it is resent only
    /// when re-reading the group shows no assignment of `allotment_id` yet; after a lost response
    /// it is re-read until the assignment shows (success) or the settle window has passed
    /// ([`GraphError::OutcomeUnknown`], never resent).
    pub async fn create_assignment(
        &self,
        group: GroupId,
        allotment_id: &str,
        disabled_plans: &BTreeSet<ServicePlanId>,
    ) -> Result<CreatedAssignment, GraphError> {
        let (url, body) = self.create_assignment_request(group, allotment_id, disabled_plans)?;
        let req = Request::post(url, body);
        let rule = WriteRule::CreateAssignment {
            group,
            allotment_id,
        };
        let sent = self.send_write(&req, rule).await?;
        let id = sent
            .response
            .as_ref()
            .and_then(|r| r.json::<serde_json::Value>().ok())
            .and_then(|v| v.get("id").and_then(|i| i.as_str()).map(str::to_owned));
        Ok(CreatedAssignment {
            id,
            request_id: sent.request_id,
            attempts: sent.attempts,
            note: sent.note,
        })
    }

    /// The URL [`GraphClient::delete_assignment`] sends `DELETE` to: the assignment under its
    /// group, `/groups/{groupId}/cloudLicensing/assignments/{id}`.
    pub fn delete_assignment_url(
        &self,
        group: GroupId,
        assignment_id: &str,
    ) -> Result<Url, GraphError> {
        self.require_beta()?;
        if assignment_id.is_empty() || assignment_id.contains(['/', '?', '#']) {
            return Err(GraphError::InvalidRequest(format!(
                "{assignment_id:?} is not an assignment id"
            )));
        }
        // The group route, not /admin/cloudLicensing/assignments/{id}: the group route takes
        // Group-CloudLicensing.AssignLicenses.Organization (api-reference/beta/api/
        // cloudlicensing-assignment-delete.md, "delete an assignment for a group";
        // beta/cloudlicensing-assignment-delete-3-permissions.md), the permission the create
        // needs too, while the admin route needs the tenant-wide CloudLicensing.AssignLicenses.
        // Organization (beta/cloudlicensing-assignment-delete-permissions.md).
        self.transport().url(&format!(
            "/groups/{group}/cloudLicensing/assignments/{assignment_id}"
        ))
    }

    /// `DELETE /groups/{groupId}/cloudLicensing/assignments/{id}` (204).
    /// A 404 is a [`GraphError::Service`] with status 404 (the caller decides whether "already
    /// gone" is fine). Resent after 429/503 only when a re-read still shows the assignment; a
    /// lost response is settled by re-reading the group until the assignment is gone, and resent
    /// once if it never goes (deleting twice cannot remove more; a late first delete makes the
    /// resend a 404).
    pub async fn delete_assignment(
        &self,
        group: GroupId,
        assignment_id: &str,
    ) -> Result<SentWrite, GraphError> {
        let req = Request {
            method: Method::Delete,
            url: self.delete_assignment_url(group, assignment_id)?,
            headers: Vec::new(),
            body: None,
        };
        let rule = WriteRule::DeleteAssignment {
            group,
            assignment_id,
        };
        let sent = self.send_write(&req, rule).await?;
        Ok(SentWrite {
            request_id: sent.request_id,
            attempts: sent.attempts,
            note: sent.note,
        })
    }

    /// The exact request [`GraphClient::update_assignment`] sends: URL and body.
    pub fn update_assignment_request(
        &self,
        group: GroupId,
        assignment_id: &str,
        disabled_plans: &BTreeSet<ServicePlanId>,
    ) -> Result<(Url, serde_json::Value), GraphError> {
        // The same group route as the delete, with the same group permission
        // (beta/cloudlicensing-assignment-update-3-permissions.md).
        let url = self.delete_assignment_url(group, assignment_id)?;
        // The page's body table: disabledServicePlanIds, required; an empty list enables every
        // plan. The allotment of an assignment cannot be changed by an update.
        let body = serde_json::json!({
            "disabledServicePlanIds": disabled_plans.iter().map(ToString::to_string).collect::<Vec<_>>(),
        });
        Ok((url, body))
    }

    /// `PATCH /groups/{groupId}/cloudLicensing/assignments/{id}` (200): sets the assignment's
    /// `disabledServicePlanIds`. Idempotent (setting the same list twice changes nothing), so it
    /// is settled like `assignLicense`: after a 429/503 it is resent only when a re-read does not
    /// show the new list; after a lost answer it is re-read until the list shows or the settle
    /// window has passed, then resent once.
    pub async fn update_assignment(
        &self,
        group: GroupId,
        assignment_id: &str,
        disabled_plans: &BTreeSet<ServicePlanId>,
    ) -> Result<SentWrite, GraphError> {
        let (url, body) = self.update_assignment_request(group, assignment_id, disabled_plans)?;
        let req = Request {
            method: Method::Patch,
            ..Request::post(url, body)
        };
        let rule = WriteRule::UpdateAssignment {
            group,
            assignment_id,
            disabled_plans,
        };
        let sent = self.send_write(&req, rule).await?;
        Ok(SentWrite {
            request_id: sent.request_id,
            attempts: sent.attempts,
            note: sent.note,
        })
    }

    /// Members waiting for a unit of an allotment, with the waiting object expanded.
    pub async fn read_waiting_members(
        &self,
        allotment_id: &str,
    ) -> Result<Vec<WaitingMember>, GraphError> {
        self.require_beta()?;
        if allotment_id.is_empty() || allotment_id.contains(['/', '?', '#']) {
            return Err(GraphError::InvalidRequest(format!(
                "{allotment_id:?} is not an allotment id"
            )));
        }
        let t = self.transport();
        let url = t.url(&format!(
            "/admin/cloudLicensing/allotments/{allotment_id}/waitingMembers?$expand=assignedTo($select=id,displayName)"
        ))?;
        let members = t.get_all::<WireWaiting>(url, Vec::new()).await?;
        Ok(members
            .into_iter()
            .map(|m| {
                let (member_id, kind, display_name) = match m.assigned_to {
                    Some(to) => (to.id, short_type(&to.odata_type), to.display_name),
                    None => (None, None, None),
                };
                WaitingMember {
                    id: m.id,
                    member_id,
                    kind,
                    display_name,
                    waiting_since: m.waiting_since_date_time,
                }
            })
            .collect())
    }

    /// Ids of a group's transitive device members (all pages).
    pub async fn read_group_device_ids(
        &self,
        group: GroupId,
    ) -> Result<BTreeSet<String>, GraphError> {
        #[derive(Deserialize)]
        struct Id {
            id: String,
        }
        let t = self.transport();
        let url = t.url(&format!(
            "/groups/{group}/transitiveMembers/microsoft.graph.device?$select=id&$top=999"
        ))?;
        Ok(t.get_all::<Id>(url, Vec::new())
            .await?
            .into_iter()
            .map(|d| d.id.to_ascii_lowercase())
            .collect())
    }
}
