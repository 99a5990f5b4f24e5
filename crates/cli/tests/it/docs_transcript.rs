//! The docs cannot rot: every shell command of docs/quickstart.md and docs/adopting.md runs as
//! written, in order, against the simulator, and the whole transcript (each command, its
//! output, its exit code) is compared with a snapshot.
//!
//! How a document becomes a script:
//! - Commands are the lines of fenced `sh` blocks, and the `$ `-prefixed lines of `console`
//!   blocks. A heredoc (`<<'EOF'`) runs with its body; other blocks (`text`, `yaml`) are prose.
//! - Each command runs in one bash process per document, so `export`, `cd` and background jobs
//!   (`devlic-sim serve ... &`, `kill %1`) carry over as they would in the reader's terminal.
//! - `devlic apply` without `--auto-approve` asks on a terminal; it runs under `script(1)` (a
//!   pseudo-terminal) and is answered `yes`, as the docs tell the reader to. The terminal's echo
//!   of that `yes` comes before or after `stty -echo` depending on timing, so it is dropped.
//!
//! What is substituted ([`SUBSTITUTIONS`], the only place): the binaries (`cargo build` is not
//! run; `target/debug` of the scratch folder holds the tested `devlic` and the `devlic-sim` built
//! beside it) and the simulator's address (`127.0.0.1:8080` becomes a free port). A document
//! that does not start a simulator itself (adopting.md) gets one from the harness, and its URL
//! in `DEVLIC_GRAPH_URL`/`DEVLIC_AUTHORITY_URL`, which devlic reads like its `--graph-url` and
//! `--authority-url` flags.
//!
//! The scratch folder is a git repository holding a copy of `examples/`, so the docs may edit
//! and `git checkout` example files without touching the workspace.
//! `INSTA_UPDATE=always cargo test -p devlic-cli --test it docs_transcript` rewrites the
//! snapshots; review them like any other change to the docs' output.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::root;

/// The substitutions applied to each command line before it runs, as (written, run). The
/// address is replaced by the port the harness picked.
const SUBSTITUTIONS: &[(&str, &str)] = &[
    (
        "cargo build -q -p devlic-cli -p devlic-graph-sim",
        ": built by cargo test: target/debug holds devlic and devlic-sim",
    ),
    ("127.0.0.1:8080", "127.0.0.1:$DEVLIC_DOCS_PORT"),
];

/// One command of a document: the text as written (with a heredoc's body) and its line.
struct Step {
    line: usize,
    text: String,
}

/// The commands of a Markdown document, in order.
fn steps(markdown: &str) -> Vec<Step> {
    let mut out = Vec::new();
    let mut lines = markdown.lines().enumerate();
    let mut in_block: Option<&str> = None;
    while let Some((i, line)) = lines.next() {
        let trimmed = line.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            in_block = match in_block {
                Some(_) => None,
                None => Some(if info.trim().is_empty() {
                    ""
                } else {
                    info.trim()
                }),
            };
            continue;
        }
        let command = match in_block {
            Some("sh") => line,
            Some("console") => match line.strip_prefix("$ ") {
                Some(c) => c,
                None => continue,
            },
            _ => continue,
        };
        if command.trim().is_empty() {
            continue;
        }
        let mut text = command.to_owned();
        // A heredoc: the body up to its terminator belongs to the command.
        if let Some(pos) = command.find("<<") {
            let word = command[pos + 2..]
                .trim_start_matches('-')
                .trim()
                .trim_matches(|c| c == '\'' || c == '"');
            let word = word.split_whitespace().next().unwrap_or("").to_owned();
            for (_, body) in lines.by_ref() {
                text.push('\n');
                text.push_str(body);
                if body.trim() == word {
                    break;
                }
            }
        }
        out.push(Step { line: i + 1, text });
    }
    out
}

/// Single-quotes `text` for bash.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Helpers every script starts with: `status N` sets `$?` for the next command, `wait_sim LOG`
/// waits until the simulator has printed `listening on ...` (it listens by then).
const PRELUDE: &str = "set -u\n\
code=0\n\
status() { return \"$1\"; }\n\
wait_sim() { for _ in $(seq 400); do grep -q '^listening on' \"$1\" 2>/dev/null && return 0; sleep 0.05; done; echo \"the simulator did not start\"; cat \"$1\"; return 1; }\n";

/// The bash commands that run `steps` and print the transcript (after [`PRELUDE`]).
fn script(doc: &str, steps: &[Step]) -> String {
    let mut s = String::new();
    for step in steps {
        let mut run = step.text.clone();
        for (written, substituted) in SUBSTITUTIONS {
            run = run.replace(written, substituted);
        }
        s.push_str(&format!(
            "printf '\\n$ %s\\n' {}\n",
            quote(&step.text.replace('\n', "\n> "))
        ));
        // `$?` in a command is the previous command's exit code, as in a terminal.
        s.push_str("status \"$code\"\n");
        let first = run.lines().next().unwrap_or("").trim_end();
        if let Some(background) = first.strip_suffix('&') {
            // The job's output would interleave with later commands: it goes to a log, and
            // its first line (the simulator's "listening on ...") is shown once it is up.
            s.push_str(&format!(
                "{background} >\"$DEVLIC_DOCS_LOG\" 2>&1 &\nwait_sim \"$DEVLIC_DOCS_LOG\" && head -n 1 \"$DEVLIC_DOCS_LOG\"\n"
            ));
            continue;
        }
        let interactive = first.starts_with("devlic apply") && !first.contains("--auto-approve");
        if interactive {
            s.push_str(&format!(
                "printf 'yes\\n' | script -qec {} /dev/null | sed -e 's/\\x1b\\[[0-9;?]*[A-Za-z]//g' -e 's/\\r$//' -e 's/.*\\r//' -e '/^yes$/d'\n\
                 code=${{PIPESTATUS[1]}}\n",
                quote(&format!("stty -echo; {run}"))
            ));
        } else {
            s.push_str(&format!("{{\n{run}\n}} 2>&1\ncode=$?\n"));
        }
        s.push_str(&format!(
            "[ \"$code\" -eq 0 ] || echo \"[exit $code]\"  # {doc}:{}\n",
            step.line
        ));
    }
    s
}

