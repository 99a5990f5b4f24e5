//! The fault matrix: a plan of about 500 actions applied under each injected fault alone and
//! all together, on both backends (`<case>::group_licensing`, `<case>::cloud_licensing`).
//! Afterwards (allowing one rerun when the first run reported a failure) the tenant equals the
//! spec, no group outside the plan was written, and no write landed twice for one action unless
//! a re-read had shown the first one did not land. On cloud-licensing that is strict: a create
//! is never resent, so each group gets at most the writes its action needs (one; two for a
//! swap), counted over both runs.
//!
//! Run with `cargo test -p devlic-applier faults -- --nocapture` to see the counts.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use devlic_applier::{ApplyOptions, RunReport, apply};
use devlic_graph::auth::StaticToken;
use devlic_graph::{ApiVersion, ClientConfig, GraphClient, RetryPolicy};
use devlic_graph_sim::{Faults, LoggedRequest, Sim, SimConfig, Tenant};
use devlic_model::{ActionKind, Backend, Plan};
use secrecy::SecretString;

use crate::harness::{Env, Kind, plan, spec};

const DEVICE1: &str = "ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7";

/// 750 generated groups; the spec gives every group DEVICE1 except every tenth current holder,
/// which it revokes: about 375 assigns, 125 swaps and 25 revokes.
///
/// With `moves` (cloud-licensing only), DEVICE1 has two allotments: every current holder draws
/// from `d1-old`, and the spec names `d1-new` for every present entry, so the holders the plain
/// scenario leaves alone each get a move (create on `d1-new`, delete on `d1-old`).
fn scenario(moves: bool) -> (serde_json::Value, String) {
    let tenant = devlic_graph_sim::generate(750, 1500, 11);
    let mut json: serde_json::Value = serde_json::from_str(&tenant.to_json()).unwrap();
    if moves {
        with_two_allotments(&mut json);
    }
    let mut yaml = String::from(
        "apiVersion: devlic/v1\nkind: DeviceLicenses\nsettings:\n  maxRevocations: 1000\n  maxRevokePercent: 100\nassignments:\n",
    );
    let mut holders = 0;
    for g in json["groups"].as_array().unwrap() {
        let name = g["displayName"].as_str().unwrap();
        let holds_device1 = g["assignedLicenses"]
            .as_array()
            .is_some_and(|ls| ls.iter().any(|l| l["skuId"] == DEVICE1));
        if holds_device1 {
            holders += 1;
        }
        if holds_device1 && holders % 10 == 0 {
            let _ = writeln!(yaml, "  - group: \"{name}\"\n    state: absent");
        } else {
            let _ = writeln!(
                yaml,
                "  - group: \"{name}\"\n    subscription: OFFICE_PROPLUS_DEVICE1"
            );
            if moves {
                let _ = writeln!(yaml, "    allotment: d1-new");
            }
        }
    }
    (json, yaml)
}

/// Splits DEVICE1 into the allotments `d1-old` (every current holder, its units) and `d1-new`
/// (room for every device of the tenant).
fn with_two_allotments(json: &mut serde_json::Value) {
    let devices = json["devices"].as_array().map_or(0, Vec::len) as i64;
    let sku = json["subscribedSkus"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|s| s["skuId"] == DEVICE1)
        .unwrap();
    let used = sku["consumedUnits"].as_i64().unwrap();
    sku["prepaidUnits"]["enabled"] = (used + devices + 100).into();
    json["allotments"] = serde_json::json!([
        {"id": "d1-old", "skuId": DEVICE1, "allottedUnits": used, "consumedUnits": used,
         "assignableTo": "group,device"},
        {"id": "d1-new", "skuId": DEVICE1, "allottedUnits": devices + 100, "consumedUnits": 0,
         "assignableTo": "group,device"},
    ]);
    for g in json["groups"].as_array_mut().unwrap() {
        for l in g["assignedLicenses"].as_array_mut().into_iter().flatten() {
            if l["skuId"] == DEVICE1 {
                l["allotmentId"] = "d1-old".into();
            }
        }
    }
}

