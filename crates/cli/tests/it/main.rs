//! Integration tests of the `devlic` binary: each runs the real executable.

mod commands;
mod support;
mod validate;
