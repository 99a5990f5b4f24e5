//! An in-process Graph simulator on 127.0.0.1 and `devlic` runs against it.

use std::path::{Path, PathBuf};

use assert_cmd::cargo::cargo_bin_cmd;
use devlic_graph_sim::{Sim, SimConfig, Stats, Tenant};

use crate::support::{Run, root};

/// The client secret the simulator's app registration accepts.
pub const SECRET: &str = "devlic-sim-secret";

/// A simulator with the runtime that serves it (the test thread runs `devlic` meanwhile).
pub struct TestSim {
    pub sim: Sim,
    pub tenant_id: String,
    // Dropped after `sim`: the server task needs the runtime until it stops.
    _rt: tokio::runtime::Runtime,
}

/// Loads `examples/tenants/<name>.json`.
pub fn fixture(name: &str) -> Tenant {
    let path = root().join(format!("examples/tenants/{name}.json"));
    Tenant::from_json(&std::fs::read_to_string(path).expect("fixture exists"))
        .expect("fixture parses")
}

impl TestSim {
    /// Serves `examples/tenants/<name>.json`.
    pub fn start(name: &str) -> TestSim {
        TestSim::with_tenant(fixture(name))
    }

    /// Serves a tenant.
    pub fn with_tenant(tenant: Tenant) -> TestSim {
        TestSim::with_config(tenant, SimConfig::default())
    }

    /// Serves a tenant with a simulator configuration (token lifetime, faults...).
    pub fn with_config(tenant: Tenant, config: SimConfig) -> TestSim {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let tenant_id = tenant.id.clone();
        let sim = rt
            .block_on(Sim::start(tenant, config))
            .expect("simulator starts");
        TestSim {
            sim,
            tenant_id,
            _rt: rt,
        }
    }

    /// `devlic ARGS --graph-url URL --authority-url URL`, signed in with the client secret, in
    /// an environment cleared of every other credential variable.
    pub fn devlic(&self, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = clean_devlic(args);
        cmd.args([
            "--graph-url",
            &self.sim.url(),
            "--authority-url",
            &self.sim.url(),
        ])
        .env("AZURE_TENANT_ID", &self.tenant_id)
        .env("AZURE_CLIENT_ID", "devlic-sim")
        .env("AZURE_CLIENT_SECRET", SECRET);
        cmd
    }

    /// Runs `devlic` against the simulator.
    pub fn run(&self, args: &[&str]) -> Run {
        finish(self.devlic(args))
    }

    /// Runs `devlic` signed in as the tenant file's application `app_id` (e.g. one of
    /// SECURITY.md's least-privilege identities, `devlic-plan-group`).
    pub fn run_as(&self, app_id: &str, args: &[&str]) -> Run {
        let mut cmd = self.devlic(args);
        cmd.env("AZURE_CLIENT_ID", app_id);
        finish(cmd)
    }

    /// A plan of `examples/contoso` (`devlic plan`, plus `plan_args`) saved in `dir`, made
    /// stale by another admin: before it is applied, `others` (spec assignments, YAML) is
    /// applied with `--no-verify` and the guards passed. Counters and the request log are reset
    /// afterwards, so a test sees only what applying the saved plan does. Returns the plan's
    /// path.
    pub fn stale_saved_plan(&self, dir: &Path, plan_args: &[&str], others: &str) -> PathBuf {
        let plan = dir.join("plan.json");
        let r = self.run(
            &[
                &["plan", "examples/contoso", "--out", s(&plan)][..],
                plan_args,
            ]
            .concat(),
        );
        assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
        let other = write_spec(
            dir,
            "other.yaml",
            &format!("apiVersion: devlic/v1\nkind: DeviceLicenses\nassignments:\n{others}"),
        );
        let r = self.run(&[
            "apply",
            s(&other),
            "--auto-approve",
            "--no-verify",
            "--allow-revoke",
            "--allow-shortfall",
        ]);
        assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
        self.sim.reset_stats();
        plan
    }

    /// Counters since start or the last reset.
    pub fn stats(&self) -> Stats {
        self.sim.stats()
    }
}

/// `devlic ARGS` from the workspace root, without colour, with none of the credential variables
/// of the machine running the tests (`devlic_scenarios::inherited_credential_variables`).
pub fn clean_devlic(args: &[&str]) -> assert_cmd::Command {
    let mut cmd = cargo_bin_cmd!("devlic");
    cmd.current_dir(root())
        .args(args)
        .env_remove("CLICOLOR_FORCE")
        .env("NO_COLOR", "1");
    for key in devlic_scenarios::inherited_credential_variables() {
        cmd.env_remove(key);
    }
    cmd
}

/// Runs a prepared command to completion.
pub fn finish(mut cmd: assert_cmd::Command) -> Run {
    let output = cmd.output().expect("devlic runs");
    Run {
        code: output.status.code().expect("devlic exited normally"),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// A path as &str (test paths are UTF-8).
pub fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// What another admin does in [`TestSim::stale_saved_plan`] most often: license the Contoso
/// warehouse (which the Contoso plan assigns DEVICE1) with the Education subscription.
pub const OTHERS_LICENSE_THE_WAREHOUSE: &str =
    "  - group: \"Shared PCs - Warehouse\"\n    subscription: OFFICE_PROPLUS_DEVICE_EDUCATION\n";

/// Writes a spec file into `dir` and returns its path.
pub fn write_spec(dir: &Path, name: &str, yaml: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, yaml).expect("spec written");
    path
}
