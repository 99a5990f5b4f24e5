//! The licensing APIs devlic can write through, and what each can do.
//!
//! Everything that differs between backends is a field of [`Capabilities`], so the planner, the
//! applier, the renderers and the CLI ask "does this backend write in two steps?" instead of
//! "is this cloud-licensing?". A new backend is a new [`Backend`] variant, one arm in
//! [`Backend::capabilities`] and one module in the applier.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Which Graph API carries the license assignments.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// Graph v1.0 `groups/{id}/assignLicense` (default).
    #[default]
    GroupLicensing,
    /// Graph beta `admin/cloudLicensing` allotments and group assignments.
    CloudLicensing,
}

/// How a spec picks its backend (`settings.backend`, `--backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BackendSetting {
    /// Read the tenant's evidence (its cloudLicensing allotments) and choose (default).
    #[default]
    Auto,
    /// This backend, whatever the tenant exposes.
    Fixed(Backend),
}

impl BackendSetting {
    /// The fixed backend, `None` for [`BackendSetting::Auto`].
    pub const fn fixed(self) -> Option<Backend> {
        match self {
            BackendSetting::Auto => None,
            BackendSetting::Fixed(b) => Some(b),
        }
    }
}

/// The backend a plan goes through, and why: recorded in live states (and so in snapshots) and
/// in plans, so an offline plan gives the same answer and a reviewer sees the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackendChoice {
    /// The backend.
    pub backend: Backend,
    /// One sentence for people: the setting that fixed it, or the tenant's evidence.
    pub reason: String,
    /// True when devlic chose from the tenant's evidence (`settings.backend: auto`), false when
    /// the spec or `--backend` fixed it.
    #[serde(default)]
    pub automatic: bool,
}

/// What the tenant showed when devlic looked for cloudLicensing allotments (the one probe
/// request of `settings.backend: auto`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllotmentEvidence {
    /// `GET /beta/admin/cloudLicensing/allotments` answered with these allotments (maybe none).
    Listed(Vec<crate::Allotment>),
    /// It answered 403 or 404: the API is not there for this tenant or this identity.
    Unavailable {
        /// The HTTP status.
        status: u16,
        /// Graph's error code, when it sent one (e.g. `Authorization_RequestDenied`).
        code: Option<String>,
    },
}

/// Every backend, in the order they are listed to people.
pub const ALL_BACKENDS: [Backend; 2] = [Backend::GroupLicensing, Backend::CloudLicensing];

/// How one group's change reaches Graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteProtocol {
    /// One call adds the new subscription and removes the old one together
    /// (`assignLicense`): a swap never leaves devices unlicensed, and a group holding both
    /// subscriptions can only be someone else's doing.
    OneCall,
    /// A change is a create of the new assignment, then a delete of the old one. The applier
    /// relies on the order (devices keep the apps in between) and treats "holds both" as an
    /// unfinished swap to resume.
    CreateThenDelete,
}

/// Where the units a write consumes come from, for the capacity arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapacityPool {
    /// The tenant-wide `subscribedSku` (`prepaidUnits.enabled` − `consumedUnits`).
    Subscription,
    /// One allotment of the subscription (`allottedUnits` − `consumedUnits`): every present
    /// spec entry needs exactly one allotment.
    Allotment,
}

/// The Graph API version a backend's routes live in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphApi {
    /// `https://graph.microsoft.com/v1.0`.
    V1,
    /// `https://graph.microsoft.com/beta` (preview: Microsoft may change it).
    Beta,
}

/// What a backend can do, as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// How a change is written.
    pub write_protocol: WriteProtocol,
    /// Whether the `disabledPlans` of a subscription a group already holds can be changed in
    /// place (an `update` action).
    pub updates_disabled_plans: bool,
    /// Where units come from.
    pub capacity_pool: CapacityPool,
    /// The API version its routes are in.
    pub api: GraphApi,
    /// Whether a group's subscription reaches the devices of the groups nested in it (and so
    /// whether nesting is a way to put more devices under one assignment).
    pub licenses_nested_members: bool,
}

impl Backend {
    /// What this backend can do.
    pub const fn capabilities(self) -> Capabilities {
        match self {
            Backend::GroupLicensing => Capabilities {
                write_protocol: WriteProtocol::OneCall,
                updates_disabled_plans: true,
                capacity_pool: CapacityPool::Subscription,
                api: GraphApi::V1,
                // MicrosoftDocs/entra-docs docs/identity/users/licensing-group-advanced.md,
                // "Limitations and known issues": group-based licensing does not support nested
                // groups; only the group's first-level members get its licenses.
                licenses_nested_members: false,
            },
            Backend::CloudLicensing => Capabilities {
                write_protocol: WriteProtocol::CreateThenDelete,
                // PATCH /groups/{id}/cloudLicensing/assignments/{id} with disabledServicePlanIds
                // (api-reference/beta/api/cloudlicensing-assignment-update.md).
                updates_disabled_plans: true,
                capacity_pool: CapacityPool::Allotment,
                api: GraphApi::Beta,
                // MicrosoftDocs/OfficeDocs-DeployOffice DeployOffice/device-based-licensing.md:
                // device licenses go to one group, and groups can be nested within that group.
                licenses_nested_members: true,
            },
        }
    }

    /// The name used in specs, flags and files.
    pub const fn name(self) -> &'static str {
        match self {
            Backend::GroupLicensing => "group-licensing",
            Backend::CloudLicensing => "cloud-licensing",
        }
    }

    /// Whether licenses come from allotments (so spec entries name or resolve one).
    pub const fn uses_allotments(self) -> bool {
        matches!(self.capabilities().capacity_pool, CapacityPool::Allotment)
    }

    /// Whether the devices of nested groups are licensed through the group that holds the
    /// subscription.
    pub const fn licenses_nested_members(self) -> bool {
        self.capabilities().licenses_nested_members
    }

    /// Whether a change is two calls, create then delete.
    pub const fn writes_in_two_steps(self) -> bool {
        matches!(
            self.capabilities().write_protocol,
            WriteProtocol::CreateThenDelete
        )
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_table() {
        let g = Backend::GroupLicensing.capabilities();
        assert_eq!(g.write_protocol, WriteProtocol::OneCall);
        assert!(g.updates_disabled_plans);
        assert_eq!(g.capacity_pool, CapacityPool::Subscription);
        assert_eq!(g.api, GraphApi::V1);
        let c = Backend::CloudLicensing.capabilities();
        assert_eq!(c.write_protocol, WriteProtocol::CreateThenDelete);
        assert_eq!(c.capacity_pool, CapacityPool::Allotment);
        assert_eq!(c.api, GraphApi::Beta);
        assert!(c.updates_disabled_plans);
        assert!(Backend::CloudLicensing.uses_allotments());
        assert!(!Backend::GroupLicensing.uses_allotments());
        assert!(Backend::CloudLicensing.writes_in_two_steps());
        assert!(!g.licenses_nested_members);
        assert!(c.licenses_nested_members);
        assert!(Backend::CloudLicensing.licenses_nested_members());
    }

    #[test]
    fn names_round_trip_through_serde() {
        for b in ALL_BACKENDS {
            let json = serde_json::to_string(&b).unwrap();
            assert_eq!(json, format!("\"{}\"", b.name()));
            assert_eq!(serde_json::from_str::<Backend>(&json).unwrap(), b);
        }
    }
}
