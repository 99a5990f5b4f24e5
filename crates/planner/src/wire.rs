//! The versioned JSON format of a plan: what `devlic plan --format json` prints and what
//! `devlic plan --out FILE` saves for `devlic apply --plan FILE`.
//!
//! The format is [`PlanV1`]: one JSON object, `"formatVersion": 3`. Its JSON Schema is
//! [`plan_json_schema`], committed as `schemas/plan.schema.json`. The core [`Plan`] type may
//! evolve; this format only changes by adding a new version, and readers refuse versions they do
//! not know ([`WireError::UnsupportedVersion`]).
//!
//! The other files devlic writes live beside it: [`snapshot`] (`devlic snapshot`, read by
//! `plan --snapshot`) and [`multi`] (`devlic plan DIR DIR --format json`). Every one of them
//! starts with the same version key, [`VERSION_KEY`] (`formatVersion`).
//!
//! # Compatibility rule
//! - `formatVersion` is a major version: a reader refuses any version it does not know, with an
//!   error that says which it found and which it reads.
//! - Plans are strict: a saved plan drives writes, so an unknown field is refused rather than
//!   ignored; anything a newer devlic adds to a plan is a new `formatVersion`.
//! - Snapshots are tolerant within a major: a reader ignores fields it does not know, so a newer
//!   devlic may add optional fields to `formatVersion` 1 and older readers still plan from the
//!   file. A change that an older reader must not ignore (a renamed or retyped field, a field
//!   whose absence would change a plan) is a new `formatVersion`.
//! - Plans of `formatVersion` 1 still read: they lack `guardSettings` (read as the defaults,
//!   the strictest thresholds) and `unlicensed` (read as none).
//! - Plans of `formatVersion` 1 and 2 for group-licensing still read. Cloud-licensing plans of
//!   those versions are refused ([`WireError::CloudPlanWithoutAllotments`]): they do not record
//!   which allotment each license of `before` comes from, so apply could not tell a group that
//!   moved between allotments from one that did not.
//! - Earlier builds of devlic wrote plans with `format_version` and `state_taken_at`; both
//!   spellings are still read ([`LEGACY_VERSION_KEY`]), and written as `formatVersion` and
//!   `stateTakenAt`.
//!
//! # Format, field by field
//!
//! Top level ([`PlanV1`]):
//! - `formatVersion` (integer, `3`; `1` and `2` are still read, see above): the version of this
//!   format. Read it first.
//! - `tenant` (object): the tenant planned against: `id` (tenant GUID), `displayName` (optional),
//!   `domains` (verified domains).
//! - `backend` (string): `group-licensing` (Graph v1.0 `assignLicense`) or `cloud-licensing`.
//! - `backendReason` (string, optional): why that backend: the setting that fixed it
//!   (`settings.backend: …`, `--backend …`) or, with `settings.backend: auto`, the tenant's
//!   evidence (its cloudLicensing allotments, or the 403/404 its allotments read answered).
//!   Plans saved before devlic recorded it lack it.
//! - `offline` (boolean): `true` when planned from a snapshot file rather than live Graph.
//! - `graphUrl` (string): the Graph root the state was read from.
//! - `stateTakenAt` (string, RFC 3339): when the live state (or snapshot) was read.
//! - `actions` (array of objects), in apply order (group display name, case-insensitive, then id):
//!   - `action`: `assign`, `swap`, `update`, `revoke` or (format 3, cloud-licensing) `move`;
//!   - `group`: `{ "id": GUID, "displayName": string }`;
//!   - `sku`: `{ "skuId": GUID, "skuPartNumber": string }`: the SKU added (assign, swap, update)
//!     or removed (revoke);
//!   - `fromSku`: the SKU a swap replaces, `null` otherwise;
//!   - `disabledPlans`: service plan GUIDs sent with the added SKU (sorted; empty for a revoke);
//!   - `devices`: devices in the group (transitive), `null` when not read;
//!   - `reason`: `{ "kind": "desired" | "absent", "origin": "file:line:col" }` or
//!     `{ "kind": "pruned" }`;
//!   - `before`: the group's `assignedLicenses` when planned (`[{ "skuId", "disabledPlans" }]`,
//!     on cloud-licensing also `"allotmentId"`, the allotment each assignment draws from);
//!   - `beforeFingerprint`: `sha256:<hex>` of `before`; apply re-reads the group and refuses when
//!     it no longer matches (the stale-plan check);
//!   - `allotment` (optional, cloud-licensing only): `{ "id", "subscriptionIds" }`, the allotment
//!     an assign, swap, update or move takes licenses from;
//!   - `fromAllotment` (format 3, a move only): the allotment the group's assignment comes from
//!     now, deleted once the assignment on `allotment` exists.
//! - `warnings` (array): `{ "kind", "group" (optional), "sku" (optional), "message" }`; `kind` is
//!   one of `capacity`, `unsupportedGroupType`, `notSecurityGroup`, `nonDeviceMembers`,
//!   `nestedGroups`, `licenseErrors`, `processingPending`, `unmanagedHolder`,
//!   `subscriptionStatus`, `offline`, `undocumentedBackend`, `subscriptionInSeveralGroups`.
//! - `capacity` (array): per device SKU the plan licenses or frees: `sku`, `prepaidEnabled`,
//!   `consumed`, `newlyLicensed`, `freed`, `availableAfter`
//!   (`prepaidEnabled - consumed - newlyLicensed + freed`, negative when short), and on
//!   cloud-licensing an optional `allotment` (then the units are the allotment's).
//! - `guardViolations` (array): `{ "kind": "maxRevocations", "revocations", "max" }`,
//!   `{ "kind": "revokeShare", "devices", "licensed", "maxPercent" }` or
//!   `{ "kind": "unknownDeviceCount", "groups" }`,
//!   `{ "kind": "shortfall", "sku", "allotment" (optional), "devices", "groups" }` or
//!   `{ "kind": "emptySpec" }`, each with a human `message`. The revocation guards count every
//!   action that takes Microsoft 365 Apps away from devices (revokes, swaps without room,
//!   Office switched off); apply recomputes all of them and never trusts this list.
//! - `guardSettings` (format 2): `{ "maxRevocations", "maxRevokePercent", "allowEmpty",
//!   "allowShortfall" }`, the thresholds the plan was checked against.
//! - `unlicensed` (format 2): groups of the spec whose devices are not all licensed:
//!   `{ "group", "sku" (optional), "devices", "causes": [{ "code", "devices", "inferred"
//!   (optional), "description" }] }`.
//! - `summary`: `{ "assign", "revoke", "swap", "update", "move" }` action counts (`move` from
//!   format 3).
//! - `fingerprint`: `sha256:<hex>` over every action's `beforeFingerprint`, in order.
//!
//! Readers reject unknown fields, and [`PlanV1::into_plan`] checks that `summary` and
//! `fingerprint` agree with `actions`, so a hand-edited plan is refused rather than half-trusted.

