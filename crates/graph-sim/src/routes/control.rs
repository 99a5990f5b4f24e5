//! The `/_sim` control API: state, stats, faults, clock. Not counted in stats or the request log.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde::Deserialize;
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
            inner.reset_round_trips();
            SimResponse::json(StatusCode::OK, json!({"reset": true}))
        }
        (&Method::GET, "/_sim/clock") => clock_state(shared),
        // `{"freeze": true}` stops simulator time, `{"advanceMs": N}` moves it forward; both
        // may be given (freeze first).
        (&Method::POST, "/_sim/clock") => match serde_json::from_slice::<ClockChange>(&req.body) {
            Ok(c) => {
                let mut inner = shared.lock();
                if c.freeze {
                    inner.clock.freeze();
                }
                inner.clock.advance(Duration::from_millis(c.advance_ms));
                inner.settle(shared.config.processing_delay);
                drop(inner);
                clock_state(shared)
            }
            Err(e) => SimResponse::json(
                StatusCode::BAD_REQUEST,
                json!({"error": format!("invalid clock change: {e}")}),
            ),
        },
        (&Method::GET, "/_sim/requests") => {
            let log = shared.lock().log();
            SimResponse::json(StatusCode::OK, serde_json::to_value(log).ok()?)
        }
        _ => return None,
    };
    Some(resp)
}

/// The body of `POST /_sim/clock`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClockChange {
    #[serde(default)]
    freeze: bool,
    #[serde(default)]
    advance_ms: u64,
}

fn clock_state(shared: &Shared) -> SimResponse {
    let inner = shared.lock();
    SimResponse::json(
        StatusCode::OK,
        json!({
            "frozen": inner.clock.is_frozen(),
            "advancedMs": inner.clock.offset().as_millis() as u64,
        }),
    )
}
