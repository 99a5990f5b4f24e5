//! `devlic snapshot --out FILE [PATH]`: save the tenant's licensing state for offline planning,
//! and reading such a file back for `plan --snapshot`.
//!
//! The file is [`SnapshotV1`]: `{ "formatVersion": 1, "state": LiveState }`. The state lists
//! every group of the tenant (so any spec naming existing groups can be planned from it), with
//! member counts and license errors for every group that is not a Microsoft 365 group (those are
//! what a plan can license), and records when and from which tenant and Graph root it was taken.

use std::io::Write;
use std::path::Path;

use devlic_graph::{GraphClient, LiveQuery};
use devlic_model::{Backend, GroupId, GroupKind, LiveState, StateSource};
use serde::{Deserialize, Serialize};

use crate::cli::SnapshotArgs;
use crate::connect;
use crate::error::CliError;
use crate::exit::Exit;
use crate::state::{api_version, graph_error, load_spec, sku_selector};

/// The only snapshot format version this build writes and reads.
pub const SNAPSHOT_FORMAT_VERSION: u32 = 1;

/// A snapshot file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SnapshotV1 {
    /// Always [`SNAPSHOT_FORMAT_VERSION`].
    pub format_version: u32,
    /// The tenant as read, with `source` = `snapshot`.
    pub state: LiveState,
}

/// Reads a snapshot file; the returned state is marked offline whatever the file says.
pub fn read(path: &Path) -> Result<LiveState, CliError> {
    let text = crate::file_io::read_regular_text(path, crate::file_io::MAX_SNAPSHOT_BYTES)
        .map_err(|e| CliError::read_file(path, &e))?;
    let bad = |detail: String| {
        CliError::new(
            format!("{}: not a devlic snapshot: {detail}", path.display()),
            "write one with `devlic snapshot --out FILE` (with this version of devlic)",
        )
    };
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    match value
        .get("formatVersion")
        .and_then(serde_json::Value::as_u64)
    {
        Some(v) if v == u64::from(SNAPSHOT_FORMAT_VERSION) => {}
        Some(v) => {
            return Err(bad(format!(
                "formatVersion {v} is not supported (this devlic reads {SNAPSHOT_FORMAT_VERSION})"
            )));
        }
        None => return Err(bad("no integer `formatVersion` field".to_owned())),
    }
    let snapshot: SnapshotV1 = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
    let mut state = snapshot.state;
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
pub async fn take(
    client: &GraphClient,
    query: LiveQuery,
    backend: Backend,
) -> Result<LiveState, CliError> {
    let query = LiveQuery {
        include_all_groups: true,
        ..query
    };
    // A cloud-licensing spec plans against the cloud view (allotments and assignments), so
    // its snapshot records that view.
    let live = match backend {
        Backend::GroupLicensing => client.read_live(&query).await,
        Backend::CloudLicensing => client.read_live_cloud(&query).await,
    };
    let mut live = live.map_err(|e| graph_error(&e, "reading the tenant"))?;
    // Microsoft 365 groups cannot hold device licenses; counting their members would only cost
    // requests. Every other group may be named by a future spec, so its counts are recorded.
    let ids: Vec<GroupId> = live
        .groups
        .values()
        .filter(|g| g.kind() != GroupKind::Microsoft365 || !g.assigned_licenses.is_empty())
        .map(|g| g.id)
        .collect();
    if !ids.is_empty() {
        client
            .read_group_details(&mut live, &ids)
            .await
            .map_err(|e| graph_error(&e, "reading member counts and license errors"))?;
    }
    live.source = offline(live.source);
    Ok(live)
}

/// Runs `snapshot`.
pub async fn run(args: &SnapshotArgs, err: &mut dyn Write) -> Result<Exit, CliError> {
    let mut backend = Backend::GroupLicensing;
    let query = match &args.path {
        Some(path) => {
            let loaded = load_spec(path)?;
            backend = loaded.spec.settings.backend;
            LiveQuery {
                device_skus: loaded
                    .spec
                    .settings
                    .device_skus
                    .iter()
                    .map(sku_selector)
                    .collect(),
                ..LiveQuery::default()
            }
        }
        None => LiveQuery::default(),
    };
    let client = connect::client(&args.connect, api_version(backend))?;
    let state = take(&client, query, backend).await?;
    let snapshot = SnapshotV1 {
        format_version: SNAPSHOT_FORMAT_VERSION,
        state,
    };
    let mut json = serde_json::to_string_pretty(&snapshot).map_err(|e| {
        CliError::new(
            format!("cannot encode the snapshot: {e}"),
            "this is a bug in devlic; please report it",
        )
    })?;
    json.push('\n');
    crate::file_io::write_private(&args.out, json.as_bytes())
        .map_err(|e| CliError::write_file(&args.out, &e))?;
    let s = &snapshot.state;
    writeln!(
        err,
        "wrote {}: {} groups and {} subscriptions of {} ({}), taken at {} ({} Graph requests)",
        args.out.display(),
        s.groups.len(),
        s.skus.len(),
        devlic_model::display::sanitize(s.tenant.display_name.as_deref().unwrap_or("the tenant")),
        devlic_model::display::sanitize(&s.tenant.id),
        s.taken_at,
        client.requests_made()
    )?;
    Ok(Exit::Success)
}
