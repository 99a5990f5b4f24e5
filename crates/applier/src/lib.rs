//! Executes a devlic [`Plan`](devlic_model::Plan) against a tenant.
//!
//! Brief overview:
//! - [`LicensingBackend`]: the small trait writes go through (one implementation per licensing
//!   API: Graph v1.0 [`GroupLicensing`], one `assignLicense` call per change, and Graph beta
//!   [`CloudLicensing`], which creates the new allotment assignment before deleting the old one).
//! - [`apply`]: guards, the stale-plan check, bounded-concurrency writes, re-reads after lost
//!   responses, and verification of license processing. Refuses before writing anything when a
//!   guard trips or the tenant moved; never half-applies silently: every action ends in the
//!   [`RunReport`] as applied, already applied, or failed with a reason.
//! - [`RunReport`]: JSON, Markdown and JUnit renderings of a run, including one that stopped
//!   before writing ([`RunReport::stopped`]).

mod any;
pub mod backend;
mod cloud_backend;
mod graph_backend;

mod report;
mod run;
mod throughput;
mod usage_rights_report;

pub use any::{AnyBackend, api_version};
pub use backend::{
    Change, GroupLicenseState, LicensingBackend, ReadError, RequestPreview, UsageRightCount,
    WriteError, WriteReceipt,
};
pub use cloud_backend::{CloudLicensing, USAGE_RIGHTS_DEVICE_CAP};
pub use graph_backend::GroupLicensing;

pub use report::{
    ActionOutcome, ActionReport, AllotmentMove, GroupErrors, GroupUsageRights,
    REPORT_FORMAT_VERSION, RunReport, StaleGroup, StopReason, Stopped, UnknownState,
    UsageRightsCheck, Verification,
};
pub use run::{ApplyError, ApplyOptions, Event, Progress, apply};
pub use throughput::{WriteCounters, WritePhase};
