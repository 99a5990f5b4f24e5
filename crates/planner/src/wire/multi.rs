//! The versioned JSON format of a multi-tenant plan: what `devlic plan DIR1 DIR2 … --format json`
//! prints, one entry per tenant folder.
//!
//! The format is [`MultiPlanV1`]; its JSON Schema is [`multi_plan_json_schema`], committed as
//! `schemas/multi-plan.schema.json`.
//!
//! # Format, field by field
//! - `formatVersion` (integer, always `1`): the version of this envelope. The plans inside carry
//!   their own `formatVersion` ([`super::PlanV1`]).
//! - `tenants` (array), in the order the folders were given on the command line, each with:
//!   - `path` (string): the spec folder or file, as given;
//!   - `tenant` (string or `null`): the spec's `tenant:`, `null` when the spec could not be
//!     loaded;
//!   - either `plan` (a [`super::PlanV1`] object) or `error` (string: what went wrong, without
//!     terminal styles).
//!
//! The envelope is output for programs (dashboards, CI steps); devlic never reads it back. New
//! optional fields may be added within `formatVersion` 1, so consumers should ignore fields they
//! do not know.

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

use super::PlanV1;

/// The only multi-tenant envelope version this build writes.
pub const MULTI_FORMAT_VERSION: u32 = 1;

fn version(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "integer", "const": MULTI_FORMAT_VERSION })
}

/// The multi-tenant plan, format version 1. See the [module documentation](self).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "devlic multi-tenant plan (formatVersion 1)")]
pub struct MultiPlanV1 {
    /// Always 1 for this format.
    #[serde(rename = "formatVersion")]
    #[schemars(schema_with = "version")]
    pub format_version: u32,
    /// One entry per tenant folder, in command-line order.
    pub tenants: Vec<TenantPlanV1>,
}

/// One tenant folder's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TenantPlanV1 {
    /// The spec folder or file, as given on the command line.
    pub path: String,
    /// The spec's `tenant:`; `null` when the spec could not be loaded.
    pub tenant: Option<String>,
    /// The plan, or why there is none.
    #[serde(flatten)]
    pub outcome: TenantOutcomeV1,
}

/// A tenant's plan, or the error that stopped it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum TenantOutcomeV1 {
    /// The plan (`"plan": { … }`).
    Plan(Box<PlanV1>),
    /// What went wrong (`"error": "…"`), without terminal styles.
    Error(String),
}

impl MultiPlanV1 {
    /// An envelope around the given tenant outcomes.
    pub fn new(tenants: Vec<TenantPlanV1>) -> MultiPlanV1 {
        MultiPlanV1 {
            format_version: MULTI_FORMAT_VERSION,
            tenants,
        }
    }

    /// Pretty JSON with a trailing newline.
    ///
    /// # Errors
    /// A [`serde_json::Error`] only if encoding fails, which these types never do.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        Ok(text)
    }
}

/// The JSON Schema (draft 2020-12) of [`MultiPlanV1`], as committed in
/// `schemas/multi-plan.schema.json`.
pub fn multi_plan_json_schema() -> serde_json::Value {
    schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<MultiPlanV1>()
        .to_value()
}
