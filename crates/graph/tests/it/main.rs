//! Integration tests of devlic-graph over HTTP on 127.0.0.1: against the Graph simulator, and
//! against a scripted server for exact wire situations (see `support`).

// A test may panic on a broken setup, in its helpers too (clippy.toml exempts only #[test]
// functions and #[cfg(test)] modules). Raw reqwest clients are allowed here: these tests
// speak to the simulator and scripted servers directly, below the client factory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod auth;
mod batch;
mod cloud_licensing;
mod hostile;
mod limits;
mod security;
mod sim;
mod support;
mod throttling;
mod writes;
