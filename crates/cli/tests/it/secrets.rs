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
                    // The Contoso plan trips the revocation and shortfall guards; this test is
                    // about secrets, so the admin passes them and the run writes.
                    "--allow-revoke",
                    "--allow-shortfall",
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
    // The request log (one JSON line per Graph request) is part of what is swept.
    for (i, r) in runs.iter().enumerate() {
        if i != 1 && i != 4 {
            assert!(
                r.stderr.contains("\"target\":\"devlic::request\""),
                "run {i} has no request log: {}",
                r.stderr
            );
        }
    }
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

/// A sign-in mode, the environment it needs and its extra flags.
type AuthCase<'a> = (&'a str, Vec<(&'a str, String)>, Vec<String>);

/// base64url without padding, for the test's own federated token.
fn b64url(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// Every sign-in mode that can run against the simulator: the certificate's private key, the
/// federated token, the GitHub request token and the issued access tokens never appear in any
/// output or file, with debug logs on.
#[test]
fn secrets_of_every_auth_mode_never_leak() {
    let sim = TestSim::start("contoso");
    let dir = tempfile::tempdir().unwrap();
    let cert = crate::support::root().join("crates/graph/tests/data/test-only-client-cert.pem");
    let pem = std::fs::read_to_string(&cert).unwrap();
    // A line from the middle of the private key: distinctive, and never printable by devlic.
    let key_line = pem.lines().nth(4).unwrap().to_owned();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({
        "iss": "https://oidc.prod-aks.azure.com/6f1c2a3b-0d4e-4f5a-9b8c-7d6e5f4a3b2c/",
        "sub": "system:serviceaccount:devlic:devlic-apply",
        "aud": "api://AzureADTokenExchange",
        "iat": now, "nbf": now, "exp": now + 3600,
    });
    let federated = format!(
        "{}.{}.{}",
        b64url(br#"{"alg":"RS256","typ":"JWT"}"#),
        b64url(claims.to_string().as_bytes()),
        b64url(b"test-signature-not-checked-by-the-simulator")
    );
    let token_file = dir.path().join("federated-token");
    std::fs::write(&token_file, &federated).unwrap();
    let gh_request_token = "devlic-sim-gh-request-token";

    let modes: Vec<AuthCase> = vec![
        (
            "certificate",
            vec![],
            vec!["--certificate".into(), s(&cert).into()],
        ),
        (
            "workload-identity",
            vec![("AZURE_FEDERATED_TOKEN_FILE", s(&token_file).to_owned())],
            vec![],
        ),
        (
            "github",
            vec![
                (
                    "ACTIONS_ID_TOKEN_REQUEST_URL",
                    format!("{}/_sim/github-oidc", sim.sim.url()),
                ),
                (
                    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
                    gh_request_token.to_owned(),
                ),
            ],
            vec![],
        ),
    ];
    for (mode, env, flags) in modes {
        let plan = dir.path().join(format!("{mode}-plan.json"));
        let report = dir.path().join(format!("{mode}-report.json"));
        let mut outputs = Vec::new();
        for args in [
            vec![
                "-vv",
                "--log-format",
                "json",
                "plan",
                "examples/contoso",
                "--out",
                s(&plan),
            ],
            vec![
                "-vv",
                "--log-format",
                "json",
                "apply",
                "--plan",
                s(&plan),
                "--auto-approve",
                "--allow-revoke",
                "--allow-shortfall",
                "--poll-interval",
                "0.05",
                "--report",
                s(&report),
            ],
        ] {
            let mut cmd = sim.devlic(&args);
            cmd.env_remove("AZURE_CLIENT_SECRET")
                .args(["--auth", mode])
                .args(&flags);
            for (k, v) in &env {
                cmd.env(k, v);
            }
            let r = crate::sim::finish(cmd);
            assert!(r.code == 0 || r.code == 1, "{mode}: {}", r.stderr);
            assert!(
                !r.stderr.contains("could not get a Graph access token"),
                "{mode}: {}",
                r.stderr
            );
            eprintln!(
                "{mode} {}: exit {}\n{}",
                args[3],
                r.code,
                r.stderr
                    .lines()
                    .filter(|l| !l.contains("DEBUG") && !l.contains("TRACE"))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            outputs.push(r.stdout);
            outputs.push(r.stderr);
        }
        outputs.push(std::fs::read_to_string(&plan).unwrap());
        outputs.push(std::fs::read_to_string(&report).unwrap());
        for text in &outputs {
            assert!(!text.contains(&key_line), "{mode}: the private key leaked");
            assert!(
                !text.contains(&federated),
                "{mode}: the federated token leaked"
            );
            assert!(
                !text.contains(gh_request_token),
                "{mode}: the GitHub request token leaked"
            );
            assert!(!text.contains("eyJ"), "{mode}: something JWT-shaped leaked");
        }
    }
}
