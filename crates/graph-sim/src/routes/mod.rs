//! Graph routing: one dispatcher for top-level requests and `$batch` items.

pub(crate) mod auth;
mod batch;
mod cloud;
pub(crate) mod control;
pub(crate) mod device_code;
mod group_json;
mod groups;
mod list;

use axum::http::{Method, StatusCode};

use crate::applications::Caller;
use crate::http::{Ctx, SimRequest, SimResponse};
use crate::server::{Inner, Shared};

/// `v1.0` or `beta`, from the path.
pub(crate) fn version(path: &str) -> Option<(&'static str, &str)> {
    if let Some(rest) = path.strip_prefix("/v1.0") {
        Some(("v1.0", rest))
    } else {
        path.strip_prefix("/beta").map(|rest| ("beta", rest))
    }
}

pub(crate) fn segments(rest: &str) -> Vec<&str> {
    rest.split('/').filter(|s| !s.is_empty()).collect()
}

/// Is this a license write (`assignLicense`, or a cloudLicensing assignment create, update or
/// delete)?
pub(crate) fn is_write(req: &SimRequest) -> bool {
    version(&req.path).is_some_and(|(_, rest)| {
        let s = segments(rest);
        matches!(
            (&req.method, s.as_slice()),
            (
                &Method::POST,
                [
                    "groups",
                    _,
                    "assignLicense" | "microsoft.graph.assignLicense"
                ] | ["groups", _, "cloudLicensing", "assignments"]
            ) | (
                &Method::DELETE | &Method::PATCH,
                ["groups", _, "cloudLicensing", "assignments", _]
                    | ["admin", "cloudLicensing", "assignments", _]
                    | ["admin", "cloudLicensing", "allotments", _, "assignments", _]
            )
        )
    })
}

/// The route template, with ids replaced by `{id}`, for stats.
pub(crate) fn route_name(req: &SimRequest) -> String {
    let Some((ver, rest)) = version(&req.path) else {
        return format!("{} {}", req.method, req.path);
    };
    let mut out = format!("{} /{ver}", req.method);
    let segs = segments(rest);
    for (i, s) in segs.iter().enumerate() {
        out.push('/');
        // An id follows a collection name (`groups/{id}`, `allotments/{id}`, …).
        let is_id = i > 0
            && matches!(
                segs[i - 1],
                "groups" | "allotments" | "assignments" | "devices"
            )
            && !s.starts_with('$');
        out.push_str(if is_id { "{id}" } else { s });
    }
    out
}

/// Dispatches a Graph request. `top_level` is false for `$batch` items (no nested batches).
pub(crate) fn graph(
    shared: &Shared,
    inner: &mut Inner,
    ctx: &Ctx,
    req: &SimRequest,
    caller: &Caller,
    top_level: bool,
) -> (String, SimResponse) {
    let route = route_name(req);
    let Some((ver, rest)) = version(&req.path) else {
        return (route, ctx.bad_request("Invalid API version."));
    };
    // Permissions first, as Graph checks them before it looks for the resource.
    if let Err(denied) = crate::permissions::check(ctx, caller, req) {
        return (route, denied);
    }
    let now = inner.settle(shared.config.processing_delay);
    let segs = segments(rest);
    let get = req.method == Method::GET;
    let post = req.method == Method::POST;
    let g = groups::Api {
        shared,
        ctx,
        req,
        ver,
        now,
    };
    let c = cloud::Cloud {
        shared,
        ctx,
        req,
        now,
    };
    let beta = ver == "beta";
    let resp = match segs.as_slice() {
        ["admin", "cloudLicensing", tail @ ..] if beta => match (tail, get) {
            (["allotments"], true) => c.list_allotments(inner),
            (["allotments", id], true) => c.get_allotment(inner, id),
            (["allotments", id, "assignments"], true) => c.list_pool_relation(inner, id, false),
            (["allotments", id, "waitingMembers"], true) => c.list_pool_relation(inner, id, true),
            (["allotments", aid, "assignments", id], _) => {
                c.one_assignment(inner, None, Some(aid), id)
            }
            (["assignments"], true) => c.list_assignments(inner, None),
            (["assignments", id], _) => c.one_assignment(inner, None, None, id),
            _ => segment_not_found(ctx, tail.first().copied().unwrap_or("cloudLicensing")),
        },
        ["groups", id, "cloudLicensing", "assignments"] if beta && get => {
            c.list_assignments(inner, Some(id))
        }
        ["groups", id, "cloudLicensing", "assignments"] if beta && post => c.create(inner, id),
        ["groups", gid, "cloudLicensing", "assignments", id] if beta => {
            c.one_assignment(inner, Some(gid), None, id)
        }
        ["devices", id, "cloudLicensing", "usageRights"] if beta && get => {
            c.list_device_usage_rights(inner, id)
        }
        ["$batch"] if post && top_level => batch::handle(shared, inner, ctx, req, caller, ver),
        ["$batch"] if post => {
            ctx.bad_request("A batch request cannot contain another batch request.")
        }
        ["organization"] if get => g.organization(inner),
        ["subscribedSkus"] if get => g.subscribed_skus(inner),
        ["groups"] if get => g.list_groups(inner),
        ["groups", "$count"] if get => g.count_groups(inner),
        ["groups", id] if get => g.get_group(inner, id),
        [
            "groups",
            id,
            "assignLicense" | "microsoft.graph.assignLicense",
        ] if post => g.assign_license(inner, id),
        ["groups", id, rel, tail @ ..] if get && groups::Relation::parse(rel).is_some() => {
            let rel = groups::Relation::parse(rel).unwrap_or(groups::Relation::Members);
            match tail {
                [] => g.list_members(inner, id, rel, None),
                ["$count"] => g.count_members(inner, id, rel, None),
                [cast] if groups::Cast::parse(cast).is_some() => {
                    g.list_members(inner, id, rel, groups::Cast::parse(cast))
                }
                [cast, "$count"] if groups::Cast::parse(cast).is_some() => {
                    g.count_members(inner, id, rel, groups::Cast::parse(cast))
                }
                [other, ..] => segment_not_found(ctx, other),
            }
        }
        ["organization" | "subscribedSkus" | "groups", ..] => ctx.error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Request_BadRequest",
            "Specified HTTP method is not allowed for the request target.",
        ),
        [first, ..] => segment_not_found(ctx, first),
        [] => segment_not_found(ctx, ver),
    };
    (route, resp)
}

fn segment_not_found(ctx: &Ctx, seg: &str) -> SimResponse {
    ctx.error(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        &format!("Resource not found for the segment '{seg}'."),
    )
}
