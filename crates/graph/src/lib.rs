//! devlic's only door to Microsoft Graph.
//!
//! Brief overview:
//! - [`GraphClient`], built from a validated [`ClientConfig`]: the only type that knows URLs.
//!   Plain `http` is accepted only for loopback hosts, and a `@odata.nextLink` or `$batch` URL
//!   that leaves the configured Graph root is refused ([`GraphError::ForeignUrl`]) before any
//!   token is attached.
//! - Transport: one client factory ([`HttpClient`]: redirects off, rustls, timeouts) for Graph
//!   and sign-in, a bounded number of requests in flight, 429/503/504 retried after
//!   `Retry-After` (seconds, decimals or an HTTP date) or full-jitter exponential backoff, bounded
//!   by time ([`RetryPolicy::max_elapsed`] per request, [`Timeouts::overall`] per client). Every
//!   error keeps the `request-id` Graph returned and the `client-request-id` we sent.
//! - Reads: [`GraphClient::read_live`] ([`LiveQuery`] → [`devlic_model::LiveState`]) in
//!   2 + one request per 999 holders of each device SKU in steady state; member counts and license
//!   errors through `$batch` ([`GraphClient::read_member_counts`],
//!   [`GraphClient::read_license_errors`]).
//! - Writes: [`GraphClient::assign_license`] and the cloudLicensing create/delete share one write
//!   loop (`write_loop`): throttling waited out, a re-read before any resend, a lost answer
//!   settled by re-reading past Graph's read-after-write lag, only idempotent writes resent
//!   ([`GraphError::OutcomeUnknown`] otherwise); [`GraphClient::read_group_license_state`] for
//!   verification.
//! - Paging and `$batch` answers are checked: nextLink cycles, page and byte caps
//!   ([`PagingLimits`]), duplicate `$batch` ids and bodies for another group are errors.
//! - [`auth`]: token sources and national clouds.

// `GraphError` carries what a support case needs (method, path, request-id, client-request-id,
// how long it retried), which puts it past clippy's 128-byte default. Errors are the cold path,
// and boxing the variants would hide the fields callers match on (`Service { status: 404, .. }`).
#![allow(clippy::result_large_err)]

pub mod auth;
mod backend_probe;
mod batch;
mod client;
mod cloud_licensing;
mod config;
mod error;
mod http;
mod live;
mod pacing;
mod paging;
mod permission_table;
mod query;
mod request_log;
mod retry;
mod transport;
mod usage_rights;
mod wire;
mod write_loop;
mod writes;

pub use batch::{BatchGet, ItemResponse, MAX_BATCH};
pub use client::{ClientStats, GraphClient};
pub use cloud_licensing::{CloudAssignment, CreatedAssignment, SentWrite, WaitingMember};
pub use config::{
    ApiVersion, ClientConfig, ConfigError, Timeouts, check_endpoint_url, check_transport_security,
};
pub use error::{Exhaustion, GraphError};
pub use http::{HttpClient, USER_AGENT};
pub use live::{LiveQuery, SkuSelector};
pub use paging::{MAX_COLLECTION_BYTES, MAX_PAGES, PagingLimits};
pub use permission_table::{MissingPermission, RoutePermission, permission_for, route_permission};
pub use query::{MAX_IN_VALUES, MAX_TOP};
pub use request_log::REQUEST_LOG_TARGET;
pub use retry::{RetryPolicy, backoff_ceiling, parse_retry_after};
pub use transport::MAX_BODY_BYTES;
pub use writes::{AddLicense, GroupLicenseState, WriteReceipt, assign_license_body};

impl GraphClient {
    /// Runs arbitrary GETs through `$batch` (20 per request, per-item retries, results in the
    /// order given). Item URLs are relative to the version root.
    pub async fn batch_get(&self, items: &[BatchGet]) -> Vec<Result<ItemResponse, GraphError>> {
        self.transport().batch_get(items).await
    }
}
