//! Conversions between the core [`Plan`] and [`PlanV1`].

use super::*;

/// A sentence describing a tripped guard (shared by the wire format and the renderers).
pub fn guard_message(g: &GuardViolation) -> String {
    g.message()
}

fn group_v1(g: &GroupRef) -> GroupV1 {
    GroupV1 {
        id: g.id,
        display_name: g.display_name.clone(),
    }
}

fn group_core(g: GroupV1) -> GroupRef {
    GroupRef {
        id: g.id,
        display_name: g.display_name,
    }
}

fn sku_v1(s: &SkuRef) -> SkuV1 {
    SkuV1 {
        sku_id: s.sku_id,
        sku_part_number: s.sku_part_number.clone(),
    }
}

fn sku_core(s: SkuV1) -> SkuRef {
    SkuRef {
        sku_id: s.sku_id,
        sku_part_number: s.sku_part_number,
    }
}

fn kind_v1(k: ActionKind) -> ActionKindV1 {
    match k {
        ActionKind::Assign => ActionKindV1::Assign,
        ActionKind::Swap => ActionKindV1::Swap,
        ActionKind::Update => ActionKindV1::Update,
        ActionKind::Revoke => ActionKindV1::Revoke,
        ActionKind::Move => ActionKindV1::Move,
    }
}

fn kind_core(k: ActionKindV1) -> ActionKind {
    match k {
        ActionKindV1::Assign => ActionKind::Assign,
        ActionKindV1::Swap => ActionKind::Swap,
        ActionKindV1::Update => ActionKind::Update,
        ActionKindV1::Revoke => ActionKind::Revoke,
        ActionKindV1::Move => ActionKind::Move,
    }
}

fn warning_kind_v1(k: WarningKind) -> WarningKindV1 {
    match k {
        WarningKind::Capacity => WarningKindV1::Capacity,
        WarningKind::UnsupportedGroupType => WarningKindV1::UnsupportedGroupType,
        WarningKind::NotSecurityGroup => WarningKindV1::NotSecurityGroup,
        WarningKind::NonDeviceMembers => WarningKindV1::NonDeviceMembers,
        WarningKind::NestedGroups => WarningKindV1::NestedGroups,
        WarningKind::LicenseErrors => WarningKindV1::LicenseErrors,
        WarningKind::ProcessingPending => WarningKindV1::ProcessingPending,
        WarningKind::UnmanagedHolder => WarningKindV1::UnmanagedHolder,
        WarningKind::SubscriptionStatus => WarningKindV1::SubscriptionStatus,
        WarningKind::Offline => WarningKindV1::Offline,
        WarningKind::UndocumentedBackend => WarningKindV1::UndocumentedBackend,
        WarningKind::SubscriptionInSeveralGroups => WarningKindV1::SubscriptionInSeveralGroups,
    }
}

fn warning_kind_core(k: WarningKindV1) -> WarningKind {
    match k {
        WarningKindV1::Capacity => WarningKind::Capacity,
        WarningKindV1::UnsupportedGroupType => WarningKind::UnsupportedGroupType,
        WarningKindV1::NotSecurityGroup => WarningKind::NotSecurityGroup,
        WarningKindV1::NonDeviceMembers => WarningKind::NonDeviceMembers,
        WarningKindV1::NestedGroups => WarningKind::NestedGroups,
        WarningKindV1::LicenseErrors => WarningKind::LicenseErrors,
        WarningKindV1::ProcessingPending => WarningKind::ProcessingPending,
        WarningKindV1::UnmanagedHolder => WarningKind::UnmanagedHolder,
        WarningKindV1::SubscriptionStatus => WarningKind::SubscriptionStatus,
        WarningKindV1::Offline => WarningKind::Offline,
        WarningKindV1::UndocumentedBackend => WarningKind::UndocumentedBackend,
        WarningKindV1::SubscriptionInSeveralGroups => WarningKind::SubscriptionInSeveralGroups,
    }
}

