//! Query options shared by collection routes: `$select`, `$top`, `$count`, `$skiptoken`,
//! `$orderby`, and `@odata.nextLink` paging.

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::http::{Ctx, SimRequest, SimResponse};

/// Graph's page-size bounds for directory objects.
pub(crate) const MAX_TOP: usize = 999;
/// Default page size for groups and members.
pub(crate) const DEFAULT_TOP: usize = 100;

/// Parsed query options.
#[derive(Debug, Default)]
pub(crate) struct Options {
    pub(crate) select: Option<Vec<String>>,
    pub(crate) top: Option<usize>,
    pub(crate) filter: Option<String>,
    /// `$count=true` was asked for.
    pub(crate) count: bool,
    /// `$count=true` and `ConsistencyLevel: eventual`: advanced query mode.
    pub(crate) advanced: bool,
    pub(crate) orderby: Option<(String, bool)>,
    /// Resume after this (offset, id).
    pub(crate) after: Option<(usize, String)>,
}

/// Parses the `$` options, allowing only `allowed`; anything else is refused like Graph does.
pub(crate) fn options(
    ctx: &Ctx,
    req: &SimRequest,
    allowed: &[&str],
) -> Result<Options, SimResponse> {
    let mut o = Options::default();
    for (k, v) in &req.query {
        if !k.starts_with('$') {
            continue;
        }
        if !allowed.contains(&k.as_str()) {
            return Err(match k.as_str() {
                "$skip" => ctx.bad_request("'$skip' is not supported by the service."),
                "$search" if !req.eventual() => ctx.unsupported("Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'"),
                other => ctx.unsupported(&format!("The query parameter '{other}' is not supported on this resource.")),
            });
        }
        match k.as_str() {
            "$select" => {
                o.select = Some(
                    v.split(',')
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .collect(),
                );
            }
            "$top" => {
                let n = v
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_TOP).contains(n));
                match n {
                    Some(n) => o.top = Some(n),
                    None => {
                        return Err(ctx.bad_request(&format!(
                            "Invalid page size specified: '{v}'. Must be between 1 and {MAX_TOP} inclusive."
                        )));
                    }
                }
            }
            "$filter" => o.filter = Some(v.clone()),
            "$count" => match v.as_str() {
                "true" => o.count = true,
                "false" => o.count = false,
                _ => {
                    return Err(ctx.bad_request(&format!(
                        "Invalid value '{v}' for $count: expected true or false."
                    )));
                }
            },
            "$orderby" => {
                let mut parts = v.split_whitespace();
                let prop = parts.next().unwrap_or("").to_owned();
                let desc = match parts.next() {
                    None | Some("asc") => false,
                    Some("desc") => true,
                    Some(other) => {
                        return Err(
                            ctx.bad_request(&format!("Invalid $orderby direction '{other}'."))
                        );
                    }
                };
                o.orderby = Some((prop, desc));
            }
            "$skiptoken" => match decode_token(v) {
                Some(after) => o.after = Some(after),
                None => {
                    return Err(ctx.error(
                        StatusCode::BAD_REQUEST,
                        "Directory_ExpiredPageToken",
                        "The specified page token value has expired and can no longer be included in your request.",
                    ));
                }
            },
            _ => {}
        }
    }
    o.advanced = o.count && req.eventual();
    Ok(o)
}

fn encode_token(offset: usize, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("devlic-sim:1:{offset}:{id}"))
}

fn decode_token(t: &str) -> Option<(usize, String)> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(t.trim_end_matches('=')).ok()?).ok()?;
    let rest = raw.strip_prefix("devlic-sim:1:")?;
    let (offset, id) = rest.split_once(':')?;
    Some((offset.parse().ok()?, id.to_owned()))
}

