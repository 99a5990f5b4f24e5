//! Sign-in as a person (issue 15): `--auth device-code` end to end against the simulator's
//! device-code endpoints (the test plays the user: it reads the code devlic prints on stderr
//! and approves it, as a person would in a browser), and `--auth azure-cli` through a fake `az`
//! on PATH.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use devlic_graph_sim::{Faults, SimConfig};

use crate::sim::{TestSim, clean_devlic, finish, fixture};
use crate::support::root;

/// Prepares `command` (devlic, or something that starts it) for a device-code sign-in against
/// `sim`: from the workspace root, without colour, none of the machine's credential variables,
/// and the tenant, the app `client_id` and the simulator as Graph and authority.
fn for_device_code(command: &mut Command, sim: &TestSim, client_id: &str) {
    command.current_dir(root());
    for key in devlic_scenarios::inherited_credential_variables() {
        command.env_remove(key);
    }
    command
        .env("NO_COLOR", "1")
        .env("AZURE_TENANT_ID", &sim.tenant_id)
        .env("AZURE_CLIENT_ID", client_id)
        .env("DEVLIC_GRAPH_URL", sim.sim.url())
        .env("DEVLIC_AUTHORITY_URL", sim.sim.url());
}

/// `devlic ARGS --auth device-code` against `sim`, signing in to the tenant file's app
/// `client_id` (`devlic-sim` is the configured one), with piped output.
pub fn device_code_devlic(sim: &TestSim, args: &[&str], client_id: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_devlic"));
    cmd.args(args)
        .args(["--auth", "device-code"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for_device_code(&mut cmd, sim, client_id);
    cmd
}

/// The user code of devlic's sign-in prompt, the line that holds "enter the code".
fn user_code(prompt: &str) -> String {
    prompt
        .split("enter the code ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no code in {prompt:?}"))
        .to_owned()
}

/// Reads `output` up to the sign-in prompt: what came before it, and the prompt line.
fn read_prompt(output: &mut impl BufRead) -> (String, String) {
    let mut before = String::new();
    let mut prompt = String::new();
    while !prompt.contains("enter the code ") {
        before.push_str(&prompt);
        prompt.clear();
        assert!(
            output.read_line(&mut prompt).unwrap() > 0,
            "the output closed before the prompt: {before}"
        );
    }
    (before, prompt)
}

/// A finished device-code run: the prompt it showed, its exit code and outputs.
pub struct SignedIn {
    /// stderr before the prompt.
    pub before_prompt: String,
    /// The prompt line.
    pub prompt: String,
    /// The exit code.
    pub code: Option<i32>,
    /// All of stdout.
    pub stdout: String,
    /// stderr after the prompt.
    pub stderr: String,
}

/// Runs a [`device_code_devlic`] command, approving its code after `wait` as the person
/// would in a browser. A run that is not done within a minute (e.g. waiting for a second code
/// nobody approves) is killed and fails the test.
pub fn sign_in_and_run(sim: &TestSim, mut cmd: Command, wait: Duration) -> SignedIn {
    let mut child = cmd.spawn().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let stdout = child.stdout.take().unwrap();
    let (before_prompt, prompt) = read_prompt(&mut stderr);
    std::thread::sleep(wait);
    assert!(sim.sim.approve_device_code(&user_code(&prompt)));
    let read_all = |mut from: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            from.read_to_string(&mut text).unwrap();
            text
        })
    };
    let stdout = read_all(Box::new(stdout));
    let stderr = read_all(Box::new(stderr));
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            // Our own child, by its handle.
            child.kill().unwrap();
            child.wait().unwrap();
            panic!(
                "devlic still ran after a minute:\n{}",
                stderr.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    SignedIn {
        before_prompt,
        prompt,
        code: status.code(),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

#[test]
fn device_code_sign_in_then_plan() {
    let sim = TestSim::start("contoso");
    let started = Instant::now();
    // devlic polls while the person signs in.
    let run = sign_in_and_run(
        &sim,
        device_code_devlic(&sim, &["plan", "examples/contoso"], "devlic-sim"),
        Duration::from_millis(1500),
    );
    // The prompt is the first thing on stderr.
    assert_eq!(run.before_prompt, "");
    assert!(
        run.prompt.starts_with(&format!(
            "To sign in, use a web browser to open the page {}/_sim/devicelogin",
            sim.sim.url()
        )),
        "{}",
        run.prompt
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stdout.contains("devlic plan for Contoso Ltd"),
        "{}",
        run.stdout
    );
    assert!(started.elapsed() < Duration::from_secs(15));
    // The simulator saw the device flow: one code, polls answered pending, then the token.
    let log = sim.sim.request_log();
    let device = log
        .iter()
        .filter(|r| r.path_and_query.ends_with("/oauth2/v2.0/devicecode"))
        .count();
    let polls: Vec<u16> = log
        .iter()
        .filter(|r| r.path_and_query.ends_with("/oauth2/v2.0/token"))
        .map(|r| r.status)
        .collect();
    assert_eq!(device, 1);
    assert_eq!(polls.last(), Some(&200), "{polls:?}");
    assert!(polls.contains(&400), "no pending poll: {polls:?}");
}

/// A run that outlives its access token (the simulator's live 2 s here, Entra's an hour) is
/// renewed with the sign-in's refresh token: one code, one prompt, no second sign-in, and the
/// refresh token shows in no output, not even at `-vv`.
#[test]
fn a_device_code_run_that_outlives_its_token_refreshes_without_a_second_prompt() {
    let sim = TestSim::with_config(
        fixture("contoso"),
        SimConfig {
            token_lifetime: Duration::from_secs(2),
            faults: Faults {
                latency: Some(Duration::from_millis(300)),
                ..Faults::default()
            },
            ..SimConfig::default()
        },
    );
    let run = sign_in_and_run(
        &sim,
        device_code_devlic(&sim, &["plan", "examples/contoso", "-vv"], "devlic-sim"),
        Duration::ZERO,
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stdout.contains("devlic plan for Contoso Ltd"),
        "{}",
        run.stdout
    );
    assert!(!run.stderr.contains("enter the code"), "{}", run.stderr);
    let log = sim.sim.request_log();
    let count = |suffix: &str| {
        log.iter()
            .filter(|r| r.path_and_query.ends_with(suffix) && r.status == 200)
            .count()
    };
    assert_eq!(count("/oauth2/v2.0/devicecode"), 1);
    // The reads took longer than a token lives: the code's token, then refreshed ones.
    let refreshes = count("/oauth2/v2.0/token") - 1;
    assert!(refreshes >= 1, "{log:?}");
    // Each refresh returned a new refresh token; none of them, nor the first, was printed.
    let issued = sim.sim.issued_refresh_tokens();
    assert_eq!(issued.len(), refreshes + 1);
    for rt in issued {
        assert!(!run.stderr.contains(&rt) && !run.stdout.contains(&rt));
    }
    // Graph never saw an expired token.
    assert!(log.iter().all(|r| r.status != 401), "{log:?}");
}

/// The same sign-in on a terminal: devlic runs on a pseudo-terminal (`script(1)`, as a person
/// at a shell runs it), the prompt and the plan come through the terminal, and the test types
/// nothing: the person approves the code in a browser.
#[test]
fn device_code_sign_in_on_a_terminal() {
    let sim = TestSim::start("contoso");
    let quote = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
    let line = [
        env!("CARGO_BIN_EXE_devlic"),
        "plan",
        "examples/contoso",
        "--auth",
        "device-code",
    ]
    .map(quote)
    .join(" ");
    let mut script = Command::new("script");
    script.args(["-qfec", &line, "/dev/null"]);
    for_device_code(&mut script, &sim, "devlic-sim");
    let mut child = script
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script(1) from util-linux");
    let mut terminal = BufReader::new(child.stdout.take().unwrap());
    // A terminal may show other lines first; the prompt is the one with the code.
    let (_, prompt) = read_prompt(&mut terminal);
    assert!(sim.sim.approve_device_code(&user_code(&prompt)));
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut terminal, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{rest}");
    assert!(rest.contains("devlic plan for Contoso Ltd"), "{rest}");
}

#[test]
fn a_declined_device_code_says_so() {
    let sim = TestSim::start("contoso");
    let mut child = device_code_devlic(&sim, &["skus"], "devlic-sim")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let (before, prompt) = read_prompt(&mut stderr);
    assert_eq!(before, "");
    assert!(sim.sim.decline_device_code(&user_code(&prompt)));
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert_eq!(status.code(), Some(1));
    assert!(rest.contains("authorization_declined"), "{rest}");
    assert!(
        rest.contains("the sign-in was declined in the browser"),
        "{rest}"
    );
}

/// Writes an executable `az` into `dir` that records its arguments and runs `body`.
#[cfg(unix)]
pub fn fake_az(dir: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("az");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$@\" > \"{}/az-args\"\n{body}\n",
            dir.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// `PATH` with `dir` first.
#[cfg(unix)]
pub fn with_path(dir: &Path) -> String {
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[cfg(unix)]
#[test]
fn azure_cli_token_is_reused() {
    let sim = TestSim::start("contoso");
    let dir = tempfile::tempdir().unwrap();
    let token = sim.sim.issue_delegated_token_for("devlic-sim").unwrap();
    let expires = jiff::Timestamp::now().as_second() + 3600;
    fake_az(
        dir.path(),
        &format!(
            "cat <<'EOF'\n{{\"accessToken\": \"{token}\", \"expiresOn\": \"2099-01-01 00:00:00.000000\", \"expires_on\": {expires}, \"subscription\": \"x\", \"tenant\": \"{}\", \"tokenType\": \"Bearer\"}}\nEOF",
            sim.tenant_id
        ),
    );
    let mut cmd = clean_devlic(&["skus", "--auth", "azure-cli", "--tenant-id", &sim.tenant_id]);
    cmd.env("PATH", with_path(dir.path()))
        .env("DEVLIC_GRAPH_URL", sim.sim.url())
        .env("DEVLIC_AUTHORITY_URL", sim.sim.url());
    let run = finish(cmd);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("OFFICE_PROPLUS_DEVICE1"),
        "{}",
        run.stdout
    );
    let args = std::fs::read_to_string(dir.path().join("az-args")).unwrap();
    assert_eq!(
        args.trim(),
        format!(
            "account get-access-token --resource {} --output json --tenant {}",
            sim.sim.url(),
            sim.tenant_id
        )
    );
    assert!(!run.stderr.contains(&token));
}

#[cfg(unix)]
#[test]
fn azure_cli_errors_say_what_to_do() {
    let sim = TestSim::start("contoso");
    let dir = tempfile::tempdir().unwrap();
    fake_az(
        dir.path(),
        "echo \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1",
    );
    let mut cmd = clean_devlic(&["skus", "--auth", "azure-cli"]);
    cmd.env("PATH", with_path(dir.path()))
        .env("DEVLIC_GRAPH_URL", sim.sim.url());
    let run = finish(cmd);
    assert_eq!(run.code, 1);
    insta::assert_snapshot!("azure_cli_not_logged_in", run.stderr);
    // No az at all.
    let empty = tempfile::tempdir().unwrap();
    let mut cmd = clean_devlic(&["skus", "--auth", "azure-cli"]);
    cmd.env("PATH", empty.path())
        .env("DEVLIC_GRAPH_URL", sim.sim.url());
    let run = finish(cmd);
    assert_eq!(run.code, 1);
    insta::assert_snapshot!("azure_cli_missing", run.stderr);
}
