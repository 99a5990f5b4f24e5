//! Hostile input, the stable-Rust half of the fuzzing (`fuzz/` holds the cargo-fuzz targets):
//! proptest over arbitrary bytes, arbitrary text, mutated example specs and several files at
//! once, plus every input the fuzzers ever found (`tests/data/fuzz-regressions/`). The loader
//! must return, quickly, and every error must be located (line ≥ 1, column ≥ 1) in a file that
//! was given.

use std::path::Path;
use std::time::{Duration, Instant};

use devlic_spec::{SourceFile, load};
use proptest::prelude::*;
use proptest::strategy::ValueTree;

use crate::support::{root, sources};

/// Loads `files` and checks the loader's contract; returns the number of errors.
fn check(files: &[SourceFile]) -> usize {
    let started = Instant::now();
    let result = load(files);
    let elapsed = started.elapsed();
    // Generous for debug builds on a busy machine; an expansion or a loop would take minutes.
    assert!(elapsed < Duration::from_secs(5), "load took {elapsed:?}");
    match result {
        Ok(spec) => {
            assert_eq!(spec.files.len(), files.len());
            0
        }
        Err(errors) => {
            assert!(!errors.is_empty(), "an Err without errors");
            for e in &errors {
                assert!(e.line >= 1 && e.column >= 1, "unlocated: {e:?}");
                let file = files
                    .iter()
                    .find(|f| f.path == e.file)
                    .unwrap_or_else(|| panic!("error in a file that was not given: {e:?}"));
                if let Some(span) = &e.span {
                    assert!(span.start <= span.end, "reversed span: {e:?}");
                    assert!(span.start <= file.bytes.len(), "span past the end: {e:?}");
                }
                assert!(!e.help.is_empty(), "no help: {e:?}");
                // What the CLI prints must not carry control characters (terminal escapes).
                let shown = e.to_string();
                assert!(
                    !shown.chars().any(char::is_control),
                    "control character in {shown:?}"
                );
            }
            errors.len()
        }
    }
}

fn one(bytes: Vec<u8>) -> Vec<SourceFile> {
    vec![SourceFile {
        path: "f.yaml".into(),
        bytes,
    }]
}

/// Splits `bytes` at NUL into up to four files, as the `spec_load` fuzz target does for inputs
/// starting with `0xFF`.
fn split_files(bytes: &[u8]) -> Vec<SourceFile> {
    match bytes.split_first() {
        Some((0xFF, rest)) => rest
            .split(|&b| b == 0)
            .take(4)
            .enumerate()
            .map(|(i, b)| SourceFile {
                path: format!("f{i}.yaml"),
                bytes: b.to_vec(),
            })
            .collect(),
        _ => one(bytes.to_vec()),
    }
}

/// Every valid example file, read once.
fn example_files() -> Vec<Vec<u8>> {
    ["examples/contoso", "examples/northwind"]
        .iter()
        .flat_map(|d| sources(d))
        .map(|f| f.bytes)
        .collect()
}

