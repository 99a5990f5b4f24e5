//! One scenario folder: where its tenant and spec are, and what `scenario.yaml` asks for.

use std::path::{Component, Path, PathBuf};

use devlic_graph_sim::{Faults, Tenant};
use serde::Deserialize;

use crate::error::ScenarioError;

/// The optional `scenario.yaml` of a scenario folder. Every key is optional; the defaults make
/// the common story: the plan has changes (exit 2), apply succeeds (exit 0), and the plan after
/// it is empty (exit 0).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ScenarioFile {
    /// The tenant file, relative to the folder (default `tenant.json`).
    pub tenant: Option<String>,
    /// The spec file or folder, relative to the folder (default `spec/`, else `devlic.yaml`).
    pub spec: Option<String>,
    /// The first `devlic plan --detailed-exitcode`.
    pub plan: PlanStep,
    /// A spec that "someone else" applies after the plan and before the apply (with
    /// `devlic apply FILE --auto-approve --no-verify`), relative to the folder.
    pub change_before_apply: Option<String>,
    /// `devlic apply`.
    pub apply: ApplyStep,
    /// The `devlic plan --detailed-exitcode` after the apply.
    pub replan: ExitStep,
    /// The backends to run on (`group-licensing`, `cloud-licensing`); default both. For
    /// stories only one API can tell, such as moving a group between allotments.
    pub backends: Option<Vec<String>>,
}

/// What the first plan must do.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct PlanStep {
    /// Expected exit code of `plan --detailed-exitcode` (text and JSON alike); default 2.
    pub exit_code: i32,
    /// Also take a `devlic snapshot` of the tenant and plan from it (`plan --snapshot`): the
    /// offline plan must exit the same and print exactly what the live plan printed (one answer
    /// online and offline). Meant for plans that fail; a plan with changes says "offline".
    pub snapshot: bool,
}

impl Default for PlanStep {
    fn default() -> Self {
        PlanStep {
            exit_code: 2,
            snapshot: false,
        }
    }
}

/// How to apply and what must come of it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ApplyStep {
    /// More arguments for `devlic apply`, e.g. `[--allow-revoke]`.
    pub args: Vec<String>,
    /// Expected exit code; default 0.
    pub exit_code: i32,
    /// Apply the plan the first plan saved (`plan --out`, `apply --plan`) instead of the spec.
    pub saved_plan: bool,
    /// Simulator faults while apply runs (the simulator's `Faults`: `throttle_rate`,
    /// `retry_after_secs`, `lost_write_rate`, `latency` in ms, ...); cleared afterwards.
    pub faults: Option<Faults>,
}

/// A step that only checks an exit code.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ExitStep {
    /// Expected exit code; default 0 (converged).
    pub exit_code: i32,
}

/// A scenario folder under `tests/scenarios/`.
#[derive(Debug)]
pub struct Scenario {
    /// The folder name, which names the test.
    pub name: String,
    /// The folder, absolute.
    pub dir: PathBuf,
    /// The folder relative to the workspace root, with `/` separators.
    pub rel_dir: String,
    /// `scenario.yaml`, or the defaults.
    pub file: ScenarioFile,
    /// The spec path devlic is given, relative to the workspace root.
    pub spec: String,
    /// The tenant file, absolute.
    pub tenant_path: PathBuf,
    /// The spec of `change_before_apply`, relative to the workspace root.
    pub change: Option<String>,
    /// The backends it runs on, the one whose outputs are the shared expected files first.
    pub backends: Vec<crate::Backend>,
}

