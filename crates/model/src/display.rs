//! Printing data strings safely. Group display names, descriptions, SKU part numbers, allotment
//! ids and tenant names come from the tenant (or from a spec or snapshot file): anyone who can
//! name a group can put an escape sequence, a carriage return or a bell in it. Every renderer
//! that writes such a string to a terminal, a log, a Markdown comment or an XML report passes it
//! through [`sanitize`] (and, for Markdown, [`markdown_text`] or [`markdown_code`]), so data can
//! never move the cursor, rewrite a line, change colours or forge output.
//!
//! JSON output does not need this: serde_json escapes control characters itself, and JSON
//! consumers must get the exact value.

use std::borrow::Cow;

/// True for characters that must not reach an output raw: every control character (C0
/// including `\n`, `\r` and `\t`, DEL, C1), the Unicode line and paragraph separators (some
/// viewers break lines on them), and the bidirectional formatting characters, which reorder how
/// the text around them is displayed ("Trojan Source", CVE-2021-42574).
///
/// Also every Unicode format character (category Cf: zero-width space and joiners, soft hyphen,
/// word joiner, BOM, tags, ...) and the spaces that look like a plain space but are not
/// (no-break, figure, thin, ideographic, ...): two group names that differ only by them look
/// identical, so they are shown escaped, as [`is_invisible_lookalike`] lists them.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
        )
        || is_invisible_lookalike(c)
}

/// Format characters (Unicode general category Cf, as of Unicode 16) and non-ASCII spaces:
/// characters that are invisible or look like an ordinary space. A name holding one looks the
/// same as the name without it (or with a plain space).
pub fn is_invisible_lookalike(c: char) -> bool {
    matches!(
        c,
        // Spaces other than U+0020 (Zs), and the Mongolian vowel separator.
        '\u{00a0}'
            | '\u{1680}'
            | '\u{180e}'
            | '\u{2000}'..='\u{200a}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
            // Format characters (Cf).
            | '\u{00ad}'
            | '\u{0600}'..='\u{0605}'
            | '\u{06dd}'
            | '\u{070f}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08e2}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206f}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{110bd}'
            | '\u{110cd}'
            | '\u{13430}'..='\u{1343f}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0001}'
            | '\u{e0020}'..='\u{e007f}'
            // Hangul fillers and the Braille blank render as empty space too.
            | '\u{115f}'
            | '\u{1160}'
            | '\u{3164}'
            | '\u{ffa0}'
            | '\u{2800}'
    )
}

/// `s` as it looks: [invisible look-alikes](is_invisible_lookalike) that render as a space
/// become a plain space, the others are dropped. Two names with the same look are equal here.
pub fn visible_form(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            '\u{00a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
            | '\u{3164}'
            | '\u{ffa0}'
            | '\u{2800}' => Some(' '),
            c if is_invisible_lookalike(c) => None,
            c => Some(c),
        })
        .collect()
}

/// `s` with every [unsafe](is_unsafe) character written as its Rust escape (`\n`, `\t`,
/// `\u{1b}`, `\u{202e}`): still visible to the reader, harmless to a terminal. Borrows when
/// there is nothing to escape, which is the usual case.
///
/// The same notation the spec loader uses in its error messages, so a name looks the same in a
/// plan as in a validation error.
pub fn sanitize(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Text devlic composed itself, whose line breaks are its own: every line [sanitized](sanitize),
/// the `\n` between them kept. For messages that quote data which may not have been sanitized
/// where it was quoted (defence in depth); data quoted in a single line should go through
/// [`sanitize`] so that its own line breaks show as `\n`.
pub fn sanitize_lines(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c != '\n' && is_unsafe(c)) {
        return Cow::Borrowed(s);
    }
    let lines: Vec<Cow<'_, str>> = s.split('\n').map(sanitize).collect();
    Cow::Owned(lines.join("\n"))
}

