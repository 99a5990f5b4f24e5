//! The tenant file: an in-memory Entra ID tenant described with Graph's own property names.
//!
//! The file is the simulator's whole world: organization (id, domains), subscribed SKUs, groups
//! with their members and license assignments, devices and users, and the federated credentials
//! the token endpoint accepts. Loading validates references so a broken fixture fails at start-up
//! with a message naming the bad id, not later with a confusing Graph answer.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::applications::Application;

/// A whole tenant, as stored in a tenant JSON file (camelCase, Graph's property names).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Tenant {
    /// Free text for humans reading the fixture; never served.
    #[serde(rename = "_comment", default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The tenant id (a GUID), served as `organization.id`.
    pub id: String,
    /// The organization's display name.
    pub display_name: String,
    /// Verified domains; the token endpoint accepts any of them in place of the tenant id.
    pub verified_domains: Vec<VerifiedDomain>,
    /// Federated identity credentials of the one app registration the simulator knows.
    #[serde(default)]
    pub federated_credentials: Vec<FederatedCredential>,
    /// The tenant's subscriptions.
    pub subscribed_skus: Vec<SubscribedSku>,
    /// Groups, in the order listings return them.
    pub groups: Vec<Group>,
    /// Devices (members of groups).
    #[serde(default)]
    pub devices: Vec<Device>,
    /// Users (members of groups).
    #[serde(default)]
    pub users: Vec<User>,
    /// Beta `cloudLicensing` allotments. A SKU with none listed here gets one default allotment
    /// (see [`Tenant::effective_allotments`]), so every tenant file serves both views.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allotments: Vec<Allotment>,
    /// App registrations and their granted Graph permissions (see [`Application`]). Tokens carry
    /// them and every Graph route checks them; with none listed, the configured app's tokens
    /// hold no permission and Graph routes answer 403.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applications: Vec<Application>,
}

/// A `microsoft.graph.cloudLicensing.allotment`: a pool of licenses of one SKU.
///
/// Group assignments of the SKU listed in `assignedLicenses` draw from the SKU's first allotment
/// assignable to groups or devices; cloudLicensing writes name their allotment explicitly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Allotment {
    /// Free text for humans; never served.
    #[serde(rename = "_comment", default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The opaque id.
    pub id: String,
    /// The SKU (must be in `subscribedSkus`).
    pub sku_id: String,
    /// Licenses in the pool.
    pub allotted_units: i64,
    /// Licenses in use: on load it must cover the devices the groups license from this pool;
    /// the rest count as used by users and stay constant.
    pub consumed_units: i64,
    /// Comma-separated `none`, `user`, `group`, `device`.
    pub assignable_to: String,
    /// The subscriptions behind the pool.
    #[serde(default)]
    pub subscriptions: Vec<AllotmentSubscription>,
}

/// A `microsoft.graph.cloudLicensing.subscription`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AllotmentSubscription {
    /// The commerce subscription id.
    pub subscription_id: String,
    /// `active`, `warning`, `suspended`, `lockedOut` or `deleted`.
    #[serde(default = "default_active")]
    pub state: String,
    /// Start date (`YYYY-MM-DD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<String>,
    /// When the state changes next (`YYYY-MM-DD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_lifecycle_date: Option<String>,
    /// `none` or `trial`.
    #[serde(default = "default_tags")]
    pub tags: String,
}

fn default_active() -> String {
    "active".to_owned()
}
fn default_tags() -> String {
    "none".to_owned()
}

impl Tenant {
    /// The allotments the simulator serves: the file's, plus one default allotment for every
    /// SKU the file lists none for. A default allotment has id `default-{skuId}`, all of the
    /// SKU's `prepaidUnits.enabled + warning` units, its `consumedUnits`, one subscription per
    /// `subscriptionIds` entry, and `assignableTo` `group,device` for SKUs that apply to the
    /// `Company` (device SKUs) or `user,group` for user SKUs.
    pub fn effective_allotments(&self) -> Vec<Allotment> {
        let mut out = self.allotments.clone();
        for s in &self.subscribed_skus {
            if self.allotments.iter().any(|a| a.sku_id == s.sku_id) {
                continue;
            }
            out.push(Allotment {
                comment: None,
                id: format!("default-{}", s.sku_id),
                sku_id: s.sku_id.clone(),
                allotted_units: s.prepaid_units.enabled + s.prepaid_units.warning,
                consumed_units: s.consumed_units,
                assignable_to: if s.applies_to.eq_ignore_ascii_case("Company") {
                    "group,device".to_owned()
                } else {
                    "user,group".to_owned()
                },
                subscriptions: s
                    .subscription_ids
                    .iter()
                    .map(|id| AllotmentSubscription {
                        subscription_id: id.clone(),
                        state: default_active(),
                        start_date: None,
                        next_lifecycle_date: None,
                        tags: default_tags(),
                    })
                    .collect(),
            });
        }
        out
    }
}

