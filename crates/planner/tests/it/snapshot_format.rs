//! The versioned snapshot file format (`wire::snapshot`): round trip, the committed example
//! snapshots, the compatibility rule (unknown fields ignored, other versions refused), and the
//! committed schema.

use devlic_model::{Allotment, AllotmentAssignment, LicenseErrorMember, ProcessingState};
use devlic_planner::wire::snapshot::{self, SnapshotError, SnapshotV1};
use serde_json::Value;

use crate::fixtures::*;

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn schema_path() -> std::path::PathBuf {
    root().join("schemas/snapshot.schema.json")
}

fn committed_examples() -> Vec<(String, String)> {
    ["contoso", "northwind"]
        .iter()
        .map(|name| {
            let path = root().join(format!("examples/tenants/{name}.snapshot.json"));
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            ((*name).to_owned(), text)
        })
        .collect()
}

/// Contoso with every optional part filled: an unknown processing state, license errors, a
/// member without a display name, and a cloud-licensing allotment.
fn everything() -> devlic_model::LiveState {
    let mut live = contoso_live();
    let g = live.groups.get_mut(&cg(2)).expect("warehouse");
    g.license_processing_state = Some(ProcessingState::Other("SomethingNew".to_owned()));
    g.license_errors = Some(vec![
        LicenseErrorMember {
            id: "dev-1".to_owned(),
            kind: "device".to_owned(),
            display_name: Some("WH-PC-01".to_owned()),
            error: Some("CountViolation".to_owned()),
        },
        LicenseErrorMember {
            id: "dev-2".to_owned(),
            kind: "device".to_owned(),
            display_name: None,
            error: None,
        },
    ]);
    live.groups.get_mut(&cg(3)).expect("training").members = None;
    live.allotments = vec![Allotment {
        id: "d1-main".to_owned(),
        sku_id: sku_id(DEVICE1),
        sku_part_number: "OFFICE_PROPLUS_DEVICE1".to_owned(),
        allotted_units: 100,
        consumed_units: 61,
        assignable_to: vec!["device".to_owned(), "group".to_owned()],
        subscription_ids: vec!["sub-main".to_owned()],
        assignments: vec![AllotmentAssignment {
            id: "as-1".to_owned(),
            group: cg(1),
            disabled_plans: [plan_id(PLAN_DEVICE1_EXTRA)].into_iter().collect(),
        }],
    }];
    live
}

#[test]
fn round_trip_keeps_every_field() {
    for live in [contoso_live(), everything()] {
        let text = snapshot::to_json(&live).expect("encode");
        assert!(text.starts_with("{\n  \"formatVersion\": 1,\n  \"state\": {"));
        assert!(text.ends_with("}\n"));
        assert_eq!(snapshot::parse(&text).expect("parse"), live);
    }
}

#[test]
fn committed_example_snapshots_read_and_rewrite_to_the_same_json() {
    for (name, text) in committed_examples() {
        let live = snapshot::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!live.groups.is_empty(), "{name}");
        let rewritten: Value =
            serde_json::from_str(&snapshot::to_json(&live).expect("encode")).expect("json");
        let committed: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(rewritten, committed, "{name}: nothing lost or added");
    }
}

/// The compatibility rule: a newer devlic may add optional fields within `formatVersion` 1, at
/// any level, and this build still reads the file (ignoring them).
#[test]
fn unknown_fields_of_the_same_version_are_ignored() {
    let live = everything();
    let mut doc: Value =
        serde_json::from_str(&snapshot::to_json(&live).expect("encode")).expect("json");
    let new = Value::String("from a newer devlic".to_owned());
    doc["writtenBy"] = new.clone();
    doc["state"]["newTopLevel"] = new.clone();
    doc["state"]["tenant"]["country"] = new.clone();
    doc["state"]["source"]["region"] = new.clone();
    doc["state"]["skus"][0]["newSkuField"] = new.clone();
    doc["state"]["skus"][0]["prepaidUnits"]["trial"] = 3.into();
    doc["state"]["skus"][0]["servicePlans"][0]["targetClass"] = new.clone();
    let g = cg(2).to_string();
    doc["state"]["groups"][&g]["newGroupField"] = new.clone();
    doc["state"]["groups"][&g]["members"]["servicePrincipals"] = 0.into();
    doc["state"]["groups"][&g]["licenseErrors"][0]["reason"] = new.clone();
    doc["state"]["allotments"][0]["services"] = new.clone();
    doc["state"]["allotments"][0]["assignments"][0]["createdAt"] = new;
    assert_eq!(snapshot::parse(&doc.to_string()).expect("tolerant"), live);
}

