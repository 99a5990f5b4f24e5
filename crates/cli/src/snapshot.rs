//! `devlic snapshot --out FILE [PATH]`: save the tenant's licensing state for offline planning,
//! and reading such a file back for `plan --snapshot`.
//!
//! The file format is `devlic_planner::wire::snapshot::SnapshotV1`
//! (`{ "formatVersion": 1, "state": { … } }`, schema in `schemas/snapshot.schema.json`); this
//! module only reads and writes the file. The state lists every group of the tenant (so any spec
//! naming existing groups can be planned from it), with member counts and license errors for
//! every group that is not a Microsoft 365 group (those are what a plan can license), and
//! records when and from which tenant and Graph root it was taken.

use std::io::Write;
use std::path::Path;

use devlic_applier::{AnyBackend, LicensingBackend};
use devlic_graph::LiveQuery;
use devlic_model::{GroupId, GroupKind, LiveState, StateSource};
use devlic_planner::wire::snapshot;

use crate::cli::SnapshotArgs;
use crate::error::CliError;
use crate::exit::Exit;
use crate::state::{load_spec, read_error, sku_selector};

/// Reads a snapshot file; the returned state is marked offline whatever the file says.
pub fn read(path: &Path) -> Result<LiveState, CliError> {
    let text = crate::file_io::read_regular_text(path, crate::file_io::MAX_SNAPSHOT_BYTES)
        .map_err(|e| CliError::read_file(path, &e))?;
    let mut state = snapshot::parse(&text).map_err(|e| {
        let help = match &e {
            snapshot::SnapshotError::UnsupportedVersion { found }
                if *found > u64::from(snapshot::SNAPSHOT_FORMAT_VERSION) =>
            {
                "the snapshot was written by a newer devlic: upgrade devlic, or write the \
                 snapshot again with this version (`devlic snapshot --out FILE`)"
            }
            _ => "write one with `devlic snapshot --out FILE` (with this version of devlic)",
        };
        CliError::new(
            format!("{}: not a devlic snapshot: {e}", path.display()),
            help,
        )
    })?;
    state.source = offline(state.source);
    Ok(state)
}

fn offline(source: StateSource) -> StateSource {
    match source {
        StateSource::Graph { graph_url } | StateSource::Snapshot { graph_url } => {
            StateSource::Snapshot { graph_url }
        }
    }
}

/// Reads the whole tenant the way a snapshot records it.
pub async fn take(backend: &AnyBackend, query: LiveQuery) -> Result<LiveState, CliError> {
    let query = LiveQuery {
        include_all_groups: true,
        ..query
    };
    // A cloud-licensing spec plans against the cloud view (allotments and assignments), so
    // its snapshot records that view.
    let mut live = backend
        .read_live(&query)
        .await
        .map_err(|e| read_error(&e, backend))?;
    // Microsoft 365 groups cannot hold device licenses; counting their members would only cost
    // requests. Every other group may be named by a future spec, so its counts are recorded.
    let ids: Vec<GroupId> = live
        .groups
        .values()
        .filter(|g| g.kind() != GroupKind::Microsoft365 || !g.assigned_licenses.is_empty())
        .map(|g| g.id)
        .collect();
    if !ids.is_empty() {
        backend
            .read_group_details(&mut live, &ids)
            .await
            .map_err(|e| read_error(&e, backend))?;
    }
    live.source = offline(live.source);
    Ok(live)
}

/// Runs `snapshot`. The backend is chosen like `plan` chooses it (the spec's
/// `settings.backend`, or the tenant's evidence), and recorded in the file.
pub async fn run(args: &SnapshotArgs, err: &mut dyn Write) -> Result<Exit, CliError> {
    let loaded = args.path.as_deref().map(load_spec).transpose()?;
    let query = match &loaded {
        Some(loaded) => LiveQuery {
            device_skus: loaded
                .spec
                .settings
                .device_skus
                .iter()
                .map(sku_selector)
                .collect(),
            ..LiveQuery::default()
        },
        None => LiveQuery::default(),
    };
    let spec = loaded.as_ref().map(|l| &l.spec);
    let (backend, choice) = crate::backend_choice::connect(&args.connect, None, spec).await?;
    let mut s = take(&backend, query).await?;
    s.backend = Some(choice);
    let json = snapshot::to_json(&s).map_err(|e| {
        CliError::new(
            format!("cannot encode the snapshot: {e}"),
            "this is a bug in devlic; please report it",
        )
    })?;
    crate::file_io::write_private(&args.out, json.as_bytes())
        .map_err(|e| CliError::write_file(&args.out, &e))?;
    writeln!(
        err,
        "wrote {}: {} groups and {} subscriptions of {} ({}), taken at {} ({} Graph requests)",
        args.out.display(),
        s.groups.len(),
        s.skus.len(),
        devlic_model::display::sanitize(s.tenant.display_name.as_deref().unwrap_or("the tenant")),
        devlic_model::display::sanitize(&s.tenant.id),
        s.taken_at,
        backend.client().requests_made()
    )?;
    Ok(Exit::Success)
}
