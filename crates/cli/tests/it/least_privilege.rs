//! SECURITY.md's least-privilege sets as test data: each documented identity of the bundled
//! tenant (`devlic-{plan,apply}-{group,cloud}`, granted exactly SECURITY.md's "What to grant"
//! rows) runs its commands against the permission-enforcing simulator, and the same identity
//! with one application permission fewer gets an error that names the missing permission and
//! where to grant it.

use devlic_graph_sim::{Application, Tenant};

use crate::sim::{TestSim, fixture};

/// (identity, command line) as SECURITY.md documents them. Apply runs the Northwind labs spec,
/// whose plan only assigns; the Contoso test below adds a revoke and a swap.
const MATRIX: [(&str, &[&str]); 10] = [
    (
        "devlic-plan-group",
        &["plan", "examples/northwind", "--backend", "group-licensing"],
    ),
    (
        "devlic-plan-group",
        &["snapshot", "--out", "SNAPSHOT", "examples/northwind"],
    ),
    ("devlic-plan-group", &["export"]),
    ("devlic-plan-group", &["skus"]),
    (
        "devlic-plan-cloud",
        &["plan", "examples/northwind", "--backend", "cloud-licensing"],
    ),
    (
        "devlic-plan-cloud",
        &["snapshot", "--out", "SNAPSHOT", "examples/northwind"],
    ),
    ("devlic-plan-cloud", &["export"]),
    ("devlic-plan-cloud", &["skus"]),
    (
        "devlic-apply-group",
        &[
            "apply",
            "examples/northwind",
            "--backend",
            "group-licensing",
            "--auto-approve",
            "--poll-interval",
            "0",
        ],
    ),
    (
        "devlic-apply-cloud",
        &[
            "apply",
            "examples/northwind",
            "--backend",
            "cloud-licensing",
            "--auto-approve",
            "--poll-interval",
            "0",
        ],
    ),
];

fn with_snapshot_path<'a>(args: &[&'a str], path: &'a str) -> Vec<&'a str> {
    args.iter()
        .map(|a| if *a == "SNAPSHOT" { path } else { a })
        .collect()
}

#[test]
fn every_documented_identity_runs_its_commands_on_both_backends() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap.json");
    let snap = snap.to_str().unwrap();
    for (identity, args) in MATRIX {
        // A fresh tenant per run: apply changes it.
        let sim = TestSim::start("northwind");
        let args = with_snapshot_path(args, snap);
        let r = sim.run_as(identity, &args);
        assert_eq!(
            r.code, 0,
            "{identity} {args:?}:\n{}\n{}",
            r.stdout, r.stderr
        );
        let denied = sim.stats().per_status.get(&403).copied().unwrap_or(0);
        // The one 403 a group-licensing plan identity may see is the backend probe of `auto`
        // (snapshot), which devlic reads as "no cloudLicensing here".
        let allowed = u64::from(identity == "devlic-plan-group" && args[0] == "snapshot");
        assert_eq!(denied, allowed, "{identity} {args:?}: 403s");
    }
}

/// `identity` with the delegated `scope` taken away.
fn without_scope(tenant: Tenant, identity: &str, scope: &str) -> Tenant {
    taken_away(tenant, identity, scope, |a| &mut a.delegated_scopes)
}

/// What a person signed in as themselves is told when the app they signed in to lacks one
/// delegated permission: the delegated name (not the application one) and the "Delegated
/// permissions" list of the admin center.
fn assert_delegated_help(said: &str, scope: &str) {
    assert!(
        said.contains(&format!(
            "lacks the delegated Microsoft Graph permission {scope},"
        )),
        "{scope}:\n{said}"
    );
    assert!(
        said.contains(&format!(
            "API permissions > Add a permission > Microsoft Graph > Delegated permissions > {scope},"
        )),
        "{scope}:\n{said}"
    );
    assert!(!said.contains("Application permissions"), "{said}");
}