use std::collections::BTreeSet;

use devlic_model::{
    Action, ActionKind, AllotmentRef, AssignedLicense, Backend, CapacityLine, CauseCount,
    Fingerprint, GroupId, GroupRef, GuardSettings, GuardViolation, Plan, PlanSummary, Reason,
    ServicePlanId, SkuId, SkuRef, StateSource, TenantInfo, Unlicensed, Warning, WarningKind,
};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// The only format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 3;

/// Every format version [`parse`] reads. Format 1 lacks `guardSettings` and `unlicensed`: a
/// format-1 plan reads with the default (strictest) thresholds and no unlicensed groups.
/// Formats 1 and 2 lack allotment ids, so only their group-licensing plans read.
pub const READABLE_VERSIONS: [u32; 3] = [1, 2, 3];

/// The first format that records allotments in `before` (and has `move` actions).
pub const ALLOTMENTS_SINCE: u32 = 3;

/// The key that holds the format version in every JSON document devlic writes (plans,
/// snapshots, the multi-tenant plan, the run report).
pub const VERSION_KEY: &str = "formatVersion";

/// How plans spelled [`VERSION_KEY`] before every format used one casing; still read.
pub const LEGACY_VERSION_KEY: &str = "format_version";

/// The format version of a JSON document: the integer under [`VERSION_KEY`], else under
/// [`LEGACY_VERSION_KEY`]; `None` when neither holds an integer.
pub fn version_of(document: &serde_json::Value) -> Option<u64> {
    [VERSION_KEY, LEGACY_VERSION_KEY]
        .iter()
        .find_map(|key| document.get(key).and_then(serde_json::Value::as_u64))
}

