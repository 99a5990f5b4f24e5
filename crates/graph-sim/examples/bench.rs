//! Benchmarks of the `devlic` binary against the in-process simulator on 127.0.0.1.
//!
//! Each scenario generates a tenant, serves it, runs the real `devlic` binary once and prints
//! one line: Graph requests (top level, as the simulator saw them), dependent round trips
//! (the simulator's `round_trips`: the longest chain of requests each sent after the previous one
//! was answered), wall time, devlic CPU time (user + system, from /proc of the child), devlic
//! peak RSS (VmHWM, sampled every 5 ms) and the simulator's CPU time (this process). Every
//! simulator answer is delayed by `--latency` ms (20 by default), a fast Graph, so wall time
//! shows what round trips cost.
//!
//! ```text
//! cargo build --profile perf -p devlic-cli --bin devlic
//! cargo build --profile perf -p devlic-graph-sim --example bench
//! target/perf/examples/bench steady --size 10000
//! target/perf/examples/bench all            # every scenario at its default sizes
//! ```
//!
//! Scenarios: `steady` (plan, every group mapped and converged), `changed` (plan, half of the
//! entries move to the other SKU), `lookup` (plan naming every 100th group of a tenant where
//! none holds a device SKU: batched name filters), `snapshot`, `export`, `multi` (`plan DIR…`
//! over `--tenants` copies of the steady spec, compared with one), `apply` (`--size` assigns
//! under the simulator's write budget scaled by `--budgets` (0.01 by default, 0 for none),
//! `--throttle` share of extra 429s with `--retry-after` seconds, `--concurrency` passed on).
//! `plan` and `apply` run with `--backend group-licensing` unless `--backend` says otherwise;
//! `--routes` prints the requests per route, `--log FILE` appends devlic's `-v` JSON log to
//! FILE. Linux only (it reads /proc).

// A benchmark: printing its numbers is the point, and a failed setup may panic.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use devlic_graph_sim::{AssignedLicense, Budgets, Faults, Sim, SimConfig, Tenant};

const DEVICE1: &str = "ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7";

/// What one `devlic` run cost.
struct Measure {
    exit: i32,
    requests: u64,
    round_trips: u64,
    wall: Duration,
    cpu: Duration,
    rss_kib: u64,
    sim_cpu: Duration,
    writes: u64,
    throttled: u64,
    /// Requests and `$batch` items per route, most frequent first (printed with `--routes`).
    routes: Vec<(String, u64)>,
}

impl Measure {
    fn print(&self, label: &str) {
        println!(
            "{label:<34} exit {:>1}  requests {:>6}  round trips {:>5}  wall {:>8.2?}  devlic CPU {:>8.2?}  devlic RSS {:>7} KiB  sim CPU {:>8.2?}{}",
            self.exit,
            self.requests,
            self.round_trips,
            self.wall,
            self.cpu,
            self.rss_kib,
            self.sim_cpu,
            if self.writes > 0 {
                format!(
                    "  writes {} ({:.1}/s), 429s {}",
                    self.writes,
                    self.writes as f64 / self.wall.as_secs_f64(),
                    self.throttled
                )
            } else {
                String::new()
            }
        );
        if std::env::args().any(|a| a == "--routes") {
            for (route, n) in &self.routes {
                println!("    {n:>7}  {route}");
            }
        }
    }
}

/// Clock ticks per second of /proc/<pid>/stat (USER_HZ; 100 on every Linux this runs on).
const TICKS: f64 = 100.0;

/// utime + stime of a process, from /proc/<pid>/stat.
fn proc_cpu(pid: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the `(comm)`, which may contain spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(Duration::from_secs_f64(ticks / TICKS))
}

fn proc_state(pid: &str) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 2..].chars().next()
}

