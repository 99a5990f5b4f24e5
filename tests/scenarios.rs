//! The end-to-end scenarios of `tests/scenarios/`: one test per scenario folder and licensing
//! backend, each against its own Graph simulator on 127.0.0.1. See tests/README.md.
//!
//! `cargo test -p devlic-cli --test scenarios` runs them (`-- contoso` runs one);
//! `DEVLIC_BLESS=1 cargo test -p devlic-cli --test scenarios` rewrites the expected files.
//!
//! This file is a test target of devlic-cli (crates/cli/Cargo.toml) because only the package
//! that builds the `devlic` binary can name it; the harness itself is crates/scenarios.

use std::path::Path;

use devlic_scenarios::{Backend, Harness};
use libtest_mimic::{Arguments, Failed, Trial};

fn main() {
    let args = Arguments::from_args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let harness = Harness::new(root, env!("CARGO_BIN_EXE_devlic"));
    let bless = std::env::var_os("DEVLIC_BLESS").is_some_and(|v| !v.is_empty() && v != "0");

    let mut trials: Vec<Trial> = match harness.scenarios() {
        Ok(scenarios) => scenarios
            .into_iter()
            .flat_map(|scenario| {
                let scenario = std::sync::Arc::new(scenario);
                let harness = harness.clone();
                if bless {
                    // Both backends in one trial: the shared file and the overrides are
                    // decided from the two outputs together.
                    let name = format!("{}::bless", scenario.name);
                    return vec![Trial::test(name, move || {
                        harness.bless(&scenario).map_err(Failed::from)
                    })];
                }
                scenario
                    .backends
                    .clone()
                    .into_iter()
                    .map(|backend| {
                        let (harness, scenario) = (harness.clone(), scenario.clone());
                        let name = format!("{}::{}", scenario.name, backend.name());
                        Trial::test(name, move || {
                            harness.check(&scenario, backend).map_err(Failed::from)
                        })
                    })
                    .collect()
            })
            .collect(),
        // A broken scenario folder is a failure of its own, not a silent skip.
        Err(e) => vec![Trial::test("discover_scenarios", move || {
            Err(Failed::from(e))
        })],
    };
    if !bless {
        let harness = harness.clone();
        trials.push(Trial::test("harness::reports_every_mismatch", move || {
            reports_every_mismatch(&harness)
        }));
    }
    libtest_mimic::run(&args, trials).exit();
}

/// The harness itself: a copy of the swap scenario with a wrong exit code, an edited plan line
/// and a missing expected file fails with all three differences, each naming its file.
fn reports_every_mismatch(harness: &Harness) -> Result<(), Failed> {
    let scratch = tempfile::tempdir()?;
    let rel = "tests/scenarios/swap";
    copy_dir(&harness.root.join(rel), &scratch.path().join(rel))?;
    let dir = scratch.path().join(rel);
    std::fs::write(dir.join("scenario.yaml"), "apply:\n  exitCode: 3\n")?;
    let plan = std::fs::read_to_string(dir.join("expected/plan.txt"))?;
    std::fs::write(
        dir.join("expected/plan.txt"),
        plan.replace("1 to swap", "2 to swap"),
    )?;
    std::fs::remove_file(dir.join("expected/tenant-after.json"))?;

    let copy = Harness::new(scratch.path(), &harness.devlic);
    let scenario = devlic_scenarios::Scenario::load(scratch.path(), rel)?;
    let err = match copy.check(&scenario, Backend::GroupLicensing) {
        Err(devlic_scenarios::ScenarioError::Mismatch(m)) => m,
        other => return Err(format!("expected mismatches, got {other:?}").into()),
    };
    let whats: Vec<&str> = err.iter().map(|m| m.what.as_str()).collect();
    let expected = [
        "apply: exit code 0 (expected 3)",
        "tests/scenarios/swap/expected/plan.txt",
        "tests/scenarios/swap/expected/tenant-after.json",
    ];
    if whats != expected {
        return Err(format!("mismatches {whats:?}, expected {expected:?}").into());
    }
    if !err[1]
        .detail
        .contains("-Plan: 0 to assign, 0 to revoke, 2 to swap")
        || !err[1]
            .detail
            .contains("+Plan: 0 to assign, 0 to revoke, 1 to swap")
    {
        return Err(format!("no unified diff in:\n{}", err[1].detail).into());
    }
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}
