//! `devlic plan DIR1 DIR2 …`: one plan per tenant, read concurrently, one section per tenant in
//! every output format. Built for managed service providers keeping one folder per customer
//! tenant in one repository.
//!
//! Each spec must name its `tenant`; devlic signs in to that tenant with the same app
//! registration (a multi-tenant app consented in each customer tenant, the usual MSP setup).
//! Tenants that need a different app registration are planned in a CI matrix, one job per
//! folder, as `examples/ci/github/matrix-tenants.yml` shows.

use std::io::Write;
use std::path::{Path, PathBuf};

use futures::StreamExt as _;

use devlic_model::display::{markdown_text, sanitize, sanitize_lines};
use devlic_model::{BackendSetting, Plan};
use devlic_planner::render::{self, TextOptions};
use devlic_planner::wire::PlanV1;
use devlic_planner::wire::multi::{MultiPlanV1, TenantOutcomeV1, TenantPlanV1};

use crate::cli::{ConnectArgs, PlanArgs, PlanFormat};
use crate::error::CliError;
use crate::exit::Exit;
use crate::state::{load_spec, read_and_plan};

/// Tenants read at once by `plan DIR…`: enough to overlap every tenant's Graph round trips
/// with the others' (each tenant has its own client with its own in-flight limit), few enough
/// that memory stays bounded and the sockets at about a hundred. A 10,000-group tenant holds
/// about 10 MB while it is planned (20 such tenants: 230 MB at peak). With 16, the 17th tenant
/// of 20 waited for the first to finish, a second chain of round trips: 20 tenants at 100 ms
/// per answer took 4.6 to 4.8 s, with 32 they take 2.7 to 3.2 s.
const MAX_TENANTS_IN_FLIGHT: usize = 32;

/// The runtime's worker threads for planning `tenants` folders: one per core (as the system
/// reports them), at most one per tenant read at once. Each tenant costs CPU of its own (parsing
/// a 10,000-entry spec, decoding 10,000 groups and planning take 0.15 s of CPU), which on one
/// thread would queue every tenant behind the others.
pub fn worker_threads(tenants: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    cores.min(tenants).clamp(1, MAX_TENANTS_IN_FLIGHT)
}

/// GitHub refuses pull-request comments longer than this.
const MARKDOWN_LIMIT: usize = 65_535;

/// One tenant's outcome.
struct TenantPlan {
    path: PathBuf,
    tenant: Option<String>,
    result: Result<Plan, CliError>,
}

/// Plans one tenant folder: its spec names the tenant to sign in to.
async fn plan_one(
    path: &Path,
    backend: Option<BackendSetting>,
    connect: &ConnectArgs,
) -> TenantPlan {
    let loaded = match load_spec(path) {
        Ok(l) => l,
        Err(e) => {
            return TenantPlan {
                path: path.to_owned(),
                tenant: None,
                result: Err(e),
            };
        }
    };
    let tenant = loaded.spec.tenant.clone();
    let result = async {
        let Some(tenant_id) = &tenant else {
            return Err(CliError::new(
                format!("{} does not name its tenant", path.display()),
                "add `tenant: <tenant id or verified domain>` to the spec: planning several folders signs in to each spec's own tenant",
            ));
        };
        let mut loaded = loaded;
        if let Some(b) = backend {
            loaded.spec.settings.backend = b;
        }
        let backend = backend.and_then(BackendSetting::fixed);
        let mut connect = connect.clone();
        connect.tenant_id = Some(tenant_id.clone());
        let (client, choice) =
            crate::backend_choice::connect(&connect, backend, Some(&loaded.spec)).await?;
        Ok(read_and_plan(&client, &loaded, choice).await?.1)
    }
    .await;
    TenantPlan {
        path: path.to_owned(),
        tenant,
        result,
    }
}

