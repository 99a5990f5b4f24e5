//! Graph's JSON shapes (as documented for v1.0) and their conversion into devlic's model.
//!
//! Unknown properties are ignored (Graph adds properties over time); missing or wrongly typed
//! required ones fail deserialisation, which callers turn into `GraphError::Malformed`.

use std::collections::BTreeSet;

use devlic_model::{
    AssignedLicense, CapabilityStatus, Group, GroupId, PrepaidUnits, ProcessingState, ServicePlan,
    ServicePlanId, Sku, SkuId, TenantInfo,
};
use serde::Deserialize;

/// One page of a collection.
#[derive(Debug, Deserialize)]
pub struct Page<T> {
    /// The items.
    pub value: Vec<T>,
    /// The URL of the next page, if any.
    #[serde(default, rename = "@odata.nextLink")]
    pub next_link: Option<String>,
}

/// `organization`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    id: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    verified_domains: Vec<VerifiedDomain>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VerifiedDomain {
    name: String,
    #[serde(default)]
    is_initial: bool,
}

impl Organization {
    /// The tenant info devlic keeps; the initial (`*.onmicrosoft.com`) domain comes first.
    pub fn into_tenant(self) -> TenantInfo {
        let mut domains = self.verified_domains;
        // Stable order: initial domain first, then alphabetical, so snapshots do not churn.
        domains.sort_by(|a, b| {
            b.is_initial
                .cmp(&a.is_initial)
                .then_with(|| a.name.cmp(&b.name))
        });
        TenantInfo {
            id: self.id,
            display_name: self.display_name,
            domains: domains.into_iter().map(|d| d.name).collect(),
        }
    }
}

/// `subscribedSku`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscribedSku {
    sku_id: SkuId,
    sku_part_number: String,
    capability_status: String,
    consumed_units: u64,
    prepaid_units: WirePrepaid,
    #[serde(default)]
    service_plans: Vec<WireServicePlan>,
    #[serde(default)]
    applies_to: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WirePrepaid {
    #[serde(default)]
    enabled: u64,
    #[serde(default)]
    suspended: u64,
    #[serde(default)]
    warning: u64,
    #[serde(default)]
    locked_out: u64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireServicePlan {
    service_plan_id: ServicePlanId,
    service_plan_name: String,
    #[serde(default)]
    applies_to: Option<String>,
}

impl SubscribedSku {
    /// The model's SKU.
    pub fn into_model(self) -> Sku {
        Sku {
            sku_id: self.sku_id,
            sku_part_number: self.sku_part_number,
            capability_status: capability(&self.capability_status),
            consumed_units: self.consumed_units,
            prepaid_units: PrepaidUnits {
                enabled: self.prepaid_units.enabled,
                suspended: self.prepaid_units.suspended,
                warning: self.prepaid_units.warning,
                locked_out: self.prepaid_units.locked_out,
            },
            service_plans: self
                .service_plans
                .into_iter()
                .map(|p| ServicePlan {
                    service_plan_id: p.service_plan_id,
                    service_plan_name: p.service_plan_name,
                    applies_to: p.applies_to,
                })
                .collect(),
            applies_to: self.applies_to,
        }
    }
}

/// Maps `capabilityStatus`. A value added by Graph after this release is treated as `Warning`
/// (not usable as if enabled, but not assumed gone either), so the planner warns about it.
fn capability(s: &str) -> CapabilityStatus {
    match s {
        "Enabled" => CapabilityStatus::Enabled,
        "Warning" => CapabilityStatus::Warning,
        "Suspended" => CapabilityStatus::Suspended,
        "Deleted" => CapabilityStatus::Deleted,
        "LockedOut" => CapabilityStatus::LockedOut,
        _ => CapabilityStatus::Warning,
    }
}

/// `assignedLicense`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireAssignedLicense {
    sku_id: SkuId,
    #[serde(default)]
    disabled_plans: Option<Vec<ServicePlanId>>,
}

impl WireAssignedLicense {
    /// The model's license (disabled plans sorted and deduplicated).
    pub fn into_model(self) -> AssignedLicense {
        AssignedLicense {
            sku_id: self.sku_id,
            disabled_plans: self
                .disabled_plans
                .unwrap_or_default()
                .into_iter()
                .collect::<BTreeSet<_>>(),
            allotment_id: None,
        }
    }
}

/// `licenseProcessingState`: documented as an object `{"state": "..."}`, seen as a bare string.
/// Deserialized by hand: `#[serde(untagged)]` buffered every group's value before trying each
/// shape, a few percent of decoding a 10,000-group listing.
#[derive(Debug)]
pub enum WireProcessingState {
    /// `{"state": "ProcessingComplete"}`.
    Object {
        /// The state; `null` when never processed.
        state: Option<String>,
    },
    /// `"ProcessingComplete"`.
    Bare(String),
}

impl<'de> Deserialize<'de> for WireProcessingState {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StateVisitor;

