//! `devlic apply PATH` / `devlic apply --plan FILE`: write the plan through Graph.

use std::io::{BufRead, IsTerminal, Write};
use std::time::{Duration, Instant};

use devlic_applier::{
    AnyBackend, ApplyError, ApplyOptions, RunReport, StaleGroup, StopReason, Stopped, apply,
};
use devlic_model::display::sanitize;
use devlic_model::{BackendSetting, GuardViolation, Plan};
use devlic_planner::render::{self, TextOptions};

use crate::apply_output::{
    ApplyProgress, dry_run_requests, failure_text, stale_text, write_reports,
};
use crate::cli::ApplyArgs;
use crate::connect;
use crate::error::CliError;
use crate::exit::Exit;
use crate::state::read_error;

/// Validated apply settings.
fn options(args: &ApplyArgs) -> Result<ApplyOptions, CliError> {
    let secs = |v: f64, flag: &str| {
        Duration::try_from_secs_f64(v).map_err(|_| {
            CliError::new(
                format!("{flag} must be a number of seconds, 0 or more (got {v})"),
                format!("e.g. {flag} 600"),
            )
        })
    };
    if args.concurrency == 0 {
        return Err(CliError::new(
            "--concurrency must be at least 1",
            "leave it out for the default of 16",
        ));
    }
    Ok(ApplyOptions {
        allow_revoke: args.allow_revoke,
        allow_shortfall: args.allow_shortfall,
        concurrency: args.concurrency,
        verify: !args.no_verify,
        verify_timeout: secs(args.verify_timeout, "--verify-timeout")?,
        poll_interval: secs(args.poll_interval, "--poll-interval")?,
    })
}

/// Reads a plan saved by `devlic plan --out`.
pub fn read_saved_plan(path: &std::path::Path) -> Result<Plan, CliError> {
    let text = crate::file_io::read_regular_text(path, crate::file_io::MAX_PLAN_BYTES)
        .map_err(|e| CliError::read_file(path, &e))?;
    devlic_planner::wire::parse(&text).map_err(|e| {
        CliError::new(
            format!("{}: {e}", path.display()),
            "save a plan with `devlic plan SPEC --out FILE` and pass that file unchanged",
        )
    })
}

/// How an apply that got through ended: its exit code and, unless it was a dry run, the report.
struct Finished {
    exit: Exit,
    report: Option<RunReport>,
}

/// How an apply that failed ended: the error to print, and what its reports need. `report` is
/// set when the writes ran (a partial failure); otherwise the run stopped before writing and
/// `reason`, `stale` and `plan` describe the stop, and `summary` (when set) replaces the error's
/// text in the reports.
struct Stop {
    error: CliError,
    summary: Option<String>,
    report: Option<RunReport>,
    reason: StopReason,
    stale: Vec<StaleGroup>,
    plan: Option<Plan>,
}

impl From<CliError> for Stop {
    fn from(error: CliError) -> Stop {
        Stop {
            error,
            summary: None,
            report: None,
            reason: StopReason::Failed,
            stale: Vec::new(),
            plan: None,
        }
    }
}

impl From<std::io::Error> for Stop {
    fn from(e: std::io::Error) -> Stop {
        Stop::from(CliError::from(e))
    }
}

impl Stop {
    /// A stop once the plan is known, so the reports list its actions as not written.
    fn with_plan(error: CliError, reason: StopReason, plan: &Plan) -> Stop {
        Stop {
            reason,
            plan: Some(plan.clone()),
            ..Stop::from(error)
        }
    }
}

