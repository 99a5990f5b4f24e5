//! Renderer properties that snapshots do not show: colour, escaping, the comment size limit.

use std::collections::BTreeMap;

use devlic_model::{GroupId, LiveState};
use devlic_planner::plan;
use devlic_planner::render::{self, MARKDOWN_LIMIT, TextOptions};
use devlic_spec::{GroupSelector, Settings};

use crate::fixtures::*;

#[test]
fn colour_only_when_asked() {
    let p = plan(&contoso_spec(), &contoso_live()).expect("plan");
    let plain = render::text(&p, &TextOptions { color: false });
    let coloured = render::text(&p, &TextOptions { color: true });
    assert!(!plain.contains('\u{1b}'));
    assert!(coloured.contains("\u{1b}["));
    // Stripping the escape codes gives the plain text back.
    let mut stripped = String::new();
    let mut chars = coloured.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d == 'm' {
                    break;
                }
            }
        } else {
            stripped.push(c);
        }
    }
    assert_eq!(stripped, plain);
}

#[test]
fn markdown_escapes_group_names() {
    let mut live = contoso_live();
    if let Some(g) = live.groups.get_mut(&cg(2)) {
        g.display_name = "Shared | <b>PCs</b> *now*".to_owned();
    }
    let mut s = contoso_spec();
    s.assignments[1].group = GroupSelector::Id(cg(2));
    let md = render::markdown(&plan(&s, &live).expect("plan"));
    assert!(
        md.contains(r"Shared \| &lt;b&gt;PCs&lt;/b&gt; \*now\*"),
        "{md}"
    );
    // Outside the diff's code block, no raw HTML from a group name gets through.
    let outside_code = md.split("```").step_by(2).collect::<String>();
    assert!(!outside_code.contains("<b>PCs"), "{outside_code}");
}

fn huge(n: usize) -> (devlic_spec::Spec, LiveState) {
    let mut live = contoso_live();
    live.groups = BTreeMap::new();
    let mut entries = Vec::with_capacity(n);
    for i in 0..n {
        let id = GroupId::parse(&format!("00000000-0000-4000-8000-{i:012}")).expect("id");
        let holds: &[&str] = if i % 10 == 0 { &[DEVICE1] } else { &[] };
        live.groups
            .insert(id, group(id, &format!("Lab PC group {i:05}"), 25, holds));
        let line = u32::try_from(i + 1).unwrap_or(u32::MAX);
        // Every tenth group is revoked, the rest assigned.
        entries.push(if i % 10 == 0 {
            absent(GroupSelector::Id(id), None, line)
        } else {
            present(GroupSelector::Id(id), part("OFFICE_PROPLUS_DEVICE1"), line)
        });
    }
    let settings = Settings {
        max_revocations: u64::MAX,
        max_revoke_percent: 100,
        ..Settings::default()
    };
    (spec(entries, settings), live)
}

#[test]
fn markdown_stays_under_the_comment_limit_with_20000_actions() {
    let (s, live) = huge(20_000);
    let p = plan(&s, &live).expect("plan");
    assert_eq!(p.actions.len(), 20_000);
    let md = render::markdown(&p);
    assert!(md.len() <= MARKDOWN_LIMIT, "{} bytes", md.len());
    assert!(md.contains("too large for one comment"));
    assert!(md.contains("> [!CAUTION]"));
    assert!(
        md.contains("| `+` assign | 18000 | 450000 |"),
        "{}",
        &md[..800]
    );
    // Revocations are listed first when not everything fits.
    let first_row = md
        .lines()
        .find(|l| l.starts_with("| `"))
        .unwrap_or_default();
    assert!(md.contains("more actions not shown"));
    assert!(md.find("`-` revoke |").is_some(), "{first_row}");
    let table_start = md.find("| Action | Group |").expect("actions table");
    let first_action = md[table_start..].lines().nth(2).unwrap_or_default();
    assert!(first_action.starts_with("| `-` revoke"), "{first_action}");
}

#[test]
fn markdown_is_complete_when_it_fits() {
    let (s, live) = huge(50);
    let md = render::markdown(&plan(&s, &live).expect("plan"));
    assert!(!md.contains("too large"));
    assert!(md.contains("<summary>Actions (50)</summary>"));
    assert!(md.contains("```diff\n--- current\n+++ desired\n"));
    assert!(md.contains("+Lab PC group 00001 -> OFFICE_PROPLUS_DEVICE1"));
    assert!(md.contains("-Lab PC group 00000 -> OFFICE_PROPLUS_DEVICE1"));
}

#[test]
fn json_is_pretty_plan_v1() {
    let p = plan(&contoso_spec(), &contoso_live()).expect("plan");
    let j = render::json(&p);
    let v: serde_json::Value = serde_json::from_str(&j).expect("json");
    assert_eq!(
        v["summary"],
        serde_json::json!({"assign": 1, "revoke": 1, "swap": 1, "update": 0})
    );
    assert_eq!(
        v["actions"][2]["fromSku"]["skuPartNumber"],
        "OFFICE_PROPLUS_DEVICE_EDUCATION"
    );
    assert!(j.ends_with("}\n"));
}