/// The Azure CLI's token is delegated: with each delegated permission of the cloud plan
/// identity taken away in turn, the error names that one and where delegated ones are granted.
#[cfg(unix)]
#[test]
fn one_delegated_permission_fewer_names_it_for_the_azure_cli() {
    use crate::human_signin::{fake_az, with_path};
    use crate::sim::{clean_devlic, finish};

    let identity = "devlic-plan-cloud";
    let scopes = fixture("northwind")
        .applications
        .iter()
        .find(|a| a.app_id.as_deref() == Some(identity))
        .expect("documented identity")
        .delegated_scopes
        .clone();
    // Every name differs from its application counterpart somewhere in this set.
    assert!(scopes.iter().any(|s| s == "User.Read"), "{scopes:?}");
    assert!(
        scopes.iter().any(|s| s == "CloudLicensing.Read"),
        "{scopes:?}"
    );
    for scope in scopes {
        let sim = TestSim::with_tenant(without_scope(fixture("northwind"), identity, &scope));
        let dir = tempfile::tempdir().unwrap();
        let token = sim.sim.issue_delegated_token_for(identity).unwrap();
        fake_az(
            dir.path(),
            &format!("printf '%s' '{{\"accessToken\": \"{token}\", \"expires_on\": 4102444800}}'"),
        );
        let mut cmd = clean_devlic(&[
            "plan",
            "examples/northwind",
            "--backend",
            "cloud-licensing",
            "--auth",
            "azure-cli",
        ]);
        cmd.env("PATH", with_path(dir.path()))
            .env("DEVLIC_GRAPH_URL", sim.sim.url())
            .env("DEVLIC_AUTHORITY_URL", sim.sim.url());
        let r = finish(cmd);
        assert_eq!(r.code, 1, "{identity} without {scope}:\n{}", r.stderr);
        assert_delegated_help(&r.stderr, &scope);
    }
}

/// A write refused at apply time is worded for the sign-in too: a person (Azure CLI token)
/// whose app lacks the delegated write permission is told the delegated name and list, in the
/// run's failure and in its report, not the application permission.
#[cfg(unix)]
#[test]
fn an_apply_refused_for_a_delegated_sign_in_names_the_delegated_permission() {
    use crate::human_signin::{fake_az, with_path};
    use crate::sim::{clean_devlic, finish};

    let identity = "devlic-apply-cloud";
    let scope = "Group-CloudLicensing.AssignLicenses.Organization";
    let sim = TestSim::with_tenant(without_scope(fixture("northwind"), identity, scope));
    let dir = tempfile::tempdir().unwrap();
    let token = sim.sim.issue_delegated_token_for(identity).unwrap();
    fake_az(
        dir.path(),
        &format!("printf '%s' '{{\"accessToken\": \"{token}\", \"expires_on\": 4102444800}}'"),
    );
    let report = dir.path().join("report.json");
    let mut cmd = clean_devlic(&[
        "apply",
        "examples/northwind",
        "--backend",
        "cloud-licensing",
        "--auth",
        "azure-cli",
        "--auto-approve",
        "--report",
        report.to_str().unwrap(),
    ]);
    cmd.env("PATH", with_path(dir.path()))
        .env("DEVLIC_GRAPH_URL", sim.sim.url())
        .env("DEVLIC_AUTHORITY_URL", sim.sim.url());
    let r = finish(cmd);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let said = format!("{}{}", r.stdout, r.stderr);
    assert_delegated_help(&said, scope);
    let json = std::fs::read_to_string(&report).unwrap();
    assert!(
        json.contains(&format!(
            "lacks the delegated Microsoft Graph permission {scope},"
        )),
        "{json}"
    );
}

/// The same through a device-code sign-in: the person is told about the delegated
/// CloudLicensing.Read, never the application CloudLicensing.Read.All.
#[test]
fn a_device_code_sign_in_without_a_delegated_permission_names_it() {
    use crate::human_signin::{device_code_devlic, sign_in_and_run};

    let identity = "devlic-plan-cloud";
    let sim = TestSim::with_tenant(without_scope(
        fixture("northwind"),
        identity,
        "CloudLicensing.Read",
    ));
    let args = ["plan", "examples/northwind", "--backend", "cloud-licensing"];
    let run = sign_in_and_run(
        &sim,
        device_code_devlic(&sim, &args, identity),
        std::time::Duration::ZERO,
    );
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_delegated_help(&run.stderr, "CloudLicensing.Read");
    assert!(
        !run.stderr.contains("CloudLicensing.Read.All"),
        "{}",
        run.stderr
    );
}

