//! The committed JSON Schema is the generated one, and every example satisfies it.

use crate::support::{root, sources};

const REGENERATE: &str = "run `cargo run -p devlic-cli -- schema > schemas/devlic.schema.json`";

fn committed() -> serde_json::Value {
    let path = root().join("schemas/devlic.schema.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} is missing ({e}); {REGENERATE}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("schemas/devlic.schema.json is not JSON ({e}); {REGENERATE}"))
}

#[test]
fn committed_schema_is_up_to_date() {
    assert!(
        committed() == devlic_spec::json_schema(),
        "schemas/devlic.schema.json is out of date with the spec types; {REGENERATE}"
    );
}

#[test]
fn schema_is_draft_07_and_closed() {
    let schema = devlic_spec::json_schema();
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(
        schema["required"],
        serde_json::json!(["apiVersion", "kind"])
    );
}

#[test]
fn every_example_file_satisfies_the_schema() {
    let validator = jsonschema::draft7::new(&committed()).expect("the schema compiles");
    let mut checked = 0;
    for example in ["examples/contoso", "examples/northwind"] {
        for file in sources(example) {
            let text = String::from_utf8(file.bytes).unwrap();
            assert!(
                text.starts_with(
                    "# yaml-language-server: $schema=../../schemas/devlic.schema.json\n"
                ),
                "{} lacks the schema header",
                file.path
            );
            let value: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
            let problems: Vec<String> = validator
                .iter_errors(&value)
                .map(|e| e.to_string())
                .collect();
            assert!(problems.is_empty(), "{}: {problems:?}", file.path);
            checked += 1;
        }
    }
    assert_eq!(checked, 4);
}

#[test]
fn the_schema_catches_what_editors_should_flag() {
    let validator = jsonschema::draft7::new(&committed()).expect("the schema compiles");
    for (case, yaml) in [
        (
            "unknown field",
            "apiVersion: devlic/v1\nkind: DeviceLicenses\nassignmnts: []\n",
        ),
        (
            "wrong version",
            "apiVersion: devlic/v2\nkind: DeviceLicenses\n",
        ),
        (
            "bad group id",
            "apiVersion: devlic/v1\nkind: DeviceLicenses\nassignments:\n  - group: {id: nope}\n",
        ),
        (
            "bad state",
            "apiVersion: devlic/v1\nkind: DeviceLicenses\nassignments:\n  - group: A\n    state: gone\n",
        ),
        (
            "percent",
            "apiVersion: devlic/v1\nkind: DeviceLicenses\nsettings:\n  maxRevokePercent: 101\n",
        ),
    ] {
        let value: serde_json::Value = serde_saphyr::from_str(yaml).unwrap();
        assert!(!validator.is_valid(&value), "{case} passed the schema");
    }
}

#[test]
fn the_reference_documents_every_field() {
    let doc = std::fs::read_to_string(root().join("docs/spec-reference.md")).unwrap();
    let schema = devlic_spec::json_schema();
    let mut fields: Vec<String> = Vec::new();
    let mut collect = |props: &serde_json::Value| {
        if let Some(map) = props.as_object() {
            fields.extend(map.keys().cloned());
        }
    };
    collect(&schema["properties"]);
    for def in schema["definitions"].as_object().unwrap().values() {
        collect(&def["properties"]);
    }
    for field in fields {
        assert!(
            doc.contains(&format!("`{field}`")),
            "docs/spec-reference.md does not document `{field}`"
        );
    }
}