#[test]
fn other_versions_are_refused_by_version() {
    let text = snapshot::to_json(&contoso_live()).expect("encode");
    for found in [0_u64, 2, 99] {
        let mut doc: Value = serde_json::from_str(&text).expect("json");
        doc["formatVersion"] = found.into();
        // A future version may change the shape too: the version is what is reported.
        doc["state"] = Value::Array(Vec::new());
        let err = snapshot::parse(&doc.to_string()).expect_err("refused");
        assert!(
            matches!(err, SnapshotError::UnsupportedVersion { found: f } if f == found),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .contains(&format!("formatVersion {found} is not supported")),
            "{err}"
        );
    }
    let mut v1 = SnapshotV1::from_live(&contoso_live());
    v1.format_version = 2;
    assert!(matches!(
        v1.into_live(),
        Err(SnapshotError::UnsupportedVersion { found: 2 })
    ));
    for missing in ["{}", r#"{"formatVersion": "1"}"#, r#"{"state": {}}"#] {
        assert!(
            matches!(snapshot::parse(missing), Err(SnapshotError::MissingVersion)),
            "{missing}"
        );
    }
    assert!(matches!(
        snapshot::parse("not json"),
        Err(SnapshotError::Json(_))
    ));
    // Version 1 with a missing required field is a shape error that names the field.
    let mut doc: Value = serde_json::from_str(&text).expect("json");
    doc["state"]
        .as_object_mut()
        .expect("state")
        .remove("takenAt");
    let err = snapshot::parse(&doc.to_string()).expect_err("no takenAt");
    assert!(err.to_string().contains("takenAt"), "{err}");
}

#[test]
fn a_group_filed_under_another_id_is_refused() {
    let mut doc: Value =
        serde_json::from_str(&snapshot::to_json(&contoso_live()).expect("encode")).expect("json");
    let groups = doc["state"]["groups"].as_object_mut().expect("groups");
    let moved = groups.remove(&cg(1).to_string()).expect("group 1");
    groups.insert("1a2b3c4d-0009-4a5b-8c6d-000000000009".to_owned(), moved);
    let err = snapshot::parse(&doc.to_string()).expect_err("mismatch");
    assert!(
        matches!(err, SnapshotError::GroupKeyMismatch { id, .. } if id == cg(1)),
        "{err:?}"
    );
}

#[test]
fn committed_schema_is_up_to_date() {
    let generated =
        serde_json::to_string_pretty(&snapshot::snapshot_json_schema()).expect("schema") + "\n";
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(schema_path(), &generated).expect("write schema");
    }
    let committed = std::fs::read_to_string(schema_path()).unwrap_or_default();
    assert!(
        committed == generated,
        "schemas/snapshot.schema.json is stale; regenerate it with\n  \
         UPDATE_SCHEMA=1 cargo test -p devlic-planner --test it snapshot_format::committed_schema_is_up_to_date\n"
    );
}

#[test]
fn snapshots_validate_against_the_schema() {
    let schema = snapshot::snapshot_json_schema();
    let validator = jsonschema::validator_for(&schema).expect("valid schema");
    let mut documents: Vec<(String, Value)> = committed_examples()
        .into_iter()
        .map(|(name, text)| (name, serde_json::from_str(&text).expect("json")))
        .collect();
    documents.push((
        "everything".to_owned(),
        serde_json::to_value(SnapshotV1::from_live(&everything())).expect("json"),
    ));
    for (name, doc) in &documents {
        let errors: Vec<String> = validator
            .iter_errors(doc)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}");
    }
    // The schema allows fields a newer devlic adds, and refuses another version.
    let mut doc = documents[0].1.clone();
    doc["state"]["somethingNew"] = true.into();
    assert!(validator.is_valid(&doc));
    doc["formatVersion"] = 2.into();
    assert!(!validator.is_valid(&doc));
}
