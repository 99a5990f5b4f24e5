//! The binary's one error type: a message, what to do next, and the exit code it maps to.

use std::fmt;
use std::io;
use std::path::Path;

use anstyle::{AnsiColor, Style};
use devlic_model::display::sanitize_lines;

use crate::exit::Exit;

const ERROR: Style = AnsiColor::Red.on_default().bold();
const HELP: Style = AnsiColor::Cyan.on_default().bold();

/// A failed command, ready to print.
#[derive(Debug)]
pub struct CliError {
    /// What went wrong (one line; may already hold a rendered multi-line body).
    pub message: String,
    /// What to do next.
    pub help: Option<String>,
    /// The exit code.
    pub exit: Exit,
    /// True when `message` is already fully rendered (e.g. spec errors with snippets).
    pub rendered: bool,
    /// True when stdout was closed early (`devlic schema | head`): not a failure.
    pub broken_pipe: bool,
}

impl CliError {
    /// An error (exit 1) with a hint.
    pub fn new(message: impl Into<String>, help: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            help: Some(help.into()),
            exit: Exit::Error,
            rendered: false,
            broken_pipe: false,
        }
    }

    /// Output already rendered by a command (spec errors, plan errors), printed as is.
    pub fn rendered(text: String, exit: Exit) -> CliError {
        CliError {
            message: text,
            help: None,
            exit,
            rendered: true,
            broken_pipe: false,
        }
    }

    /// Sets the exit code.
    pub fn with_exit(mut self, exit: Exit) -> CliError {
        self.exit = exit;
        self
    }

    /// A file could not be written.
    pub fn write_file(path: &Path, e: &io::Error) -> CliError {
        CliError::new(
            format!("cannot write {}: {e}", path.display()),
            "check that the folder exists and is writable",
        )
    }

    /// A file could not be read.
    pub fn read_file(path: &Path, e: &io::Error) -> CliError {
        CliError::new(
            format!("cannot read {}: {e}", path.display()),
            "check the path and the file's permissions",
        )
    }
}

impl From<io::Error> for CliError {
    fn from(e: io::Error) -> CliError {
        CliError {
            message: format!("cannot write output: {e}"),
            help: None,
            exit: Exit::Error,
            rendered: false,
            broken_pipe: e.kind() == io::ErrorKind::BrokenPipe,
        }
    }
}

impl fmt::Display for CliError {
    /// `error: message` and `help: ...`, with ANSI styles (stripped by anstream when needed).
    /// Messages quote paths, spec values and Graph's own error messages: their control
    /// characters are escaped here, whatever the constructor did. Rendered output sanitized its
    /// data where it quoted it (it carries devlic's own styles).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rendered {
            return f.write_str(&self.message);
        }
        writeln!(
            f,
            "{ERROR}error:{ERROR:#} {}",
            sanitize_lines(&self.message)
        )?;
        if let Some(help) = &self.help {
            writeln!(f, "{HELP}help:{HELP:#} {}", sanitize_lines(help))?;
        }
        Ok(())
    }
}
