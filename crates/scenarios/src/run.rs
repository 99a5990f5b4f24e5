//! One scenario on one backend: a fresh simulator, `devlic plan` (text and JSON), the optional
//! change by someone else, `devlic apply`, the tenant read back, and `devlic plan` again.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use devlic_graph_sim::{Faults, Sim, SimConfig, Stats};

use crate::error::{Mismatch, ScenarioError};
use crate::normalise::Normaliser;
use crate::scenario::Scenario;
use crate::{Backend, Harness, tenant_view};

/// How long one `devlic` run may take before the harness kills it: far above what any
/// scenario needs (about a second), far below a CI timeout.
const DEVLIC_TIMEOUT: Duration = Duration::from_secs(120);

/// What one run produced: the outputs to compare with expected files, in order, and the exit
/// codes that differed from `scenario.yaml`.
#[derive(Debug)]
pub struct Outputs {
    /// `(file name, normalised content)`: `plan.txt`, `plan.json`, `apply.txt`,
    /// `tenant-after.json`.
    pub files: Vec<(&'static str, String)>,
    /// Exit codes that differ from the expected ones.
    pub exit_mismatches: Vec<Mismatch>,
}

/// A `devlic` run: the transcript line, exit code and output.
struct Ran {
    shown: String,
    code: i32,
    stdout: String,
    stderr: String,
}

impl Ran {
    /// `$ devlic ARGS`, then stdout and stderr under their own headings (empty ones left out).
    fn transcript(&self) -> String {
        let mut out = format!("$ {}\n", self.shown);
        for (name, text) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            if !text.is_empty() {
                out.push_str(&format!("--- {name}\n{text}"));
                if !text.ends_with('\n') {
                    out.push('\n');
                }
            }
        }
        out
    }
}

/// The simulator and the runtime serving it while the harness thread runs `devlic`.
struct Served {
    sim: Sim,
    tenant_id: String,
    // Dropped after `sim`: the server task needs the runtime until it stops.
    _rt: tokio::runtime::Runtime,
}

/// Runs `scenario` on `backend` and returns its normalised outputs.
pub fn run(h: &Harness, scenario: &Scenario, backend: Backend) -> Result<Outputs, ScenarioError> {
    let tenant = scenario.tenant()?;
    let tenant_id = tenant.id.clone();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(ScenarioError::Simulator)?;
    let config = SimConfig::default();
    let sim = rt
        .block_on(Sim::start(tenant, config.clone()))
        .map_err(ScenarioError::Simulator)?;
    let served = Served {
        sim,
        tenant_id,
        _rt: rt,
    };
    let scratch = tempfile::tempdir().map_err(|source| ScenarioError::Io {
        path: std::env::temp_dir(),
        source,
    })?;
    let norm = Normaliser::new(&served.sim.url(), scratch.path(), &h.root);
    let runner = Runner {
        h,
        served: &served,
        config: &config,
        backend,
        scratch: scratch.path(),
        runs: 0,
    };
    pipeline(scenario, runner, &norm)
}

fn pipeline(
    scenario: &Scenario,
    mut runner: Runner<'_>,
    norm: &Normaliser,
) -> Result<Outputs, ScenarioError> {
    let f = &scenario.file;
    let spec = scenario.spec.as_str();
    let mut files = Vec::new();
    let mut exits = Vec::new();

    let plan = runner.devlic(&["plan", spec, "--detailed-exitcode"])?;
    check_exit(
        &mut exits,
        "plan --detailed-exitcode",
        f.plan.exit_code,
        &plan,
        norm,
    );
    files.push(("plan.txt", norm.apply(&plan.transcript())));
    if f.plan.snapshot {
        offline_plan(&mut runner, scenario, &plan, &mut exits, norm)?;
    }

    let saved = runner.scratch.join("plan.json");
    let saved_arg = saved.display().to_string();
    let mut json_args = vec!["plan", spec, "--format", "json", "--detailed-exitcode"];
    if f.apply.saved_plan {
        json_args.extend(["--out", &saved_arg]);
    }
    let json = runner.devlic(&json_args)?;
    check_exit(
        &mut exits,
        "plan --format json --detailed-exitcode",
        f.plan.exit_code,
        &json,
        norm,
    );
    files.push(("plan.json", norm.apply(&json.stdout)));

    if let Some(change) = &scenario.change {
        // Someone else's change, made as they see fit: whatever guards it trips are theirs.
        let ran = runner.devlic(&[
            "apply",
            change,
            "--auto-approve",
            "--no-verify",
            "--allow-revoke",
            "--allow-shortfall",
        ])?;
        check_exit(&mut exits, "the change before apply", 0, &ran, norm);
    }

    runner.served.sim.reset_stats();
    if let Some(faults) = &f.apply.faults {
        runner.served.sim.set_faults(faults.clone());
    }
    let mut apply_args = if f.apply.saved_plan {
        vec!["apply", "--plan", &saved_arg]
    } else {
        vec!["apply", spec]
    };
    // One write at a time so the transcript's order (and which group a short subscription
    // leaves unlicensed) is the same on every run.
    apply_args.extend([
        "--auto-approve",
        "--concurrency",
        "1",
        "--poll-interval",
        "0.05",
    ]);
    apply_args.extend(f.apply.args.iter().map(String::as_str));
    let apply = runner.devlic(&apply_args)?;
    runner.served.sim.set_faults(Faults::default());
    check_exit(&mut exits, "apply", f.apply.exit_code, &apply, norm);
    let seen = simulator_view(&runner.served.sim.stats());
    files.push(("apply.txt", norm.apply(&apply.transcript()) + &seen));

    let sim = &runner.served.sim;
    let state = tenant_view::license_state(&sim.tenant_state(), &sim.device_licenses());
    files.push(("tenant-after.json", pretty(&state)));

    let replan = runner.devlic(&["plan", spec, "--detailed-exitcode"])?;
    check_exit(
        &mut exits,
        "plan --detailed-exitcode after apply",
        f.replan.exit_code,
        &replan,
        norm,
    );
    Ok(Outputs {
        files,
        exit_mismatches: exits,
    })
}

