//! Integration tests of devlic-spec, driven by the files under `examples/`.

// A test may panic on a broken setup, in its helpers too (clippy.toml exempts only #[test]
// functions and #[cfg(test)] modules).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod examples;
mod hostile;
mod limits;
mod schema;
mod support;
