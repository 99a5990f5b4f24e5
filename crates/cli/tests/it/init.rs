//! `devlic init`: the files it writes (snapshots), that they work where they are written, and
//! that it never replaces a file without `--force`.

use std::path::Path;

use crate::sim::{TestSim, clean_devlic, finish, s};
use crate::support::root;

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The schema path the spec's first line points yaml-language-server at, resolved from the
/// spec's folder as the editor resolves it.
fn modeline_target(spec: &Path) -> std::path::PathBuf {
    let text = read(spec);
    let first = text.lines().next().unwrap();
    let rel = first
        .strip_prefix("# yaml-language-server: $schema=")
        .unwrap_or_else(|| panic!("no modeline: {first}"));
    assert!(!rel.contains("://") && !rel.starts_with('/'), "{rel}");
    spec.parent().unwrap().join(rel)
}

/// The checks every folder `init` wrote passes: the schema beside it is devlic's, the
/// modeline finds it, the hints are there, and the spec validates.
fn check_written(dir: &Path) {
    let spec = dir.join("devlic.yaml");
    let schema = modeline_target(&spec);
    assert_eq!(
        read(&schema),
        read(&root().join("schemas/devlic.schema.json")),
        "the copy is the schema of this devlic"
    );
    insta::assert_snapshot!("init_gitattributes", read(&dir.join(".gitattributes")));
    insta::assert_snapshot!("init_editorconfig", read(&dir.join(".editorconfig")));
    let v = finish(clean_devlic(&["validate", s(dir)]));
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
}

/// Timestamps and the version change from run to run; the scratch folder is replaced first.
const FILTERS: [(&str, &str); 2] = [
    (r"\d{4}-\d\d-\d\dT[0-9:.]+Z", "[TIME]"),
    (r"devlic \d+\.\d+\.\d+", "devlic [VERSION]"),
];

fn scrub(text: &str, dir: &Path) -> String {
    text.replace(s(dir), "[DIR]")
}

#[test]
fn without_credentials_init_writes_a_template_that_validates() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("licenses");
    let r = finish(clean_devlic(&["init", s(&dir)]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "", "init prints nothing on stdout");
    insta::with_settings!({filters => FILTERS.to_vec()}, {
        insta::assert_snapshot!("init_template_stderr", scrub(&r.stderr, &dir));
        insta::assert_snapshot!("init_template_spec", read(&dir.join("devlic.yaml")));
    });
    check_written(&dir);
}

#[test]
fn with_a_tenant_init_writes_its_groups_and_the_first_plan_is_empty() {
    let sim = TestSim::start("contoso");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("licenses");
    let r = sim.run(&["init", s(&dir)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::with_settings!({filters => FILTERS.to_vec()}, {
        insta::assert_snapshot!("init_contoso_stderr", scrub(&r.stderr, &dir));
        insta::assert_snapshot!("init_contoso_spec", read(&dir.join("devlic.yaml")));
    });
    check_written(&dir);
    let plan = sim.run(&["plan", s(&dir), "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}{}", plan.stdout, plan.stderr);
    assert!(plan.stdout.contains("No changes"), "{}", plan.stdout);
    assert_eq!(sim.stats().writes, 0);

    // --offline never asks the tenant, even with credentials.
    sim.sim.reset_stats();
    let other = tmp.path().join("offline");
    let r = sim.run(&["init", s(&other), "--offline"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(sim.stats().requests, 0);
    assert!(read(&other.join("devlic.yaml")).contains("without reading a tenant"));
}

#[test]
fn init_never_replaces_a_file_without_force() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("licenses");
    assert_eq!(finish(clean_devlic(&["init", s(&dir)])).code, 0);
    let spec = dir.join("devlic.yaml");
    std::fs::write(&spec, "# mine\n").unwrap();
    std::fs::remove_file(dir.join(".gitattributes")).unwrap();

    let again = finish(clean_devlic(&["init", s(&dir)]));
    assert_eq!(again.code, 1);
    let d = s(&dir);
    assert_eq!(
        again.stderr,
        format!(
            "error: not overwriting {d}/devlic.yaml, {d}/.devlic/devlic.schema.json, {d}/.editorconfig\n\
             help: remove them, pick another folder, or pass --force to replace them\n"
        )
    );
    assert_eq!(read(&spec), "# mine\n", "nothing was written");
    assert!(!dir.join(".gitattributes").exists(), "nothing was written");

    let forced = finish(clean_devlic(&["init", s(&dir), "--force"]));
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    assert_ne!(read(&spec), "# mine\n");
    assert!(dir.join(".gitattributes").exists());

    // Another spec file in the folder would merge with the new one: refused, even forced.
    std::fs::write(dir.join("labs.yaml"), "apiVersion: devlic/v1\n").unwrap();
    let merged = finish(clean_devlic(&["init", s(&dir), "--force"]));
    assert_eq!(merged.code, 1);
    assert!(
        merged
            .stderr
            .starts_with(&format!("error: {d} already holds a spec (labs.yaml)\n")),
        "{}",
        merged.stderr
    );
}
