//! One file's bytes to a [`RawFile`], or one located error.
//!
//! serde stops at the first error of a document, so a file yields at most one syntax or type
//! error; `load` still parses every file and then runs the semantic checks on all that parsed.

use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::{
    DuplicateKeyPolicy, Error as YamlError, Location, MergeKeyPolicy, MessageFormatter,
};

use crate::error::{SpecError, SpecErrorKind};
use crate::raw::RawFile;
use crate::suggest::closest;
use crate::{MAX_FILE_BYTES, SourceFile};

/// A location inside one file, ready to become a [`SpecError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Loc {
    pub line: u32,
    pub column: u32,
    pub span: Option<std::ops::Range<usize>>,
}

impl Loc {
    /// The start of a file.
    pub(crate) fn start() -> Loc {
        Loc {
            line: 1,
            column: 1,
            span: None,
        }
    }

    /// Converts serde-saphyr's location; unknown locations (line 0) become the file start so
    /// that every error still carries a usable position.
    pub(crate) fn from_yaml(location: Location) -> Loc {
        let line = u32::try_from(location.line()).unwrap_or(u32::MAX);
        let column = u32::try_from(location.column()).unwrap_or(u32::MAX);
        if line == 0 {
            return Loc::start();
        }
        let span = location.span();
        let byte_span = match (span.byte_offset(), span.byte_len()) {
            (Some(start), Some(len)) => {
                let start = usize::try_from(start).ok();
                let len = usize::try_from(len).ok();
                start.zip(len).map(|(s, l)| s..s.saturating_add(l))
            }
            _ => None,
        };
        Loc {
            line,
            column: column.max(1),
            span: byte_span,
        }
    }

    /// Builds an error at this location.
    pub(crate) fn error(
        &self,
        file: &str,
        kind: SpecErrorKind,
        help: impl Into<String>,
    ) -> SpecError {
        SpecError {
            file: file.to_owned(),
            line: self.line,
            column: self.column,
            span: self.span.clone(),
            // Values copied from the file end up in terminal output: escape control characters
            // (a quoted YAML string can carry ESC sequences) at this one place every error passes.
            kind: kind.escape_controls(),
            help: help.into(),
            related: None,
        }
    }
}

/// The deserializer options for spec files.
///
/// The budget is far below serde-saphyr's defaults: a spec of 10,000 assignments is about
/// 150,000 parser events, and a spec never needs thousands of aliases. A "billion laughs" file
/// therefore fails after a few hundred thousand replayed events, in milliseconds and with memory
/// bounded by the limits, instead of expanding.
fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        with_snippet: false,
        duplicate_keys: DuplicateKeyPolicy::Error,
        // `<<: [*a, *b]` would let one mapping's value win over the other's silently, which is
        // the very thing duplicate-key rejection exists to prevent: merge keys are refused.
        merge_keys: MergeKeyPolicy::Error,
        budget: serde_saphyr::budget! {
            max_events: 2_000_000,
            max_aliases: 10_000,
            max_anchors: 10_000,
            max_depth: 32,
            max_documents: 1,
            max_nodes: 1_000_000,
            max_total_scalar_bytes: 16 * 1024 * 1024,
            max_recorded_anchor_events: 200_000,
            max_recorded_anchor_bytes: 4 * 1024 * 1024,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 200_000,
            max_replay_stack_depth: 16,
        },
    }
}

