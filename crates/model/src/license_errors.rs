//! Graph's license-assignment error codes, in the words the admin center uses.
//!
//! Group-based licensing reports a member it could not license with one of these codes
//! (`membersWithLicenseErrors`, `licenseAssignmentStates[].error`; Entra docs: "Identify and
//! resolve license assignment problems for a group"). devlic shows the code beside these words
//! everywhere a person reads it (plan, apply, reports), so the same devices are never "unknown
//! error: 6" in one place and "CountViolation" in another.

use std::collections::BTreeMap;

use crate::{CauseCount, LicenseErrorMember};

/// The code devlic uses when Graph named no error for an unlicensed member.
pub const UNKNOWN: &str = "Unknown";

/// What the code means, and what fixes it.
pub fn cause(code: &str) -> &'static str {
    match code {
        "CountViolation" => {
            "not enough licenses: the subscription has no free units (buy more, or free some)"
        }
        "MutuallyExclusiveViolation" => {
            "conflicting service plans: the member already has a license that conflicts"
        }
        "DependencyViolation" => "a service plan it needs is not enabled",
        "ProhibitedInUsageLocationViolation" => {
            "the product is not available in the member's usage location"
        }
        "UniquenessViolation" => "duplicate proxy addresses on the member",
        _ => "Graph gave no reason; see the group's license errors in the Entra admin center",
    }
}

/// `code (cause)`, e.g. `CountViolation (not enough licenses: ...)`.
pub fn describe(code: &str) -> String {
    format!("{code} ({})", cause(code))
}

/// [`describe`] for a counted cause, saying when the code was inferred.
pub fn describe_count(c: &CauseCount) -> String {
    if c.inferred {
        format!(
            "{} {} (inferred: Graph gave no code, and the subscription has no free units)",
            c.devices, c.code
        )
    } else {
        format!("{} {}", c.devices, describe(&c.code))
    }
}

/// Whether a member counts as a device for device licensing: a device, or a member whose type
/// Graph did not say (counted, so nothing unlicensed is hidden). Users never hold device
/// licenses.
pub fn counts_as_device(kind: &str) -> bool {
    kind.is_empty() || kind.eq_ignore_ascii_case("device")
}

/// The devices among `members` by cause, most frequent first: the one summary the plan, the
/// apply output and the run report share. A member without a code is counted as
/// `CountViolation` (marked inferred) when `pool_exhausted`, since Graph reports devices that
/// did not fit without a code; otherwise as [`UNKNOWN`].
pub fn summarize(members: &[LicenseErrorMember], pool_exhausted: bool) -> Vec<CauseCount> {
    let mut by_code: BTreeMap<(&str, bool), u64> = BTreeMap::new();
    for m in members.iter().filter(|m| counts_as_device(&m.kind)) {
        let key = match m.error.as_deref() {
            Some(code) => (code, false),
            None if pool_exhausted => ("CountViolation", true),
            None => (UNKNOWN, false),
        };
        *by_code.entry(key).or_default() += 1;
    }
    let mut out: Vec<CauseCount> = by_code
        .into_iter()
        .map(|((code, inferred), devices)| CauseCount {
            code: code.to_owned(),
            devices,
            inferred,
        })
        .collect();
    out.sort_by(|a, b| b.devices.cmp(&a.devices).then(a.code.cmp(&b.code)));
    out
}

/// The causes as one line: `6 CountViolation (...); 1 Unknown (...)`.
pub fn causes_line(causes: &[CauseCount]) -> String {
    causes
        .iter()
        .map(describe_count)
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_code_has_words() {
        for code in [
            "CountViolation",
            "MutuallyExclusiveViolation",
            "DependencyViolation",
            "ProhibitedInUsageLocationViolation",
            "UniquenessViolation",
        ] {
            assert!(!cause(code).starts_with("Graph gave no reason"), "{code}");
        }
        assert!(cause(UNKNOWN).starts_with("Graph gave no reason"));
        assert!(describe("CountViolation").starts_with("CountViolation (not enough licenses"));
    }

    fn member(kind: &str, error: Option<&str>) -> LicenseErrorMember {
        LicenseErrorMember {
            id: "m".to_owned(),
            kind: kind.to_owned(),
            display_name: None,
            error: error.map(str::to_owned),
        }
    }

    #[test]
    fn summary_counts_devices_by_cause_and_infers_only_when_the_pool_is_empty() {
        let members = [
            member("device", None),
            member("device", None),
            member("", Some("MutuallyExclusiveViolation")),
            member("user", Some("CountViolation")),
        ];
        let short = summarize(&members, true);
        assert_eq!(short.len(), 2);
        assert_eq!(
            (short[0].code.as_str(), short[0].devices, short[0].inferred),
            ("CountViolation", 2, true)
        );
        assert_eq!(short[1].code, "MutuallyExclusiveViolation");
        let roomy = summarize(&members, false);
        assert_eq!(
            (roomy[0].code.as_str(), roomy[0].inferred),
            (UNKNOWN, false)
        );
        assert!(causes_line(&short).starts_with("2 CountViolation (inferred"));
    }
}
