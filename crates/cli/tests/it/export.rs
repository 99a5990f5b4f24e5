//! `devlic export` round trips and `devlic skus`.

use crate::sim::{TestSim, s};

#[test]
fn export_round_trips_on_both_tenants() {
    for name in ["contoso", "northwind"] {
        let sim = TestSim::start(name);
        let r = sim.run(&["export"]);
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
        assert!(
            r.stdout
                .starts_with("# yaml-language-server: $schema=devlic.schema.json\n")
        );
        assert!(
            r.stdout
                .contains("\napiVersion: devlic/v1\nkind: DeviceLicenses\n")
        );
        let dir = tempfile::tempdir().unwrap();
        let spec = dir.path().join("devlic.yaml");
        std::fs::write(&spec, &r.stdout).unwrap();
        let plan = sim.run(&["plan", s(&spec), "--detailed-exitcode"]);
        assert_eq!(
            plan.code, 0,
            "{name}:\n{}\n{}\n{}",
            r.stdout, plan.stdout, plan.stderr
        );
        assert!(plan.stdout.contains("No changes"), "{}", plan.stdout);
        assert_eq!(sim.stats().writes, 0);
    }
}

#[test]
fn export_names_groups_by_id_when_the_name_is_shared() {
    let mut tenant = crate::sim::fixture("contoso");
    let mut twin = tenant
        .groups
        .iter()
        .find(|g| g.display_name == "Marketing Team")
        .unwrap()
        .clone();
    twin.id = "1a2b3c4d-0009-4a5b-8c6d-000000000009".to_owned();
    twin.display_name = "Kiosks - Front Desk".to_owned();
    tenant.groups.push(twin);
    let sim = TestSim::with_tenant(tenant);
    let r = sim.run(&["export"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(
            "  - group: { id: 1a2b3c4d-0001-4a5b-8c6d-000000000001 }  # \"Kiosks - Front Desk\": the name is not unique in the tenant\n    subscription: \"OFFICE_PROPLUS_DEVICE1\"\n"
        ),
        "{}",
        r.stdout
    );
}

#[test]
fn skus_lists_units_and_holders() {
    let sim = TestSim::start("contoso");
    let r = sim.run(&["skus"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::with_settings!({filters => vec![(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]")]}, {
        insta::assert_snapshot!("contoso_skus_text", r.stdout);
    });
    let json = sim.run(&["skus", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let device1 = &v.as_array().unwrap()[0];
    assert_eq!(device1["skuPartNumber"], "OFFICE_PROPLUS_DEVICE1");
    assert_eq!(device1["available"], 39);
    assert_eq!(device1["groups"].as_array().unwrap().len(), 4);
    assert!(!json.stdout.contains("SPE_E3"), "user SKUs are not listed");
}

#[test]
fn a_tenant_name_cannot_inject_yaml_into_the_exported_spec() {
    // The tenant's name is quoted in a comment: a line break in it would end the comment and
    // add a `settings:` of the attacker's choosing (prune on) to the exported spec.
    let mut tenant = crate::sim::fixture("contoso");
    tenant.display_name = "Contoso\nsettings:\n  prune: true\n#\u{1b}[2J".to_owned();
    let sim = TestSim::with_tenant(tenant);
    let r = sim.run(&["export"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains(r"from Contoso\nsettings:\n  prune: true\n#\u{1b}[2J ("),
        "{}",
        r.stdout
    );
    assert!(
        !r.stdout.contains("\nsettings:\n  prune: true"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains('\u{1b}'));
    // Still a valid spec that plans with no changes.
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("devlic.yaml");
    std::fs::write(&spec, &r.stdout).unwrap();
    let plan = sim.run(&["plan", s(&spec), "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
}

#[test]
fn export_writes_utf8_without_a_bom_to_stdout_and_files() {
    // Issue 15: Windows PowerShell 5.1 `>` re-encodes what it is given as UTF-16; devlic itself
    // always hands over UTF-8 (no byte order mark), on stdout and with --out, on every platform.
    let mut tenant = crate::sim::fixture("contoso");
    let name = "Kiosque – Réception 受付";
    tenant
        .groups
        .iter_mut()
        .find(|g| g.display_name == "Kiosks - Front Desk")
        .unwrap()
        .display_name = name.to_owned();
    let sim = TestSim::with_tenant(tenant);
    let stdout = sim.devlic(&["export"]).output().unwrap().stdout;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("devlic.yaml");
    let r = sim.run(&["export", "--out", s(&file)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let written = std::fs::read(&file).unwrap();
    for (what, bytes) in [("stdout", &stdout), ("--out", &written)] {
        let text = std::str::from_utf8(bytes).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(!text.starts_with('\u{feff}'), "{what} starts with a BOM");
        assert!(
            !bytes.starts_with(&[0xff, 0xfe]) && !bytes.starts_with(&[0xfe, 0xff]),
            "{what} is UTF-16"
        );
        assert!(
            text.contains(&format!("group: \"{name}\"")),
            "{what}:\n{text}"
        );
    }
    // The same document either way (the header names the time of reading, so skip it).
    let body = |b: &[u8]| {
        String::from_utf8_lossy(b)
            .lines()
            .filter(|l| !l.starts_with("# Exported by"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(body(&stdout), body(&written));
    let plan = sim.run(&["plan", s(&file), "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
}