/// One verified domain of the organization.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifiedDomain {
    /// The domain name, e.g. `contoso.onmicrosoft.com`.
    pub name: String,
    /// Whether this is the default domain.
    #[serde(default)]
    pub is_default: bool,
    /// Whether this is the initial `*.onmicrosoft.com` domain.
    #[serde(default)]
    pub is_initial: bool,
}

/// A federated identity credential: a token from `issuer` with exactly this `subject` and
/// `audience` may be exchanged for an access token (claims are checked, signatures are not).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FederatedCredential {
    /// A name for humans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The `iss` claim the external token must carry.
    pub issuer: String,
    /// The `sub` claim the external token must carry (exact match, as Entra does).
    pub subject: String,
    /// The `aud` value the external token must carry (usually `api://AzureADTokenExchange`).
    pub audience: String,
}

/// A subscribed SKU, Graph's `subscribedSku` shape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubscribedSku {
    /// Free text for humans (e.g. to mark a made-up id); never served.
    #[serde(rename = "_comment", default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The SKU's GUID.
    pub sku_id: String,
    /// The SKU's part number, e.g. `OFFICE_PROPLUS_DEVICE1`.
    pub sku_part_number: String,
    /// `User` or `Company`.
    #[serde(default = "default_applies_to")]
    pub applies_to: String,
    /// `Enabled`, `Warning`, `Suspended`, `Deleted` or `LockedOut`.
    #[serde(default = "default_capability")]
    pub capability_status: String,
    /// Units in use. On load it must cover the devices the groups license; the rest are
    /// treated as used by users and stay constant.
    pub consumed_units: i64,
    /// Purchased units by state.
    pub prepaid_units: PrepaidUnits,
    /// Service plans in the SKU.
    #[serde(default)]
    pub service_plans: Vec<ServicePlan>,
    /// Commerce subscription ids.
    #[serde(default)]
    pub subscription_ids: Vec<String>,
}

fn default_applies_to() -> String {
    "Company".to_owned()
}
fn default_capability() -> String {
    "Enabled".to_owned()
}

/// Graph's `licenseUnitsDetail`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrepaidUnits {
    /// Units that can be assigned.
    pub enabled: i64,
    /// Units suspended.
    #[serde(default)]
    pub suspended: i64,
    /// Units in warning (grace period).
    #[serde(default)]
    pub warning: i64,
    /// Units locked out.
    #[serde(default)]
    pub locked_out: i64,
}

/// Graph's `servicePlanInfo`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServicePlan {
    /// The plan's GUID.
    pub service_plan_id: String,
    /// The plan's name.
    pub service_plan_name: String,
    /// e.g. `Success`.
    #[serde(default = "default_success")]
    pub provisioning_status: String,
    /// `User` or `Company`.
    #[serde(default = "default_applies_to")]
    pub applies_to: String,
}

fn default_success() -> String {
    "Success".to_owned()
}

/// A group, with Graph's property names. `members` holds the ids of direct members (devices,
/// users or groups) in listing order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Group {
    /// Object id (GUID).
    pub id: String,
    /// Display name (not unique in Entra).
    pub display_name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Security group?
    pub security_enabled: bool,
    /// Mail-enabled?
    #[serde(default)]
    pub mail_enabled: bool,
    /// Mail nickname.
    #[serde(default)]
    pub mail_nickname: Option<String>,
    /// Mail address.
    #[serde(default)]
    pub mail: Option<String>,
    /// e.g. `["Unified"]`, `["DynamicMembership"]`.
    #[serde(default)]
    pub group_types: Vec<String>,
    /// Dynamic membership rule.
    #[serde(default)]
    pub membership_rule: Option<String>,
    /// `On` or `Paused` for dynamic groups.
    #[serde(default)]
    pub membership_rule_processing_state: Option<String>,
    /// Creation time (ISO 8601).
    #[serde(default)]
    pub created_date_time: Option<String>,
    /// Licenses assigned to the group.
    #[serde(default)]
    pub assigned_licenses: Vec<AssignedLicense>,
    /// Processing state of the last license change; written by [`crate::Sim::tenant_state`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_processing_state: Option<LicenseProcessingState>,
    /// Direct member ids in order.
    #[serde(default)]
    pub members: Vec<String>,
}