/// Parses one file. Errors are returned, never panicked.
pub(crate) fn parse_file(source: &SourceFile) -> Result<RawFile, Box<SpecError>> {
    let file = source.path.as_str();
    if source.bytes.len() > MAX_FILE_BYTES {
        return Err(Box::new(Loc::start().error(
            file,
            SpecErrorKind::FileTooLarge {
                limit_mib: MAX_FILE_BYTES / (1024 * 1024),
            },
            "split the spec into several files in one folder, or check that this is the right file",
        )));
    }
    let decoded = match crate::encoding::to_utf8(&source.bytes) {
        Ok(decoded) => decoded,
        Err(crate::encoding::Utf16Error) => {
            return Err(Box::new(Loc::start().error(
                file,
                SpecErrorKind::InvalidUtf16,
                UTF16_HELP,
            )));
        }
    };
    let text = match std::str::from_utf8(&decoded) {
        Ok(text) => text,
        Err(e) => {
            let at = e.valid_up_to();
            let loc = loc_of_byte(&decoded[..at], at);
            return Err(Box::new(loc.error(
                file,
                SpecErrorKind::InvalidUtf8,
                "save the file as UTF-8 (YAML files must be UTF-8)",
            )));
        }
    };
    // YAML text never holds C0 controls other than tab and line breaks; a file that does is
    // binary, UTF-16 without a byte order mark, or something like `/proc/self/environ`.
    if let Some(at) = text
        .bytes()
        .position(|b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'))
    {
        let loc = loc_of_byte(&decoded[..at], at);
        return Err(Box::new(loc.error(
            file,
            SpecErrorKind::NotText,
            format!("check that this is a spec file; if it is, {UTF16_HELP}"),
        )));
    }
    if is_blank(text) {
        return Err(Box::new(Loc::start().error(
            file,
            SpecErrorKind::EmptyFile,
            "start the file with `apiVersion: devlic/v1` and `kind: DeviceLicenses`, or delete it",
        )));
    }
    serde_saphyr::from_str_with_options::<RawFile>(text, options())
        .map_err(|e| Box::new(map_yaml_error(file, text, &e)))
}

/// How to fix a file saved as UTF-16.
const UTF16_HELP: &str = "a file saved as UTF-16 (Windows PowerShell 5.1 `>` does that) must be re-saved as UTF-8: use `| Out-File -Encoding utf8` instead of `>`, or save it as UTF-8 in the editor";

/// Whether the text holds no YAML content: only whitespace, comments and a BOM.
fn is_blank(text: &str) -> bool {
    text.trim_start_matches('\u{feff}')
        .lines()
        .map(str::trim)
        .all(|l| l.is_empty() || l.starts_with('#'))
}

/// The 1-based line and column (in characters) of byte `at`, given the valid text before it.
fn loc_of_byte(before: &[u8], at: usize) -> Loc {
    let text = std::str::from_utf8(before).unwrap_or_default();
    let line = text.matches('\n').count() + 1;
    let line_start = text.rfind('\n').map_or(0, |i| i + 1);
    let column = text[line_start..].chars().count() + 1;
    Loc {
        line: u32::try_from(line).unwrap_or(u32::MAX),
        column: u32::try_from(column).unwrap_or(u32::MAX),
        span: Some(at..at + 1),
    }
}

/// The error itself, without the snippet and alias wrappers serde-saphyr adds.
fn original(err: &YamlError) -> &YamlError {
    match err.without_snippet() {
        YamlError::AliasError { error, .. } => original(error),
        other => other,
    }
}

/// Maps a serde-saphyr error onto devlic's typed error with a fix-it hint.
fn map_yaml_error(file: &str, text: &str, err: &YamlError) -> SpecError {
    let loc = err.location().map_or_else(Loc::start, Loc::from_yaml);
    let inner = original(err);
    if let YamlError::Unexpected { expected, .. } = inner
        && let Some(error) = crate::shape::shape_error(file, text, &loc, expected)
    {
        return error;
    }
    let detail = || sanitize(&serde_saphyr::UserMessageFormatter.format_message(inner));
    match inner {
        YamlError::DuplicateMappingKey { key, .. } => {
            let key = key.clone().unwrap_or_else(|| "?".to_owned());
            loc.error(
                file,
                SpecErrorKind::DuplicateKey { key: sanitize(&key) },
                "remove one of the two entries: YAML keys must be unique within a mapping",
            )
        }
        YamlError::SerdeUnknownField { field, expected, .. } => {
            let suggestion = closest(field, expected.iter().copied());
            let help = match &suggestion {
                Some(s) => format!("did you mean `{s}`? Allowed fields here: {}", list(expected)),
                None => format!("remove it. Allowed fields here: {}", list(expected)),
            };
            loc.error(file, SpecErrorKind::UnknownField { field: sanitize(field), suggestion }, help)
        }
        YamlError::SerdeUnknownVariant { variant, expected, .. } => {
            let suggestion = closest(variant, expected.iter().copied());
            let help = match &suggestion {
                Some(s) => format!("did you mean `{s}`? Accepted values: {}", list(expected)),
                None => format!("use one of: {}", list(expected)),
            };
            loc.error(file, SpecErrorKind::UnknownValue { value: sanitize(variant), suggestion }, help)
        }
        YamlError::SerdeMissingField { field, .. } => loc.error(
            file,
            SpecErrorKind::MissingField { field: (*field).to_owned() },
            missing_field_help(field),
        ),
        YamlError::AliasReplayLimitExceeded { .. }
        | YamlError::AliasExpansionLimitExceeded { .. }
        | YamlError::AliasReplayStackDepthExceeded { .. }
        | YamlError::AliasReplayCounterOverflow { .. } => loc.error(
            file,
            SpecErrorKind::ResourceLimit { detail: "aliases expand to too much data".to_owned() },
            "a spec needs no mass aliases: write the entries out instead of nesting `*alias` references",
        ),
        YamlError::SerdeInvalidType { .. }
        | YamlError::SerdeInvalidValue { .. }
        | YamlError::SerdeInvalidLength { .. }
        | YamlError::NullIntoString { .. }
        | YamlError::InvalidScalar { .. }
        | YamlError::Unexpected { .. } => loc.error(
            file,
            SpecErrorKind::InvalidType { detail: detail() },
            "check the value against docs/spec-reference.md (quote text that YAML would read as a number, boolean or null)",
        ),
        YamlError::MultipleDocuments { .. }
        | YamlError::Budget { breach: BudgetBreach::Documents { .. }, .. } => loc.error(
            file,
            SpecErrorKind::Syntax { detail: "more than one YAML document (`---`) in the file".to_owned() },
            "write one document per file; put the others in separate files of the same folder",
        ),
        YamlError::Budget { breach, .. } => loc.error(
            file,
            SpecErrorKind::ResourceLimit { detail: describe_breach(breach) },
            "a spec needs no deep nesting or mass aliases: write the entries out, or split the file",
        ),
        YamlError::MergeKeyNotAllowed { .. } | YamlError::MergeValueNotMapOrSeqOfMaps { .. } => {
            loc.error(
                file,
                SpecErrorKind::Syntax {
                    detail: "YAML merge keys (`<<`) are not allowed in a spec".to_owned(),
                },
                "write the keys out in each mapping: a merge could silently let one value win over another",
            )
        }
        YamlError::InvalidUtf8Input => loc.error(
            file,
            SpecErrorKind::InvalidUtf8,
            "save the file as UTF-8 (YAML files must be UTF-8)",
        ),
        _ => {
            let detail = detail();
            let help = if detail.to_ascii_lowercase().contains("tab") {
                "indent with spaces: YAML does not allow tabs for indentation"
            } else {
                "fix the YAML syntax at this position (indentation, quotes, brackets, `key: value` pairs)"
            };
            loc.error(file, SpecErrorKind::Syntax { detail }, help)
        }
    }
}

/// Removes control characters (a hostile file could carry terminal escapes) from text that
/// ends up in messages.
pub(crate) fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

fn list(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn missing_field_help(field: &str) -> String {
    match field {
        "apiVersion" => "add `apiVersion: devlic/v1` at the top of the file".to_owned(),
        "kind" => "add `kind: DeviceLicenses` at the top of the file".to_owned(),
        "group" => "add `group:` with the group's display name or `{id: GUID}`".to_owned(),
        "id" => "write the group as `{id: GUID}` or as its display name".to_owned(),
        other => format!("add `{other}`"),
    }
}

fn describe_breach(breach: &BudgetBreach) -> String {
    match breach {
        BudgetBreach::Aliases { aliases } => format!("more than {aliases} aliases"),
        BudgetBreach::Anchors { anchors } => format!("more than {anchors} anchors"),
        BudgetBreach::Nodes { nodes } => format!("more than {nodes} nodes"),
        BudgetBreach::Events { events } => format!("more than {events} parser events"),
        BudgetBreach::Depth { depth } => format!("nested {depth} levels deep"),
        BudgetBreach::RecordedAnchorEvents { .. } | BudgetBreach::RecordedAnchorBytes { .. } => {
            "anchors hold too much data".to_owned()
        }
        BudgetBreach::AliasAnchorRatio { .. } => "far more aliases than anchors".to_owned(),
        other => sanitize(&format!("{other:?}")),
    }
}