fn action_v1(a: &Action) -> ActionV1 {
    ActionV1 {
        action: kind_v1(a.kind),
        group: group_v1(&a.group),
        sku: sku_v1(&a.sku),
        from_sku: a.from_sku.as_ref().map(sku_v1),
        disabled_plans: a.disabled_plans.clone(),
        devices: a.devices,
        reason: match &a.reason {
            Reason::Desired { origin } => ReasonV1::Desired {
                origin: origin.clone(),
            },
            Reason::Absent { origin } => ReasonV1::Absent {
                origin: origin.clone(),
            },
            Reason::Pruned => ReasonV1::Pruned,
        },
        before: a
            .before
            .iter()
            .map(|l| LicenseV1 {
                sku_id: l.sku_id,
                disabled_plans: l.disabled_plans.clone(),
                allotment_id: l.allotment_id.clone(),
            })
            .collect(),
        before_fingerprint: a.before_fingerprint.clone(),
        allotment: a.allotment.as_ref().map(allotment_v1),
        from_allotment: a.from_allotment.as_ref().map(allotment_v1),
    }
}

fn allotment_v1(a: &AllotmentRef) -> AllotmentV1 {
    AllotmentV1 {
        id: a.id.clone(),
        subscription_ids: a.subscription_ids.clone(),
    }
}

fn allotment_core(a: AllotmentV1) -> AllotmentRef {
    AllotmentRef {
        id: a.id,
        subscription_ids: a.subscription_ids,
    }
}

fn action_core(a: ActionV1) -> Result<Action, WireError> {
    let kind = kind_core(a.action);
    match (kind, &a.from_sku) {
        (ActionKind::Swap, None) => {
            return Err(WireError::InvalidAction {
                group: a.group.id,
                problem: "a swap needs `fromSku`",
            });
        }
        (
            ActionKind::Assign | ActionKind::Update | ActionKind::Revoke | ActionKind::Move,
            Some(_),
        ) => {
            return Err(WireError::InvalidAction {
                group: a.group.id,
                problem: "only a swap has `fromSku`",
            });
        }
        _ => {}
    }
    match (kind, &a.allotment, &a.from_allotment) {
        // A move deletes the assignment on `fromAllotment`, so `before` must show the group
        // holding the SKU there: an edited file cannot aim the delete anywhere else.
        (ActionKind::Move, Some(to), Some(from))
            if !to.id.eq_ignore_ascii_case(&from.id)
                && a.before.iter().any(|l| {
                    l.sku_id == a.sku.sku_id
                        && l.allotment_id
                            .as_deref()
                            .is_some_and(|x| x.eq_ignore_ascii_case(&from.id))
                }) => {}
        (ActionKind::Move, _, _) => {
            return Err(WireError::InvalidAction {
                group: a.group.id,
                problem: "a move needs `allotment`, and a different `fromAllotment` that \
                          `before` shows the group holding the SKU from",
            });
        }
        (_, _, Some(_)) => {
            return Err(WireError::InvalidAction {
                group: a.group.id,
                problem: "only a move has `fromAllotment`",
            });
        }
        _ => {}
    }
    Ok(Action {
        kind,
        group: group_core(a.group),
        sku: sku_core(a.sku),
        from_sku: a.from_sku.map(sku_core),
        disabled_plans: a.disabled_plans,
        devices: a.devices,
        reason: match a.reason {
            ReasonV1::Desired { origin } => Reason::Desired { origin },
            ReasonV1::Absent { origin } => Reason::Absent { origin },
            ReasonV1::Pruned => Reason::Pruned,
        },
        before: a
            .before
            .into_iter()
            .map(|l| AssignedLicense {
                sku_id: l.sku_id,
                disabled_plans: l.disabled_plans,
                allotment_id: l.allotment_id,
            })
            .collect(),
        before_fingerprint: a.before_fingerprint,
        allotment: a.allotment.map(allotment_core),
        from_allotment: a.from_allotment.map(allotment_core),
    })
}

