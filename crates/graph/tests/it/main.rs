//! Integration tests of devlic-graph over HTTP on 127.0.0.1: against the Graph simulator, and
//! against a scripted server for exact wire situations (see `support`).

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
