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

    let trials = match harness.scenarios() {
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
                Backend::ALL
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
    libtest_mimic::run(&args, trials).exit();
}
