//! Shared domain types of devlic.
//!
//! Brief overview:
//! - [`SkuId`], [`GroupId`], [`ServicePlanId`]: GUID newtypes so a group id is never passed where a
//!   SKU id is expected.
//! - [`LiveState`]: what the tenant looks like right now (read from Graph, or from a snapshot file).
//!   Plain data, no I/O.
//! - [`Plan`], [`Action`], [`Warning`]: what the planner decided. Plain data; the planner crate owns
//!   the versioned wire format (`PlanV1`) and the renderers.
//! - [`Fingerprint`]: a stable hash of the license state of one group, recorded in a saved plan so
//!   that `apply --plan` refuses to run when the tenant moved since planning.
//! - [`known_skus`]: the device SKUs devlic knows out of the box; [`product_names`]: the admin
//!   center's names for them and for the user SKUs they are confused with; [`suggest`]: the one
//!   "did you mean" rule for subscription and group names.
//! - [`display`]: the one place data strings are made safe to print (control characters
//!   escaped visibly, Markdown escaped), used by every renderer.
//!
//! Nothing in this crate does I/O, and nothing here can fail except parsing ids.

mod backend;
mod cloud;
pub mod display;
mod ids;
pub mod known_skus;
pub mod license_errors;
mod live;
mod plan;
pub mod product_names;
pub mod suggest;

pub use backend::{
    ALL_BACKENDS, AllotmentEvidence, Backend, BackendChoice, BackendSetting, Capabilities,
    CapacityPool, GraphApi, WriteProtocol,
};
pub use cloud::{Allotment, AllotmentAssignment, AllotmentRef};
pub use ids::{GroupId, IdParseError, ServicePlanId, SkuId};
pub use known_skus::{SkuSelector, is_device_sku};
pub use live::{
    AssignedLicense, CapabilityStatus, CaselessName, Group, GroupKind, LicenseErrorMember,
    LiveState, MemberCounts, PrepaidUnits, ProcessingState, ServicePlan, Sku, StateSource,
    TenantInfo,
};
pub use plan::{
    Action, ActionKind, CapacityLine, CauseCount, Fingerprint, GroupRef, GuardPasses,
    GuardSettings, GuardViolation, Plan, PlanSummary, Reason, SkuRef, Unlicensed, Warning,
    WarningKind, name_list,
};
pub use product_names::{product_name, sku_label};
