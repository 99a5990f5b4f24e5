//! Benchmark: `read_live` in steady state against the in-process simulator with 50 ms injected
//! latency per response, on a tenant of 10,000 groups that all hold a device SKU and are all named
//! by the query (as a spec mapping every one of them would). Prints requests made, wall time and
//! peak memory (VmHWM).
//!
//! Run: `cargo run --release -p devlic-graph --example bench_read_live [GROUPS]`.

// A benchmark: printing its numbers is the point.
#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use devlic_graph::auth::StaticToken;
use devlic_graph::{ClientConfig, GraphClient, LiveQuery};
use devlic_graph_sim::{AssignedLicense, Faults, Sim, SimConfig};
use secrecy::SecretString;

const DEVICE1: &str = "ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7";
const EDU: &str = "e6564056-c8cb-4977-a87c-45c90fe87ea9";

/// Peak resident set size of this process, from /proc (Linux only).
fn vm_hwm() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_owned())
        })
        .unwrap_or_else(|| "unavailable".to_owned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let groups: usize = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 10_000,
    };
    let mut tenant = devlic_graph_sim::generate(groups, 0, 42);
    // Every group holds a device SKU: two thirds DEVICE1, one third EDUCATION.
    for (i, g) in tenant.groups.iter_mut().enumerate() {
        let sku = if i % 3 == 2 { EDU } else { DEVICE1 };
        g.assigned_licenses = vec![AssignedLicense {
            sku_id: sku.to_owned(),
            disabled_plans: Vec::new(),
            allotment_id: None,
        }];
    }
    let names: Vec<String> = tenant
        .groups
        .iter()
        .map(|g| g.display_name.clone())
        .collect();
    let sim = Sim::start(tenant, SimConfig::default()).await?;
    sim.set_faults(Faults {
        latency: Some(Duration::from_millis(50)),
        ..Faults::default()
    });
    let config = ClientConfig::new(
        sim.url().parse()?,
        Arc::new(StaticToken::new(SecretString::from(sim.issue_token()))),
    );
    let client = GraphClient::new(config)?;
    let query = LiveQuery {
        group_names: names,
        ..LiveQuery::default()
    };

    let started = Instant::now();
    let live = client.read_live(&query).await?;
    let wall = started.elapsed();

    let bound = 1 + (groups as u64).div_ceil(999) + 2;
    println!("groups in tenant (all holding a device SKU): {groups}");
    println!(
        "groups read:                                 {}",
        live.groups.len()
    );
    println!(
        "requests made:                               {}",
        client.requests_made()
    );
    println!("request bound 1 + ceil(n/999) + 2:           {bound}");
    println!("wall time (50 ms injected latency):          {wall:.2?}");
    println!("peak memory (VmHWM, client + simulator):     {}", vm_hwm());

    let started = Instant::now();
    let sample: Vec<_> = live.groups.keys().take(200).copied().collect();
    let before = client.requests_made();
    let counts = client.read_member_counts(&sample).await?;
    println!(
        "member counts of {} groups:                 {} requests, {:.2?}",
        counts.len(),
        client.requests_made() - before,
        started.elapsed()
    );
    sim.shutdown().await;
    Ok(())
}