        impl<'de> serde::de::Visitor<'de> for StateVisitor {
            type Value = WireProcessingState;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a licenseProcessingState object or string")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(WireProcessingState::Bare(v.to_owned()))
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                // Other members are ignored, as the derived struct did.
                let mut state = None;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key == "state" {
                        state = map.next_value::<Option<String>>()?;
                    } else {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
                Ok(WireProcessingState::Object { state })
            }
        }

        deserializer.deserialize_any(StateVisitor)
    }
}

impl WireProcessingState {
    /// The model's state; `None` when Graph reports none.
    pub fn into_model(self) -> Option<ProcessingState> {
        let s = match self {
            WireProcessingState::Object { state } => state?,
            WireProcessingState::Bare(s) => s,
        };
        Some(match s.as_str() {
            "QueuedForProcessing" => ProcessingState::QueuedForProcessing,
            "ProcessingInProgress" => ProcessingState::ProcessingInProgress,
            "ProcessingComplete" => ProcessingState::ProcessingComplete,
            _ => ProcessingState::Other(s),
        })
    }
}

/// The `$select` devlic uses for every group read.
pub const GROUP_SELECT: &str =
    "id,displayName,securityEnabled,mailEnabled,groupTypes,assignedLicenses,licenseProcessingState";

/// `assignedLicenses` in the model's shape, sorted (so comparisons and snapshots are stable).
pub fn sorted_licenses(wire: Vec<WireAssignedLicense>) -> Vec<AssignedLicense> {
    let mut licenses: Vec<AssignedLicense> = wire
        .into_iter()
        .map(WireAssignedLicense::into_model)
        .collect();
    licenses.sort();
    licenses
}

/// `group` with [`GROUP_SELECT`].
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireGroup {
    id: GroupId,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    security_enabled: Option<bool>,
    #[serde(default)]
    mail_enabled: Option<bool>,
    #[serde(default)]
    group_types: Option<Vec<String>>,
    /// Required: `$select` names it, so a group without it is an inconsistent answer, never
    /// "holds nothing" (which would make a revoke look done).
    assigned_licenses: Vec<WireAssignedLicense>,
    #[serde(default)]
    license_processing_state: Option<WireProcessingState>,
}

impl WireGroup {
    /// The group's id.
    pub fn id(&self) -> GroupId {
        self.id
    }

    /// The model's group (counts and errors not read yet).
    pub fn into_model(self) -> Group {
        let assigned = sorted_licenses(self.assigned_licenses);
        Group {
            id: self.id,
            display_name: self.display_name.unwrap_or_default(),
            security_enabled: self.security_enabled.unwrap_or(false),
            mail_enabled: self.mail_enabled.unwrap_or(false),
            group_types: self.group_types.unwrap_or_default(),
            assigned_licenses: assigned,
            license_processing_state: self
                .license_processing_state
                .and_then(WireProcessingState::into_model),
            members: None,
            license_errors: None,
        }
    }
}

