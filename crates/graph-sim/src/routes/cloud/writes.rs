//! cloudLicensing writes: create (POST), update (PATCH) and delete of assignments.

use axum::http::StatusCode;
use serde_json::Value;

use super::Cloud;
use crate::http::{Body, SimResponse};
use crate::license::{CloudWriteError, Entry};
use crate::server::Inner;

impl Cloud<'_> {
    fn json_body(&self) -> Result<Value, SimResponse> {
        serde_json::from_slice::<Value>(&self.req.body).map_err(|_| {
            self.ctx.error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
            )
        })
    }

    /// `disabledServicePlanIds` (required on create and update: cloudlicensing-groupcloudlicensing-
    /// post-assignments.md, cloudlicensing-assignment-update.md): GUIDs of plans of the
    /// allotment's SKU, lower-cased.
    fn disabled_plans(
        &self,
        inner: &Inner,
        body: &Value,
        pool: usize,
    ) -> Result<Vec<String>, SimResponse> {
        let Some(plans) = body.get("disabledServicePlanIds").and_then(Value::as_array) else {
            return Err(self.ctx.bad_request(
                "Property 'disabledServicePlanIds' is required and must be a collection.",
            ));
        };
        let a = &inner.lic.pools()[pool];
        let sku = inner
            .tenant
            .subscribed_skus
            .iter()
            .find(|s| s.sku_id == a.sku_id);
        let mut disabled = Vec::new();
        for p in plans {
            let Some(p) = p
                .as_str()
                .map(str::to_ascii_lowercase)
                .filter(|p| uuid::Uuid::parse_str(p).is_ok())
            else {
                return Err(self.ctx.bad_request(
                    "Invalid value specified for property 'disabledServicePlanIds'.",
                ));
            };
            if !sku.is_some_and(|s| {
                s.service_plans
                    .iter()
                    .any(|sp| sp.service_plan_id.eq_ignore_ascii_case(&p))
            }) {
                return Err(self.ctx.bad_request(&format!(
                    "Service plan {p} does not belong to allotment '{}'.",
                    a.id
                )));
            }
            disabled.push(p);
        }
        Ok(disabled)
    }

    fn with_context(&self, inner: &Inner, group: usize, entry: &Entry, tail: &str) -> Value {
        let mut v = self.assignment_json(inner, group, entry, &[]);
        if let Value::Object(m) = &mut v {
            m.insert(
                "@odata.context".into(),
                Value::String(self.metadata(&format!("{tail}/$entity"))),
            );
        }
        v
    }

    /// `POST /groups/{id}/cloudLicensing/assignments` with `allotment@odata.bind` and
    /// `disabledServicePlanIds` (both required) → 201 with the assignment
    /// (cloudlicensing-groupcloudlicensing-post-assignments.md).
    pub(crate) fn create(&self, inner: &mut Inner, group: &str) -> SimResponse {
        inner.stats.writes += 1;
        let g = match self.group(inner, group) {
            Ok(g) => g,
            Err(e) => return e,
        };
        let body = match self.json_body() {
            Ok(b) => b,
            Err(e) => return e,
        };
        let Some(bind) = body.get("allotment@odata.bind").and_then(Value::as_str) else {
            return self.ctx.bad_request(
                "The 'allotment' relationship is required: set 'allotment@odata.bind'.",
            );
        };
        let Some(allotment_id) = bind
            .split_once("/admin/cloudLicensing/allotments/")
            .map(|(_, id)| id.trim_end_matches('/'))
            .filter(|id| !id.is_empty() && !id.contains('/'))
        else {
            return self
                .ctx
                .bad_request(&format!("Invalid 'allotment@odata.bind' value '{bind}'."));
        };
        let Some(pool) = inner.lic.pool_index(allotment_id) else {
            return self.ctx.not_found(allotment_id);
        };
        let a = &inner.lic.pools()[pool];
        if !a.assignable_to.split(',').any(|t| t.trim() == "group") {
            return self.ctx.bad_request(&format!(
                "Allotment '{}' cannot be assigned to groups.",
                a.id
            ));
        }
        let disabled = match self.disabled_plans(inner, &body, pool) {
            Ok(d) => d,
            Err(e) => return e,
        };
        let delay = self.shared.config.processing_delay;
        let lag = inner.faults.read_after_write_lag;
        match inner
            .lic
            .create_assignment(g, pool, disabled, self.now, delay, lag)
        {
            Ok(entry) => {
                inner.stats.writes_applied += 1;
                let tail = format!("groups('{group}')/cloudLicensing/assignments");
                SimResponse::json(
                    StatusCode::CREATED,
                    self.with_context(inner, g, &entry, &tail),
                )
            }
            Err(CloudWriteError::AlreadyHolds(sku)) => self.ctx.error(
                StatusCode::CONFLICT,
                "Request_BadRequest",
                &format!(
                    "The group already has an assignment of allotment '{allotment_id}' (SKU {sku})."
                ),
            ),
            Err(CloudWriteError::NoSuchAssignment) => self.ctx.not_found(allotment_id),
        }
    }

    /// The group holding assignment `id`, checked against the route's scope: a group route
    /// (`group`) or an allotment route (`allotment`) only reaches its own assignments; 404
    /// otherwise, as for an unknown id.
    pub(super) fn owner(
        &self,
        inner: &Inner,
        id: &str,
        group: Option<&str>,
        allotment: Option<&str>,
    ) -> Result<usize, SimResponse> {
        let scope_group = group.map(|g| self.group(inner, g)).transpose()?;
        let scope_pool = allotment.map(|a| self.pool(inner, a)).transpose()?;
        match inner.lic.find_assignment(id) {
            Some((owner, e))
                if scope_group.is_none_or(|g| g == owner)
                    && scope_pool.is_none_or(|p| p == e.pool) =>
            {
                Ok(owner)
            }
            _ => Err(self.ctx.not_found(id)),
        }
    }

    /// `PATCH /groups/{gid}/cloudLicensing/assignments/{id}`,
    /// `PATCH /admin/cloudLicensing/assignments/{id}` or
    /// `PATCH /admin/cloudLicensing/allotments/{aid}/assignments/{id}` with
    /// `disabledServicePlanIds` (required) → 200 with the updated assignment
    /// (cloudlicensing-assignment-update.md). The allotment cannot be changed by an update.
    pub(crate) fn update(
        &self,
        inner: &mut Inner,
        group: Option<&str>,
        allotment: Option<&str>,
        id: &str,
    ) -> SimResponse {
        inner.stats.writes += 1;
        let owner = match self.owner(inner, id, group, allotment) {
            Ok(o) => o,
            Err(e) => return e,
        };
        let body = match self.json_body() {
            Ok(b) => b,
            Err(e) => return e,
        };
        let Some(pool) = inner.lic.find_assignment(id).map(|(_, e)| e.pool) else {
            return self.ctx.not_found(id);
        };
        if let Some(bind) = body.get("allotment@odata.bind").and_then(Value::as_str) {
            let same = bind
                .rsplit('/')
                .next()
                .is_some_and(|a| a.eq_ignore_ascii_case(&inner.lic.pools()[pool].id));
            if !same {
                return self.ctx.bad_request(
                    "The allotment of an assignment cannot be changed; create a new assignment.",
                );
            }
        }
        let disabled = match self.disabled_plans(inner, &body, pool) {
            Ok(d) => d,
            Err(e) => return e,
        };
        let delay = self.shared.config.processing_delay;
        let lag = inner.faults.read_after_write_lag;
        match inner
            .lic
            .update_assignment(id, disabled, self.now, delay, lag)
        {
            Ok(entry) => {
                inner.stats.writes_applied += 1;
                let tail = match group {
                    Some(g) => format!("groups('{g}')/cloudLicensing/assignments"),
                    None => "admin/cloudLicensing/assignments".to_owned(),
                };
                SimResponse::json(
                    StatusCode::OK,
                    self.with_context(inner, owner, &entry, &tail),
                )
            }
            Err(_) => self.ctx.not_found(id),
        }
    }

    /// `DELETE /groups/{gid}/cloudLicensing/assignments/{id}`,
    /// `DELETE /admin/cloudLicensing/assignments/{id}` or
    /// `DELETE /admin/cloudLicensing/allotments/{aid}/assignments/{id}` → 204
    /// (cloudlicensing-assignment-delete.md).
    pub(crate) fn delete(
        &self,
        inner: &mut Inner,
        group: Option<&str>,
        allotment: Option<&str>,
        id: &str,
    ) -> SimResponse {
        inner.stats.writes += 1;
        if let Err(e) = self.owner(inner, id, group, allotment) {
            return e;
        }
        let delay = self.shared.config.processing_delay;
        let lag = inner.faults.read_after_write_lag;
        match inner.lic.delete_assignment(id, self.now, delay, lag) {
            Ok(()) => {
                inner.stats.writes_applied += 1;
                SimResponse {
                    status: StatusCode::NO_CONTENT,
                    headers: Vec::new(),
                    body: Body::Empty,
                }
            }
            Err(_) => self.ctx.not_found(id),
        }
    }
}
