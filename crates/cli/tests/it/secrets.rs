//! The client secret and the access tokens never reach stdout, stderr, logs, plan files,
//! snapshots or reports, even with `-vv --log-format json`.

use crate::sim::{SECRET, TestSim, s, write_spec};

fn assert_clean(what: &str, text: &str, token: &str) {
    assert!(!text.contains(SECRET), "{what} leaks the client secret");
    assert!(!text.contains(token), "{what} leaks the access token");
    // Every token the simulator issues is a JWT: its header starts with `eyJ`.
    assert!(
        !text.contains("eyJ"),
        "{what} contains something JWT-shaped"
    );
}

#[test]
fn secrets_never_leak() {
    let sim = TestSim::start("contoso");
    let token = sim.sim.issue_token();
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    let report = dir.path().join("report.json");
    let snap = dir.path().join("snap.json");
    let bad = write_spec(
        dir.path(),
        "bad.yaml",
        "apiVersion: devlic/v1\nkind: DeviceLicenses\nassignments:\n  - group: \"Nope\"\n    subscription: OFFICE_PROPLUS_DEVICE1\n",
    );
    let verbose = ["-vv", "--log-format", "json"];
    let mut runs = vec![
        sim.run(
            &[
                &verbose[..],
                &["plan", "examples/contoso", "--out", s(&plan)],
            ]
            .concat(),
        ),
        sim.run(&[&verbose[..], &["plan", s(&bad)]].concat()),
        sim.run(&[&verbose[..], &["snapshot", "--out", s(&snap)]].concat()),
        sim.run(
            &[
                &verbose[..],
                &[
                    "apply",
                    "--plan",
                    s(&plan),
                    "--auto-approve",
                    "--poll-interval",
                    "0.05",
                    "--report",
                    s(&report),
                ],
            ]
            .concat(),
        ),
    ];
    // A wrong secret: Entra's error must not echo it.
    runs.push(crate::sim::finish({
        let mut cmd = sim.devlic(&[&verbose[..], &["plan", "examples/contoso"]].concat());
        cmd.env("AZURE_CLIENT_SECRET", "wrong-secret-value");
        cmd
    }));
    // A pre-issued token handed over in DEVLIC_ACCESS_TOKEN.
    runs.push(crate::sim::finish({
        let mut cmd = sim.devlic(&[&verbose[..], &["skus"]].concat());
        cmd.env("DEVLIC_ACCESS_TOKEN", &token);
        cmd
    }));
    assert!(
        runs.iter()
            .any(|r| r.stderr.contains("\"level\":\"DEBUG\"")),
        "debug logs were on"
    );
    assert_eq!(runs[1].code, 1);
    assert_eq!(runs[4].code, 1);
    assert!(!runs[4].stderr.contains("wrong-secret-value"));
    assert_eq!(runs[5].code, 0, "{}", runs[5].stderr);
    for (i, r) in runs.iter().enumerate() {
        assert_clean(&format!("stdout of run {i}"), &r.stdout, &token);
        assert_clean(&format!("stderr of run {i}"), &r.stderr, &token);
    }
    for file in [&plan, &report, &snap] {
        assert_clean(
            &file.display().to_string(),
            &std::fs::read_to_string(file).unwrap(),
            &token,
        );
    }
}
