//! Organization, subscribed SKUs, groups, members and `assignLicense`.

use std::time::Instant;

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::group_json::{GroupJson, parse_assign};
use super::list;
use crate::filter::{self, DEFAULT_GROUP_PROPERTIES, Row, known_group_properties};
use crate::http::{Ctx, SimRequest, SimResponse};
use crate::license::LicenseView;
use crate::server::{Inner, ObjRef, Shared};
use crate::tenant::Group;

/// A group relationship that lists directory objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Relation {
    Members,
    TransitiveMembers,
    MembersWithLicenseErrors,
}

impl Relation {
    pub(crate) fn parse(s: &str) -> Option<Relation> {
        match s {
            "members" => Some(Relation::Members),
            "transitiveMembers" => Some(Relation::TransitiveMembers),
            "membersWithLicenseErrors" => Some(Relation::MembersWithLicenseErrors),
            _ => None,
        }
    }
}

/// A type cast on a member listing (`/members/microsoft.graph.device`, `…/microsoft.graph.group`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cast {
    Device,
    Group,
}

impl Cast {
    pub(crate) fn parse(s: &str) -> Option<Cast> {
        match s {
            // Microsoft's Kiota SDKs send the short alias `graph.device`; Graph accepts both.
            "microsoft.graph.device" | "graph.device" => Some(Cast::Device),
            "microsoft.graph.group" | "graph.group" => Some(Cast::Group),
            _ => None,
        }
    }

    fn odata_type(self) -> &'static str {
        match self {
            Cast::Device => "#microsoft.graph.device",
            Cast::Group => "#microsoft.graph.group",
        }
    }
}

/// One request's view of the tenant.
pub(crate) struct Api<'a> {
    pub(crate) shared: &'a Shared,
    pub(crate) ctx: &'a Ctx,
    pub(crate) req: &'a SimRequest,
    pub(crate) ver: &'static str,
    pub(crate) now: Instant,
}

