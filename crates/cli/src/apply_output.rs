//! What `apply` shows while and after it runs: progress, the dry-run requests, stale groups,
//! failures and verification findings, and the report files.
//!
//! Group names, SKU part numbers, Graph's error codes and messages are data: each is passed
//! through [`sanitize`] where it is quoted, so none can write a control character to the
//! terminal or the CI log.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::path::Path;

use anstyle::{AnsiColor, Style};
use devlic_applier::{
    ActionOutcome, Change, Event, LicensingBackend, Progress, RunReport, StaleGroup,
};
use devlic_model::display::sanitize;
use devlic_model::{AssignedLicense, LiveState, Plan, license_errors};
use indicatif::{ProgressBar, ProgressStyle};

use crate::error::CliError;

const BAD: Style = AnsiColor::Red.on_default().bold();
const BOLD: Style = Style::new().bold();

/// Progress on stderr: a bar on a terminal, one plain line per action otherwise (CI logs).
pub struct ApplyProgress {
    bar: Option<ProgressBar>,
}

impl ApplyProgress {
    /// A bar when stderr is a terminal.
    pub fn new() -> ApplyProgress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::hidden();
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        ApplyProgress { bar }
    }

    /// Removes the bar before the summary is printed.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    fn line(&self, text: String) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => {
                let _ = writeln!(std::io::stderr(), "{text}");
            }
        }
    }
}

impl Progress for ApplyProgress {
    fn event(&self, event: Event<'_>) {
        match event {
            Event::WritesStarted { total } => {
                if let Some(bar) = &self.bar {
                    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                    bar.set_length(u64::try_from(total).unwrap_or(u64::MAX));
                    bar.set_message("writing");
                } else {
                    self.line(format!("writing {total} change(s)"));
                }
            }
            Event::ActionFinished { action, outcome } => {
                let what = match outcome {
                    ActionOutcome::Applied => "applied",
                    ActionOutcome::AlreadyApplied => "already applied",
                    ActionOutcome::Failed => "FAILED",
                    ActionOutcome::NotWritten => "not written",
                };
                // A move names its allotments: the SKU alone would read as "nothing changed".
                let moved = devlic_applier::AllotmentMove::of(action)
                    .map(|m| format!(" ({})", sanitize(&m.to_string())))
                    .unwrap_or_default();
                self.line(format!(
                    "{what}: {} {}{moved} on {} ({})",
                    devlic_planner::render::symbol(action.kind),
                    sanitize(&action.sku.label()),
                    sanitize(&action.group.display_name),
                    action.group.id
                ));
                if let Some(bar) = &self.bar {
                    bar.inc(1);
                }
            }
            Event::VerifyStarted => match &self.bar {
                Some(bar) => bar.set_message("verifying license processing"),
                None => self.line("verifying license processing".to_owned()),
            },
            Event::StillProcessing {
                pending,
                elapsed,
                timeout,
            } => {
                let text = format!(
                    "{pending} group(s) still processing ({}s of at most {}s; --verify-timeout)",
                    elapsed.as_secs(),
                    timeout.as_secs()
                );
                match &self.bar {
                    Some(bar) => bar.set_message(text),
                    None => self.line(text),
                }
            }
        }
    }
}

/// The exact request of every action, for `--dry-run`.
pub fn dry_run_requests<B: LicensingBackend>(plan: &Plan, backend: &B) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{BOLD}Dry run: the requests apply would send ({} action(s)); nothing was written.{BOLD:#}",
        plan.actions.len()
    );
    for a in &plan.actions {
        let _ = writeln!(
            out,
            "\n# {} {} on {} ({})",
            devlic_planner::render::symbol(a.kind),
            sanitize(&a.sku.sku_part_number),
            sanitize(&a.group.display_name),
            a.group.id
        );
        for r in backend.preview(a.group.id, &Change::of(a)) {
            let _ = writeln!(out, "{} {}", r.method, r.url);
            if let Some(body) = &r.body {
                let _ = writeln!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(body).unwrap_or_else(|_| body.to_string())
                );
            }
        }
    }
    out
}

