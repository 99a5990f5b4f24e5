//! The request log: one `tracing` event per HTTP exchange with Graph, emitted from the
//! transport's one send path (`Transport::attempt`) and printed by the CLI with `-v`.

use std::time::Duration;

use url::Url;

use crate::transport::{Failure, Request, Response};

/// The `tracing` target of the request log: one `INFO` event per HTTP exchange with Graph, sent
/// from `Transport`'s one send path and nowhere else. Fields: `method`, `path` (path and query,
/// paging tokens elided), then `status` and `request_id` for an answer or `error` for none,
/// `duration_ms` and `retries` (how many times this request was sent before). It never carries
/// a header, a body or a token. The CLI prints it with `-v`.
pub const REQUEST_LOG_TARGET: &str = "devlic::request";

pub(crate) fn log_request(
    req: &Request,
    result: &Result<Response, Failure>,
    took: Duration,
    retries: u32,
) {
    let method = req.method.as_str();
    let path = logged_path(&req.url);
    let duration_ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
    match result {
        Ok(resp) => tracing::info!(
            target: REQUEST_LOG_TARGET,
            method,
            path = %path,
            status = resp.status,
            request_id = resp.request_id.as_deref().unwrap_or("-"),
            duration_ms,
            retries,
            "graph request"
        ),
        Err(failure) => {
            let error = match failure {
                Failure::NotSent(d) | Failure::Unreachable(d) | Failure::Unknown(d) => d.as_str(),
                Failure::TooLarge { detail, .. } => detail.as_str(),
                Failure::Auth(_) | Failure::Deadline => "not sent",
            };
            tracing::info!(
                target: REQUEST_LOG_TARGET,
                method,
                path = %path,
                error,
                duration_ms,
                retries,
                "graph request"
            );
        }
    }
}

/// A request's path and query for the log. Paging tokens (`$skiptoken`, `$skip`... values in a
/// nextLink) are opaque server state, long and useless to a reader, so they are elided; filter
/// values (group names and ids) stay, since they are what a reader looks for.
fn logged_path(url: &Url) -> String {
    let mut shown = url.path().to_owned();
    let Some(query) = url.query() else {
        return shown;
    };
    let pairs: Vec<String> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| {
            if k.to_ascii_lowercase().contains("token") {
                format!("{k}=…")
            } else {
                format!("{k}={v}")
            }
        })
        .collect();
    if !pairs.is_empty() {
        shown.push('?');
        shown.push_str(&pairs.join("&"));
    }
    shown
}
