//! Kill-and-resume and concurrent applies: the real binary, SIGKILLed at seeded random points or
//! run twice at once, always converges with no write outside the plan and no group written twice
//! for one action.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use devlic_graph_sim::{Faults, LoggedRequest, Tenant};

use crate::sim::{SECRET, TestSim, s};
use crate::support::root;

/// Contoso with enough enterprise device units for the whole plan, so a converged run is clean.
fn contoso_with_room() -> Tenant {
    let path = root().join("examples/tenants/contoso.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for sku in json["subscribedSkus"].as_array_mut().unwrap() {
        if sku["skuPartNumber"] == "OFFICE_PROPLUS_DEVICE1" {
            sku["prepaidUnits"]["enabled"] = 200.into();
        }
    }
    Tenant::from_json(&json.to_string()).unwrap()
}

/// The binary as a plain process (so it can be killed), signed in to `sim`.
fn spawn(sim: &TestSim, args: &[&str]) -> std::process::Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_devlic"));
    cmd.current_dir(root())
        .args(args)
        .args([
            "--graph-url",
            &sim.sim.url(),
            "--authority-url",
            &sim.sim.url(),
        ])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .env("AZURE_TENANT_ID", &sim.tenant_id)
        .env("AZURE_CLIENT_ID", "devlic-sim")
        .env("AZURE_CLIENT_SECRET", SECRET)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.spawn().expect("devlic starts")
}

/// A small deterministic generator (no RNG dependency for one number per run).
fn kill_delay_ms(seed: u64, max: u64) -> u64 {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    x ^= x >> 33;
    x.wrapping_mul(0xff51afd7ed558ccd) % max
}

/// Writes that reached the tenant, keyed by what they wrote: `assignLicense` (202) and
/// cloudLicensing creates (201) by group id, cloudLicensing deletes (200/204) by assignment id.
fn landed(log: &[LoggedRequest]) -> BTreeMap<String, u32> {
    let mut out = BTreeMap::new();
    for r in log {
        let path = r.path_and_query.split('?').next().unwrap_or_default();
        let key = match (r.method.as_str(), r.status) {
            ("POST", 202) if path.ends_with("/assignLicense") => {
                path.split('/').nth(3).map(str::to_owned)
            }
            ("POST", 201) if path.ends_with("/cloudLicensing/assignments") => {
                path.split('/').nth(3).map(str::to_owned)
            }
            ("DELETE", 200 | 204) if path.contains("/cloudLicensing/assignments/") => {
                path.rsplit('/').next().map(|id| format!("assignment {id}"))
            }
            _ => None,
        };
        if let Some(key) = key {
            *out.entry(key).or_default() += 1;
        }
    }
    out
}

/// Writes the saved plan needs: one per action; on cloud-licensing (`backend` not empty) two for
/// a swap or a move (create, then delete).
fn planned_writes(plan_file: &std::path::Path, backend: &[&str]) -> u32 {
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(plan_file).unwrap()).unwrap();
    plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            if !backend.is_empty() && (a["action"] == "swap" || a["action"] == "move") {
                2
            } else {
                1
            }
        })
        .sum()
}

fn planned_groups(plan_file: &std::path::Path) -> Vec<String> {
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(plan_file).unwrap()).unwrap();
    plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["group"]["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn sigkill_at_random_points_then_rerun_converges() {
    kill_and_resume(
        contoso_with_room,
        "examples/contoso",
        &["--backend", "group-licensing"],
        16,
    );
}

#[test]
fn sigkill_and_resume_on_cloud_licensing() {
    kill_and_resume(
        contoso_with_room,
        "examples/contoso",
        &["--backend", "cloud-licensing"],
        8,
    );
}

/// A move between allotments killed before, between and after its create and delete: the
/// rerun finishes it without a second create or delete.
#[test]
fn sigkill_and_resume_of_an_allotment_move() {
    kill_and_resume(
        || {
            let path = root().join("tests/scenarios/allotment-move/tenant.json");
            Tenant::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
        },
        "tests/scenarios/allotment-move/devlic.yaml",
        &["--backend", "cloud-licensing"],
        6,
    );
}

