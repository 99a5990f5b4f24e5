//! Integration tests of the `devlic` binary: each runs the real executable, the network ones
//! against an in-process Graph simulator on 127.0.0.1.

mod apply;
// Unix only: the scratch repository uses a symlink, and the examples are bash for Linux runners.
#[cfg(unix)]
mod ci_examples;
mod cloud;
mod commands;
mod export;
#[cfg(unix)]
mod files;
mod fixtures;
mod plan;
mod resilience;
mod secrets;
mod sim;
mod support;
mod validate;
