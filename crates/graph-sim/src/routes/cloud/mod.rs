//! Beta `cloudLicensing`: allotments, their assignments and waiting members, and group
//! assignments, served from the same licensing model as v1.0 `assignLicense`.
//!
//! Shapes follow the beta reference (`microsoft.graph.cloudLicensing.*`): an assignment carries
//! only `id` and `disabledServicePlanIds`; its `allotment` and `assignedTo` relationships appear
//! when asked for with `$expand` (optionally with a nested `$select`), and so does a waiting
//! member's `assignedTo`.

use axum::http::{Method, StatusCode};
use serde_json::{Map, Value, json};

mod devices;
mod writes;

use super::list;
use crate::http::{Ctx, SimRequest, SimResponse};
use crate::license::Entry;
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

/// One `$expand` item: navigation property, optional nested `$select` and `$filter`.
struct Expand {
    name: String,
    select: Option<Vec<String>>,
    filter: Option<String>,
}

/// The `skuId` filters the beta pages show: `skuId eq GUID` and `skuId in (GUID, GUID)`
/// (cloudlicensing-admincloudlicensing-list-assignments.md, example 3; quotes optional). The SKU
/// ids, lower-cased; `None` for any other form.
fn sku_filter(raw: &str) -> Option<Vec<String>> {
    let rest = raw.trim().strip_prefix("skuId")?.trim_start();
    let values: Vec<&str> = if let Some(v) = rest.strip_prefix("eq ") {
        vec![v]
    } else {
        rest.strip_prefix("in")?
            .trim()
            .strip_prefix('(')?
            .strip_suffix(')')?
            .split(',')
            .collect()
    };
    values
        .into_iter()
        .map(|v| v.trim().trim_matches('\'').to_ascii_lowercase())
        .map(|v| uuid::Uuid::parse_str(&v).ok().map(|_| v))
        .collect()
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
        let (name, select, filter) = match s.split_once('(') {
            Some((n, rest)) => {
                let inner = rest.strip_suffix(')').unwrap_or(rest);
                let option = |name: &str| {
                    inner
                        .split(';')
                        .find_map(|o| o.trim().strip_prefix(name).map(str::to_owned))
                };
                let select =
                    option("$select=").map(|v| v.split(',').map(|x| x.trim().to_owned()).collect());
                (n.trim().to_owned(), select, option("$filter="))
            }
            None => (s, None, None),
        };
        items.push(Expand {
            name,
            select,
            filter,
        });
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
            // A nested filter is documented on an assignment's allotment only.
            if let Some(f) = &e.filter
                && (e.name != "allotment" || sku_filter(f).is_none())
            {
                return Err(self.ctx.unsupported(&format!(
                    "Invalid filter clause in $expand={}: only 'skuId eq GUID' and 'skuId in (GUID, ...)' on allotment are supported.",
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
        self.assignment_selected(inner, group, e, expand, &None)
    }

    /// An assignment with `$select` applied to its properties; expanded relationships are added
    /// whatever `$select` says, as OData returns them.
    fn assignment_selected(
        &self,
        inner: &Inner,
        group: usize,
        e: &Entry,
        expand: &[Expand],
        select: &Option<Vec<String>>,
    ) -> Value {
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
        let mut m = match project(Value::Object(m), select) {
            Value::Object(m) => m,
            _ => Map::new(),
        };
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
        let skus = match o.filter.as_deref().map(sku_filter) {
            None => None,
            Some(Some(skus)) => Some(skus),
            Some(None) => {
                return self.ctx.unsupported(
                    "Invalid filter clause: only 'skuId eq GUID' and 'skuId in (GUID, ...)' are supported.",
                );
            }
        };
        let items = inner
            .lic
            .pools()
            .iter()
            .enumerate()
            .filter(|(_, a)| skus.as_ref().is_none_or(|s| s.contains(&a.sku_id)))
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
        // `$expand=allotment($filter=skuId in (...))` lists only the assignments whose allotment
        // matches (cloudlicensing-admincloudlicensing-list-assignments.md, example 3).
        let allotment_skus = expand
            .iter()
            .filter_map(|x| x.filter.as_deref())
            .find_map(sku_filter);
        let delay = self.shared.config.processing_delay;
        // The matching assignments first, unrendered; only the page's are rendered (the JSON of
        // every assignment on every page made reading a 10,000-group listing quadratic).
        let mut items = Vec::new();
        for (g, _) in inner.tenant.groups.iter().enumerate() {
            if only.is_some_and(|o| o != g) {
                continue;
            }
            // Readers see the same (possibly lagging) view as v1.0 `assignedLicenses`.
            for e in inner.lic.view(g, self.now, delay).entries {
                let sku = &inner.lic.pools()[e.pool].sku_id;
                if allotment_skus.as_ref().is_some_and(|s| !s.contains(sku)) {
                    continue;
                }
                items.push((g, e));
            }
        }
        let context = match group {
            Some(g) => self.metadata(&format!("groups('{g}')/cloudLicensing/assignments")),
            None => self.metadata("admin/cloudLicensing/assignments"),
        };
        list::Scan {
            len: items.len(),
            id_at: |i: usize| items[i].1.assignment_id.as_str(),
            matches: |_| true,
            render: |i: usize, out: &mut Vec<u8>| {
                let (g, e) = &items[i];
                list::write_json(
                    out,
                    &self.assignment_selected(inner, *g, e, &expand, &o.select),
                );
            },
        }
        .page(self.ctx, self.req, context, &o)
    }

    /// `GET /admin/cloudLicensing/assignments/{id}`,
    /// `GET /admin/cloudLicensing/allotments/{aid}/assignments/{id}` or
    /// `GET /groups/{gid}/cloudLicensing/assignments/{id}`, with `$select` and `$expand`
    /// (cloudlicensing-assignment-get.md). The page's examples wrap the entity in `value`; Graph
    /// answers a single entity as itself (concepts/query-parameters.md), which is what the
    /// simulator sends, with its `@odata.context`.
    pub(crate) fn get_assignment(
        &self,
        inner: &Inner,
        group: Option<&str>,
        allotment: Option<&str>,
        id: &str,
    ) -> SimResponse {
        let o = match list::options(self.ctx, self.req, &["$select", "$expand"]) {
            Ok(o) => o,
            Err(e) => return e,
        };
        let expand = match self.expand(&["allotment", "assignedTo"], ASSIGNMENT_TYPE) {
            Ok(x) => x,
            Err(e) => return e,
        };
        let owner = match self.owner(inner, id, group, allotment) {
            Ok(g) => g,
            Err(e) => return e,
        };
        // The same (possibly lagging) view the listings show.
        let delay = self.shared.config.processing_delay;
        let Some(entry) = inner
            .lic
            .view(owner, self.now, delay)
            .entries
            .into_iter()
            .find(|e| e.assignment_id.eq_ignore_ascii_case(id))
        else {
            return self.ctx.not_found(id);
        };
        let mut v = self.assignment_selected(inner, owner, &entry, &expand, &o.select);
        let tail = match group {
            Some(g) => format!("groups('{g}')/cloudLicensing/assignments/$entity"),
            None => "admin/cloudLicensing/assignments/$entity".to_owned(),
        };
        if let Value::Object(m) = &mut v {
            m.insert("@odata.context".into(), Value::String(self.metadata(&tail)));
        }
        SimResponse::json(StatusCode::OK, v)
    }

    /// One assignment by id: GET, PATCH or DELETE (any other method: 405, as Graph answers).
    pub(crate) fn one_assignment(
        &self,
        inner: &mut Inner,
        group: Option<&str>,
        allotment: Option<&str>,
        id: &str,
    ) -> SimResponse {
        match self.req.method {
            Method::GET => self.get_assignment(inner, group, allotment, id),
            Method::PATCH => self.update(inner, group, allotment, id),
            Method::DELETE => self.delete(inner, group, allotment, id),
            _ => self.ctx.error(
                StatusCode::METHOD_NOT_ALLOWED,
                "Request_BadRequest",
                "Specified HTTP method is not allowed for the request target.",
            ),
        }
    }
}
