//! The axum server: entry handler, fault injection, request log and stats.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body as AxumBody;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::applications::Caller;
use crate::budget::{Buckets, Charge, Kind};
use crate::clock::Clock;
use crate::config::{Faults, LoggedRequest, SimConfig, Stats};
use crate::http::{Ctx, SimRequest, SimResponse, http_date};
use crate::license::Licensing;
use crate::routes;
use crate::tenant::Tenant;

/// Everything mutable, behind one lock (never held across an await).
pub(crate) struct Inner {
    pub(crate) tenant: Tenant,
    pub(crate) lic: Licensing,
    /// Access token -> expiry and identity.
    pub(crate) tokens: HashMap<String, (Instant, Caller)>,
    /// Simulator time (real by default; tests may freeze and advance it).
    pub(crate) clock: Clock,
    pub(crate) rng: ChaCha8Rng,
    pub(crate) faults: Faults,
    pub(crate) stats: Stats,
    /// Object id -> where it lives in the tenant.
    pub(crate) objects: HashMap<String, ObjRef>,
    /// Groups by id and display name, for filters that name them (`filter::GroupIndex`).
    pub(crate) group_index: crate::filter::GroupIndex,
    /// Device-code sign-ins waiting for (or approved by) their user.
    pub(crate) device_codes: Vec<crate::routes::device_code::PendingDeviceCode>,
    /// Refresh tokens issued to device-code sign-ins that asked for `offline_access`.
    pub(crate) refresh_tokens: HashMap<String, crate::routes::device_code::RefreshGrant>,
    log: Vec<LoggedRequest>,
    /// Graph's throttling budgets, per app (used only when [`SimConfig::budgets`] is set).
    pub(crate) buckets: Buckets,
    /// When the last request counted in [`Stats::round_trips`] was answered.
    chain_end: Option<Instant>,
    /// Sequence number of `log[0]` (entries are reserved at arrival, filled in later).
    log_base: u64,
}

impl Inner {
    /// Settles license processing up to now; every handler calls this first.
    pub(crate) fn settle(&mut self, delay: Duration) -> Instant {
        let now = self.clock.now();
        self.lic.settle(now, delay);
        now
    }

    pub(crate) fn count(&mut self, route: &str, status: StatusCode) {
        *self.stats.per_route.entry(route.to_owned()).or_default() += 1;
        *self.stats.per_status.entry(status.as_u16()).or_default() += 1;
    }

    /// Reserves a log slot in arrival order; returns its sequence number.
    pub(crate) fn log_arrival(&mut self, method: &str, path_and_query: String) -> u64 {
        let seq = self.log_base + self.log.len() as u64;
        self.log.push(LoggedRequest {
            method: method.to_owned(),
            path_and_query,
            status: 0,
            batch_item: None,
            fault: None,
        });
        seq
    }

    /// Counts a Graph request that arrived at `arrived` and is answered now into
    /// [`Stats::round_trips`]. Answers come in time order, so taking every request that started
    /// after the last counted one ended is the greedy (earliest-end) longest chain of
    /// non-overlapping requests, computed online.
    pub(crate) fn note_round_trip(&mut self, arrived: Instant) {
        if self.chain_end.is_none_or(|end| arrived >= end) {
            self.stats.round_trips += 1;
            self.chain_end = Some(Instant::now());
        }
    }

    /// Starts a new round-trip chain (with the stats).
    pub(crate) fn reset_round_trips(&mut self) {
        self.chain_end = None;
    }

    pub(crate) fn log_batch_item(&mut self, entry: LoggedRequest) {
        self.log.push(entry);
    }

    pub(crate) fn log_finish(&mut self, seq: u64, status: StatusCode, fault: Option<&str>) {
        if let Some(e) = seq
            .checked_sub(self.log_base)
            .and_then(|i| self.log.get_mut(i as usize))
        {
            e.status = status.as_u16();
            e.fault = fault.map(str::to_owned);
        }
    }

    pub(crate) fn log(&self) -> Vec<LoggedRequest> {
        self.log.clone()
    }

    pub(crate) fn clear_log(&mut self) {
        self.log_base += self.log.len() as u64;
        self.log.clear();
    }
}

/// Where a directory object lives in the tenant.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ObjRef {
    Device(usize),
    User(usize),
    Group,
}

/// State shared by all handlers.
pub(crate) struct Shared {
    pub(crate) config: SimConfig,
    pub(crate) base: String,
    inner: Mutex<Inner>,
}