/// `identity` with the application `permission` taken away.
fn without(tenant: Tenant, identity: &str, permission: &str) -> Tenant {
    taken_away(tenant, identity, permission, |a| &mut a.roles)
}

/// `identity` with `permission` taken out of the list `granted` picks (its application
/// permissions or its delegated scopes), which must have held it once.
fn taken_away(
    mut tenant: Tenant,
    identity: &str,
    permission: &str,
    granted: fn(&mut Application) -> &mut Vec<String>,
) -> Tenant {
    let app = tenant
        .applications
        .iter_mut()
        .find(|a| a.app_id.as_deref() == Some(identity))
        .expect("documented identity");
    let list = granted(app);
    let before = list.len();
    list.retain(|p| p != permission);
    assert_eq!(list.len() + 1, before, "{identity} holds {permission}");
    tenant
}

#[test]
fn one_permission_fewer_is_an_error_that_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap.json");
    let snap = snap.to_str().unwrap();
    for (identity, args) in MATRIX {
        if matches!(args[0], "export" | "skus" | "snapshot") {
            continue; // same reads as plan
        }
        let roles = fixture("northwind")
            .applications
            .iter()
            .find(|a| a.app_id.as_deref() == Some(identity))
            .expect("documented identity")
            .roles
            .clone();
        for permission in roles {
            let sim = TestSim::with_tenant(without(fixture("northwind"), identity, &permission));
            let args = with_snapshot_path(args, snap);
            let r = sim.run_as(identity, &args);
            assert_ne!(
                r.code, 0,
                "{identity} without {permission} {args:?} succeeded"
            );
            let said = format!("{}{}", r.stdout, r.stderr);
            assert!(
                said.contains(&format!(
                    "lacks the Microsoft Graph permission {permission}"
                )),
                "{identity} without {permission} {args:?}:\n{said}"
            );
            if args[0] == "plan" {
                // An app-only token: the permission is an application permission.
                assert!(
                    r.stderr.contains(&format!(
                        "Entra admin center > App registrations > the app > API permissions > \
                         Add a permission > Microsoft Graph > Application permissions > \
                         {permission}"
                    )),
                    "{}",
                    r.stderr
                );
                assert!(!r.stderr.contains("Delegated"), "{}", r.stderr);
            }
        }
    }
}

/// The writes that take licenses away or move them (Contoso: a revoke, a swap and an assign)
/// need nothing beyond the documented apply sets either: cloud deletes go to the group route.
#[test]
fn the_documented_apply_identities_swap_and_revoke_on_both_backends() {
    for (identity, backend) in [
        ("devlic-apply-group", "group-licensing"),
        ("devlic-apply-cloud", "cloud-licensing"),
    ] {
        let sim = TestSim::start("contoso");
        // Enough units that the plan is not short: this test is about permissions.
        assert!(sim.sim.add_units("OFFICE_PROPLUS_DEVICE1", 10));
        let args = [
            "apply",
            "examples/contoso",
            "--backend",
            backend,
            "--auto-approve",
            "--allow-revoke",
            "--poll-interval",
            "0",
        ];
        let r = sim.run_as(identity, &args);
        assert_eq!(r.code, 0, "{identity}:\n{}\n{}", r.stdout, r.stderr);
        assert_eq!(
            sim.stats().per_status.get(&403).copied().unwrap_or(0),
            0,
            "{identity}: 403s"
        );
        let again = sim.run_as(
            identity,
            &[
                "plan",
                "examples/contoso",
                "--backend",
                backend,
                "--detailed-exitcode",
            ],
        );
        assert_eq!(again.code, 0, "{identity}:\n{}", again.stdout);
    }
}
