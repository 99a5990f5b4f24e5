//! Merging parsed files into one [`Spec`] and the semantic checks that need no tenant.
//!
//! Every check runs on every entry and pushes its errors; nothing stops at the first problem.

use std::collections::HashMap;

use devlic_model::{Backend, BackendSetting, GroupId};

use crate::error::{Related, SpecError, SpecErrorKind};
use crate::model::OneGroupPerSubscription;
use crate::model::{Assignment, DesiredState, GroupSelector, Origin, PlanSelector, Settings, Spec};
use crate::names::{self, Problem};
use crate::parse::Loc;
use crate::raw::{
    At, RawAssignment, RawBackend, RawFile, RawGroup, RawOneGroup, RawSettings, RawState,
};

/// Collects errors for one file.
struct Sink<'a> {
    file: &'a str,
    errors: &'a mut Vec<SpecError>,
}

impl Sink<'_> {
    fn push<T>(&mut self, spanned: &At<T>, (kind, help): Problem) {
        self.errors
            .push(Loc::from(spanned.referenced).error(self.file, kind, help));
    }
}

fn origin<T>(file: &str, spanned: &At<T>) -> Origin {
    let loc = Loc::from(spanned.referenced);
    Origin {
        file: file.to_owned(),
        line: loc.line,
        column: loc.column,
    }
}

fn related(origin: &Origin, label: &str) -> Related {
    Related {
        file: origin.file.clone(),
        line: origin.line,
        column: origin.column,
        label: label.to_owned(),
    }
}

/// Merges the parsed files (in the order given) and checks them.
pub(crate) fn check(
    parsed: &[(String, RawFile)],
    files: Vec<String>,
    errors: &mut Vec<SpecError>,
) -> Option<Spec> {
    let start = errors.len();
    let tenant = merge_tenant(parsed, errors);
    let (settings, prune_origin) = merge_settings(parsed, errors);

    let mut assignments = Vec::new();
    // Where each group was first listed, keyed case-insensitively for names (Graph compares
    // display names case-insensitively).
    // The entry each group key was first listed in (its index among `assignments`, its file
    // and the raw entry): origins and wording are built only when a duplicate needs them.
    let mut seen: HashMap<GroupKey, (usize, &str, &At<RawAssignment>)> = HashMap::new();
    for (file, raw) in parsed {
        for entry in raw.assignments.iter().flatten() {
            let mut sink = Sink { file, errors };
            let Some(assignment) = check_assignment(&mut sink, entry, &settings) else {
                continue;
            };
            let key = GroupKey::of(&assignment.group);
            if let Some(&(first_index, first_file, first_entry)) = seen.get(&key) {
                let conflicting = !same_request(&assignments[first_index], &assignment);
                let group = assignment.group.to_string();
                let (kind, help) = if conflicting {
                    (
                        SpecErrorKind::ConflictingSubscriptions {
                            group,
                            first: as_written(&first_entry.value),
                            second: as_written(&entry.value),
                        },
                        "a group may hold only one device subscription: keep one of the two entries",
                    )
                } else {
                    (
                        SpecErrorKind::DuplicateGroup { group },
                        "remove one of the two entries",
                    )
                };
                let mut err = Loc::from(entry.value.group.referenced).error(file, kind, help);
                let first_origin = origin(first_file, &first_entry.value.group);
                err.related = Some(related(&first_origin, "first listed here"));
                errors.push(err);
                continue;
            }
            seen.insert(key, (assignments.len(), file.as_str(), entry));
            assignments.push(assignment);
        }
    }

    if settings.prune
        && !settings.allow_empty
        && assignments.is_empty()
        && errors.is_empty()
        && let Some(at) = prune_origin
    {
        errors.push(SpecError {
            file: at.file,
            line: at.line,
            column: at.column,
            span: None,
            kind: SpecErrorKind::EmptyWithPrune,
            help: "list the groups that keep their subscriptions, or set `allowEmpty: true` if revoking everything is intended".to_owned(),
            related: None,
        });
    }

    (errors.len() == start).then_some(Spec {
        tenant,
        settings,
        assignments,
        files,
    })
}

#[derive(Debug, PartialEq, Eq, Hash)]
enum GroupKey {
    Name(String),
    Id(GroupId),
}

impl GroupKey {
    fn of(group: &GroupSelector) -> GroupKey {
        match group {
            GroupSelector::Name(n) => GroupKey::Name(n.to_lowercase()),
            GroupSelector::Id(id) => GroupKey::Id(*id),
        }
    }
}

