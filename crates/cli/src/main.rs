//! The `devlic` binary: parses the command line, runs one command, maps the outcome to an exit
//! code. Wiring only; each command lives in its own module, and only this binary prints.

mod cli;
mod completions;
mod exit;
mod guide;
mod render_errors;
mod schema;
mod spec_files;
mod validate;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::exit::Exit;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // anstream strips the ANSI styles when NO_COLOR is set or the stream is not a terminal.
    let mut out = anstream::stdout();
    let mut err = anstream::stderr();
    let result = match &cli.command {
        None => guide::run(&mut out),
        Some(Command::Validate(args)) => validate::run(args, &mut out, &mut err),
        Some(Command::Schema) => schema::run(&mut out),
        Some(Command::Completions(args)) => completions::run(args, &mut out),
    };
    let result = result.and_then(|exit| out.flush().map(|()| exit));
    match result {
        Ok(exit) => exit.into(),
        // `devlic schema | head` closing the pipe early is not a failure.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Exit::Success.into(),
        Err(e) => {
            let _ = writeln!(err, "error: cannot write output: {e}");
            Exit::Error.into()
        }
    }
}
