//! The `devlic` binary: parses the command line, runs one command, maps the outcome to an exit
//! code. Wiring only; each command lives in its own module, and only this binary prints.

// The workspace denies print!/eprint! so that libraries never write to the terminal; writing
// the product to stdout and diagnostics to stderr is exactly this binary's job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod apply;
mod apply_output;
mod backend_choice;
mod cli;
mod completions;
mod connect;
mod error;
mod exit;
mod export;
mod file_io;
mod guide;
mod init;
mod logging;
mod multi;
mod plan;
mod render_errors;
mod saved_plan;
mod schema;
mod skus;
mod snapshot;
mod spec_files;
mod state;
mod validate;

// mimalloc instead of the system allocator: `plan DIR…` plans tenants on every core at once,
// and glibc's allocator spent a fifth of a 20-tenant run in its locks and free lists (devlic
// CPU 3.7 to 3.9 s with glibc, 2.2 to 3.0 s with mimalloc; README, Performance). Built
// with `no_thp` (workspace Cargo.toml): huge pages cost more page zeroing and memory than they
// saved.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, ColorArg, Command};
use crate::error::CliError;
use crate::exit::Exit;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // clap exits 2 on a usage error, which is devlic's "plan has changes": a mistyped flag
        // in a CI job must read as an error (1) instead. --help and --version still exit 0.
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Error.into()
            } else {
                Exit::Success.into()
            };
        }
    };
    let choice = match cli.color {
        ColorArg::Auto => anstream::ColorChoice::Auto,
        ColorArg::Always => anstream::ColorChoice::Always,
        ColorArg::Never => anstream::ColorChoice::Never,
    };
    choice.write_global();
    let color_allowed = cli.color == ColorArg::Always
        || (cli.color == ColorArg::Auto
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()));
    logging::init(cli.verbose, cli.log_format, color_allowed);
    // anstream strips the ANSI styles when NO_COLOR is set or the stream is not a terminal.
    let mut out = anstream::stdout();
    let mut err = anstream::stderr();
    let result = run(&cli, &mut out, &mut err);
    let result = result.and_then(|exit| out.flush().map(|()| exit).map_err(CliError::from));
    match result {
        Ok(exit) => exit.into(),
        // `devlic schema | head` closing the pipe early is not a failure.
        Err(e) if e.broken_pipe => Exit::Success.into(),
        Err(e) => {
            let _ = write!(err, "{e}");
            e.exit.into()
        }
    }
}

fn run(cli: &Cli, out: &mut dyn Write, err: &mut dyn Write) -> Result<Exit, CliError> {
    let Some(command) = &cli.command else {
        return Ok(guide::run(out)?);
    };
    match command {
        Command::Validate(args) => Ok(validate::run(args, out, err)?),
        Command::Schema => Ok(schema::run(out)?),
        Command::Completions(args) => Ok(completions::run(args, out)?),
        // Several tenants: each tenant's CPU work (spec parsing, decoding Graph's answers,
        // planning) is a task of its own, spread over the cores (multi.rs).
        Command::Plan(args) if args.paths.len() > 1 => block_on_threads(
            multi::worker_threads(args.paths.len()),
            plan::run(args, out, err),
        ),
        Command::Plan(args) => block_on(plan::run(args, out, err)),
        Command::Apply(args) => block_on(apply::run(args, out, err)),
        Command::Show(args) => Ok(plan::show(args, out)?),
        Command::Snapshot(args) => block_on(snapshot::run(args, err)),
        Command::Export(args) => block_on(export::run(args, out, err)),
        Command::Skus(args) => block_on(skus::run(args, out)),
        Command::Init(args) => block_on(init::run(args, err)),
    }
}

/// Runs a command's future on a single-threaded runtime (the Graph client bounds concurrency
/// itself; one thread is plenty for I/O).
fn block_on<F: std::future::Future<Output = Result<Exit, CliError>>>(
    future: F,
) -> Result<Exit, CliError> {
    block_on_threads(1, future)
}

/// Runs a command's future on a runtime of `threads` worker threads (1: the current thread).
fn block_on_threads<F: std::future::Future<Output = Result<Exit, CliError>>>(
    threads: usize,
    future: F,
) -> Result<Exit, CliError> {
    let mut builder = if threads > 1 {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(threads);
        b
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let runtime = builder.enable_all().build().map_err(|e| {
        CliError::new(
            format!("cannot start the async runtime: {e}"),
            "the system may be out of resources; retry",
        )
    })?;
    runtime.block_on(future)
}
