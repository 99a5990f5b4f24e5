//! The `--junit` file against the structure of the widely used JUnit schema: the one Jenkins'
//! xUnit plugin validates with (junit-10.xsd, the shape Ant's JUnitReport writes, and what
//! GitLab and Azure DevOps read). No Rust crate validates XSD, and a third-party XSD file is not
//! copied here, so the schema is written down below as data, from its documented structure, and
//! checked over a parsed document: every element, its allowed and required attributes, the
//! order and number of its children, and text only where the schema allows it. On top of the
//! schema, the values must be what consumers parse (counts, decimal seconds, an ISO 8601
//! timestamp without zone) and the counts must add up.

use std::time::Duration;

use devlic_applier::{
    ActionOutcome, ActionReport, ApplyError, GroupErrors, RunReport, StopReason, Stopped,
    Verification, WritePhase, apply,
};
use devlic_graph_sim::Faults;
use devlic_model::{
    ActionKind, Backend, GroupId, GroupRef, GuardViolation, LicenseErrorMember, SkuId, SkuRef,
};

use crate::harness::{contoso, contoso_with_room, example_spec, plan, start};

/// What an attribute's value must look like.
#[derive(Clone, Copy, Debug)]
enum Value {
    /// Any text.
    Text,
    /// A non-negative integer.
    Count,
    /// Decimal seconds: digits, optionally `.` and up to three digits.
    Seconds,
    /// `YYYY-MM-DDTHH:MM:SS`, no zone (the Ant schema's ISO8601_DATETIME_PATTERN).
    Timestamp,
}

/// One element of the schema.
struct Rule {
    name: &'static str,
    /// (attribute, required, value).
    attributes: &'static [(&'static str, bool, Value)],
    /// The child elements, a sequence in this order: (name, min, max).
    children: &'static [(&'static str, usize, usize)],
    /// Whether non-whitespace text may appear (mixed content).
    text: bool,
}

const MANY: usize = usize::MAX;

/// junit-10.xsd's structure. Attributes the schema types as plain strings get the stricter
/// value consumers actually parse.
const SCHEMA: &[Rule] = &[
    Rule {
        name: "testsuites",
        attributes: &[
            ("name", false, Value::Text),
            ("time", false, Value::Seconds),
            ("tests", false, Value::Count),
            ("failures", false, Value::Count),
            ("disabled", false, Value::Count),
            ("errors", false, Value::Count),
        ],
        children: &[("testsuite", 0, MANY)],
        text: false,
    },
    Rule {
        name: "testsuite",
        attributes: &[
            ("name", true, Value::Text),
            ("tests", true, Value::Count),
            ("failures", false, Value::Count),
            ("errors", false, Value::Count),
            ("time", false, Value::Seconds),
            ("disabled", false, Value::Count),
            ("skipped", false, Value::Count),
            ("timestamp", false, Value::Timestamp),
            ("hostname", false, Value::Text),
            ("id", false, Value::Text),
            ("package", false, Value::Text),
        ],
        children: &[
            ("properties", 0, 1),
            ("testcase", 0, MANY),
            ("system-out", 0, 1),
            ("system-err", 0, 1),
        ],
        text: false,
    },
    Rule {
        name: "testcase",
        attributes: &[
            ("name", true, Value::Text),
            ("assertions", false, Value::Count),
            ("time", false, Value::Seconds),
            ("classname", false, Value::Text),
            ("status", false, Value::Text),
            ("class", false, Value::Text),
            ("file", false, Value::Text),
            ("line", false, Value::Count),
        ],
        children: &[
            ("skipped", 0, 1),
            ("error", 0, MANY),
            ("failure", 0, MANY),
            ("system-out", 0, MANY),
            ("system-err", 0, MANY),
        ],
        text: false,
    },
    text_element("failure", FAULT),
    text_element("error", FAULT),
    text_element("skipped", &[("message", false, Value::Text)]),
    Rule {
        name: "properties",
        attributes: &[],
        children: &[("property", 0, MANY)],
        text: false,
    },
    Rule {
        name: "property",
        attributes: &[("name", true, Value::Text), ("value", true, Value::Text)],
        children: &[],
        text: false,
    },
    text_element("system-out", &[]),
    text_element("system-err", &[]),
];

/// The attributes `failure` and `error` share.
const FAULT: &[(&str, bool, Value)] = &[
    ("type", false, Value::Text),
    ("message", false, Value::Text),
];

