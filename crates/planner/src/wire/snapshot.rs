//! The versioned JSON format of a snapshot file: what `devlic snapshot --out FILE` writes and
//! `devlic plan --snapshot FILE` reads, for planning without credentials (pull requests from
//! forks, nightly drift reports).
//!
//! The format is [`SnapshotV1`]: `{ "formatVersion": 1, "state": { … } }`. Its JSON Schema is
//! [`snapshot_json_schema`], committed as `schemas/snapshot.schema.json`. The core
//! [`LiveState`] may gain fields without touching this format: the two meet only in
//! [`SnapshotV1::from_live`] and [`SnapshotV1::into_live`].
//!
//! # Compatibility
//! Snapshots are committed to repositories and read by whatever devlic a CI job runs, so they
//! are read tolerantly: fields this build does not know are ignored at every level (a newer
//! devlic may add optional fields to `formatVersion` 1), and every field added after the first
//! release of the format is optional. A `formatVersion` other than 1 is refused, naming the
//! version found ([`SnapshotError::UnsupportedVersion`]).
//!
//! # Format, field by field
//! Top level ([`SnapshotV1`]): `formatVersion` (integer, always `1`) and `state`
//! ([`StateV1`]):
//! - `tenant`: `{ "id", "displayName" (optional), "domains" }`;
//! - `source`: `{ "kind": "graph" | "snapshot", "graphUrl" }`, the Graph root that was read
//!   (a reader marks the state offline whatever `kind` says);
//! - `takenAt` (RFC 3339): when the tenant was read;
//! - `skus`: every `subscribedSku`: `skuId`, `skuPartNumber`, `capabilityStatus`,
//!   `consumedUnits`, `prepaidUnits { enabled, suspended, warning, lockedOut }`, `servicePlans
//!   [{ servicePlanId, servicePlanName }]`;
//! - `groups`: an object keyed by group id; each value has `id` (the same as its key),
//!   `displayName`, `securityEnabled`, `mailEnabled`, `groupTypes`, `assignedLicenses
//!   [{ skuId, disabledPlans, allotmentId (optional, cloud-licensing: the allotment the
//!   assignment draws from; older snapshots lack it and it is taken from `allotments`) }]`,
//!   and when read `licenseProcessingState`, `members
//!   { devices, nonDevices, groups }` and `licenseErrors [{ id, kind, displayName, error }]`;
//! - `allotments` (optional, cloud-licensing only): `id`, `skuId`, `skuPartNumber`,
//!   `allottedUnits`, `consumedUnits`, `assignableTo`, `subscriptionIds`, `assignments
//!   [{ id, group, disabledPlans }]`;
//! - `backend` (optional): the backend the state was read for and why, `{ backend, reason,
//!   automatic }` (`automatic` when `settings.backend: auto` chose it from the tenant's
//!   allotments), so an offline plan chooses as the live one did.

use std::collections::{BTreeMap, BTreeSet};

use devlic_model::{GroupId, LiveState, ServicePlanId, SkuId};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

use super::version_of;

/// The only snapshot format version this build writes and reads.
pub const SNAPSHOT_FORMAT_VERSION: u32 = 1;

/// Why a snapshot file cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The text is not JSON, or not a snapshot object of the expected shape.
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// The object has no integer `formatVersion`.
    #[error("no integer `formatVersion` field")]
    MissingVersion,
    /// The snapshot was written in a format version this build does not know.
    #[error(
        "formatVersion {found} is not supported (this devlic reads formatVersion \
         {SNAPSHOT_FORMAT_VERSION})"
    )]
    UnsupportedVersion {
        /// The version found in the file.
        found: u64,
    },
    /// A `groups` entry is filed under another group's id.
    #[error("the group filed under {key} has id {id}: the file was edited or is corrupt")]
    GroupKeyMismatch {
        /// The key in `groups`.
        key: GroupId,
        /// The `id` of the entry.
        id: GroupId,
    },
}

// The GUID, GUID-list and timestamp schemas are the plan's: one definition for every format.
use super::{guid, guids, timestamp};

fn version(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "integer", "const": SNAPSHOT_FORMAT_VERSION })
}

fn groups_by_id(generator: &mut SchemaGenerator) -> Schema {
    let group = generator.subschema_for::<GroupV1>();
    json_schema!({
        "type": "object",
        "propertyNames": { "format": "uuid" },
        "additionalProperties": group
    })
}

