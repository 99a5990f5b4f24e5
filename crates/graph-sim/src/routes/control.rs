//! The `/_sim` control API: state, stats, faults. Not counted in stats or the request log.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::config::Faults;
use crate::http::{SimRequest, SimResponse};
use crate::server::Shared;

/// Answers control requests; `None` for every other path.
pub(crate) fn handle(shared: &Shared, req: &SimRequest) -> Option<SimResponse> {
    let resp = match (&req.method, req.path.as_str()) {
        (&Method::GET, "/_sim/state") => SimResponse::json(
            StatusCode::OK,
            serde_json::to_value(shared.tenant_state()).ok()?,
        ),
        (&Method::GET, "/_sim/stats") => {
            let stats = shared.lock().stats.clone();
            SimResponse::json(StatusCode::OK, serde_json::to_value(stats).ok()?)
        }
        (&Method::GET, "/_sim/faults") => {
            let faults = shared.lock().faults.clone();
            SimResponse::json(StatusCode::OK, serde_json::to_value(faults).ok()?)
        }
        (&Method::POST, "/_sim/faults") => match serde_json::from_slice::<Faults>(&req.body) {
            Ok(f) => {
                shared.lock().faults = f.clone();
                SimResponse::json(StatusCode::OK, serde_json::to_value(f).ok()?)
            }
            Err(e) => SimResponse::json(
                StatusCode::BAD_REQUEST,
                json!({"error": format!("invalid faults: {e}")}),
            ),
        },
        (&Method::POST, "/_sim/reset-stats") => {
            let mut inner = shared.lock();
            inner.stats = Default::default();
            inner.clear_log();
            SimResponse::json(StatusCode::OK, json!({"reset": true}))
        }
        (&Method::GET, "/_sim/requests") => {
            let log = shared.lock().log();
            SimResponse::json(StatusCode::OK, serde_json::to_value(log).ok()?)
        }
        _ => return None,
    };
    Some(resp)
}
