//! Hostile input: huge files, alias bombs, bytes that are not text. None may panic or hang.
//!
//! "Fails fast" is asserted as work done, never as wall time (a time bound fails on a loaded
//! machine and passes a slow algorithm on a fast one): where parsing stopped, which limit
//! stopped it, and how much of the input was expanded by then.

use devlic_spec::{MAX_FILE_BYTES, SourceFile, SpecErrorKind, load};

use crate::support::sources;

#[test]
fn a_10_mb_file_is_refused_before_parsing() {
    let mut bytes = b"apiVersion: devlic/v1\nkind: DeviceLicenses\nassignments:\n".to_vec();
    while bytes.len() < 10 * 1024 * 1024 {
        bytes.extend_from_slice(b"  - group: \"Lab\"\n    subscription: OFFICE_PROPLUS_DEVICE1\n");
    }
    let err = load(&[SourceFile {
        path: "big.yaml".into(),
        bytes,
    }])
    .unwrap_err();
    // Exactly one error, at 1:1: the size check ran before the parser saw a byte (a parsed
    // file would have its errors, if any, further in).
    assert_eq!(err.len(), 1, "{err}");
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

/// serde-saphyr's `max_total_replayed_events` in `crates/spec/src/parse.rs` (`options()`).
const MAX_REPLAYED_EVENTS: usize = 200_000;

#[test]
fn the_alias_bomb_stops_at_the_replay_cap() {
    let files = sources("examples/broken/alias-bomb.yaml");
    let text = std::str::from_utf8(&files[0].bytes).unwrap();
    let err = load(&files).unwrap_err();
    assert_eq!(err.len(), 1, "{err}");
    let e = &err.errors[0];
    assert!(
        matches!(&e.kind, SpecErrorKind::ResourceLimit { detail } if detail == "aliases expand to too much data"),
        "{err}"
    );

    // Each `*g` replays the anchored assignment: a mapping (start, end), three keys, two
    // scalar values and the 500-entry `disabledPlans` list (start, 500 scalars, end).
    let plans = text
        .split(|c: char| c == ',' || c.is_whitespace() || c == '[')
        .filter(|w| {
            w.len() == 4 && w.starts_with('P') && w[1..].bytes().all(|b| b.is_ascii_digit())
        })
        .count();
    assert_eq!(plans, 500);
    let events_per_alias = 2 + 3 + 2 + (plans + 2);
    let aliases_in_file = text.matches("*g").count();
    assert_eq!(aliases_in_file, 2_000);

    // The error points at the alias whose replay crossed the cap: the work done is that many
    // aliases expanded, and not one more.
    let line = text.lines().nth(e.line as usize - 1).unwrap();
    assert!(line[e.column as usize - 1..].starts_with("*g"), "{e:?}");
    let before: usize = text
        .lines()
        .take(e.line as usize - 1)
        .map(|l| l.matches("*g").count())
        .sum::<usize>()
        + line[..e.column as usize - 1].matches("*g").count();
    let expanded = before + 1;
    assert_eq!(
        expanded,
        MAX_REPLAYED_EVENTS.div_ceil(events_per_alias),
        "{e:?}"
    );
    assert!(expanded * events_per_alias <= MAX_REPLAYED_EVENTS + events_per_alias);
    assert!(
        expanded < aliases_in_file / 5,
        "expanded {expanded} of {aliases_in_file}"
    );
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
    let err = load(&[SourceFile {
        path: "lol.yaml".into(),
        bytes: yaml.into_bytes(),
    }])
    .unwrap_err();
    assert_eq!(err.len(), 1, "{err}");
    let e = &err.errors[0];
    assert_eq!(e.kind.code(), "invalid-type", "{err}");
    // Line 5 holds `&a`; the error is at the first `*a` of `b`'s list (line 7, after
    // `    disabledPlans: &b [`): nothing past the first element of one alias was looked at.
    assert_eq!((e.line, e.column), (7, 24), "{err}");
}
