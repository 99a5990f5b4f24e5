//! `devlic plan` against the simulator and against snapshots: formats, exit codes, errors.

use crate::sim::{TestSim, clean_devlic, finish, s, write_spec};

/// Replaces what varies between runs: timestamps and the simulator's port.
macro_rules! assert_stable_snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!({filters => vec![
            (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "[TIMESTAMP]"),
            (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
        ]}, {
            insta::assert_snapshot!($name, $value);
        });
    };
}

#[test]
fn contoso_plan_in_every_format() {
    let sim = TestSim::start("contoso");
    for format in ["text", "markdown", "json"] {
        let r = sim.run(&["plan", "examples/contoso", "--format", format]);
        assert_eq!(r.code, 0, "{format}: {}", r.stderr);
        assert_stable_snapshot!(format!("contoso_plan_{format}"), r.stdout);
    }
    // The Contoso tenant ends 6 units short: a guard, so 3 rather than 2.
    let r = sim.run(&["plan", "examples/contoso", "--detailed-exitcode"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(sim.stats().writes, 0, "plan never writes");
}

#[test]
fn northwind_plan_text() {
    let sim = TestSim::start("northwind");
    let r = sim.run(&["plan", "examples/northwind"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_stable_snapshot!("northwind_plan_text", r.stdout);
}

#[test]
fn offline_plan_needs_no_credentials_and_says_so() {
    let r = finish(clean_devlic(&[
        "plan",
        "examples/contoso",
        "--snapshot",
        "examples/tenants/contoso.snapshot.json",
        "--detailed-exitcode",
    ]));
    // The Contoso tenant is 6 units short: a guard, so exit 3, and said first.
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stdout.contains("OFFLINE PLAN"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("!! 6 devices will end up without Microsoft 365 Apps"),
        "{}",
        r.stdout
    );
    for needle in ["+ assign", "- revoke", "⇄ swap", "short by 6"] {
        assert!(r.stdout.contains(needle), "missing {needle}:\n{}", r.stdout);
    }
    let json = finish(clean_devlic(&[
        "plan",
        "examples/contoso",
        "--snapshot",
        "examples/tenants/contoso.snapshot.json",
        "--format",
        "json",
    ]));
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["offline"], true);
}

#[test]
fn resolution_errors_are_located_with_help() {
    let dir = tempfile::tempdir().unwrap();
    let spec = write_spec(
        dir.path(),
        "bad.yaml",
        "apiVersion: devlic/v1\nkind: DeviceLicenses\nassignments:\n  - group: \"No Such Group\"\n    subscription: OFFICE_PROPLUS_DEVICE1\n",
    );
    let r = finish(clean_devlic(&[
        "plan",
        s(&spec),
        "--snapshot",
        "examples/tenants/contoso.snapshot.json",
    ]));
    assert_eq!(r.code, 1);
    let location = format!(
        "{}:4:5: error: no group is named \"No Such Group\"",
        s(&spec)
    );
    assert!(r.stderr.contains(&location), "{}", r.stderr);
    assert!(
        r.stderr.contains("help: check the spelling"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty(), "nothing on stdout on error");
}

#[test]
fn invalid_spec_is_rendered_like_validate() {
    let r = finish(clean_devlic(&[
        "plan",
        "examples/broken/unknown-field.yaml",
        "--snapshot",
        "examples/tenants/contoso.snapshot.json",
    ]));
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("examples/broken/unknown-field.yaml:6:5: error: unknown field `subscripton`"),
        "{}",
        r.stderr
    );
}

#[test]
fn missing_credentials_say_what_to_set() {
    let r = finish(clean_devlic(&[
        "plan",
        "examples/contoso",
        "--auth",
        "secret",
        "--graph-url",
        "http://127.0.0.1:9",
    ]));
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("error: cannot sign in"), "{}", r.stderr);
    assert!(r.stderr.contains("--snapshot"), "{}", r.stderr);
}

#[test]
fn saved_plan_is_the_json_format() {
    let sim = TestSim::start("northwind");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plan.json");
    let r = sim.run(&["plan", "examples/northwind", "--out", s(&out)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("devlic apply --plan"), "{}", r.stderr);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["formatVersion"], 3);
    assert_eq!(v["summary"]["assign"], 2);
}

/// Several tenant folders in one run: one section per tenant in every format, a failing tenant
/// does not hide the others, and the exit code is the worst of them.
#[test]
fn several_tenants_plan_concurrently_with_one_section_each() {
    let sim = crate::sim::TestSim::start("contoso");
    let dir = tempfile::tempdir().unwrap();
    let second = dir.path().join("contoso-kiosks");
    std::fs::create_dir(&second).unwrap();
    std::fs::write(
        second.join("devlic.yaml"),
        "apiVersion: devlic/v1\nkind: DeviceLicenses\ntenant: contoso.com\nassignments:\n  - group: Kiosks - Front Desk\n    subscription: OFFICE_PROPLUS_DEVICE1\n",
    )
    .unwrap();
    let second = second.to_str().unwrap();
    // Northwind's tenant is not the one the simulator serves: its sign-in fails.
    let args = ["plan", "examples/contoso", second, "examples/northwind"];

    let text = sim.run(&args);
    assert_eq!(text.code, 1, "{}", text.stderr);
    assert!(
        text.stdout
            .contains("══ tenant contoso.onmicrosoft.com (examples/contoso) ══"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("Plan: 1 to assign, 1 to revoke, 1 to swap, 0 to update.")
    );
    assert!(text.stdout.contains("No changes"), "{}", text.stdout);
    assert!(
        text.stdout
            .contains("══ tenant northwindschools.onmicrosoft.com (examples/northwind) ══")
    );

    let json = sim.run(&[&args[..], &["--format", "json"]].concat());
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["formatVersion"], 1);
    let tenants = doc["tenants"].as_array().unwrap();
    assert_eq!(tenants.len(), 3);
    assert_eq!(tenants[0]["plan"]["summary"]["swap"], 1);
    assert_eq!(tenants[1]["plan"]["actions"].as_array().unwrap().len(), 0);
    assert!(
        tenants[2]["error"].as_str().unwrap().contains("error"),
        "{}",
        tenants[2]
    );
    assert!(!json.stdout.contains('\u{1b}'));

    let md = sim.run(&[&args[..], &["--format", "markdown"]].concat());
    assert_eq!(md.stdout.matches("## Tenant ").count(), 3, "{}", md.stdout);
    assert!(md.stdout.len() <= 65_535);

    // Without the failing tenant: Contoso trips its shortfall guard and the kiosk folder has
    // nothing to do, so exit 3, the worst of the two.
    let ok = sim.run(&["plan", "examples/contoso", second, "--detailed-exitcode"]);
    assert_eq!(ok.code, 3, "{}", ok.stderr);
}

/// The listing of groups with license errors needs nothing from the live state: it goes out
/// with the first reads (before any holder listing, which waits for `subscribedSkus`), and the
/// member-count read reuses it instead of listing again.
#[test]
fn the_license_error_listing_goes_out_with_the_first_reads_and_once() {
    let sim = TestSim::start("contoso");
    sim.sim.set_faults(devlic_graph_sim::Faults {
        latency: Some(std::time::Duration::from_millis(50)),
        ..devlic_graph_sim::Faults::default()
    });
    let r = sim.run(&["plan", "examples/contoso", "--backend", "group-licensing"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let top: Vec<String> = sim
        .sim
        .request_log()
        .into_iter()
        .filter(|l| l.batch_item.is_none() && l.path_and_query.starts_with("/v1.0/"))
        .map(|l| l.path_and_query)
        .collect();
    let listing = |p: &String| p.contains("hasMembersWithLicenseErrors");
    assert_eq!(top.iter().filter(|p| listing(p)).count(), 1, "{top:#?}");
    let first_holders = top
        .iter()
        .position(|p| p.contains("assignedLicenses/any"))
        .expect("holders listed");
    assert!(
        top[..first_holders].iter().any(listing),
        "the listing waited for the live read: {top:#?}"
    );
    // organization, subscribedSkus, the group count and the listing; the two holder listings;
    // the name lookups; the member counts: four waits (five when the listing came after the
    // live read).
    assert!(sim.stats().round_trips <= 4, "{:?}", sim.stats());
}

/// Only devlic's own SGR styles may reach a terminal: every ESC starts `ESC [ digits;… m`.
fn assert_only_styles(what: &str, out: &str) {
    for (i, _) in out.match_indices('\u{1b}') {
        let rest = &out[i + 1..];
        let sgr = rest.strip_prefix('[').and_then(|r| {
            let end = r.find('m')?;
            r[..end]
                .chars()
                .all(|c| c.is_ascii_digit() || c == ';')
                .then_some(())
        });
        assert!(
            sgr.is_some(),
            "{what}: raw escape {:?}",
            &rest[..rest.len().min(30)]
        );
    }
    for c in out.chars() {
        assert!(
            c == '\n' || c == '\u{1b}' || !devlic_model::display::is_unsafe(c),
            "{what}: raw {c:?}"
        );
    }
}

#[test]
fn hostile_names_from_the_tenant_are_shown_escaped() {
    // Anyone who may rename a group can put escape sequences in its name: set the window
    // title, clear the screen, return to the start of the line, ring the bell.
    let hostile = "Displays \u{1b}]0;owned\u{7}\u{1b}[2J\r|</details>";
    let mut tenant = crate::sim::fixture("contoso");
    tenant.display_name = format!("Contoso \u{1b}[31m{}", "Ltd");
    for g in &mut tenant.groups {
        // Conference Room Displays: not in the spec, so the plan warns about it by name.
        if g.id == "1a2b3c4d-0006-4a5b-8c6d-000000000006" {
            g.display_name = hostile.to_owned();
        }
    }
    let sim = TestSim::with_tenant(tenant);
    let escaped = r"Displays \u{1b}]0;owned\u{7}\u{1b}[2J\r|</details>";
    // --color always: the output goes to a terminal as is, nothing strips it on the way.
    let text = sim.run(&["--color", "always", "plan", "examples/contoso"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert_only_styles("plan text", &text.stdout);
    assert!(text.stdout.contains(escaped), "{}", text.stdout);
    assert!(
        text.stdout.contains(r"Contoso \u{1b}[31mLtd"),
        "{}",
        text.stdout
    );

    let md = sim.run(&["plan", "examples/contoso", "--format", "markdown"]);
    assert_eq!(md.code, 0, "{}", md.stderr);
    assert_only_styles("plan markdown", &md.stdout);
    assert!(!md.stdout.contains('\u{1b}'), "{}", md.stdout);
    assert!(
        md.stdout
            .contains(r"Displays \\u{1b}\]0;owned\\u{7}\\u{1b}\[2J\\r\|&lt;/details&gt;"),
        "{}",
        md.stdout
    );

    let skus = sim.run(&["--color", "always", "skus"]);
    assert_eq!(skus.code, 0, "{}", skus.stderr);
    assert_only_styles("skus", &skus.stdout);
    assert!(skus.stdout.contains(escaped), "{}", skus.stdout);

    // JSON keeps the exact name: serde escapes the control characters, parsers get them back.
    let json = sim.run(&["plan", "examples/contoso", "--format", "json"]);
    assert!(!json.stdout.contains('\u{1b}'));
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    assert!(
        v["warnings"]
            .as_array()
            .expect("warnings")
            .iter()
            .any(|w| w["group"]["displayName"] == hostile),
        "{v:#}"
    );
}
