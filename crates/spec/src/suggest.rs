//! "Did you mean" hints.

/// The candidate closest to `input`, if it is close enough to be a likely typo.
///
/// Compares case-insensitively with Jaro-Winkler similarity, which favours a shared prefix (the
/// common shape of field-name typos such as `subscripton` or `maxRevocation`).
pub(crate) fn closest<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let input = input.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&input, &c.to_ascii_lowercase()), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.to_owned())
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn suggests_close_names_only() {
        let fields = [
            "group",
            "subscription",
            "allotment",
            "disabledPlans",
            "state",
            "description",
        ];
        assert_eq!(
            closest("subscripton", fields).as_deref(),
            Some("subscription")
        );
        assert_eq!(
            closest("disabledplans", fields).as_deref(),
            Some("disabledPlans")
        );
        assert_eq!(closest("Group", fields).as_deref(), Some("group"));
        assert_eq!(closest("zzz", fields), None);
    }
}