fn guard_v1(g: &GuardViolation) -> GuardViolationV1 {
    let message = guard_message(g);
    match *g {
        GuardViolation::MaxRevocations { revocations, max } => GuardViolationV1::MaxRevocations {
            revocations,
            max,
            message,
        },
        GuardViolation::RevokeShare {
            devices,
            licensed,
            max_percent,
        } => GuardViolationV1::RevokeShare {
            devices,
            licensed,
            max_percent,
            message,
        },
        GuardViolation::UnknownDeviceCount { ref groups } => GuardViolationV1::UnknownDeviceCount {
            groups: groups.iter().map(group_v1).collect(),
            message,
        },
        GuardViolation::Shortfall {
            ref sku,
            ref allotment,
            devices,
            ref groups,
        } => GuardViolationV1::Shortfall {
            sku: sku_v1(sku),
            allotment: allotment.as_ref().map(allotment_v1),
            devices,
            groups: groups.iter().map(group_v1).collect(),
            message,
        },
        GuardViolation::EmptySpec => GuardViolationV1::EmptySpec { message },
    }
}

fn guard_core(g: GuardViolationV1) -> GuardViolation {
    match g {
        GuardViolationV1::MaxRevocations {
            revocations, max, ..
        } => GuardViolation::MaxRevocations { revocations, max },
        GuardViolationV1::RevokeShare {
            devices,
            licensed,
            max_percent,
            ..
        } => GuardViolation::RevokeShare {
            devices,
            licensed,
            max_percent,
        },
        GuardViolationV1::UnknownDeviceCount { groups, .. } => GuardViolation::UnknownDeviceCount {
            groups: groups.into_iter().map(group_core).collect(),
        },
        GuardViolationV1::Shortfall {
            sku,
            allotment,
            devices,
            groups,
            ..
        } => GuardViolation::Shortfall {
            sku: sku_core(sku),
            allotment: allotment.map(allotment_core),
            devices,
            groups: groups.into_iter().map(group_core).collect(),
        },
        GuardViolationV1::EmptySpec { .. } => GuardViolation::EmptySpec,
    }
}

fn unlicensed_v1(u: &Unlicensed) -> UnlicensedV1 {
    UnlicensedV1 {
        group: group_v1(&u.group),
        sku: u.sku.as_ref().map(sku_v1),
        devices: u.devices,
        causes: u
            .causes
            .iter()
            .map(|c| CauseV1 {
                code: c.code.clone(),
                devices: c.devices,
                inferred: c.inferred,
                description: devlic_model::license_errors::cause(&c.code).to_owned(),
            })
            .collect(),
    }
}

fn unlicensed_core(u: UnlicensedV1) -> Unlicensed {
    Unlicensed {
        group: group_core(u.group),
        sku: u.sku.map(sku_core),
        devices: u.devices,
        causes: u
            .causes
            .into_iter()
            .map(|c| CauseCount {
                code: c.code,
                devices: c.devices,
                inferred: c.inferred,
            })
            .collect(),
    }
}

impl PlanV1 {
    /// The wire form of a plan.
    pub fn from_plan(plan: &Plan) -> PlanV1 {
        let s = plan.summary();
        let (offline, graph_url) = match &plan.source {
            StateSource::Graph { graph_url } => (false, graph_url.clone()),
            StateSource::Snapshot { graph_url } => (true, graph_url.clone()),
        };
        PlanV1 {
            format_version: FORMAT_VERSION,
            tenant: TenantV1 {
                id: plan.tenant.id.clone(),
                display_name: plan.tenant.display_name.clone(),
                domains: plan.tenant.domains.clone(),
            },
            backend: match plan.backend {
                Backend::GroupLicensing => BackendV1::GroupLicensing,
                Backend::CloudLicensing => BackendV1::CloudLicensing,
            },
            backend_reason: plan.backend_reason.clone(),
            offline,
            graph_url,
            state_taken_at: plan.state_taken_at,
            actions: plan.actions.iter().map(action_v1).collect(),
            warnings: plan
                .warnings
                .iter()
                .map(|w| WarningV1 {
                    kind: warning_kind_v1(w.kind),
                    group: w.group.as_ref().map(group_v1),
                    sku: w.sku.as_ref().map(sku_v1),
                    message: w.message.clone(),
                })
                .collect(),
            capacity: plan
                .capacity
                .iter()
                .map(|c| CapacityV1 {
                    sku: sku_v1(&c.sku),
                    prepaid_enabled: c.prepaid_enabled,
                    consumed: c.consumed,
                    newly_licensed: c.newly_licensed,
                    freed: c.freed,
                    available_after: c.available_after,
                    allotment: c.allotment.as_ref().map(allotment_v1),
                })
                .collect(),
            guard_violations: plan.guard_violations.iter().map(guard_v1).collect(),
            guard_settings: GuardSettingsV1 {
                max_revocations: plan.guard_settings.max_revocations,
                max_revoke_percent: plan.guard_settings.max_revoke_percent,
                allow_empty: plan.guard_settings.allow_empty,
                allow_shortfall: plan.guard_settings.allow_shortfall,
            },
            unlicensed: plan.unlicensed.iter().map(unlicensed_v1).collect(),
            summary: SummaryV1 {
                assign: s.assign,
                revoke: s.revoke,
                swap: s.swap,
                update: s.update,
                r#move: s.r#move,
            },
            fingerprint: plan.fingerprint.clone(),
        }
    }