fn merge_tenant(parsed: &[(String, RawFile)], errors: &mut Vec<SpecError>) -> Option<String> {
    let mut first: Option<(String, String, Origin)> = None; // (normalized, as written, origin)
    for (file, raw) in parsed {
        let Some(tenant) = &raw.tenant else { continue };
        let value = tenant.value.trim();
        let normalized = match names::parse_tenant(value) {
            Ok(n) => n,
            Err(problem) => {
                Sink { file, errors }.push(tenant, problem);
                continue;
            }
        };
        match &first {
            None => first = Some((normalized, value.to_owned(), origin(file, tenant))),
            Some((n, written, at)) if *n != normalized => {
                let mut err = Loc::from(tenant.referenced).error(
                    file,
                    SpecErrorKind::ConflictingTenant { first: written.clone(), second: value.to_owned() },
                    "a spec is for one tenant: write `tenant` once, or the same value in every file",
                );
                err.related = Some(related(at, "tenant first written here"));
                errors.push(err);
            }
            Some(_) => {}
        }
    }
    first.map(|(n, _, _)| n)
}

/// The settings (from the only file that has them) and where `prune` is written.
fn merge_settings(
    parsed: &[(String, RawFile)],
    errors: &mut Vec<SpecError>,
) -> (Settings, Option<Origin>) {
    let mut found: Option<(&str, &At<RawSettings>)> = None;
    for (file, raw) in parsed {
        let Some(settings) = &raw.settings else {
            continue;
        };
        match found {
            None => found = Some((file, settings)),
            Some((first_file, first)) => {
                let mut err = Loc::from(settings.referenced).error(
                    file,
                    SpecErrorKind::DuplicateSettings,
                    "keep `settings` in one file of the folder (for example settings.yaml)",
                );
                err.related = Some(related(
                    &origin(first_file, first),
                    "settings first written here",
                ));
                errors.push(err);
            }
        }
    }
    let mut settings = Settings::default();
    let Some((file, raw)) = found else {
        return (settings, None);
    };
    let raw = &raw.value;
    let mut sink = Sink { file, errors };
    let mut prune_origin = None;
    if let Some(prune) = &raw.prune {
        settings.prune = prune.value;
        prune_origin = Some(origin(file, prune));
    }
    settings.max_revocations = raw.max_revocations.unwrap_or(settings.max_revocations);
    if let Some(pct) = &raw.max_revoke_percent {
        match u8::try_from(pct.value) {
            Ok(v) if v <= 100 => settings.max_revoke_percent = v,
            _ => sink.push(
                pct,
                (
                    SpecErrorKind::PercentOutOfRange { value: pct.value },
                    "use a number from 0 to 100".to_owned(),
                ),
            ),
        }
    }
    settings.allow_empty = raw.allow_empty.unwrap_or(false);
    settings.allow_shortfall = raw.allow_shortfall.unwrap_or(false);
    if let Some(v) = &raw.one_group_per_subscription {
        settings.one_group_per_subscription = match v.value {
            RawOneGroup::Warn => OneGroupPerSubscription::Warn,
            RawOneGroup::Error => OneGroupPerSubscription::Error,
            RawOneGroup::Off => OneGroupPerSubscription::Off,
        };
    }
    for sku in raw.device_skus.iter().flatten() {
        match names::parse_sku(sku.value.trim()) {
            Ok(sel) => settings.device_skus.push(sel),
            Err(problem) => sink.push(sku, problem),
        }
    }
    if let Some(backend) = &raw.backend {
        settings.backend = match backend.value {
            RawBackend::Auto => BackendSetting::Auto,
            RawBackend::GroupLicensing => BackendSetting::Fixed(Backend::GroupLicensing),
            RawBackend::CloudLicensing => BackendSetting::Fixed(Backend::CloudLicensing),
        };
    }
    (settings, prune_origin)
}

/// Checks one entry; returns it with its subscription as written (for messages) when valid.
fn desired_state(raw: &RawAssignment) -> DesiredState {
    match raw.state.as_ref().map(|s| s.value) {
        Some(RawState::Absent) => DesiredState::Absent,
        Some(RawState::Present) | None => DesiredState::Present,
    }
}

/// An entry's subscription and state as written, for the message about two conflicting entries.
fn as_written(raw: &RawAssignment) -> String {
    match (&raw.subscription, desired_state(raw)) {
        (Some(s), DesiredState::Present) => s.value.clone(),
        (Some(s), DesiredState::Absent) => format!("{} (absent)", s.value),
        (None, _) => "state: absent".to_owned(),
    }
}

