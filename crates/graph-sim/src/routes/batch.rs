//! JSON batching: up to 20 requests, unique ids, `dependsOn` (424 for dependents of a failed
//! request), per-item faults (429 with `Retry-After` in the item's headers), responses in an
//! order shuffled by the seeded RNG so clients must match by id.

use std::collections::HashMap;

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::Rng;
use serde_json::{Map, Value, json};

use crate::applications::Caller;
use crate::config::LoggedRequest;
use crate::http::{Body, Ctx, SimRequest, SimResponse};
use crate::server::{Inner, Shared, percent_decode, rejection};

/// Graph's limit on requests per batch.
pub(crate) const MAX_BATCH: usize = 20;

struct Item {
    id: String,
    method: Method,
    url: String,
    headers: HeaderMap,
    body: Option<Value>,
    depends_on: Vec<String>,
}

fn invalid(ctx: &Ctx, msg: &str) -> SimResponse {
    ctx.error(StatusCode::BAD_REQUEST, "BadRequest", msg)
}

fn parse(ctx: &Ctx, body: &[u8]) -> Result<Vec<Item>, SimResponse> {
    let v: Value =
        serde_json::from_slice(body).map_err(|_| invalid(ctx, "Invalid batch payload format."))?;
    let reqs = v
        .get("requests")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid(ctx, "Invalid batch payload format."))?;
    if reqs.is_empty() {
        return Err(invalid(ctx, "Invalid batch payload format: no requests."));
    }
    if reqs.len() > MAX_BATCH {
        return Err(invalid(
            ctx,
            &format!("Number of batch request steps exceeds the maximum of {MAX_BATCH}."),
        ));
    }
    let mut items: Vec<Item> = Vec::new();
    for r in reqs {
        let id = match r.get("id") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => {
                return Err(invalid(
                    ctx,
                    "Invalid batch payload format: every request needs an id.",
                ));
            }
        };
        // Ids are "not case-sensitive" and must be unique, otherwise the whole batch fails
        // with 400 (concepts/json-batching.md, request properties table).
        if items.iter().any(|i| i.id.eq_ignore_ascii_case(&id)) {
            return Err(invalid(
                ctx,
                &format!("Batch request contains duplicate request id '{id}'."),
            ));
        }
        let method = r
            .get("method")
            .and_then(Value::as_str)
            .and_then(|m| Method::from_bytes(m.to_ascii_uppercase().as_bytes()).ok())
            .ok_or_else(|| invalid(ctx, &format!("Request '{id}' has no valid method.")))?;
        let url = r
            .get("url")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(ctx, &format!("Request '{id}' has no url.")))?
            .to_owned();
        if url.starts_with("http://") || url.starts_with("https://") {
            return Err(invalid(
                ctx,
                &format!(
                    "Request '{id}': the url must be relative to the batch endpoint's version."
                ),
            ));
        }
        let mut headers = HeaderMap::new();
        if let Some(h) = r.get("headers").and_then(Value::as_object) {
            for (k, v) in h {
                if let (Ok(name), Some(Ok(value))) = (
                    HeaderName::from_bytes(k.as_bytes()),
                    v.as_str().map(HeaderValue::from_str),
                ) {
                    headers.insert(name, value);
                }
            }
        }
        let body = r.get("body").cloned().filter(|b| !b.is_null());
        if body.is_some() && !headers.contains_key("content-type") {
            return Err(invalid(
                ctx,
                &format!("Request '{id}' has a body but no Content-Type header."),
            ));
        }
        let depends_on = match r.get("dependsOn") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(d)) => d
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            Some(_) => {
                return Err(invalid(
                    ctx,
                    &format!("Request '{id}': dependsOn must be an array of ids."),
                ));
            }
        };
        for d in &depends_on {
            if !items.iter().any(|i| i.id.eq_ignore_ascii_case(d)) {
                return Err(invalid(
                    ctx,
                    &format!(
                        "Request '{id}' depends on '{d}', which is not an earlier request in the batch."
                    ),
                ));
            }
        }
        items.push(Item {
            id,
            method,
            url,
            headers,
            body,
            depends_on,
        });
    }
    Ok(items)
}

