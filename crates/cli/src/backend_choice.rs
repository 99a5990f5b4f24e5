//! Which licensing backend a command goes through: `--backend`, else the spec's
//! `settings.backend`, else (`auto`, the default) the tenant's evidence.
//!
//! `auto` costs one request, `GET /beta/admin/cloudLicensing/allotments`, and none when the
//! backend is explicit. The rule itself is pure and lives in the planner
//! (`devlic_planner::choose_backend`); this module only connects and records the choice in the
//! live state, so plans and snapshots say which backend and why.

use devlic_applier::{AnyBackend, api_version};
use devlic_graph::ApiVersion;
use devlic_model::{Backend, BackendChoice, LiveState};
use devlic_spec::Spec;

use crate::cli::ConnectArgs;
use crate::connect;
use crate::error::CliError;
use crate::state::graph_error;

/// The backend fixed by `--backend` or by the spec, with the reason a plan shows; `None` when
/// devlic chooses (`settings.backend: auto`, or no spec).
pub fn fixed(flag: Option<Backend>, spec: Option<&Spec>) -> Option<BackendChoice> {
    let (backend, reason) = match flag {
        Some(b) => (b, format!("set by --backend {b}")),
        None => {
            let b = spec?.settings.backend.fixed()?;
            (b, format!("set by settings.backend: {b}"))
        }
    };
    Some(BackendChoice {
        backend,
        reason,
        automatic: false,
    })
}

/// Connects the backend `flag` or `spec` fixes, or probes the tenant's allotments and connects
/// the one they call for. Returns the backend and the choice to record in the live state.
pub async fn connect(
    args: &ConnectArgs,
    flag: Option<Backend>,
    spec: Option<&Spec>,
) -> Result<(AnyBackend, BackendChoice), CliError> {
    if let Some(choice) = fixed(flag, spec) {
        return Ok((connect::backend(args, choice.backend)?, choice));
    }
    let config = connect::config(args)?;
    let beta = connect::client_from(config.clone(), ApiVersion::Beta)?;
    let evidence = beta.probe_allotments().await.map_err(|e| {
        let mut error = graph_error(
            &e,
            "reading the tenant's cloudLicensing allotments (settings.backend: auto)",
            beta.token_kind(),
        );
        error.help = Some(
            "retry later, or set `settings.backend` (or pass --backend) to group-licensing or \
             cloud-licensing so devlic does not need to look"
                .to_owned(),
        );
        error
    })?;
    let choice = devlic_planner::choose_backend(spec, &evidence);
    tracing::info!(backend = %choice.backend, reason = %choice.reason, "chose the backend");
    // The probe's client serves a beta backend as it is; a v1.0 backend gets its own client
    // from the same configuration (same cached token: no second sign-in).
    let client = match api_version(choice.backend) {
        ApiVersion::Beta => beta,
        other => connect::client_from(config, other)?,
    };
    Ok((AnyBackend::new(choice.backend, client), choice))
}

/// For a state read from a snapshot: an explicit backend replaces the choice the snapshot
/// recorded (the plan then says why it was fixed); with `auto` the recorded choice stands.
pub fn apply_fixed(flag: Option<Backend>, spec: Option<&Spec>, live: &mut LiveState) {
    if let Some(choice) = fixed(flag, spec) {
        live.backend = Some(choice);
    }
}
