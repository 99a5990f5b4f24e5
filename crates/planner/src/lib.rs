//! The planner of devlic: a pure function from the desired [`Spec`] and the observed
//! [`LiveState`] to a [`Plan`], plus the renderers that make a plan easy to review.
//!
//! Brief overview:
//! - [`plan`] resolves every spec entry against the live state (groups by id or display name,
//!   subscriptions by part number or id, `disabledPlans` by name or id), reports **every**
//!   resolution problem at once as [`PlanErrors`], and otherwise returns the actions that bring the
//!   tenant to the spec, with warnings, capacity arithmetic and tripped guards.
//! - Member counts (an expensive Graph read) change no action and no error of a plan, only its
//!   device numbers, warnings and guards: a caller plans once without them, reads them for
//!   [`devlic_model::Plan::groups_written`] only, and plans again.
//! - [`wire`] is the versioned JSON format of a saved plan ([`wire::PlanV1`]) and its JSON Schema.
//! - [`render`] turns a plan into terminal text, a pull-request Markdown comment, or JSON.
//!
//! # Rules
//! For each spec entry (resolved to a group `G`, and for `state: present` to a device SKU `S`):
//! - `present`, `G` holds no device SKU: **assign** `S`.
//! - `present`, `G` holds another device SKU `O`: **swap** (one `assignLicense` call adds `S` and
//!   removes `O`, so the devices never lose the apps).
//! - `present`, `G` holds `S` with different `disabledPlans`: **update**.
//! - `absent`: **revoke** the device SKU `G` holds (only the named one, when a subscription is
//!   given).
//! - A group holding a device SKU that no entry names is **revoked** when `settings.prune` is on,
//!   and reported as an unmanaged holder otherwise.
//!
//! A group already in the desired state yields no action, so planning is idempotent: applying
//! the actions and planning again yields an empty plan.
//!
//! On the cloud-licensing backend (`settings.backend: cloud-licensing`) every present entry also
//! resolves an allotment (the spec's `allotment:`, by allotment id or subscription id, else the
//! SKU's only allotment assignable to devices; none or several is an error listing the
//! candidates), recorded in [`devlic_model::Action::allotment`], and capacity is computed per
//! allotment (`allottedUnits - consumedUnits`).
//!
//! Device SKUs are the SKUs devlic knows ([`devlic_model::known_skus`]) that the tenant has, plus
//! those `settings.deviceSkus` names. Nothing in this crate does I/O.

mod actions;
mod allotments;
mod backend_choice;
mod checks;
mod error;
mod recheck;
pub mod render;
mod resolve;
pub mod wire;

use devlic_model::{Fingerprint, GuardSettings, LiveState, Plan};
use devlic_spec::{OneGroupPerSubscription, Spec};

pub use backend_choice::choose_backend;
pub use checks::{LicenseLoss, LossCause, license_losses};
pub use error::{PlanError, PlanErrors};
pub use recheck::{recheck, same_writes};

/// Plans `spec` against `live`.
///
/// Pure and deterministic: the same inputs give the same plan, byte for byte, whatever the order
/// of the spec's assignments (actions are sorted by group display name, case-insensitively, then
/// id; warnings by kind, group, then message). Tripped guards are recorded in
/// [`Plan::guard_violations`] rather than returned as errors, so a reviewer still sees the plan;
/// the caller decides whether to refuse (exit code 3).
///
/// # Errors
/// [`PlanErrors`] with every resolution error when any spec entry cannot be resolved, when the
/// spec's `tenant` is not the tenant that was read, or when a group that must change holds several
/// device SKUs.
pub fn plan(spec: &Spec, live: &LiveState) -> Result<Plan, PlanErrors> {
    let choice = backend_choice::for_plan(spec, live);
    let core = actions::core(spec, live, choice.backend);
    let mut errors = Vec::new();
    if let Some(t) = &spec.tenant
        && !live.tenant.matches(t)
    {
        errors.push(PlanError::TenantMismatch {
            spec_tenant: t.clone(),
            live_tenant_id: live.tenant.id.clone(),
            live_display_name: live.tenant.display_name.clone(),
            live_domains: live.tenant.domains.clone(),
        });
    }
    errors.extend(core.errors.iter().cloned());
    let shared = checks::one_group::shared_subscriptions(&core, live, choice.backend);
    if spec.settings.one_group_per_subscription == OneGroupPerSubscription::Error {
        errors.extend(shared.iter().flat_map(checks::one_group::errors));
    }
    if !choice.backend.uses_allotments() {
        errors.extend(
            spec.assignments
                .iter()
                .filter(|a| a.allotment.is_some())
                .map(|a| PlanError::AllotmentWithoutCloudLicensing {
                    origin: a.origin.clone(),
                    reason: choice.reason.clone(),
                }),
        );
    }
    if !errors.is_empty() {
        return Err(PlanErrors { errors });
    }

    let capacity = checks::capacity(live, choice.backend, &core.actions);
    let mut warnings = checks::warnings(live, &core, choice.backend);
    // First: it is about the whole plan, like `offline`.
    warnings.splice(0..0, backend_choice::warning(&choice));
    if spec.settings.one_group_per_subscription == OneGroupPerSubscription::Warn {
        warnings.extend(
            shared
                .iter()
                .map(|s| checks::one_group::warning(s, choice.backend)),
        );
    }
    let guard_settings = guard_settings(spec);
    let empty_spec =
        spec.assignments.is_empty() && spec.settings.prune && !spec.settings.allow_empty;
    let guard_violations = checks::guards(
        &guard_settings,
        empty_spec,
        live,
        &core.device.ids,
        &core.actions,
        &capacity,
    );
    let unlicensed = checks::unlicensed(live, &core);
    let fingerprint = Fingerprint::combine(core.actions.iter().map(|a| &a.before_fingerprint));
    Ok(Plan {
        tenant: live.tenant.clone(),
        backend: choice.backend,
        backend_reason: Some(choice.reason),
        source: live.source.clone(),
        state_taken_at: live.taken_at,
        actions: core.actions,
        warnings,
        capacity,
        guard_violations,
        guard_settings,
        unlicensed,
        fingerprint,
    })
}

/// The guard thresholds of a spec.
pub fn guard_settings(spec: &Spec) -> GuardSettings {
    GuardSettings {
        max_revocations: spec.settings.max_revocations,
        max_revoke_percent: spec.settings.max_revoke_percent,
        allow_empty: spec.settings.allow_empty,
        allow_shortfall: spec.settings.allow_shortfall,
    }
}