impl Shared {
    pub(crate) fn new(tenant: Tenant, config: SimConfig, base: String) -> std::io::Result<Shared> {
        let lic = Licensing::new(&tenant)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
        Ok(Shared {
            inner: Mutex::new(Inner {
                lic,
                tokens: HashMap::new(),
                clock: Clock::new(config.frozen_clock),
                rng: ChaCha8Rng::seed_from_u64(config.seed),
                faults: config.faults.clone(),
                stats: Stats::default(),
                objects: tenant
                    .devices
                    .iter()
                    .enumerate()
                    .map(|(i, d)| (d.id.clone(), ObjRef::Device(i)))
                    .chain(
                        tenant
                            .users
                            .iter()
                            .enumerate()
                            .map(|(i, u)| (u.id.clone(), ObjRef::User(i))),
                    )
                    .chain(tenant.groups.iter().map(|g| (g.id.clone(), ObjRef::Group)))
                    .collect(),
                group_index: crate::filter::GroupIndex::new(&tenant.groups),
                device_codes: Vec::new(),
                refresh_tokens: HashMap::new(),
                log: Vec::new(),
                buckets: Buckets::default(),
                chain_end: None,
                log_base: 0,
                tenant,
            }),
            config,
            base,
        })
    }

    /// Locks the state. A panic while holding the lock cannot leave it half-written in a way
    /// that matters for a test double, so a poisoned lock is simply taken over.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The random draws one top-level Graph request consumes, always all of them, so the sequence
/// does not depend on which faults are switched on.
pub(crate) struct Rolls {
    latency: f64,
    throttle: f64,
    unavailable: f64,
    kind: f64,
    drop: f64,
    lost: f64,
}

impl Rolls {
    fn draw(rng: &mut ChaCha8Rng) -> Rolls {
        Rolls {
            latency: rng.random(),
            throttle: rng.random(),
            unavailable: rng.random(),
            kind: rng.random(),
            drop: rng.random(),
            lost: rng.random(),
        }
    }
}

/// A fault that replaces a response (429 / 503 / 504), shared with `$batch` items.
pub(crate) fn rejection(
    ctx: &Ctx,
    faults: &Faults,
    throttle: f64,
    unavailable: f64,
    kind: f64,
) -> Option<(SimResponse, &'static str)> {
    if throttle < faults.throttle_rate {
        // The directory's throttling answer (concepts/throttling.md: 429 with Retry-After;
        // concepts/throttling-limits.md, identity and access service limits):
        // `Request_ThrottledTemporarily`, its message naming the wait in seconds.
        let resp = ctx.error(
            StatusCode::TOO_MANY_REQUESTS,
            "Request_ThrottledTemporarily",
            &format!(
                "Your request is throttled temporarily. Please try after {} seconds.",
                faults.retry_after_secs.max(0.0).ceil() as u64
            ),
        );
        return Some((with_retry_after(resp, faults), "throttled"));
    }
    if unavailable < faults.unavailable_rate {
        let resp = if kind < 0.5 {
            with_retry_after(
                ctx.error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "serviceNotAvailable",
                    "The service is temporarily unavailable.",
                ),
                faults,
            )
        } else {
            ctx.error(
                StatusCode::GATEWAY_TIMEOUT,
                "gatewayTimeout",
                "The gateway did not receive a timely response.",
            )
        };
        return Some((resp, "unavailable"));
    }
    None
}