/// An element of text only (a message, or output), without children.
const fn text_element(
    name: &'static str,
    attributes: &'static [(&'static str, bool, Value)],
) -> Rule {
    Rule {
        name,
        attributes,
        children: &[],
        text: true,
    }
}

fn value_fits(value: Value, text: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match value {
        Value::Text => true,
        Value::Count => digits(text),
        Value::Seconds => match text.split_once('.') {
            Some((whole, frac)) => {
                digits(whole) && (frac.is_empty() || digits(frac)) && frac.len() <= 3
            }
            None => digits(text),
        },
        Value::Timestamp => {
            let b = text.as_bytes();
            b.len() == 19
                && b.iter().enumerate().all(|(i, c)| match i {
                    4 | 7 => *c == b'-',
                    10 => *c == b'T',
                    13 | 16 => *c == b':',
                    _ => c.is_ascii_digit(),
                })
        }
    }
}

/// Checks one element and everything under it against [`SCHEMA`].
fn check_element(node: roxmltree::Node<'_, '_>, path: &str) -> Result<(), String> {
    let name = node.tag_name().name();
    let path = format!("{path}/{name}");
    if node.tag_name().namespace().is_some() {
        return Err(format!("{path}: the schema has no namespace"));
    }
    let rule = SCHEMA
        .iter()
        .find(|r| r.name == name)
        .ok_or_else(|| format!("{path}: no such element in the schema"))?;
    for attr in node.attributes() {
        let (_, _, value) = rule
            .attributes
            .iter()
            .find(|(n, _, _)| *n == attr.name())
            .ok_or_else(|| format!("{path}: attribute {:?} is not in the schema", attr.name()))?;
        if !value_fits(*value, attr.value()) {
            return Err(format!(
                "{path}: {}={:?} is not a {value:?}",
                attr.name(),
                attr.value()
            ));
        }
    }
    for (attr, required, _) in rule.attributes {
        if *required && node.attribute(*attr).is_none() {
            return Err(format!("{path}: required attribute {attr:?} is missing"));
        }
    }
    // The children, matched against the sequence in order.
    let mut step = 0;
    let mut count = 0;
    for child in node.children() {
        if child.is_text() {
            if !rule.text && !child.text().unwrap_or_default().trim().is_empty() {
                return Err(format!("{path}: text is not allowed here"));
            }
            continue;
        }
        if !child.is_element() {
            continue;
        }
        let child_name = child.tag_name().name();
        loop {
            let Some((expected, min, max)) = rule.children.get(step) else {
                return Err(format!("{path}: <{child_name}> is not allowed here"));
            };
            if *expected == child_name {
                count += 1;
                if count > *max {
                    return Err(format!("{path}: too many <{child_name}>"));
                }
                break;
            }
            if count < *min {
                return Err(format!("{path}: <{expected}> is missing"));
            }
            step += 1;
            count = 0;
        }
        check_element(child, &path)?;
    }
    for (expected, min, _) in rule.children.iter().skip(step) {
        let have = if rule
            .children
            .get(step)
            .is_some_and(|(n, _, _)| n == expected)
        {
            count
        } else {
            0
        };
        if have < *min {
            return Err(format!("{path}: <{expected}> is missing"));
        }
    }
    Ok(())
}

fn count_attr(node: roxmltree::Node<'_, '_>, name: &str) -> usize {
    node.attribute(name)
        .map_or(0, |v| v.parse().unwrap_or(usize::MAX))
}

/// Well-formed XML, valid against [`SCHEMA`], and counts that add up. devlic writes one
/// `testsuites` root holding one `testsuite`.
fn check_junit(xml: &str) -> Result<(), String> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| format!("not well-formed XML: {e}"))?;
    let root = doc.root_element();
    if root.tag_name().name() != "testsuites" {
        return Err(format!("the root is <{}>", root.tag_name().name()));
    }
    check_element(root, "")?;
    let mut totals = [0usize; 3];
    for suite in root.children().filter(|n| n.has_tag_name("testsuite")) {
        let cases: Vec<_> = suite
            .children()
            .filter(|n| n.has_tag_name("testcase"))
            .collect();
        let with = |tag: &str| {
            cases
                .iter()
                .filter(|c| c.children().any(|n| n.has_tag_name(tag)))
                .count()
        };
        let counted = [cases.len(), with("failure"), with("error")];
        for (i, attr) in ["tests", "failures", "errors"].iter().enumerate() {
            if suite.attribute(*attr).is_none() {
                return Err(format!("testsuite: {attr} is missing (consumers need it)"));
            }
            if count_attr(suite, attr) != counted[i] {
                return Err(format!("testsuite: {attr} is not {}", counted[i]));
            }
            totals[i] += counted[i];
        }
        if count_attr(suite, "skipped") != with("skipped") {
            return Err("testsuite: skipped does not match".to_owned());
        }
        if suite.attribute("time").is_none() {
            return Err("testsuite: time is missing".to_owned());
        }
        if let Some(case) = cases.iter().find(|c| c.attribute("time").is_none()) {
            return Err(format!(
                "testcase {:?}: time is missing",
                case.attribute("name")
            ));
        }
    }
    for (i, attr) in ["tests", "failures", "errors"].iter().enumerate() {
        if count_attr(root, attr) != totals[i] {
            return Err(format!("testsuites: {attr} is not {}", totals[i]));
        }
    }
    Ok(())
}