/// Pieces of spec syntax that mutations insert: keys, values, YAML indicators, hostile bytes.
const TOKENS: &[&str] = &[
    "apiVersion: devlic/v1\n",
    "kind: DeviceLicenses\n",
    "  - group: ",
    "    subscription: ",
    "state: absent",
    "{ id: 1a2b3c4d-0005-4a5b-8c6d-000000000005 }",
    "OFFICE_PROPLUS_DEVICE1",
    "m365-apps-education-device",
    "ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7",
    "disabledPlans: [OFFICE_PROPLUS_DEVICE]",
    "allotment: x",
    "&a ",
    "*a",
    "<<: *a",
    "---\n",
    "...\n",
    "!!binary ",
    "? ",
    "|\n",
    ">-\n",
    "\t",
    "\u{feff}",
    "\u{1b}[31m",
    "\"\\u0000\"",
    "'",
    "\"",
    "[",
    "{",
    "#",
    ": ",
    "- ",
    "\r\n",
    "18446744073709551616",
    "-1",
    "1e400",
    "~",
];

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize, usize),
    Insert(usize, usize),
    Overwrite(usize, u8),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    Indent(usize, usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0usize..40).prop_map(|(a, n)| Mutation::Delete(a, n)),
        (any::<usize>(), 0..TOKENS.len()).prop_map(|(a, t)| Mutation::Insert(a, t)),
        (any::<usize>(), any::<u8>()).prop_map(|(a, b)| Mutation::Overwrite(a, b)),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<usize>(), 0usize..9).prop_map(|(a, n)| Mutation::Indent(a, n)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len();
    let at = |i: usize| if len == 0 { 0 } else { i % (len + 1) };
    match *m {
        Mutation::Delete(a, n) => {
            let start = at(a);
            let end = (start + n).min(len);
            bytes.drain(start..end);
        }
        Mutation::Insert(a, t) => {
            let start = at(a);
            bytes.splice(start..start, TOKENS[t].bytes());
        }
        Mutation::Overwrite(a, b) => {
            if len > 0 {
                bytes[a % len] = b;
            }
        }
        Mutation::DuplicateLine(a) | Mutation::SwapLines(a, _) | Mutation::Indent(a, _) => {
            let mut lines: Vec<Vec<u8>> =
                bytes.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
            let n = lines.len();
            let i = a % n;
            match *m {
                Mutation::DuplicateLine(_) => {
                    let line = lines[i].clone();
                    lines.insert(i, line);
                }
                Mutation::SwapLines(_, b) => lines.swap(i, b % n),
                Mutation::Indent(_, spaces) => {
                    let trimmed: Vec<u8> = lines[i]
                        .iter()
                        .copied()
                        .skip_while(|&c| c == b' ')
                        .collect();
                    lines[i] = std::iter::repeat_n(b' ', spaces).chain(trimmed).collect();
                }
                _ => {}
            }
            *bytes = lines.join(&b'\n');
        }
        Mutation::Truncate(a) => bytes.truncate(at(a)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_are_refused_with_located_errors(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check(&split_files(&bytes));
    }

    #[test]
    fn arbitrary_text_is_refused_with_located_errors(text in any::<String>()) {
        check(&one(text.into_bytes()));
    }

    #[test]
    fn yaml_shaped_text_is_refused_with_located_errors(text in "[a-zA-Z0-9 :\\-\\[\\]{}&*!|>'\"#?,.\n\t]{0,600}") {
        let mut bytes = b"apiVersion: devlic/v1\nkind: DeviceLicenses\n".to_vec();
        bytes.extend_from_slice(text.as_bytes());
        check(&one(bytes));
    }

    #[test]
    fn mutated_examples_never_panic(
        which in any::<usize>(),
        mutations in proptest::collection::vec(mutation(), 1..6),
    ) {
        let examples = example_files();
        let mut bytes = examples[which % examples.len()].clone();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        check(&one(bytes));
    }

    #[test]
    fn mutated_folders_never_panic(
        mutations in proptest::collection::vec((0usize..3, mutation()), 1..6),
    ) {
        // The Northwind folder (three files) with mutations spread over its files: reaches the
        // cross-file checks (a group in two files, settings or tenant written twice).
        let mut files = sources("examples/northwind");
        for (f, m) in &mutations {
            let i = f % files.len();
            apply(&mut files[i].bytes, m);
        }
        check(&files);
    }
}

#[test]
fn mutations_do_reach_the_semantic_checks() {
    // Guards the generators above: mutated examples must produce more than syntax errors, or
    // the properties would only ever exercise the YAML parser.
    let mut codes = std::collections::BTreeSet::new();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = (any::<usize>(), proptest::collection::vec(mutation(), 1..4));
    let examples = example_files();
    for _ in 0..400 {
        let (which, mutations) = strategy.new_tree(&mut runner).expect("strategy").current();
        let mut bytes = examples[which % examples.len()].clone();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        if let Err(errors) = load(&one(bytes)) {
            codes.extend(errors.iter().map(|e| e.kind.code()));
        }
    }
    for expected in ["syntax", "unknown-field", "invalid-type"] {
        assert!(
            codes.contains(expected),
            "{expected} never reached: {codes:?}"
        );
    }
    assert!(
        codes.len() >= 6,
        "too few kinds of error reached: {codes:?}"
    );
}

/// Every input a fuzz target ever flagged (see `scripts/fuzz.sh`), replayed under the same
/// contract. `spec_load` inputs are raw bytes; `spec_yaml_structured` ones are folders of the
/// YAML files the structured input rendered to.
#[test]
fn fuzz_regressions_stay_fixed() {
    let dir = root().join("crates/spec/tests/data/fuzz-regressions");
    let mut replayed = 0;
    for entry in read_sorted(&dir.join("spec_load")) {
        let bytes = std::fs::read(&entry).expect("regression input");
        check(&split_files(&bytes));
        replayed += 1;
    }
    for entry in read_sorted(&dir.join("spec_yaml_structured")) {
        let files: Vec<SourceFile> = read_sorted(&entry)
            .into_iter()
            .map(|f| SourceFile {
                path: f.file_name().expect("name").to_string_lossy().into_owned(),
                bytes: std::fs::read(&f).expect("regression file"),
            })
            .collect();
        check(&files);
        replayed += 1;
    }
    assert!(replayed > 0, "no regression inputs under {}", dir.display());
}

fn read_sorted(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.map(|e| e.expect("dir entry").path()).collect(),
        Err(_) => Vec::new(),
    };
    out.sort();
    out
}

#[test]
fn control_characters_in_values_are_escaped_in_messages() {
    // Found by `mutated_folders_never_panic`: a value quoted in a message carried a raw tab;
    // the same path carries ESC sequences, which would recolour or rewrite the user's terminal.
    let yaml = "apiVersion: devlic/v1\nkind: DeviceLicenses\ntenant: \"evil\\e[2J.example\"\nassignments:\n  - group: \"Lab\\tA\"\n    subscription: \"O\\tFFICE\\e[31m\"\n  - group: \"Lab\\tA\"\n    state: absent\n";
    let err = load(&one(yaml.as_bytes().to_vec())).unwrap_err();
    let shown: Vec<String> = err.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "f.yaml:3:9: `evil\\u{1b}[2J.example` is not a tenant GUID or domain name",
            "f.yaml:6:19: `O\\tFFICE\\u{1b}[31m` is not a skuPartNumber, skuId GUID, product name or known alias",
        ],
    );
    assert_eq!(check(&one(yaml.as_bytes().to_vec())), 2);
}