/// Charges a Graph request or `$batch` item to the caller's budget when budgets are on
/// (budget.rs). `Err` is the 429 of an empty bucket; `Ok` holds the headers the answer carries
/// (`x-ms-resource-unit`, and `x-ms-throttle-limit-percentage` past 80 % of the budget).
pub(crate) fn charge_budget(
    shared: &Shared,
    inner: &mut Inner,
    ctx: &Ctx,
    req: &SimRequest,
    app: &str,
    write: bool,
) -> Result<Vec<(String, String)>, SimResponse> {
    let Some(budgets) = shared.config.budgets else {
        return Ok(Vec::new());
    };
    if req.path.ends_with("/$batch") {
        // The envelope is free; its items are charged one by one.
        return Ok(Vec::new());
    }
    let (kind, units) = if write {
        (Kind::Write, 1.0)
    } else {
        (Kind::Read, crate::budget::read_units(req))
    };
    let now = inner.clock.now();
    match inner.buckets.charge(&budgets, app, kind, units, now) {
        Charge::Granted { used, units } => {
            let mut headers = Vec::new();
            if kind == Kind::Read {
                headers.push(("x-ms-resource-unit".to_owned(), format!("{units}")));
            }
            if used > 0.8 {
                headers.push((
                    "x-ms-throttle-limit-percentage".to_owned(),
                    format!("{:.2}", used.min(1.8)),
                ));
            }
            Ok(headers)
        }
        Charge::Throttled { wait } => {
            inner.stats.throttled_by_budget += 1;
            let (limit, info) = match kind {
                Kind::Write => ("Write", "WriteLimitExceeded"),
                Kind::Read => ("Read", "ResourceUnitLimitExceeded"),
            };
            // Retry-After in seconds, decimals allowed (concepts/throttling.md).
            // Whole milliseconds, rounded up (the 1e-6 keeps float noise from adding one).
            let secs = (wait.as_secs_f64() * 1000.0 - 1e-6).ceil().max(1.0) / 1000.0;
            let tenant = inner.tenant.id.clone();
            Err(ctx
                .error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Request_ThrottledTemporarily",
                    &format!(
                        "Your request is throttled temporarily. Please try after {} seconds.",
                        secs.ceil() as u64
                    ),
                )
                .with_header("Retry-After", format!("{secs}"))
                .with_header(
                    "x-ms-throttle-scope",
                    format!("Tenant_Application/{limit}/{app}/{tenant}"),
                )
                .with_header("x-ms-throttle-information", info.to_owned())
                .with_header("x-ms-throttle-limit-percentage", "1.8".to_owned()))
        }
    }
}

fn with_retry_after(resp: SimResponse, faults: &Faults) -> SimResponse {
    let secs = faults.retry_after_secs.max(0.0);
    let value = if faults.retry_after_as_date {
        let whole = secs.ceil() as i64;
        let at = jiff::Timestamp::now()
            .checked_add(jiff::SignedDuration::from_secs(whole))
            .unwrap_or_else(|_| jiff::Timestamp::now());
        http_date(at)
    } else if secs.fract() == 0.0 {
        format!("{}", secs as u64)
    } else {
        format!("{secs}")
    };
    resp.with_header("Retry-After", value)
}

/// Builds the router: everything goes through one entry handler that dispatches by path, so
/// the `$batch` executor can reuse the same Graph dispatcher.
pub(crate) fn app(shared: Arc<Shared>) -> Router {
    Router::new().fallback(entry).with_state(shared)
}

const MAX_BODY: usize = 8 * 1024 * 1024;

async fn entry(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b.to_vec(),
        Err(_) => {
            return plain(StatusCode::PAYLOAD_TOO_LARGE, "request body too large");
        }
    };
    let raw_path = parts.uri.path().to_owned();
    let raw_query = parts.uri.query().unwrap_or("").to_owned();
    let path = percent_decode(&raw_path, false);
    let query: Vec<(String, String)> = url::form_urlencoded::parse(raw_query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let logged_path = if raw_query.is_empty() {
        path.clone()
    } else {
        format!("{path}?{}", percent_decode(&raw_query, true))
    };
    let sreq = SimRequest {
        method: parts.method.clone(),
        path,
        query,
        headers: parts.headers.clone(),
        body,
    };
    let ctx = Ctx::new(&shared.base, sreq.header("client-request-id"));

    if let Some(resp) = routes::control::handle(&shared, &sreq) {
        return finish(&ctx, resp, None);
    }
    let seq = {
        let mut inner = shared.lock();
        inner.stats.requests += 1;
        inner.log_arrival(parts.method.as_str(), logged_path)
    };
    let graph = sreq.path.starts_with("/v1.0/") || sreq.path.starts_with("/beta/");
    if !graph {
        let (route, resp) = routes::auth::handle(&shared, &ctx, &sreq);
        let mut inner = shared.lock();
        inner.count(&route, resp.status);
        inner.log_finish(seq, resp.status, None);
        return finish(&ctx, resp, None);
    }

    let arrived = Instant::now();
    let (rolls, faults) = {
        let mut inner = shared.lock();
        let rolls = Rolls::draw(&mut inner.rng);
        (rolls, inner.faults.clone())
    };
    let delay = faults.latency.unwrap_or_default()
        + faults
            .latency_jitter
            .map(|j| j.mul_f64(rolls.latency))
            .unwrap_or_default();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }

    let mut inner = shared.lock();
    let (route, resp, fault, write) = match routes::auth::check_bearer(&mut inner, &ctx, &sreq) {
        Err(resp) => ("unauthenticated".to_owned(), resp, None, false),
        Ok(caller) => {
            let write = routes::is_write(&sreq);
            let app = routes::auth::token_app_id(&sreq).unwrap_or_default();
            let budget = charge_budget(&shared, &mut inner, &ctx, &sreq, &app, write);
            if let Err(resp) = budget {
                if write {
                    inner.stats.writes += 1;
                }
                (routes::route_name(&sreq), resp, Some("budget"), write)
            } else if let Some((resp, fault)) =
                rejection(&ctx, &faults, rolls.throttle, rolls.unavailable, rolls.kind)
            {
                if write {
                    inner.stats.writes += 1;
                }
                let route = routes::route_name(&sreq);
                (route, resp, Some(fault), write)
            } else {
                let (route, mut resp) =
                    routes::graph(&shared, &mut inner, &ctx, &sreq, &caller, true);
                resp.headers.extend(budget.unwrap_or_default());
                let fault = if write && rolls.lost < faults.lost_write_rate {
                    Some("lost_write")
                } else if rolls.drop < faults.drop_rate {
                    Some("dropped")
                } else {
                    None
                };
                (route, resp, fault, write)
            }
        }
    };
    let _ = write;
    inner.count(&route, resp.status);
    match fault {
        Some("throttled") => inner.stats.faults.throttled += 1,
        Some("unavailable") => inner.stats.faults.unavailable += 1,
        Some("lost_write") => inner.stats.faults.lost_writes += 1,
        Some("dropped") => inner.stats.faults.dropped += 1,
        _ => {}
    }
    inner.log_finish(seq, resp.status, fault);
    inner.note_round_trip(arrived);
    drop(inner);
    let drop_conn = matches!(fault, Some("lost_write") | Some("dropped"));
    finish(&ctx, resp, Some(drop_conn))
}

