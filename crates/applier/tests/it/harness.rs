//! A simulator, a Graph client and a backend, wired like `devlic apply` wires them.

use std::path::Path;
use std::sync::Arc;

use devlic_applier::{AnyBackend, LicensingBackend};
use devlic_graph::auth::StaticToken;
use devlic_graph::{ApiVersion, ClientConfig, GraphClient, LiveQuery};
use devlic_graph_sim::{Faults, LoggedRequest, Sim, SimConfig, Tenant};
use devlic_model::{ActionKind, Backend, Plan};
use devlic_spec::{GroupSelector, SourceFile, Spec};
use secrecy::SecretString;

/// Which licensing backend a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Graph v1.0 assignLicense.
    Group,
    /// Graph beta cloudLicensing.
    Cloud,
}

pub struct Env {
    pub sim: Sim,
    pub backend: AnyBackend,
    pub kind: Kind,
}

/// Runs a test body `async fn name(kind: Kind)` once per backend, as `name::group_licensing`
/// and `name::cloud_licensing`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn group_licensing() {
                    super::$name($crate::harness::Kind::Group).await;
                }
                #[tokio::test]
                async fn cloud_licensing() {
                    super::$name($crate::harness::Kind::Cloud).await;
                }
            }
        )*
    };
}

/// Write requests the backend sends for `plan`'s actions: one `assignLicense` each on
/// group-licensing; on cloud-licensing a create (assign), a delete (revoke), or both (swap).
pub fn expected_writes(kind: Kind, plan: &Plan) -> u64 {
    plan.actions
        .iter()
        .map(|a| match (kind, a.kind) {
            (Kind::Cloud, ActionKind::Swap) => 2,
            _ => 1,
        })
        .sum()
}

pub fn repo(path: &str) -> String {
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
    start_on(Kind::Group, tenant, faults).await
}

pub async fn start_on(kind: Kind, tenant: &serde_json::Value, faults: Faults) -> Env {
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
    let backend = match kind {
        Kind::Group => AnyBackend::new(Backend::GroupLicensing, client(&sim)),
        Kind::Cloud => AnyBackend::new(Backend::CloudLicensing, beta_client(&sim)),
    };
    Env { sim, backend, kind }
}

pub fn client(sim: &Sim) -> GraphClient {
    let token = Arc::new(StaticToken::new(SecretString::from(sim.issue_token())));
    let url = url::Url::parse(&sim.url()).unwrap();
    GraphClient::new(ClientConfig::new(url, token)).unwrap()
}

/// A client for `/beta`, as the cloud-licensing backend needs.
pub fn beta_client(sim: &Sim) -> GraphClient {
    let token = Arc::new(StaticToken::new(SecretString::from(sim.issue_token())));
    let url = url::Url::parse(&sim.url()).unwrap();
    let mut config = ClientConfig::new(url, token);
    config.api_version = ApiVersion::Beta;
    GraphClient::new(config).unwrap()
}

/// A `/beta` client signed in as one of the tenant file's identities (e.g. SECURITY.md's
/// least-privileged `devlic-apply-cloud`).
pub fn beta_client_as(sim: &Sim, identity: &str) -> GraphClient {
    let token = sim
        .issue_token_for(identity)
        .unwrap_or_else(|| panic!("the tenant file lists no application {identity}"));
    let url = url::Url::parse(&sim.url()).unwrap();
    let mut config = ClientConfig::new(url, Arc::new(StaticToken::new(SecretString::from(token))));
    config.api_version = ApiVersion::Beta;
    GraphClient::new(config).unwrap()
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
/// plan touches, plan again. On cloud-licensing the spec's backend is switched and the live
/// state is read with `read_live_cloud`.
pub async fn plan(env: &Env, spec: &Spec) -> Plan {
    let mut spec = spec.clone();
    spec.settings.backend = devlic_model::BackendSetting::Fixed(if env.kind == Kind::Cloud {
        Backend::CloudLicensing
    } else {
        Backend::GroupLicensing
    });
    let spec = &spec;
    let query = LiveQuery {
        device_skus: spec.settings.device_skus.clone(),
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
    let mut live = env.backend.read_live(&query).await.unwrap();
    let touched = devlic_planner::plan(spec, &live).unwrap().groups_written();
    env.backend
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

/// License writes of either API (top level or batched), as `group-id` for `assignLicense` and
/// cloudLicensing creates, `delete:{assignment-id}` for cloudLicensing deletes.
pub fn writes(log: &[LoggedRequest]) -> Vec<String> {
    log.iter()
        .filter_map(|r| {
            let path = r.path_and_query.split('?').next().unwrap_or_default();
            if r.method == "DELETE" && path.contains("/cloudLicensing/assignments/") {
                return Some(format!(
                    "delete:{}",
                    path.rsplit('/').next().unwrap_or_default()
                ));
            }
            let post = r.method == "POST"
                && (path.ends_with("/assignLicense")
                    || path.ends_with("/cloudLicensing/assignments"));
            post.then(|| path.split('/').nth(3).unwrap_or_default().to_owned())
        })
        .collect()
}

/// Top-level requests other than GETs and `$batch` (the writes), as `calls` shows them.
pub fn write_calls(env: &Env) -> Vec<String> {
    calls(&env.sim.request_log())
        .into_iter()
        .filter(|c| !c.starts_with("GET ") && !c.ends_with("/$batch"))
        .collect()
}

/// Apply options for transcript-like tests: one group at a time, short polls, a 10 s wait.
pub fn one_at_a_time() -> devlic_applier::ApplyOptions {
    devlic_applier::ApplyOptions {
        concurrency: 1,
        poll_interval: std::time::Duration::from_millis(20),
        verify_timeout: std::time::Duration::from_secs(10),
        ..devlic_applier::ApplyOptions::default()
    }
}

/// Clears the simulator's request log, applies `plan` one group at a time and requires the run
/// to succeed: the log then holds exactly this apply's requests.
pub async fn apply_cleanly(env: &Env, plan: &Plan) -> devlic_applier::RunReport {
    env.sim.clear_request_log();
    let report = devlic_applier::apply(plan, &env.backend, &one_at_a_time(), &())
        .await
        .unwrap();
    assert!(report.success, "{}", report.to_json());
    report
}