/// A snapshot file, format version 1. See the [module documentation](self) for every field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "devlic snapshot (formatVersion 1)")]
pub struct SnapshotV1 {
    /// Always 1 for this format.
    #[serde(rename = "formatVersion", alias = "format_version")]
    #[schemars(schema_with = "version")]
    pub format_version: u32,
    /// The tenant as read.
    pub state: StateV1,
}

/// The tenant's licensing state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StateV1 {
    /// The tenant that was read.
    pub tenant: TenantV1,
    /// The Graph root that was read.
    pub source: SourceV1,
    /// When it was read (RFC 3339).
    #[schemars(schema_with = "timestamp")]
    pub taken_at: jiff::Timestamp,
    /// Every `subscribedSku` of the tenant.
    pub skus: Vec<SkuV1>,
    /// Groups keyed by id: every group of the tenant when written by `devlic snapshot`.
    #[schemars(schema_with = "groups_by_id")]
    pub groups: BTreeMap<GroupId, GroupV1>,
    /// cloud-licensing only: the allotments of device SKUs and their group assignments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allotments: Vec<AllotmentV1>,
    /// The backend the state was read for and why (absent in older snapshots).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<BackendChoiceV1>,
}

/// The backend a state was read for, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackendChoiceV1 {
    /// The backend.
    pub backend: super::BackendV1,
    /// Why, in one sentence.
    pub reason: String,
    /// True when `settings.backend: auto` chose it from the tenant's evidence.
    #[serde(default)]
    pub automatic: bool,
}

/// The tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantV1 {
    /// Tenant (directory) id.
    pub id: String,
    /// Organization display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Verified domains.
    #[serde(default)]
    pub domains: Vec<String>,
}

/// Where the state was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "kind"
)]
pub enum SourceV1 {
    /// Read from Graph.
    Graph {
        /// The Graph root, e.g. `https://graph.microsoft.com`.
        graph_url: String,
    },
    /// Read from Graph and saved as a snapshot (what `devlic snapshot` writes).
    Snapshot {
        /// The Graph root, e.g. `https://graph.microsoft.com`.
        graph_url: String,
    },
}

/// `subscribedSku.capabilityStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum CapabilityStatusV1 {
    /// Active.
    Enabled,
    /// In its grace period after expiry.
    Warning,
    /// Suspended.
    Suspended,
    /// Deleted.
    Deleted,
    /// Locked out.
    LockedOut,
}

/// One `subscribedSku`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SkuV1 {
    /// `skuId`.
    #[schemars(schema_with = "guid")]
    pub sku_id: SkuId,
    /// `skuPartNumber`.
    pub sku_part_number: String,
    /// `capabilityStatus`.
    pub capability_status: CapabilityStatusV1,
    /// `consumedUnits`.
    pub consumed_units: u64,
    /// `prepaidUnits`.
    pub prepaid_units: PrepaidUnitsV1,
    /// `servicePlans`.
    #[serde(default)]
    pub service_plans: Vec<ServicePlanV1>,
    /// `appliesTo` (`User` or `Company`), when Graph gave it (optional within format 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applies_to: Option<String>,
}

/// `subscribedSku.prepaidUnits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PrepaidUnitsV1 {
    /// Units that can be assigned.
    pub enabled: u64,
    /// Units in a suspended subscription.
    #[serde(default)]
    pub suspended: u64,
    /// Units in a subscription in warning.
    #[serde(default)]
    pub warning: u64,
    /// Units locked out.
    #[serde(default)]
    pub locked_out: u64,
}

/// One service plan of a SKU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServicePlanV1 {
    /// `servicePlanId`.
    #[schemars(schema_with = "guid")]
    pub service_plan_id: ServicePlanId,
    /// `servicePlanName`.
    pub service_plan_name: String,
    /// `appliesTo`, when Graph gave it (optional within format 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applies_to: Option<String>,
}

