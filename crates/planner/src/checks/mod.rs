//! Everything the planner derives after the actions: capacity arithmetic, the license-loss and
//! shortfall guards, the groups whose devices are not licensed, and the warnings.
//!
//! Each concern has its own module; every function here is pure.

mod capacity;
mod guards;
pub(crate) mod one_group;
mod unlicensed;
mod warnings;

use devlic_model::{Group, GroupRef};

pub(crate) use capacity::capacity;
pub(crate) use guards::guards;
pub use guards::{LicenseLoss, LossCause, license_losses};
pub(crate) use unlicensed::unlicensed;
pub(crate) use warnings::warnings;

pub(crate) fn gref(g: &Group) -> GroupRef {
    GroupRef {
        id: g.id,
        display_name: g.display_name.clone(),
    }
}

pub(crate) fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