fn vm_hwm_kib(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

struct Bench {
    devlic: PathBuf,
    /// Added to every simulator answer, so requests in flight together overlap as they would
    /// against Graph and the round-trip count sees them as one.
    latency: Duration,
    dir: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
    /// `--backend` of `plan` and `apply` (`group-licensing` unless `--backend` says otherwise):
    /// the generated tenant has device allotments, so `auto` would pick cloud-licensing.
    backend: String,
}

impl Bench {
    fn start(&self, tenant: Tenant, faults: Faults) -> Sim {
        self.start_with(tenant, faults, SimConfig::default())
    }

    fn start_with(&self, tenant: Tenant, faults: Faults, config: SimConfig) -> Sim {
        let sim = self.rt.block_on(Sim::start(tenant, config)).unwrap();
        sim.set_faults(Faults {
            latency: Some(self.latency),
            ..faults
        });
        sim
    }

    /// Runs `devlic ARGS` against `sim` and measures it.
    fn run(&self, sim: &Sim, tenant_id: &str, args: &[&str]) -> Measure {
        sim.reset_stats();
        let sim_cpu0 = proc_cpu("self").unwrap_or_default();
        let started = Instant::now();
        let backend: &[&str] = match args.first() {
            Some(&"plan" | &"apply") => &["--backend", &self.backend],
            _ => &[],
        };
        // `--log FILE`: devlic's -v log (one line per Graph request, with timestamps) to FILE.
        let log: Option<String> = flag(&std::env::args().collect::<Vec<_>>(), "--log");
        let verbose: &[&str] = if log.is_some() {
            &["-v", "--log-format", "json"]
        } else {
            &[]
        };
        let stderr_path = log.map_or_else(|| self.dir.path().join("stderr.txt"), PathBuf::from);
        let mut child = Command::new(&self.devlic)
            .args(args)
            .args(backend)
            .args(verbose)
            .args(["--graph-url", &sim.url(), "--authority-url", &sim.url()])
            .env("AZURE_TENANT_ID", tenant_id)
            .env("AZURE_CLIENT_ID", "devlic-sim")
            .env("AZURE_CLIENT_SECRET", "devlic-sim-secret")
            .env("NO_COLOR", "1")
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(
                std::fs::File::options()
                    .create(true)
                    .append(true)
                    .open(&stderr_path)
                    .unwrap(),
            )
            .spawn()
            .expect("devlic starts (build it first: see the module comment)");
        let pid = child.id().to_string();
        let (mut rss, mut cpu) = (0, Duration::ZERO);
        // A finished child stays a zombie until reaped: its CPU times are still in /proc then.
        loop {
            rss = rss.max(vm_hwm_kib(&pid).unwrap_or(0));
            match proc_state(&pid) {
                Some('Z') | None => {
                    cpu = proc_cpu(&pid).unwrap_or(cpu);
                    break;
                }
                Some(_) => cpu = proc_cpu(&pid).unwrap_or(cpu),
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let status = child.wait().unwrap();
        let wall = started.elapsed();
        let sim_cpu = proc_cpu("self")
            .unwrap_or_default()
            .saturating_sub(sim_cpu0);
        let stats = sim.stats();
        let requests = sim
            .request_log()
            .iter()
            .filter(|r| {
                r.batch_item.is_none()
                    && (r.path_and_query.starts_with("/v1.0/")
                        || r.path_and_query.starts_with("/beta/"))
            })
            .count() as u64;
        if status.code() == Some(1) {
            let stderr = std::fs::read_to_string(&stderr_path).unwrap();
            println!("devlic failed:\n{stderr}");
        }
        Measure {
            exit: status.code().unwrap_or(-1),
            requests,
            round_trips: stats.round_trips,
            wall,
            cpu,
            rss_kib: rss,
            sim_cpu,
            writes: stats.writes_applied,
            throttled: stats.faults.throttled,
            routes: {
                let mut r: Vec<(String, u64)> = stats.per_route.into_iter().collect();
                r.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                r
            },
        }
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, text).unwrap();
        path
    }
}

/// `groups` groups with one device each; every group holds `sku` (or none when `None`).
fn tenant(groups: usize, sku: Option<&str>) -> Tenant {
    let mut t = devlic_graph_sim::generate(groups, groups, 7);
    for g in &mut t.groups {
        g.assigned_licenses = sku
            .map(|s| {
                vec![AssignedLicense {
                    sku_id: s.to_owned(),
                    disabled_plans: Vec::new(),
                    allotment_id: None,
                }]
            })
            .unwrap_or_default();
    }
    let n = groups as i64;
    for s in &mut t.subscribed_skus {
        s.prepaid_units.enabled = 2 * n + 100;
        s.consumed_units = if Some(s.sku_id.as_str()) == sku { n } else { 0 };
    }
    t
}

/// A spec mapping every group of `t` by name, as a folder of files of at most 20,000 entries
/// (a spec file is capped at 4 MiB); entry `i` gets EDU when `edu(i)`, else DEVICE1.
fn spec(b: &Bench, name: &str, t: &Tenant, edu: impl Fn(usize) -> bool) -> PathBuf {
    let dir = b.dir.path().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    for (n, chunk) in t.groups.chunks(20_000).enumerate() {
        let mut y = String::from("apiVersion: devlic/v1\nkind: DeviceLicenses\n");
        if n == 0 {
            y.push_str(
                "tenant: generated.onmicrosoft.com\nsettings:\n  prune: false\n  allowShortfall: true\n",
            );
        }
        y.push_str("assignments:\n");
        for (k, g) in chunk.iter().enumerate() {
            let sku = if edu(n * 20_000 + k) {
                "OFFICE_PROPLUS_DEVICE_EDUCATION"
            } else {
                "OFFICE_PROPLUS_DEVICE1"
            };
            y.push_str(&format!(
                "  - group: \"{}\"\n    subscription: {sku}\n",
                g.display_name
            ));
        }
        b.write(&format!("{name}/part-{n:02}.yaml"), &y);
    }
    dir
}

fn steady(b: &Bench, size: usize) {
    let t = tenant(size, Some(DEVICE1));
    let path = spec(b, "steady", &t, |_| false);
    let id = t.id.clone();
    let sim = b.start(t, Faults::default());
    b.run(&sim, &id, &["plan", path.to_str().unwrap()])
        .print(&format!("steady plan, {size} groups"));
    b.rt.block_on(sim.shutdown());
}

fn changed(b: &Bench, size: usize) {
    let t = tenant(size, Some(DEVICE1));
    let path = spec(b, "changed", &t, |i| i % 2 == 0);
    let id = t.id.clone();
    let sim = b.start(t, Faults::default());
    b.run(&sim, &id, &["plan", path.to_str().unwrap()])
        .print(&format!("plan 50 % changed, {size} groups"));
    b.rt.block_on(sim.shutdown());
}

/// A first plan for a few groups of a large tenant: no group holds a device SKU yet, and the spec
/// names every 100th group, so devlic resolves the names with batched `displayName in (…)`
/// filters (cheaper than listing the tenant), which the simulator answers from its index.
fn lookup(b: &Bench, size: usize) {
    let t = tenant(size, None);
    let named = Tenant {
        groups: t.groups.iter().step_by(100).cloned().collect(),
        ..t.clone()
    };
    let path = spec(b, "lookup", &named, |_| false);
    let id = t.id.clone();
    let sim = b.start(t, Faults::default());
    b.run(&sim, &id, &["plan", path.to_str().unwrap()])
        .print(&format!(
            "plan {} names of {size} groups",
            named.groups.len()
        ));
    b.rt.block_on(sim.shutdown());
}

fn snapshot(b: &Bench, size: usize) {
    let t = devlic_graph_sim::generate(size, size, 7);
    let id = t.id.clone();
    let sim = b.start(t, Faults::default());
    let out = b.dir.path().join("snap.json");
    b.run(&sim, &id, &["snapshot", "--out", out.to_str().unwrap()])
        .print(&format!("snapshot, {size} groups"));
    b.rt.block_on(sim.shutdown());
}

fn export(b: &Bench, size: usize) -> Duration {
    let t = devlic_graph_sim::generate(size, 0, 7);
    let id = t.id.clone();
    let sim = b.start(t, Faults::default());
    let out = b.dir.path().join("export.yaml");
    let m = b.run(&sim, &id, &["export", "--out", out.to_str().unwrap()]);
    m.print(&format!("export, {size} groups"));
    b.rt.block_on(sim.shutdown());
    m.cpu
}

fn multi(b: &Bench, size: usize, tenants: usize) {
    let t = tenant(size, Some(DEVICE1));
    let dirs: Vec<String> = (0..tenants)
        .map(|i| {
            let p = spec(b, &format!("multi-{i:02}"), &t, |_| false);
            p.to_str().unwrap().to_owned()
        })
        .collect();
    let id = t.id.clone();
    let sim = b.start(t, Faults::default());
    let one = b.run(&sim, &id, &["plan", &dirs[0]]);
    one.print(&format!("plan one DIR, {size} groups"));
    let mut args = vec!["plan"];
    args.extend(dirs.iter().map(String::as_str));
    let all = b.run(&sim, &id, &args);
    all.print(&format!("plan {tenants} DIRs, {size} groups each"));
    println!(
        "{:<34} {:.1}× the wall of one tenant",
        "multi-tenant ratio",
        all.wall.as_secs_f64() / one.wall.as_secs_f64()
    );
    b.rt.block_on(sim.shutdown());
}

/// `apply` of `size` assigns under the simulator's write budget (`Budgets::graph().scaled(scale)`:
/// Graph's 20 writes per second, bursts of 3,000 × `scale`; `scale` 0 switches it off; reads
/// under Graph's read budget) with
/// `throttle` of every request answered 429 on top (`Retry-After: retry_after` seconds). Prints
/// the write phase from devlic's run report, the 429s from the simulator's request log, the
/// accepted writes per second against the budget's rate and the share of the budget used
/// (writes charged to it over what it allowed: the burst plus the rate × the phase), then
/// plans again to show that one run converged.
fn apply(b: &Bench, size: usize, throttle: f64, scale: f64, retry_after: f64) {
    let t = tenant(size, None);
    let path = spec(b, "apply", &t, |_| false);
    let id = t.id.clone();
    // The write budget scaled (its rate stays Graph's 20 per second), reads at Graph's own
    // budget: a read burst scaled as small (80 resource units) would throttle every 20-item
    // read batch, which Graph's 8,000 units per 10 s never do at this size.
    let budgets = (scale > 0.0).then(|| Budgets {
        writes: Budgets::graph().scaled(scale).writes,
        reads: Budgets::graph().reads,
    });
    let sim = b.start_with(
        t,
        Faults {
            throttle_rate: throttle,
            retry_after_secs: retry_after,
            ..Faults::default()
        },
        SimConfig {
            budgets,
            ..SimConfig::default()
        },
    );
    let report = b.dir.path().join("report.json");
    let mut args = vec![
        "apply",
        path.to_str().unwrap(),
        "--auto-approve",
        "--no-verify",
        "--report",
        report.to_str().unwrap(),
    ];
    let argv: Vec<String> = std::env::args().collect();
    if let Some(i) = argv.iter().position(|a| a == "--concurrency") {
        args.extend([
            "--concurrency",
            argv.get(i + 1).map_or("16", String::as_str),
        ]);
    }
    let m = b.run(&sim, &id, &args);
    let label = format!(
        "apply {size} assigns, {:.0} % 429, budgets {}",
        throttle * 100.0,
        if scale > 0.0 {
            format!("{scale}")
        } else {
            "off".to_owned()
        }
    );
    m.print(&label);
    // What the writes met, from the simulator's log: a budget 429, an injected one, or success.
    let log = sim.request_log();
    let writes: Vec<_> = log
        .iter()
        .filter(|r| r.method == "POST" && r.path_and_query.ends_with("/assignLicense"))
        .collect();
    let budget_429 = writes
        .iter()
        .filter(|r| r.fault.as_deref() == Some("budget"))
        .count();
    let injected_429 = writes
        .iter()
        .filter(|r| r.fault.as_deref() == Some("throttled"))
        .count();
    let read_429 = log
        .iter()
        .filter(|r| r.status == 429)
        .count()
        .saturating_sub(budget_429 + injected_429);
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap_or_default())
            .unwrap_or_default();
    let w = &doc["writes"];
    let phase = Duration::from_millis(w["durationMs"].as_u64().unwrap_or(0));
    let accepted = w["accepted"].as_u64().unwrap_or(0);
    println!(
        "{:<34} write phase {phase:.2?}: {} writes sent, {accepted} accepted ({} per second), 429s: {budget_429} budget + {injected_429} injected on writes, {read_429} on reads",
        "", w["sent"], w["perSecond"],
    );
    if let Some(budgets) = budgets {
        let wb = budgets.writes;
        let rate = wb.capacity / wb.window.as_secs_f64();
        // Injected 429s pass the budget first (the simulator charges, then injects).
        let charged = (writes.len() - budget_429) as f64;
        let allowed = wb.capacity + rate * phase.as_secs_f64();
        println!(
            "{:<34} budget {rate:.1} writes/s (burst {:.0}): accepted {:.0} % of the rate, budget used {:.0} % ({charged:.0} of {allowed:.0} writes allowed)",
            "",
            wb.capacity,
            100.0 * accepted as f64 / phase.as_secs_f64().max(1e-3) / rate,
            100.0 * charged / allowed,
        );
    }
    // One run must converge: planning again finds nothing to do.
    sim.set_faults(Faults {
        latency: Some(b.latency),
        ..Faults::default()
    });
    let again = b.run(
        &sim,
        &id,
        &["plan", path.to_str().unwrap(), "--detailed-exitcode"],
    );
    println!(
        "{:<34} plan again: exit {} ({})",
        "",
        again.exit,
        if again.exit == 0 {
            "converged"
        } else {
            "NOT converged"
        }
    );
    b.rt.block_on(sim.shutdown());
}

fn flag<T: std::str::FromStr>(args: &[String], name: &str) -> Option<T> {
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1)?.parse().ok()
}