/// Graph's `assignedLicense`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssignedLicense {
    /// The SKU.
    pub sku_id: String,
    /// Service plans turned off.
    #[serde(default)]
    pub disabled_plans: Vec<String>,
    /// Tenant files only, never served: the allotment (by id) the group's license draws from,
    /// for tenants with several allotments of one SKU. Without it, the SKU's first allotment
    /// assignable to groups or devices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allotment_id: Option<String>,
}

/// Graph's `licenseProcessingState`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LicenseProcessingState {
    /// `QueuedForProcessing`, `ProcessingInProgress` or `ProcessingComplete`.
    pub state: String,
}

/// A device (the subset of Graph's `device` that licensing cares about).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Device {
    /// Object id (GUID).
    pub id: String,
    /// The device's own id (GUID), distinct from the object id in Entra.
    #[serde(default)]
    pub device_id: Option<String>,
    /// Name.
    pub display_name: String,
    /// `AzureAd`, `ServerAd` (hybrid) or `Workplace`.
    #[serde(default)]
    pub trust_type: Option<String>,
    /// e.g. `Windows`.
    #[serde(default)]
    pub operating_system: Option<String>,
    /// e.g. `10.0.22631.4460`.
    #[serde(default)]
    pub operating_system_version: Option<String>,
    /// Enabled?
    #[serde(default = "default_true")]
    pub account_enabled: bool,
}

fn default_true() -> bool {
    true
}

/// A user (only what group listings show).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct User {
    /// Object id (GUID).
    pub id: String,
    /// Name.
    pub display_name: String,
    /// UPN.
    pub user_principal_name: String,
}

/// Why a tenant file was rejected.
#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    /// The text is not JSON of the tenant shape.
    #[error("tenant file is not valid: {0}")]
    Json(#[from] serde_json::Error),
    /// An id is not a GUID.
    #[error("{what} id {id:?} is not a GUID")]
    NotAGuid {
        /// What kind of object carries it.
        what: &'static str,
        /// The offending id.
        id: String,
    },
    /// Two objects share an id.
    #[error("object id {0} is used twice")]
    DuplicateId(String),
    /// A group lists a member that is not a device, user or group of the tenant.
    #[error(
        "group {group} lists member {member}, which is not a device, user or group of the tenant"
    )]
    UnknownMember {
        /// The group.
        group: String,
        /// The missing member id.
        member: String,
    },
    /// A group holds a SKU the tenant does not subscribe to.
    #[error("group {group} is assigned SKU {sku}, which is not in subscribedSkus")]
    UnknownSku {
        /// The group.
        group: String,
        /// The unknown SKU.
        sku: String,
    },
    /// A group's license names an allotment the tenant does not have for that SKU.
    #[error(
        "group {group} holds SKU {sku} from allotment {allotment}, which is not an allotment of that SKU"
    )]
    UnknownAllotment {
        /// The group.
        group: String,
        /// The SKU.
        sku: String,
        /// The allotment id the tenant file gave.
        allotment: String,
    },
    /// `consumedUnits` is lower than the devices the groups license.
    #[error(
        "SKU {sku}: consumedUnits is {declared} but the group assignments license {computed} devices"
    )]
    InconsistentUnits {
        /// The SKU.
        sku: String,
        /// consumedUnits in the file.
        declared: i64,
        /// Devices licensed by the file's assignments.
        computed: i64,
    },
    /// The tenant has no verified domain.
    #[error("tenant has no verifiedDomains")]
    NoDomains,
    /// Two applications share a display name or an `appId`, or more than one has no `appId`.
    #[error("applications: {0}")]
    BadApplication(String),
    /// An allotment is inconsistent with the SKUs (unknown SKU, duplicate id, units).
    #[error("allotment {id}: {problem}")]
    BadAllotment {
        /// The allotment id.
        id: String,
        /// What is wrong.
        problem: String,
    },
}

impl Tenant {
    /// Parses and validates a tenant file. Ids are normalised to lower case.
    pub fn from_json(text: &str) -> Result<Tenant, TenantError> {
        let mut tenant: Tenant = serde_json::from_str(text)?;
        tenant.normalise();
        tenant.validate()?;
        crate::license::Licensing::new(&tenant)?;
        Ok(tenant)
    }