/// Why a saved plan cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The text is not JSON, or not a plan object of the expected shape.
    #[error("not a devlic plan file: {0}")]
    Json(#[from] serde_json::Error),
    /// The object has no integer `formatVersion` (nor the older `format_version`).
    #[error("not a devlic plan file: no integer `formatVersion` field")]
    MissingVersion,
    /// The plan was written in a format version this build does not know.
    #[error(
        "plan formatVersion {found} is not supported by this devlic (it reads formatVersion \
         {FORMAT_VERSION}); re-create the plan with this version of devlic, or upgrade devlic"
    )]
    UnsupportedVersion {
        /// The version found in the file.
        found: u64,
    },
    /// A cloud-licensing plan written before plans recorded which allotment each license comes
    /// from: apply could not check it against the tenant.
    #[error(
        "this cloud-licensing plan has formatVersion {found}, written before plans recorded \
         which allotment each license comes from, so apply cannot check it against the tenant; \
         re-create it with `devlic plan --out` and review it again"
    )]
    CloudPlanWithoutAllotments {
        /// The version found in the file.
        found: u32,
    },
    /// `summary` does not count what `actions` holds.
    #[error("the plan's summary does not match its actions: the file was edited or is corrupt")]
    SummaryMismatch,
    /// `fingerprint` is not the fingerprint of the actions' `beforeFingerprint`s.
    #[error("the plan's fingerprint does not match its actions: the file was edited or is corrupt")]
    FingerprintMismatch,
    /// An action is missing what its kind requires (a swap without `fromSku`, or a `fromSku` on
    /// another kind).
    #[error("action on group {group}: {problem}")]
    InvalidAction {
        /// The group of the action.
        group: GroupId,
        /// What is wrong.
        problem: &'static str,
    },
}

fn guid(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "format": "uuid",
        "pattern": "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    })
}

fn guids(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "items": { "type": "string", "format": "uuid" },
        "uniqueItems": true
    })
}

fn timestamp(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "format": "date-time" })
}

fn fingerprint(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "pattern": "^sha256:[0-9a-f]{64}$" })
}

fn version(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "integer", "const": FORMAT_VERSION })
}

/// A saved plan, format version 2. See the [module documentation](self) for every field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "devlic plan (formatVersion 3)")]
pub struct PlanV1 {
    /// 2 for this format (1 is still read: it lacks `guardSettings` and `unlicensed`).
    #[serde(rename = "formatVersion", alias = "format_version")]
    #[schemars(schema_with = "version")]
    pub format_version: u32,
    /// The tenant planned against.
    pub tenant: TenantV1,
    /// The API that carries the writes.
    pub backend: BackendV1,
    /// Why this backend: the setting that fixed it, or the tenant's evidence when devlic chose
    /// (`settings.backend: auto`). Absent in plans saved before devlic recorded it.
    #[serde(
        rename = "backendReason",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub backend_reason: Option<String>,
    /// True when planned from a snapshot file, not from live Graph.
    pub offline: bool,
    /// The Graph root the state was read from.
    #[serde(rename = "graphUrl")]
    pub graph_url: String,
    /// When the state was read (RFC 3339).
    #[serde(rename = "stateTakenAt", alias = "state_taken_at")]
    #[schemars(schema_with = "timestamp")]
    pub state_taken_at: jiff::Timestamp,
    /// The writes, in apply order.
    pub actions: Vec<ActionV1>,
    /// Findings that do not block.
    pub warnings: Vec<WarningV1>,
    /// Capacity arithmetic per device SKU the plan licenses or frees.
    pub capacity: Vec<CapacityV1>,
    /// Guards the plan trips; apply refuses unless they are explicitly passed.
    #[serde(rename = "guardViolations")]
    pub guard_violations: Vec<GuardViolationV1>,
    /// The guard thresholds the plan was checked against (format 2; a format-1 file reads as
    /// the defaults). Apply never loosens its guards because of this field.
    #[serde(rename = "guardSettings", default)]
    pub guard_settings: GuardSettingsV1,
    /// Groups of the spec whose devices are not all licensed (format 2).
    #[serde(default)]
    pub unlicensed: Vec<UnlicensedV1>,
    /// Action counts.
    pub summary: SummaryV1,
    /// Fingerprint over every action's `beforeFingerprint`, in order.
    #[schemars(schema_with = "fingerprint")]
    pub fingerprint: Fingerprint,
}

/// The tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
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

/// The licensing API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum BackendV1 {
    /// Graph v1.0 `groups/{id}/assignLicense`.
    GroupLicensing,
    /// Graph beta cloud licensing.
    CloudLicensing,
}

/// A group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupV1 {
    /// Object id.
    #[schemars(schema_with = "guid")]
    pub id: GroupId,
    /// Display name.
    pub display_name: String,
}

/// A SKU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SkuV1 {
    /// `skuId`.
    #[schemars(schema_with = "guid")]
    pub sku_id: SkuId,
    /// `skuPartNumber`.
    pub sku_part_number: String,
}

