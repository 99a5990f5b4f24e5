//! The Contoso story of "green means licensed" (issue 18), run as an admin would run it, on
//! either backend: a success exit, "No changes" or a green nightly job must mean every device of
//! the spec's groups is licensed.

use crate::sim::TestSim;

const FAST: [&str; 2] = ["--poll-interval", "0.05"];

/// Runs the story with `backend` flags (empty for the spec's own backend).
pub fn contoso_story(backend: &[&str]) {
    let sim = TestSim::start("contoso");
    let with = |args: &[&str]| -> Vec<String> {
        args.iter()
            .chain(backend)
            .map(|s| (*s).to_owned())
            .collect()
    };
    let run = |args: &[&str]| {
        let argv = with(args);
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        sim.run(&argv)
    };

    // 1. The plan says first that 6 devices will end up without the apps, and exits 3.
    let plan = run(&["plan", "examples/contoso", "--detailed-exitcode"]);
    assert_eq!(plan.code, 3, "{}\n{}", plan.stdout, plan.stderr);
    let banner = plan
        .stdout
        .find("!! 6 devices will end up without Microsoft 365 Apps")
        .unwrap_or_else(|| panic!("no shortfall banner:\n{}", plan.stdout));
    let changes = plan.stdout.find("devlic will make these changes").unwrap();
    assert!(
        banner < changes,
        "the shortfall comes first:\n{}",
        plan.stdout
    );
    // The swap into the short subscription does not promise the apps stay licensed.
    assert!(
        !plan.stdout.contains("the apps stay licensed throughout")
            && !plan.stdout.contains("never unlicensed in between"),
        "{}",
        plan.stdout
    );

    // 2. Apply refuses the shortfall without the flag, writing nothing.
    let refused = run(&[
        &[
            "apply",
            "examples/contoso",
            "--auto-approve",
            "--allow-revoke",
        ][..],
        &FAST,
    ]
    .concat());
    assert_eq!(refused.code, 3, "{}\n{}", refused.stdout, refused.stderr);
    assert!(
        refused.stderr.contains("--allow-shortfall"),
        "{}",
        refused.stderr
    );
    assert_eq!(sim.stats().writes, 0);

    // 3. With it, apply frees before it consumes, writes everything, and fails: 6 devices of
    //    the warehouse (the last group to take units) are not licensed.
    let short = run(&[
        &[
            "apply",
            "examples/contoso",
            "--auto-approve",
            "--allow-revoke",
            "--allow-shortfall",
        ][..],
        &FAST,
    ]
    .concat());
    assert_eq!(short.code, 1, "{}\n{}", short.stdout, short.stderr);
    assert!(
        short.stderr.contains("not licensed:") && short.stderr.contains("Shared PCs - Warehouse"),
        "{}",
        short.stderr
    );
    assert!(short.stderr.contains("6 device(s)"), "{}", short.stderr);
    assert!(short.stderr.contains("CountViolation"), "{}", short.stderr);

    // 4. The next plan has nothing to write but is not green: exit 2, the devices named.
    let drift = run(&["plan", "examples/contoso", "--detailed-exitcode"]);
    assert_eq!(drift.code, 2, "{}\n{}", drift.stdout, drift.stderr);
    assert!(
        drift.stdout.contains("Devices not licensed now"),
        "{}",
        drift.stdout
    );
    assert!(
        drift
            .stdout
            .contains("No changes to write, but 6 devices in 1 group of the spec are not licensed"),
        "{}",
        drift.stdout
    );
    assert!(!drift.stdout.contains("No changes. "), "{}", drift.stdout);

    // 5. A rerun of apply can fix nothing, says so and why, and still fails.
    let again = run(&[&["apply", "examples/contoso", "--auto-approve"][..], &FAST].concat());
    assert_eq!(again.code, 1, "{}\n{}", again.stdout, again.stderr);
    assert!(
        again.stderr.contains("nothing to write, but 6 device(s)"),
        "{}",
        again.stderr
    );
    assert!(!again.stdout.contains("Apply complete"), "{}", again.stdout);

    // A plan saved now has nothing to write; applying it must not be green while the
    // devices wait, whatever the file says about them.
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("drift.json");
    let saved = saved.to_str().unwrap();
    let out = run(&["plan", "examples/contoso", "--out", saved]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let saved_drift = run(&[&["apply", "--plan", saved, "--auto-approve"][..], &FAST].concat());
    assert_eq!(
        saved_drift.code, 1,
        "{}\n{}",
        saved_drift.stdout, saved_drift.stderr
    );

    // 6. Units are bought: the waiting devices get licensed, and everything is green.
    assert!(sim.sim.add_units("OFFICE_PROPLUS_DEVICE1", 10));
    // The saved plan's list of unlicensed devices is read again from the tenant: green now.
    let saved_green = run(&[&["apply", "--plan", saved, "--auto-approve"][..], &FAST].concat());
    assert_eq!(
        saved_green.code, 0,
        "{}\n{}",
        saved_green.stdout, saved_green.stderr
    );
    let green = run(&["plan", "examples/contoso", "--detailed-exitcode"]);
    assert_eq!(green.code, 0, "{}\n{}", green.stdout, green.stderr);
    assert!(green.stdout.contains("No changes. "), "{}", green.stdout);
    let done = run(&[&["apply", "examples/contoso", "--auto-approve"][..], &FAST].concat());
    assert_eq!(done.code, 0, "{}\n{}", done.stdout, done.stderr);
}
