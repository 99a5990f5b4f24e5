//! Graph's throttling budgets for the directory, as token buckets per app (the simulator serves
//! one tenant, so per app is per app and tenant).
//!
//! concepts/throttling-limits.md, "Identity and access service limits": requests are charged
//! in resource units per app and tenant over a 10 s window (3,500 / 5,000 / 8,000 for small,
//! medium and large tenants); most requests cost 1 unit, `subscribedSkus` and `members` 3,
//! `transitiveMembers` 5, and `$select` takes one off, `$expand` adds one, `$top` under 20 takes
//! one off. Writes have their own limit: 3,000 per 150 s per app and tenant. An empty bucket
//! answers 429 with `Retry-After` and the `x-ms-throttle-scope` and `x-ms-throttle-information`
//! headers; every answer past 80 % of a budget carries `x-ms-throttle-limit-percentage` (0.8 to
//! 1.8). `$batch` items are charged one by one (concepts/json-batching.md: items are throttled
//! individually), the `$batch` envelope not at all.
//!
//! Off unless [`crate::SimConfig::budgets`] is set, so fault-free tests are unaffected;
//! [`Budgets::scaled`] shrinks the windows for tests and benchmarks.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::http::SimRequest;

/// One budget: `capacity` units per `window`, refilled continuously (a token bucket that holds
/// at most one window's worth).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Budget {
    /// Units per window (also the largest burst).
    pub capacity: f64,
    /// The window.
    pub window: Duration,
}

impl Budget {
    /// Units refilled per second.
    fn rate(&self) -> f64 {
        self.capacity / self.window.as_secs_f64().max(1e-9)
    }
}

/// The budgets the simulator enforces when enabled.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Budgets {
    /// Identity writes (`assignLicense`, cloud-licensing assignments): one unit each.
    pub writes: Budget,
    /// Reads, in resource units.
    pub reads: Budget,
}

impl Budgets {
    /// Graph's documented limits for a large tenant: 3,000 writes per 150 s and 8,000 resource
    /// units per 10 s.
    pub fn graph() -> Budgets {
        Budgets {
            writes: Budget {
                capacity: 3000.0,
                window: Duration::from_secs(150),
            },
            reads: Budget {
                capacity: 8000.0,
                window: Duration::from_secs(10),
            },
        }
    }

    /// The same budgets with every capacity and window multiplied by `factor` (0.01: 30 writes
    /// per 1.5 s): the sustained rate is Graph's, bursts are smaller, so a test meets throttling
    /// after a few requests instead of thousands.
    pub fn scaled(self, factor: f64) -> Budgets {
        let f = factor.max(1e-6);
        let scale = |b: Budget| Budget {
            capacity: (b.capacity * f).max(1.0),
            window: b.window.mul_f64(f),
        };
        Budgets {
            writes: scale(self.writes),
            reads: scale(self.reads),
        }
    }

    /// The same budgets refilled `speedup` times faster (windows divided by it).
    pub fn faster(self, speedup: f64) -> Budgets {
        let k = speedup.max(1e-6);
        let speed = |b: Budget| Budget {
            capacity: b.capacity,
            window: b.window.div_f64(k),
        };
        Budgets {
            writes: speed(self.writes),
            reads: speed(self.reads),
        }
    }
}

/// What a request is charged against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Read,
    Write,
}

