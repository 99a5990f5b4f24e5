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
// Unix only: the docs are bash, run in a scratch folder with a symlinked simulator.
#[cfg(unix)]
mod docs_transcript;
mod export;
#[cfg(unix)]
mod files;
mod fixtures;
mod formats;
pub mod human_signin;
mod init;
mod least_privilege;
mod one_group;
mod outputs;
mod plan;
mod request_log;
mod resilience;
mod secrets;
mod signin_errors;
mod sim;
mod story;
mod support;
mod validate;
