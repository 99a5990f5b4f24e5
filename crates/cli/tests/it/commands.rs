//! `schema`, `completions`, `--version`, the no-argument guide, and colour handling.

use crate::support::{devlic, root, run};

#[test]
fn schema_prints_the_committed_schema() {
    let r = run(&["schema"]);
    assert_eq!(r.code, 0);
    let committed = std::fs::read_to_string(root().join("schemas/devlic.schema.json")).unwrap();
    assert!(
        r.stdout == committed,
        "schemas/devlic.schema.json is stale; run `cargo run -p devlic-cli -- schema > schemas/devlic.schema.json`"
    );
}

#[test]
fn version_names_the_package_version() {
    let r = run(&["--version"]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, concat!("devlic ", env!("CARGO_PKG_VERSION"), "\n"))
    );
}

#[test]
fn completions_are_generated_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let r = run(&["completions", shell]);
        assert_eq!(r.code, 0, "{shell}");
        assert!(
            r.stdout.contains("validate"),
            "{shell} completions lack `validate`"
        );
    }
    let bad = run(&["completions", "cmd"]);
    // A usage error: exit 1 (2 would read as "changes" in CI).
    assert_eq!(bad.code, 1);
}

#[test]
fn no_arguments_prints_the_guide() {
    let r = run(&[]);
    assert_eq!(r.code, 0);
    insta::assert_snapshot!(r.stdout.replace(env!("CARGO_PKG_VERSION"), "[VERSION]"));
}

#[test]
fn colour_only_when_forced_and_never_with_no_color() {
    let plain = run(&["validate", "examples/broken/unknown-field.yaml"]);
    assert!(!plain.stderr.contains('\u{1b}'));
    let forced = devlic(&["validate", "examples/broken/unknown-field.yaml"])
        .env_remove("NO_COLOR")
        .env("CLICOLOR_FORCE", "1")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&forced.stderr).contains("\u{1b}["));
}

#[test]
fn hostile_bytes_in_a_spec_never_reach_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("escape.yaml");
    std::fs::write(&path, "apiVersion: devlic/v1\nkind: DeviceLicenses\nassignments:\n  - group: \"\u{1b}[2J\"\n    subscripton: X\n").unwrap();
    let r = run(&["validate", path.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(!r.stderr.contains('\u{1b}'), "{}", r.stderr);
}

#[test]
fn color_flag_overrides_detection() {
    let args = [
        "plan",
        "examples/contoso",
        "--snapshot",
        "examples/tenants/contoso.snapshot.json",
    ];
    let always = devlic(&[&args[..], &["--color", "always"]].concat())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&always.stdout).contains("\u{1b}["));
    let never = devlic(&[&args[..], &["--color", "never"]].concat())
        .env_remove("NO_COLOR")
        .env("CLICOLOR_FORCE", "1")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&never.stdout).contains('\u{1b}'));
}

#[test]
fn every_command_has_help_with_examples() {
    for command in ["plan", "apply", "snapshot", "export", "skus"] {
        let r = run(&[command, "--help"]);
        assert_eq!(r.code, 0, "{command}");
        assert!(
            r.stdout.contains("Example"),
            "{command} --help has no example"
        );
    }
    let connect = run(&["plan", "--help"]).stdout;
    for flag in [
        "--cloud",
        "--graph-url",
        "--authority-url",
        "--tenant-id",
        "--auth",
        "--read-concurrency",
    ] {
        assert!(connect.contains(flag), "plan --help lacks {flag}");
    }
}

/// A mistyped flag is an error (1), never exit 2, which means "changes" to a CI job.
#[test]
fn usage_errors_exit_1_not_2() {
    let r = crate::support::run(&["plan", "examples/contoso", "--detailed-exitcod"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("--detailed-exitcode"), "{}", r.stderr);
    let help = crate::support::run(&["plan", "--help"]);
    assert_eq!(help.code, 0);
    let version = crate::support::run(&["--version"]);
    assert_eq!(version.code, 0);
    assert!(version.stdout.starts_with("devlic "), "{}", version.stdout);
}
