//! The versioned JSON format: round trip, version check, integrity checks, committed schema.

use devlic_planner::{plan, render, wire};

use crate::fixtures::*;

fn schema_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/plan.schema.json")
}

#[test]
fn committed_schema_is_up_to_date() {
    let generated = serde_json::to_string_pretty(&wire::plan_json_schema()).expect("schema") + "\n";
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(schema_path(), &generated).expect("write schema");
    }
    let committed = std::fs::read_to_string(schema_path()).unwrap_or_default();
    assert!(
        committed == generated,
        "schemas/plan.schema.json is stale; regenerate it with\n  \
         UPDATE_SCHEMA=1 cargo test -p devlic-planner --test it wire::committed_schema_is_up_to_date\n"
    );
}

#[test]
fn plan_json_validates_against_the_schema() {
    let schema = wire::plan_json_schema();
    let validator = jsonschema::validator_for(&schema).expect("valid schema");
    for p in [
        plan(&contoso_spec(), &contoso_live()).expect("plan"),
        plan(&contoso_spec(), &contoso_converged()).expect("plan"),
    ] {
        let doc: serde_json::Value = serde_json::from_str(&render::json(&p)).expect("json");
        let errors: Vec<String> = validator
            .iter_errors(&doc)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }
    // And the schema rejects what it should.
    let mut doc: serde_json::Value = serde_json::from_str(&render::json(
        &plan(&contoso_spec(), &contoso_live()).expect("plan"),
    ))
    .expect("json");
    doc["formatVersion"] = 4.into();
    assert!(!validator.is_valid(&doc));
}

#[test]
fn round_trip() {
    let p = plan(&contoso_spec(), &contoso_live()).expect("plan");
    let text = render::json(&p);
    assert!(text.starts_with("{\n  \"formatVersion\": 3,"), "{text}");
    assert!(text.contains("\"stateTakenAt\": "), "{text}");
    assert_eq!(wire::parse(&text).expect("parse"), p);
    let v1: wire::PlanV1 = serde_json::from_str(&text).expect("v1");
    assert_eq!(v1.into_plan().expect("into_plan"), p);
}

#[test]
fn unknown_format_version_is_refused_clearly() {
    let p = plan(&contoso_spec(), &contoso_live()).expect("plan");
    let mut doc: serde_json::Value = serde_json::from_str(&render::json(&p)).expect("json");
    doc["formatVersion"] = 4.into();
    doc["somethingNew"] = true.into();
    let err = wire::parse(&doc.to_string()).expect_err("v4");
    assert!(matches!(
        err,
        wire::WireError::UnsupportedVersion { found: 4 }
    ));
    assert!(
        err.to_string().contains("formatVersion 4 is not supported"),
        "{err}"
    );

    let mut v1 = wire::PlanV1::from_plan(&p);
    v1.format_version = 7;
    assert!(matches!(
        v1.into_plan(),
        Err(wire::WireError::UnsupportedVersion { found: 7 })
    ));

    assert!(matches!(
        wire::parse("{}"),
        Err(wire::WireError::MissingVersion)
    ));
    assert!(matches!(
        wire::parse("not json"),
        Err(wire::WireError::Json(_))
    ));
}

#[test]
fn edited_plans_are_refused() {
    let p = plan(&contoso_spec(), &contoso_live()).expect("plan");
    let mut v1 = wire::PlanV1::from_plan(&p);
    v1.summary.revoke = 0;
    assert!(matches!(
        v1.into_plan(),
        Err(wire::WireError::SummaryMismatch)
    ));

    let mut v1 = wire::PlanV1::from_plan(&p);
    v1.actions[0].before.clear();
    v1.actions[0].before_fingerprint =
        devlic_model::Fingerprint::of_group(v1.actions[0].group.id, &[]);
    assert!(matches!(
        v1.into_plan(),
        Err(wire::WireError::FingerprintMismatch)
    ));

    let mut v1 = wire::PlanV1::from_plan(&p);
    v1.actions[2].from_sku = None;
    assert!(matches!(
        v1.into_plan(),
        Err(wire::WireError::InvalidAction { .. })
    ));

    let mut doc: serde_json::Value = serde_json::from_str(&render::json(&p)).expect("json");
    doc["actions"][0]["extra"] = 1.into();
    assert!(matches!(
        wire::parse(&doc.to_string()),
        Err(wire::WireError::Json(_))
    ));
}