/// Runs `apply`. Every way it ends, success, partial failure, guard refusal, stale plan, sign-in
/// or read failure, passes through here, and this is the one place that writes `--report`,
/// `--summary-markdown` and `--junit` (a dry run writes none of them).
pub async fn run(
    args: &ApplyArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Exit, CliError> {
    let started_at = jiff::Timestamp::now();
    let clock = Instant::now();
    let (result, report) = match run_steps(args, out, err).await {
        Ok(Finished { exit, report }) => (Ok(exit), report),
        Err(stop) => {
            let report = stop.report.or_else(|| {
                let message = match (&stop.summary, &stop.error.help) {
                    (Some(summary), _) => summary.clone(),
                    (None, Some(help)) => format!("{}\nhelp: {help}", stop.error.message),
                    (None, None) => stop.error.message.clone(),
                };
                let tenant = args
                    .connect
                    .tenant_id
                    .clone()
                    .or_else(|| std::env::var("AZURE_TENANT_ID").ok())
                    .unwrap_or_default();
                Some(RunReport::stopped(
                    tenant,
                    args.backend
                        .and_then(|b| BackendSetting::from(b).fixed())
                        .unwrap_or_default(),
                    stop.plan.as_ref(),
                    started_at,
                    clock.elapsed(),
                    Stopped {
                        reason: stop.reason,
                        message: anstream::adapter::strip_str(&message).to_string(),
                        stale_groups: stop.stale,
                    },
                ))
            });
            (Err(stop.error), report.filter(|_| !args.dry_run))
        }
    };
    if let Some(report) = report {
        let written = write_reports(
            &report,
            args.report.as_deref(),
            args.summary_markdown.as_deref(),
            args.junit.as_deref(),
        );
        if let Err(e) = written {
            // The run's own outcome wins; a report that could not be written is one more error.
            match result {
                Ok(_) => return Err(e),
                Err(_) => write!(err, "{e}")?,
            }
        }
    }
    result
}

/// The steps of `apply`, up to the outcome the reports are written from.
async fn run_steps(
    args: &ApplyArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Finished, Stop> {
    let options = options(args)?;
    let backend_override = args.backend.map(BackendSetting::from);
    let plan = match (&args.plan, &args.path) {
        (Some(file), _) => {
            let plan = read_saved_plan(file)?;
            // `--backend auto` agrees with any saved plan: the plan already chose.
            if let Some(b) = backend_override
                .and_then(BackendSetting::fixed)
                .filter(|b| *b != plan.backend)
            {
                return Err(CliError::new(
                    format!(
                        "the saved plan was made for the {} backend; --backend {b} would apply it \
                         through another API than the one reviewed",
                        plan.backend
                    ),
                    "leave --backend out (a saved plan applies through its own backend), or plan \
                     again with --backend",
                )
                .into());
            }
            plan
        }
        (None, Some(path)) => {
            crate::plan::plan_spec(path, backend_override, &args.connect, None)
                .await?
                .1
        }
        (None, None) => {
            return Err(CliError::new(
                "nothing to apply",
                "give a spec (`devlic apply specs/`) or a saved plan (`devlic apply --plan plan.json`)",
            )
            .into());
        }
    };
    let backend = connect::backend(&args.connect, plan.backend)?;
    // A saved plan carries its tenant, Graph root and backend; writing it anywhere else must be
    // impossible even when group ids happened to match, and nothing the file says about its
    // guards is trusted (dry runs included, so their exit code tells the truth).
    let plan = if args.plan.is_some() {
        let reviewed = plan.clone();
        crate::saved_plan::authorize(plan, args, &backend)
            .await
            .map_err(|e| {
                let reason = if e.exit == Exit::GuardRefused {
                    StopReason::GuardRefused
                } else {
                    StopReason::Failed
                };
                Stop::with_plan(e, reason, &reviewed)
            })?
    } else {
        plan
    };

    out.write_all(render::text(&plan, &TextOptions { color: true }).as_bytes())?;
    out.flush()?;
    execute(args, &plan, &backend, &options, out, err).await
}

/// Dry run, guards, confirmation and the writes, through one backend.
async fn execute(
    args: &ApplyArgs,
    plan: &Plan,
    backend: &AnyBackend,
    options: &ApplyOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Finished, Stop> {
    if args.dry_run {
        out.write_all(dry_run_requests(plan, backend).as_bytes())?;
        let exit = guard_exit_for_dry_run(plan, options, err)?;
        return Ok(Finished { exit, report: None });
    }
    let blocking = blocking_guards(plan, options);
    if !blocking.is_empty() {
        // Refuse before asking: a `yes` could not pass the guard anyway.
        return Err(stop(ApplyError::GuardRefused(blocking), plan, backend));
    }
    // An empty plan still goes through `apply` (it writes nothing) so that scheduled jobs get
    // their --report, --summary-markdown and --junit files on quiet nights too.
    if !args.auto_approve && !plan.is_empty() {
        confirm(plan, err).map_err(|e| Stop::with_plan(e, StopReason::Failed, plan))?;
    }

    let progress = ApplyProgress::new();
    let result = apply(plan, backend, options, &progress).await;
    progress.finish();
    let report = result.map_err(|e| stop(e, plan, backend))?;
    if let Some(writes) = &report.writes {
        // How close the run came to Graph's write budget (20 writes per second per app and
        // tenant), for the log; the report files carry the same numbers.
        writeln!(err, "writes: {}", writes.sentence())?;
    }
    let applied = report.actions.iter().filter(|a| a.outcome.landed()).count();
    if report.actions.is_empty() && !report.unlicensed.is_empty() {
        // Nothing to write, and still not green: say why, and what would fix it.
        err.write_all(crate::apply_output::unlicensed_text(&report.unlicensed).as_bytes())?;
        let devices: u64 = report.unlicensed.iter().map(|u| u.devices).sum();
        let error = CliError::new(
            format!(
                "nothing to write, but {devices} device(s) in {} group(s) of the spec are not \
                 licensed",
                report.unlicensed.len()
            ),
            "add units or remove devices as said above; apply succeeds once every device of the \
             spec's groups is licensed",
        );
        return Err(Stop {
            report: Some(report),
            ..Stop::from(error)
        });
    }
    if report.success {
        writeln!(
            out,
            "Apply complete: {applied} of {} change(s) in place{}.",
            report.actions.len(),
            if report.verification.is_some() {
                ", license processing verified"
            } else {
                ""
            }
        )?;
        Ok(Finished {
            exit: Exit::Success,
            report: Some(report),
        })
    } else {
        err.write_all(failure_text(&report, plan).as_bytes())?;
        let error = CliError::new(
            format!(
                "apply did not fully succeed: {applied} of {} change(s) in place",
                report.actions.len()
            ),
            "fix the causes above, then run apply again: it converges without repeating \
             writes that landed",
        );
        Err(Stop {
            report: Some(report),
            ..Stop::from(error)
        })
    }
}

/// A refusal of the applier as a stop of this run, with the plan it refused.
fn stop(e: ApplyError, plan: &Plan, backend: &AnyBackend) -> Stop {
    let (reason, stale) = match &e {
        ApplyError::GuardRefused(_) => (StopReason::GuardRefused, Vec::new()),
        ApplyError::Stale(groups) => (StopReason::StalePlan, groups.clone()),
        ApplyError::Read(_) => (StopReason::Failed, Vec::new()),
    };
    // A stale plan's terminal text is a rendered table; the reports get the applier's own
    // words and the groups as data.
    let summary = (reason == StopReason::StalePlan).then(|| e.to_string());
    let mut stop = Stop::with_plan(refusal(e, backend), reason, plan);
    stop.stale = stale;
    stop.summary = summary;
    stop
}

fn refusal(e: ApplyError, backend: &AnyBackend) -> CliError {
    match e {
        ApplyError::GuardRefused(guards) => {
            let lines: Vec<String> = guards
                .iter()
                .map(|g| sanitize(&g.message()).into_owned())
                .collect();
            CliError::new(
                format!(
                    "a guard refused the plan; nothing was written:\n  {}",
                    lines.join("\n  ")
                ),
                guard_help(&guards),
            )
            .with_exit(Exit::GuardRefused)
        }
        ApplyError::Stale(groups) => CliError::rendered(stale_text(&groups), Exit::GuardRefused),
        ApplyError::Read(e) => {
            let mut cli = read_error(&e, backend);
            cli.message = format!(
                "could not read the groups the plan touches; nothing was written: {}",
                cli.message
            );
            cli
        }
    }
}

/// What to do about the guards that refused, in the order an admin should consider them.
fn guard_help(guards: &[GuardViolation]) -> String {
    let mut help = Vec::new();
    if guards
        .iter()
        .any(|g| matches!(g, GuardViolation::Shortfall { .. }))
    {
        help.push(
            "add licenses (Billing > Licenses in the Microsoft 365 admin center) or fewer devices; \
             pass --allow-shortfall only if leaving those devices without the apps is intended",
        );
    }
    if guards.iter().any(|g| {
        matches!(
            g,
            GuardViolation::MaxRevocations { .. }
                | GuardViolation::RevokeShare { .. }
                | GuardViolation::UnknownDeviceCount { .. }
        )
    }) {
        help.push(
            "review every action that takes the apps away from devices; pass --allow-revoke only \
             if they are intended",
        );
    }
    if guards
        .iter()
        .any(|g| matches!(g, GuardViolation::EmptySpec))
    {
        help.push(
            "list the groups that keep their subscriptions, or set settings.allowEmpty: true",
        );
    }
    help.join("; ")
}

/// Dry runs write nothing, but still say whether the real run would be refused.
fn guard_exit_for_dry_run(
    plan: &Plan,
    options: &ApplyOptions,
    err: &mut dyn Write,
) -> Result<Exit, CliError> {
    let blocking = blocking_guards(plan, options);
    if blocking.is_empty() {
        return Ok(Exit::Success);
    }
    for g in &blocking {
        writeln!(err, "guard: {}", sanitize(&g.message()))?;
    }
    writeln!(err, "apply would refuse this plan (exit 3).")?;
    Ok(Exit::GuardRefused)
}

/// The guards apply would refuse on, with these options (the model's one rule).
fn blocking_guards(plan: &Plan, options: &ApplyOptions) -> Vec<GuardViolation> {
    plan.blocking_guards(options.passes())
}

/// Asks for `yes` on a terminal; refuses without one. Repeats every passed guard, so nobody
/// confirms a shortfall or a revocation without seeing it again.
fn confirm(plan: &Plan, err: &mut dyn Write) -> Result<(), CliError> {
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(CliError::new(
            "refusing to apply without confirmation: no terminal to ask on",
            "review the plan, then pass --auto-approve (e.g. in CI, with a plan from `devlic plan --out`)",
        ));
    }
    let s = plan.summary();
    // Apply only gets here once every tripped guard was passed (by a flag or a setting).
    for g in &plan.guard_violations {
        writeln!(err, "\nwarning (passed): {}", sanitize(&g.message()))?;
    }
    write!(
        err,
        "\nApply {} change(s) to {}? Only `yes` is accepted: ",
        s.total(),
        // The confirmation prompt must show the tenant as it is, not as its name paints it.
        sanitize(
            plan.tenant
                .display_name
                .as_deref()
                .unwrap_or(&plan.tenant.id)
        )
    )?;
    err.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim() == "yes" {
        Ok(())
    } else {
        Err(CliError::new(
            "apply cancelled; nothing was written",
            "answer `yes` to apply",
        ))
    }
}
