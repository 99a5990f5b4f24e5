//! Expected files: which one a backend is compared with, the unified diff when they differ,
//! and blessing (rewriting them from a run).
//!
//! `expected/NAME` holds the output both backends share; `expected/<backend>/NAME` overrides it
//! for one backend and exists only where that backend's output really differs. An output that
//! is empty (e.g. the JSON plan of a spec that does not resolve) matches a missing file.

use std::path::{Path, PathBuf};

use similar::TextDiff;

use crate::Backend;
use crate::error::{Mismatch, ScenarioError};

/// The file `backend` is compared with: its override if there is one, else the shared file.
pub fn expected_path(dir: &Path, backend: Backend, name: &str) -> PathBuf {
    let own = dir.join(backend.name()).join(name);
    if own.is_file() { own } else { dir.join(name) }
}

/// Compares `actual` with the expected file; a mismatch carries a unified diff.
pub fn compare(
    dir: &Path,
    rel_dir: &str,
    backend: Backend,
    name: &str,
    actual: &str,
) -> Result<Option<Mismatch>, ScenarioError> {
    let path = expected_path(dir, backend, name);
    let expected = read_optional(&path)?;
    if expected.as_deref().unwrap_or("") == actual {
        return Ok(None);
    }
    let shown = shown_path(rel_dir, dir, &path);
    let detail = match expected {
        None => format!("{shown} does not exist; the run printed:\n{actual}"),
        Some(expected) => TextDiff::from_lines(expected.as_str(), actual)
            .unified_diff()
            .context_radius(3)
            .header(&format!("{shown} (expected)"), "actual")
            .to_string(),
    };
    Ok(Some(Mismatch {
        what: shown,
        detail,
    }))
}

/// Writes the expected files for `name` from both backends' outputs: the shared file from the
/// primary backend (or the only one the scenario runs on), an override for the other only where it differs (and no stale override).
pub fn bless(dir: &Path, name: &str, outputs: &[(Backend, String)]) -> Result<(), ScenarioError> {
    // A scenario that runs on one backend only keeps that backend's outputs as the shared files.
    let Some((_, primary)) = outputs
        .iter()
        .find(|(b, _)| *b == Backend::PRIMARY)
        .or(outputs.first())
    else {
        return Ok(());
    };
    write_or_remove(&dir.join(name), primary, false)?;
    for (backend, actual) in outputs {
        let own = dir.join(backend.name()).join(name);
        if actual == primary {
            write_or_remove(&own, "", false)?;
        } else {
            // An empty override says "this backend prints nothing here".
            write_or_remove(&own, actual, true)?;
        }
        remove_if_empty(&dir.join(backend.name()))?;
    }
    Ok(())
}

fn write_or_remove(path: &Path, content: &str, keep_empty: bool) -> Result<(), ScenarioError> {
    let io = |source| ScenarioError::Io {
        path: path.to_owned(),
        source,
    };
    if content.is_empty() && !keep_empty {
        return match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(e)),
            _ => Ok(()),
        };
    }
    if read_optional(path)?.as_deref() == Some(content) {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    std::fs::write(path, content).map_err(io)
}

fn remove_if_empty(dir: &Path) -> Result<(), ScenarioError> {
    let empty = std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_none());
    if !empty {
        return Ok(());
    }
    std::fs::remove_dir(dir).map_err(|source| ScenarioError::Io {
        path: dir.to_owned(),
        source,
    })
}

fn read_optional(path: &Path) -> Result<Option<String>, ScenarioError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ScenarioError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

/// `path` relative to the workspace root, for messages: `tests/scenarios/x/expected/plan.txt`.
fn shown_path(rel_dir: &str, dir: &Path, path: &Path) -> String {
    let inner = path.strip_prefix(dir).unwrap_or(path);
    let inner = inner
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    format!("{rel_dir}/expected/{inner}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ls(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        for entry in walk(dir) {
            out.push(
                entry
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/"),
            );
        }
        out.sort();
        out
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
        out
    }

    #[test]
    fn blessing_writes_an_override_only_where_a_backend_differs() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        bless(
            dir,
            "plan.txt",
            &[
                (Backend::GroupLicensing, "same\n".into()),
                (Backend::CloudLicensing, "same\n".into()),
            ],
        )
        .unwrap();
        bless(
            dir,
            "apply.txt",
            &[
                (Backend::GroupLicensing, "assignLicense\n".into()),
                (Backend::CloudLicensing, "create, then delete\n".into()),
            ],
        )
        .unwrap();
        assert_eq!(
            ls(dir),
            ["apply.txt", "cloud-licensing/apply.txt", "plan.txt"]
        );
        let c = Backend::CloudLicensing;
        assert_eq!(
            compare(dir, "s", c, "apply.txt", "create, then delete\n").unwrap(),
            None
        );
        assert_eq!(compare(dir, "s", c, "plan.txt", "same\n").unwrap(), None);

        // The backends agree again: the override goes, with its folder.
        bless(
            dir,
            "apply.txt",
            &[
                (Backend::GroupLicensing, "one\n".into()),
                (Backend::CloudLicensing, "one\n".into()),
            ],
        )
        .unwrap();
        assert_eq!(ls(dir), ["apply.txt", "plan.txt"]);
    }

    #[test]
    fn empty_output_matches_a_missing_file_and_blessing_removes_it() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let g = Backend::GroupLicensing;
        assert_eq!(compare(dir, "s", g, "plan.json", "").unwrap(), None);
        std::fs::write(dir.join("plan.json"), "{}\n").unwrap();
        bless(
            dir,
            "plan.json",
            &[(g, String::new()), (Backend::CloudLicensing, String::new())],
        )
        .unwrap();
        assert!(ls(dir).is_empty());
    }

    #[test]
    fn a_mismatch_names_the_file_and_shows_a_unified_diff() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::write(dir.join("plan.txt"), "a\nb\nc\n").unwrap();
        let m = compare(
            dir,
            "tests/scenarios/x",
            Backend::CloudLicensing,
            "plan.txt",
            "a\nB\nc\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!(m.what, "tests/scenarios/x/expected/plan.txt");
        assert!(m.detail.contains("-b\n+B\n"), "{}", m.detail);
        assert!(
            m.detail
                .contains("--- tests/scenarios/x/expected/plan.txt (expected)"),
            "{}",
            m.detail
        );
    }
}
