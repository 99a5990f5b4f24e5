//! The small trait the applier writes through: one implementation per licensing API.

use std::collections::BTreeMap;
use std::future::Future;

use devlic_graph::{GraphError, LiveQuery};
use devlic_model::{
    Action, ActionKind, AssignedLicense, Backend, GroupId, LicenseErrorMember, LiveState,
    ProcessingState, SkuId,
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
    /// The group already holds `add`'s SKU and only its disabled plans change (an `update`
    /// action): written in place where the API can (cloud-licensing: a PATCH of the assignment).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub in_place: bool,
    /// A move (cloud-licensing): the allotment whose assignment of `add`'s SKU is deleted once
    /// the assignment on `allotment` exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub move_from: Option<String>,
}

impl Change {
    /// The change an action asks for.
    pub fn of(action: &Action) -> Change {
        Change {
            add: action.adds().map(|sku_id| AssignedLicense {
                sku_id,
                disabled_plans: action.disabled_plans.clone(),
                allotment_id: None,
            }),
            remove: action.removes(),
            allotment: action
                .allotment
                .as_ref()
                .filter(|_| action.adds().is_some())
                .map(|a| a.id.clone()),
            in_place: action.kind == ActionKind::Update,
            move_from: action
                .from_allotment
                .as_ref()
                .filter(|_| action.kind == ActionKind::Move)
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

/// A write that did not succeed. Graph's own error travels with it (code, request-id,
/// client-request-id), so a caller can branch on why, e.g. a 403 on delete.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The service answered and refused the write; nothing changed.
    #[error("Graph refused the write: {0}")]
    Rejected(#[source] GraphError),
    /// The request was sent but no answer arrived (connection lost, timeout): the write may or
    /// may not have landed. The applier re-reads the group before deciding anything.
    #[error("the write's outcome is unknown: {0}")]
    OutcomeUnknown(#[source] GraphError),
    /// Any other Graph failure before the request could be sent or after retries ran out.
    #[error(transparent)]
    Graph(GraphError),
    /// A two-step write stopped after its first step: the new subscription is in place, removing
    /// the old one failed. The group holds both, so its devices keep the apps; a rerun finishes.
    #[error(
        "the new assignment is in place{} but removing the old assignment {assignment} failed: {error}; the group holds both subscriptions, so the apps keep working; run apply again to remove the old one",
        if created.is_empty() { String::new() } else { format!(" (request-id {})", created.join(", ")) }
    )]
    HalfDone {
        /// Request-ids of the writes that landed.
        created: Vec<String>,
        /// The assignment that could not be removed.
        assignment: String,
        /// Why removing it failed.
        #[source]
        error: GraphError,
    },
    /// The backend refused to send anything: the change cannot be expressed on this API as the
    /// plan gives it (e.g. no allotment recorded for a cloud-licensing assignment).
    #[error("{reason}")]
    Unsupported {
        /// What is missing, and what to do.
        reason: String,
    },
}

impl WriteError {
    /// Maps a Graph failure of a single write call: an answered refusal, an unknown outcome, or
    /// anything else.
    pub fn from_graph(e: GraphError) -> WriteError {
        match e {
            GraphError::OutcomeUnknown { .. } => WriteError::OutcomeUnknown(e),
            GraphError::Service { .. } => WriteError::Rejected(e),
            e => WriteError::Graph(e),
        }
    }

    /// The Graph error behind this one, if any.
    pub fn graph(&self) -> Option<&GraphError> {
        match self {
            WriteError::Rejected(e) | WriteError::OutcomeUnknown(e) | WriteError::Graph(e) => {
                Some(e)
            }
            WriteError::HalfDone { error, .. } => Some(error),
            WriteError::Unsupported { .. } => None,
        }
    }

    /// The request-id (or, when none came back, the client-request-id we sent) to quote.
    pub fn request_id(&self) -> Option<String> {
        let e = self.graph()?;
        e.request_id()
            .map(str::to_owned)
            .or_else(|| e.client_request_id().map(str::to_owned))
    }
}

/// A read that did not succeed: what was being read, and Graph's error.
#[derive(Debug, thiserror::Error)]
#[error("{doing} failed: {error}")]
pub struct ReadError {
    /// What was being read, e.g. "reading the groups' license state".
    pub doing: &'static str,
    /// The Graph failure.
    #[source]
    pub error: GraphError,
}

impl ReadError {
    /// A closure for `map_err`.
    pub fn doing(doing: &'static str) -> impl FnOnce(GraphError) -> ReadError {
        move |error| ReadError { doing, error }
    }
}

/// One licensing API, as devlic needs it: reading the tenant for planning, and reading, writing
/// and verifying groups for apply.
///
/// Implementations talk HTTP; the applier and the CLI never do. A `write` is the whole change
/// for one group: a backend whose API needs two calls orders them so devices never lose the apps
/// in between (add first, then remove). What differs between backends that the planner and the
/// renderers must know is data ([`Backend::capabilities`]), not code here.
pub trait LicensingBackend: Sync {
    /// Which API this is.
    fn backend(&self) -> Backend;

    /// What kind of token the backend's client signs in with, so a refused call names the
    /// permission the way that sign-in grants it (application or delegated). Backends without
    /// a Graph client (tests) say `Unknown`, which names both.
    fn token_kind(&self) -> devlic_graph::auth::TokenKind {
        devlic_graph::auth::TokenKind::Unknown
    }

    /// Reads what planning needs: the organization, the SKUs, the groups `query` names and the
    /// holders of device subscriptions, in this backend's view (assignedLicenses, or allotments
    /// and assignments).
    fn read_live(
        &self,
        query: &LiveQuery,
    ) -> impl Future<Output = Result<LiveState, ReadError>> + Send;

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

    /// How many devices of each `(group, subscription)` hold a usage right for that
    /// subscription, reading at most `cap` distinct devices in all. `None` on a backend without
    /// device usage rights (group-licensing), which is the default.
    fn usage_rights(
        &self,
        targets: &[(GroupId, SkuId)],
        cap: usize,
    ) -> impl Future<Output = Option<Result<Vec<UsageRightCount>, ReadError>>> + Send {
        let _ = (targets, cap);
        async { None }
    }

    /// The running counts of the write requests this backend has sent (from its Graph
    /// client), read before and after the write phase for the report's throughput; `None`
    /// (the default) when the backend keeps none.
    fn write_counters(&self) -> Option<crate::throughput::WriteCounters> {
        None
    }
}

/// One group's device usage rights for one subscription, as a backend counted them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageRightCount {
    /// The group.
    pub group: GroupId,
    /// The subscription.
    pub sku: SkuId,
    /// Transitive device members of the group.
    pub devices: u64,
    /// Devices whose usage rights were read (fewer than `devices` once the cap is reached).
    pub devices_read: u64,
    /// Devices read that hold a usage right for `sku`.
    pub holders: u64,
}
