//! The desired state of devlic: YAML spec files in, a validated [`Spec`] or every error out.
//!
//! Brief overview:
//! - [`SourceFile`]: one file's path and bytes. The caller reads files; this crate does no I/O,
//!   so it is easy to test and cannot fail on a file system.
//! - [`load`]: parses every file, merges them, runs every semantic check that needs no tenant,
//!   and returns a [`Spec`] or [`SpecErrors`] holding **all** the problems found, each with file,
//!   line, column, a typed [`SpecErrorKind`] and a `help` line.
//! - [`json_schema`]: the draft-07 JSON Schema of a spec file, generated from the same serde
//!   types the loader uses (committed as `schemas/devlic.schema.json` for editors).
//! - [`Spec`] and friends: the validated model the planner consumes.
//!
//! YAML is read with serde-saphyr: it rejects duplicate keys (a silently dropped entry could
//! assign the wrong license), reports line and column, and bounds alias expansion. Files are
//! capped at [`MAX_FILE_BYTES`] before parsing.

mod check;
mod encoding;
mod error;
mod model;
mod names;
mod parse;
mod raw;
mod shape;
mod suggest;

pub use encoding::{Utf16Error, to_utf8};
pub use error::{Related, SpecError, SpecErrorKind, SpecErrors};
pub use model::{
    Assignment, DesiredState, GroupSelector, OneGroupPerSubscription, Origin, PlanSelector,
    Settings, SkuSelector, Spec,
};

/// The largest spec file accepted, in bytes (4 MiB). A spec of 10,000 assignments is about
/// 1 MiB; anything far larger is a mistake or an attack, and is refused before parsing.
pub const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;

/// One spec file: where it came from and its raw bytes (not yet known to be UTF-8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// The path as the user should see it in messages (e.g. `examples/contoso/devlic.yaml`).
    pub path: String,
    /// The file's content.
    pub bytes: Vec<u8>,
}

/// Loads a spec from one or more files (a folder's files, in the order given).
///
/// Every file is parsed, then the semantic checks run over all files that parsed, so one call
/// reports every problem: syntax errors of each file, unknown fields, malformed GUIDs, unknown
/// subscriptions, groups listed twice (naming both locations), a group given two device
/// subscriptions, conflicting `tenant`/`settings`, and an empty spec with `prune: true`.
///
/// Errors are sorted by file (in the order given), then line and column.
pub fn load(sources: &[SourceFile]) -> Result<Spec, SpecErrors> {
    if sources.is_empty() {
        return Err(SpecErrors {
            errors: vec![parse::Loc::start().error(
                "",
                SpecErrorKind::NoSources,
                "give a spec file, or a folder with *.yaml files",
            )],
        });
    }
    let mut errors = Vec::new();
    let mut parsed = Vec::new();
    for source in sources {
        match parse::parse_file(source) {
            Ok(raw) => parsed.push((source.path.clone(), raw)),
            Err(e) => errors.push(*e),
        }
    }
    let files = sources.iter().map(|s| s.path.clone()).collect();
    let spec = check::check(&parsed, files, &mut errors);
    match spec {
        Some(spec) if errors.is_empty() => Ok(spec),
        _ => {
            let order = |file: &str| sources.iter().position(|s| s.path == file);
            errors.sort_by(|a, b| {
                (order(&a.file), a.line, a.column).cmp(&(order(&b.file), b.line, b.column))
            });
            Err(SpecErrors { errors })
        }
    }
}

/// The JSON Schema (draft-07, which yaml-language-server supports) of one spec file.
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<raw::RawFile>();
    schema.to_value()
}