/// A free loopback port (bound and released; the simulator binds it moments later).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The scratch repository: a copy of `examples/` under git, and `target/debug` with the
/// binaries under test.
fn scratch() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root().join("examples"), &dir.path().join("examples"));
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .args([
                "-c",
                "user.name=docs",
                "-c",
                "user.email=docs@example.invalid",
            ])
            .args([
                "-c",
                "init.defaultBranch=main",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(ok.status.success(), "git {args:?}: {ok:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "examples"]);

    let bin = dir.path().join("target/debug");
    std::fs::create_dir_all(&bin).unwrap();
    let devlic = PathBuf::from(env!("CARGO_BIN_EXE_devlic"));
    let sim = devlic.with_file_name("devlic-sim");
    assert!(
        sim.is_file(),
        "{} is missing: build it with `cargo build -p devlic-graph-sim` (cargo test --workspace does)",
        sim.display()
    );
    std::os::unix::fs::symlink(&sim, bin.join("devlic-sim")).unwrap();
    // devlic reads DEVLIC_GRAPH_URL/DEVLIC_AUTHORITY_URL itself: the docs' own commands run as is.
    std::os::unix::fs::symlink(&devlic, bin.join("devlic")).unwrap();
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Runs `doc` (a path under docs/) in a fresh scratch folder; `tenant` starts a simulator for
/// a document that does not start its own.
fn transcript(doc: &str, tenant: Option<&str>) -> String {
    let markdown = std::fs::read_to_string(root().join(doc)).unwrap();
    let steps = steps(&markdown);
    assert!(!steps.is_empty(), "{doc} has no shell commands");
    let dir = scratch();
    let port = free_port().to_string();
    let log = dir.path().join("sim.log");
    let mut body = String::new();
    if let Some(tenant) = tenant {
        body.push_str(&format!(
            "target/debug/devlic-sim serve --tenant examples/tenants/{tenant}.json --listen 127.0.0.1:$DEVLIC_DOCS_PORT >\"$DEVLIC_DOCS_LOG.harness\" 2>&1 &\n\
             wait_sim \"$DEVLIC_DOCS_LOG.harness\" || exit 1\n\
             export DEVLIC_GRAPH_URL=http://127.0.0.1:$DEVLIC_DOCS_PORT DEVLIC_AUTHORITY_URL=http://127.0.0.1:$DEVLIC_DOCS_PORT\n"
        ));
    }
    let full = format!(
        "{PRELUDE}{body}{}\nkill $(jobs -p) 2>/dev/null\nexit 0\n",
        script(doc, &steps)
    );
    // devlic is on PATH for a reader of adopting.md (installed); quickstart.md puts it there.
    let path = format!(
        "{}:{}",
        dir.path().join("target/debug").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(&full)
        .current_dir(dir.path())
        .env("PATH", path)
        .env("DEVLIC_DOCS_PORT", &port)
        .env("DEVLIC_DOCS_LOG", &log)
        .env("NO_COLOR", "1")
        .env("TERM", "dumb")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("CARGO_TARGET_DIR");
    for (key, _) in std::env::vars_os() {
        let k = key.to_string_lossy();
        if ["AZURE_", "DEVLIC_", "ACTIONS_ID_TOKEN", "IDENTITY_", "MSI_"]
            .iter()
            .any(|p| k.starts_with(p))
            && k != "DEVLIC_DOCS_PORT"
            && k != "DEVLIC_DOCS_LOG"
        {
            cmd.env_remove(&key);
        }
    }
    let output = cmd.output().unwrap();
    assert!(
        output.status.success(),
        "{doc}: the script failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    normalize(&text, dir.path(), &port)
}

/// Replaces what differs between runs: the port, the scratch path, times and durations.
fn normalize(text: &str, dir: &Path, port: &str) -> String {
    text.replace(&format!("127.0.0.1:{port}"), "127.0.0.1:[PORT]")
        .replace(dir.to_str().unwrap(), "[SCRATCH]")
}

fn check(doc: &str, tenant: Option<&str>, name: &str) {
    let text = transcript(doc, tenant);
    insta::with_settings!({
        filters => vec![
            (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "[TIME]"),
            (r"\b\d+(\.\d+)? ?(ms|s)\b", "[DURATION]"),
            (r"\b\d+(\.\d+)? accepted per second", "[RATE] accepted per second"),
            (r"devlic \d+\.\d+\.\d+", "devlic [VERSION]"),
        ],
        description => format!("every shell command of {doc}, run as written"),
    }, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn quickstart_runs_as_written() {
    check("docs/quickstart.md", None, "docs_quickstart");
}

#[test]
fn adopting_runs_as_written() {
    check("docs/adopting.md", Some("northwind"), "docs_adopting");
}

#[test]
fn commands_are_found_with_heredocs_and_console_prompts() {
    let md = "text\n```sh\na --x\ncat > f <<'EOF'\nbody\nEOF\n```\n```text\nnot run\n```\n```console\n$ b\noutput\n```\n";
    let s = steps(md);
    let texts: Vec<&str> = s.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(texts, ["a --x", "cat > f <<'EOF'\nbody\nEOF", "b"]);
    assert_eq!(s.iter().map(|s| s.line).collect::<Vec<_>>(), [3, 4, 12]);
}
