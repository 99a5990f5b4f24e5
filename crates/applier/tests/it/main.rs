//! Integration tests of devlic-applier: real plans applied through the Graph client to the
//! simulator on 127.0.0.1, asserting on the tenant afterwards and on the exact Graph calls.

mod cloud;
mod faults;
mod harness;
mod junit_schema;
mod run;
