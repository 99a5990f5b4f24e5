//! The file system is input too: spec folders with dangling symlinks, loops, FIFOs and devices;
//! `--plan` and `--snapshot` pointing at devices; files that must never be echoed; outputs that
//! must be written atomically, 0600, without following a symlink.

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::sim::{TestSim, s};
use crate::support::run;

const GOOD: &str = "apiVersion: devlic/v1\nkind: DeviceLicenses\nassignments:\n  - group: \"Kiosks - Front Desk\"\n    subscription: OFFICE_PROPLUS_DEVICE1\n";

fn mkfifo(path: &Path) {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(made.success());
}

#[test]
fn spec_folder_entries_that_are_not_regular_files_are_errors_naming_the_path() {
    type Make = fn(&Path, &Path);
    let cases: [(&str, Make, &str); 4] = [
        (
            "dangling",
            |dir, p| symlink(dir.join("gone.yaml"), p).unwrap(),
            "a dangling symlink",
        ),
        ("loop", |_, p| symlink(p, p).unwrap(), "a symlink loop"),
        ("fifo", |_, p| mkfifo(p), "a FIFO"),
        (
            "device",
            |_, p| symlink("/dev/zero", p).unwrap(),
            "a device",
        ),
    ];
    for (name, make, what) in cases {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("devlic.yaml"), GOOD).unwrap();
        let bad = dir.path().join("labs.yaml");
        make(dir.path(), &bad);
        // Never silently skipped: a missing labs.yaml would make the plan revoke its groups.
        let r = run(&["validate", s(dir.path())]);
        assert_eq!(r.code, 1, "{name}: {}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains(s(&bad)), "{name}: {}", r.stderr);
        assert!(r.stderr.contains(what), "{name}: {}", r.stderr);
        let json = run(&["validate", s(dir.path()), "--format", "json"]);
        assert!(
            json.stdout.contains("not-a-regular-file"),
            "{name}: {}",
            json.stdout
        );
    }
}

#[test]
fn a_spec_path_that_is_a_fifo_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("spec.yaml");
    mkfifo(&fifo);
    let started = Instant::now();
    let r = run(&["validate", s(&fifo)]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("a FIFO"), "{}", r.stderr);
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn a_file_holding_a_secret_is_never_echoed() {
    let dir = tempfile::tempdir().unwrap();
    // What a symlink to /proc/self/environ reads as, and an .env file.
    std::fs::write(
        dir.path().join("environ"),
        b"AZURE_CLIENT_SECRET=fake-secret-do-not-print\0HOME=/root\0",
    )
    .unwrap();
    symlink(dir.path().join("environ"), dir.path().join("a.yaml")).unwrap();
    std::fs::write(
        dir.path().join("b.yaml"),
        "AZURE_CLIENT_SECRET=fake-secret-do-not-print\n",
    )
    .unwrap();
    for format in ["text", "json"] {
        let r = run(&["validate", s(dir.path()), "--format", format]);
        assert_eq!(r.code, 1);
        let all = format!("{}{}", r.stdout, r.stderr);
        assert!(!all.contains("fake-secret"), "{all}");
        assert!(
            all.contains("not a text file") && all.contains("not a devlic spec"),
            "{all}"
        );
    }
}

#[test]
fn plan_and_snapshot_inputs_refuse_devices_and_fifos() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("plan.json");
    mkfifo(&fifo);
    for input in ["/dev/zero", s(&fifo)] {
        let started = Instant::now();
        let r = run(&["plan", "examples/contoso", "--snapshot", input]);
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(r.stderr.contains("not a regular file"), "{}", r.stderr);
        let r = run(&["apply", "--plan", input, "--auto-approve"]);
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(r.stderr.contains("not a regular file"), "{}", r.stderr);
        assert!(started.elapsed() < Duration::from_secs(30));
    }
}

#[test]
fn outputs_are_private_and_replace_a_symlink_instead_of_following_it() {
    let sim = TestSim::start("contoso");
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "keep").unwrap();
    let plan = dir.path().join("plan.json");
    let snap = dir.path().join("snap.json");
    symlink(&victim, &plan).unwrap();
    symlink(&victim, &snap).unwrap();
    let r = sim.run(&["plan", "examples/contoso", "--out", s(&plan)]);
    assert!(matches!(r.code, 0 | 2), "{}", r.stderr);
    let r = sim.run(&["snapshot", "--out", s(&snap)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
    for out in [&plan, &snap] {
        let meta = std::fs::symlink_metadata(out).unwrap();
        assert!(meta.is_file());
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
    // Nothing but the two outputs and the untouched victim: no temporary file left over.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
}