fn check_assignment(
    sink: &mut Sink<'_>,
    entry: &At<RawAssignment>,
    settings: &Settings,
) -> Option<Assignment> {
    let raw = &entry.value;
    let before = sink.errors.len();
    let state = desired_state(raw);

    let group = match &raw.group.value {
        RawGroup::Name(name) if name.trim().is_empty() => {
            sink.push(
                &raw.group,
                (
                    SpecErrorKind::EmptyGroupName,
                    "write the group's display name, or `{id: GUID}`".to_owned(),
                ),
            );
            None
        }
        RawGroup::Name(name) => Some(GroupSelector::Name(name.clone())),
        RawGroup::Id(id) => match GroupId::parse(id.value.trim()) {
            Ok(id) => Some(GroupSelector::Id(id)),
            Err(_) => {
                sink.push(id, names::invalid_guid(&id.value));
                None
            }
        },
    };

    let subscription = match &raw.subscription {
        Some(sub) => match names::parse_sku(sub.value.trim()) {
            Ok(sel) if names::could_be_device_sku(&sel, &settings.device_skus) => Some(sel),
            Ok(_) => {
                sink.push(
                    sub,
                    (
                        SpecErrorKind::NotADeviceSku {
                            value: sub.value.clone(),
                        },
                        names::not_a_device_sku_help(sub.value.trim()),
                    ),
                );
                None
            }
            Err(problem) => {
                sink.push(sub, problem);
                None
            }
        },
        None if state == DesiredState::Present => {
            sink.push(
                &raw.group,
                (
                    SpecErrorKind::MissingSubscription,
                    "add `subscription:` (e.g. OFFICE_PROPLUS_DEVICE1), or `state: absent` to revoke".to_owned(),
                ),
            );
            None
        }
        None => None,
    };

    let mut disabled_plans = Vec::new();
    for plan in raw.disabled_plans.iter().flatten() {
        match names::parse_plan(plan.value.trim()) {
            Ok(sel) if disabled_plans.iter().any(|p| same_plan(p, &sel)) => sink.push(
                plan,
                (
                    SpecErrorKind::DuplicateDisabledPlan {
                        value: plan.value.clone(),
                    },
                    "remove the second entry".to_owned(),
                ),
            ),
            Ok(sel) => disabled_plans.push(sel),
            Err(problem) => sink.push(plan, problem),
        }
    }
    if state == DesiredState::Absent
        && let Some(first) = raw.disabled_plans.iter().flatten().next()
    {
        sink.push(
            first,
            (
                SpecErrorKind::DisabledPlansWithAbsent,
                "remove `disabledPlans`, or remove `state: absent`".to_owned(),
            ),
        );
    }

    if let Some(allotment) = &raw.allotment {
        // `auto` may choose cloud-licensing; the planner refuses an allotment when it does not.
        if settings
            .backend
            .fixed()
            .is_some_and(|b| !b.uses_allotments())
        {
            sink.push(
                allotment,
                (
                    SpecErrorKind::AllotmentWithoutCloudLicensing,
                    "remove `allotment`, or set `settings.backend: cloud-licensing`".to_owned(),
                ),
            );
        } else if allotment.value.trim().is_empty() {
            sink.push(
                allotment,
                (
                    SpecErrorKind::MissingField {
                        field: "allotment".to_owned(),
                    },
                    "write the allotment id, or remove `allotment`".to_owned(),
                ),
            );
        }
    }

    if sink.errors.len() != before {
        return None;
    }
    Some(Assignment {
        group: group?,
        subscription,
        allotment: raw.allotment.as_ref().map(|a| a.value.trim().to_owned()),
        disabled_plans,
        state,
        description: raw.description.clone(),
        origin: origin(sink.file, entry),
    })
}

/// Whether two `disabledPlans` entries name the same plan (names compare case-insensitively,
/// as the planner matches them).
fn same_plan(a: &PlanSelector, b: &PlanSelector) -> bool {
    match (a, b) {
        (PlanSelector::Name(x), PlanSelector::Name(y)) => x.eq_ignore_ascii_case(y),
        _ => a == b,
    }
}

/// Whether two entries for the same group ask for the same thing.
fn same_request(a: &Assignment, b: &Assignment) -> bool {
    a.state == b.state && a.subscription == b.subscription
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SkuSelector;

    #[test]
    fn requests_differ_by_subscription_or_state() {
        let base = Assignment {
            group: GroupSelector::Name("Lab".into()),
            subscription: Some(SkuSelector::PartNumber("OFFICE_PROPLUS_DEVICE1".into())),
            allotment: None,
            disabled_plans: vec![],
            state: DesiredState::Present,
            description: None,
            origin: Origin {
                file: "a.yaml".into(),
                line: 1,
                column: 1,
            },
        };
        let mut other = base.clone();
        assert!(same_request(&base, &other));
        other.state = DesiredState::Absent;
        assert!(!same_request(&base, &other));
    }
}
