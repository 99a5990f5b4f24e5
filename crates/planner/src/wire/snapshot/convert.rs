//! Conversions between the core [`LiveState`] and [`SnapshotV1`].

use std::collections::BTreeMap;

use devlic_model::{
    Allotment, AllotmentAssignment, AssignedLicense, Backend, BackendChoice, CapabilityStatus,
    Group, LicenseErrorMember, LiveState, MemberCounts, PrepaidUnits, ProcessingState, ServicePlan,
    Sku, StateSource, TenantInfo,
};

use super::*;

impl SnapshotV1 {
    /// The wire form of a live state.
    pub fn from_live(live: &LiveState) -> SnapshotV1 {
        SnapshotV1 {
            format_version: SNAPSHOT_FORMAT_VERSION,
            state: StateV1 {
                tenant: TenantV1 {
                    id: live.tenant.id.clone(),
                    display_name: live.tenant.display_name.clone(),
                    domains: live.tenant.domains.clone(),
                },
                source: match &live.source {
                    StateSource::Graph { graph_url } => SourceV1::Graph {
                        graph_url: graph_url.clone(),
                    },
                    StateSource::Snapshot { graph_url } => SourceV1::Snapshot {
                        graph_url: graph_url.clone(),
                    },
                },
                taken_at: live.taken_at,
                skus: live.skus.iter().map(sku_v1).collect(),
                groups: live
                    .groups
                    .iter()
                    .map(|(id, g)| (*id, group_v1(g)))
                    .collect(),
                allotments: live.allotments.iter().map(allotment_v1).collect(),
                backend: live.backend.as_ref().map(|c| BackendChoiceV1 {
                    backend: match c.backend {
                        Backend::GroupLicensing => crate::wire::BackendV1::GroupLicensing,
                        Backend::CloudLicensing => crate::wire::BackendV1::CloudLicensing,
                    },
                    reason: c.reason.clone(),
                    automatic: c.automatic,
                }),
            },
        }
    }

    /// Back to the core state, after checking the version and that every group is filed under
    /// its own id.
    ///
    /// # Errors
    /// [`SnapshotError::UnsupportedVersion`] for any `formatVersion` other than 1;
    /// [`SnapshotError::GroupKeyMismatch`] for a group filed under another id.
    pub fn into_live(self) -> Result<LiveState, SnapshotError> {
        if self.format_version != SNAPSHOT_FORMAT_VERSION {
            return Err(SnapshotError::UnsupportedVersion {
                found: u64::from(self.format_version),
            });
        }
        let s = self.state;
        let mut groups = BTreeMap::new();
        for (key, g) in s.groups {
            if key != g.id {
                return Err(SnapshotError::GroupKeyMismatch { key, id: g.id });
            }
            groups.insert(key, group_core(g));
        }
        let mut live = LiveState {
            tenant: TenantInfo {
                id: s.tenant.id,
                display_name: s.tenant.display_name,
                domains: s.tenant.domains,
            },
            source: match s.source {
                SourceV1::Graph { graph_url } => StateSource::Graph { graph_url },
                SourceV1::Snapshot { graph_url } => StateSource::Snapshot { graph_url },
            },
            taken_at: s.taken_at,
            skus: s.skus.into_iter().map(sku_core).collect(),
            groups,
            allotments: s.allotments.into_iter().map(allotment_core).collect(),
            backend: s.backend.map(|c| BackendChoice {
                backend: match c.backend {
                    crate::wire::BackendV1::GroupLicensing => Backend::GroupLicensing,
                    crate::wire::BackendV1::CloudLicensing => Backend::CloudLicensing,
                },
                reason: c.reason,
                automatic: c.automatic,
            }),
        };
        // A cloud-licensing snapshot written before licenses recorded their allotment: take it
        // from the allotments' assignments, so an offline plan sees the same allotment drift as
        // a live one.
        if live
            .backend
            .as_ref()
            .is_some_and(|c| c.backend.uses_allotments())
        {
            live.attach_allotment_ids();
        }
        Ok(live)
    }
}

fn sku_v1(s: &Sku) -> SkuV1 {
    SkuV1 {
        sku_id: s.sku_id,
        sku_part_number: s.sku_part_number.clone(),
        capability_status: match s.capability_status {
            CapabilityStatus::Enabled => CapabilityStatusV1::Enabled,
            CapabilityStatus::Warning => CapabilityStatusV1::Warning,
            CapabilityStatus::Suspended => CapabilityStatusV1::Suspended,
            CapabilityStatus::Deleted => CapabilityStatusV1::Deleted,
            CapabilityStatus::LockedOut => CapabilityStatusV1::LockedOut,
        },
        consumed_units: s.consumed_units,
        prepaid_units: PrepaidUnitsV1 {
            enabled: s.prepaid_units.enabled,
            suspended: s.prepaid_units.suspended,
            warning: s.prepaid_units.warning,
            locked_out: s.prepaid_units.locked_out,
        },
        service_plans: s
            .service_plans
            .iter()
            .map(|p| ServicePlanV1 {
                service_plan_id: p.service_plan_id,
                service_plan_name: p.service_plan_name.clone(),
                applies_to: p.applies_to.clone(),
            })
            .collect(),
        applies_to: s.applies_to.clone(),
    }
}

