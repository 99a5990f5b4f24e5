//! Integration tests of devlic-applier: real plans applied through the Graph client to the
//! simulator on 127.0.0.1, asserting on the tenant afterwards and on the exact Graph calls.

// A test may panic on a broken setup, in its helpers too (clippy.toml exempts only #[test]
// functions and #[cfg(test)] modules). Some tests report what they measured on stderr.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod budget;
mod cloud;
mod faults;
mod harness;
mod junit_schema;
mod memory;
mod moves;
mod run;
mod usage_rights;
