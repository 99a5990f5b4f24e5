//! Simulator configuration, fault knobs and the observability types (stats, request log).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::budget::Budgets;

/// How a simulator instance behaves.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Seed of the fault RNG (ChaCha8) and of `$batch` response shuffling.
    pub seed: u64,
    /// The one app registration's client id.
    pub client_id: String,
    /// Its client secret.
    pub client_secret: String,
    /// `licenseProcessingState` goes Queued → InProgress (at half) → Complete over this delay;
    /// devices are (un)licensed when it completes. Zero completes at once.
    pub processing_delay: Duration,
    /// Fault injection.
    pub faults: Faults,
    /// Start with the clock frozen: simulator time (license processing, read-after-write lag,
    /// token expiry) then moves only through [`crate::Sim::advance_clock`] or `POST /_sim/clock`.
    /// `false` (the default) follows real time.
    pub frozen_clock: bool,
    /// Lifetime of issued access tokens (`expires_in`).
    pub token_lifetime: Duration,
    /// The bearer token `GET /_sim/github-oidc` requires (like `ACTIONS_ID_TOKEN_REQUEST_TOKEN`).
    pub github_request_token: String,
    /// The `sub` claim of tokens from `GET /_sim/github-oidc`.
    pub github_subject: String,
    /// Graph's throttling budgets (writes per window, read resource units per window), charged
    /// per app; `None` (the default) enforces none. See [`Budgets`].
    pub budgets: Option<Budgets>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 0,
            client_id: "devlic-sim".to_owned(),
            client_secret: "devlic-sim-secret".to_owned(),
            processing_delay: Duration::ZERO,
            faults: Faults::default(),
            frozen_clock: false,
            token_lifetime: Duration::from_secs(3599),
            github_request_token: "devlic-sim-gh-request-token".to_owned(),
            github_subject: "repo:contoso/devlic:environment:production".to_owned(),
            budgets: None,
        }
    }
}

/// Fault injection. Each Graph request (and each `$batch` item) draws from one seeded RNG in
/// arrival order, so the same sequence of requests under the same seed and faults meets the
/// same faults. Rates are probabilities in 0..=1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Added to every Graph response.
    #[serde(with = "opt_millis")]
    pub latency: Option<Duration>,
    /// Up to this much more, uniformly.
    #[serde(with = "opt_millis")]
    pub latency_jitter: Option<Duration>,
    /// Share of requests (and of `$batch` items) answered 429.
    pub throttle_rate: f64,
    /// `Retry-After` of those 429s (and of 503s), in seconds. Whole seconds by default (1), as
    /// the directory sends them; a fractional value is sent as a decimal (concepts/throttling.md
    /// allows it), which lets tests wait less.
    pub retry_after_secs: f64,
    /// Send `Retry-After` as an HTTP date instead of seconds.
    pub retry_after_as_date: bool,
    /// Share answered 503 or 504 (half each).
    pub unavailable_rate: f64,
    /// Share whose connection is dropped mid-response (after the request took effect).
    pub drop_rate: f64,
    /// Share of writes applied whose response is then lost (connection dropped).
    pub lost_write_rate: f64,
    /// Reads see a group's old license state for this long after a write.
    #[serde(with = "opt_millis")]
    pub read_after_write_lag: Option<Duration>,
}

impl Default for Faults {
    /// No faults; a throttled or unavailable answer would say `Retry-After: 1`.
    fn default() -> Faults {
        Faults {
            latency: None,
            latency_jitter: None,
            throttle_rate: 0.0,
            retry_after_secs: 1.0,
            retry_after_as_date: false,
            unavailable_rate: 0.0,
            drop_rate: 0.0,
            lost_write_rate: 0.0,
            read_after_write_lag: None,
        }
    }
}

/// Durations in the control API are integers in milliseconds, e.g. `"latency": 250`.
mod opt_millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&(d.as_millis() as u64)),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

/// Counters since start (or the last reset).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// HTTP requests received (Graph, token and identity endpoints; not the `/_sim` control API).
    pub requests: u64,
    /// `$batch` items executed.
    pub batch_items: u64,
    /// Requests and batch items per route, e.g. `GET /v1.0/groups/{id}`.
    pub per_route: BTreeMap<String, u64>,
    /// Requests and batch items per status code.
    pub per_status: BTreeMap<u16, u64>,
    /// `assignLicense` calls received (top level or in a batch), whatever their outcome.
    pub writes: u64,
    /// `assignLicense` calls that changed the tenant (202).
    pub writes_applied: u64,
    /// Injected faults.
    pub faults: FaultCounts,
    /// Dependent round trips of Graph requests: the longest chain of top-level requests each
    /// sent after the previous one was answered (requests in flight together count once). It
    /// measures how many sequential waits a client made, whatever the latency.
    #[serde(default)]
    pub round_trips: u64,
    /// Requests and `$batch` items answered 429 because a budget was empty (not injected).
    #[serde(default)]
    pub throttled_by_budget: u64,
}

/// How many faults were injected, by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultCounts {
    /// 429s (requests and batch items).
    pub throttled: u64,
    /// 503s and 504s.
    pub unavailable: u64,
    /// Connections dropped mid-response.
    pub dropped: u64,
    /// Writes applied whose response was dropped.
    pub lost_writes: u64,
}

/// One entry of the request log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoggedRequest {
    /// HTTP method.
    pub method: String,
    /// Path and query, percent-decoded (and `+` read as a space in the query).
    pub path_and_query: String,
    /// Status sent (for a dropped connection: the status that was being sent).
    pub status: u16,
    /// For a `$batch` item: its `id` in the batch; `None` for top-level requests.
    pub batch_item: Option<String>,
    /// The injected fault, if any: `throttled`, `unavailable`, `dropped`, `lost_write`.
    pub fault: Option<String>,
}
