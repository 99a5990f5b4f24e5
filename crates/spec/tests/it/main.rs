//! Integration tests of devlic-spec, driven by the files under `examples/`.

mod examples;
mod limits;
mod schema;
mod support;
