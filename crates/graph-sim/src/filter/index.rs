//! Lookups by id and display name, so a filter that names its groups (`id in (…)`,
//! `displayName in (…)`, `eq` on either) costs O(names), not a scan of the tenant.
//!
//! devlic resolves a spec's names in `$batch` items of 15-name `in` filters: 10,000 names are
//! 667 items, and a scan of 100,000 groups for each made the simulator, not devlic, the slow
//! side of a large plan. The index only narrows the rows a filter is evaluated on: every
//! candidate still goes through [`super::eval`], so what matches is decided in one place, and
//! an expression the index cannot narrow (`startswith`, `ne`, `not`, licenses, …) scans as
//! before.

use std::collections::HashMap;

use super::{Expr, Lit, canonical};
use crate::tenant::Group;

/// Group positions by id and by display name, both ASCII-lowercased: the same comparison as
/// [`super::eval`]'s `eq_ignore_ascii_case`, so a key hit is exactly an `eq` match. Groups
/// never change name or position while the simulator runs, so the index is built once.
#[derive(Debug, Default)]
pub(crate) struct GroupIndex {
    by_id: HashMap<String, usize>,
    by_name: HashMap<String, Vec<usize>>,
}

impl GroupIndex {
    /// Indexes `groups` (positions are indices into this slice).
    pub(crate) fn new(groups: &[Group]) -> GroupIndex {
        let mut index = GroupIndex::default();
        for (i, g) in groups.iter().enumerate() {
            index.by_id.insert(g.id.to_ascii_lowercase(), i);
            index
                .by_name
                .entry(g.display_name.to_ascii_lowercase())
                .or_default()
                .push(i);
        }
        index
    }

    /// The positions, ascending and distinct, outside which `e` cannot match; `None` when the
    /// index cannot narrow `e` (then every group is a candidate).
    pub(crate) fn candidates(&self, e: &Expr) -> Option<Vec<usize>> {
        let mut found = self.narrow(e)?;
        found.sort_unstable();
        found.dedup();
        Some(found)
    }

    fn narrow(&self, e: &Expr) -> Option<Vec<usize>> {
        match e {
            Expr::Cmp {
                prop,
                ne: false,
                lit: Lit::Str(s),
            } => self.lookup(prop, std::slice::from_ref(s)),
            Expr::In { prop, lits } => {
                let values: Vec<String> = lits
                    .iter()
                    .map(|l| match l {
                        Lit::Str(s) => Some(s.clone()),
                        _ => None,
                    })
                    .collect::<Option<_>>()?;
                self.lookup(prop, &values)
            }
            // Either side bounds a conjunction; the smaller one is enough (eval checks both).
            Expr::And(a, b) => match (self.narrow(a), self.narrow(b)) {
                (Some(x), Some(y)) => Some(if x.len() <= y.len() { x } else { y }),
                (x, y) => x.or(y),
            },
            // A disjunction is bounded only when both sides are.
            Expr::Or(a, b) => {
                let mut x = self.narrow(a)?;
                x.extend(self.narrow(b)?);
                Some(x)
            }
            _ => None,
        }
    }

    /// The groups whose `prop` (`id` or `displayName`) equals one of `values`, ASCII
    /// case-insensitively; `None` for any other property.
    fn lookup(&self, prop: &str, values: &[String]) -> Option<Vec<usize>> {
        match canonical(prop)? {
            "id" => Some(
                values
                    .iter()
                    .filter_map(|v| self.by_id.get(&v.to_ascii_lowercase()).copied())
                    .collect(),
            ),
            "displayName" => Some(
                values
                    .iter()
                    .filter_map(|v| self.by_name.get(&v.to_ascii_lowercase()))
                    .flatten()
                    .copied()
                    .collect(),
            ),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Row, eval, parse, validate};
    use super::*;

    fn groups() -> Vec<Group> {
        let mut t = crate::generate::generate(2_000, 0, 3);
        // Shared names (in different cases) and names that differ only beyond ASCII case.
        t.groups[10].display_name = "Shared Lab".to_owned();
        t.groups[1500].display_name = "SHARED lab".to_owned();
        t.groups[20].display_name = "Émile PCs".to_owned();
        t.groups[21].display_name = "émile PCs".to_owned();
        t.groups
    }

    fn row(g: &Group) -> Row<'_> {
        Row::of(g, Vec::new(), false)
    }

    /// What the listing returns with the index: the candidates that pass `eval`.
    fn indexed(index: &GroupIndex, groups: &[Group], e: &Expr) -> Vec<usize> {
        let all: Vec<usize> = (0..groups.len()).collect();
        index
            .candidates(e)
            .unwrap_or(all)
            .into_iter()
            .filter(|&i| eval(e, &row(&groups[i])))
            .collect()
    }

    #[test]
    fn indexed_listings_match_a_scan_of_every_group() {
        let groups = groups();
        let index = GroupIndex::new(&groups);
        let name = |i: usize| groups[i].display_name.replace('\'', "''");
        let id = |i: usize| groups[i].id.to_ascii_uppercase();
        let filters = [
            format!(
                "displayName in ('{}', 'shared LAB', 'no such group')",
                name(7)
            ),
            format!("displayName eq '{}'", name(1999).to_ascii_uppercase()),
            "displayName in ('ÉMILE PCs', 'émile pcs')".to_owned(),
            format!(
                "id in ('{}', '{}', '00000000-0000-4000-8000-000000000000')",
                id(3),
                id(1234)
            ),
            format!("ID eq '{}'", id(42)),
            format!("displayName eq '{}' and securityEnabled eq true", name(5)),
            format!("securityEnabled eq true and id eq '{}'", id(6)),
            format!("displayName eq '{}' or id eq '{}'", name(8), id(9)),
            format!(
                "displayName eq '{}' or startswith(displayName, 'Device group 000')",
                name(8)
            ),
            "startswith(displayName, 'shared')".to_owned(),
            format!("mailNickname eq '{}'", name(11)),
        ];
        for f in &filters {
            let e = parse(f).expect(f);
            validate(&e, false).expect(f);
            let scanned: Vec<usize> = (0..groups.len())
                .filter(|&i| eval(&e, &row(&groups[i])))
                .collect();
            assert_eq!(indexed(&index, &groups, &e), scanned, "{f}");
        }
    }

    #[test]
    fn a_name_lookup_evaluates_only_the_named_groups() {
        let groups = groups();
        let index = GroupIndex::new(&groups);
        let names: Vec<String> = (100..115)
            .map(|i| format!("'{}'", groups[i].display_name.replace('\'', "''")))
            .collect();
        let e = parse(&format!("displayName in ({})", names.join(","))).expect("parses");
        assert_eq!(index.candidates(&e).map(|c| c.len()), Some(15));
        // Shared names bring every group that has them, and nothing else.
        let e = parse("displayName eq 'shared lab'").expect("parses");
        assert_eq!(index.candidates(&e), Some(vec![10, 1500]));
        // What the index cannot narrow scans, as before.
        let e = parse("startswith(displayName, 'x')").expect("parses");
        assert_eq!(index.candidates(&e), None);
    }
}
