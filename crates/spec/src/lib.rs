//! The desired state of devlic (being written: see `model` for the validated types).

mod model;

pub use model::{
    Assignment, DesiredState, GroupSelector, Origin, PlanSelector, Settings, SkuSelector, Spec,
};
