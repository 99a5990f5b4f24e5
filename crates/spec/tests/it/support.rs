//! Reading example files the way the CLI does (the library itself does no I/O).

use std::path::{Path, PathBuf};

use devlic_spec::{SourceFile, SpecErrors};

/// The workspace root (paths in messages are relative to it, like a user running from there).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A file, or a folder's `*.yaml`/`*.yml` files sorted by name, with workspace-relative paths.
pub fn sources(rel: &str) -> Vec<SourceFile> {
    let path = root().join(rel);
    let mut files: Vec<String> = if path.is_dir() {
        std::fs::read_dir(&path)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
            .map(|n| format!("{rel}/{n}"))
            .collect()
    } else {
        vec![rel.to_owned()]
    };
    files.sort();
    files
        .into_iter()
        .map(|f| SourceFile {
            bytes: std::fs::read(root().join(&f)).unwrap(),
            path: f,
        })
        .collect()
}

/// Every error with its code, help and related location, one block per error.
pub fn render(errors: &SpecErrors) -> String {
    let mut out = String::new();
    for e in errors {
        out.push_str(&format!(
            "{e}\n  code: {}\n  help: {}\n",
            e.kind.code(),
            e.help
        ));
        if let Some(span) = &e.span {
            out.push_str(&format!("  span: {}..{}\n", span.start, span.end));
        }
        if let Some(r) = &e.related {
            out.push_str(&format!(
                "  related: {}:{}:{}: {}\n",
                r.file, r.line, r.column, r.label
            ));
        }
    }
    out
}

/// The entries of `examples/broken`: each file, and each sub-folder as one spec.
pub fn broken_cases() -> Vec<String> {
    let mut cases: Vec<String> = std::fs::read_dir(root().join("examples/broken"))
        .unwrap()
        .map(|e| {
            format!(
                "examples/broken/{}",
                e.unwrap().file_name().to_string_lossy()
            )
        })
        .collect();
    cases.sort();
    cases
}