/// Plans saved before every devlic JSON output used `formatVersion` spelled the version key
/// `format_version` (and the timestamp `state_taken_at`); they still read, as the same plan.
#[test]
fn plans_with_the_old_snake_case_keys_still_read() {
    let old = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/contoso-plan-snake-case-version.json"),
    )
    .expect("old plan file");
    assert!(old.contains("\"format_version\": 1") && old.contains("\"state_taken_at\""));
    let p = plan(&contoso_spec(), &contoso_live()).expect("plan");
    let read = wire::parse(&old).expect("old plan reads");
    // A format-1 plan has the same writes; it knows no thresholds (read as the defaults, the
    // strictest) and no unlicensed groups.
    assert_eq!(read.actions, p.actions);
    assert_eq!(read.fingerprint, p.fingerprint);
    assert_eq!(read.tenant, p.tenant);
    assert_eq!(read.guard_settings, devlic_model::GuardSettings::default());
    assert!(read.unlicensed.is_empty());
    // Written back, it uses the one casing.
    let new = render::json(&wire::parse(&old).expect("old plan reads"));
    assert!(!new.contains("format_version") && !new.contains("state_taken_at"));

    // An old plan of a newer version is refused by its version, not by a field error.
    let mut doc: serde_json::Value = serde_json::from_str(&old).expect("json");
    doc["format_version"] = 4.into();
    assert!(matches!(
        wire::parse(&doc.to_string()),
        Err(wire::WireError::UnsupportedVersion { found: 4 })
    ));
    // Both spellings at once is not a plan devlic wrote.
    let mut doc: serde_json::Value = serde_json::from_str(&old).expect("json");
    doc["formatVersion"] = 1.into();
    assert!(matches!(
        wire::parse(&doc.to_string()),
        Err(wire::WireError::Json(_))
    ));
}

/// One casing for the version key across every JSON document devlic writes.
#[test]
fn every_format_uses_the_same_version_key() {
    let p = plan(&contoso_spec(), &contoso_live()).expect("plan");
    let documents = [
        serde_json::to_value(wire::PlanV1::from_plan(&p)).expect("plan"),
        serde_json::to_value(wire::snapshot::SnapshotV1::from_live(&contoso_live()))
            .expect("snapshot"),
        serde_json::to_value(wire::multi::MultiPlanV1::new(Vec::new())).expect("multi"),
    ];
    // The plan is format 3 (allotment moves); snapshots and the multi-tenant plan 1.
    for (doc, version) in documents.into_iter().zip([3, 1, 1]) {
        assert_eq!(doc[wire::VERSION_KEY], version, "{doc}");
        assert!(doc.get(wire::LEGACY_VERSION_KEY).is_none(), "{doc}");
    }
    assert_eq!(wire::VERSION_KEY, "formatVersion");
}

fn multi_schema_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/multi-plan.schema.json")
}

#[test]
fn committed_multi_plan_schema_is_up_to_date() {
    let generated = serde_json::to_string_pretty(&wire::multi::multi_plan_json_schema())
        .expect("schema")
        + "\n";
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(multi_schema_path(), &generated).expect("write schema");
    }
    let committed = std::fs::read_to_string(multi_schema_path()).unwrap_or_default();
    assert!(
        committed == generated,
        "schemas/multi-plan.schema.json is stale; regenerate it with\n  \
         UPDATE_SCHEMA=1 cargo test -p devlic-planner --test it wire::committed_multi_plan_schema_is_up_to_date\n"
    );
}

/// The multi-tenant envelope: one entry per folder with either a plan or an error, valid
/// against its schema, and read back as written.
#[test]
fn multi_plan_json_validates_and_round_trips() {
    use wire::multi::{MultiPlanV1, TenantOutcomeV1, TenantPlanV1};
    let p = plan(&contoso_spec(), &contoso_live()).expect("plan");
    let doc = MultiPlanV1::new(vec![
        TenantPlanV1 {
            path: "tenants/contoso".to_owned(),
            tenant: Some("contoso.onmicrosoft.com".to_owned()),
            outcome: TenantOutcomeV1::Plan(Box::new(wire::PlanV1::from_plan(&p))),
        },
        TenantPlanV1 {
            path: "tenants/broken".to_owned(),
            tenant: None,
            outcome: TenantOutcomeV1::Error("error: cannot read tenants/broken".to_owned()),
        },
    ]);
    let text = doc.to_json().expect("encode");
    let value: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(value["formatVersion"], 1);
    assert_eq!(value["tenants"][0]["plan"]["formatVersion"], 3);
    assert!(value["tenants"][0].get("error").is_none());
    assert_eq!(value["tenants"][1]["tenant"], serde_json::Value::Null);
    assert!(value["tenants"][1].get("plan").is_none());

    let schema = wire::multi::multi_plan_json_schema();
    let validator = jsonschema::validator_for(&schema).expect("valid schema");
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let mut both = value.clone();
    both["tenants"][1]["plan"] = value["tenants"][0]["plan"].clone();
    assert!(!validator.is_valid(&both), "a plan and an error at once");
    let mut neither = value.clone();
    neither["tenants"][1]
        .as_object_mut()
        .expect("entry")
        .remove("error");
    assert!(!validator.is_valid(&neither), "neither a plan nor an error");

    let back: MultiPlanV1 = serde_json::from_str(&text).expect("read back");
    assert_eq!(back, doc);
}
