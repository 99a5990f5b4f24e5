//! YAML shape errors in the spec's own words. serde-saphyr says "expected sequence start" when a
//! mapping stands where a list belongs; an admin needs to hear which list, under which key.
//!
//! The parser does not say which field it was reading, so the key is found in the text: the
//! key on the error's own line before the value, or else the nearest line above that ends in
//! `key:`. Every phrase is pinned by a snapshot test of a file under `examples/broken/`.

use crate::error::{SpecError, SpecErrorKind};
use crate::parse::Loc;

/// A rephrased error for serde-saphyr's `Unexpected { expected }`, or `None` to keep its words.
pub(crate) fn shape_error(file: &str, text: &str, loc: &Loc, expected: &str) -> Option<SpecError> {
    let wants_list = match expected {
        "sequence start" => true,
        "mapping start" => false,
        _ => return None,
    };
    let place = enclosing_key(text, loc);
    let (message, help) = match (place, wants_list) {
        (None, false) if loc.line <= first_content_line(text) => {
            return Some(loc.error(
                file,
                SpecErrorKind::NotASpec,
                "a spec starts with `apiVersion: devlic/v1` and `kind: DeviceLicenses`; check that this is the right file",
            ));
        }
        (Some(Place { key, item: false }), true) => (
            format!("expected a list {} under `{key}:`", list_of(&key)),
            format!("write one `- ...` item per line, indented under `{key}:` (or `{key}: []` for none)"),
        ),
        (Some(Place { key, item: true }), false) if key == "assignments" => (
            "expected an assignment (`group:`, `subscription:` ...) as each item under `assignments:`"
                .to_owned(),
            "write each item as `- group: NAME` with `subscription: SKU` on the next line, indented the same".to_owned(),
        ),
        (Some(Place { key, item: _ }), false) if key == "group" => (
            "expected the group under `group:` as a display name or `{id: GUID}`".to_owned(),
            "write `group: Display Name` or `group: {id: 00000000-0000-0000-0000-000000000000}`".to_owned(),
        ),
        (Some(Place { key, item: false }), false) => (
            format!("expected `key: value` lines under `{key}:`"),
            format!("indent the fields of `{key}:` under it, one `key: value` per line"),
        ),
        _ => return None,
    };
    Some(loc.error(file, SpecErrorKind::WrongShape { expected: message }, help))
}

/// What a list under `key` holds, in words.
fn list_of(key: &str) -> &'static str {
    match key {
        "assignments" => "of assignments",
        "disabledPlans" => "of service plans",
        "deviceSkus" => "of subscriptions",
        _ => "of values",
    }
}

/// The key whose value the error is in, and whether the value is a list item (`- ...`).
struct Place {
    key: String,
    item: bool,
}

fn first_content_line(text: &str) -> u32 {
    let index = text
        .lines()
        .position(|l| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with('#') && t != "---"
        })
        .unwrap_or(0);
    u32::try_from(index + 1).unwrap_or(u32::MAX)
}

fn enclosing_key(text: &str, loc: &Loc) -> Option<Place> {
    let lines: Vec<&str> = text.lines().collect();
    let index = usize::try_from(loc.line).ok()?.checked_sub(1)?;
    let line = lines.get(index)?;
    let column = usize::try_from(loc.column).ok()?.saturating_sub(1);
    let before: String = line.chars().take(column).collect();
    let before = before.trim();
    let item = before.ends_with('-');
    if let Some(key) = before.strip_suffix(':').map(key_name) {
        return Some(Place { key, item });
    }
    // Walk up to the nearest `key:` line that opens a block.
    for above in lines[..index].iter().rev() {
        let t = above.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        return t.strip_suffix(':').map(|k| Place {
            key: key_name(k),
            item,
        });
    }
    None
}

/// `- assignments` or `"assignments"` to `assignments`.
fn key_name(raw: &str) -> String {
    raw.trim()
        .trim_start_matches('-')
        .trim()
        .trim_matches(|c| c == '"' || c == '\'')
        .to_owned()
}
