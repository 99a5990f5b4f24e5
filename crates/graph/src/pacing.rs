//! Pacing of writes to Graph's write budget, shared by every write of one client.
//!
//! Graph limits identity writes per app and tenant (3,000 per 150 s, concepts/throttling-limits.md,
//! identity and access service limits) and says how close an app is with
//! `x-ms-throttle-limit-percentage` (sent only past 0.8 of a limit, up to 1.8). Without pacing,
//! every writer in flight meets the empty budget at once, each gets its own 429, waits its own
//! `Retry-After` and comes back with the others: a 429 storm that wastes requests (and the
//! re-reads after each 429) while moving no faster than the budget refills.
//!
//! The pacer starts unpaced (a full budget takes a burst). Its first signal, a budget 429 (one
//! that carries `x-ms-throttle-scope`, which Graph sends on throttled answers of the identity
//! limits; a 429 without it is that request's own and only its writer waits) or a
//! percentage at or above 1.0 on a write's answer, sets a spacing between writes: the
//! documented sustained rate (150 s / 3,000 = 50 ms), or the 429's `Retry-After` when that is
//! shorter (a throttled single write is told when one unit has refilled). A 429 also holds every
//! writer until its `Retry-After` has passed, so the others do not run into the same empty
//! budget. Further 429s widen the spacing by a quarter (at most once per spacing); every 20
//! writes accepted below 0.8 of the budget narrow it by a tenth, so the pace follows the budget
//! rather than a guess.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The documented sustained write rate: 3,000 writes per 150 s is one per 50 ms.
const DOCUMENTED_SPACING: Duration = Duration::from_millis(50);
/// Writes accepted without a warning before the spacing narrows.
const PROBE_AFTER: u32 = 20;

/// Shared pacing state (see the module documentation).
#[derive(Debug, Default)]
pub(crate) struct WritePacer {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Time between two writes; zero while unpaced.
    spacing: Duration,
    /// The next write may start at this instant.
    next: Option<Instant>,
    /// When the spacing last widened (to count a burst of 429s once).
    widened_at: Option<Instant>,
    /// Writes accepted since the spacing last changed, without a warning.
    calm: u32,
}

impl WritePacer {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for this write's slot.
    pub(crate) async fn acquire(&self) {
        let wait = {
            let mut s = self.state();
            let now = Instant::now();
            let slot = s.next.map_or(now, |n| n.max(now));
            if !s.spacing.is_zero() || s.next.is_some_and(|n| n > now) {
                s.next = Some(slot + s.spacing);
            }
            slot.saturating_duration_since(now)
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// A write was answered 429, to be retried after `retry_after` (if Graph said).
    pub(crate) fn throttled(&self, retry_after: Option<Duration>) {
        let mut s = self.state();
        let now = Instant::now();
        let ra = retry_after.unwrap_or(DOCUMENTED_SPACING);
        // Everyone waits the Retry-After out, not only this writer.
        let resume = now + ra;
        s.next = Some(s.next.map_or(resume, |n| n.max(resume)));
        if s.spacing.is_zero() {
            s.spacing = ra.min(DOCUMENTED_SPACING).max(Duration::from_millis(1));
            s.widened_at = Some(now);
        } else if s
            .widened_at
            .is_none_or(|at| now.saturating_duration_since(at) >= s.spacing.max(ra))
        {
            s.spacing = s.spacing.mul_f64(1.25);
            s.widened_at = Some(now);
        }
        s.calm = 0;
    }

    /// A write was accepted; `limit_percentage` is its `x-ms-throttle-limit-percentage`.
    pub(crate) fn accepted(&self, limit_percentage: Option<f64>) {
        let mut s = self.state();
        match limit_percentage {
            Some(p) if p >= 1.0 => {
                if s.spacing.is_zero() {
                    s.spacing = DOCUMENTED_SPACING;
                }
                s.calm = 0;
            }
            Some(p) if p >= 0.8 => s.calm = 0,
            _ if s.spacing.is_zero() => {}
            _ => {
                s.calm += 1;
                if s.calm >= PROBE_AFTER {
                    s.spacing = s.spacing.mul_f64(0.9);
                    s.calm = 0;
                }
            }
        }
    }

    /// The spacing between writes now (zero while unpaced).
    pub(crate) fn spacing(&self) -> Duration {
        self.state().spacing
    }
}

/// `x-ms-throttle-limit-percentage` of an answer, if present and a number.
pub(crate) fn limit_percentage(value: Option<&str>) -> Option<f64> {
    value?.trim().parse::<f64>().ok().filter(|p| p.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unpaced_until_throttled_then_spaced_by_the_shorter_of_retry_after_and_the_budget() {
        let p = WritePacer::default();
        let t0 = Instant::now();
        for _ in 0..5 {
            p.acquire().await;
        }
        assert!(
            t0.elapsed() < Duration::from_millis(20),
            "a full budget bursts"
        );
        p.throttled(Some(Duration::from_millis(5)));
        assert_eq!(p.spacing(), Duration::from_millis(5));
        // A second 429 of the same burst does not widen it again.
        p.throttled(Some(Duration::from_millis(5)));
        assert_eq!(p.spacing(), Duration::from_millis(5));
        let t1 = Instant::now();
        for _ in 0..4 {
            p.acquire().await;
        }
        // 5 ms of Retry-After, then three more slots of 5 ms.
        assert!(
            t1.elapsed() >= Duration::from_millis(19),
            "{:?}",
            t1.elapsed()
        );
        // Graph's whole-second Retry-After does not slow writes below the documented rate.
        let q = WritePacer::default();
        q.throttled(Some(Duration::from_secs(1)));
        assert_eq!(q.spacing(), DOCUMENTED_SPACING);
    }

    #[test]
    fn calm_answers_narrow_the_spacing_and_warnings_hold_it() {
        let p = WritePacer::default();
        p.throttled(Some(Duration::from_millis(10)));
        for _ in 0..PROBE_AFTER {
            p.accepted(Some(0.85));
        }
        assert_eq!(p.spacing(), Duration::from_millis(10));
        for _ in 0..PROBE_AFTER {
            p.accepted(None);
        }
        assert_eq!(p.spacing(), Duration::from_millis(9));
        // A warning at 100 % paces an unpaced client at the documented rate.
        let q = WritePacer::default();
        q.accepted(Some(1.2));
        assert_eq!(q.spacing(), DOCUMENTED_SPACING);
        assert_eq!(limit_percentage(Some(" 0.85 ")), Some(0.85));
        assert_eq!(limit_percentage(Some("x")), None);
    }
}
