//! Integration tests of devlic-spec, driven by the files under `examples/`.

mod examples;
mod hostile;
mod limits;
mod schema;
mod support;