/// A data string as GitHub-flavoured Markdown text, safe in a paragraph, a list item or a table
/// cell: [sanitized](sanitize) first, then HTML-significant characters become entities (no tag
/// such as `<details>` or `<img>` can be opened) and Markdown punctuation is backslash-escaped
/// (no emphasis, link, heading or table-cell break `|`).
pub fn markdown_text(s: &str) -> String {
    let clean = sanitize(s);
    let mut out = String::with_capacity(clean.len());
    for c in clean.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '~' | '!' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// A data string as a Markdown inline code span that survives backticks in the text and is safe
/// in a table cell ([sanitized](sanitize); `|`, which would end the cell even inside a code
/// span, becomes a space). Code spans show their content literally, so no HTML escaping is
/// needed (or wanted: `&lt;` would show as such).
pub fn markdown_code(s: &str) -> String {
    let clean = sanitize(s).replace('|', " ");
    let longest = clean.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if clean.starts_with('`') || clean.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{clean}{pad}{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        assert!(matches!(
            sanitize("Kiosks - Front Desk"),
            Cow::Borrowed("Kiosks - Front Desk")
        ));
        assert_eq!(sanitize("Ärzte – Büro 日本"), "Ärzte – Büro 日本");
    }

    #[test]
    fn control_and_bidi_characters_are_escaped_visibly() {
        assert_eq!(
            sanitize("a\u{1b}[31mred\u{7}\r\n\tb\u{9b}c\u{202e}d"),
            "a\\u{1b}[31mred\\u{7}\\r\\n\\tb\\u{9b}c\\u{202e}d"
        );
        for c in (0u32..0x20).chain(0x7f..0xa0).filter_map(char::from_u32) {
            let shown = sanitize(&c.to_string()).into_owned();
            assert!(shown.starts_with('\\'), "{c:?} -> {shown}");
            assert!(!shown.chars().any(is_unsafe), "{c:?} -> {shown}");
        }
    }

    #[test]
    fn format_characters_and_lookalike_spaces_are_escaped_visibly() {
        assert_eq!(sanitize("Lab\u{200b}s"), "Lab\\u{200b}s");
        assert_eq!(sanitize("Lab\u{a0}A"), "Lab\\u{a0}A");
        assert_eq!(sanitize("\u{feff}Lab\u{2060}"), "\\u{feff}Lab\\u{2060}");
        assert_eq!(sanitize("Lab\u{3000}A\u{ad}"), "Lab\\u{3000}A\\u{ad}");
        assert_eq!(markdown_text("a\u{200d}b"), "a\\\\u{200d}b");
        // Ordinary letters, accents and CJK are untouched.
        assert_eq!(sanitize("Ärzte – Büro 日本"), "Ärzte – Büro 日本");
    }

    #[test]
    fn sanitize_lines_keeps_only_the_line_feeds() {
        assert!(matches!(sanitize_lines("a\nb"), Cow::Borrowed("a\nb")));
        assert_eq!(sanitize_lines("a\u{1b}[2J\r\nb\t"), "a\\u{1b}[2J\\r\nb\\t");
    }

    #[test]
    fn markdown_text_cannot_open_tags_or_break_cells() {
        let s = markdown_text("</details><img src=x>|*a*\u{1b}\n# h");
        assert_eq!(
            s,
            "&lt;/details&gt;&lt;img src=x&gt;\\|\\*a\\*\\\\u{1b}\\\\n\\# h"
        );
        assert!(!s.contains('<') && !s.contains('\n') && !s.contains('\u{1b}'));
    }

    #[test]
    fn markdown_code_survives_backticks_and_pipes() {
        assert_eq!(markdown_code("a"), "`a`");
        assert_eq!(markdown_code("a`b"), "``a`b``");
        assert_eq!(markdown_code("`a"), "`` `a ``");
        assert_eq!(markdown_code("a|b\u{1b}"), "`a b\\u{1b}`");
    }
}