/// A group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupV1 {
    /// Object id (the same as the key it is filed under).
    #[schemars(schema_with = "guid")]
    pub id: GroupId,
    /// `displayName`.
    pub display_name: String,
    /// `securityEnabled`.
    pub security_enabled: bool,
    /// `mailEnabled`.
    pub mail_enabled: bool,
    /// `groupTypes`.
    #[serde(default)]
    pub group_types: Vec<String>,
    /// `assignedLicenses`.
    #[serde(default)]
    pub assigned_licenses: Vec<LicenseV1>,
    /// `licenseProcessingState.state`, when read: `QueuedForProcessing`,
    /// `ProcessingInProgress`, `ProcessingComplete` or a value Graph added later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_processing_state: Option<String>,
    /// Member counts (transitive), when read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<MembersV1>,
    /// Members with license errors, when read (`[]`: read, none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_errors: Option<Vec<LicenseErrorV1>>,
}

/// One `assignedLicenses` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LicenseV1 {
    /// `skuId`.
    #[schemars(schema_with = "guid")]
    pub sku_id: SkuId,
    /// `disabledPlans`.
    #[serde(default)]
    #[schemars(schema_with = "guids")]
    pub disabled_plans: BTreeSet<ServicePlanId>,
    /// cloud-licensing: the allotment the assignment draws from. Optional: snapshots written
    /// before devlic recorded it get it from `allotments[].assignments` when read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allotment_id: Option<String>,
}

/// Member counts of a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MembersV1 {
    /// Devices.
    pub devices: u64,
    /// Users, service principals, contacts.
    pub non_devices: u64,
    /// Nested groups.
    pub groups: u64,
}

/// A member whose license could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LicenseErrorV1 {
    /// Object id of the member.
    pub id: String,
    /// `@odata.type` without `#microsoft.graph.`, e.g. `device`.
    pub kind: String,
    /// Display name, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Error code (`CountViolation`, …), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A cloud-licensing allotment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AllotmentV1 {
    /// The allotment's opaque id.
    pub id: String,
    /// `skuId`.
    #[schemars(schema_with = "guid")]
    pub sku_id: SkuId,
    /// `skuPartNumber`.
    pub sku_part_number: String,
    /// `allottedUnits`.
    pub allotted_units: u64,
    /// `consumedUnits`.
    pub consumed_units: u64,
    /// `assignableTo`, split and lower-cased.
    #[serde(default)]
    pub assignable_to: Vec<String>,
    /// `subscriptions[].subscriptionId`.
    #[serde(default)]
    pub subscription_ids: Vec<String>,
    /// The allotment's assignments to groups.
    #[serde(default)]
    pub assignments: Vec<AllotmentAssignmentV1>,
}

/// An assignment of an allotment to a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AllotmentAssignmentV1 {
    /// The assignment's opaque id.
    pub id: String,
    /// The group it licenses.
    #[schemars(schema_with = "guid")]
    pub group: GroupId,
    /// `disabledServicePlanIds`.
    #[serde(default)]
    #[schemars(schema_with = "guids")]
    pub disabled_plans: BTreeSet<ServicePlanId>,
}

/// The JSON Schema (draft 2020-12) of [`SnapshotV1`], as committed in
/// `schemas/snapshot.schema.json`.
pub fn snapshot_json_schema() -> serde_json::Value {
    schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<SnapshotV1>()
        .to_value()
}

/// Reads a snapshot file: checks the version first (so a future format gets a clear error, not a
/// confusing field error), then the shape. Unknown fields are ignored (see the
/// [compatibility rule](self#compatibility)). The state keeps the `source` the file records;
/// callers planning from it mark it offline.
///
/// # Errors
/// See [`SnapshotError`].
pub fn parse(json: &str) -> Result<LiveState, SnapshotError> {
    let value: serde_json::Value = serde_json::from_str(json)?;
    let found = version_of(&value).ok_or(SnapshotError::MissingVersion)?;
    if found != u64::from(SNAPSHOT_FORMAT_VERSION) {
        return Err(SnapshotError::UnsupportedVersion { found });
    }
    let v1: SnapshotV1 = serde_json::from_value(value)?;
    v1.into_live()
}

/// The snapshot file's text for `live`: pretty JSON with a trailing newline.
///
/// # Errors
/// A [`serde_json::Error`] only if encoding fails, which these types never do.
pub fn to_json(live: &LiveState) -> Result<String, serde_json::Error> {
    let mut text = serde_json::to_string_pretty(&SnapshotV1::from_live(live))?;
    text.push('\n');
    Ok(text)
}

mod convert;