fn licenses_text(licenses: &[AssignedLicense], live: Option<&LiveState>) -> String {
    if licenses.is_empty() {
        return "no device license".to_owned();
    }
    licenses
        .iter()
        .map(|l| {
            let name = live
                .and_then(|s| s.sku(l.sku_id))
                .map(|s| sanitize(&s.sku_part_number).into_owned())
                .or_else(|| {
                    devlic_model::known_skus::by_id(l.sku_id).map(|k| k.part_number.to_owned())
                })
                .unwrap_or_else(|| l.sku_id.to_string());
            if l.disabled_plans.is_empty() {
                name
            } else {
                format!("{name} ({} plan(s) disabled)", l.disabled_plans.len())
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a saved plan was refused: each moved group, planned vs found.
pub fn stale_text(groups: &[StaleGroup]) -> String {
    let mut out = format!(
        "{BAD}error:{BAD:#} the plan is stale: {} group(s) changed since it was made; nothing was written\n",
        groups.len()
    );
    for g in groups {
        let _ = writeln!(
            out,
            "  {} ({}):\n    planned from: {}\n    would make:   {}\n    found now:    {}",
            sanitize(&g.group.display_name),
            g.group.id,
            licenses_text(&g.planned_before, None),
            licenses_text(&g.planned_after, None),
            match &g.found {
                Some(found) => licenses_text(found, None),
                None => "the group no longer exists".to_owned(),
            }
        );
    }
    out.push_str("help: run `devlic plan` again, review the new plan, and apply that one\n");
    out
}

/// What went wrong in a finished run (empty when it succeeded). `plan` supplies the capacity
/// arithmetic: Graph reports no error code for devices, so a shortage the plan predicted is how
/// devlic can say the errors are most likely CountViolation.
pub fn failure_text(report: &RunReport, plan: &Plan) -> String {
    let mut out = String::new();
    let names: BTreeMap<_, _> = report
        .actions
        .iter()
        .map(|a| (a.group.id, a.group.display_name.as_str()))
        .collect();
    let name = |id: &devlic_model::GroupId| {
        format!(
            "{} ({id})",
            sanitize(names.get(id).copied().unwrap_or("unknown group"))
        )
    };
    for a in report
        .actions
        .iter()
        .filter(|a| a.outcome == ActionOutcome::Failed)
    {
        let _ = writeln!(
            out,
            "{BAD}failed:{BAD:#} {} {} on {}: {}",
            devlic_planner::render::symbol(a.action),
            sanitize(&a.sku.label()),
            name(&a.group.id),
            sanitize(a.error.as_deref().unwrap_or("no detail"))
        );
    }
    if let Some(v) = &report.verification {
        for g in &v.pending_groups {
            let _ = writeln!(
                out,
                "{BAD}pending:{BAD:#} {}: license processing had not finished when \
                 verification timed out (raise --verify-timeout, or rerun apply later to check)",
                name(g)
            );
        }
        for g in &v.license_errors {
            let shortage = plan
                .actions
                .iter()
                .filter(|a| a.group.id == g.group)
                .find_map(|a| {
                    plan.capacity
                        .iter()
                        .find(|c| c.sku.sku_id == a.sku.sku_id && c.available_after < 0)
                });
            let causes = license_errors::summarize(&g.members, shortage.is_some());
            let devices: u64 = causes.iter().map(|c| c.devices).sum();
            let _ = writeln!(
                out,
                "{BAD}not licensed:{BAD:#} {}: {devices} device(s): {}",
                name(&g.group),
                sanitize(&license_errors::causes_line(&causes))
            );
            if causes.iter().any(|c| c.code == "CountViolation") {
                let _ = writeln!(
                    out,
                    "  help: the subscription has too few units for these devices: buy more, or \
                     free some by revoking devices that no longer need the apps"
                );
            }
        }
        for g in &v.vanished_groups {
            let _ = writeln!(
                out,
                "{BAD}gone:{BAD:#} {}: the group no longer exists (deleted during the run); \
                 remove it from the spec or restore it",
                name(g)
            );
        }
        for u in &v.unknown_states {
            let _ = writeln!(
                out,
                "{BAD}unknown state:{BAD:#} {}: Graph reports license processing state `{}`, \
                 which devlic does not know; check the group in the Entra admin center",
                name(&u.group),
                sanitize(&u.state)
            );
        }
        if let Some(e) = &v.read_error {
            let _ = writeln!(
                out,
                "{BAD}verification incomplete:{BAD:#} {} (rerun apply to check again)",
                sanitize(e)
            );
        }
        if let Some(u) = &v.usage_rights {
            for g in &u.groups {
                let style = if g.holders < g.devices_read {
                    BAD
                } else {
                    BOLD
                };
                let _ = writeln!(
                    out,
                    "{style}usage rights:{style:#} {}: {}",
                    name(&g.group.id),
                    sanitize(&g.sentence())
                );
            }
            if let Some(e) = &u.read_error {
                let _ = writeln!(
                    out,
                    "{BAD}usage rights unread:{BAD:#} {} (rerun apply to check again)",
                    sanitize(e)
                );
            }
        }
    }
    out.push_str(&unlicensed_text(&report.unlicensed));
    out
}

/// The spec's groups with devices no write of this run could license, and what to do: the
/// same words as the plan's "not licensed" section.
pub fn unlicensed_text(unlicensed: &[devlic_model::Unlicensed]) -> String {
    let mut out = String::new();
    for u in unlicensed {
        let _ = writeln!(
            out,
            "{BAD}not licensed:{BAD:#} {} ({}): {} device(s): {}",
            sanitize(&u.group.display_name),
            u.group.id,
            u.devices,
            sanitize(&license_errors::causes_line(&u.causes))
        );
    }
    if !unlicensed.is_empty() {
        let _ = writeln!(
            out,
            "  help: devlic has nothing to write for these groups: add units to the subscription \
             (Billing > Licenses in the Microsoft 365 admin center), or remove devices from the \
             group; then run apply again to check"
        );
    }
    out
}

/// Writes `--report`, appends `--summary-markdown`, writes `--junit`.
pub fn write_reports(
    report: &RunReport,
    json: Option<&Path>,
    markdown: Option<&Path>,
    junit: Option<&Path>,
) -> Result<(), CliError> {
    if let Some(path) = json {
        crate::file_io::write_private(path, (report.to_json() + "\n").as_bytes())
            .map_err(|e| CliError::write_file(path, &e))?;
    }
    if let Some(path) = markdown {
        append(path, &report.to_markdown())?;
    }
    if let Some(path) = junit {
        crate::file_io::write_private(path, report.to_junit().as_bytes())
            .map_err(|e| CliError::write_file(path, &e))?;
    }
    Ok(())
}

/// Appends to a file (creating it), as `$GITHUB_STEP_SUMMARY` expects.
pub fn append(path: &Path, text: &str) -> Result<(), CliError> {
    // One write, so a concurrent step's summary is never interleaved inside this one.
    crate::file_io::append_private(path, format!("{text}\n").as_bytes())
        .map_err(|e| CliError::write_file(path, &e))
}
