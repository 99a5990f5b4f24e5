//! `devlic completions SHELL`: print a completion script generated from the clap definitions.

use std::io::{self, Write};

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::exit::Exit;

/// Prints the completion script for the requested shell.
pub fn run(args: &CompletionsArgs, out: &mut dyn Write) -> io::Result<Exit> {
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "devlic", &mut buf);
    out.write_all(&buf)?;
    Ok(Exit::Success)
}
