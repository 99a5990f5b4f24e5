//! Hostile input: huge files, alias bombs, bytes that are not text. None may panic or hang.

use std::time::{Duration, Instant};

use devlic_spec::{MAX_FILE_BYTES, SourceFile, load};

use crate::support::sources;

#[test]
fn a_10_mb_file_is_refused_before_parsing() {
    let mut bytes = b"apiVersion: devlic/v1\nkind: DeviceLicenses\nassignments:\n".to_vec();
    while bytes.len() < 10 * 1024 * 1024 {
        bytes.extend_from_slice(b"  - group: \"Lab\"\n    subscription: OFFICE_PROPLUS_DEVICE1\n");
    }
    let started = Instant::now();
    let err = load(&[SourceFile {
        path: "big.yaml".into(),
        bytes,
    }])
    .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    let e = &err.errors[0];
    assert_eq!((e.kind.code(), e.line, e.column), ("file-too-large", 1, 1));
    assert_eq!(
        e.to_string(),
        "big.yaml:1:1: the file is larger than the 4 MiB limit for a spec file"
    );
}

#[test]
fn a_file_just_under_the_limit_is_parsed() {
    let mut bytes = b"apiVersion: devlic/v1\nkind: DeviceLicenses\nassignments:\n".to_vec();
    let mut i = 0;
    let entry =
        |i: usize| format!("  - group: \"Lab {i:06}\"\n    subscription: OFFICE_PROPLUS_DEVICE1\n");
    while bytes.len() + entry(i).len() <= MAX_FILE_BYTES {
        bytes.extend_from_slice(entry(i).as_bytes());
        i += 1;
    }
    let spec = load(&[SourceFile {
        path: "big.yaml".into(),
        bytes,
    }])
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(spec.assignments.len(), i);
}

#[test]
fn the_alias_bomb_fails_fast() {
    let files = sources("examples/broken/alias-bomb.yaml");
    let started = Instant::now();
    let err = load(&files).unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(err.errors[0].kind.code(), "resource-limit", "{err}");
    // Debug builds are slow; the bound is generous but far below an expansion (hours).
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
}

#[test]
fn invalid_utf8_points_at_the_first_bad_byte() {
    let err = load(&sources("examples/broken/invalid-utf8.yaml")).unwrap_err();
    let e = &err.errors[0];
    assert_eq!((e.kind.code(), e.line, e.column), ("invalid-utf8", 5, 16));
}

#[test]
fn arbitrary_bytes_never_panic() {
    // A cheap deterministic fuzz: mutate a valid spec byte by byte.
    let base = std::fs::read(crate::support::root().join("examples/contoso/devlic.yaml")).unwrap();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..300 {
        let mut bytes = base.clone();
        for _ in 0..4 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let at = (state as usize) % bytes.len();
            bytes[at] = (state >> 32) as u8;
        }
        if let Err(errors) = load(&[SourceFile {
            path: "f.yaml".into(),
            bytes,
        }]) {
            assert!(errors.iter().all(|e| e.line >= 1 && e.column >= 1));
        }
    }
}

#[test]
fn a_classic_billion_laughs_fails_fast_too() {
    // Nested lists fit none of the spec's types, so this stops at the first type mismatch
    // without expanding anything.
    let mut yaml = String::from(
        "apiVersion: devlic/v1\nkind: DeviceLicenses\nassignments:\n  - group: A\n    disabledPlans: &a [x,x,x,x,x,x,x,x,x]\n",
    );
    let mut prev = 'a';
    for name in ['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'] {
        let refs = vec![format!("*{prev}"); 9].join(",");
        yaml.push_str(&format!(
            "  - group: {name}\n    disabledPlans: &{name} [{refs}]\n"
        ));
        prev = name;
    }
    let started = Instant::now();
    let err = load(&[SourceFile {
        path: "lol.yaml".into(),
        bytes: yaml.into_bytes(),
    }])
    .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(err.errors[0].kind.code(), "invalid-type", "{err}");
}
