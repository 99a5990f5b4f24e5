//! Beta `cloudLicensing`: allotments, their assignments and waiting members, and group
//! assignments, served from the same licensing model as v1.0 `assignLicense`.
//!
//! Shapes follow the beta reference (`microsoft.graph.cloudLicensing.*`): an assignment carries
//! only `id` and `disabledServicePlanIds`; its `allotment` and `assignedTo` relationships appear
//! when asked for with `$expand` (optionally with a nested `$select`), and so does a waiting
//! member's `assignedTo`.

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::list;
use crate::http::{Ctx, SimRequest, SimResponse};
use crate::license::{CloudWriteError, Entry};
use crate::server::{Inner, ObjRef, Shared};
use crate::tenant::Allotment;

const ALLOTMENT_TYPE: &str = "microsoft.graph.cloudLicensing.allotment";
const ASSIGNMENT_TYPE: &str = "microsoft.graph.cloudLicensing.assignment";
const WAITING_TYPE: &str = "microsoft.graph.cloudLicensing.waitingMember";
const ALLOTMENT_PROPERTIES: &[&str] = &[
    "id",
    "allottedUnits",
    "assignableTo",
    "consumedUnits",
    "services",
    "skuId",
    "skuPartNumber",
    "subscriptions",
];

/// One `$expand` item: navigation property and optional nested `$select`.
struct Expand {
    name: String,
    select: Option<Vec<String>>,
}

/// Splits `a($select=x,y),b` at top-level commas.
fn parse_expand(raw: &str) -> Vec<Expand> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    let bytes: Vec<char> = raw.chars().collect();
    let mut push = |s: String| {
        let s = s.trim().to_owned();
        if s.is_empty() {
            return;
        }
        let (name, select) = match s.split_once('(') {
            Some((n, rest)) => {
                let inner = rest.trim_end_matches(')');
                let select = inner
                    .split(';')
                    .find_map(|o| o.trim().strip_prefix("$select="))
                    .map(|v| v.split(',').map(|x| x.trim().to_owned()).collect());
                (n.trim().to_owned(), select)
            }
            None => (s, None),
        };
        items.push(Expand { name, select });
    };
    for (i, c) in bytes.iter().enumerate() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                push(bytes[start..i].iter().collect());
                start = i + 1;
            }
            _ => {}
        }
    }
    push(bytes[start..].iter().collect());
    items
}

fn project(v: Value, select: &Option<Vec<String>>) -> Value {
    match (select, v) {
        (Some(sel), Value::Object(m)) => list::project(m, sel),
        (_, v) => v,
    }
}

/// One request against the cloudLicensing routes.
pub(crate) struct Cloud<'a> {
    pub(crate) shared: &'a Shared,
    pub(crate) ctx: &'a Ctx,
    pub(crate) req: &'a SimRequest,
    pub(crate) now: std::time::Instant,
}