fn devlic_path(args: &[String]) -> PathBuf {
    if let Some(p) = flag::<String>(args, "--devlic") {
        return PathBuf::from(p);
    }
    // target/<profile>/examples/bench -> target/<profile>/devlic
    let exe = std::env::current_exe().unwrap();
    let profile_dir: &Path = exe.parent().and_then(Path::parent).unwrap();
    profile_dir.join("devlic")
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let which = args.first().map_or("all", String::as_str).to_owned();
    let size: Option<usize> = flag(&args, "--size");
    let bench = Bench {
        devlic: devlic_path(&args),
        latency: Duration::from_millis(flag(&args, "--latency").unwrap_or(20)),
        dir: tempfile::tempdir().unwrap(),
        rt: tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap(),
        backend: flag(&args, "--backend").unwrap_or_else(|| "group-licensing".to_owned()),
    };
    let b = &bench;
    match which.as_str() {
        "steady" => steady(b, size.unwrap_or(10_000)),
        "changed" => changed(b, size.unwrap_or(10_000)),
        "lookup" => lookup(b, size.unwrap_or(100_000)),
        "snapshot" => snapshot(b, size.unwrap_or(10_000)),
        "export" => {
            let sizes = size.map_or_else(|| vec![10_000, 20_000, 40_000, 80_000], |s| vec![s]);
            let cpus: Vec<(usize, Duration)> = sizes.iter().map(|&s| (s, export(b, s))).collect();
            if let (Some(first), Some(last)) = (cpus.first(), cpus.last())
                && last.0 > first.0
            {
                // Linear means CPU per group stays flat; quadratic doubles it per doubling.
                let per = |(n, c): &(usize, Duration)| c.as_secs_f64() / *n as f64;
                println!(
                    "{:<34} CPU per group grows {:.1}× from {} to {} groups (1.0× is linear)",
                    "export scaling",
                    per(last) / per(first).max(1e-9),
                    first.0,
                    last.0
                );
            }
        }
        "multi" => multi(
            b,
            size.unwrap_or(10_000),
            flag(&args, "--tenants").unwrap_or(20),
        ),
        "apply" => apply(
            b,
            size.unwrap_or(1_000),
            flag(&args, "--throttle").unwrap_or(0.0),
            flag(&args, "--budgets").unwrap_or(0.01),
            flag(&args, "--retry-after").unwrap_or(1.0),
        ),
        "all" => {
            for s in [1_000, 10_000, 100_000] {
                steady(b, s);
            }
            changed(b, 10_000);
            lookup(b, 100_000);
            snapshot(b, 10_000);
            for s in [10_000, 20_000, 40_000, 80_000] {
                export(b, s);
            }
            multi(b, 10_000, 20);
            for t in [0.0, 0.1, 0.3] {
                apply(b, 1_000, t, 0.01, 1.0);
            }
        }
        other => println!(
            "unknown scenario `{other}`: steady, changed, lookup, snapshot, export, multi, apply, all"
        ),
    }
}
