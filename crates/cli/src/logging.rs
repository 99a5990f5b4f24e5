//! Logging: tracing to stderr (stdout carries only the product), as text or JSON lines.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

/// Installs the subscriber. `-v` shows progress (info), `-vv` every request (debug);
/// `DEVLIC_LOG` (an `EnvFilter` directive such as `devlic_graph=trace`) overrides both.
pub fn init(verbose: u8, format: LogFormat, color: bool) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_env("DEVLIC_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(verbose > 1);
    // A second subscriber cannot be installed; `try_init` only fails then, which cannot happen
    // in a binary that calls this once.
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(color && std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder.json().with_ansi(false).try_init(),
    };
}