/// Runs `plan` over several tenant folders.
pub async fn run(
    args: &PlanArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Exit, CliError> {
    if args.out.is_some() || args.snapshot.is_some() {
        return Err(CliError::new(
            "--out and --snapshot take one spec path",
            "save or plan offline one tenant at a time (one CI matrix job per tenant folder)",
        ));
    }
    if args.connect.tenant_id.is_some() {
        return Err(CliError::new(
            "--tenant-id cannot be combined with several spec paths",
            "each spec's `tenant:` names the tenant devlic signs in to",
        ));
    }
    let backend = args.backend.map(BackendSetting::from);
    // Tenants are read concurrently, at most MAX_TENANTS_IN_FLIGHT at a time (each with its own
    // client, sign-in and Graph budget: Graph's limits are per app and tenant, so tenants do not
    // slow each other down at Graph), each as a task of its own so that a multi-threaded
    // runtime (`worker_threads`) runs their CPU work in parallel; results in argument order.
    let plans: Vec<TenantPlan> = futures::stream::iter(args.paths.iter().cloned())
        .map(|path| {
            let connect = args.connect.clone();
            let task = tokio::spawn({
                let path = path.clone();
                async move { plan_one(&path, backend, &connect).await }
            });
            async move {
                task.await.unwrap_or_else(|e| TenantPlan {
                    result: Err(CliError::new(
                        format!("planning {} stopped: {e}", path.display()),
                        "this is a bug in devlic; please report it with the output of -v",
                    )),
                    path,
                    tenant: None,
                })
            }
        })
        .buffered(MAX_TENANTS_IN_FLIGHT)
        .collect()
        .await;

    let rendered = match args.format {
        PlanFormat::Text => text(&plans),
        PlanFormat::Markdown => markdown(&plans),
        PlanFormat::Json => json(&plans),
    };
    out.write_all(rendered.as_bytes())?;

    let mut exit = Exit::Success;
    for p in &plans {
        let this = match &p.result {
            Err(e) => {
                if args.format != PlanFormat::Text {
                    // Text output already holds the error; other formats say it on stderr too.
                    write!(err, "{}: {e}", sanitize(&p.path.display().to_string()))?;
                }
                Exit::Error
            }
            Ok(plan)
                if args.detailed_exitcode
                    && !plan
                        .blocking_guards(devlic_model::GuardPasses::default())
                        .is_empty() =>
            {
                Exit::GuardRefused
            }
            Ok(plan) if !plan.is_converged() && args.detailed_exitcode => Exit::Changes,
            Ok(_) => Exit::Success,
        };
        exit = worst(exit, this);
    }
    Ok(exit)
}

/// Errors outrank guards, guards outrank changes: the exit code a CI job should act on.
fn worst(a: Exit, b: Exit) -> Exit {
    fn rank(e: Exit) -> u8 {
        match e {
            Exit::Success => 0,
            Exit::Changes => 1,
            Exit::GuardRefused => 2,
            Exit::Error => 3,
        }
    }
    if rank(b) > rank(a) { b } else { a }
}

/// `tenant (path)`, sanitized: both come from the repository (a spec value, a folder name).
fn title(p: &TenantPlan) -> String {
    let path = p.path.display().to_string();
    match &p.tenant {
        Some(t) => format!("{} ({})", sanitize(t), sanitize(&path)),
        None => sanitize(&path).into_owned(),
    }
}

/// An error (rendered for a terminal) as a fenced Markdown block: styles stripped, control
/// characters escaped, and a fence longer than any backtick run inside, so the error text
/// cannot close the block and continue as Markdown or HTML.
fn fenced_error(e: &CliError) -> String {
    let text = sanitize_lines(&strip_ansi(&e.to_string())).into_owned();
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}\n{}\n{fence}\n", text.trim_end())
}

fn text(plans: &[TenantPlan]) -> String {
    let mut s = String::new();
    for p in plans {
        s.push_str(&format!("══ tenant {} ══\n\n", title(p)));
        match &p.result {
            Ok(plan) => s.push_str(&render::text(plan, &TextOptions { color: true })),
            Err(e) => s.push_str(&e.to_string()),
        }
        s.push('\n');
    }
    s
}

fn markdown(plans: &[TenantPlan]) -> String {
    let section = |p: &TenantPlan, full: bool| -> String {
        let body = match &p.result {
            Ok(plan) if full => render::markdown(plan),
            Ok(plan) => format!(
                "{}\n\n_Details left out to stay under GitHub's comment limit; run {} for them._\n",
                render::summary_line(plan),
                devlic_model::display::markdown_code(&format!("devlic plan {}", p.path.display()))
            ),
            Err(e) => format!(
                "**devlic could not plan this tenant:**\n\n{}",
                fenced_error(e)
            ),
        };
        format!("## Tenant {}\n\n{body}\n", markdown_text(&title(p)))
    };
    let full: String = plans.iter().map(|p| section(p, true)).collect();
    if full.len() <= MARKDOWN_LIMIT {
        return full;
    }
    let short: String = plans.iter().map(|p| section(p, false)).collect();
    if short.len() <= MARKDOWN_LIMIT {
        return short;
    }
    // Hundreds of tenants: keep the first sections that fit and say how many were left out.
    let mut out = String::new();
    let mut left_out = 0;
    for p in plans {
        let s = section(p, false);
        if out.len() + s.len() + 200 <= MARKDOWN_LIMIT {
            out.push_str(&s);
        } else {
            left_out += 1;
        }
    }
    out.push_str(&format!(
        "_{left_out} more tenant(s) left out to stay under GitHub's comment limit._\n"
    ));
    out
}

/// The multi-tenant JSON document (`devlic_planner::wire::multi`, schema in
/// `schemas/multi-plan.schema.json`).
fn json(plans: &[TenantPlan]) -> String {
    let doc = MultiPlanV1::new(
        plans
            .iter()
            .map(|p| TenantPlanV1 {
                path: p.path.display().to_string(),
                tenant: p.tenant.clone(),
                outcome: match &p.result {
                    Ok(plan) => TenantOutcomeV1::Plan(Box::new(PlanV1::from_plan(plan))),
                    Err(e) => TenantOutcomeV1::Error(strip_ansi(&e.to_string()).trim_end().into()),
                },
            })
            .collect(),
    );
    // Strings, numbers and structs only: encoding cannot fail.
    doc.to_json().unwrap_or_default()
}

/// Removes ANSI styles (errors carry them for terminals; Markdown and JSON must not).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_worker_per_core_and_never_more_than_tenants_in_flight() {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        assert_eq!(worker_threads(1), 1);
        assert_eq!(worker_threads(2), cores.min(2));
        assert_eq!(worker_threads(1_000), cores.clamp(1, MAX_TENANTS_IN_FLIGHT));
        assert!(worker_threads(0) >= 1);
    }
}
