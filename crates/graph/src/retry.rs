//! The one retry policy of devlic's HTTP: `Retry-After` parsing, exponential backoff with full
//! jitter, and time limits. Graph requests ([`crate::transport`]) and sign-in
//! ([`crate::auth::TokenProvider`]) both retry through [`RetryPolicy`] and [`next_delay`].
//!
//! Retrying is bounded by **time, not by an attempt count**: under heavy throttling Graph says
//! how long to wait (`Retry-After`), and a run that waits as asked converges, however many 429s
//! it takes. Two limits apply:
//! - [`RetryPolicy::max_elapsed`]: how long one request (or one `$batch` item) may keep being
//!   retried, counted from its first attempt (default 5 minutes);
//! - [`crate::Timeouts::overall`]: the wall-clock limit of the whole client (default 60 minutes),
//!   after which it starts no request and no retry.
//!
//! A wait that would pass either limit is not started; the request fails at once with
//! [`crate::GraphError::RetriesExhausted`], whose [`crate::Exhaustion`] names the limit.
//!
//! Everything here is pure or nearly so (the jitter RNG is shared state), so the delays can be
//! tested without a network or a clock.

use std::sync::Mutex;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// How failed requests are retried: when to wait (backoff, or `Retry-After`) and for how long
/// at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Backoff base: retry `n` (0-based) waits a random time in `[0, base * 2^n]` when the server
    /// gave no `Retry-After` (default 1 s).
    pub base: Duration,
    /// Upper bound of one backoff delay when the server gave no `Retry-After` (default 60 s). A
    /// `Retry-After` is honoured as given, whatever its length, within `max_elapsed`.
    pub cap: Duration,
    /// How long one request (or one `$batch` item) may keep being retried, from its first attempt
    /// (default 5 min). [`Duration::ZERO`] means "never retry".
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    /// Graph requests: backoff from 1 s to at most 60 s, each request retried for up to
    /// 5 minutes.
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(60),
            max_elapsed: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// Sign-in (token endpoint, managed identity): backoff from 1 s to at most 10 s, for up to
    /// 30 s; enough to ride out a fresh federated credential (AADSTS70021) or a brief Entra
    /// hiccup without hanging a job on a dead endpoint.
    pub const fn sign_in() -> RetryPolicy {
        RetryPolicy {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(10),
            max_elapsed: Duration::from_secs(30),
        }
    }

    /// No retries at all.
    pub const fn none() -> RetryPolicy {
        RetryPolicy {
            base: Duration::ZERO,
            cap: Duration::ZERO,
            max_elapsed: Duration::ZERO,
        }
    }

    /// Whether a request first sent `elapsed` ago may wait `delay` and try again.
    pub fn allows(&self, elapsed: Duration, delay: Duration) -> bool {
        !self.max_elapsed.is_zero() && elapsed.saturating_add(delay) <= self.max_elapsed
    }
}

/// The longest `Retry-After` we accept as meaningful; larger values are clamped so that a hostile
/// or buggy header cannot overflow a `Duration` (the budget then refuses the wait anyway).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Parses a `Retry-After` value: delta-seconds (Graph sometimes sends decimals such as `2.5`) or
/// an RFC 9110 HTTP-date, relative to `now`. A date in the past means "retry now". Anything else
/// is `None` (the caller falls back to backoff).
pub fn parse_retry_after(value: &str, now: jiff::Timestamp) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let secs: f64 = value.parse().ok()?;
        if !secs.is_finite() || secs < 0.0 {
            return None;
        }
        return Some(Duration::from_secs_f64(
            secs.min(MAX_RETRY_AFTER.as_secs_f64()),
        ));
    }
    static PARSER: jiff::fmt::rfc2822::DateTimeParser = jiff::fmt::rfc2822::DateTimeParser::new();
    let at = PARSER.parse_timestamp(value).ok()?;
    let millis = at.as_millisecond().saturating_sub(now.as_millisecond());
    let millis = u64::try_from(millis).unwrap_or(0);
    Some(Duration::from_millis(millis).min(MAX_RETRY_AFTER))
}

/// Reads the retry hint from response headers: `x-ms-retry-after-ms` / `retry-after-ms`
/// (milliseconds) first, then `Retry-After`. `get` looks a header up case-insensitively.
pub fn retry_after_from<'a>(
    get: impl Fn(&str) -> Option<&'a str>,
    now: jiff::Timestamp,
) -> Option<Duration> {
    for name in ["x-ms-retry-after-ms", "retry-after-ms"] {
        if let Some(ms) = get(name).and_then(|v| v.trim().parse::<u64>().ok()) {
            return Some(Duration::from_millis(ms).min(MAX_RETRY_AFTER));
        }
    }
    get("retry-after").and_then(|v| parse_retry_after(v, now))
}

/// The upper bound of the full-jitter backoff window for retry number `retry` (0-based):
/// `min(cap, base * 2^retry)`.
pub fn backoff_ceiling(policy: &RetryPolicy, retry: u32) -> Duration {
    let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
    policy.base.saturating_mul(factor).min(policy.cap)
}