/// A member of `membersWithLicenseErrors` (a directoryObject: device, user, ...).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireErrorMember {
    id: String,
    #[serde(default, rename = "@odata.type")]
    odata_type: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    license_assignment_states: Option<Vec<WireAssignmentState>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireAssignmentState {
    #[serde(default)]
    assigned_by_group: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

impl WireErrorMember {
    /// The model's member; the error is the one reported for licenses assigned by `group`.
    pub fn into_model(self, group: GroupId) -> devlic_model::LicenseErrorMember {
        let group_id = group.to_string();
        let error = self
            .license_assignment_states
            .unwrap_or_default()
            .into_iter()
            .filter(|s| {
                s.assigned_by_group
                    .as_deref()
                    .is_some_and(|g| g.eq_ignore_ascii_case(&group_id))
            })
            .filter(|s| s.state.as_deref() == Some("Error"))
            .find_map(|s| s.error.filter(|e| !e.is_empty() && e != "None"));
        let kind = self
            .odata_type
            .as_deref()
            .map(|t| t.trim_start_matches("#microsoft.graph.").to_owned())
            .unwrap_or_else(|| "directoryObject".to_owned());
        devlic_model::LicenseErrorMember {
            id: self.id,
            kind,
            display_name: self.display_name,
            error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn license_processing_state_in_every_shape_graph_sends() {
        let state = |json: &str| {
            serde_json::from_str::<Option<WireProcessingState>>(json)
                .unwrap_or_else(|e| panic!("{json}: {e}"))
                .and_then(WireProcessingState::into_model)
        };
        assert_eq!(
            state(r#"{"state": "ProcessingComplete"}"#),
            Some(ProcessingState::ProcessingComplete)
        );
        assert_eq!(
            state(r#"{"@odata.type": "x", "state": "Queued\u0046orProcessing", "extra": [1]}"#),
            Some(ProcessingState::QueuedForProcessing)
        );
        assert_eq!(
            state(r#""ProcessingInProgress""#),
            Some(ProcessingState::ProcessingInProgress)
        );
        assert_eq!(
            state(r#""Paused""#),
            Some(ProcessingState::Other("Paused".to_owned()))
        );
        assert_eq!(state(r#"{"state": null}"#), None);
        assert_eq!(state("{}"), None);
        assert_eq!(state("null"), None);
        assert!(serde_json::from_str::<WireProcessingState>("42").is_err());
        assert!(serde_json::from_str::<WireProcessingState>(r#"{"state": 1}"#).is_err());
    }

    #[test]
    fn parses_documented_subscribed_sku() {
        let json = r#"{"value":[{"capabilityStatus":"Enabled","consumedUnits":61,"id":"t_ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7","prepaidUnits":{"enabled":100,"suspended":0,"warning":0,"lockedOut":0},"servicePlans":[{"servicePlanId":"3c994f28-87d5-4273-b07a-eb6190852599","servicePlanName":"OFFICE_PROPLUS_DEVICE","provisioningStatus":"Success","appliesTo":"Company"}],"skuId":"ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7","skuPartNumber":"OFFICE_PROPLUS_DEVICE1","appliesTo":"Company","subscriptionIds":["x"]}]}"#;
        let page: Page<SubscribedSku> = serde_json::from_str(json).unwrap();
        let sku = page.value.into_iter().next().unwrap().into_model();
        assert_eq!(sku.sku_part_number, "OFFICE_PROPLUS_DEVICE1");
        assert_eq!(sku.available(), 39);
        assert_eq!(sku.service_plans.len(), 1);
        assert_eq!(capability("SomethingNew"), CapabilityStatus::Warning);
    }

    #[test]
    fn processing_state_string_or_object() {
        let g: WireGroup = serde_json::from_str(
            r#"{"id":"1a2b3c4d-0001-4a5b-8c6d-000000000001","displayName":"Kiosks","securityEnabled":true,"mailEnabled":false,"groupTypes":[],"assignedLicenses":[{"skuId":"ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7","disabledPlans":[]}],"licenseProcessingState":{"state":"ProcessingComplete"}}"#,
        )
        .unwrap();
        let g = g.into_model();
        assert_eq!(
            g.license_processing_state,
            Some(ProcessingState::ProcessingComplete)
        );
        assert_eq!(g.assigned_licenses.len(), 1);
        let g: WireGroup = serde_json::from_str(
            r#"{"id":"1a2b3c4d-0001-4a5b-8c6d-000000000001","licenseProcessingState":"QueuedForProcessing","assignedLicenses":[]}"#,
        )
        .unwrap();
        let g = g.into_model();
        assert_eq!(
            g.license_processing_state,
            Some(ProcessingState::QueuedForProcessing)
        );
        assert!(g.assigned_licenses.is_empty());
        let g: WireGroup = serde_json::from_str(
            r#"{"id":"1a2b3c4d-0001-4a5b-8c6d-000000000001","licenseProcessingState":{"state":null},"assignedLicenses":[]}"#,
        )
        .unwrap();
        assert_eq!(g.into_model().license_processing_state, None);
        // `assignedLicenses` is `$select`ed: missing or null is an inconsistent answer, never
        // "holds nothing".
        for bad in [
            r#"{"id":"1a2b3c4d-0001-4a5b-8c6d-000000000001"}"#,
            r#"{"id":"1a2b3c4d-0001-4a5b-8c6d-000000000001","assignedLicenses":null}"#,
        ] {
            assert!(serde_json::from_str::<WireGroup>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn wrongly_typed_bodies_fail_cleanly() {
        for bad in [
            r#"{"value":"nope"}"#,
            r#"{"value":[{"id":42}]}"#,
            r#"{"value":[{"id":"not-a-guid"}]}"#,
            r#"{"value":[{"id":"1a2b3c4d-0001-4a5b-8c6d-000000000001","securityEnabled":"yes"}]}"#,
            r#"{"value":[{"id":"1a2b3c4d-0001-4a5b-8c6d-0000"#,
            "",
        ] {
            assert!(
                serde_json::from_str::<Page<WireGroup>>(bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn error_member_picks_this_groups_error() {
        let group = GroupId::parse("1a2b3c4d-0001-4a5b-8c6d-000000000001").unwrap();
        let m: WireErrorMember = serde_json::from_str(
            r##"{"@odata.type":"#microsoft.graph.device","id":"d1","displayName":"WH-001","licenseAssignmentStates":[{"assignedByGroup":"other","state":"Error","error":"Other"},{"assignedByGroup":"1a2b3c4d-0001-4a5b-8c6d-000000000001","state":"Error","error":"CountViolation"}]}"##,
        )
        .unwrap();
        let m = m.into_model(group);
        assert_eq!(m.kind, "device");
        assert_eq!(m.error.as_deref(), Some("CountViolation"));
    }
}