impl Cloud<'_> {
    fn metadata(&self, tail: &str) -> String {
        format!("{}/beta/$metadata#{tail}", self.ctx.base)
    }

    /// `$expand`, checked against the navigation properties `allowed`.
    fn expand(&self, allowed: &[&str], on: &str) -> Result<Vec<Expand>, SimResponse> {
        let items = self
            .req
            .param("$expand")
            .map(parse_expand)
            .unwrap_or_default();
        for e in &items {
            if !allowed.contains(&e.name.as_str()) {
                return Err(self.ctx.bad_request(&format!(
                    "Could not find a property named '{}' on type '{on}'.",
                    e.name
                )));
            }
        }
        Ok(items)
    }

    fn allotment_json(&self, inner: &Inner, pool: usize, a: &Allotment) -> Value {
        let services: Vec<Value> = inner
            .tenant
            .subscribed_skus
            .iter()
            .find(|s| s.sku_id == a.sku_id)
            .map(|s| {
                s.service_plans
                    .iter()
                    .map(|p| {
                        json!({
                            "@odata.type": "microsoft.graph.cloudLicensing.service",
                            "assignableTo": a.assignable_to,
                            "planId": p.service_plan_id,
                            "planName": p.service_plan_name,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let part = inner
            .tenant
            .subscribed_skus
            .iter()
            .find(|s| s.sku_id == a.sku_id)
            .map(|s| s.sku_part_number.clone())
            .unwrap_or_default();
        json!({
            "@odata.type": format!("#{ALLOTMENT_TYPE}"),
            "id": a.id,
            "allottedUnits": a.allotted_units,
            "assignableTo": a.assignable_to,
            "consumedUnits": inner.lic.pool_consumed(pool),
            "services": services,
            "skuId": a.sku_id,
            "skuPartNumber": part,
            "subscriptions": a.subscriptions.iter().map(|s| json!({
                "@odata.type": "microsoft.graph.cloudLicensing.subscription",
                "nextLifecycleDate": s.next_lifecycle_date,
                "startDate": s.start_date,
                "state": s.state,
                "subscriptionId": s.subscription_id,
                "tags": s.tags,
            })).collect::<Vec<_>>(),
        })
    }

    fn group_ref(&self, inner: &Inner, group: usize) -> Value {
        let g = &inner.tenant.groups[group];
        json!({"@odata.type": "#microsoft.graph.group", "id": g.id, "displayName": g.display_name})
    }

    fn assignment_json(&self, inner: &Inner, group: usize, e: &Entry, expand: &[Expand]) -> Value {
        let mut m = Map::new();
        m.insert(
            "@odata.type".into(),
            Value::String(format!("#{ASSIGNMENT_TYPE}")),
        );
        m.insert("id".into(), Value::String(e.assignment_id.clone()));
        m.insert(
            "disabledServicePlanIds".into(),
            json!(e.license.disabled_plans),
        );
        for x in expand {
            let v = match x.name.as_str() {
                "allotment" => {
                    let a = &inner.lic.pools()[e.pool];
                    project(self.allotment_json(inner, e.pool, a), &x.select)
                }
                _ => project(self.group_ref(inner, group), &x.select),
            };
            m.insert(x.name.clone(), v);
        }
        Value::Object(m)
    }

    fn check_select(
        &self,
        select: &Option<Vec<String>>,
        known: &[&str],
        on: &str,
    ) -> Result<(), SimResponse> {
        for s in select.iter().flatten() {
            if !known.iter().any(|k| k.eq_ignore_ascii_case(s)) {
                return Err(self.ctx.bad_request(&format!(
                    "Could not find a property named '{s}' on type '{on}'."
                )));
            }
        }
        Ok(())
    }

    fn pool(&self, inner: &Inner, id: &str) -> Result<usize, SimResponse> {
        inner
            .lic
            .pool_index(id)
            .ok_or_else(|| self.ctx.not_found(id))
    }

    fn group(&self, inner: &Inner, id: &str) -> Result<usize, SimResponse> {
        super::groups::find_group(self.ctx, inner, id)
    }

    /// `GET /admin/cloudLicensing/allotments` (`$select`, `$top`, `$filter=skuId eq GUID`,
    /// `$expand=assignments|waitingMembers`, paging).
    pub(crate) fn list_allotments(&self, inner: &Inner) -> SimResponse {
        let o = match list::options(
            self.ctx,
            self.req,
            &["$select", "$top", "$filter", "$skiptoken", "$expand"],
        ) {
            Ok(o) => o,
            Err(e) => return e,
        };
        if let Err(e) = self.check_select(&o.select, ALLOTMENT_PROPERTIES, ALLOTMENT_TYPE) {
            return e;
        }
        let expand = match self.expand(&["assignments", "waitingMembers"], ALLOTMENT_TYPE) {
            Ok(x) => x,
            Err(e) => return e,
        };
        let sku_filter = match &o.filter {
            None => None,
            Some(f) => {
                let parsed = f
                    .trim()
                    .strip_prefix("skuId eq ")
                    .map(|v| v.trim().trim_matches('\'').to_ascii_lowercase())
                    .filter(|v| uuid::Uuid::parse_str(v).is_ok());
                match parsed {
                    Some(v) => Some(v),
                    None => {
                        return self.ctx.unsupported(
                            "Invalid filter clause: only 'skuId eq GUID' is supported.",
                        );
                    }
                }
            }
        };
        let items = inner
            .lic
            .pools()
            .iter()
            .enumerate()
            .filter(|(_, a)| sku_filter.as_ref().is_none_or(|s| &a.sku_id == s))
            .map(|(p, a)| {
                let mut v = project(self.allotment_json(inner, p, a), &o.select);
                if let Value::Object(m) = &mut v {
                    for x in &expand {
                        let related = match x.name.as_str() {
                            "assignments" => self.pool_assignments(inner, p, &[]),
                            _ => self.pool_waiting(inner, p, &[]),
                        };
                        let related: Vec<Value> = related
                            .into_iter()
                            .map(|(_, v)| project(v, &x.select))
                            .collect();
                        m.insert(x.name.clone(), Value::Array(related));
                    }
                }
                (a.id.clone(), v)
            })
            .collect();
        list::page(
            self.ctx,
            self.req,
            self.metadata("admin/cloudLicensing/allotments"),
            items,
            &o,
        )
    }

    /// `GET /admin/cloudLicensing/allotments/{id}`.
    pub(crate) fn get_allotment(&self, inner: &Inner, id: &str) -> SimResponse {
        let o = match list::options(self.ctx, self.req, &["$select"]) {
            Ok(o) => o,
            Err(e) => return e,
        };
        if let Err(e) = self.check_select(&o.select, ALLOTMENT_PROPERTIES, ALLOTMENT_TYPE) {
            return e;
        }
        match self.pool(inner, id) {
            Ok(p) => SimResponse::json(
                StatusCode::OK,
                project(
                    self.allotment_json(inner, p, &inner.lic.pools()[p]),
                    &o.select,
                ),
            ),
            Err(e) => e,
        }
    }

    fn pool_assignments(
        &self,
        inner: &Inner,
        pool: usize,
        expand: &[Expand],
    ) -> Vec<(String, Value)> {
        inner
            .lic
            .assignments()
            .filter(|(_, e)| e.pool == pool)
            .map(|(g, e)| {
                (
                    e.assignment_id.clone(),
                    self.assignment_json(inner, g, e, expand),
                )
            })
            .collect()
    }

    fn pool_waiting(&self, inner: &Inner, pool: usize, expand: &[Expand]) -> Vec<(String, Value)> {
        inner
            .lic
            .waiting(pool)
            .into_iter()
            .map(|(device, since)| {
                let id = format!("{device}_{}", inner.lic.pools()[pool].id);
                let mut m = Map::new();
                m.insert("@odata.type".into(), Value::String(format!("#{WAITING_TYPE}")));
                m.insert("id".into(), Value::String(id.clone()));
                m.insert("waitingSinceDateTime".into(), Value::String(since.to_string()));
                for x in expand {
                    let v = match x.name.as_str() {
                        "allotment" => project(self.allotment_json(inner, pool, &inner.lic.pools()[pool]), &x.select),
                        _ => {
                            let name = match inner.objects.get(&device) {
                                Some(ObjRef::Device(i)) => inner.tenant.devices[*i].display_name.clone(),
                                _ => String::new(),
                            };
                            project(
                                json!({"@odata.type": "#microsoft.graph.device", "id": device, "displayName": name}),
                                &x.select,
                            )
                        }
                    };
                    m.insert(x.name.clone(), v);
                }
                (id, Value::Object(m))
            })
            .collect()
    }

    /// `GET /admin/cloudLicensing/allotments/{id}/assignments` and `…/waitingMembers`.
    pub(crate) fn list_pool_relation(&self, inner: &Inner, id: &str, waiting: bool) -> SimResponse {
        let o = match list::options(
            self.ctx,
            self.req,
            &["$select", "$top", "$skiptoken", "$expand"],
        ) {
            Ok(o) => o,
            Err(e) => return e,
        };
        let on = if waiting {
            WAITING_TYPE
        } else {
            ASSIGNMENT_TYPE
        };
        let expand = match self.expand(&["allotment", "assignedTo"], on) {
            Ok(x) => x,
            Err(e) => return e,
        };
        let p = match self.pool(inner, id) {
            Ok(p) => p,
            Err(e) => return e,
        };
        let items = if waiting {
            self.pool_waiting(inner, p, &expand)
        } else {
            self.pool_assignments(inner, p, &expand)
        };
        let items = items
            .into_iter()
            .map(|(k, v)| (k, project(v, &o.select)))
            .collect();
        let tail = if waiting {
            "waitingMembers"
        } else {
            "assignments"
        };
        let context = self.metadata(&format!("admin/cloudLicensing/allotments('{id}')/{tail}"));
        list::page(self.ctx, self.req, context, items, &o)
    }

    /// `GET /admin/cloudLicensing/assignments` (every group assignment) or
    /// `GET /groups/{id}/cloudLicensing/assignments` (`group` given), with `$expand`.
    pub(crate) fn list_assignments(&self, inner: &Inner, group: Option<&str>) -> SimResponse {
        let o = match list::options(
            self.ctx,
            self.req,
            &["$select", "$top", "$skiptoken", "$expand"],
        ) {
            Ok(o) => o,
            Err(e) => return e,
        };
        let expand = match self.expand(&["allotment", "assignedTo"], ASSIGNMENT_TYPE) {
            Ok(x) => x,
            Err(e) => return e,
        };
        let only = match group.map(|g| self.group(inner, g)).transpose() {
            Ok(g) => g,
            Err(e) => return e,
        };
        let delay = self.shared.config.processing_delay;
        let mut items = Vec::new();
        for (g, _) in inner.tenant.groups.iter().enumerate() {
            if only.is_some_and(|o| o != g) {
                continue;
            }
            // Readers see the same (possibly lagging) view as v1.0 `assignedLicenses`.
            for e in inner.lic.view(g, self.now, delay).entries {
                let v = project(self.assignment_json(inner, g, &e, &expand), &o.select);
                items.push((e.assignment_id.clone(), v));
            }
        }
        let context = match group {
            Some(g) => self.metadata(&format!("groups('{g}')/cloudLicensing/assignments")),
            None => self.metadata("admin/cloudLicensing/assignments"),
        };
        list::page(self.ctx, self.req, context, items, &o)
    }

    /// `POST /groups/{id}/cloudLicensing/assignments` with `allotment@odata.bind` and
    /// `disabledServicePlanIds` (both required) → 201 with the assignment.
    pub(crate) fn create(&self, inner: &mut Inner, group: &str) -> SimResponse {
        inner.stats.writes += 1;
        let g = match self.group(inner, group) {
            Ok(g) => g,
            Err(e) => return e,
        };
        let Ok(body) = serde_json::from_slice::<Value>(&self.req.body) else {
            return self.ctx.error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
            );
        };
        let Some(bind) = body.get("allotment@odata.bind").and_then(Value::as_str) else {
            return self.ctx.bad_request(
                "The 'allotment' relationship is required: set 'allotment@odata.bind'.",
            );
        };
        let Some(plans) = body.get("disabledServicePlanIds").and_then(Value::as_array) else {
            return self.ctx.bad_request(
                "Property 'disabledServicePlanIds' is required and must be a collection.",
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
                return self
                    .ctx
                    .bad_request("Invalid value specified for property 'disabledServicePlanIds'.");
            };
            if !sku.is_some_and(|s| {
                s.service_plans
                    .iter()
                    .any(|sp| sp.service_plan_id.eq_ignore_ascii_case(&p))
            }) {
                return self.ctx.bad_request(&format!(
                    "Service plan {p} does not belong to allotment '{}'.",
                    a.id
                ));
            }
            disabled.push(p);
        }
        let delay = self.shared.config.processing_delay;
        let lag = inner.faults.read_after_write_lag;
        match inner
            .lic
            .create_assignment(g, pool, disabled, self.now, delay, lag)
        {
            Ok(entry) => {
                inner.stats.writes_applied += 1;
                let mut v = self.assignment_json(inner, g, &entry, &[]);
                if let Value::Object(m) = &mut v {
                    m.insert(
                        "@odata.context".into(),
                        Value::String(self.metadata(&format!(
                            "groups('{group}')/cloudLicensing/assignments/$entity"
                        ))),
                    );
                }
                SimResponse::json(StatusCode::CREATED, v)
            }
            Err(CloudWriteError::AlreadyHolds(sku)) => self.ctx.error(
                StatusCode::CONFLICT,
                "Request_BadRequest",
                &format!("The group already has an assignment for SKU {sku}."),
            ),
            Err(CloudWriteError::NoSuchAssignment) => self.ctx.not_found(allotment_id),
        }
    }

    /// `DELETE /admin/cloudLicensing/assignments/{id}` or
    /// `DELETE /groups/{gid}/cloudLicensing/assignments/{id}` → 204.
    pub(crate) fn delete(&self, inner: &mut Inner, group: Option<&str>, id: &str) -> SimResponse {
        inner.stats.writes += 1;
        if let Some(gid) = group {
            let g = match self.group(inner, gid) {
                Ok(g) => g,
                Err(e) => return e,
            };
            if inner
                .lic
                .find_assignment(id)
                .is_none_or(|(owner, _)| owner != g)
            {
                return self.ctx.not_found(id);
            }
        }
        let delay = self.shared.config.processing_delay;
        let lag = inner.faults.read_after_write_lag;
        match inner.lic.delete_assignment(id, self.now, delay, lag) {
            Ok(()) => {
                inner.stats.writes_applied += 1;
                SimResponse {
                    status: StatusCode::NO_CONTENT,
                    headers: Vec::new(),
                    body: crate::http::Body::Empty,
                }
            }
            Err(_) => self.ctx.not_found(id),
        }
    }
}