/// The outcome of charging a request.
pub(crate) enum Charge {
    /// Charged; the share of the budget in use afterwards and the units charged.
    Granted { used: f64, units: f64 },
    /// The bucket is empty: retry after this long.
    Throttled { wait: Duration },
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The buckets, keyed by app id and kind.
#[derive(Debug, Default)]
pub(crate) struct Buckets {
    buckets: HashMap<(String, Kind), Bucket>,
}

impl Buckets {
    /// Charges `units` of `kind` to `app` at `now`.
    pub(crate) fn charge(
        &mut self,
        budgets: &Budgets,
        app: &str,
        kind: Kind,
        units: f64,
        now: Instant,
    ) -> Charge {
        let budget = match kind {
            Kind::Read => budgets.reads,
            Kind::Write => budgets.writes,
        };
        let bucket = self
            .buckets
            .entry((app.to_owned(), kind))
            .or_insert(Bucket {
                tokens: budget.capacity,
                at: now,
            });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * budget.rate()).min(budget.capacity);
        bucket.at = now;
        if bucket.tokens + 1e-9 < units {
            let wait = (units - bucket.tokens) / budget.rate();
            return Charge::Throttled {
                wait: Duration::from_secs_f64(wait.max(0.001)),
            };
        }
        bucket.tokens -= units;
        Charge::Granted {
            used: 1.0 - bucket.tokens / budget.capacity,
            units,
        }
    }
}

/// Resource units of a read, per concepts/throttling-limits.md (identity and access).
pub(crate) fn read_units(req: &SimRequest) -> f64 {
    let path = req.path.to_ascii_lowercase();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let base: i32 = if segments.contains(&"subscribedskus") {
        3
    } else if segments.contains(&"transitivemembers") {
        5
    } else if segments.contains(&"members") {
        3
    } else {
        1
    };
    let has = |k: &str| req.query.iter().any(|(q, _)| q.eq_ignore_ascii_case(k));
    let mut units = base;
    if has("$select") {
        units -= 1;
    }
    if has("$expand") {
        units += 1;
    }
    let small_top = req
        .query
        .iter()
        .find(|(q, _)| q.eq_ignore_ascii_case("$top"))
        .and_then(|(_, v)| v.trim().parse::<u32>().ok())
        .is_some_and(|t| t < 20);
    if small_top {
        units -= 1;
    }
    f64::from(units.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(path: &str, query: &[(&str, &str)]) -> SimRequest {
        SimRequest {
            method: axum::http::Method::GET,
            path: path.to_owned(),
            query: query
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            headers: Default::default(),
            body: Vec::new(),
        }
    }

    #[test]
    fn read_costs_follow_the_documented_table() {
        assert_eq!(read_units(&req("/v1.0/subscribedSkus", &[])), 3.0);
        assert_eq!(read_units(&req("/v1.0/groups/x/members", &[])), 3.0);
        assert_eq!(
            read_units(&req(
                "/v1.0/groups/x/transitiveMembers",
                &[("$select", "id")]
            )),
            4.0
        );
        assert_eq!(read_units(&req("/v1.0/groups", &[("$select", "id")])), 1.0);
        assert_eq!(
            read_units(&req("/v1.0/groups/x/members", &[("$top", "5")])),
            2.0
        );
    }

    #[test]
    fn an_empty_bucket_says_how_long_to_wait_and_refills_at_the_budget_rate() {
        let budgets = Budgets::graph().scaled(0.01); // 30 writes per 1.5 s
        let mut b = Buckets::default();
        let t0 = Instant::now();
        for _ in 0..30 {
            assert!(matches!(
                b.charge(&budgets, "app", Kind::Write, 1.0, t0),
                Charge::Granted { .. }
            ));
        }
        let Charge::Throttled { wait } = b.charge(&budgets, "app", Kind::Write, 1.0, t0) else {
            panic!("31st write in the same instant is throttled");
        };
        // One write refills in 1.5 s / 30 = 50 ms.
        assert!((wait.as_secs_f64() - 0.05).abs() < 1e-6, "{wait:?}");
        assert!(matches!(
            b.charge(&budgets, "app", Kind::Write, 1.0, t0 + wait),
            Charge::Granted { .. }
        ));
        // Another app has its own bucket; reads are apart from writes.
        assert!(matches!(
            b.charge(&budgets, "other", Kind::Write, 1.0, t0),
            Charge::Granted { .. }
        ));
        assert!(matches!(
            b.charge(&budgets, "app", Kind::Read, 5.0, t0),
            Charge::Granted { .. }
        ));
    }
}
