//! Structured YAML built from the spec's own vocabulary (its keys, enum values, SKU names,
//! GUIDs), rendered in block or flow style with anchors and aliases, one to three files.
//! Byte-level fuzzing rarely gets past the YAML grammar; this target spends its time in the
//! serde mapping and the semantic checks. Same invariants as `spec_load`.
#![no_main]

use std::fmt::Write as _;

use arbitrary::Arbitrary;
use devlic_spec::{SourceFile, load};
use libfuzzer_sys::fuzz_target;

/// Deeper than the loader's nesting budget (32), so the depth limit is exercised, but bounded
/// so the renderer itself cannot overflow the stack.
const MAX_RENDER_DEPTH: usize = 40;

#[derive(Debug, Arbitrary)]
struct Input {
    files: Vec<File>,
}

#[derive(Debug, Arbitrary)]
struct File {
    /// Write `apiVersion: devlic/v1` and `kind: DeviceLicenses` first (most real files do).
    header: bool,
    entries: Vec<(Key, Node)>,
}

#[derive(Debug, Arbitrary)]
enum Node {
    Scalar(Scalar),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
    /// The same node in flow style (`[a, b]`, `{k: v}`).
    Flow(Box<Node>),
    /// `&aN node`.
    Anchor(u8, Box<Node>),
    /// `*aN` (possibly undefined, possibly defined later).
    Alias(u8),
}

#[derive(Debug, Arbitrary)]
enum Key {
    Known(KnownKey),
    Raw(String),
}

#[derive(Debug, Clone, Copy, Arbitrary)]
enum KnownKey {
    ApiVersion,
    Kind,
    Tenant,
    Settings,
    Prune,
    MaxRevocations,
    MaxRevokePercent,
    AllowEmpty,
    DeviceSkus,
    Backend,
    Assignments,
    Group,
    Id,
    Subscription,
    Allotment,
    DisabledPlans,
    State,
    Description,
}

impl KnownKey {
    fn as_str(self) -> &'static str {
        match self {
            KnownKey::ApiVersion => "apiVersion",
            KnownKey::Kind => "kind",
            KnownKey::Tenant => "tenant",
            KnownKey::Settings => "settings",
            KnownKey::Prune => "prune",
            KnownKey::MaxRevocations => "maxRevocations",
            KnownKey::MaxRevokePercent => "maxRevokePercent",
            KnownKey::AllowEmpty => "allowEmpty",
            KnownKey::DeviceSkus => "deviceSkus",
            KnownKey::Backend => "backend",
            KnownKey::Assignments => "assignments",
            KnownKey::Group => "group",
            KnownKey::Id => "id",
            KnownKey::Subscription => "subscription",
            KnownKey::Allotment => "allotment",
            KnownKey::DisabledPlans => "disabledPlans",
            KnownKey::State => "state",
            KnownKey::Description => "description",
        }
    }
}

#[derive(Debug, Arbitrary)]
enum Scalar {
    Known(u8),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
    Guid(u128),
    /// Written as is (may break the syntax: that is fine).
    Plain(String),
    /// Written double-quoted with escapes.
    Quoted(String),
}

const VALUES: &[&str] = &[
    "devlic/v1",
    "DeviceLicenses",
    "OFFICE_PROPLUS_DEVICE1",
    "OFFICE_PROPLUS_DEVICE_EDUCATION",
    "m365-apps-enterprise-device",
    "m365-apps-education-device",
    "ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7",
    "e6564056-c8cb-4977-a87c-45c90fe87ea9",
    "3c994f28-87d5-4273-b07a-eb6190852599",
    "OFFICE_PROPLUS_DEVICE",
    "present",
    "absent",
    "group-licensing",
    "cloud-licensing",
    "contoso.onmicrosoft.com",
    "6f1c2a3b-0d4e-4f5a-9b8c-7d6e5f4a3b2c",
    "1a2b3c4d-0001-4a5b-8c6d-000000000001",
    "Kiosks - Front Desk",
    "SPE_E3",
    "",
    "~",
    "100",
    "101",
    "-1",
    "18446744073709551616",
];

