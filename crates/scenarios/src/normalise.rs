//! Replaces the parts of devlic's output that change from run to run (the simulator's port,
//! request ids, timestamps, durations, scratch paths) with fixed placeholders, so expected files
//! hold only what a change to devlic can change.

use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

/// `(pattern, replacement)` pairs applied in order after the literal replacements.
static RULES: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        // Any other loopback port (a URL the simulator put in a nextLink or error).
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
        // Graph's request-id and client-request-id, as headers, JSON keys or prose.
        (
            r#"(?i)((?:client[-_ ]?)?request[-_ ]?id"?\s*[:=]?\s*"?)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"#,
            "${1}[REQUEST-ID]",
        ),
        // RFC 3339 timestamps (snapshot times, report times, waiting-since).
        (
            r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})",
            "[TIMESTAMP]",
        ),
        // Rates: apply's `19.2 accepted per second` (time-dependent like durations).
        (r"\b\d+(?:\.\d+)? accepted per second\b", "[RATE] accepted per second"),
        // Durations: `1.2 s`, `350ms`, `0.4s`, `12 seconds`.
        (
            r"\b\d+(?:\.\d+)?\s?(?:ms|µs|s|seconds?)\b",
            "[DURATION]",
        ),
    ]
    .into_iter()
    // The patterns are constants; a unit test checks that every one compiles.
    .filter_map(|(pattern, with)| Regex::new(pattern).ok().map(|re| (re, with)))
    .collect()
});

/// The run-specific values of one scenario run.
#[derive(Debug, Clone)]
pub struct Normaliser {
    literals: Vec<(String, &'static str)>,
}

impl Normaliser {
    /// For a run against the simulator at `sim_url`, with scratch files under `scratch`, from
    /// the workspace at `root`.
    pub fn new(sim_url: &str, scratch: &Path, root: &Path) -> Normaliser {
        let mut literals = vec![(sim_url.to_owned(), "http://[SIM]")];
        for (path, with) in [(scratch, "[SCRATCH]"), (root, "[ROOT]")] {
            literals.push((path.display().to_string(), with));
            if let Ok(canonical) = path.canonicalize() {
                literals.push((canonical.display().to_string(), with));
            }
        }
        Normaliser { literals }
    }

    /// `text` with every variable part replaced.
    pub fn apply(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (literal, with) in &self.literals {
            out = out.replace(literal.as_str(), with);
        }
        for (re, with) in RULES.iter() {
            out = re.replace_all(&out, *with).into_owned();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm() -> Normaliser {
        Normaliser::new(
            "http://127.0.0.1:40123",
            Path::new("/tmp/.tmpAbC"),
            Path::new("/work/devlic"),
        )
    }

    #[test]
    fn every_rule_compiles() {
        assert_eq!(RULES.len(), 5);
    }

    #[test]
    fn urls_paths_and_ports_become_placeholders() {
        let n = norm();
        assert_eq!(
            n.apply("POST http://127.0.0.1:40123/v1.0/groups/x/assignLicense"),
            "POST http://[SIM]/v1.0/groups/x/assignLicense"
        );
        assert_eq!(
            n.apply("Saved the plan to /tmp/.tmpAbC/plan.json"),
            "Saved the plan to [SCRATCH]/plan.json"
        );
        assert_eq!(n.apply("at 127.0.0.1:5"), "at 127.0.0.1:[PORT]");
        assert_eq!(n.apply("/work/devlic/examples"), "[ROOT]/examples");
    }

    #[test]
    fn request_ids_go_but_object_ids_stay() {
        let n = norm();
        let text = "group 1a2b3c4d-0002-4a5b-8c6d-000000000002 failed (request-id: \
                    0f8fad5b-d9cb-469f-a165-70867728950e, \"clientRequestId\": \"7c9e6679-7425-40de-944b-e07fc1f90ae7\")";
        assert_eq!(
            n.apply(text),
            "group 1a2b3c4d-0002-4a5b-8c6d-000000000002 failed (request-id: [REQUEST-ID], \
             \"clientRequestId\": \"[REQUEST-ID]\")"
        );
    }

    #[test]
    fn timestamps_and_durations_become_placeholders() {
        let n = norm();
        assert_eq!(
            n.apply("taken 2026-12-02T04:15:56.123456Z, verified in 1.25 s (poll 50ms)"),
            "taken [TIMESTAMP], verified in [DURATION] (poll [DURATION])"
        );
        // Counts and words that merely end in s are left alone.
        assert_eq!(n.apply("30 devices, 6 units"), "30 devices, 6 units");
        assert_eq!(
            n.apply("3 write request(s) sent, 3 accepted, 0 throttled (429) in 0.2 s: 15.3 accepted per second"),
            "3 write request(s) sent, 3 accepted, 0 throttled (429) in [DURATION]: [RATE] accepted per second"
        );
    }
}