    /// Serialises the tenant as pretty JSON (the tenant file format).
    pub fn to_json(&self) -> String {
        // A struct of strings, numbers and vectors always serialises.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    fn normalise(&mut self) {
        self.id.make_ascii_lowercase();
        for s in &mut self.subscribed_skus {
            s.sku_id.make_ascii_lowercase();
        }
        for g in &mut self.groups {
            g.id.make_ascii_lowercase();
            for m in &mut g.members {
                m.make_ascii_lowercase();
            }
            for l in &mut g.assigned_licenses {
                l.sku_id.make_ascii_lowercase();
            }
        }
        for d in &mut self.devices {
            d.id.make_ascii_lowercase();
        }
        for u in &mut self.users {
            u.id.make_ascii_lowercase();
        }
        for a in &mut self.allotments {
            a.sku_id.make_ascii_lowercase();
        }
    }

    pub(crate) fn validate(&self) -> Result<(), TenantError> {
        fn guid(what: &'static str, id: &str) -> Result<(), TenantError> {
            uuid::Uuid::parse_str(id)
                .map(|_| ())
                .map_err(|_| TenantError::NotAGuid {
                    what,
                    id: id.to_owned(),
                })
        }
        guid("tenant", &self.id)?;
        if self.verified_domains.is_empty() {
            return Err(TenantError::NoDomains);
        }
        let mut seen = HashSet::new();
        let objects = self
            .groups
            .iter()
            .map(|g| ("group", &g.id))
            .chain(self.devices.iter().map(|d| ("device", &d.id)))
            .chain(self.users.iter().map(|u| ("user", &u.id)));
        for (what, id) in objects {
            guid(what, id)?;
            if !seen.insert(id.clone()) {
                return Err(TenantError::DuplicateId(id.clone()));
            }
        }
        let skus: BTreeMap<&str, ()> = self
            .subscribed_skus
            .iter()
            .map(|s| (s.sku_id.as_str(), ()))
            .collect();
        for s in &self.subscribed_skus {
            guid("sku", &s.sku_id)?;
        }
        let mut app_names = HashSet::new();
        let mut app_ids = HashSet::new();
        for a in &self.applications {
            if !app_names.insert(a.display_name.to_ascii_lowercase()) {
                return Err(TenantError::BadApplication(format!(
                    "the display name '{}' is used twice",
                    a.display_name
                )));
            }
            if !app_ids.insert(a.app_id.clone()) {
                return Err(TenantError::BadApplication(match &a.app_id {
                    Some(id) => format!("the appId '{id}' is used twice"),
                    None => "more than one application has no appId".to_owned(),
                }));
            }
        }
        let mut allotment_ids = HashSet::new();
        for a in &self.allotments {
            let bad = |problem: String| TenantError::BadAllotment {
                id: a.id.clone(),
                problem,
            };
            if !allotment_ids.insert(a.id.to_ascii_lowercase()) {
                return Err(bad("the id is used twice".to_owned()));
            }
            if !skus.contains_key(a.sku_id.as_str()) {
                return Err(bad(format!("SKU {} is not in subscribedSkus", a.sku_id)));
            }
            if a.allotted_units < 0 || a.consumed_units < 0 {
                return Err(bad("units must not be negative".to_owned()));
            }
        }
        for s in &self.subscribed_skus {
            let declared: i64 = self
                .allotments
                .iter()
                .filter(|a| a.sku_id == s.sku_id)
                .map(|a| a.consumed_units)
                .sum();
            if declared > s.consumed_units {
                return Err(TenantError::BadAllotment {
                    id: s.sku_id.clone(),
                    problem: format!(
                        "the allotments of this SKU consume {declared} units but its \
                         consumedUnits is {}",
                        s.consumed_units
                    ),
                });
            }
        }
        for g in &self.groups {
            for m in &g.members {
                if !seen.contains(m) {
                    return Err(TenantError::UnknownMember {
                        group: g.id.clone(),
                        member: m.clone(),
                    });
                }
            }
            for l in &g.assigned_licenses {
                if !skus.contains_key(l.sku_id.as_str()) {
                    return Err(TenantError::UnknownSku {
                        group: g.id.clone(),
                        sku: l.sku_id.clone(),
                    });
                }
            }
        }
        Ok(())
    }
}