async fn start(kind: Kind, tenant: &serde_json::Value, seed: u64) -> Env {
    let tenant = Tenant::from_json(&tenant.to_string()).unwrap();
    let sim = Sim::start(
        tenant,
        SimConfig {
            seed,
            ..SimConfig::default()
        },
    )
    .await
    .unwrap();
    let token = Arc::new(StaticToken::new(SecretString::from(sim.issue_token())));
    let mut config = ClientConfig::new(url::Url::parse(&sim.url()).unwrap(), token);
    // Short backoffs keep the matrix fast; Retry-After from the simulator is honoured as is.
    config.retry = RetryPolicy {
        base: Duration::from_millis(10),
        cap: Duration::from_millis(200),
        max_elapsed: Duration::from_secs(120),
    };
    config.jitter_seed = Some(seed);
    config.timeouts.request = Duration::from_secs(10);
    let backend = match kind {
        Kind::Group => Backend::GroupLicensing,
        Kind::Cloud => {
            config.api_version = ApiVersion::Beta;
            Backend::CloudLicensing
        }
    };
    let backend = devlic_applier::AnyBackend::new(backend, GraphClient::new(config).unwrap());
    Env { sim, backend, kind }
}

fn options() -> ApplyOptions {
    ApplyOptions {
        poll_interval: Duration::from_millis(50),
        verify_timeout: Duration::from_secs(10),
        ..ApplyOptions::default()
    }
}

/// Write requests per group id that may have changed the tenant (accepted, or applied with the
/// response lost): `assignLicense` (202) and the cloudLicensing group routes (create 201,
/// update 200, delete 204).
fn landed_writes(log: &[LoggedRequest]) -> BTreeMap<String, u32> {
    let mut out = BTreeMap::new();
    for r in log.iter().filter(|r| r.batch_item.is_none()) {
        let path = r.path_and_query.split('?').next().unwrap_or_default();
        let landed = match (r.method.as_str(), r.status) {
            ("POST", 202) => path.ends_with("/assignLicense"),
            ("POST", 201) => path.ends_with("/cloudLicensing/assignments"),
            ("PATCH", 200) | ("DELETE", 204) => path.contains("/cloudLicensing/assignments/"),
            _ => false,
        };
        if landed {
            let id = path.split('/').nth(3).unwrap_or_default().to_owned();
            *out.entry(id).or_default() += 1;
        }
    }
    out
}

fn attempts(reports: &[RunReport]) -> BTreeMap<String, u32> {
    let mut out = BTreeMap::new();
    for r in reports {
        for a in &r.actions {
            *out.entry(a.group.id.to_string()).or_default() += a.attempts;
        }
    }
    out
}

async fn run_matrix_case(kind: Kind, name: &str, faults: Faults, seed: u64) {
    run_case(kind, name, faults, seed, false).await;
}