    /// Back to the core plan, after checking the version and that `summary` and `fingerprint`
    /// agree with the actions.
    ///
    /// # Errors
    /// [`WireError::UnsupportedVersion`] for any `formatVersion` other than 1;
    /// [`WireError::SummaryMismatch`], [`WireError::FingerprintMismatch`] or
    /// [`WireError::InvalidAction`] for an inconsistent plan.
    pub fn into_plan(self) -> Result<Plan, WireError> {
        if !READABLE_VERSIONS.contains(&self.format_version) {
            return Err(WireError::UnsupportedVersion {
                found: u64::from(self.format_version),
            });
        }
        if self.format_version < ALLOTMENTS_SINCE && self.backend == BackendV1::CloudLicensing {
            return Err(WireError::CloudPlanWithoutAllotments {
                found: self.format_version,
            });
        }
        let actions = self
            .actions
            .into_iter()
            .map(action_core)
            .collect::<Result<Vec<_>, _>>()?;
        let s = PlanSummary::of(&actions);
        let declared = self.summary;
        if (s.assign, s.revoke, s.swap, s.update, s.r#move)
            != (
                declared.assign,
                declared.revoke,
                declared.swap,
                declared.update,
                declared.r#move,
            )
        {
            return Err(WireError::SummaryMismatch);
        }
        if Fingerprint::combine(actions.iter().map(|a| &a.before_fingerprint)) != self.fingerprint {
            return Err(WireError::FingerprintMismatch);
        }
        Ok(Plan {
            tenant: TenantInfo {
                id: self.tenant.id,
                display_name: self.tenant.display_name,
                domains: self.tenant.domains,
            },
            backend: match self.backend {
                BackendV1::GroupLicensing => Backend::GroupLicensing,
                BackendV1::CloudLicensing => Backend::CloudLicensing,
            },
            backend_reason: self.backend_reason,
            source: if self.offline {
                StateSource::Snapshot {
                    graph_url: self.graph_url,
                }
            } else {
                StateSource::Graph {
                    graph_url: self.graph_url,
                }
            },
            state_taken_at: self.state_taken_at,
            actions,
            warnings: self
                .warnings
                .into_iter()
                .map(|w| Warning {
                    kind: warning_kind_core(w.kind),
                    group: w.group.map(group_core),
                    sku: w.sku.map(sku_core),
                    message: w.message,
                })
                .collect(),
            capacity: self
                .capacity
                .into_iter()
                .map(|c| CapacityLine {
                    sku: sku_core(c.sku),
                    prepaid_enabled: c.prepaid_enabled,
                    consumed: c.consumed,
                    newly_licensed: c.newly_licensed,
                    freed: c.freed,
                    available_after: c.available_after,
                    allotment: c.allotment.map(allotment_core),
                })
                .collect(),
            guard_violations: self.guard_violations.into_iter().map(guard_core).collect(),
            guard_settings: GuardSettings {
                max_revocations: self.guard_settings.max_revocations,
                max_revoke_percent: self.guard_settings.max_revoke_percent,
                allow_empty: self.guard_settings.allow_empty,
                allow_shortfall: self.guard_settings.allow_shortfall,
            },
            unlicensed: self.unlicensed.into_iter().map(unlicensed_core).collect(),
            fingerprint: self.fingerprint,
        })
    }
}
