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
        serde_json::json!({"assign": 1, "revoke": 1, "swap": 1, "update": 0, "move": 0})
    );
    assert_eq!(
        v["actions"][2]["fromSku"]["skuPartNumber"],
        "OFFICE_PROPLUS_DEVICE_EDUCATION"
    );
    assert!(j.ends_with("}\n"));
}

/// A name that tries everything: set the window title, clear the screen, return to the start
/// of the line to overwrite it, ring the bell, a C1 CSI, a tab, a bidi override, close the
/// `<details>` block and open another, break the table cell, and forge a summary line.
const HOSTILE: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J\rFake\u{9b}31m\t</details><details open>|\u{202e}x\n# Plan: 0 to assign\u{0}";

/// Bytes and characters no rendering may contain: control characters other than the line feeds
/// the renderer writes itself (no renderer writes a tab), C1 controls, bidi overrides.
fn assert_clean(what: &str, out: &str) {
    for (i, c) in out.char_indices() {
        assert!(
            c == '\n' || !devlic_model::display::is_unsafe(c),
            "{what}: raw {c:?} at byte {i}: {:?}",
            &out[i.saturating_sub(40)..(i + 40).min(out.len())]
        );
    }
    assert!(!out.contains("\n# Plan: 0"), "{what}: a forged line");
}

/// Contoso's plan with every data string the renderers print made hostile: group names (one
/// of them before planning, so the planner's own warning quotes it), tenant name, SKU part
/// numbers, allotment ids, spec origins, warning messages.
fn hostile_plan() -> devlic_model::Plan {
    let mut live = contoso_live();
    live.tenant.display_name = Some(format!("Contoso {HOSTILE}"));
    // Conference Room Displays: not in the spec, so it becomes an unmanaged-holder warning.
    if let Some(g) = live.groups.get_mut(&cg(6)) {
        g.display_name = format!("Displays {HOSTILE}");
    }
    let mut p = plan(&contoso_spec(), &live).expect("plan");
    assert!(p.warnings.iter().any(|w| {
        w.message.contains(HOSTILE)
            || w.group
                .as_ref()
                .is_some_and(|g| g.display_name.contains(HOSTILE))
    }));
    let allotment = devlic_model::AllotmentRef {
        id: format!("allot-{HOSTILE}"),
        subscription_ids: vec![],
    };
    for (i, a) in p.actions.iter_mut().enumerate() {
        a.group.display_name = format!("Group {i} {HOSTILE}");
        a.sku.sku_part_number = format!("SKU_{HOSTILE}");
        if let Some(from) = &mut a.from_sku {
            from.sku_part_number = format!("FROM_{HOSTILE}");
        }
        a.allotment = Some(allotment.clone());
        a.reason = devlic_model::Reason::Desired {
            origin: format!("specs/{HOSTILE}.yaml:3:5"),
        };
    }
    for l in &mut p.capacity {
        l.sku.sku_part_number = format!("CAP_{HOSTILE}");
        l.allotment = Some(allotment.clone());
    }
    for w in &mut p.warnings {
        w.message = format!("{} {HOSTILE}", w.message);
    }
    p
}

#[test]
fn hostile_names_are_escaped_visibly_in_text() {
    let p = hostile_plan();
    let plain = render::text(&p, &TextOptions { color: false });
    assert_clean("text", &plain);
    // Visible, in the notation the spec loader uses.
    assert!(
        plain.contains(r"\u{1b}]0;pwned\u{7}\u{1b}[2J\rFake\u{9b}31m\t</details>"),
        "{plain}"
    );
    assert!(
        plain.contains(r"\u{202e}x\n# Plan: 0 to assign\u{0}"),
        "{plain}"
    );
    // With colour, the only escape sequences are the renderer's own SGR styles.
    let coloured = render::text(&p, &TextOptions { color: true });
    for (i, _) in coloured.match_indices('\u{1b}') {
        let rest = &coloured[i + 1..];
        let sgr = rest.strip_prefix('[').and_then(|r| {
            let end = r.find('m')?;
            r[..end]
                .chars()
                .all(|c| c.is_ascii_digit() || c == ';')
                .then_some(())
        });
        assert!(
            sgr.is_some(),
            "non-SGR escape: {:?}",
            &rest[..rest.len().min(20)]
        );
    }
    assert!(!coloured.contains('\u{7}') && !coloured.contains('\r'));
}

#[test]
fn hostile_names_cannot_break_markdown() {
    let p = hostile_plan();
    let md = render::markdown(&p);
    assert_clean("markdown", &md);
    // Outside code (where GitHub shows text literally), only the renderer's own <details>
    // blocks, each closed once.
    let prose = outside_code(&md);
    assert!(!prose.contains("<details open>"), "{prose}");
    assert_eq!(
        prose.matches("<details>").count(),
        prose.matches("</details>").count()
    );
    assert!(prose.matches("<details>").count() >= 3, "{prose}");
    // Every row of the actions table has exactly its 5 cells: no `|` from data splits one.
    let table = md.find("| Action | Group |").expect("actions table");
    for row in md[table..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
    {
        let unescaped = row
            .char_indices()
            .filter(|&(i, c)| c == '|' && !row[..i].ends_with('\\'))
            .count();
        assert_eq!(unescaped, 6, "{row}");
    }
    // Still visible to the reviewer (a Markdown-escaped backslash renders as one).
    assert!(md.contains(r"\\u{1b}\]0;pwned"), "{md}");
}

/// `md` without its code spans and fenced blocks: a run of N backticks opens one, the next run
/// of exactly N closes it (CommonMark's rule, which also covers fences well enough here).
fn outside_code(md: &str) -> String {
    let b = md.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    let run = |at: usize| b[at..].iter().take_while(|&&c| c == b'`').count();
    while i < b.len() {
        if b[i] != b'`' {
            let next = md[i..].find('`').map_or(b.len(), |n| i + n);
            out.push_str(&md[i..next]);
            i = next;
            continue;
        }
        let n = run(i);
        let mut j = i + n;
        loop {
            match md[j..].find('`') {
                None => return out,
                Some(k) => {
                    let m = run(j + k);
                    j += k + m;
                    if m == n {
                        break;
                    }
                }
            }
        }
        i = j;
    }
    out
}