/// `devlic snapshot`, then `devlic plan --snapshot`: same exit code and the same output as the
/// live plan `online`, or a mismatch showing the offline transcript.
fn offline_plan(
    runner: &mut Runner<'_>,
    scenario: &Scenario,
    online: &Ran,
    exits: &mut Vec<Mismatch>,
    norm: &Normaliser,
) -> Result<(), ScenarioError> {
    let snap = runner.scratch.join("tenant.snapshot.json");
    let snap_arg = snap.display().to_string();
    let taken = runner.devlic_with(&["snapshot", "--out", &snap_arg], false)?;
    check_exit(exits, "snapshot", 0, &taken, norm);
    let offline = runner.devlic(&[
        "plan",
        &scenario.spec,
        "--snapshot",
        &snap_arg,
        "--detailed-exitcode",
    ])?;
    check_exit(
        exits,
        "plan --snapshot --detailed-exitcode",
        scenario.file.plan.exit_code,
        &offline,
        norm,
    );
    if (&offline.stdout, &offline.stderr) != (&online.stdout, &online.stderr) {
        exits.push(Mismatch {
            what: "plan --snapshot printed other output than the live plan".to_owned(),
            detail: norm.apply(&offline.transcript()),
        });
    }
    Ok(())
}

/// What the simulator saw during apply: the writes (so a resent write shows) and the faults
/// it injected (so a scenario's faults provably happened).
fn simulator_view(stats: &Stats) -> String {
    let f = &stats.faults;
    format!(
        "--- simulator\nwrites received: {}, applied: {}\nfaults injected: {} throttled, {} \
         unavailable, {} dropped, {} lost write response(s)\n",
        stats.writes, stats.writes_applied, f.throttled, f.unavailable, f.dropped, f.lost_writes
    )
}

fn pretty(value: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

fn check_exit(out: &mut Vec<Mismatch>, step: &str, expected: i32, ran: &Ran, norm: &Normaliser) {
    if ran.code != expected {
        out.push(Mismatch {
            what: format!("{step}: exit code {} (expected {expected})", ran.code),
            detail: norm.apply(&ran.transcript()),
        });
    }
}

/// Runs `devlic` against the served simulator.
struct Runner<'a> {
    h: &'a Harness,
    served: &'a Served,
    config: &'a SimConfig,
    backend: Backend,
    scratch: &'a Path,
    runs: usize,
}

impl Runner<'_> {
    /// `devlic ARGS --backend B --graph-url SIM --authority-url SIM`, from the workspace root,
    /// signed in with the simulator's client secret, with no AZURE_*/DEVLIC_*/identity variable
    /// of the machine running the tests, no colour and no terminal.
    fn devlic(&mut self, args: &[&str]) -> Result<Ran, ScenarioError> {
        self.devlic_with(args, true)
    }

    /// [`Runner::devlic`], without `--backend` when `backend` is false (`devlic snapshot`
    /// reads Graph v1.0 whatever the backend, and takes no `--backend`).
    fn devlic_with(&mut self, args: &[&str], backend: bool) -> Result<Ran, ScenarioError> {
        let shown = format!("devlic {}", args.join(" "));
        let fail = |reason: String| ScenarioError::Devlic {
            command: shown.clone(),
            reason,
        };
        self.runs += 1;
        let out_path = self.scratch.join(format!("run{}.stdout", self.runs));
        let err_path = self.scratch.join(format!("run{}.stderr", self.runs));
        let create =
            |p: &PathBuf| File::create(p).map_err(|e| fail(format!("{}: {e}", p.display())));
        let url = self.served.sim.url();
        let mut cmd = Command::new(&self.h.devlic);
        cmd.current_dir(&self.h.root).args(args);
        if backend {
            cmd.args(["--backend", self.backend.name()]);
        }
        cmd.args(["--graph-url", &url, "--authority-url", &url])
            .stdin(Stdio::null())
            .stdout(create(&out_path)?)
            .stderr(create(&err_path)?);
        for key in crate::inherited_credential_variables() {
            cmd.env_remove(key);
        }
        for (key, _) in
            std::env::vars_os().filter(|(k, _)| k.to_string_lossy().starts_with("CLICOLOR"))
        {
            cmd.env_remove(key);
        }
        cmd.env("NO_COLOR", "1")
            .env("AZURE_TENANT_ID", &self.served.tenant_id)
            .env("AZURE_CLIENT_ID", &self.config.client_id)
            .env("AZURE_CLIENT_SECRET", &self.config.client_secret);
        let mut child = cmd
            .spawn()
            .map_err(|e| fail(format!("{}: {e}", self.h.devlic.display())))?;
        let started = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if started.elapsed() > DEVLIC_TIMEOUT => {
                    // Our own child, by its handle.
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(fail(format!("killed after {DEVLIC_TIMEOUT:?}")));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => return Err(fail(e.to_string())),
            }
        };
        let code = status
            .code()
            .ok_or_else(|| fail(format!("ended by a signal ({status})")))?;
        let read = |p: &PathBuf| {
            std::fs::read(p)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .map_err(|e| fail(format!("{}: {e}", p.display())))
        };
        let (stdout, stderr) = (read(&out_path)?, read(&err_path)?);
        Ok(Ran {
            shown,
            code,
            stdout,
            stderr,
        })
    }
}