impl Scenario {
    /// Reads the folder `root/rel_dir`.
    pub fn load(root: &Path, rel_dir: &str) -> Result<Scenario, ScenarioError> {
        let dir = root.join(rel_dir);
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !dir.join("README.md").is_file() {
            return Err(ScenarioError::Layout {
                dir: dir.clone(),
                problem: "has no README.md saying what the scenario proves".to_owned(),
            });
        }
        let yaml = dir.join("scenario.yaml");
        let file = if yaml.is_file() {
            let text = read(&yaml)?;
            serde_saphyr::from_str::<ScenarioFile>(&text).map_err(|e| {
                ScenarioError::ScenarioFile {
                    path: yaml.clone(),
                    message: e.to_string(),
                }
            })?
        } else {
            ScenarioFile::default()
        };
        let spec = match &file.spec {
            Some(s) => join_rel(rel_dir, s),
            None if dir.join("spec").is_dir() => join_rel(rel_dir, "spec"),
            None if dir.join("devlic.yaml").is_file() => join_rel(rel_dir, "devlic.yaml"),
            None => {
                return Err(ScenarioError::Layout {
                    dir,
                    problem: "has no spec/ folder, no devlic.yaml and no `spec` in scenario.yaml"
                        .to_owned(),
                });
            }
        };
        if !root.join(&spec).exists() {
            return Err(ScenarioError::Layout {
                dir,
                problem: format!("names the spec {spec}, which does not exist"),
            });
        }
        let tenant_path = root.join(join_rel(
            rel_dir,
            file.tenant.as_deref().unwrap_or("tenant.json"),
        ));
        let change = file
            .change_before_apply
            .as_deref()
            .map(|c| join_rel(rel_dir, c));
        let backends = match &file.backends {
            None => crate::Backend::ALL.to_vec(),
            Some(names) => {
                let mut out = Vec::new();
                for n in names {
                    let Some(b) = crate::Backend::ALL.into_iter().find(|b| b.name() == n) else {
                        return Err(ScenarioError::Layout {
                            dir,
                            problem: format!(
                                "scenario.yaml names the backend `{n}`; use group-licensing or \
                                 cloud-licensing"
                            ),
                        });
                    };
                    if !out.contains(&b) {
                        out.push(b);
                    }
                }
                if out.is_empty() {
                    return Err(ScenarioError::Layout {
                        dir,
                        problem: "scenario.yaml has an empty `backends` list".to_owned(),
                    });
                }
                out
            }
        };
        Ok(Scenario {
            name,
            rel_dir: rel_dir.to_owned(),
            dir,
            file,
            spec,
            tenant_path,
            change,
            backends,
        })
    }

    /// Parses and validates the tenant file.
    pub fn tenant(&self) -> Result<Tenant, ScenarioError> {
        Tenant::from_json(&read(&self.tenant_path)?).map_err(|source| ScenarioError::Tenant {
            path: self.tenant_path.clone(),
            source,
        })
    }

    /// The folder holding the expected files.
    pub fn expected_dir(&self) -> PathBuf {
        self.dir.join("expected")
    }
}

/// Every folder under `root/tests/scenarios/`, sorted by name.
pub fn discover(root: &Path) -> Result<Vec<Scenario>, ScenarioError> {
    let base = root.join("tests/scenarios");
    let entries = std::fs::read_dir(&base).map_err(|source| ScenarioError::Io {
        path: base.clone(),
        source,
    })?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| ScenarioError::Io {
            path: base.clone(),
            source,
        })?;
        if entry.path().is_dir() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    names
        .iter()
        .map(|n| Scenario::load(root, &format!("tests/scenarios/{n}")))
        .collect()
}

pub(crate) fn read(path: &Path) -> Result<String, ScenarioError> {
    std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
        path: path.to_owned(),
        source,
    })
}

/// `base/rel` with `.` and `..` resolved lexically, `/`-separated: the spec path devlic prints
/// stays short (`examples/contoso`, not `tests/scenarios/contoso/../../../examples/contoso`).
fn join_rel(base: &str, rel: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in Path::new(base).join(rel).components() {
        match c {
            Component::ParentDir => {
                parts.pop();
            }
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            _ => {}
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_are_resolved_lexically() {
        assert_eq!(
            join_rel("tests/scenarios/contoso", "../../../examples/contoso"),
            "examples/contoso"
        );
        assert_eq!(
            join_rel("tests/scenarios/x", "./spec"),
            "tests/scenarios/x/spec"
        );
    }

    #[test]
    fn scenario_file_defaults_tell_the_common_story() {
        let f: ScenarioFile = serde_saphyr::from_str("{}").unwrap();
        assert_eq!(f.plan.exit_code, 2);
        assert_eq!(f.apply.exit_code, 0);
        assert_eq!(f.replan.exit_code, 0);
        assert!(!f.apply.saved_plan);
    }

    #[test]
    fn scenario_file_reads_faults_and_rejects_typos() {
        let f: ScenarioFile = serde_saphyr::from_str(
            "apply:\n  args: [--allow-revoke]\n  faults:\n    throttle_rate: 0.5\n    latency: 5\n",
        )
        .unwrap();
        assert_eq!(f.apply.args, ["--allow-revoke"]);
        let faults = f.apply.faults.unwrap();
        assert_eq!(faults.throttle_rate, 0.5);
        assert_eq!(faults.latency, Some(std::time::Duration::from_millis(5)));
        assert!(serde_saphyr::from_str::<ScenarioFile>("aply: {}\n").is_err());
    }
}
