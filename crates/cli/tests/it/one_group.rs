//! `settings.oneGroupPerSubscription`: Microsoft's device-based licensing docs allow one group
//! per device subscription; the plan warns by default and refuses with `error`.

use crate::sim::{TestSim, s, write_spec};

const TWO_LABS: &str = "apiVersion: devlic/v1\nkind: DeviceLicenses\nsettings:\n  \
oneGroupPerSubscription: SETTING\nassignments:\n  - group: \"Lab - Art Room\"\n    \
subscription: OFFICE_PROPLUS_DEVICE_EDUCATION\n  - group: \"Lab - Music\"\n    \
subscription: OFFICE_PROPLUS_DEVICE_EDUCATION\n";

#[test]
fn a_subscription_given_to_two_groups_warns_by_default_and_is_an_error_on_request() {
    let sim = TestSim::start("northwind");
    let dir = tempfile::tempdir().unwrap();

    let warn = write_spec(
        dir.path(),
        "warn.yaml",
        &TWO_LABS.replace("SETTING", "warn"),
    );
    let r = sim.run(&["plan", s(&warn)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(
            "[subscription in several groups] OFFICE_PROPLUS_DEVICE_EDUCATION is assigned to 2 \
             groups (\"Lab - Art Room\", \"Lab - Music\")"
        ),
        "{}",
        r.stdout
    );
    // The simulator's tenant offers device allotments: auto plans for cloud-licensing, where
    // nesting the groups in one is the documented fix.
    assert!(
        r.stdout.contains("nest the others in one group"),
        "{}",
        r.stdout
    );

    let error = write_spec(
        dir.path(),
        "error.yaml",
        &TWO_LABS.replace("SETTING", "error"),
    );
    let r = sim.run(&["plan", s(&error)]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(
            "error.yaml:8:5: error: OFFICE_PROPLUS_DEVICE_EDUCATION is already assigned to \"Lab - \
             Art Room\"; a device subscription can be assigned to only one group"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(sim.stats().writes, 0);

    let off = write_spec(dir.path(), "off.yaml", &TWO_LABS.replace("SETTING", "off"));
    let r = sim.run(&["plan", s(&off)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stdout.contains("several groups"), "{}", r.stdout);
}