async fn run_case(kind: Kind, name: &str, faults: Faults, seed: u64, moves: bool) {
    let (tenant, yaml) = scenario(moves);
    let spec = spec(&yaml);
    let env = start(kind, &tenant, seed).await;
    let the_plan: Plan = plan(&env, &spec).await;
    assert!(the_plan.actions.len() >= 450, "{}", the_plan.actions.len());
    let moved = the_plan
        .actions
        .iter()
        .filter(|a| a.kind == ActionKind::Move)
        .count();
    assert_eq!(moved > 200, moves, "{moved} moves");
    let planned: BTreeSet<String> = the_plan
        .actions
        .iter()
        .map(|a| a.group.id.to_string())
        .collect();
    env.sim.clear_request_log();
    env.sim.reset_stats();
    env.sim.set_faults(faults.clone());

    let started = Instant::now();
    let mut reports = vec![
        apply(&the_plan, &env.backend, &options(), &())
            .await
            .unwrap(),
    ];
    // A run may leave groups for the next one, never write twice. On cloud-licensing a create
    // answered 504 ("may have applied") whose re-reads never show it fails its group for the
    // run: a create is not idempotent, so it is not sent again. Each rerun draws new faults
    // (a 504 again has the same few-percent chance), so up to MAX_RERUNS reruns are allowed;
    // the counts below hold over all runs together.
    const MAX_RERUNS: usize = 3;
    let mut rerun = false;
    while let Some(last) = reports.last()
        && !last.success
        && reports.len() <= MAX_RERUNS
    {
        rerun = true;
        for a in last.actions.iter().filter(|a| a.error.is_some()) {
            eprintln!(
                "fault matrix [{name}] on {kind:?}: run {} failed {:?} on {}: {}",
                reports.len(),
                a.action,
                a.group.display_name,
                a.error.as_deref().unwrap_or_default()
            );
        }
        // Eventual consistency: a rerun must not plan from reads older than the last write.
        if let Some(lag) = faults.read_after_write_lag {
            tokio::time::sleep(lag).await;
        }
        let again = plan(&env, &spec).await;
        reports.push(apply(&again, &env.backend, &options(), &()).await.unwrap());
    }
    let elapsed = started.elapsed();
    let log = env.sim.request_log();
    let stats = env.sim.stats();
    env.sim.set_faults(Faults::default());
    if let Some(lag) = faults.read_after_write_lag {
        tokio::time::sleep(lag).await;
    }

    let last = reports.last().unwrap();
    assert!(
        last.success,
        "{name}: still failing after {} runs: {}",
        reports.len(),
        last.to_json()
    );
    let after = plan(&env, &spec).await;
    assert!(
        after.actions.is_empty(),
        "{name}: {} actions left",
        after.actions.len()
    );

    let landed = landed_writes(&log);
    let outside: Vec<&String> = landed.keys().filter(|g| !planned.contains(*g)).collect();
    assert!(
        outside.is_empty(),
        "{name}: wrote groups outside the plan: {outside:?}"
    );
    let tried = attempts(&reports);
    // The writes each action needs: one call on group-licensing; on cloud-licensing a create,
    // a delete, or both for a swap.
    let needed: BTreeMap<String, u32> = the_plan
        .actions
        .iter()
        .map(|a| {
            let n = match (kind, a.kind) {
                (Kind::Cloud, ActionKind::Swap | ActionKind::Move) => 2,
                _ => 1,
            };
            (a.group.id.to_string(), n)
        })
        .collect();
    let mut double_writes = 0u32;
    for (group, n) in &landed {
        let need = needed.get(group).copied().unwrap_or(0);
        double_writes += n.saturating_sub(need);
        let allowed = match kind {
            // assignLicense is idempotent and resent once when re-reads never showed it.
            Kind::Group => tried.get(group).copied().unwrap_or(0),
            // A create is never resent; a delete or PATCH resent after a late landing gets a
            // 404 or changes nothing, so no group may see more landed writes than it needs.
            Kind::Cloud => need,
        };
        assert!(
            *n <= allowed,
            "{name}: group {group} got {n} landed writes, {allowed} allowed"
        );
    }
    let lost_writes = needed.values().sum::<u32>() as i64 - landed.values().sum::<u32>() as i64
        + i64::from(double_writes);
    assert_eq!(lost_writes, 0, "{name}: planned writes that never landed");
    let resent: u32 = tried.values().map(|n| n.saturating_sub(1)).sum();
    eprintln!(
        "fault matrix [{name}] on {:?}: {} actions, {} requests ({} batch items), {} writes \
         landed for {} needed, {double_writes} double, {lost_writes} lost, {} answers lost by \
         the fault, {} re-sent after a re-read, faults {:?}, rerun needed: {rerun}, converged: \
         {}, {:.2} s",
        kind,
        the_plan.actions.len(),
        stats.requests,
        stats.batch_items,
        landed.values().sum::<u32>(),
        needed.values().sum::<u32>(),
        stats.faults.lost_writes,
        resent,
        stats.faults,
        after.actions.is_empty(),
        elapsed.as_secs_f64()
    );
}

