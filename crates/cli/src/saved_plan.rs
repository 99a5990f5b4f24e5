//! `apply --plan FILE`: a saved plan is data, not authority.
//!
//! Before anything is written, the plan must be for the tenant, Graph root and backend in use,
//! and everything the file says about its actions is recomputed from a fresh read: device
//! counts, capacity and every guard (with thresholds no looser than the defaults, or the spec's
//! own with `--spec`). With `--spec PATH` the spec is planned again and the saved plan must ask
//! for exactly the same writes.

use devlic_applier::{AnyBackend, LicensingBackend};
use devlic_graph::LiveQuery;
use devlic_model::display::sanitize;
use devlic_model::{BackendChoice, BackendSetting, GroupId, GuardSettings, Plan, StateSource};
use devlic_planner::{recheck, same_writes};

use crate::cli::ApplyArgs;
use crate::error::CliError;
use crate::exit::Exit;
use crate::state::{LoadedSpec, load_spec, read_and_plan, read_error, render_plan_errors};

/// The Graph root a plan's state was read from.
fn planned_graph_url(plan: &Plan) -> &str {
    match &plan.source {
        StateSource::Graph { graph_url } | StateSource::Snapshot { graph_url } => {
            graph_url.trim_end_matches('/')
        }
    }
}

/// Refuses a saved plan made for another tenant, Graph root or backend, showing the difference.
pub fn check_target(plan: &Plan, backend: &AnyBackend, tenant_id: &str) -> Result<(), CliError> {
    let here = backend
        .client()
        .graph_url()
        .as_str()
        .trim_end_matches('/')
        .to_owned();
    let mut differences = Vec::new();
    if !tenant_id.eq_ignore_ascii_case(&plan.tenant.id) {
        differences.push(format!(
            "tenant: the plan is for {}, the credentials sign in to {}",
            sanitize(&plan.tenant.id),
            sanitize(tenant_id)
        ));
    }
    if !planned_graph_url(plan).eq_ignore_ascii_case(&here) {
        differences.push(format!(
            "Graph: the plan was made against {}, this run talks to {}",
            sanitize(planned_graph_url(plan)),
            sanitize(&here)
        ));
    }
    if differences.is_empty() {
        return Ok(());
    }
    Err(CliError::new(
        format!(
            "the saved plan is for another target; nothing was written:\n  {}",
            differences.join("\n  ")
        ),
        "sign in to the plan's tenant and Graph (AZURE_TENANT_ID, --graph-url, --cloud), or plan again for this one",
    )
    .with_exit(Exit::GuardRefused))
}

/// Re-checks a saved plan against the tenant and returns the plan to apply, with its guards
/// recomputed.
pub async fn authorize(
    saved: Plan,
    args: &ApplyArgs,
    backend: &AnyBackend,
) -> Result<Plan, CliError> {
    // The actions' groups, and the groups the file says have unlicensed devices: their license
    // errors are read again so the run's verdict rests on the tenant, not on the file.
    let mut ids: Vec<GroupId> = saved
        .actions
        .iter()
        .map(|a| a.group.id)
        .chain(saved.unlicensed.iter().map(|u| u.group.id))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut live = backend
        .read_live(&LiveQuery {
            group_ids: ids.clone(),
            ..LiveQuery::default()
        })
        .await
        .map_err(|e| read_error(&e, backend))?;
    check_target(&saved, backend, &live.tenant.id)?;
    if let Some(path) = &args.spec {
        let loaded = load_spec(path)?;
        return replan_and_compare(saved, &loaded, backend).await;
    }
    let present: Vec<GroupId> = ids
        .into_iter()
        .filter(|id| live.groups.contains_key(id))
        .collect();
    if !present.is_empty() {
        backend
            .read_group_details(&mut live, &present)
            .await
            .map_err(|e| read_error(&e, backend))?;
    }
    // The file's thresholds can only make the guards stricter.
    let settings = saved.guard_settings.stricter(GuardSettings::default());
    recheck(&saved, &live, settings, &[])
        .map_err(|e| CliError::rendered(render_plan_errors(&e, &[]), Exit::GuardRefused))
}

/// `--spec`: plans the spec again and refuses unless the saved plan asks for the same writes.
async fn replan_and_compare(
    saved: Plan,
    loaded: &LoadedSpec,
    backend: &AnyBackend,
) -> Result<Plan, CliError> {
    // The plan was made from this spec for `saved.backend` (perhaps with `plan --backend`): the
    // comparison plans it for the same backend.
    let mut loaded = LoadedSpec {
        spec: loaded.spec.clone(),
        sources: loaded.sources.clone(),
    };
    loaded.spec.settings.backend = BackendSetting::Fixed(saved.backend);
    let choice = BackendChoice {
        backend: saved.backend,
        reason: "set by the saved plan".to_owned(),
        automatic: false,
    };
    let (live, fresh) = read_and_plan(backend, &loaded, choice).await?;
    if !same_writes(&saved, &fresh, &live) {
        return Err(CliError::new(
            format!(
                "the saved plan does not match what the spec yields now ({} action(s) saved, {} \
                 now); nothing was written",
                saved.actions.len(),
                fresh.actions.len()
            ),
            "review and save a new plan (`devlic plan SPEC --out plan.json`), then apply it",
        )
        .with_exit(Exit::GuardRefused));
    }
    // The reviewed actions stay (already-applied ones are reported as such); everything derived
    // from the tenant and the spec's settings comes from the fresh plan.
    let mut plan = saved;
    for a in &mut plan.actions {
        a.devices = fresh
            .actions
            .iter()
            .find(|f| f.group.id == a.group.id)
            .map_or(a.devices, |f| f.devices);
    }
    plan.capacity = fresh.capacity;
    plan.guard_violations = fresh.guard_violations;
    plan.guard_settings = fresh.guard_settings;
    plan.unlicensed = fresh.unlicensed;
    Ok(plan)
}
