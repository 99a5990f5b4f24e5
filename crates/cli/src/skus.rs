//! `devlic skus`: the tenant's device subscriptions, their units and the groups holding each.

use std::fmt::Write as _;
use std::io::Write;

use anstyle::Style;
use devlic_graph::{ApiVersion, LiveQuery};
use devlic_model::display::sanitize;
use devlic_model::{GroupRef, LiveState, Sku};
use serde::Serialize;

use crate::cli::{Format, SkusArgs};
use crate::connect;
use crate::error::CliError;
use crate::exit::Exit;
use crate::export::device_skus;
use crate::state::graph_error;

const BOLD: Style = Style::new().bold();

/// One device SKU, as `--format json` prints it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SkuLine<'a> {
    sku_id: String,
    sku_part_number: &'a str,
    /// The admin center's product name, when devlic knows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    product_name: Option<&'static str>,
    capability_status: devlic_model::CapabilityStatus,
    prepaid_enabled: u64,
    consumed: u64,
    available: i64,
    groups: Vec<GroupRef>,
}

fn lines(live: &LiveState) -> Vec<SkuLine<'_>> {
    let device = device_skus(live);
    let mut skus: Vec<&Sku> = live
        .skus
        .iter()
        .filter(|s| device.contains(&s.sku_id))
        .collect();
    skus.sort_by(|a, b| a.sku_part_number.cmp(&b.sku_part_number));
    skus.into_iter()
        .map(|s| {
            let mut groups: Vec<GroupRef> = live
                .groups
                .values()
                .filter(|g| g.assigned_licenses.iter().any(|l| l.sku_id == s.sku_id))
                .map(|g| GroupRef {
                    id: g.id,
                    display_name: g.display_name.clone(),
                })
                .collect();
            groups.sort_by(|a, b| {
                a.display_name
                    .to_lowercase()
                    .cmp(&b.display_name.to_lowercase())
                    .then(a.id.cmp(&b.id))
            });
            SkuLine {
                sku_id: s.sku_id.to_string(),
                sku_part_number: &s.sku_part_number,
                product_name: devlic_model::product_name(s.sku_id, &s.sku_part_number),
                capability_status: s.capability_status,
                prepaid_enabled: s.prepaid_units.enabled,
                consumed: s.consumed_units,
                available: s.available(),
                groups,
            }
        })
        .collect()
}

fn text(live: &LiveState, lines: &[SkuLine<'_>]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Device subscriptions of {} ({}):",
        sanitize(live.tenant.display_name.as_deref().unwrap_or("the tenant")),
        sanitize(&live.tenant.id)
    );
    if lines.is_empty() {
        out.push_str("  none: the tenant has no Microsoft 365 Apps device subscription\n");
    }
    for l in lines {
        let _ = writeln!(
            out,
            "\n{BOLD}{}{BOLD:#}{} ({}, {:?})\n  {} enabled, {} consumed, {} available",
            sanitize(l.sku_part_number),
            l.product_name.map(|p| format!(": {p}")).unwrap_or_default(),
            l.sku_id,
            l.capability_status,
            l.prepaid_enabled,
            l.consumed,
            l.available
        );
        if l.groups.is_empty() {
            out.push_str("  held by no group\n");
        }
        for g in &l.groups {
            let _ = writeln!(out, "  - {} ({})", sanitize(&g.display_name), g.id);
        }
    }
    out
}

/// Runs `skus`.
pub async fn run(args: &SkusArgs, out: &mut dyn Write) -> Result<Exit, CliError> {
    let client = connect::client(&args.connect, ApiVersion::V1)?;
    // Holders of every device SKU are part of the default read.
    let live = client
        .read_live(&LiveQuery::default())
        .await
        .map_err(|e| graph_error(&e, "reading the tenant", client.token_kind()))?;
    let lines = lines(&live);
    match args.format {
        Format::Text => out.write_all(text(&live, &lines).as_bytes())?,
        Format::Json => {
            let json = serde_json::to_string_pretty(&lines).map_err(|e| {
                CliError::new(format!("cannot encode: {e}"), "this is a bug in devlic")
            })?;
            writeln!(out, "{json}")?;
        }
    }
    Ok(Exit::Success)
}