/// What an action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ActionKindV1 {
    /// Add a device SKU to a group holding none.
    Assign,
    /// Add `sku` and remove `fromSku` in one call.
    Swap,
    /// Re-send `sku` with new `disabledPlans`.
    Update,
    /// Remove `sku`: the apps on the group's devices become read-only.
    Revoke,
    /// cloud-licensing: take `sku` from `allotment` instead of `fromAllotment` (create the new
    /// assignment, then delete the old).
    Move,
}

/// Why an action is planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", tag = "kind", deny_unknown_fields)]
pub enum ReasonV1 {
    /// A `state: present` entry.
    Desired {
        /// `file:line:col` of the spec entry.
        origin: String,
    },
    /// A `state: absent` entry.
    Absent {
        /// `file:line:col` of the spec entry.
        origin: String,
    },
    /// Not in the spec, and `prune` is on.
    Pruned,
}

/// One `assignedLicenses` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LicenseV1 {
    /// `skuId`.
    #[schemars(schema_with = "guid")]
    pub sku_id: SkuId,
    /// Disabled service plan ids.
    #[schemars(schema_with = "guids")]
    pub disabled_plans: BTreeSet<ServicePlanId>,
    /// cloud-licensing (format 3): the allotment the assignment draws from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allotment_id: Option<String>,
}

/// One write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActionV1 {
    /// `assign`, `swap`, `update`, `revoke` or `move`.
    pub action: ActionKindV1,
    /// The group written to.
    pub group: GroupV1,
    /// The SKU added (assign, swap, update) or removed (revoke).
    pub sku: SkuV1,
    /// The SKU a swap removes; null otherwise.
    pub from_sku: Option<SkuV1>,
    /// Service plan ids disabled on the added SKU.
    #[schemars(schema_with = "guids")]
    pub disabled_plans: BTreeSet<ServicePlanId>,
    /// Devices in the group, null when not read.
    pub devices: Option<u64>,
    /// Why.
    pub reason: ReasonV1,
    /// The group's licenses when planned.
    pub before: Vec<LicenseV1>,
    /// Fingerprint of `before`, checked by apply.
    #[schemars(schema_with = "fingerprint")]
    pub before_fingerprint: Fingerprint,
    /// cloud-licensing only: the allotment an assign, swap, update or move takes licenses from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allotment: Option<AllotmentV1>,
    /// A move only: the allotment the group's assignment comes from now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_allotment: Option<AllotmentV1>,
}

/// An allotment (cloud-licensing): a pool of licenses of one SKU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AllotmentV1 {
    /// The allotment's opaque id.
    pub id: String,
    /// The subscriptions behind it.
    #[serde(default)]
    pub subscription_ids: Vec<String>,
}

/// A warning kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum WarningKindV1 {
    /// Not enough units.
    Capacity,
    /// A Microsoft 365 (Unified) group.
    UnsupportedGroupType,
    /// Not a security group.
    NotSecurityGroup,
    /// Members that are not devices.
    NonDeviceMembers,
    /// Nested groups.
    NestedGroups,
    /// License errors from the last processing.
    LicenseErrors,
    /// License processing not finished.
    ProcessingPending,
    /// Holds a device SKU, not in the spec.
    UnmanagedHolder,
    /// Subscription not enabled.
    SubscriptionStatus,
    /// Planned from a snapshot.
    Offline,
    /// devlic chose group-licensing from the tenant's evidence; Microsoft documents no v1.0
    /// `assignLicense` for device subscriptions.
    UndocumentedBackend,
    /// One device subscription is assigned to more than one group of the spec.
    SubscriptionInSeveralGroups,
}

/// A warning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WarningV1 {
    /// What it is about.
    pub kind: WarningKindV1,
    /// The group concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<GroupV1>,
    /// The SKU concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<SkuV1>,
    /// A sentence for people.
    pub message: String,
}

/// Capacity arithmetic for one SKU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CapacityV1 {
    /// The SKU.
    pub sku: SkuV1,
    /// `prepaidUnits.enabled`.
    pub prepaid_enabled: u64,
    /// `consumedUnits`.
    pub consumed: u64,
    /// Devices the plan newly licenses.
    pub newly_licensed: u64,
    /// Devices the plan frees.
    pub freed: u64,
    /// `prepaidEnabled - consumed - newlyLicensed + freed`.
    pub available_after: i64,
    /// cloud-licensing only: the allotment this line is about; then `prepaidEnabled` is its
    /// `allottedUnits` and `consumed` its `consumedUnits`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allotment: Option<AllotmentV1>,
}

