//! App registrations in the tenant file: who may sign in, and which Microsoft Graph permissions
//! each was granted. Tokens the simulator issues carry them (`roles` for app-only tokens, `scp`
//! for delegated ones) and every Graph route checks them (see `permissions.rs`).

use serde::{Deserialize, Serialize};

/// An app registration with its consented Microsoft Graph permissions.
///
/// ```json
/// {"displayName": "devlic-plan", "appId": "devlic-plan",
///  "roles": ["Organization.Read.All", "Group.Read.All"],
///  "delegatedScopes": ["User.Read", "LicenseAssignment.Read.All", "Group.Read.All"]}
/// ```
///
/// An entry without `appId` is the simulator's configured app ([`crate::SimConfig::client_id`]):
/// the identity of [`crate::Sim::issue_token`], of client-credential sign-ins with the configured
/// client id, and of the managed-identity endpoint. Entries with an `appId` sign in with that id
/// and the configured secret; tests take their tokens by name with
/// [`crate::Sim::issue_token_for`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Application {
    /// Free text for humans; never served.
    #[serde(rename = "_comment", default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The name tests and humans use for it (unique in the file, compared case-insensitively).
    pub display_name: String,
    /// The client id; `None` for the simulator's configured app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// Application permissions with admin consent: the `roles` claim of its app-only tokens.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Delegated permissions consented for it: the `scp` claim of its delegated tokens.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delegated_scopes: Vec<String>,
}

/// Who a Graph request acts as, from its access token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Caller {
    /// An app-only token and its `roles`.
    App(Vec<String>),
    /// A delegated token and its `scp` (space-separated in the token, split here).
    Delegated(Vec<String>),
}

impl Caller {
    /// Whether any of `accepted` is granted (permission names compare case-insensitively, as
    /// Entra treats them).
    pub(crate) fn holds_any(&self, app: &[&str], delegated: &[&str]) -> bool {
        let (granted, accepted) = match self {
            Caller::App(r) => (r, app),
            Caller::Delegated(s) => (s, delegated),
        };
        granted
            .iter()
            .any(|g| accepted.iter().any(|a| a.eq_ignore_ascii_case(g)))
    }
}

/// Application permissions of the plan identity on group-licensing (SECURITY.md, "What to grant").
const PLAN_GROUP: &[&str] = &["Organization.Read.All", "Group.Read.All"];
/// The plan identity on cloud-licensing.
const PLAN_CLOUD: &[&str] = &[
    "Organization.Read.All",
    "Group.Read.All",
    "CloudLicensing.Read.All",
];
/// The apply identity on group-licensing.
const APPLY_GROUP: &[&str] = &[
    "Organization.Read.All",
    "Group.Read.All",
    "LicenseAssignment.ReadWrite.All",
];
/// The apply identity on cloud-licensing.
const APPLY_CLOUD: &[&str] = &[
    "Organization.Read.All",
    "Group.Read.All",
    "CloudLicensing.Read.All",
    "Group-CloudLicensing.AssignLicenses.Organization",
    "CloudLicensing-UsageRights.Read.All",
];
/// Delegated scopes of the same four identities.
const PLAN_GROUP_SCP: &[&str] = &["User.Read", "LicenseAssignment.Read.All", "Group.Read.All"];
const PLAN_CLOUD_SCP: &[&str] = &[
    "User.Read",
    "LicenseAssignment.Read.All",
    "Group.Read.All",
    "CloudLicensing.Read",
];
const APPLY_GROUP_SCP: &[&str] = &[
    "User.Read",
    "LicenseAssignment.Read.All",
    "Group.Read.All",
    "LicenseAssignment.ReadWrite.All",
];
const APPLY_CLOUD_SCP: &[&str] = &[
    "User.Read",
    "LicenseAssignment.Read.All",
    "Group.Read.All",
    "CloudLicensing.Read",
    "Group-CloudLicensing.AssignLicenses.Organization",
    "CloudLicensing-UsageRights.Read",
];
/// The configured app of the bundled fixtures: what devlic's own tests sign in as. Both apply
/// sets (the cloud one includes CloudLicensing-UsageRights.Read.All, which the device
/// `usageRights` read of verification needs). Every cloud write goes to a group route, so the
/// tenant-wide CloudLicensing.AssignLicenses.Organization is not needed.
const DEFAULT_APP: &[&str] = &[
    "Organization.Read.All",
    "Group.Read.All",
    "LicenseAssignment.ReadWrite.All",
    "CloudLicensing.Read.All",
    "Group-CloudLicensing.AssignLicenses.Organization",
    "CloudLicensing-UsageRights.Read.All",
];

impl Application {
    fn named(name: &str, app_id: Option<&str>, roles: &[&str], scopes: &[&str]) -> Application {
        Application {
            comment: None,
            display_name: name.to_owned(),
            app_id: app_id.map(str::to_owned),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            delegated_scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// The app registrations the bundled tenant files list: the configured app (`devlic-sim`,
    /// no `appId`) and the four least-privileged identities of SECURITY.md, named
    /// `devlic-{plan,apply}-{group,cloud}` (display name and `appId` alike).
    pub fn documented() -> Vec<Application> {
        let both: Vec<&str> =
            APPLY_GROUP_SCP
                .iter()
                .chain(APPLY_CLOUD_SCP)
                .copied()
                .fold(Vec::new(), |mut v, s| {
                    if !v.contains(&s) {
                        v.push(s);
                    }
                    v
                });
        vec![
            Application::named("devlic-sim", None, DEFAULT_APP, &both),
            Application::named(
                "devlic-plan-group",
                Some("devlic-plan-group"),
                PLAN_GROUP,
                PLAN_GROUP_SCP,
            ),
            Application::named(
                "devlic-plan-cloud",
                Some("devlic-plan-cloud"),
                PLAN_CLOUD,
                PLAN_CLOUD_SCP,
            ),
            Application::named(
                "devlic-apply-group",
                Some("devlic-apply-group"),
                APPLY_GROUP,
                APPLY_GROUP_SCP,
            ),
            Application::named(
                "devlic-apply-cloud",
                Some("devlic-apply-cloud"),
                APPLY_CLOUD,
                APPLY_CLOUD_SCP,
            ),
        ]
    }
}
