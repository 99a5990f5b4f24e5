//! The bundled examples: the good ones load into the expected model, every broken one fails
//! with located errors whose text is pinned by snapshots.

use devlic_spec::{DesiredState, GroupSelector, SkuSelector, load};

use crate::support::{broken_cases, render, sources};

#[test]
fn contoso_loads_with_every_kind_of_entry() {
    let spec = load(&sources("examples/contoso")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(spec.tenant.as_deref(), Some("contoso.onmicrosoft.com"));
    assert!(!spec.settings.prune);
    assert_eq!(spec.settings.max_revocations, 1);
    assert_eq!(spec.settings.max_revoke_percent, 30);
    assert_eq!(spec.assignments.len(), 5);
    let device1 = SkuSelector::PartNumber("OFFICE_PROPLUS_DEVICE1".into());
    // The alias resolves to the part number.
    assert_eq!(spec.assignments[1].subscription.as_ref(), Some(&device1));
    assert_eq!(spec.assignments[3].state, DesiredState::Absent);
    assert_eq!(spec.assignments[3].subscription, None);
    assert!(matches!(spec.assignments[4].group, GroupSelector::Id(_)));
    assert!(matches!(
        spec.assignments[4].subscription,
        Some(SkuSelector::Id(_))
    ));
    let origin = &spec.assignments[0].origin;
    assert_eq!(
        (origin.file.as_str(), origin.line),
        ("examples/contoso/devlic.yaml", 19)
    );
}

#[test]
fn northwind_merges_a_folder_in_file_name_order() {
    let spec = load(&sources("examples/northwind")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        spec.tenant.as_deref(),
        Some("northwindschools.onmicrosoft.com")
    );
    assert!(spec.settings.prune);
    assert_eq!(spec.settings.max_revocations, 0);
    assert_eq!(spec.files.len(), 3);
    let names: Vec<String> = spec
        .assignments
        .iter()
        .map(|a| a.group.to_string())
        .collect();
    assert_eq!(
        names,
        [
            "\"Lab - Science Building\"",
            "\"Lab - Art Room\"",
            "\"Lab - Music\"",
            "\"Lab - Library\"",
            "\"Library Kiosks\""
        ]
    );
    let education = SkuSelector::PartNumber("OFFICE_PROPLUS_DEVICE_EDUCATION".into());
    assert!(
        spec.assignments
            .iter()
            .all(|a| a.subscription.as_ref() == Some(&education))
    );
}

#[test]
fn every_broken_example_fails_with_located_errors() {
    let cases = broken_cases();
    assert!(cases.len() >= 10, "{cases:?}");
    for case in cases {
        let errors = match load(&sources(&case)) {
            Ok(_) => panic!("{case} loaded but is broken"),
            Err(e) => e,
        };
        assert!(!errors.is_empty());
        for e in &errors {
            assert!(e.file.starts_with(&case), "{case}: error names {}", e.file);
            assert!(e.line >= 1 && e.column >= 1, "{case}: {e}");
            assert!(!e.help.is_empty(), "{case}: {e}");
        }
        let name = case
            .trim_start_matches("examples/broken/")
            .replace('.', "_");
        insta::assert_snapshot!(name, render(&errors));
    }
}

#[test]
fn a_missing_subscription_is_fine_when_absent_but_not_when_present() {
    let spec = |body: &str| devlic_spec::SourceFile {
        path: "t.yaml".into(),
        bytes: format!("apiVersion: devlic/v1\nkind: DeviceLicenses\nassignments:\n{body}")
            .into_bytes(),
    };
    assert!(load(&[spec("  - group: A\n    state: absent\n")]).is_ok());
    let err = load(&[spec("  - group: A\n")]).unwrap_err();
    assert_eq!(err.errors[0].kind.code(), "missing-subscription");
    assert_eq!((err.errors[0].line, err.errors[0].column), (4, 12));
}

#[test]
fn errors_of_every_file_are_reported_together() {
    let mut files = sources("examples/broken/unknown-field.yaml");
    files.extend(sources("examples/broken/non-guid-id.yaml"));
    files.extend(sources("examples/broken/user-sku.yaml"));
    let errors = load(&files).unwrap_err();
    let codes: Vec<&str> = errors.iter().map(|e| e.kind.code()).collect();
    assert_eq!(codes, ["unknown-field", "invalid-guid", "not-a-device-sku"]);
}

#[test]
fn declared_device_skus_are_accepted() {
    let file = devlic_spec::SourceFile {
        path: "t.yaml".into(),
        bytes: b"apiVersion: devlic/v1\nkind: DeviceLicenses\nsettings:\n  deviceSkus: [M365_APPS_DEVICE_NEW]\nassignments:\n  - group: A\n    subscription: m365_apps_device_new\n".to_vec(),
    };
    let spec = load(&[file]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(spec.settings.device_skus.len(), 1);
}

#[test]
fn no_files_is_an_error_not_a_panic() {
    let err = load(&[]).unwrap_err();
    assert_eq!(err.errors[0].kind.code(), "no-sources");
}

#[test]
fn inline_mistakes_get_precise_codes_and_locations() {
    let head = "apiVersion: devlic/v1\nkind: DeviceLicenses\n";
    let cases = [
        (
            "assignments:\n  - group: {idd: x}\n    subscription: OFFICE_PROPLUS_DEVICE1\n",
            "unknown-field",
            4,
            13,
        ),
        ("assignments:\n  - group: [a, b]\n", "invalid-type", 4, 5),
        (
            "---\napiVersion: devlic/v1\nkind: DeviceLicenses\n",
            "syntax",
            3,
            1,
        ),
        (
            "settings:\n  backend: cloud-licencing\n",
            "unknown-value",
            4,
            12,
        ),
        (
            "settings:\n  deviceSkus: [\"not a sku\"]\n",
            "invalid-sku-name",
            4,
            16,
        ),
        (
            "assignments:\n  - group: A\n    subscription: OFFICE_PROPLUS_DEVICE1\n    disabledPlans: [X, x]\n",
            "duplicate-disabled-plan",
            6,
            24,
        ),
        (
            "assignments:\n  - group: \"  \"\n    subscription: OFFICE_PROPLUS_DEVICE1\n",
            "empty-group-name",
            4,
            12,
        ),
    ];
    for (body, code, line, column) in cases {
        let file = devlic_spec::SourceFile {
            path: "t.yaml".into(),
            bytes: format!("{head}{body}").into_bytes(),
        };
        let errors = load(&[file]).unwrap_err();
        let e = &errors.errors[0];
        assert_eq!(
            (e.kind.code(), e.line, e.column),
            (code, line, column),
            "{body}: {errors}"
        );
    }
}

#[test]
fn tenant_and_settings_conflicts_across_files_name_both_files() {
    let file = |path: &str, body: &str| devlic_spec::SourceFile {
        path: path.into(),
        bytes: format!("apiVersion: devlic/v1\nkind: DeviceLicenses\n{body}").into_bytes(),
    };
    let errors = load(&[
        file("a.yaml", "tenant: contoso.com\nsettings:\n  prune: false\n"),
        file("b.yaml", "tenant: fabrikam.com\nsettings:\n  prune: true\n"),
    ])
    .unwrap_err();
    let got: Vec<(&str, &str, &str)> = errors
        .iter()
        .map(|e| {
            (
                e.kind.code(),
                e.file.as_str(),
                e.related.as_ref().map_or("", |r| r.file.as_str()),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("conflicting-tenant", "b.yaml", "a.yaml"),
            ("duplicate-settings", "b.yaml", "a.yaml")
        ]
    );
    // The same tenant written twice (in another case) is fine.
    assert!(
        load(&[
            file("a.yaml", "tenant: Contoso.com\n"),
            file("b.yaml", "tenant: contoso.com\n")
        ])
        .is_ok()
    );
}