/// `report`'s JUnit document, after checking it against [`SCHEMA`] and the counts (a test
/// fails with the document when it does not fit).
fn fitting_junit(report: &RunReport) -> String {
    let xml = report.to_junit();
    check_junit(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    xml
}

fn options() -> devlic_applier::ApplyOptions {
    devlic_applier::ApplyOptions {
        poll_interval: Duration::from_millis(20),
        verify_timeout: Duration::from_secs(10),
        ..devlic_applier::ApplyOptions::default()
    }
}

fn stopped(reason: StopReason, message: &str) -> Stopped {
    Stopped {
        reason,
        message: message.to_owned(),
        stale_groups: Vec::new(),
    }
}

/// `(failures, errors, skipped)` of the one suite.
fn tallies(xml: &str) -> (usize, usize, usize) {
    let doc = roxmltree::Document::parse(xml).unwrap();
    let suite = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    (
        count_attr(suite, "failures"),
        count_attr(suite, "errors"),
        count_attr(suite, "skipped"),
    )
}

#[tokio::test]
async fn junit_of_every_kind_of_run_fits_the_schema() {
    // Applied and verified.
    let env = start(&contoso_with_room(), Faults::default()).await;
    let spec = example_spec("examples/contoso");
    let p = plan(&env, &spec).await;
    let clean = apply(&p, &env.backend, &options(), &()).await.unwrap();
    assert!(clean.success);
    let xml = fitting_junit(&clean);
    assert_eq!(tallies(&xml), (0, 0, 0));
    assert_eq!(xml.matches("<testcase ").count(), p.actions.len() + 1);

    // Written, but verification found devices without a license.
    let env = start(&contoso(), Faults::default()).await;
    let p = plan(&env, &spec).await;
    // The admin passed the revocation and shortfall guards of the short Contoso plan.
    let passed = devlic_applier::ApplyOptions {
        allow_revoke: true,
        allow_shortfall: true,
        ..options()
    };
    let short = apply(&p, &env.backend, &passed, &()).await.unwrap();
    assert!(!short.success);
    let xml = fitting_junit(&short);
    assert_eq!(tallies(&xml), (1, 0, 0));

    // Stopped by a guard: the stop fails, every action is skipped.
    let mut guarded = p.clone();
    guarded
        .guard_violations
        .push(GuardViolation::MaxRevocations {
            revocations: 1,
            max: 0,
        });
    let err = apply(&guarded, &env.backend, &options(), &())
        .await
        .unwrap_err();
    assert!(matches!(err, ApplyError::GuardRefused(_)), "{err:?}");
    let report = RunReport::stopped(
        String::new(),
        Backend::GroupLicensing,
        Some(&guarded),
        jiff::Timestamp::now(),
        Duration::from_millis(1234),
        stopped(StopReason::GuardRefused, &err.to_string()),
    );
    assert!(
        report
            .actions
            .iter()
            .all(|a| a.outcome == ActionOutcome::NotWritten)
    );
    assert_eq!(report.tenant, guarded.tenant.id);
    let xml = fitting_junit(&report);
    assert_eq!(tallies(&xml), (1, 0, p.actions.len()));
    assert!(xml.contains("time=\"1.234\""), "{xml}");

    // A stale plan names the groups that moved.
    let mut stale = stopped(
        StopReason::StalePlan,
        "the plan is stale: 1 group(s) changed",
    );
    stale.stale_groups = vec![devlic_applier::StaleGroup {
        group: p.actions[0].group.clone(),
        planned_before: p.actions[0].before.clone(),
        planned_after: p.actions[0].expected_after(),
        found: None,
    }];
    let report = RunReport::stopped(
        String::new(),
        Backend::GroupLicensing,
        Some(&p),
        jiff::Timestamp::now(),
        Duration::ZERO,
        stale,
    );
    let xml = fitting_junit(&report);
    assert!(xml.contains(&p.actions[0].group.display_name), "{xml}");
    assert!(report.to_json().contains("\"staleGroups\""));

    // Sign-in failed before there was a plan: one error, nothing skipped.
    let report = RunReport::stopped(
        "contoso.onmicrosoft.com".to_owned(),
        Backend::GroupLicensing,
        None,
        jiff::Timestamp::now(),
        Duration::from_millis(5),
        stopped(
            StopReason::Failed,
            "reading the tenant failed: could not get a Graph access token: invalid_client",
        ),
    );
    let xml = fitting_junit(&report);
    assert_eq!(tallies(&xml), (0, 1, 0));
    assert!(report.to_markdown().contains("nothing was written"));
}

/// Names and messages with markup and control characters stay attribute text.
#[test]
fn junit_with_hostile_strings_fits_the_schema() {
    const HOSTILE: &str = "\u{1b}[2J\r\"/><testcase name=\"x\"/></testsuite>&amp;\u{0}<![CDATA[";
    let group = GroupId::parse("1a2b3c4d-0002-4a5b-8c6d-000000000002").unwrap();
    let sku = SkuRef {
        sku_id: SkuId::parse("ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7").unwrap(),
        sku_part_number: format!("SKU{HOSTILE}"),
    };
    let mut failed = ActionReport {
        action: ActionKind::Assign,
        group: GroupRef {
            id: group,
            display_name: format!("Group{HOSTILE}"),
        },
        sku,
        from_sku: None,
        moved: None,
        devices: Some(3),
        outcome: ActionOutcome::Failed,
        attempts: 1,
        request_ids: Vec::new(),
        duration_ms: 7,
        error: Some(format!("Graph said {HOSTILE}")),
        note: None,
    };
    let report = RunReport {
        format_version: devlic_applier::REPORT_FORMAT_VERSION,
        tenant: format!("t{HOSTILE}"),
        backend: Backend::GroupLicensing,
        started_at: jiff::Timestamp::UNIX_EPOCH,
        duration_ms: 12,
        actions: vec![failed.clone()],
        verification: Some(Verification {
            pending_groups: vec![group],
            license_errors: vec![GroupErrors {
                group,
                members: vec![LicenseErrorMember {
                    id: "d1".to_owned(),
                    kind: "device".to_owned(),
                    display_name: None,
                    error: Some(format!("Code{HOSTILE}")),
                }],
            }],
            read_error: None,
            usage_rights: None,
            vanished_groups: vec![group],
            unknown_states: Vec::new(),
            duration_ms: 4,
        }),
        unlicensed: vec![devlic_model::Unlicensed {
            group: devlic_model::GroupRef {
                id: group,
                display_name: format!("Unlicensed {HOSTILE}"),
            },
            sku: None,
            devices: 6,
            causes: vec![devlic_model::CauseCount {
                code: "CountViolation".to_owned(),
                devices: 6,
                inferred: true,
            }],
        }],
        success: false,
        stopped: None,
        // The write phase becomes the suite's properties, which the schema puts first.
        writes: Some(WritePhase {
            duration_ms: 1_250,
            sent: 3,
            accepted: 1,
            throttled: 1,
            unanswered: 1,
        }),
    };
    let xml = fitting_junit(&report);
    // The failed action, verification, and the still-unlicensed group.
    assert_eq!(tallies(&xml), (3, 0, 0));
    assert!(
        xml.contains("<property name=\"devlic.writes.perSecond\" value=\"0.8\"/>")
            && xml.contains("<property name=\"devlic.writes.seconds\" value=\"1.250\"/>")
            && xml.contains("<property name=\"devlic.writes.unanswered\" value=\"1\"/>"),
        "{xml}"
    );
    assert!(xml.contains("timestamp=\"1970-01-01T00:00:00\""), "{xml}");

    failed.outcome = ActionOutcome::NotWritten;
    failed.error = None;
    let report = RunReport {
        actions: vec![failed],
        verification: None,
        // A run that stopped before writing checked nothing about devices.
        unlicensed: Vec::new(),
        stopped: Some(stopped(
            StopReason::Failed,
            &format!("line one {HOSTILE}\nline two"),
        )),
        writes: None,
        ..report
    };
    let xml = fitting_junit(&report);
    assert_eq!(tallies(&xml), (0, 1, 1));
}

/// The check itself: each document breaks one rule of the schema or of the counts.
#[test]
fn the_schema_check_rejects_what_the_schema_rejects() {
    let ok = "<testsuites tests=\"1\" failures=\"0\" errors=\"0\" time=\"0.5\"><testsuite name=\"s\" tests=\"1\" failures=\"0\" errors=\"0\" skipped=\"0\" time=\"0.5\"><testcase name=\"c\" time=\"0.5\"/></testsuite></testsuites>";
    check_junit(ok).unwrap();
    let bad = [
        ("not XML", "<testsuites><testsuite></testsuites>"),
        ("root", "<testsuite name=\"s\" tests=\"0\"/>"),
        (
            "unknown attribute",
            "<testsuites skipped=\"0\" tests=\"0\" failures=\"0\" errors=\"0\"/>",
        ),
        (
            "required name",
            "<testsuites tests=\"0\" failures=\"0\" errors=\"0\"><testsuite tests=\"0\" failures=\"0\" errors=\"0\" time=\"0\"/></testsuites>",
        ),
        (
            "errors missing",
            "<testsuites tests=\"0\" failures=\"0\" errors=\"0\"><testsuite name=\"s\" tests=\"0\" failures=\"0\" time=\"0\"/></testsuites>",
        ),
        (
            "testcase time missing",
            "<testsuites tests=\"1\" failures=\"0\" errors=\"0\"><testsuite name=\"s\" tests=\"1\" failures=\"0\" errors=\"0\" time=\"0\"><testcase name=\"c\"/></testsuite></testsuites>",
        ),
        (
            "time not decimal",
            "<testsuites tests=\"0\" failures=\"0\" errors=\"0\"><testsuite name=\"s\" tests=\"0\" failures=\"0\" errors=\"0\" time=\"1s\"/></testsuites>",
        ),
        (
            "timestamp with zone",
            "<testsuites tests=\"0\" failures=\"0\" errors=\"0\"><testsuite name=\"s\" tests=\"0\" failures=\"0\" errors=\"0\" time=\"0\" timestamp=\"2026-01-01T00:00:00Z\"/></testsuites>",
        ),
        (
            "failure outside a testcase",
            "<testsuites tests=\"0\" failures=\"0\" errors=\"0\"><testsuite name=\"s\" tests=\"0\" failures=\"0\" errors=\"0\" time=\"0\"><failure/></testsuite></testsuites>",
        ),
        (
            "skipped after failure",
            "<testsuites tests=\"1\" failures=\"1\" errors=\"0\"><testsuite name=\"s\" tests=\"1\" failures=\"1\" errors=\"0\" skipped=\"1\" time=\"0\"><testcase name=\"c\" time=\"0\"><failure/><skipped/></testcase></testsuite></testsuites>",
        ),
        (
            "two skipped",
            "<testsuites tests=\"1\" failures=\"0\" errors=\"0\"><testsuite name=\"s\" tests=\"1\" failures=\"0\" errors=\"0\" skipped=\"1\" time=\"0\"><testcase name=\"c\" time=\"0\"><skipped/><skipped/></testcase></testsuite></testsuites>",
        ),
        (
            "text in a testcase",
            "<testsuites tests=\"1\" failures=\"0\" errors=\"0\"><testsuite name=\"s\" tests=\"1\" failures=\"0\" errors=\"0\" time=\"0\"><testcase name=\"c\" time=\"0\">oops</testcase></testsuite></testsuites>",
        ),
        (
            "tests miscounted",
            "<testsuites tests=\"2\" failures=\"0\" errors=\"0\"><testsuite name=\"s\" tests=\"2\" failures=\"0\" errors=\"0\" time=\"0\"><testcase name=\"c\" time=\"0\"/></testsuite></testsuites>",
        ),
        (
            "failures miscounted",
            "<testsuites tests=\"1\" failures=\"0\" errors=\"0\"><testsuite name=\"s\" tests=\"1\" failures=\"0\" errors=\"0\" time=\"0\"><testcase name=\"c\" time=\"0\"><failure/></testcase></testsuite></testsuites>",
        ),
        (
            "totals miscounted",
            "<testsuites tests=\"0\" failures=\"0\" errors=\"0\"><testsuite name=\"s\" tests=\"1\" failures=\"0\" errors=\"0\" time=\"0\"><testcase name=\"c\" time=\"0\"/></testsuite></testsuites>",
        ),
        (
            "namespace",
            "<testsuites xmlns=\"urn:x\" tests=\"0\" failures=\"0\" errors=\"0\"/>",
        ),
    ];
    for (why, xml) in bad {
        assert!(check_junit(xml).is_err(), "accepted ({why}): {xml}");
    }
}
