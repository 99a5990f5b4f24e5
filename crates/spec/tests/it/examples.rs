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
        ("examples/contoso/devlic.yaml", 16)
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
