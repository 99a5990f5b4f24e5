//! `devlic validate`: exit codes, the rendered messages (snapshots) and the JSON format.

use std::time::{Duration, Instant};

use crate::support::{root, run};

#[test]
fn the_bundled_examples_are_valid() {
    let contoso = run(&["validate", "examples/contoso"]);
    assert_eq!(
        (contoso.code, contoso.stdout.as_str()),
        (0, "examples/contoso: valid (5 assignments in 1 file)\n")
    );
    let northwind = run(&["validate", "examples/northwind"]);
    assert_eq!(
        (northwind.code, northwind.stdout.as_str()),
        (0, "examples/northwind: valid (5 assignments in 3 files)\n")
    );
    let one_file = run(&["validate", "examples/northwind/labs.yaml"]);
    assert_eq!(one_file.code, 0, "{}", one_file.stderr);
}

#[test]
fn valid_json_is_an_empty_array() {
    let r = run(&["validate", "examples/contoso", "--format", "json"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "[]\n"));
}

fn broken_cases() -> Vec<String> {
    let mut cases: Vec<String> = std::fs::read_dir(root().join("examples/broken"))
        .unwrap()
        .map(|e| {
            format!(
                "examples/broken/{}",
                e.unwrap().file_name().to_string_lossy()
            )
        })
        .collect();
    cases.sort();
    cases
}

#[test]
fn every_broken_example_exits_1_with_a_located_message() {
    for case in broken_cases() {
        let name = case
            .trim_start_matches("examples/broken/")
            .replace('.', "_");

        let text = run(&["validate", &case]);
        assert_eq!(text.code, 1, "{case}: {}", text.stderr);
        assert!(text.stdout.is_empty(), "{case}: {}", text.stdout);
        assert!(!text.stderr.contains("panicked"), "{case}: {}", text.stderr);
        let first = text.stderr.lines().next().unwrap_or_default();
        let location = first.split(": error:").next().unwrap_or_default();
        let parts: Vec<&str> = location.rsplitn(3, ':').collect();
        assert!(
            parts.len() == 3
                && parts[0].parse::<u32>().is_ok()
                && parts[1].parse::<u32>().is_ok()
                && parts[2].starts_with(&case),
            "{case}: first line is not file:line:col: {first}"
        );
        assert!(text.stderr.contains("\nhelp: "), "{case}: no help line");
        insta::assert_snapshot!(format!("text_{name}"), text.stderr);

        let json = run(&["validate", &case, "--format", "json"]);
        assert_eq!(json.code, 1, "{case}");
        let value: serde_json::Value = serde_json::from_str(&json.stdout).expect("stdout is JSON");
        let errors = value.as_array().expect("a JSON array");
        assert!(!errors.is_empty());
        for e in errors {
            assert!(e["line"].as_u64().is_some_and(|l| l >= 1), "{case}: {e}");
            assert!(e["column"].as_u64().is_some_and(|c| c >= 1), "{case}: {e}");
        }
        insta::assert_json_snapshot!(format!("json_{name}"), value);
    }
}

#[test]
fn a_10_mb_file_is_refused_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.yaml");
    let mut text = String::from("apiVersion: devlic/v1\nkind: DeviceLicenses\nassignments:\n");
    let entry = "  - group: \"Lab\"\n    subscription: OFFICE_PROPLUS_DEVICE1\n";
    text.push_str(&entry.repeat(10 * 1024 * 1024 / entry.len() + 1));
    std::fs::write(&path, &text).unwrap();
    let started = Instant::now();
    let r = run(&["validate", path.to_str().unwrap()]);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(r.code, 1);
    let expected = format!(
        "{}:1:1: error: the file is larger than the 4 MiB limit for a spec file",
        path.display()
    );
    assert!(r.stderr.starts_with(&expected), "{}", r.stderr);
}

#[test]
fn a_folder_without_yaml_files_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("README.md"), "not a spec").unwrap();
    std::fs::create_dir(dir.path().join("nested.yaml")).unwrap();
    let path = dir.path().to_str().unwrap();
    let r = run(&["validate", path]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        format!(
            "error: {path}: the folder has no *.yaml or *.yml files\nhelp: put the spec in *.yaml files in this folder (sub-folders are not read), or give a file\n"
        )
    );
    let json = run(&["validate", path, "--format", "json"]);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        (json.code, value[0]["code"].as_str()),
        (1, Some("no-yaml-files"))
    );
}

#[test]
fn a_missing_path_is_a_clear_error() {
    let r = run(&["validate", "examples/nope"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        "error: examples/nope: no such file or folder\nhelp: check the path; give a spec file or a folder of *.yaml files\n"
    );
}

#[test]
fn a_folder_reads_yml_too_in_name_order_and_skips_other_files() {
    let dir = tempfile::tempdir().unwrap();
    let head = "apiVersion: devlic/v1\nkind: DeviceLicenses\n";
    std::fs::write(
        dir.path().join("b.yml"),
        format!("{head}assignments:\n  - group: B\n    subscription: OFFICE_PROPLUS_DEVICE1\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("a.yaml"),
        format!("{head}assignments:\n  - group: B\n    state: absent\n"),
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "group: ignored").unwrap();
    let r = run(&["validate", dir.path().to_str().unwrap()]);
    assert_eq!(r.code, 1);
    // a.yaml comes first, so b.yml holds the conflicting second entry.
    let first = r.stderr.lines().next().unwrap();
    assert!(
        first.contains("b.yml:4:12: error: group \"B\" is given two device subscriptions"),
        "{first}"
    );
    assert!(
        r.stderr.contains("a.yaml:4:12: first listed here"),
        "{}",
        r.stderr
    );
}