/// Keeps only the selected keys (and `@odata.type`), in selection order.
pub(crate) fn project(obj: Map<String, Value>, select: &[String]) -> Value {
    let mut out = Map::new();
    if let Some(t) = obj.get("@odata.type") {
        out.insert("@odata.type".to_owned(), t.clone());
    }
    for s in select {
        if let Some((k, v)) = obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(s)) {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

/// One page of `items` (each with its id), with `@odata.count` on the first page when asked
/// in advanced mode, and an absolute `@odata.nextLink` on this server when more remain.
pub(crate) fn page(
    ctx: &Ctx,
    req: &SimRequest,
    context: String,
    items: Vec<(String, Value)>,
    o: &Options,
) -> SimResponse {
    let total = items.len();
    let start = match &o.after {
        None => 0,
        Some((offset, id)) => {
            if *offset > 0 && items.get(offset - 1).is_some_and(|(i, _)| i == id) {
                *offset
            } else if let Some(p) = items.iter().position(|(i, _)| i == id) {
                p + 1
            } else {
                (*offset).min(total)
            }
        }
    };
    let top = o.top.unwrap_or(DEFAULT_TOP);
    let end = (start + top).min(total);
    let mut body = Map::new();
    body.insert("@odata.context".to_owned(), Value::String(context));
    if o.advanced && o.after.is_none() {
        body.insert("@odata.count".to_owned(), Value::from(total));
    }
    if end < total {
        let last = &items[end - 1].0;
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &req.query {
            if k != "$skiptoken" {
                ser.append_pair(k, v);
            }
        }
        ser.append_pair("$skiptoken", &encode_token(end, last));
        let link = format!("{}{}?{}", ctx.base, req.path, ser.finish());
        body.insert("@odata.nextLink".to_owned(), Value::String(link));
    }
    let value: Vec<Value> = items
        .into_iter()
        .skip(start)
        .take(end.saturating_sub(start))
        .map(|(_, v)| v)
        .collect();
    body.insert("value".to_owned(), Value::Array(value));
    SimResponse::json(StatusCode::OK, Value::Object(body))
}

/// One page of a listing whose items sit at positions `0..len`, in order, kept when
/// `matches(position)`. Unlike [`page`], nothing outside the page is rendered and the scan starts
/// at the page token's position and stops at the first match past the page, so a page costs
/// O(page / share of positions that match), not O(listing): reading a 100,000-group listing page
/// by page is linear, not quadratic. Only the first page of an advanced query (`$count=true`)
/// counts every match, for `@odata.count`.
pub(crate) struct Scan<I, M, R> {
    /// Number of positions.
    pub(crate) len: usize,
    /// The id of the item at a position (page tokens name the last item sent).
    pub(crate) id_at: I,
    /// Whether the item at a position belongs to the listing.
    pub(crate) matches: M,
    /// The JSON of the item at a position.
    pub(crate) render: R,
}

/// Appends `value`'s JSON to `out` (the simulator's own types always serialise).
pub(crate) fn write_json<T: serde::Serialize>(out: &mut Vec<u8>, value: &T) {
    let _ = serde_json::to_writer(&mut *out, value);
}

impl<I, M, R> Scan<I, M, R>
where
    M: FnMut(usize) -> bool,
    R: FnMut(usize, &mut Vec<u8>),
{
    /// The page `o` asks for.
    pub(crate) fn page<'a>(
        mut self,
        ctx: &Ctx,
        req: &SimRequest,
        context: String,
        o: &Options,
    ) -> SimResponse
    where
        I: Fn(usize) -> &'a str,
    {
        let len = self.len;
        // Tokens hold the position after the last item sent and its id; if the item moved (a
        // group was deleted meanwhile), resume after wherever it is now.
        let start = match &o.after {
            None => 0,
            Some((offset, id)) => {
                if *offset > 0 && *offset <= len && (self.id_at)(offset - 1) == id {
                    *offset
                } else if let Some(p) = (0..len).position(|i| (self.id_at)(i) == id) {
                    p + 1
                } else {
                    (*offset).min(len)
                }
            }
        };
        let top = o.top.unwrap_or(DEFAULT_TOP);
        let mut hits = Vec::with_capacity(top.min(len));
        let mut more = false;
        for i in start..len {
            if (self.matches)(i) {
                if hits.len() == top {
                    more = true;
                    break;
                }
                hits.push(i);
            }
        }
        // Written straight to bytes, keys in the sorted order the simulator's JSON objects
        // have everywhere: a page of 999 groups built as `Value`s first cost more than the
        // rest of the request.
        let mut out = Vec::with_capacity(hits.len() * 256 + 512);
        out.extend_from_slice(b"{\"@odata.context\":");
        write_json(&mut out, &context);
        if o.advanced && o.after.is_none() {
            let total = (0..len).filter(|&i| (self.matches)(i)).count();
            out.extend_from_slice(b",\"@odata.count\":");
            write_json(&mut out, &total);
        }
        if more && let Some(&last) = hits.last() {
            let mut ser = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in &req.query {
                if k != "$skiptoken" {
                    ser.append_pair(k, v);
                }
            }
            ser.append_pair("$skiptoken", &encode_token(last + 1, (self.id_at)(last)));
            let link = format!("{}{}?{}", ctx.base, req.path, ser.finish());
            out.extend_from_slice(b",\"@odata.nextLink\":");
            write_json(&mut out, &link);
        }
        out.extend_from_slice(b",\"value\":[");
        for (n, i) in hits.into_iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            (self.render)(i, &mut out);
        }
        out.extend_from_slice(b"]}");
        SimResponse::json_bytes(StatusCode::OK, out)
    }
}
