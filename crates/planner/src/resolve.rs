//! Resolving spec entries against the live state: which SKUs are device SKUs, which group each
//! entry names, which SKU and which service plans.

use devlic_model::display::visible_form;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use devlic_model::{
    CaselessName, Group, GroupId, LiveState, ServicePlanId, Sku, SkuId, SkuRef, known_skus, suggest,
};
use devlic_spec::{Assignment, GroupSelector, PlanSelector, SkuSelector, Spec};

use crate::error::PlanError;

/// The device SKUs of a tenant: the known ones it has, plus `settings.deviceSkus`.
#[derive(Debug, Clone)]
pub(crate) struct DeviceSkus {
    /// Their ids.
    pub ids: BTreeSet<SkuId>,
    /// The same SKUs, sorted by part number then id (for error messages).
    pub refs: Vec<SkuRef>,
}

/// A `SkuRef` for a tenant SKU.
pub(crate) fn sku_ref(sku: &Sku) -> SkuRef {
    SkuRef {
        sku_id: sku.sku_id,
        sku_part_number: sku.sku_part_number.clone(),
    }
}

/// A `SkuRef` for a SKU id, with its part number when the tenant lists it.
pub(crate) fn sku_ref_of(live: &LiveState, id: SkuId) -> SkuRef {
    match live.sku(id) {
        Some(s) => sku_ref(s),
        // A group can in theory hold a SKU missing from subscribedSkus (a deleted subscription);
        // the id alone still identifies it for the write.
        None => SkuRef {
            sku_id: id,
            sku_part_number: id.to_string(),
        },
    }
}

fn selector_matches(sel: &SkuSelector, sku: &Sku) -> bool {
    sel.matches(sku.sku_id, &sku.sku_part_number)
}

/// Device SKUs = known device SKUs present in the tenant (matched by id or part number) plus the
/// tenant SKUs `settings.deviceSkus` names. Entries naming a SKU the tenant lacks add nothing: a
/// spec entry using such a SKU is reported as not in the tenant.
pub(crate) fn device_skus(spec: &Spec, live: &LiveState) -> (DeviceSkus, Vec<PlanError>) {
    let mut ids = BTreeSet::new();
    let mut refs = Vec::new();
    let mut errors = Vec::new();
    for sku in &live.skus {
        // Graph's own evidence outranks a declaration: a user subscription listed as a device
        // one would be "assigned" to device groups and license nobody.
        if sku.is_for_users()
            && spec
                .settings
                .device_skus
                .iter()
                .any(|sel| selector_matches(sel, sku))
        {
            errors.push(PlanError::UserSkuDeclaredAsDevice {
                sku: sku_ref(sku),
                evidence: user_evidence(sku),
            });
            continue;
        }
        if known_skus::is_device_sku(sku.sku_id, &sku.sku_part_number, &spec.settings.device_skus)
            && ids.insert(sku.sku_id)
        {
            refs.push(sku_ref(sku));
        }
    }
    refs.sort_by(|a, b| {
        a.sku_part_number
            .to_ascii_lowercase()
            .cmp(&b.sku_part_number.to_ascii_lowercase())
            .then(a.sku_id.cmp(&b.sku_id))
    });
    (DeviceSkus { ids, refs }, errors)
}

/// Why Graph says a SKU is for users, in its own field names.
fn user_evidence(sku: &Sku) -> String {
    let is_user = |a: &Option<String>| a.as_deref().is_some_and(|v| v.eq_ignore_ascii_case("User"));
    if is_user(&sku.applies_to) {
        "subscribedSkus reports appliesTo: User".to_owned()
    } else {
        format!(
            "every one of its {} service plans has appliesTo: User",
            sku.service_plans.len()
        )
    }
}

/// One spec entry whose group resolved. `sku` is `None` when the entry has no subscription
/// (`state: absent` with any SKU) or when the subscription failed to resolve (an error was
/// recorded then, and the plan is not returned).
#[derive(Debug)]
pub(crate) struct Resolved<'a> {
    /// The spec entry.
    pub entry: &'a Assignment,
    /// The group it names.
    pub group: &'a Group,
    /// The device SKU it names, if any.
    pub sku: Option<&'a Sku>,
    /// Service plans to disable, resolved to ids.
    pub disabled: BTreeSet<ServicePlanId>,
    /// True when every part of the entry resolved.
    pub complete: bool,
}

/// Resolves every entry, collecting all errors.
pub(crate) fn resolve<'a>(
    spec: &'a Spec,
    live: &'a LiveState,
    device: &DeviceSkus,
) -> (Vec<Resolved<'a>>, Vec<PlanError>) {
    let mut resolved = Vec::with_capacity(spec.assignments.len());
    let mut errors = Vec::new();
    // Display-name lookup through an index: a linear scan per entry would make planning
    // quadratic in the number of groups. Keys borrow the names (no lowercased copies).
    let mut by_name: HashMap<CaselessName<'a>, Vec<&'a Group>> =
        HashMap::with_capacity(live.groups.len());
    for g in live.groups.values() {
        by_name
            .entry(CaselessName(&g.display_name))
            .or_insert_with(|| Vec::with_capacity(1))
            .push(g);
    }
    let mut first_origin: BTreeMap<GroupId, &devlic_spec::Origin> = BTreeMap::new();

    for entry in &spec.assignments {
        let group = resolve_group(entry, live, &by_name, &mut errors);
        let (sku, sku_ok) = match &entry.subscription {
            None => (None, true),
            Some(sel) => match resolve_sku(entry, sel, live, device) {
                Ok(s) => (Some(s), true),
                Err(e) => {
                    errors.push(e);
                    (None, false)
                }
            },
        };
        let (disabled, plans_ok) = match sku {
            Some(s) => resolve_plans(entry, s, &mut errors),
            None => (BTreeSet::new(), true),
        };
        let Some(group) = group else { continue };
        if let Some(first) = first_origin.get(&group.id) {
            errors.push(PlanError::DuplicateGroup {
                origin: entry.origin.clone(),
                first_origin: (*first).clone(),
                id: group.id,
                display_name: group.display_name.clone(),
            });
            continue;
        }
        first_origin.insert(group.id, &entry.origin);
        resolved.push(Resolved {
            entry,
            group,
            sku,
            disabled,
            complete: sku_ok && plans_ok,
        });
    }
    (resolved, errors)
}

