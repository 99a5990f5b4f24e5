//! Arbitrary bytes as spec files: `devlic_spec::load` must return (never panic, never hang),
//! and every error it reports must be located (line ≥ 1, column ≥ 1) with a span, if any, that
//! starts inside the file, and no message may carry a control character (terminal escapes).
//!
//! An input starting with `0xFF` is split at `0x00` bytes into up to four files, so the
//! cross-file checks (a group in two files, conflicting `tenant`/`settings`) are reached too.
#![no_main]

use devlic_spec::{SourceFile, load};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let sources: Vec<SourceFile> = match data.split_first() {
        Some((0xFF, rest)) => rest
            .split(|&b| b == 0)
            .take(4)
            .enumerate()
            .map(|(i, bytes)| SourceFile {
                path: format!("f{i}.yaml"),
                bytes: bytes.to_vec(),
            })
            .collect(),
        _ => vec![SourceFile {
            path: "f.yaml".to_owned(),
            bytes: data.to_vec(),
        }],
    };
    match load(&sources) {
        Ok(spec) => {
            // A spec that loads must have come from files that were given.
            assert_eq!(spec.files.len(), sources.len());
        }
        Err(errors) => {
            assert!(!errors.is_empty(), "load failed without an error");
            for e in &errors {
                assert!(e.line >= 1 && e.column >= 1, "unlocated error: {e:?}");
                let file = sources
                    .iter()
                    .find(|s| s.path == e.file)
                    .unwrap_or_else(|| panic!("error names an unknown file: {e:?}"));
                if let Some(span) = &e.span {
                    assert!(span.start <= span.end, "reversed span: {e:?}");
                    assert!(span.start <= file.bytes.len(), "span past the end: {e:?}");
                }
                // What the CLI prints must carry no control characters (terminal escapes).
                let shown = e.to_string();
                assert!(
                    !shown.chars().any(char::is_control),
                    "control character: {shown:?}"
                );
                let _ = e.kind.code();
            }
        }
    }
});
