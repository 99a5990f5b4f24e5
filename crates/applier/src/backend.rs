//! The small trait the applier writes through: one implementation per licensing API.

use std::collections::BTreeMap;
use std::future::Future;

use devlic_model::{
    Action, AssignedLicense, Backend, GroupId, LicenseErrorMember, ProcessingState, SkuId,
};
use serde::Serialize;

/// The license change one action makes to one group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// The SKU to add (with its disabled plans), if any.
    pub add: Option<AssignedLicense>,
    /// The SKUs to remove.
    pub remove: Vec<SkuId>,
    /// cloud-licensing: the allotment id the added SKU is taken from (from the plan).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allotment: Option<String>,
}

impl Change {
    /// The change an action asks for.
    pub fn of(action: &Action) -> Change {
        Change {
            add: action.adds().map(|sku_id| AssignedLicense {
                sku_id,
                disabled_plans: action.disabled_plans.clone(),
            }),
            remove: action.removes(),
            allotment: action
                .allotment
                .as_ref()
                .filter(|_| action.adds().is_some())
                .map(|a| a.id.clone()),
        }
    }
}

/// A group's license state as read back from the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupLicenseState {
    /// `assignedLicenses`.
    pub assigned_licenses: Vec<AssignedLicense>,
    /// `licenseProcessingState`; `None` when Graph has never processed the group.
    pub processing_state: Option<ProcessingState>,
}

/// What a successful write returns.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WriteReceipt {
    /// The Graph `request-id` of every request the write sent, in order.
    pub request_ids: Vec<String>,
    /// What the graph client knows beyond "accepted at once" (e.g. a lost answer that a re-read
    /// showed had landed, or an idempotent resend); goes to the action's report note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The exact request a write would send (for `--dry-run`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestPreview {
    /// HTTP method.
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// JSON body, if any.
    pub body: Option<serde_json::Value>,
}

/// A write that did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// The service answered and refused the write; nothing changed.
    #[error("Graph refused the write: {code}: {message} (request-id {request_id})")]
    Rejected {
        /// Graph's `error.code`.
        code: String,
        /// Graph's `error.message`.
        message: String,
        /// The `request-id` to quote to Microsoft support.
        request_id: String,
    },
    /// The request was sent but no answer arrived (connection lost, timeout): the write may or
    /// may not have landed. The applier re-reads the group before deciding anything.
    #[error("the write's outcome is unknown: {detail}")]
    OutcomeUnknown {
        /// The `request-id`, if one was seen.
        request_id: Option<String>,
        /// What happened.
        detail: String,
    },
    /// Any other failure before the request could be sent or after retries ran out.
    #[error("{0}")]
    Other(String),
}

/// A read that did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ReadError {
    /// What failed, including the Graph request-id when there was one.
    pub message: String,
}

/// One licensing API, as the applier needs it.
///
/// Implementations talk HTTP; the applier never does. A `write` is the whole change for one
/// group: a backend whose API needs two calls orders them so devices never lose the apps in
/// between (add first, then remove).
pub trait LicensingBackend: Sync {
    /// Which API this is.
    fn backend(&self) -> Backend;

    /// Reads the license state of the given groups (missing groups are absent from the map).
    fn read_groups(
        &self,
        ids: &[GroupId],
    ) -> impl Future<Output = Result<BTreeMap<GroupId, GroupLicenseState>, ReadError>> + Send;

    /// Applies one group's change.
    fn write(
        &self,
        group: GroupId,
        change: &Change,
    ) -> impl Future<Output = Result<WriteReceipt, WriteError>> + Send;

    /// Reads the members with license errors of the given groups.
    fn license_errors(
        &self,
        ids: &[GroupId],
    ) -> impl Future<Output = Result<BTreeMap<GroupId, Vec<LicenseErrorMember>>, ReadError>> + Send;

    /// The exact requests `write` would send, for `--dry-run`.
    fn preview(&self, group: GroupId, change: &Change) -> Vec<RequestPreview>;
}
