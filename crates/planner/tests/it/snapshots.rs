//! insta snapshots of all three formats for the shared scenarios.

use devlic_model::{Backend, StateSource};
use devlic_planner::plan;
use devlic_planner::render::{self, TextOptions};
use devlic_spec::{GroupSelector, Settings};

use crate::fixtures::*;

fn all_formats(name: &str, p: &devlic_model::Plan) {
    insta::assert_snapshot!(
        format!("{name}_text"),
        render::text(p, &TextOptions { color: false })
    );
    insta::assert_snapshot!(format!("{name}_markdown"), render::markdown(p));
    insta::assert_snapshot!(format!("{name}_json"), render::json(p));
}

#[test]
fn contoso() {
    all_formats(
        "contoso",
        &plan(&contoso_spec(), &contoso_live()).expect("plan"),
    );
}

#[test]
fn no_change() {
    all_formats(
        "no_change",
        &plan(&contoso_spec(), &contoso_converged()).expect("plan"),
    );
}

#[test]
fn offline() {
    let mut live = contoso_live();
    live.source = StateSource::Snapshot {
        graph_url: "https://graph.microsoft.com".to_owned(),
    };
    all_formats("offline", &plan(&contoso_spec(), &live).expect("plan"));
}

/// The Contoso spec on `settings.backend: cloud-licensing`, against Contoso's allotments: every
/// action names its allotment, capacity is per allotment, and the swap says create-then-delete.
#[test]
fn cloud_licensing() {
    let mut s = contoso_spec();
    s.settings.backend = devlic_model::BackendSetting::Fixed(Backend::CloudLicensing);
    all_formats(
        "cloud_licensing",
        &plan(&s, &crate::allotments::live_with(None)).expect("plan"),
    );
}

#[test]
fn guard_violations() {
    let mut s = contoso_spec();
    s.settings = Settings {
        prune: true,
        max_revocations: 0,
        ..Settings::default()
    };
    // Update too, so every symbol shows up.
    s.assignments[0] = with_disabled(s.assignments[0].clone(), &["EXTRA_PLAN"]);
    all_formats(
        "guard_violations",
        &plan(&s, &contoso_live()).expect("plan"),
    );
}

#[test]
fn errors() {
    let mut s = contoso_spec();
    s.tenant = Some("fabrikam.onmicrosoft.com".to_owned());
    s.assignments.push(present(
        by_name("Kiosks - Lobby"),
        part("OFFICE_PROPLUS_DEVICE1"),
        40,
    ));
    s.assignments
        .push(present(by_name("All Staff"), part("SPE_E3"), 44));
    // A near miss of "Kiosks - Front Desk": case, dashes and one letter.
    s.assignments.push(present(
        by_name("kiosk front-desk"),
        part("OFFICE_PROPLUS_DEVICE1"),
        46,
    ));
    s.assignments
        .push(present(GroupSelector::Id(cg(1)), part("VISIOCLIENT"), 48));
    s.assignments.push(with_disabled(
        present(
            by_name("Conference Room Displays"),
            part("OFFICE_PROPLUS_DEVICE1"),
            52,
        ),
        &["TEAMS1"],
    ));
    let errors = plan(&s, &contoso_live()).expect_err("errors");
    insta::assert_snapshot!("errors", errors.to_string());
}