/// Source of jitter, seedable so tests get reproducible delays.
#[derive(Debug)]
pub struct Jitter {
    rng: Mutex<StdRng>,
}

impl Jitter {
    /// A jitter source; `None` seeds from the OS.
    pub fn new(seed: Option<u64>) -> Jitter {
        let rng = match seed {
            Some(s) => StdRng::seed_from_u64(s),
            None => StdRng::from_os_rng(),
        };
        Jitter {
            rng: Mutex::new(rng),
        }
    }

    /// A uniformly random duration in `[0, ceiling]` (full jitter).
    pub fn full(&self, ceiling: Duration) -> Duration {
        let max = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        // A poisoned lock only means another thread panicked mid-draw; the RNG state is still
        // usable, and jitter quality is not worth propagating a panic for.
        let mut rng = self
            .rng
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Duration::from_millis(rng.random_range(0..=max))
    }
}

/// The delay before retry number `retry` (0-based): the server's `Retry-After` when given
/// (a lower bound: retrying earlier only earns another 429), otherwise full-jitter backoff.
pub fn next_delay(
    policy: &RetryPolicy,
    retry: u32,
    retry_after: Option<Duration>,
    jitter: &Jitter,
) -> Duration {
    match retry_after {
        Some(d) => d,
        None => jitter.full(backoff_ceiling(policy, retry)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> jiff::Timestamp {
        "2026-11-24T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn retry_after_seconds_decimal_and_date() {
        assert_eq!(parse_retry_after("7", now()), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 0 ", now()), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("2.5", now()),
            Some(Duration::from_millis(2500))
        );
        assert_eq!(
            parse_retry_after("Tue, 24 Nov 2026 12:00:30 GMT", now()),
            Some(Duration::from_secs(30))
        );
        // A date in the past: retry immediately.
        assert_eq!(
            parse_retry_after("Tue, 24 Nov 2026 11:00:00 GMT", now()),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after("99999999999999", now()),
            Some(MAX_RETRY_AFTER)
        );
        for bad in ["", "-1", "soon", "1e3", "1.2.3", "NaN", "Tue, 99 Nov 2026"] {
            assert_eq!(parse_retry_after(bad, now()), None, "{bad}");
        }
    }

    #[test]
    fn millisecond_headers_win() {
        let headers = [("retry-after", "10"), ("x-ms-retry-after-ms", "1500")];
        let get = |n: &str| headers.iter().find(|(k, _)| *k == n).map(|(_, v)| *v);
        assert_eq!(
            retry_after_from(get, now()),
            Some(Duration::from_millis(1500))
        );
        let only = [("retry-after", "3")];
        let get = |n: &str| only.iter().find(|(k, _)| *k == n).map(|(_, v)| *v);
        assert_eq!(retry_after_from(get, now()), Some(Duration::from_secs(3)));
    }

    #[test]
    fn backoff_grows_then_caps() {
        let p = RetryPolicy {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
            ..RetryPolicy::default()
        };
        assert_eq!(backoff_ceiling(&p, 0), Duration::from_millis(100));
        assert_eq!(backoff_ceiling(&p, 1), Duration::from_millis(200));
        assert_eq!(backoff_ceiling(&p, 3), Duration::from_millis(800));
        assert_eq!(backoff_ceiling(&p, 4), Duration::from_secs(1));
        assert_eq!(backoff_ceiling(&p, 200), Duration::from_secs(1));
    }

    #[test]
    fn full_jitter_is_within_window_and_reproducible() {
        let p = RetryPolicy {
            base: Duration::from_millis(100),
            ..RetryPolicy::default()
        };
        let a = Jitter::new(Some(42));
        let b = Jitter::new(Some(42));
        let mut seen_distinct = std::collections::BTreeSet::new();
        for retry in 0..6 {
            let da = next_delay(&p, retry, None, &a);
            assert_eq!(da, next_delay(&p, retry, None, &b));
            assert!(da <= backoff_ceiling(&p, retry));
            seen_distinct.insert(da);
        }
        assert!(seen_distinct.len() > 1, "jitter produced constant delays");
        // Retry-After overrides backoff.
        assert_eq!(
            next_delay(&p, 5, Some(Duration::from_secs(9)), &a),
            Duration::from_secs(9)
        );
    }

    #[test]
    fn time_limit_counts_the_wait_too() {
        let p = RetryPolicy {
            max_elapsed: Duration::from_secs(10),
            ..RetryPolicy::default()
        };
        assert!(p.allows(Duration::from_secs(4), Duration::from_secs(6)));
        assert!(!p.allows(Duration::from_secs(4), Duration::from_millis(6001)));
        assert!(!p.allows(Duration::ZERO, Duration::MAX));
        assert!(!RetryPolicy::none().allows(Duration::ZERO, Duration::from_millis(1)));
        assert!(!RetryPolicy::none().allows(Duration::ZERO, Duration::ZERO));
    }
}