/// Turns a [`SimResponse`] into an HTTP response with Graph's id headers. With
/// `drop_conn == Some(true)` the body stream fails halfway, which makes hyper abort the
/// connection: the client sees headers, then a broken body.
fn finish(ctx: &Ctx, resp: SimResponse, drop_conn: Option<bool>) -> Response {
    let bytes = resp.body_bytes();
    let body = if drop_conn == Some(true) {
        let half = Bytes::from(bytes[..bytes.len() / 2].to_vec());
        let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
            Ok(half),
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "devlic-sim: injected connection drop",
            )),
        ];
        AxumBody::from_stream(futures::stream::iter(chunks))
    } else {
        AxumBody::from(bytes)
    };
    let mut out = Response::new(body);
    // A 204 has no body to break, and hyper sends none: a lost 204 (a cloudLicensing DELETE)
    // goes out as a 200 whose body fails, so the client sees headers and then a broken
    // connection, never a clean answer.
    let status = if drop_conn == Some(true) && resp.status == StatusCode::NO_CONTENT {
        StatusCode::OK
    } else {
        resp.status
    };
    *out.status_mut() = status;
    let h = out.headers_mut();
    if let Some(v) = resp
        .content_type()
        .and_then(|ct| HeaderValue::from_str(ct).ok())
    {
        h.insert("content-type", v);
    }
    for (k, v) in &resp.headers {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            h.append(name, value);
        }
    }
    if let Ok(v) = HeaderValue::from_str(&ctx.request_id) {
        h.insert("request-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(&ctx.client_request_id) {
        h.insert("client-request-id", v);
    }
    out
}

fn plain(status: StatusCode, text: &str) -> Response {
    let mut r = Response::new(AxumBody::from(text.to_owned()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// Percent-decodes; in a query, `+` means a space (form encoding, what reqwest sends).
pub(crate) fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A running server task and its shutdown switch.
pub(crate) struct Running {
    pub(crate) shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    pub(crate) task: tokio::task::JoinHandle<()>,
}

/// Binds `addr` and serves until the returned switch is used.
pub(crate) async fn serve(
    shared_for: impl FnOnce(String) -> std::io::Result<Arc<Shared>>,
    addr: std::net::SocketAddr,
) -> std::io::Result<(Arc<Shared>, std::net::SocketAddr, Running)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let shared = shared_for(format!("http://{local}"))?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let router = app(shared.clone());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await;
    });
    Ok((
        shared,
        local,
        Running {
            shutdown: Some(tx),
            task,
        },
    ))
}

impl Shared {
    /// The tenant as it is now: assignments, processing states and consumedUnits updated.
    pub(crate) fn tenant_state(&self) -> Tenant {
        let mut inner = self.lock();
        let now = inner.settle(self.config.processing_delay);
        let mut t = inner.tenant.clone();
        inner
            .lic
            .write_into(&mut t, now, self.config.processing_delay);
        t
    }
}
