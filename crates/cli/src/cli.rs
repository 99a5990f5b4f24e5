//! The command line, as clap types. Parsing only: each command's behaviour lives in its module.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Keep Microsoft 365 Apps device licenses equal to a YAML spec in git.
#[derive(Debug, Parser)]
#[command(
    name = "devlic",
    version,
    about,
    after_help = "Start with `devlic validate examples/contoso`. Exit codes: 0 success, 1 error, 2 changes (plan --detailed-exitcode), 3 a guard refused."
)]
pub struct Cli {
    /// The command to run; without one, devlic prints a short guide.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// devlic's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a spec offline: syntax, fields, GUIDs, duplicate groups, one subscription per group.
    #[command(
        after_help = "Examples:\n  devlic validate devlic.yaml\n  devlic validate specs/ --format json"
    )]
    Validate(ValidateArgs),
    /// Print the JSON Schema of spec files (for editors: yaml-language-server).
    #[command(after_help = "Example:\n  devlic schema > schemas/devlic.schema.json")]
    Schema,
    /// Print a shell completion script.
    #[command(
        after_help = "Example (bash):\n  devlic completions bash > ~/.local/share/bash-completion/completions/devlic"
    )]
    Completions(CompletionsArgs),
}

/// Arguments of `devlic validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// A spec file, or a folder whose *.yaml and *.yml files form one spec.
    pub path: PathBuf,
    /// How to print errors: `text` for people, `json` (an array on stdout) for tools.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Output format of `validate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// `path:line:col: error: message`, the source line and a caret, and a help line.
    Text,
    /// A JSON array of error objects (empty when the spec is valid).
    Json,
}

/// Arguments of `devlic completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to print a completion script for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}
