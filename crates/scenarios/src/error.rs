//! Why a scenario failed: a broken scenario folder, a run that could not happen, or outputs
//! that differ from the expected ones.

use std::fmt;
use std::path::PathBuf;

/// A scenario that could not run or did not match.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// A file of the scenario could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// `scenario.yaml` is not valid.
    #[error("{}: {message}", path.display())]
    ScenarioFile {
        /// The file.
        path: PathBuf,
        /// What the YAML reader said.
        message: String,
    },
    /// The folder misses a file the harness needs.
    #[error("scenario folder {} {problem}", dir.display())]
    Layout {
        /// The scenario folder.
        dir: PathBuf,
        /// What is missing.
        problem: String,
    },
    /// The tenant file is not a valid simulator tenant.
    #[error("{}: {source}", path.display())]
    Tenant {
        /// The file.
        path: PathBuf,
        /// The simulator's reason.
        source: devlic_graph_sim::TenantError,
    },
    /// The simulator (or its runtime) did not start.
    #[error("the simulator did not start: {0}")]
    Simulator(std::io::Error),
    /// `devlic` could not be run to completion.
    #[error("`{command}` did not run: {reason}")]
    Devlic {
        /// The command line, as the transcript shows it.
        command: String,
        /// Why (not found, killed by a signal, timed out).
        reason: String,
    },
    /// The run differs from what the scenario expects; every difference is listed.
    #[error("{}", Mismatches(.0))]
    Mismatch(Vec<Mismatch>),
}

/// One difference between a run and the scenario's expectations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// What differs, e.g. `apply exit code` or the expected file's path.
    pub what: String,
    /// The details: a unified diff, or expected and actual values with the output.
    pub detail: String,
}

struct Mismatches<'a>(&'a [Mismatch]);

impl fmt::Display for Mismatches<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} mismatch(es):", self.0.len())?;
        for m in self.0 {
            writeln!(f, "\n=== {}\n{}", m.what, m.detail.trim_end())?;
        }
        write!(
            f,
            "\nAn expected file that is out of date: if the new output is right, rewrite it with \
             `DEVLIC_BLESS=1 cargo test -p devlic-cli --test scenarios` and review the diff \
             before committing. An exit code: the expected ones are declared in the scenario's \
             scenario.yaml (see tests/README.md)."
        )
    }
}