fn resolve_group<'a>(
    entry: &Assignment,
    live: &'a LiveState,
    by_name: &HashMap<CaselessName<'a>, Vec<&'a Group>>,
    errors: &mut Vec<PlanError>,
) -> Option<&'a Group> {
    match &entry.group {
        GroupSelector::Id(id) => {
            let g = live.groups.get(id);
            if g.is_none() {
                errors.push(PlanError::GroupIdNotFound {
                    origin: entry.origin.clone(),
                    id: *id,
                });
            }
            g
        }
        GroupSelector::Name(name) => {
            let matches = by_name
                .get(&CaselessName(name))
                .map(Vec::as_slice)
                .unwrap_or_default();
            match matches {
                [one] => Some(*one),
                [] => {
                    // Only on this error path: a name that matches once invisible characters
                    // are removed must be reported as such, never matched or called "missing".
                    let looks = visible_form(name).to_ascii_lowercase();
                    let lookalike = live
                        .groups
                        .values()
                        .find(|g| visible_form(&g.display_name).to_ascii_lowercase() == looks);
                    errors.push(match lookalike {
                        Some(g) => PlanError::LookalikeGroupName {
                            origin: entry.origin.clone(),
                            name: name.clone(),
                            tenant_name: g.display_name.clone(),
                        },
                        None => PlanError::GroupNameNotFound {
                            origin: entry.origin.clone(),
                            name: name.clone(),
                            suggestions: suggest_group_names(name, live),
                        },
                    });
                    None
                }
                many => {
                    let mut candidates: Vec<GroupId> = many.iter().map(|g| g.id).collect();
                    candidates.sort();
                    errors.push(PlanError::AmbiguousGroupName {
                        origin: entry.origin.clone(),
                        name: name.clone(),
                        candidates,
                    });
                    None
                }
            }
        }
    }
}

/// The tenant's display names closest to `name` (at most three, closest first, ties by group
/// id). A live read adds the groups whose names start like `name` (see
/// `devlic_graph::GraphClient::read_live`), so online and offline plans suggest the same names.
fn suggest_group_names(name: &str, live: &LiveState) -> Vec<String> {
    suggest::closest(
        name,
        live.groups.values().map(|g| g.display_name.as_str()),
        3,
    )
    .into_iter()
    .map(str::to_owned)
    .collect()
}

fn resolve_sku<'a>(
    entry: &Assignment,
    sel: &SkuSelector,
    live: &'a LiveState,
    device: &DeviceSkus,
) -> Result<&'a Sku, PlanError> {
    let found = live.skus.iter().find(|s| selector_matches(sel, s));
    match found {
        Some(s) if device.ids.contains(&s.sku_id) => Ok(s),
        Some(_) => Err(PlanError::NotADeviceSku {
            origin: entry.origin.clone(),
            subscription: sel.to_string(),
            device_skus: device.refs.clone(),
        }),
        None => Err(PlanError::SubscriptionNotInTenant {
            origin: entry.origin.clone(),
            subscription: sel.to_string(),
            device_skus: device.refs.clone(),
        }),
    }
}

/// Resolves `disabledPlans` against the SKU's service plans. Names must match a plan of the SKU;
/// ids must too when the SKU lists its plans (a snapshot without `servicePlans` can still carry
/// ids, which Graph validates on write).
fn resolve_plans(
    entry: &Assignment,
    sku: &Sku,
    errors: &mut Vec<PlanError>,
) -> (BTreeSet<ServicePlanId>, bool) {
    let mut out = BTreeSet::new();
    let mut ok = true;
    for p in &entry.disabled_plans {
        let found = match p {
            PlanSelector::Name(n) => sku
                .service_plans
                .iter()
                .find(|sp| sp.service_plan_name.eq_ignore_ascii_case(n))
                .map(|sp| sp.service_plan_id),
            PlanSelector::Id(id) => {
                let listed = sku.service_plans.iter().any(|sp| sp.service_plan_id == *id);
                (listed || sku.service_plans.is_empty()).then_some(*id)
            }
        };
        match found {
            Some(id) => {
                out.insert(id);
            }
            None => {
                ok = false;
                let mut known: Vec<String> = sku
                    .service_plans
                    .iter()
                    .map(|sp| sp.service_plan_name.clone())
                    .collect();
                known.sort();
                errors.push(PlanError::UnknownDisabledPlan {
                    origin: entry.origin.clone(),
                    plan: p.to_string(),
                    sku: sku_ref(sku),
                    known,
                });
            }
        }
    }
    (out, ok)
}
