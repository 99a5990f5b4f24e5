//! `devlic plan PATH`: the diff between the spec and the tenant (or a snapshot).

use std::io::Write;

use devlic_model::{BackendSetting, Plan};
use devlic_planner::render::{self, TextOptions};

use crate::backend_choice;
use crate::cli::{PlanArgs, PlanFormat};
use crate::error::CliError;
use crate::exit::Exit;
use crate::snapshot;
use crate::state::{LoadedSpec, load_spec, make_plan, read_and_plan};

/// Loads the spec (with `--backend` applied), reads the state and plans. Shared with `apply`.
pub async fn plan_spec(
    path: &std::path::Path,
    backend: Option<BackendSetting>,
    connect: &crate::cli::ConnectArgs,
    snapshot_file: Option<&std::path::Path>,
) -> Result<(LoadedSpec, Plan), CliError> {
    let mut loaded = load_spec(path)?;
    if let Some(b) = backend {
        loaded.spec.settings.backend = b;
    }
    // The spec now holds the flag; `fixed` names the flag as the reason when there is one.
    let backend = backend.and_then(BackendSetting::fixed);
    let plan = match snapshot_file {
        Some(file) => {
            let mut live = snapshot::read(file)?;
            backend_choice::apply_fixed(backend, Some(&loaded.spec), &mut live);
            make_plan(&loaded, &live)?
        }
        None => {
            let (client, choice) =
                backend_choice::connect(connect, backend, Some(&loaded.spec)).await?;
            read_and_plan(&client, &loaded, choice).await?.1
        }
    };
    Ok((loaded, plan))
}

/// Runs `show`: a saved plan rendered again, like terraform's `show`.
pub fn show(args: &crate::cli::ShowArgs, out: &mut dyn Write) -> Result<Exit, CliError> {
    let plan = crate::apply::read_saved_plan(&args.file)?;
    out.write_all(render_as(&plan, args.format).as_bytes())?;
    Ok(Exit::Success)
}

fn render_as(plan: &Plan, format: PlanFormat) -> String {
    match format {
        // Styles are always rendered; anstream strips them for NO_COLOR, --color never or a pipe.
        PlanFormat::Text => render::text(plan, &TextOptions { color: true }),
        PlanFormat::Markdown => render::markdown(plan),
        PlanFormat::Json => render::json(plan),
    }
}

/// Runs `plan`. The rendered plan goes to `out`; notes go to `err`.
pub async fn run(
    args: &PlanArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Exit, CliError> {
    let [path] = args.paths.as_slice() else {
        return crate::multi::run(args, out, err).await;
    };
    let (_, plan) = plan_spec(
        path,
        args.backend.map(BackendSetting::from),
        &args.connect,
        args.snapshot.as_deref(),
    )
    .await?;
    let rendered = render_as(&plan, args.format);
    out.write_all(rendered.as_bytes())?;
    if let Some(file) = &args.out {
        crate::file_io::write_private(file, render::json(&plan).as_bytes())
            .map_err(|e| CliError::write_file(file, &e))?;
        writeln!(
            err,
            "Saved the plan to {}; apply it with `devlic apply --plan {}`.",
            file.display(),
            file.display()
        )?;
    }
    Ok(exit_for(&plan, args.detailed_exitcode, err)?)
}

/// The exit code of a plan: guards first (3), then drift (2: changes to write, or devices of the
/// spec's groups not licensed), with `--detailed-exitcode` only. Without it a tripped guard is
/// still said on stderr, where a CI log shows it.
fn exit_for(plan: &Plan, detailed: bool, err: &mut dyn Write) -> std::io::Result<Exit> {
    if !plan
        .blocking_guards(devlic_model::GuardPasses::default())
        .is_empty()
    {
        let style = anstyle::AnsiColor::Red.on_default().bold();
        for g in &plan.guard_violations {
            writeln!(
                err,
                "{style}guard:{style:#} {}",
                devlic_model::display::sanitize(&g.message())
            )?;
        }
        if detailed {
            return Ok(Exit::GuardRefused);
        }
        writeln!(
            err,
            "apply will refuse this plan until the guard is passed; `plan --detailed-exitcode` exits 3 for it"
        )?;
    }
    Ok(match (detailed, plan.is_converged()) {
        (true, false) => Exit::Changes,
        _ => Exit::Success,
    })
}
