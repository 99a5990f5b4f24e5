//! `devlic export`: a spec for the tenant as it is, so an existing tenant is brought under
//! devlic in one step (`devlic export > devlic.yaml && devlic plan devlic.yaml` shows no changes).

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::io::Write;

use devlic_graph::{ApiVersion, LiveQuery};
use devlic_model::display::sanitize;
use devlic_model::{Group, LiveState, SkuId, known_skus};

use crate::cli::{ConnectArgs, ExportArgs};
use crate::connect;
use crate::error::CliError;
use crate::exit::Exit;
use crate::state::graph_error;

/// The device SKUs of a tenant: the ones devlic knows, by id or part number.
pub fn device_skus(live: &LiveState) -> BTreeSet<SkuId> {
    live.skus
        .iter()
        .filter(|s| known_skus::is_device_sku(s.sku_id, &s.sku_part_number, &[]))
        .map(|s| s.sku_id)
        .collect()
}

/// A YAML double-quoted scalar: JSON string syntax is valid YAML and escapes everything.
fn quoted(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// The spec text for `live`.
pub fn spec_yaml(live: &LiveState) -> String {
    let device = device_skus(live);
    let mut holders: Vec<&Group> = live
        .groups
        .values()
        .filter(|g| g.held(&device).next().is_some())
        .collect();
    // Each key lowercased once, not twice per comparison.
    holders.sort_by_cached_key(|g| (g.display_name.to_lowercase(), g.id));
    let mut y = String::new();
    let _ = writeln!(
        y,
        "# yaml-language-server: $schema=devlic.schema.json\n\
         # (write the schema next to this file with `devlic schema > devlic.schema.json`)\n\
         #\n\
         # Exported by devlic {} from {} ({}) at {}:\n\
         # one assignment per group that holds a device subscription.",
        env!("CARGO_PKG_VERSION"),
        // In a comment: a line break in the name would otherwise end the comment and inject
        // YAML (a `settings:` of its own) into the exported spec.
        sanitize(live.tenant.display_name.as_deref().unwrap_or("the tenant")),
        sanitize(&live.tenant.id),
        live.taken_at
    );
    y.push_str("apiVersion: devlic/v1\nkind: DeviceLicenses\n");
    // Domains come initial-first from the Graph reader; a tenant without one keeps its id.
    let tenant = live
        .tenant
        .domains
        .first()
        .cloned()
        .unwrap_or_else(|| live.tenant.id.clone());
    let _ = writeln!(y, "tenant: {}", quoted(&tenant));
    y.push_str(
        "settings:\n  # Groups not listed are reported, never touched. Turn it on once this file is\n  \
         # the whole truth.\n  prune: false\n",
    );
    if holders.is_empty() {
        y.push_str("assignments: []\n");
        return y;
    }
    y.push_str("assignments:\n");
    // How many groups carry each name (the comparison of `LiveState::groups_named`, ASCII
    // case-insensitive), counted once: asking `groups_named` per holder scanned every group for
    // every holder, quadratic in the tenant (86 s of CPU at 80,000 groups).
    let mut name_counts: HashMap<String, usize> = HashMap::with_capacity(live.groups.len());
    for g in live.groups.values() {
        *name_counts
            .entry(g.display_name.to_ascii_lowercase())
            .or_default() += 1;
    }
    for g in holders {
        let unique = name_counts
            .get(&g.display_name.to_ascii_lowercase())
            .is_none_or(|&n| n == 1);
        if unique {
            let _ = writeln!(y, "  - group: {}", quoted(&g.display_name));
        } else {
            let _ = writeln!(
                y,
                "  - group: {{ id: {} }}  # {}: the name is not unique in the tenant",
                g.id,
                sanitize(&quoted(&g.display_name))
            );
        }
        let held: Vec<_> = g.held(&device).collect();
        if held.len() > 1 {
            let _ = writeln!(
                y,
                "    # this group holds {} device subscriptions; devlic plans need one: remove the others",
                held.len()
            );
        }
        let Some(license) = held.first() else {
            continue;
        };
        let sku = live.sku(license.sku_id);
        let name = sku.map_or_else(|| license.sku_id.to_string(), |s| s.sku_part_number.clone());
        let _ = writeln!(y, "    subscription: {}", quoted(&name));
        if !license.disabled_plans.is_empty() {
            let plans: Vec<String> = license
                .disabled_plans
                .iter()
                .map(|p| {
                    let by_name = sku.and_then(|s| {
                        s.service_plans
                            .iter()
                            .find(|sp| sp.service_plan_id == *p)
                            .map(|sp| sp.service_plan_name.clone())
                    });
                    quoted(&by_name.unwrap_or_else(|| p.to_string()))
                })
                .collect();
            let _ = writeln!(y, "    disabledPlans: [{}]", plans.join(", "));
        }
    }
    y
}

/// Reads what a spec of the tenant as it is needs (`export`, and `init` online): the device
/// subscriptions, their holders and every group, so a display name is only used where no other
/// group carries it.
pub async fn read_tenant(connect: &ConnectArgs) -> Result<LiveState, CliError> {
    let client = connect::client(connect, ApiVersion::V1)?;
    client
        .read_live(&LiveQuery {
            include_all_groups: true,
            ..LiveQuery::default()
        })
        .await
        .map_err(|e| graph_error(&e, "reading the tenant", client.token_kind()))
}

/// Runs `export`.
pub async fn run(
    args: &ExportArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Exit, CliError> {
    let live = read_tenant(&args.connect).await?;
    let yaml = spec_yaml(&live);
    match &args.out {
        Some(path) => {
            crate::file_io::write_private(path, yaml.as_bytes())
                .map_err(|e| CliError::write_file(path, &e))?;
            writeln!(
                err,
                "wrote {}; check it with `devlic plan {}` (it should show no changes)",
                path.display(),
                path.display()
            )?;
        }
        None => out.write_all(yaml.as_bytes())?,
    }
    Ok(Exit::Success)
}
