//! The `devlic-sim` binary: serve prints its URL first, refuses non-loopback, generate writes.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_devlic-sim");

fn tenant_path() -> String {
    format!(
        "{}/../../examples/tenants/northwind.json",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[tokio::test]
async fn serve_prints_listening_line_then_serves() {
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--tenant",
            &tenant_path(),
            "--seed",
            "3",
            "--processing-delay-ms",
            "10",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn devlic-sim");
    let stdout = child.stdout.take().expect("stdout");
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    })
    .await
    .expect("join")
    .expect("first line");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .expect("listening line")
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let http = reqwest::Client::new();
    let token: serde_json::Value = http
        .post(format!("{url}/northwindschools.org/oauth2/v2.0/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "devlic-sim"),
            ("client_secret", "devlic-sim-secret"),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let org: serde_json::Value = http
        .get(format!("{url}/v1.0/organization"))
        .bearer_auth(token["access_token"].as_str().expect("token"))
        .send()
        .await
        .expect("org")
        .json()
        .await
        .expect("json");
    assert_eq!(org["value"][0]["displayName"], "Northwind School District");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn serve_refuses_non_loopback() {
    let out = Command::new(BIN)
        .args(["serve", "--tenant", &tenant_path(), "--listen", "0.0.0.0:0"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
}

#[test]
fn generate_writes_a_loadable_tenant() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("big.json");
    let status = Command::new(BIN)
        .args([
            "generate",
            "--groups",
            "20",
            "--devices",
            "300",
            "--seed",
            "9",
            "--out",
        ])
        .arg(&path)
        .status()
        .expect("run");
    assert!(status.success());
    let t = devlic_graph_sim::Tenant::from_json(&std::fs::read_to_string(&path).expect("read"))
        .expect("valid");
    assert_eq!((t.groups.len(), t.devices.len()), (20, 300));
}
