//! Graph routing: one dispatcher for top-level requests and `$batch` items.

pub(crate) mod auth;
mod batch;
pub(crate) mod control;
mod group_json;
mod groups;
mod list;

use axum::http::{Method, StatusCode};

use crate::http::{Ctx, SimRequest, SimResponse};
use crate::server::{Inner, Shared};

/// `v1.0` or `beta`, from the path.
fn version(path: &str) -> Option<(&'static str, &str)> {
    if let Some(rest) = path.strip_prefix("/v1.0") {
        Some(("v1.0", rest))
    } else {
        path.strip_prefix("/beta").map(|rest| ("beta", rest))
    }
}

fn segments(rest: &str) -> Vec<&str> {
    rest.split('/').filter(|s| !s.is_empty()).collect()
}

/// Is this an `assignLicense` call?
pub(crate) fn is_write(req: &SimRequest) -> bool {
    req.method == Method::POST
        && version(&req.path).is_some_and(|(_, rest)| {
            let s = segments(rest);
            s.len() == 3
                && s[0] == "groups"
                && matches!(s[2], "assignLicense" | "microsoft.graph.assignLicense")
        })
}

/// The route template, with ids replaced by `{id}`, for stats.
pub(crate) fn route_name(req: &SimRequest) -> String {
    let Some((ver, rest)) = version(&req.path) else {
        return format!("{} {}", req.method, req.path);
    };
    let mut out = format!("{} /{ver}", req.method);
    for (i, s) in segments(rest).iter().enumerate() {
        out.push('/');
        out.push_str(if i == 1 { "{id}" } else { s });
    }
    out
}

/// Dispatches a Graph request. `top_level` is false for `$batch` items (no nested batches).
pub(crate) fn graph(
    shared: &Shared,
    inner: &mut Inner,
    ctx: &Ctx,
    req: &SimRequest,
    top_level: bool,
) -> (String, SimResponse) {
    let route = route_name(req);
    let Some((ver, rest)) = version(&req.path) else {
        return (route, ctx.bad_request("Invalid API version."));
    };
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
    let resp = match segs.as_slice() {
        ["$batch"] if post && top_level => batch::handle(shared, inner, ctx, req, ver),
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
                [] => g.list_members(inner, id, rel, false),
                ["microsoft.graph.device"] => g.list_members(inner, id, rel, true),
                ["$count"] => g.count_members(inner, id, rel, false),
                ["microsoft.graph.device", "$count"] => g.count_members(inner, id, rel, true),
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
