//! The write phase of a run in numbers: how long it took, the write requests it sent, how many
//! Graph throttled (429) and the rate of accepted writes, so a run report shows how close apply
//! came to Graph's write budget (3,000 writes per 150 s per app and tenant, 20 per second;
//! concepts/throttling-limits.md, identity and access service limits).

use std::time::Duration;

use serde::ser::{Serialize, SerializeStruct, Serializer};

/// A backend's running counts of write requests (its Graph client's), read before and after
/// the write phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteCounters {
    /// Write requests that went out (resends after a 429 count again).
    pub sent: u64,
    /// Of those, the ones Graph accepted (2xx).
    pub accepted: u64,
    /// Of those, the ones answered 429.
    pub throttled: u64,
    /// Of those, the ones whose answer was lost (settled by re-reading the group).
    pub unanswered: u64,
}

impl WriteCounters {
    /// The counts of a Graph client.
    pub fn of(stats: &devlic_graph::ClientStats) -> WriteCounters {
        WriteCounters {
            sent: stats.writes_sent,
            accepted: stats.writes_accepted,
            throttled: stats.writes_throttled,
            unanswered: stats.writes_unanswered,
        }
    }
}

/// The write phase of a run (the report's optional `writes`): from the first write to the last
/// answer, re-reads between writes included, verification not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WritePhase {
    /// Wall time of the phase, in milliseconds.
    pub duration_ms: u64,
    /// Write requests sent.
    pub sent: u64,
    /// Write requests Graph accepted.
    pub accepted: u64,
    /// Write requests answered 429.
    pub throttled: u64,
    /// Write requests whose answer was lost. Each was settled by re-reading its group: a
    /// write that landed anyway counts here, not as accepted.
    pub unanswered: u64,
}

impl WritePhase {
    /// The phase between two readings of a backend's counters, `elapsed` apart.
    pub fn between(before: WriteCounters, after: WriteCounters, elapsed: Duration) -> WritePhase {
        WritePhase {
            duration_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            sent: after.sent.saturating_sub(before.sent),
            accepted: after.accepted.saturating_sub(before.accepted),
            throttled: after.throttled.saturating_sub(before.throttled),
            unanswered: after.unanswered.saturating_sub(before.unanswered),
        }
    }

    /// Accepted writes per second of the phase, to one decimal (a phase shorter than a
    /// millisecond counts as one).
    pub fn per_second(&self) -> f64 {
        let secs = self.duration_ms.max(1) as f64 / 1000.0;
        (self.accepted as f64 / secs * 10.0).round() / 10.0
    }

    /// `1000 write request(s) sent, 1000 accepted, 12 throttled (429) in 52.1 s: 19.2 accepted
    /// per second`: the one wording of the text summary, Markdown and JUnit. Writes whose answer
    /// was lost are named when there are any, so "2 sent, 0 accepted" next to "in place" reads
    /// as what happened: both landed, neither answer arrived.
    pub fn sentence(&self) -> String {
        let unanswered = if self.unanswered > 0 {
            format!(
                ", {} unanswered (answer lost; settled by re-reading the group)",
                self.unanswered
            )
        } else {
            String::new()
        };
        format!(
            "{} write request(s) sent, {} accepted, {} throttled (429){unanswered} in {:.1} s: {:.1} accepted per second",
            self.sent,
            self.accepted,
            self.throttled,
            self.duration_ms as f64 / 1000.0,
            self.per_second()
        )
    }

    /// JUnit `property` elements (name, value): consumers chart properties, not sentences.
    pub(crate) fn junit_properties(&self) -> [(&'static str, String); 6] {
        [
            ("devlic.writes.sent", self.sent.to_string()),
            ("devlic.writes.accepted", self.accepted.to_string()),
            ("devlic.writes.throttled", self.throttled.to_string()),
            ("devlic.writes.unanswered", self.unanswered.to_string()),
            (
                "devlic.writes.seconds",
                format!("{}.{:03}", self.duration_ms / 1000, self.duration_ms % 1000),
            ),
            (
                "devlic.writes.perSecond",
                format!("{:.1}", self.per_second()),
            ),
        ]
    }
}

/// `{"durationMs", "sent", "accepted", "throttled", "unanswered", "perSecond"}`, `unanswered`
/// only when some write lost its answer: the rate is derived from the counts when written, so
/// the report type stays `Eq`.
impl Serialize for WritePhase {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let lost = self.unanswered > 0;
        let mut s = serializer.serialize_struct("WritePhase", 5 + usize::from(lost))?;
        s.serialize_field("durationMs", &self.duration_ms)?;
        s.serialize_field("sent", &self.sent)?;
        s.serialize_field("accepted", &self.accepted)?;
        s.serialize_field("throttled", &self.throttled)?;
        if lost {
            s.serialize_field("unanswered", &self.unanswered)?;
        } else {
            s.skip_field("unanswered")?;
        }
        s.serialize_field("perSecond", &self.per_second())?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_phase_is_the_difference_of_the_counters_and_the_rate_counts_accepted_writes() {
        let before = WriteCounters {
            sent: 10,
            accepted: 9,
            throttled: 1,
            unanswered: 0,
        };
        let after = WriteCounters {
            sent: 1_062,
            accepted: 1_009,
            throttled: 51,
            unanswered: 0,
        };
        let phase = WritePhase::between(before, after, Duration::from_millis(52_100));
        assert_eq!(
            (
                phase.sent,
                phase.accepted,
                phase.throttled,
                phase.duration_ms
            ),
            (1_052, 1_000, 50, 52_100)
        );
        assert_eq!(phase.per_second(), 19.2);
        assert_eq!(
            phase.sentence(),
            "1052 write request(s) sent, 1000 accepted, 50 throttled (429) in 52.1 s: 19.2 accepted per second"
        );
        assert_eq!(
            serde_json::to_value(phase).unwrap(),
            serde_json::json!({"durationMs": 52_100, "sent": 1_052, "accepted": 1_000, "throttled": 50, "perSecond": 19.2})
        );
        // An instant phase does not divide by zero.
        let instant = WritePhase::between(before, before, Duration::ZERO);
        assert_eq!(instant.per_second(), 0.0);
        assert_eq!(instant.junit_properties()[4].1, "0.000");
    }

    #[test]
    fn writes_whose_answer_was_lost_are_named_only_when_there_are_some() {
        let phase = WritePhase {
            duration_ms: 2_500,
            sent: 2,
            accepted: 0,
            throttled: 0,
            unanswered: 2,
        };
        assert_eq!(
            phase.sentence(),
            "2 write request(s) sent, 0 accepted, 0 throttled (429), 2 unanswered (answer lost; settled by re-reading the group) in 2.5 s: 0.0 accepted per second"
        );
        assert_eq!(
            serde_json::to_value(phase).unwrap(),
            serde_json::json!({"durationMs": 2_500, "sent": 2, "accepted": 0, "throttled": 0, "unanswered": 2, "perSecond": 0.0})
        );
        assert!(
            phase
                .junit_properties()
                .contains(&("devlic.writes.unanswered", "2".to_owned()))
        );
    }
}
