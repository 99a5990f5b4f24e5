//! The validated spec: what the planner consumes.
//!
//! These types are produced only by the loader after every syntactic and semantic check passed,
//! so the planner can trust them: groups are unique, GUIDs are GUIDs, aliases are resolved to
//! part numbers, and each group holds at most one subscription.

use std::fmt;

use devlic_model::{BackendSetting, GroupId, ServicePlanId};

/// A validated spec (one file, or a folder of files merged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// `tenant`: a tenant GUID or verified domain; `None` = not pinned.
    pub tenant: Option<String>,
    /// `settings`.
    pub settings: Settings,
    /// `assignments`, in file order (files sorted by path).
    pub assignments: Vec<Assignment>,
    /// The files the spec was loaded from, as given.
    pub files: Vec<String>,
}

/// `settings` of a spec, with defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Revoke managed device SKUs from groups the spec does not list. Default false.
    pub prune: bool,
    /// More revocations than this need `--allow-revoke`. Default 0.
    pub max_revocations: u64,
    /// Revocations touching more than this percentage of all device-licensed devices need
    /// `--allow-revoke`. Default 25.
    pub max_revoke_percent: u8,
    /// Allow an empty `assignments` list together with `prune: true`. Default false.
    pub allow_empty: bool,
    /// Apply a plan that leaves a device subscription short without `--allow-shortfall`.
    /// Default false.
    pub allow_shortfall: bool,
    /// What a plan does when one device subscription is assigned to several groups. Default
    /// [`OneGroupPerSubscription::Warn`].
    pub one_group_per_subscription: OneGroupPerSubscription,
    /// Extra device SKUs beyond the ones devlic knows.
    pub device_skus: Vec<SkuSelector>,
    /// Which API carries the assignments, or `Auto` (the default): choose from the tenant.
    pub backend: BackendSetting,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            prune: false,
            max_revocations: 0,
            max_revoke_percent: 25,
            allow_empty: false,
            allow_shortfall: false,
            one_group_per_subscription: OneGroupPerSubscription::Warn,
            device_skus: Vec::new(),
            backend: BackendSetting::Auto,
        }
    }
}

/// One entry of `assignments`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The group.
    pub group: GroupSelector,
    /// The device subscription. Required for `state: present`; for `state: absent`, `None` means
    /// "whatever device SKU the group holds".
    pub subscription: Option<SkuSelector>,
    /// cloud-licensing only: the allotment (id, or subscription id) when a SKU has several.
    pub allotment: Option<String>,
    /// Service plans to disable.
    pub disabled_plans: Vec<PlanSelector>,
    /// Present (default) or absent.
    pub state: DesiredState,
    /// Free text for reviewers.
    pub description: Option<String>,
    /// Where the entry is written.
    pub origin: Origin,
}

/// How a spec names a group.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GroupSelector {
    /// By display name (must resolve to exactly one group).
    Name(String),
    /// By object id.
    Id(GroupId),
}

impl fmt::Display for GroupSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupSelector::Name(n) => write!(f, "\"{n}\""),
            GroupSelector::Id(id) => write!(f, "{{id: {id}}}"),
        }
    }
}

/// How a spec names a SKU (aliases are already resolved to part numbers): the model's one
/// selector type, shared with the Graph reads.
pub use devlic_model::SkuSelector;

/// How a spec names a service plan in `disabledPlans`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PlanSelector {
    /// By `servicePlanId`.
    Id(ServicePlanId),
    /// By `servicePlanName` (compared case-insensitively).
    Name(String),
}

impl fmt::Display for PlanSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanSelector::Id(id) => write!(f, "{id}"),
            PlanSelector::Name(n) => f.write_str(n),
        }
    }
}

/// `settings.oneGroupPerSubscription`: Microsoft's device-based licensing docs allow one group
/// per device subscription (nest the others in it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OneGroupPerSubscription {
    /// The plan warns and suggests nesting (default).
    #[default]
    Warn,
    /// The plan fails with an error per extra group.
    Error,
    /// No check.
    Off,
}

/// `state` of an assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DesiredState {
    /// The group holds the subscription.
    #[default]
    Present,
    /// The group holds no device subscription (explicit revoke, even with `prune: false`).
    Absent,
}

/// A location in a spec file (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin {
    /// The file, as given on the command line (or joined with the folder given).
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}