fn quoted(s: &str) -> String {
    // JSON string escapes are a subset of YAML's double-quoted escapes.
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

fn key(k: &Key) -> String {
    match k {
        Key::Known(k) => k.as_str().to_owned(),
        Key::Raw(s) => quoted(s),
    }
}

fn scalar(s: &Scalar) -> String {
    match s {
        Scalar::Known(i) => quoted(VALUES[usize::from(*i) % VALUES.len()]),
        Scalar::Int(i) => i.to_string(),
        Scalar::Float(f) => format!("{f:?}"),
        Scalar::Bool(b) => b.to_string(),
        Scalar::Null => "null".to_owned(),
        Scalar::Guid(g) => {
            let h = format!("{g:032x}");
            format!(
                "{}-{}-{}-{}-{}",
                &h[..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..]
            )
        }
        Scalar::Plain(s) => s.replace(['\n', '\r'], " "),
        Scalar::Quoted(s) => quoted(s),
    }
}

/// Renders `node` in flow style.
fn flow(node: &Node, depth: usize, out: &mut String) {
    if depth > MAX_RENDER_DEPTH {
        out.push_str("null");
        return;
    }
    match node {
        Node::Scalar(s) => out.push_str(&scalar(s)),
        Node::Seq(items) => {
            out.push('[');
            for (i, n) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                flow(n, depth + 1, out);
            }
            out.push(']');
        }
        Node::Map(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&key(k));
                out.push_str(": ");
                flow(v, depth + 1, out);
            }
            out.push('}');
        }
        Node::Flow(inner) => flow(inner, depth + 1, out),
        Node::Anchor(a, inner) => {
            let _ = write!(out, "&a{a} ");
            flow(inner, depth + 1, out);
        }
        Node::Alias(a) => {
            let _ = write!(out, "*a{a}");
        }
    }
}

/// Renders `value` after `key:` (or after `- `) in block style at `indent`.
fn block_value(node: &Node, indent: usize, depth: usize, out: &mut String) {
    if depth > MAX_RENDER_DEPTH {
        out.push_str(" null\n");
        return;
    }
    let pad = " ".repeat(indent);
    match node {
        Node::Seq(items) if !items.is_empty() => {
            out.push('\n');
            for n in items {
                let _ = write!(out, "{pad}-");
                block_value(n, indent + 2, depth + 1, out);
            }
        }
        Node::Map(entries) if !entries.is_empty() => {
            out.push('\n');
            for (k, v) in entries {
                let _ = write!(out, "{pad}{}:", key(k));
                block_value(v, indent + 2, depth + 1, out);
            }
        }
        Node::Anchor(a, inner) => {
            let _ = write!(out, " &a{a}");
            block_value(inner, indent, depth + 1, out);
        }
        other => {
            out.push(' ');
            flow(other, depth, out);
            out.push('\n');
        }
    }
}

fn render(file: &File) -> String {
    let mut out = String::new();
    if file.header {
        out.push_str("apiVersion: devlic/v1\nkind: DeviceLicenses\n");
    }
    for (k, v) in &file.entries {
        let _ = write!(out, "{}:", key(k));
        block_value(v, 2, 1, &mut out);
    }
    out
}

fuzz_target!(|input: Input| {
    let sources: Vec<SourceFile> = input
        .files
        .iter()
        .take(3)
        .enumerate()
        .map(|(i, f)| SourceFile {
            path: format!("f{i}.yaml"),
            bytes: render(f).into_bytes(),
        })
        .collect();
    // scripts/fuzz.sh re-runs a crashing input with this set to keep the YAML as a regression
    // test (stable `cargo test` cannot rebuild it from the raw bytes without `arbitrary`).
    if let Some(dir) = std::env::var_os("DEVLIC_FUZZ_RENDER_TO") {
        for s in &sources {
            let _ = std::fs::write(std::path::Path::new(&dir).join(&s.path), &s.bytes);
        }
    }
    if let Err(errors) = load(&sources) {
        assert!(!errors.is_empty(), "load failed without an error");
        for e in &errors {
            assert!(e.line >= 1 && e.column >= 1, "unlocated error: {e:?}");
            let shown = e.to_string();
            assert!(
                !shown.chars().any(char::is_control),
                "control character: {shown:?}"
            );
            let _ = e.kind.code();
        }
    }
});
