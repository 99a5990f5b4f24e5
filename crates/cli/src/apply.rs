//! `devlic apply PATH` / `devlic apply --plan FILE`: write the plan through Graph.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use devlic_applier::{
    ApplyError, ApplyOptions, CloudLicensing, GroupLicensing, LicensingBackend, apply,
    describe_guard,
};
use devlic_graph::LiveQuery;
use devlic_model::{Backend, GuardViolation, Plan};
use devlic_planner::render::{self, TextOptions};

use crate::apply_output::{
    ApplyProgress, append, dry_run_requests, failure_text, stale_text, write_reports,
};
use crate::cli::ApplyArgs;
use crate::connect;
use crate::error::CliError;
use crate::exit::Exit;
use crate::state::{api_version, graph_error};

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
            "leave it out for the default of 4",
        ));
    }
    Ok(ApplyOptions {
        allow_revoke: args.allow_revoke,
        concurrency: args.concurrency,
        verify: !args.no_verify,
        verify_timeout: secs(args.verify_timeout, "--verify-timeout")?,
        poll_interval: secs(args.poll_interval, "--poll-interval")?,
    })
}

/// Reads a plan saved by `devlic plan --out`.
fn read_saved_plan(path: &std::path::Path) -> Result<Plan, CliError> {
    let text = crate::file_io::read_regular_text(path, crate::file_io::MAX_PLAN_BYTES)
        .map_err(|e| CliError::read_file(path, &e))?;
    devlic_planner::wire::parse(&text).map_err(|e| {
        CliError::new(
            format!("{}: {e}", path.display()),
            "save a plan with `devlic plan SPEC --out FILE` and pass that file unchanged",
        )
    })
}

/// Runs `apply`.
pub async fn run(
    args: &ApplyArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Exit, CliError> {
    let options = options(args)?;
    let backend_override = args.backend.map(Backend::from);
    let plan = match (&args.plan, &args.path) {
        (Some(file), _) => {
            let mut plan = read_saved_plan(file)?;
            if let Some(b) = backend_override {
                plan.backend = b;
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
            ));
        }
    };
    let client = connect::client(&args.connect, api_version(plan.backend))?;
    if args.plan.is_some() && !args.dry_run {
        // A saved plan carries its tenant; writing it to another tenant must be impossible even
        // when group ids happened to match.
        let live = client
            .read_live(&LiveQuery::default())
            .await
            .map_err(|e| graph_error(&e, "reading the tenant"))?;
        if !live.tenant.id.eq_ignore_ascii_case(&plan.tenant.id) {
            return Err(CliError::new(
                format!(
                    "the plan is for tenant {}, but the credentials sign in to tenant {}",
                    devlic_model::display::sanitize(&plan.tenant.id),
                    devlic_model::display::sanitize(&live.tenant.id)
                ),
                "sign in to the plan's tenant (AZURE_TENANT_ID, --tenant-id), or plan again for this one",
            ));
        }
    }

    out.write_all(render::text(&plan, &TextOptions { color: true }).as_bytes())?;
    out.flush()?;
    match plan.backend {
        Backend::GroupLicensing => {
            execute(
                args,
                &plan,
                &GroupLicensing::new(client),
                &options,
                out,
                err,
            )
            .await
        }
        Backend::CloudLicensing => {
            execute(
                args,
                &plan,
                &CloudLicensing::new(client),
                &options,
                out,
                err,
            )
            .await
        }
    }
}

/// Dry run, guards, confirmation, the writes and the reports, through one backend.
async fn execute<B: LicensingBackend>(
    args: &ApplyArgs,
    plan: &Plan,
    backend: &B,
    options: &ApplyOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Exit, CliError> {
    if args.dry_run {
        out.write_all(dry_run_requests(plan, backend).as_bytes())?;
        return guard_exit_for_dry_run(plan, options, err);
    }
    let blocking = blocking_guards(plan, options);
    if !blocking.is_empty() {
        // Refuse before asking: a `yes` could not pass the guard anyway.
        return Err(refusal(ApplyError::GuardRefused(blocking)));
    }
    // An empty plan still goes through `apply` (it writes nothing) so that scheduled jobs get
    // their --report, --summary-markdown and --junit files on quiet nights too.
    if !args.auto_approve && !plan.is_empty() {
        confirm(plan, err)?;
    }

    let progress = ApplyProgress::new();
    let result = apply(plan, backend, options, &progress).await;
    progress.finish();
    match result {
        Ok(report) => {
            write_reports(
                &report,
                args.report.as_deref(),
                args.summary_markdown.as_deref(),
                args.junit.as_deref(),
            )?;
            let applied = report.actions.iter().filter(|a| a.outcome.landed()).count();
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
                Ok(Exit::Success)
            } else {
                err.write_all(failure_text(&report, plan).as_bytes())?;
                Err(CliError::new(
                    format!(
                        "apply did not fully succeed: {applied} of {} change(s) in place",
                        report.actions.len()
                    ),
                    "fix the causes above, then run apply again: it converges without repeating \
                     writes that landed",
                ))
            }
        }
        Err(e) => {
            if let Some(path) = &args.summary_markdown {
                // The refusal can quote Graph's error message: Markdown-escape it like the
                // report does.
                append(
                    path,
                    &format!(
                        "### devlic apply refused\n\n{}\n",
                        devlic_model::display::markdown_text(&e.to_string())
                    ),
                )?;
            }
            Err(refusal(e))
        }
    }
}

fn refusal(e: ApplyError) -> CliError {
    match e {
        ApplyError::GuardRefused(guards) => {
            let lines: Vec<String> = guards.iter().map(describe_guard).collect();
            CliError::new(
                format!(
                    "a guard refused the plan; nothing was written:\n  {}",
                    lines.join("\n  ")
                ),
                "review the revocations in the plan; pass --allow-revoke only if they are intended",
            )
            .with_exit(Exit::GuardRefused)
        }
        ApplyError::Stale(groups) => CliError::rendered(stale_text(&groups), Exit::GuardRefused),
        ApplyError::Read(message) => CliError::new(
            format!("could not read the groups the plan touches; nothing was written: {message}"),
            "retry later; rerun with -vv to see the requests",
        ),
    }
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
        writeln!(err, "guard: {}", describe_guard(g))?;
    }
    writeln!(err, "apply would refuse this plan (exit 3).")?;
    Ok(Exit::GuardRefused)
}

/// The guards apply would refuse on, with these options (the applier's own rule).
fn blocking_guards(plan: &Plan, options: &ApplyOptions) -> Vec<GuardViolation> {
    plan.guard_violations
        .iter()
        .filter(|g| !options.allow_revoke || matches!(g, GuardViolation::EmptySpec))
        .cloned()
        .collect()
}

/// Asks for `yes` on a terminal; refuses without one.
fn confirm(plan: &Plan, err: &mut dyn Write) -> Result<(), CliError> {
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(CliError::new(
            "refusing to apply without confirmation: no terminal to ask on",
            "review the plan, then pass --auto-approve (e.g. in CI, with a plan from `devlic plan --out`)",
        ));
    }
    let s = plan.summary();
    write!(
        err,
        "\nApply {} change(s) to {}? Only `yes` is accepted: ",
        s.total(),
        // The confirmation prompt must show the tenant as it is, not as its name paints it.
        devlic_model::display::sanitize(
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
