//! Integration tests of devlic-planner (one test binary, one module per concern).

// A test may panic on a broken setup, in its helpers too (clippy.toml exempts only #[test]
// functions and #[cfg(test)] modules).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod allotments;
mod backend_choice;
mod errors;
mod fixtures;
mod guards;
mod license_loss;
mod moves;
mod northwind;
mod props;
mod render;
mod rules;
mod snapshot_format;
mod snapshots;
mod warnings;
mod wire;

use devlic_model::{LiveState, Plan};

/// What the tenant looks like once every action of `plan` has landed: each group's
/// `assignedLicenses` become the action's expected state (non-device licenses are kept).
pub fn apply(live: &mut LiveState, plan: &Plan) {
    for a in &plan.actions {
        if let Some(g) = live.groups.get_mut(&a.group.id) {
            g.assigned_licenses = a.expected_after();
        }
    }
}
