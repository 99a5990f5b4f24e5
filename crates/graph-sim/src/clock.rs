//! Simulator time: real time by default, or a frozen clock that moves only when a test says so.
//!
//! Every time-dependent behaviour (license processing, read-after-write lag, token expiry,
//! `waitingSinceDateTime`) reads [`Clock::now`], so a test can freeze the clock
//! ([`crate::SimConfig::frozen_clock`], [`crate::Sim::freeze_clock`] or `POST /_sim/clock`)
//! and step it with [`crate::Sim::advance_clock`] instead of sleeping through delays and hoping
//! a margin is wide enough. Injected latency stays real (it exists to exercise client timeouts).

use std::time::{Duration, Instant};

/// The simulator's clock (kept in the state behind the simulator's one lock).
#[derive(Clone, Debug)]
pub(crate) struct Clock {
    /// The real instant the clock stopped at; `None` while it follows real time.
    frozen_at: Option<Instant>,
    /// Virtual time added on top by [`Clock::advance`].
    offset: Duration,
}

impl Clock {
    pub(crate) fn new(frozen: bool) -> Clock {
        Clock {
            frozen_at: frozen.then(Instant::now),
            offset: Duration::ZERO,
        }
    }

    /// Simulator time now.
    pub(crate) fn now(&self) -> Instant {
        self.frozen_at.unwrap_or_else(Instant::now) + self.offset
    }

    /// Stops the clock where it is; from then on only [`Clock::advance`] moves it. Freezing a
    /// frozen clock changes nothing.
    pub(crate) fn freeze(&mut self) {
        if self.frozen_at.is_none() {
            self.frozen_at = Some(Instant::now());
        }
    }

    /// Moves simulator time forward (also while it follows real time).
    pub(crate) fn advance(&mut self, by: Duration) {
        self.offset = self.offset.saturating_add(by);
    }

    pub(crate) fn is_frozen(&self) -> bool {
        self.frozen_at.is_some()
    }

    /// Virtual time added so far.
    pub(crate) fn offset(&self) -> Duration {
        self.offset
    }
}

/// Maps simulator instants to wall-clock timestamps, anchored once at start-up, so timestamps
/// the simulator serves move with its clock.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WallAnchor {
    instant: Instant,
    wall: jiff::Timestamp,
}

impl WallAnchor {
    pub(crate) fn now() -> WallAnchor {
        WallAnchor {
            instant: Instant::now(),
            wall: jiff::Timestamp::now(),
        }
    }

    /// The wall-clock time of simulator instant `at`.
    pub(crate) fn wall(&self, at: Instant) -> jiff::Timestamp {
        let ahead = at.saturating_duration_since(self.instant);
        jiff::SignedDuration::try_from(ahead)
            .ok()
            .and_then(|d| self.wall.checked_add(d).ok())
            .unwrap_or(self.wall)
    }
}
