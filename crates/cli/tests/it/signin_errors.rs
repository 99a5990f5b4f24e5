//! Errors that name the cause (issue 15): a forgotten secret lists what each sign-in mode needs
//! instead of falling through to managed identity, a wrong port fails at once with "is
//! devlic-sim running?", and a Graph URL copied with its `/v1.0` is corrected with a note.

use std::time::{Duration, Instant};

use crate::sim::{SECRET, TestSim, clean_devlic, finish};

/// A loopback port nothing listens on.
fn dead_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn a_forgotten_secret_lists_each_mode_and_sends_nothing() {
    let sim = TestSim::start("contoso");
    let url = sim.sim.url();
    let mut cmd = clean_devlic(&[
        "plan",
        "examples/contoso",
        "--graph-url",
        &url,
        "--authority-url",
        &url,
    ]);
    cmd.env("AZURE_TENANT_ID", &sim.tenant_id)
        .env("AZURE_CLIENT_ID", "devlic-sim");
    let run = finish(cmd);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.is_empty());
    // No request at all: neither the token endpoint nor 169.254.169.254 was asked.
    assert_eq!(sim.stats().requests, 0);
    insta::assert_snapshot!("forgotten_secret", run.stderr);
}

#[test]
fn a_wrong_graph_port_fails_at_once_and_asks_whether_the_simulator_runs() {
    let port = dead_port();
    let dead = format!("http://127.0.0.1:{port}");
    let mut cmd = clean_devlic(&["skus", "--graph-url", &dead]);
    cmd.env("DEVLIC_ACCESS_TOKEN", "not-a-real-token");
    let started = Instant::now();
    let run = finish(cmd);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(run.code, 1);
    insta::assert_snapshot!(
        "wrong_graph_port",
        run.stderr.replace(&port.to_string(), "PORT")
    );
}

#[test]
fn a_wrong_authority_port_fails_at_once_too() {
    let sim = TestSim::start("contoso");
    let port = dead_port();
    let dead = format!("http://127.0.0.1:{port}");
    let mut cmd = clean_devlic(&[
        "skus",
        "--graph-url",
        &sim.sim.url(),
        "--authority-url",
        &dead,
    ]);
    cmd.env("AZURE_TENANT_ID", &sim.tenant_id)
        .env("AZURE_CLIENT_ID", "devlic-sim")
        .env("AZURE_CLIENT_SECRET", SECRET);
    let started = Instant::now();
    let run = finish(cmd);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(run.code, 1);
    assert!(!run.stderr.contains(SECRET));
    insta::assert_snapshot!(
        "wrong_authority_port",
        run.stderr
            .replace(&port.to_string(), "PORT")
            .replace(&sim.tenant_id, "TENANT")
    );
}

#[test]
fn a_graph_url_ending_in_the_api_version_is_corrected_with_a_note() {
    let sim = TestSim::start("contoso");
    let with_version = format!("{}/v1.0", sim.sim.url());
    let mut cmd = clean_devlic(&[
        "skus",
        "--graph-url",
        &with_version,
        "--authority-url",
        &sim.sim.url(),
    ]);
    cmd.env("AZURE_TENANT_ID", &sim.tenant_id)
        .env("AZURE_CLIENT_ID", "devlic-sim")
        .env("AZURE_CLIENT_SECRET", SECRET);
    let run = finish(cmd);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("OFFICE_PROPLUS_DEVICE1"),
        "{}",
        run.stdout
    );
    insta::assert_snapshot!(
        "graph_url_with_version",
        run.stderr.replace(&sim.sim.url(), "http://127.0.0.1:PORT")
    );
}

#[test]
fn url_variables_stand_for_the_url_flags_and_a_flag_wins() {
    let sim = TestSim::start("contoso");
    let dead = format!("http://127.0.0.1:{}", dead_port());
    let signed_in = |args: &[&str], graph: &str| {
        let mut cmd = clean_devlic(args);
        cmd.env("AZURE_TENANT_ID", &sim.tenant_id)
            .env("AZURE_CLIENT_ID", "devlic-sim")
            .env("AZURE_CLIENT_SECRET", SECRET)
            .env("DEVLIC_GRAPH_URL", graph)
            .env("DEVLIC_AUTHORITY_URL", sim.sim.url());
        finish(cmd)
    };
    let run = signed_in(&["skus"], &sim.sim.url());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("OFFICE_PROPLUS_DEVICE1"),
        "{}",
        run.stdout
    );
    // A dead address in the variable, the right one on the command line: the flag is used.
    let run = signed_in(&["skus", "--graph-url", &sim.sim.url()], &dead);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // And the variable alone is really read: the dead address fails, naming it.
    let run = signed_in(&["skus"], &dead);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains(&dead), "{}", run.stderr);
}
