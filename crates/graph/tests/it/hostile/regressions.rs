//! Replays, through the fuzz target's own harness, every input the `graph_wire` fuzzer ever
//! flagged (`tests/data/fuzz-regressions/graph_wire/`, filled by `scripts/fuzz.sh`) and the
//! target's committed seed corpus (`fuzz/seeds/graph_wire/`, one well-formed answer per
//! endpoint), so plain `cargo test` keeps both working on stable.

use std::path::{Path, PathBuf};

use super::harness::WireHarness;
use super::{NO_HANG, runtime};

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.map(|e| e.expect("dir entry").path()).collect())
        .unwrap_or_default();
    out.sort();
    out
}

fn replay(dir: &Path) -> usize {
    let rt = runtime();
    let h = rt.block_on(WireHarness::start());
    let inputs = files(dir);
    for path in &inputs {
        let data = std::fs::read(path).expect("input");
        // The harness asserts the invariants (no panic, no hang, no request off the root).
        let out = rt.block_on(async { tokio::time::timeout(NO_HANG, h.run(&data)).await });
        assert!(out.is_ok(), "{} hung", path.display());
    }
    inputs.len()
}

#[test]
fn fuzz_findings_stay_fixed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz-regressions/graph_wire");
    replay(&dir);
}

#[test]
fn the_seed_corpus_is_well_formed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/graph_wire");
    let rt = runtime();
    let h = rt.block_on(WireHarness::start());
    let inputs = files(&dir);
    assert!(inputs.len() >= 11, "seed corpus missing: {}", dir.display());
    for path in &inputs {
        let data = std::fs::read(path).expect("seed");
        let out = rt
            .block_on(async { tokio::time::timeout(NO_HANG, h.run(&data)).await })
            .expect("hang");
        let name = path.file_name().expect("name").to_string_lossy();
        // Seeds that describe a refusal (foreign link, throttled write, two answers with one
        // `$batch` id) must be refused; every other seed is a correct answer and must be
        // accepted, or the fuzzer starts from noise.
        let should_fail =
            name.contains("foreign") || name.contains("throttled") || name.contains("duplicate");
        match out {
            Some(Ok(_)) => assert!(!should_fail, "{name} was accepted"),
            Some(Err(e)) => assert!(should_fail, "{name}: {e}"),
            None => panic!("{name} selects nothing"),
        }
    }
}
