//! A simulator, a Graph client and a backend, wired like `devlic apply` wires them.

use std::path::Path;
use std::sync::Arc;

use devlic_applier::GroupLicensing;
use devlic_graph::auth::StaticToken;
use devlic_graph::{ClientConfig, GraphClient, LiveQuery, SkuSelector};
use devlic_graph_sim::{Faults, LoggedRequest, Sim, SimConfig, Tenant};
use devlic_model::Plan;
use devlic_spec::{GroupSelector, SourceFile, Spec};
use secrecy::SecretString;

pub struct Env {
    pub sim: Sim,
    pub backend: GroupLicensing,
}

fn repo(path: &str) -> String {
    format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))
}

/// The Contoso fixture as JSON, for tests that adjust it.
pub fn contoso() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(repo("examples/tenants/contoso.json")).unwrap())
        .unwrap()
}

/// Contoso with enough DEVICE1 units for the whole plan (the fixture is short by 6 on purpose).
pub fn contoso_with_room() -> serde_json::Value {
    let mut t = contoso();
    for sku in t["subscribedSkus"].as_array_mut().unwrap() {
        if sku["skuPartNumber"] == "OFFICE_PROPLUS_DEVICE1" {
            sku["prepaidUnits"]["enabled"] = 200.into();
        }
    }
    t
}

pub async fn start(tenant: &serde_json::Value, faults: Faults) -> Env {
    let tenant = Tenant::from_json(&tenant.to_string()).unwrap();
    let sim = Sim::start(
        tenant,
        SimConfig {
            seed: 7,
            faults,
            ..SimConfig::default()
        },
    )
    .await
    .unwrap();
    let backend = GroupLicensing::new(client(&sim));
    Env { sim, backend }
}

pub fn client(sim: &Sim) -> GraphClient {
    let token = Arc::new(StaticToken::new(SecretString::from(sim.issue_token())));
    let url = url::Url::parse(&sim.url()).unwrap();
    GraphClient::new(ClientConfig::new(url, token)).unwrap()
}

/// Loads a spec from the repository's examples.
pub fn example_spec(dir: &str) -> Spec {
    let root = Path::new(&repo(dir)).to_path_buf();
    let mut paths: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    paths.sort();
    let sources: Vec<SourceFile> = paths
        .iter()
        .map(|p| SourceFile {
            path: p.display().to_string(),
            bytes: std::fs::read(p).unwrap(),
        })
        .collect();
    devlic_spec::load(&sources).unwrap()
}

/// Loads a spec written inline.
pub fn spec(yaml: &str) -> Spec {
    devlic_spec::load(&[SourceFile {
        path: "test.yaml".into(),
        bytes: yaml.as_bytes().to_vec(),
    }])
    .unwrap()
}

/// Plans `spec` against the simulator the way `devlic plan` does: read, inspect the groups the
/// plan touches, plan again.
pub async fn plan(env: &Env, spec: &Spec) -> Plan {
    let client = env.backend.client();
    let query = LiveQuery {
        device_skus: spec
            .settings
            .device_skus
            .iter()
            .map(|s| match s {
                devlic_spec::SkuSelector::Id(id) => SkuSelector::Id(*id),
                devlic_spec::SkuSelector::PartNumber(p) => SkuSelector::PartNumber(p.clone()),
            })
            .collect(),
        group_ids: spec
            .assignments
            .iter()
            .filter_map(|a| match &a.group {
                GroupSelector::Id(id) => Some(*id),
                GroupSelector::Name(_) => None,
            })
            .collect(),
        group_names: spec
            .assignments
            .iter()
            .filter_map(|a| match &a.group {
                GroupSelector::Name(n) => Some(n.clone()),
                GroupSelector::Id(_) => None,
            })
            .collect(),
        include_all_groups: false,
    };
    let mut live = client.read_live(&query).await.unwrap();
    let touched = devlic_planner::groups_to_inspect(spec, &live);
    client
        .read_group_details(&mut live, &touched)
        .await
        .unwrap();
    devlic_planner::plan(spec, &live).unwrap()
}

/// Top-level requests (not batch items), as `METHOD path` without the query.
pub fn calls(log: &[LoggedRequest]) -> Vec<String> {
    log.iter()
        .filter(|r| r.batch_item.is_none())
        .map(|r| {
            let path = r.path_and_query.split('?').next().unwrap_or_default();
            format!("{} {path}", r.method)
        })
        .collect()
}

/// `assignLicense` calls, as `group-id` (top level or batched).
pub fn writes(log: &[LoggedRequest]) -> Vec<String> {
    log.iter()
        .filter(|r| r.method == "POST" && r.path_and_query.ends_with("/assignLicense"))
        .map(|r| {
            r.path_and_query
                .split('/')
                .nth(3)
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}
