//! devlic-scenarios: the harness of the data-driven end-to-end scenarios in `tests/scenarios/`.
//!
//! Each folder there is one scenario: a simulator tenant, a spec, an optional `scenario.yaml`
//! (apply flags, expected exit codes, faults) and the expected outputs. [`Harness::check`] runs
//! one scenario on one licensing backend against a fresh in-process Graph simulator: `devlic
//! plan` in text and JSON, `devlic apply`, the tenant's license state read back from the
//! simulator, and `devlic plan --detailed-exitcode` again; every difference is reported with a
//! unified diff and the expected file's path. [`Harness::bless`] rewrites the expected files
//! instead. `tests/README.md` describes the folder format; `tests/scenarios.rs` (a test target
//! of devlic-cli, the package that builds the `devlic` binary) turns each scenario and backend
//! into one test.

mod environment;
mod error;
mod expected;
mod normalise;
mod run;
mod scenario;
mod tenant_view;

use std::path::PathBuf;

pub use environment::{inherited_credential_variables, is_credential_variable};
pub use error::{Mismatch, ScenarioError};
pub use normalise::Normaliser;
pub use scenario::{ApplyStep, ExitStep, PlanStep, Scenario, ScenarioFile, discover};
pub use tenant_view::license_state;

/// The licensing API a scenario runs against (`devlic --backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// Graph v1.0 `assignLicense`.
    GroupLicensing,
    /// Graph beta cloudLicensing.
    CloudLicensing,
}

impl Backend {
    /// Every backend, the primary first.
    pub const ALL: [Backend; 2] = [Backend::GroupLicensing, Backend::CloudLicensing];

    /// The backend whose outputs are the shared expected files (`expected/NAME`).
    pub const PRIMARY: Backend = Backend::GroupLicensing;

    /// The `--backend` value, also the name of the override folder under `expected/`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::GroupLicensing => "group-licensing",
            Backend::CloudLicensing => "cloud-licensing",
        }
    }
}

/// Where the scenarios and the `devlic` binary are.
#[derive(Debug, Clone)]
pub struct Harness {
    /// The workspace root: `devlic` runs there, and scenario paths are relative to it.
    pub root: PathBuf,
    /// The `devlic` binary under test.
    pub devlic: PathBuf,
}

impl Harness {
    /// A harness for the workspace at `root`, running the binary `devlic`.
    pub fn new(root: impl Into<PathBuf>, devlic: impl Into<PathBuf>) -> Harness {
        Harness {
            root: root.into(),
            devlic: devlic.into(),
        }
    }

    /// Every scenario folder under `tests/scenarios/`, sorted by name.
    pub fn scenarios(&self) -> Result<Vec<Scenario>, ScenarioError> {
        discover(&self.root)
    }

    /// Runs `scenario` on `backend` and compares everything with the expected files and exit
    /// codes; the error lists every difference, not only the first.
    pub fn check(&self, scenario: &Scenario, backend: Backend) -> Result<(), ScenarioError> {
        let outputs = run::run(self, scenario, backend)?;
        let mut mismatches = outputs.exit_mismatches;
        for (name, actual) in &outputs.files {
            if let Some(m) = expected::compare(
                &scenario.expected_dir(),
                &scenario.rel_dir,
                backend,
                name,
                actual,
            )? {
                mismatches.push(m);
            }
        }
        if mismatches.is_empty() {
            Ok(())
        } else {
            Err(ScenarioError::Mismatch(mismatches))
        }
    }

    /// Runs `scenario` on each of its backends and rewrites its expected files from the outputs. Exit
    /// codes are the scenario's declared intent, never blessed: a difference still fails.
    pub fn bless(&self, scenario: &Scenario) -> Result<(), ScenarioError> {
        let mut runs = Vec::new();
        let mut mismatches = Vec::new();
        for &backend in &scenario.backends {
            let outputs = run::run(self, scenario, backend)?;
            mismatches.extend(outputs.exit_mismatches.into_iter().map(|mut m| {
                m.what = format!("{}: {}", backend.name(), m.what);
                m
            }));
            runs.push((backend, outputs.files));
        }
        let names: Vec<&str> = runs
            .first()
            .map(|(_, files)| files.iter().map(|(n, _)| *n).collect())
            .unwrap_or_default();
        for name in names {
            let per_backend: Vec<(Backend, String)> = runs
                .iter()
                .filter_map(|(b, files)| {
                    files
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map(|(_, text)| (*b, text.clone()))
                })
                .collect();
            expected::bless(&scenario.expected_dir(), name, &per_backend)?;
        }
        if mismatches.is_empty() {
            Ok(())
        } else {
            Err(ScenarioError::Mismatch(mismatches))
        }
    }
}
