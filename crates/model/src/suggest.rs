//! "Did you mean": the one rule for which names are close enough to suggest.
//!
//! Used for group display names (the planner, against the groups a live read or a snapshot
//! holds) and for subscription names (the spec loader, against the SKUs devlic knows), so a
//! near miss is answered the same way wherever it is made. Names are compared after
//! [`fold`]ing (case, and any run of spaces, dashes, underscores or other punctuation counts as
//! one separator), then by edit distance.

/// `s` lowercased, with every run of characters that are not letters or digits turned into one
/// space, and no leading or trailing space: `"Shared PCs – Warehouse"` and
/// `"shared-pcs_warehouse"` fold to the same `"shared pcs warehouse"`.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut gap = false;
    for c in s.chars() {
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.extend(c.to_lowercase());
        } else {
            gap = true;
        }
    }
    out
}

/// Levenshtein distance between two strings, in characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = substitute.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The largest distance (between folded names) still worth suggesting: one edit per four
/// characters of the name asked for, at least one. "Kiosks - Lobby" suggests "Kiosk Lobby";
/// "HR" does not suggest "IT".
pub fn max_distance(folded_len: usize) -> usize {
    (folded_len / 4).max(1)
}

/// How far `candidate` is from `wanted` (already folded), if close enough to suggest.
pub fn closeness(wanted_folded: &str, candidate: &str) -> Option<usize> {
    let limit = max_distance(wanted_folded.chars().count());
    let folded = fold(candidate);
    // Cheap length test first: the distance is at least the difference in length.
    let (a, b) = (wanted_folded.chars().count(), folded.chars().count());
    if a.abs_diff(b) > limit {
        return None;
    }
    let d = edit_distance(wanted_folded, &folded);
    (d <= limit).then_some(d)
}

/// At most `max` candidates closest to `wanted`, best first (ties in the candidates' order),
/// each once. A candidate equal to `wanted` itself is skipped: it is not a suggestion.
pub fn closest<'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    max: usize,
) -> Vec<&'a str> {
    let folded = fold(wanted);
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .filter(|c| *c != wanted)
        .filter_map(|c| closeness(&folded, c).map(|d| (d, c)))
        .collect();
    scored.sort_by_key(|(d, _)| *d);
    let mut out: Vec<&str> = Vec::new();
    for (_, c) in scored {
        if out.len() == max {
            break;
        }
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_ignores_case_and_separators() {
        assert_eq!(fold("Shared PCs – Warehouse"), "shared pcs warehouse");
        assert_eq!(fold("  shared-pcs__WAREHOUSE "), "shared pcs warehouse");
        assert_eq!(fold("OFFICE_PROPLUS_DEVICE1"), "office proplus device1");
    }

    #[test]
    fn distance_counts_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    #[test]
    fn suggests_close_names_best_first() {
        let names = [
            "Front Desk Kiosks",
            "Front-Desk-Kiosk",
            "Lab PCs",
            "Finance Laptops",
        ];
        assert_eq!(
            closest("front desk kiosk", names, 3),
            vec!["Front-Desk-Kiosk", "Front Desk Kiosks"]
        );
        assert_eq!(closest("HR", ["IT", "HR"], 3), Vec::<&str>::new());
        assert_eq!(
            closest("OFFICE_PROPLUS_DEVICE", ["OFFICE_PROPLUS_DEVICE1"], 1),
            vec!["OFFICE_PROPLUS_DEVICE1"]
        );
    }
}