/// Kills `devlic apply` of `spec` against `tenant` at seeded points and resumes it; `backend`
/// is extra arguments.
fn kill_and_resume(tenant: fn() -> Tenant, spec: &str, backend: &[&str], runs: u64) {
    let mut killed_mid_run = 0;
    for seed in 0..runs {
        let sim = TestSim::with_tenant(tenant());
        let dir = tempfile::tempdir().unwrap();
        let plan_file = dir.path().join("plan.json");
        let r = sim.run(&[&["plan", spec, "--out", s(&plan_file)], backend].concat());
        assert_eq!(r.code, 0, "{}", r.stderr);
        let planned = planned_groups(&plan_file);
        // Slow responses spread the kill points over sign-in, the stale check and the writes.
        sim.sim.set_faults(Faults {
            latency: Some(Duration::from_millis(40)),
            ..Faults::default()
        });
        sim.sim.clear_request_log();

        let mut child = spawn(
            &sim,
            &[
                &[
                    "apply",
                    "--plan",
                    s(&plan_file),
                    "--spec",
                    spec,
                    "--auto-approve",
                    "--concurrency",
                    "1",
                    "--poll-interval",
                    "0",
                ],
                backend,
            ]
            .concat(),
        );
        // Half the seeds kill at a seeded time (sign-in, reads, the stale check); the other half
        // right after the k-th write landed, so a rerun must resume from a partly written tenant
        // (on cloud-licensing, k can fall between a swap's create and its delete).
        let kill_after_writes =
            (seed % 2 == 1).then(|| 1 + (seed as u32 / 2) % planned_writes(&plan_file, backend));
        match kill_after_writes {
            None => std::thread::sleep(Duration::from_millis(kill_delay_ms(seed, 400))),
            Some(k) => {
                let give_up = std::time::Instant::now() + Duration::from_secs(30);
                while landed(&sim.sim.request_log()).values().sum::<u32>() < k
                    && child.try_wait().unwrap().is_none()
                    && std::time::Instant::now() < give_up
                {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
        let finished_before_kill = child.try_wait().unwrap().is_some();
        child.kill().ok(); // SIGKILL on Unix
        child.wait().unwrap();
        if !finished_before_kill {
            killed_mid_run += 1;
        }
        let writes_before_rerun: u32 = landed(&sim.sim.request_log()).values().sum();

        // Resume: odd seeds rerun the saved plan, even seeds re-plan from the spec.
        let rerun = if seed % 2 == 1 {
            sim.run(
                &[
                    &[
                        "apply",
                        "--plan",
                        s(&plan_file),
                        "--spec",
                        spec,
                        "--auto-approve",
                        "--poll-interval",
                        "0",
                    ],
                    backend,
                ]
                .concat(),
            )
        } else {
            sim.run(
                &[
                    &["apply", spec, "--auto-approve", "--poll-interval", "0"],
                    backend,
                ]
                .concat(),
            )
        };
        assert_eq!(
            rerun.code, 0,
            "seed {seed}: rerun failed:\n{}",
            rerun.stderr
        );
        sim.sim.set_faults(Faults::default());
        let after = sim.run(&[&["plan", spec, "--detailed-exitcode"], backend].concat());
        assert_eq!(
            after.code, 0,
            "seed {seed}: not converged:\n{}",
            after.stdout
        );

        let landed = landed(&sim.sim.request_log());
        for (key, n) in &landed {
            // Group ids must be planned groups; cloudLicensing deletes are keyed by assignment.
            let is_group = !key.starts_with("assignment ");
            assert!(
                !is_group || planned.contains(key),
                "seed {seed}: wrote {key}, which is not in the plan"
            );
            assert_eq!(*n, 1, "seed {seed}: {key} written {n} times");
        }
        let groups_written = landed
            .keys()
            .filter(|k| !k.starts_with("assignment "))
            .count();
        // v1.0 writes every planned group; cloudLicensing writes a revoke as a delete only.
        if backend.contains(&"group-licensing") {
            assert_eq!(groups_written, planned.len(), "seed {seed}: {landed:?}");
        } else {
            assert!(groups_written <= planned.len(), "seed {seed}: {landed:?}");
        }
        eprintln!(
            "kill/resume seed {seed}: killed {} ({}), {writes_before_rerun} write(s) landed before the kill, {} after the rerun",
            match kill_after_writes {
                Some(k) => format!("after write {k}"),
                None => format!("after {} ms", kill_delay_ms(seed, 400)),
            },
            if finished_before_kill {
                "already finished"
            } else {
                "mid-run"
            },
            landed.values().sum::<u32>()
        );
    }
    assert!(
        killed_mid_run >= runs / 3,
        "only {killed_mid_run} of {runs} runs were killed mid-run"
    );
}

#[test]
fn two_concurrent_applies_of_one_plan_converge() {
    let sim = TestSim::with_tenant(contoso_with_room());
    let dir = tempfile::tempdir().unwrap();
    let plan_file = dir.path().join("plan.json");
    assert_eq!(
        sim.run(&[
            "plan",
            "examples/contoso",
            "--backend",
            "group-licensing",
            "--out",
            s(&plan_file),
        ])
        .code,
        0
    );
    sim.sim.set_faults(Faults {
        latency: Some(Duration::from_millis(10)),
        ..Faults::default()
    });
    let report = |n: usize| dir.path().join(format!("report-{n}.json"));
    let started = Instant::now();
    let children: Vec<_> = (0..2)
        .map(|n| {
            spawn(
                &sim,
                &[
                    "apply",
                    "--plan",
                    s(&plan_file),
                    "--spec",
                    "examples/contoso",
                    "--auto-approve",
                    "--poll-interval",
                    "0",
                    "--report",
                    s(&report(n)),
                ],
            )
        })
        .collect();
    let codes: Vec<i32> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap().status.code().unwrap())
        .collect();
    sim.sim.set_faults(Faults::default());
    let after = sim.run(&[
        "plan",
        "examples/contoso",
        "--backend",
        "group-licensing",
        "--detailed-exitcode",
    ]);
    assert_eq!(after.code, 0, "not converged:\n{}", after.stdout);
    for (n, code) in codes.iter().enumerate() {
        // Each run either succeeded or refused because the other moved a group mid-check;
        // a success must never hide a group that is not in its planned state.
        assert!(*code == 0 || *code == 3, "run {n} exited {code}");
        if *code == 0 {
            let r: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(report(n)).unwrap()).unwrap();
            assert_eq!(r["success"], true);
            for a in r["actions"].as_array().unwrap() {
                let outcome = a["outcome"].as_str().unwrap();
                assert!(outcome == "applied" || outcome == "alreadyApplied", "{a}");
            }
        }
    }
    assert!(codes.contains(&0), "neither run succeeded: {codes:?}");
    eprintln!(
        "concurrent applies: exit codes {codes:?} in {:?}",
        started.elapsed()
    );
}