fn sku_core(s: SkuV1) -> Sku {
    Sku {
        sku_id: s.sku_id,
        sku_part_number: s.sku_part_number,
        capability_status: match s.capability_status {
            CapabilityStatusV1::Enabled => CapabilityStatus::Enabled,
            CapabilityStatusV1::Warning => CapabilityStatus::Warning,
            CapabilityStatusV1::Suspended => CapabilityStatus::Suspended,
            CapabilityStatusV1::Deleted => CapabilityStatus::Deleted,
            CapabilityStatusV1::LockedOut => CapabilityStatus::LockedOut,
        },
        consumed_units: s.consumed_units,
        prepaid_units: PrepaidUnits {
            enabled: s.prepaid_units.enabled,
            suspended: s.prepaid_units.suspended,
            warning: s.prepaid_units.warning,
            locked_out: s.prepaid_units.locked_out,
        },
        service_plans: s
            .service_plans
            .into_iter()
            .map(|p| ServicePlan {
                service_plan_id: p.service_plan_id,
                service_plan_name: p.service_plan_name,
                applies_to: p.applies_to,
            })
            .collect(),
        applies_to: s.applies_to,
    }
}

fn processing_v1(p: &ProcessingState) -> String {
    match p {
        ProcessingState::QueuedForProcessing => "QueuedForProcessing".to_owned(),
        ProcessingState::ProcessingInProgress => "ProcessingInProgress".to_owned(),
        ProcessingState::ProcessingComplete => "ProcessingComplete".to_owned(),
        ProcessingState::Other(s) => s.clone(),
    }
}

fn processing_core(s: String) -> ProcessingState {
    match s.as_str() {
        "QueuedForProcessing" => ProcessingState::QueuedForProcessing,
        "ProcessingInProgress" => ProcessingState::ProcessingInProgress,
        "ProcessingComplete" => ProcessingState::ProcessingComplete,
        _ => ProcessingState::Other(s),
    }
}

fn group_v1(g: &Group) -> GroupV1 {
    GroupV1 {
        id: g.id,
        display_name: g.display_name.clone(),
        security_enabled: g.security_enabled,
        mail_enabled: g.mail_enabled,
        group_types: g.group_types.clone(),
        assigned_licenses: g
            .assigned_licenses
            .iter()
            .map(|l| LicenseV1 {
                sku_id: l.sku_id,
                disabled_plans: l.disabled_plans.clone(),
                allotment_id: l.allotment_id.clone(),
            })
            .collect(),
        license_processing_state: g.license_processing_state.as_ref().map(processing_v1),
        members: g.members.map(|m| MembersV1 {
            devices: m.devices,
            non_devices: m.non_devices,
            groups: m.groups,
        }),
        license_errors: g.license_errors.as_ref().map(|errors| {
            errors
                .iter()
                .map(|e| LicenseErrorV1 {
                    id: e.id.clone(),
                    kind: e.kind.clone(),
                    display_name: e.display_name.clone(),
                    error: e.error.clone(),
                })
                .collect()
        }),
    }
}

fn group_core(g: GroupV1) -> Group {
    Group {
        id: g.id,
        display_name: g.display_name,
        security_enabled: g.security_enabled,
        mail_enabled: g.mail_enabled,
        group_types: g.group_types,
        assigned_licenses: g
            .assigned_licenses
            .into_iter()
            .map(|l| AssignedLicense {
                sku_id: l.sku_id,
                disabled_plans: l.disabled_plans,
                allotment_id: l.allotment_id,
            })
            .collect(),
        license_processing_state: g.license_processing_state.map(processing_core),
        members: g.members.map(|m| MemberCounts {
            devices: m.devices,
            non_devices: m.non_devices,
            groups: m.groups,
        }),
        license_errors: g.license_errors.map(|errors| {
            errors
                .into_iter()
                .map(|e| LicenseErrorMember {
                    id: e.id,
                    kind: e.kind,
                    display_name: e.display_name,
                    error: e.error,
                })
                .collect()
        }),
    }
}

fn allotment_v1(a: &Allotment) -> AllotmentV1 {
    AllotmentV1 {
        id: a.id.clone(),
        sku_id: a.sku_id,
        sku_part_number: a.sku_part_number.clone(),
        allotted_units: a.allotted_units,
        consumed_units: a.consumed_units,
        assignable_to: a.assignable_to.clone(),
        subscription_ids: a.subscription_ids.clone(),
        assignments: a
            .assignments
            .iter()
            .map(|x| AllotmentAssignmentV1 {
                id: x.id.clone(),
                group: x.group,
                disabled_plans: x.disabled_plans.clone(),
            })
            .collect(),
    }
}

fn allotment_core(a: AllotmentV1) -> Allotment {
    Allotment {
        id: a.id,
        sku_id: a.sku_id,
        sku_part_number: a.sku_part_number,
        allotted_units: a.allotted_units,
        consumed_units: a.consumed_units,
        assignable_to: a.assignable_to,
        subscription_ids: a.subscription_ids,
        assignments: a
            .assignments
            .into_iter()
            .map(|x| AllotmentAssignment {
                id: x.id,
                group: x.group,
                disabled_plans: x.disabled_plans,
            })
            .collect(),
    }
}