pub(crate) fn handle(
    shared: &Shared,
    inner: &mut Inner,
    ctx: &Ctx,
    req: &SimRequest,
    caller: &Caller,
    ver: &str,
) -> SimResponse {
    let items = match parse(ctx, &req.body) {
        Ok(i) => i,
        Err(e) => return e,
    };
    let app = super::auth::token_app_id(req).unwrap_or_default();
    // Keyed by the lower-cased id: `dependsOn` matches ids case-insensitively too.
    let mut statuses: HashMap<String, u16> = HashMap::new();
    let mut responses: Vec<Value> = Vec::new();
    for item in items {
        // Always three draws per item, so the sequence does not depend on the knobs.
        let (throttle, unavailable, kind): (f64, f64, f64) =
            (inner.rng.random(), inner.rng.random(), inner.rng.random());
        let (path_q, query) = match item.url.split_once('?') {
            Some((p, q)) => (p.to_owned(), q.to_owned()),
            None => (item.url.clone(), String::new()),
        };
        let path = format!(
            "/{ver}/{}",
            percent_decode(path_q.trim_start_matches('/'), false)
        );
        let sub = SimRequest {
            method: item.method.clone(),
            path: path.clone(),
            query: url::form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
            headers: item.headers.clone(),
            body: item
                .body
                .as_ref()
                .map(|b| b.to_string().into_bytes())
                .unwrap_or_default(),
        };
        let item_ctx = Ctx::new(&ctx.base, sub.header("client-request-id"));
        let failed_dep = item.depends_on.iter().any(|d| {
            statuses
                .get(&d.to_ascii_lowercase())
                .is_none_or(|s| !(200..300).contains(s))
        });
        let write = super::is_write(&sub);
        // Items are charged one by one, with the envelope's token (concepts/json-batching.md:
        // items are throttled individually).
        let budget = if failed_dep {
            Ok(Vec::new())
        } else {
            crate::server::charge_budget(shared, inner, &item_ctx, &sub, &app, write)
        };
        let (route, resp, fault) = if failed_dep {
            let resp = item_ctx.error(
                StatusCode::FAILED_DEPENDENCY,
                "FailedDependency",
                "Request failed because a request it depends on failed.",
            );
            (super::route_name(&sub), resp, None)
        } else if let Err(resp) = budget {
            if write {
                inner.stats.writes += 1;
            }
            (super::route_name(&sub), resp, Some("budget"))
        } else if let Some((resp, fault)) =
            rejection(&item_ctx, &inner.faults, throttle, unavailable, kind)
        {
            if write {
                inner.stats.writes += 1;
            }
            (super::route_name(&sub), resp, Some(fault))
        } else {
            let (route, mut resp) = super::graph(shared, inner, &item_ctx, &sub, caller, false);
            resp.headers.extend(budget.unwrap_or_default());
            (route, resp, None)
        };
        inner.stats.batch_items += 1;
        inner.count(&route, resp.status);
        match fault {
            Some("throttled") => inner.stats.faults.throttled += 1,
            Some("unavailable") => inner.stats.faults.unavailable += 1,
            _ => {}
        }
        let logged = if query.is_empty() {
            path.clone()
        } else {
            format!("{path}?{}", percent_decode(&query, true))
        };
        inner.log_batch_item(LoggedRequest {
            method: item.method.to_string(),
            path_and_query: logged,
            status: resp.status.as_u16(),
            batch_item: Some(item.id.clone()),
            fault: fault.map(str::to_owned),
        });
        statuses.insert(item.id.to_ascii_lowercase(), resp.status.as_u16());
        responses.push(item_response(&item.id, &item_ctx, resp));
    }
    // Fisher-Yates with the seeded RNG: same requests, same order.
    for i in (1..responses.len()).rev() {
        let j = inner.rng.random_range(0..=i);
        responses.swap(i, j);
    }
    SimResponse::json(StatusCode::OK, json!({"responses": responses}))
}

/// One entry of `responses`; non-JSON bodies (e.g. `$count`'s text/plain) are base64-encoded,
/// as Graph does for non-JSON content in JSON batches.
fn item_response(id: &str, ctx: &Ctx, resp: SimResponse) -> Value {
    let mut headers = Map::new();
    if let Some(ct) = resp.content_type() {
        headers.insert("Content-Type".to_owned(), Value::String(ct.to_owned()));
    }
    headers.insert(
        "request-id".to_owned(),
        Value::String(ctx.request_id.clone()),
    );
    headers.insert(
        "client-request-id".to_owned(),
        Value::String(ctx.client_request_id.clone()),
    );
    for (k, v) in &resp.headers {
        headers.insert(k.clone(), Value::String(v.clone()));
    }
    let body = match &resp.body {
        Body::Json(v) => v.clone(),
        Body::JsonBytes(b) => serde_json::from_slice(b).unwrap_or(Value::Null),
        Body::Text(t) => Value::String(STANDARD.encode(t.as_bytes())),
        // Graph leaves `body` out of a 204 item.
        Body::Empty => {
            return json!({"id": id, "status": resp.status.as_u16(), "headers": headers});
        }
    };
    json!({"id": id, "status": resp.status.as_u16(), "headers": headers, "body": body})
}