/// One test per fault case and backend: `<case>::group_licensing`, `<case>::cloud_licensing`.
macro_rules! matrix_case {
    ($(#[$doc:meta])* $name:ident, $label:expr, $seed:expr, $faults:expr) => {
        $(#[$doc])*
        mod $name {
            use super::*;
            #[tokio::test]
            async fn group_licensing() {
                run_matrix_case(Kind::Group, $label, $faults, $seed).await;
            }
            #[tokio::test]
            async fn cloud_licensing() {
                run_matrix_case(Kind::Cloud, $label, $faults, $seed).await;
            }
        }
    };
}

matrix_case!(
    throttling_429_with_retry_after,
    "10% 429",
    1,
    Faults {
        throttle_rate: 0.10,
        retry_after_secs: 0.05,
        ..Faults::default()
    }
);

matrix_case!(
    /// An HTTP date has whole-second precision, so each 429 costs about a second: a lower rate
    /// keeps the case short while still exercising the date form on reads, batch items and
    /// writes.
    throttling_429_with_an_http_date,
    "3% 429 (HTTP date)",
    2,
    Faults {
        throttle_rate: 0.03,
        retry_after_secs: 1.0,
        retry_after_as_date: true,
        ..Faults::default()
    }
);

matrix_case!(
    unavailable_503,
    "5% 503/504",
    3,
    Faults {
        unavailable_rate: 0.05,
        ..Faults::default()
    }
);

matrix_case!(
    dropped_connections,
    "3% dropped",
    4,
    Faults {
        drop_rate: 0.03,
        ..Faults::default()
    }
);

matrix_case!(
    lost_write_responses,
    "5% lost writes",
    5,
    Faults {
        lost_write_rate: 0.05,
        ..Faults::default()
    }
);

matrix_case!(
    read_after_write_lag,
    "2 s lag",
    6,
    Faults {
        read_after_write_lag: Some(Duration::from_secs(2)),
        ..Faults::default()
    }
);

/// Every fault at once: 10 % 429, 5 % 503/504, 3 % dropped, 5 % lost answers, 2 s lag.
fn all_faults() -> Faults {
    Faults {
        throttle_rate: 0.10,
        retry_after_secs: 0.05,
        unavailable_rate: 0.05,
        drop_rate: 0.03,
        lost_write_rate: 0.05,
        read_after_write_lag: Some(Duration::from_secs(2)),
        ..Faults::default()
    }
}

matrix_case!(all_faults_together, "all together", 7, all_faults());

matrix_case!(
    /// Issue 14's load: 30 % of requests throttled and 10 % answered 503 or 504. devlic waits
    /// as Graph asks (by time, not by a count of attempts) and never writes twice. On
    /// group-licensing it converges in one run; on cloud-licensing a create answered 504 whose
    /// re-reads never show it fails its group until a rerun (a create is never resent).
    heavy_throttling_and_unavailability_converge_without_writing_twice,
    "30% 429 + 10% 503",
    11,
    Faults {
        throttle_rate: 0.30,
        retry_after_secs: 0.02,
        unavailable_rate: 0.10,
        ..Faults::default()
    }
);

/// Moves between allotments under every fault at once (cloud-licensing only: group-licensing
/// names no allotment). About 225 moves beside the assigns, swaps and revokes; each moved group
/// gets exactly one create and one delete over both runs.
#[tokio::test]
async fn all_faults_together_with_allotment_moves_on_cloud_licensing() {
    run_case(
        Kind::Cloud,
        "all together, with moves",
        all_faults(),
        12,
        true,
    )
    .await;
}
