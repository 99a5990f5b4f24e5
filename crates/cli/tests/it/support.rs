//! Running `devlic` from the workspace root, the way the README does.

use std::path::{Path, PathBuf};

use assert_cmd::cargo::cargo_bin_cmd;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `devlic` with `args`, run from the workspace root without colours or terminal.
pub fn devlic(args: &[&str]) -> assert_cmd::Command {
    let mut cmd = cargo_bin_cmd!("devlic");
    cmd.current_dir(root())
        .args(args)
        .env_remove("CLICOLOR_FORCE")
        .env("NO_COLOR", "1");
    cmd
}

/// The output of a run: exit code, stdout, stderr.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `devlic` with `args` to completion.
pub fn run(args: &[&str]) -> Run {
    let output = devlic(args).output().expect("devlic runs");
    Run {
        code: output
            .status
            .code()
            .expect("devlic exited normally, not by a signal"),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}
