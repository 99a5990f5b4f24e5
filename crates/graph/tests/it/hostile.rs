//! Hostile Graph answers: whatever a broken or malicious server (or a proxy in between) sends,
//! the client returns a typed error and never panics, hangs, follows a link off the configured
//! Graph root, or buffers without bound. The stable-Rust half of the `graph_wire` fuzz target,
//! whose harness (`hostile/harness.rs`) these tests share.

mod answers;
mod batch_ids;
mod harness;
mod huge;
mod inconsistent;
mod links;
mod regressions;
mod transport;

use std::time::Duration;

/// Every hostile test call is wrapped in this: a hang is a failure, not a stuck CI job.
pub const NO_HANG: Duration = Duration::from_secs(30);

/// A multi-threaded runtime for proptest bodies (proptest's closures are synchronous).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}
