//! Integration tests of devlic-graph, against the Graph simulator over HTTP on 127.0.0.1.

mod auth;