/// A tripped guard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", tag = "kind", deny_unknown_fields)]
pub enum GuardViolationV1 {
    /// More revocations than `settings.maxRevocations`.
    #[serde(rename_all = "camelCase")]
    MaxRevocations {
        /// Revocations in the plan.
        revocations: u64,
        /// The configured maximum.
        max: u64,
        /// A sentence for people.
        message: String,
    },
    /// Revoked devices above the allowed share of licensed devices.
    #[serde(rename_all = "camelCase")]
    RevokeShare {
        /// Devices losing a license.
        devices: u64,
        /// Devices licensed with device SKUs.
        licensed: u64,
        /// The allowed share in percent.
        max_percent: u8,
        /// A sentence for people.
        message: String,
    },
    /// Actions take the apps away from groups whose device count is unknown.
    #[serde(rename_all = "camelCase")]
    UnknownDeviceCount {
        /// The groups.
        groups: Vec<GroupV1>,
        /// A sentence for people.
        message: String,
    },
    /// A device subscription or allotment ends up short.
    #[serde(rename_all = "camelCase")]
    Shortfall {
        /// The subscription.
        sku: SkuV1,
        /// cloud-licensing: the allotment.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        allotment: Option<AllotmentV1>,
        /// Devices left without a license.
        devices: u64,
        /// The groups the plan licenses from the pool.
        groups: Vec<GroupV1>,
        /// A sentence for people.
        message: String,
    },
    /// Empty spec with `prune: true` and no `allowEmpty`.
    EmptySpec {
        /// A sentence for people.
        message: String,
    },
}

/// The guard thresholds (the spec's settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GuardSettingsV1 {
    /// `settings.maxRevocations`.
    pub max_revocations: u64,
    /// `settings.maxRevokePercent`.
    pub max_revoke_percent: u8,
    /// `settings.allowEmpty`.
    pub allow_empty: bool,
    /// `settings.allowShortfall`.
    pub allow_shortfall: bool,
}

impl Default for GuardSettingsV1 {
    fn default() -> Self {
        let d = devlic_model::GuardSettings::default();
        GuardSettingsV1 {
            max_revocations: d.max_revocations,
            max_revoke_percent: d.max_revoke_percent,
            allow_empty: d.allow_empty,
            allow_shortfall: d.allow_shortfall,
        }
    }
}

/// A group of the spec whose devices are not all licensed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UnlicensedV1 {
    /// The group.
    pub group: GroupV1,
    /// The subscription the spec wants it to hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<SkuV1>,
    /// Devices without a license.
    pub devices: u64,
    /// Why, by Graph error code, most frequent first.
    pub causes: Vec<CauseV1>,
}

/// How many devices are unlicensed for one reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CauseV1 {
    /// Graph's error code, e.g. `CountViolation`; `Unknown` when Graph gave none.
    pub code: String,
    /// Devices.
    pub devices: u64,
    /// True when Graph gave no code and devlic inferred it (the subscription had no free units).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inferred: bool,
    /// What the code means, in the admin center's words (ignored when read).
    pub description: String,
}

/// Action counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SummaryV1 {
    /// Assigns.
    pub assign: u64,
    /// Revokes.
    pub revoke: u64,
    /// Swaps.
    pub swap: u64,
    /// Updates.
    pub update: u64,
    /// Moves between allotments (format 3; 0 when absent).
    #[serde(default)]
    pub r#move: u64,
}

/// The JSON Schema (draft 2020-12) of [`PlanV1`], as committed in `schemas/plan.schema.json`.
pub fn plan_json_schema() -> serde_json::Value {
    schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<PlanV1>()
        .to_value()
}

/// Reads a saved plan: checks the version first (so a future format gets a clear error, not a
/// confusing field error), then the shape, then the plan's internal consistency. Plans written
/// with the older `format_version` / `state_taken_at` spellings read the same.
///
/// # Errors
/// See [`WireError`].
pub fn parse(json: &str) -> Result<Plan, WireError> {
    let value: serde_json::Value = serde_json::from_str(json)?;
    let found = version_of(&value).ok_or(WireError::MissingVersion)?;
    if !READABLE_VERSIONS.iter().any(|&v| u64::from(v) == found) {
        return Err(WireError::UnsupportedVersion { found });
    }
    let v1: PlanV1 = serde_json::from_value(value)?;
    v1.into_plan()
}

mod convert;
pub mod multi;
pub mod snapshot;
pub use convert::guard_message;