impl Api<'_> {
    fn metadata(&self, tail: &str) -> String {
        format!("{}/{}/$metadata#{tail}", self.ctx.base, self.ver)
    }

    fn select_suffix(select: &Option<Vec<String>>) -> String {
        match select {
            Some(s) if !s.is_empty() => format!("({})", s.join(",")),
            _ => String::new(),
        }
    }

    pub(crate) fn organization(&self, inner: &Inner) -> SimResponse {
        let o = match list::options(self.ctx, self.req, &["$select"]) {
            Ok(o) => o,
            Err(e) => return e,
        };
        let t = &inner.tenant;
        let domains: Vec<Value> = t
            .verified_domains
            .iter()
            .map(|d| {
                json!({
                    "capabilities": "Email, OfficeCommunicationsOnline",
                    "isDefault": d.is_default,
                    "isInitial": d.is_initial,
                    "name": d.name,
                    "type": "Managed",
                })
            })
            .collect();
        let org = json!({
            "id": t.id,
            "deletedDateTime": null,
            "displayName": t.display_name,
            "tenantType": "AAD",
            "verifiedDomains": domains,
        });
        let org = match (&o.select, org) {
            (Some(s), Value::Object(m)) => list::project(m, s),
            (_, v) => v,
        };
        SimResponse::json(
            StatusCode::OK,
            json!({
                "@odata.context": self.metadata(&format!("organization{}", Self::select_suffix(&o.select))),
                "value": [org],
            }),
        )
    }

    pub(crate) fn subscribed_skus(&self, inner: &Inner) -> SimResponse {
        let o = match list::options(self.ctx, self.req, &["$select"]) {
            Ok(o) => o,
            Err(e) => return e,
        };
        let t = &inner.tenant;
        let value: Vec<Value> = t
            .subscribed_skus
            .iter()
            .map(|s| {
                let v = json!({
                    "accountName": t.display_name,
                    "accountId": t.id,
                    "appliesTo": s.applies_to,
                    "capabilityStatus": s.capability_status,
                    "consumedUnits": inner.lic.consumed(&s.sku_id),
                    "id": format!("{}_{}", t.id, s.sku_id),
                    "prepaidUnits": {
                        "enabled": s.prepaid_units.enabled,
                        "suspended": s.prepaid_units.suspended,
                        "warning": s.prepaid_units.warning,
                        "lockedOut": s.prepaid_units.locked_out,
                    },
                    "servicePlans": s.service_plans.iter().map(|p| json!({
                        "servicePlanId": p.service_plan_id,
                        "servicePlanName": p.service_plan_name,
                        "provisioningStatus": p.provisioning_status,
                        "appliesTo": p.applies_to,
                    })).collect::<Vec<_>>(),
                    "skuId": s.sku_id,
                    "skuPartNumber": s.sku_part_number,
                    "subscriptionIds": s.subscription_ids,
                });
                match (&o.select, v) {
                    (Some(sel), Value::Object(m)) => list::project(m, sel),
                    (_, v) => v,
                }
            })
            .collect();
        SimResponse::json(
            StatusCode::OK,
            json!({
                "@odata.context": self.metadata(&format!("subscribedSkus{}", Self::select_suffix(&o.select))),
                "value": value,
            }),
        )
    }

    /// The properties a `$select` asks for, in Graph's spelling (Graph matches names ignoring
    /// case and answers with the canonical one), or Graph's default set without `$select`;
    /// 400 for a name the group type does not have. Resolved once per request, not per group.
    fn check_select(&self, select: &Option<Vec<String>>) -> Result<Vec<&'static str>, SimResponse> {
        let mut props: Vec<&'static str> = match select {
            None => DEFAULT_GROUP_PROPERTIES.to_vec(),
            Some(select) => select
                .iter()
                .map(|s| {
                    known_group_properties()
                        .find(|p| p.eq_ignore_ascii_case(s))
                        .ok_or_else(|| {
                            self.ctx.bad_request(&format!(
                                "Could not find a property named '{s}' on type 'microsoft.graph.group'."
                            ))
                        })
                })
                .collect::<Result<_, _>>()?,
        };
        // The simulator's JSON objects keep their keys sorted, each once.
        props.sort_unstable();
        props.dedup();
        Ok(props)
    }

    /// A group as Graph serialises it: the properties [`Self::check_select`] resolved.
    fn group_json(&self, g: &Group, view: &LicenseView, props: &[&'static str]) -> Value {
        GroupJson {
            group: g,
            view,
            props,
        }
        .to_value()
    }

    fn find(&self, inner: &Inner, id: &str) -> Result<usize, SimResponse> {
        find_group(self.ctx, inner, id)
    }

    pub(crate) fn list_groups(&self, inner: &Inner) -> SimResponse {
        let o = match list::options(
            self.ctx,
            self.req,
            &[
                "$select",
                "$top",
                "$filter",
                "$count",
                "$skiptoken",
                "$orderby",
            ],
        ) {
            Ok(o) => o,
            Err(e) => return e,
        };
        let props = match self.check_select(&o.select) {
            Ok(p) => p,
            Err(e) => return e,
        };
        let expr = match &o.filter {
            None => None,
            Some(f) => {
                match filter::parse(f).and_then(|e| filter::validate(&e, o.advanced).map(|()| e)) {
                    Ok(e) => Some(e),
                    Err(fe) => {
                        return self
                            .ctx
                            .error(StatusCode::BAD_REQUEST, fe.code, &fe.message);
                    }
                }
            }
        };
        if let Some((prop, _)) = &o.orderby {
            if !prop.eq_ignore_ascii_case("displayName") {
                return self
                    .ctx
                    .unsupported(&format!("Sorting by '{prop}' is not supported."));
            }
            if expr.is_some() && !o.advanced {
                return self
                    .ctx
                    .unsupported("Sorting not supported for current query.");
            }
        }
        let delay = self.shared.config.processing_delay;
        let groups = &inner.tenant.groups;
        let keep = |i: usize| match &expr {
            None => true,
            Some(e) => {
                let g = &groups[i];
                let view = inner.lic.view(i, self.now, delay);
                filter::eval(
                    e,
                    &Row::of(
                        g,
                        view.entries
                            .iter()
                            .map(|e| e.license.sku_id.as_str())
                            .collect(),
                        !inner.lic.errors_of(i).is_empty(),
                    ),
                )
            }
        };
        let render = |i: usize, out: &mut Vec<u8>| {
            let view = inner.lic.view(i, self.now, delay);
            list::write_json(
                out,
                &GroupJson {
                    group: &groups[i],
                    view: &view,
                    props: &props,
                },
            );
        };
        let context = self.metadata(&format!("groups{}", Self::select_suffix(&o.select)));
        // A filter naming its groups (`id in (…)`, `displayName in (…)`) is evaluated on those
        // groups only, in tenant order (`filter::GroupIndex`); anything else on every group.
        let candidates: Vec<usize> =
            match expr.as_ref().and_then(|e| inner.group_index.candidates(e)) {
                Some(c) => c,
                None => (0..groups.len()).collect(),
            };
        // Tenant order is the listing order unless `$orderby` asks otherwise; then the matches
        // are sorted first (a rare, advanced query), but still only the page is rendered.
        let Some((_, desc)) = &o.orderby else {
            return list::Scan {
                len: candidates.len(),
                id_at: |k: usize| groups[candidates[k]].id.as_str(),
                matches: |k: usize| keep(candidates[k]),
                render: |k: usize, out: &mut Vec<u8>| render(candidates[k], out),
            }
            .page(self.ctx, self.req, context, &o);
        };
        let mut order: Vec<(String, usize)> = candidates
            .iter()
            .copied()
            .filter(|&i| keep(i))
            .map(|i| (groups[i].display_name.to_lowercase(), i))
            .collect();
        order.sort_by(|(na, a), (nb, b)| na.cmp(nb).then(groups[*a].id.cmp(&groups[*b].id)));
        if *desc {
            order.reverse();
        }
        list::Scan {
            len: order.len(),
            id_at: |k: usize| groups[order[k].1].id.as_str(),
            matches: |_| true,
            render: |k: usize, out: &mut Vec<u8>| render(order[k].1, out),
        }
        .page(self.ctx, self.req, context, &o)
    }

    /// `GET /groups/$count`: the number of groups as text, only with `ConsistencyLevel:
    /// eventual` (`api-reference/v1.0/api/group-list.md`, "Get only a count of groups"). devlic's
    /// live read uses it to know whether any group exists beyond the license holders.
    pub(crate) fn count_groups(&self, inner: &Inner) -> SimResponse {
        if !self.req.eventual() {
            return self.ctx.bad_request("$count is not currently supported.");
        }
        SimResponse::text(StatusCode::OK, inner.tenant.groups.len().to_string())
    }

    pub(crate) fn get_group(&self, inner: &Inner, id: &str) -> SimResponse {
        let o = match list::options(self.ctx, self.req, &["$select"]) {
            Ok(o) => o,
            Err(e) => return e,
        };
        let props = match self.check_select(&o.select) {
            Ok(p) => p,
            Err(e) => return e,
        };
        let i = match self.find(inner, id) {
            Ok(i) => i,
            Err(e) => return e,
        };
        let view = inner
            .lic
            .view(i, self.now, self.shared.config.processing_delay);
        let mut v = self.group_json(&inner.tenant.groups[i], &view, &props);
        if let Value::Object(m) = &mut v {
            m.insert(
                "@odata.context".to_owned(),
                Value::String(
                    self.metadata(&format!("groups{}/$entity", Self::select_suffix(&o.select))),
                ),
            );
        }
        SimResponse::json(StatusCode::OK, v)
    }

    /// Direct members, transitive members (nested groups and their members, each once), or the
    /// members with license errors.
    fn member_ids(&self, inner: &Inner, i: usize, rel: Relation) -> Vec<String> {
        match rel {
            Relation::Members => inner.tenant.groups[i].members.clone(),
            Relation::TransitiveMembers => {
                let mut out = Vec::new();
                let mut seen = std::collections::HashSet::new();
                let mut stack = vec![i];
                let mut visited = std::collections::HashSet::from([i]);
                while let Some(g) = stack.pop() {
                    for m in &inner.tenant.groups[g].members {
                        if seen.insert(m.clone()) {
                            out.push(m.clone());
                        }
                        if let Some(child) = inner.lic.group_index(m)
                            && visited.insert(child)
                        {
                            stack.push(child);
                        }
                    }
                }
                out
            }
            Relation::MembersWithLicenseErrors => {
                let mut out: Vec<String> = Vec::new();
                for e in inner.lic.errors_of(i) {
                    if !out.contains(&e.member) {
                        out.push(e.member.clone());
                    }
                }
                out
            }
        }
    }

    pub(crate) fn list_members(
        &self,
        inner: &Inner,
        id: &str,
        rel: Relation,
        cast: Option<Cast>,
    ) -> SimResponse {
        let o = match list::options(
            self.ctx,
            self.req,
            &["$select", "$top", "$count", "$skiptoken"],
        ) {
            Ok(o) => o,
            Err(e) => return e,
        };
        let i = match self.find(inner, id) {
            Ok(i) => i,
            Err(e) => return e,
        };
        let delay = self.shared.config.processing_delay;
        let items: Vec<(String, Value)> = self
            .member_ids(inner, i, rel)
            .into_iter()
            .filter_map(|m| {
                let obj = self.directory_object(inner, &m, delay)?;
                if let Some(c) = cast
                    && obj.get("@odata.type").and_then(Value::as_str) != Some(c.odata_type())
                {
                    return None;
                }
                let v = match &o.select {
                    Some(sel) => list::project(obj, sel),
                    None => Value::Object(obj),
                };
                Some((m, v))
            })
            .collect();
        let set = match cast {
            Some(Cast::Device) => "devices",
            Some(Cast::Group) => "groups",
            None => "directoryObjects",
        };
        let context = self.metadata(&format!("{set}{}", Self::select_suffix(&o.select)));
        list::page(self.ctx, self.req, context, items, &o)
    }

    pub(crate) fn count_members(
        &self,
        inner: &Inner,
        id: &str,
        rel: Relation,
        cast: Option<Cast>,
    ) -> SimResponse {
        let i = match self.find(inner, id) {
            Ok(i) => i,
            Err(e) => return e,
        };
        if !self.req.eventual() {
            return self.ctx.bad_request("$count is not currently supported.");
        }
        let n = self
            .member_ids(inner, i, rel)
            .iter()
            .filter(|m| match cast {
                None => true,
                Some(Cast::Device) => matches!(inner.objects.get(*m), Some(ObjRef::Device(_))),
                Some(Cast::Group) => matches!(inner.objects.get(*m), Some(ObjRef::Group)),
            })
            .count();
        SimResponse::text(StatusCode::OK, n.to_string())
    }

    fn directory_object(
        &self,
        inner: &Inner,
        id: &str,
        delay: std::time::Duration,
    ) -> Option<Map<String, Value>> {
        let t = &inner.tenant;
        let found = inner.objects.get(id).copied()?;
        if let ObjRef::Device(i) = found {
            let d = &t.devices[i];
            let v = json!({
                "@odata.type": "#microsoft.graph.device",
                "id": d.id,
                "accountEnabled": d.account_enabled,
                "deviceId": d.device_id,
                "displayName": d.display_name,
                "operatingSystem": d.operating_system,
                "operatingSystemVersion": d.operating_system_version,
                "trustType": d.trust_type,
            });
            return v.as_object().cloned();
        }
        if let ObjRef::User(i) = found {
            let u = &t.users[i];
            let v = json!({
                "@odata.type": "#microsoft.graph.user",
                "id": u.id,
                "businessPhones": [],
                "displayName": u.display_name,
                "userPrincipalName": u.user_principal_name,
            });
            return v.as_object().cloned();
        }
        let i = inner.lic.group_index(id)?;
        let view = inner.lic.view(i, self.now, delay);
        let Value::Object(mut m) =
            self.group_json(&t.groups[i], &view, &sorted_default_properties())
        else {
            return None;
        };
        let mut out = Map::new();
        out.insert(
            "@odata.type".to_owned(),
            Value::String("#microsoft.graph.group".to_owned()),
        );
        out.append(&mut m);
        Some(out)
    }

    pub(crate) fn assign_license(&self, inner: &mut Inner, id: &str) -> SimResponse {
        inner.stats.writes += 1;
        let i = match self.find(inner, id) {
            Ok(i) => i,
            Err(e) => return e,
        };
        let body: Value = match serde_json::from_slice(&self.req.body) {
            Ok(v) => v,
            Err(_) => {
                return self.ctx.error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
                );
            }
        };
        let (add, remove) = match parse_assign(&body) {
            Ok(x) => x,
            Err(prop) => {
                return self.ctx.bad_request(&format!(
                    "Invalid value specified for property '{prop}' of resource 'Group'."
                ));
            }
        };
        let t = &inner.tenant;
        for sku in add.iter().map(|a| &a.sku_id).chain(remove.iter()) {
            let Some(s) = t.subscribed_skus.iter().find(|s| &s.sku_id == sku) else {
                return self.ctx.bad_request(&format!(
                    "License {sku} does not correspond to a valid company License."
                ));
            };
            if let Some(a) = add.iter().find(|a| &a.sku_id == sku) {
                for p in &a.disabled_plans {
                    if !s
                        .service_plans
                        .iter()
                        .any(|sp| sp.service_plan_id.eq_ignore_ascii_case(p))
                    {
                        return self.ctx.bad_request(&format!(
                            "Service plan {p} does not belong to license {sku}."
                        ));
                    }
                }
            }
        }
        if let Some(both) = add.iter().find(|a| remove.contains(&a.sku_id)) {
            return self.ctx.bad_request(&format!(
                "License {} is present in both addLicenses and removeLicenses.",
                both.sku_id
            ));
        }
        let delay = self.shared.config.processing_delay;
        let lag = inner.faults.read_after_write_lag;
        inner.lic.assign(i, add, &remove, self.now, delay, lag);
        inner.stats.writes_applied += 1;
        // The 202 carries the group as it is now (the writer sees its own write).
        let view = inner.lic.fresh_view(i, self.now, delay);
        let mut v = self.group_json(&inner.tenant.groups[i], &view, &sorted_default_properties());
        if let Value::Object(m) = &mut v {
            m.insert(
                "@odata.context".to_owned(),
                Value::String(self.metadata("groups/$entity")),
            );
        }
        SimResponse::json(StatusCode::ACCEPTED, v)
    }
}

/// The index of group `id`, answering like Graph: 400 for an id that is not a GUID, 404 for an
/// unknown one. Shared by the v1.0 group routes and the beta cloudLicensing routes.
pub(crate) fn find_group(ctx: &Ctx, inner: &Inner, id: &str) -> Result<usize, SimResponse> {
    let lower = id.to_ascii_lowercase();
    if uuid::Uuid::parse_str(&lower).is_err() {
        return Err(ctx.bad_request(&format!("Invalid object identifier '{id}'.")));
    }
    inner
        .lic
        .group_index(&lower)
        .ok_or_else(|| ctx.not_found(id))
}

/// Graph's default group properties in the order the simulator writes them (sorted).
fn sorted_default_properties() -> Vec<&'static str> {
    let mut props = DEFAULT_GROUP_PROPERTIES.to_vec();
    props.sort_unstable();
    props
}
