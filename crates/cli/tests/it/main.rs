//! Integration tests of the `devlic` binary: each runs the real executable, the network ones
//! against an in-process Graph simulator on 127.0.0.1.

// A test may panic on a broken setup, in its helpers too (clippy.toml exempts only #[test]
// functions and #[cfg(test)] modules). Some tests report what they measured on stderr.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod apply;
mod apply_reports;
mod backend_auto;
// Unix only: the scratch repository uses a symlink, and the examples are bash for Linux runners.
#[cfg(unix)]
mod ci_examples;
mod cloud;
mod commands;
mod export;
#[cfg(unix)]
mod files;
mod fixtures;
mod formats;
mod least_privilege;
mod one_group;
mod outputs;
mod plan;
mod resilience;
mod secrets;
mod sim;
mod story;
mod support;
mod validate;
