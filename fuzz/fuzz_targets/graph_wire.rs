//! Arbitrary bytes as Microsoft Graph answers, through the real client over HTTP on 127.0.0.1.
//!
//! The harness (input layout, server, invariants) lives in devlic-graph's test tree so that the
//! stable test suite replays this target's findings with the very same code:
//! `crates/graph/tests/it/hostile/harness.rs`. Nothing is exported from devlic-graph for
//! fuzzing: the harness uses the public API only.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/graph/tests/it/hostile/harness.rs"]
#[allow(dead_code)]
mod harness;

fn state() -> &'static (tokio::runtime::Runtime, harness::WireHarness) {
    static STATE: OnceLock<(tokio::runtime::Runtime, harness::WireHarness)> = OnceLock::new();
    STATE.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let h = rt.block_on(harness::WireHarness::start());
        (rt, h)
    })
}

fuzz_target!(|data: &[u8]| {
    let (rt, h) = state();
    let _ = rt.block_on(h.run(data));
});