/// Windows PowerShell 5.1 `>` writes UTF-16 LE with a BOM; other tools write BE or a UTF-8 BOM.
fn encoded(text: &str, how: &str) -> Vec<u8> {
    match how {
        "utf-8-bom" => [&[0xef, 0xbb, 0xbf][..], text.as_bytes()].concat(),
        "utf-16le" => std::iter::once([0xff, 0xfe])
            .chain(text.encode_utf16().map(u16::to_le_bytes))
            .flatten()
            .collect(),
        "utf-16be" => std::iter::once([0xfe, 0xff])
            .chain(text.encode_utf16().map(u16::to_be_bytes))
            .flatten()
            .collect(),
        other => panic!("{other}"),
    }
}

#[test]
fn utf16_and_bom_files_load_and_keep_line_and_column() {
    let good = "apiVersion: devlic/v1\nkind: DeviceLicenses\nassignments:\n  - group: \"Kiosks – Büro\"\n    subscription: OFFICE_PROPLUS_DEVICE1\n";
    let bad = "apiVersion: devlic/v1\nkind: DeviceLicenses\nassignments:\n  - group: \"Kiosks – Büro\"\n    subscripton: OFFICE_PROPLUS_DEVICE1\n";
    for how in ["utf-8-bom", "utf-16le", "utf-16be"] {
        let spec = devlic_spec::load(&[devlic_spec::SourceFile {
            path: "ps.yaml".into(),
            bytes: encoded(good, how),
        }])
        .unwrap_or_else(|e| panic!("{how}: {e}"));
        assert_eq!(spec.assignments.len(), 1, "{how}");
        assert_eq!(spec.assignments[0].origin.line, 4, "{how}");
        let err = devlic_spec::load(&[devlic_spec::SourceFile {
            path: "ps.yaml".into(),
            bytes: encoded(bad, how),
        }])
        .unwrap_err();
        let e = &err.errors[0];
        assert_eq!(
            (e.line, e.column, e.kind.code()),
            (5, 5, "unknown-field"),
            "{how}: {e}"
        );
    }
}

#[test]
fn broken_utf16_is_refused_with_the_powershell_hint() {
    let err = devlic_spec::load(&[devlic_spec::SourceFile {
        path: "ps.yaml".into(),
        bytes: vec![0xff, 0xfe, 0x61],
    }])
    .unwrap_err();
    let e = &err.errors[0];
    assert_eq!(e.kind.code(), "invalid-utf16");
    assert!(e.help.contains("Out-File -Encoding utf8"), "{}", e.help);
    assert!(!e.kind.quotes_source());
}

#[test]
fn a_file_that_is_not_yaml_text_is_never_quoted() {
    // What a symlink to /proc/self/environ reads as: NUL-separated variables.
    let environ = b"AZURE_CLIENT_SECRET=fake-secret-0123\0HOME=/root\0".to_vec();
    // An .env file: valid YAML text, but a scalar, not a spec.
    let dotenv = b"AZURE_CLIENT_SECRET=fake-secret-0123\n".to_vec();
    for (bytes, code) in [(environ, "not-text"), (dotenv, "not-a-spec")] {
        let err = devlic_spec::load(&[devlic_spec::SourceFile {
            path: "x.yaml".into(),
            bytes,
        }])
        .unwrap_err();
        let e = &err.errors[0];
        assert_eq!(e.kind.code(), code, "{e}");
        assert!(!e.kind.quotes_source(), "{e}");
        let shown = format!("{e} {}", e.help);
        assert!(!shown.contains("fake-secret"), "{shown}");
    }
}
