//! The permission table: which Microsoft Graph permissions each route the simulator serves
//! accepts, from the permission tables of its reference page (paths in
//! microsoftgraph/microsoft-graph-docs-contrib). A request whose token holds none of them is
//! answered 403 `Authorization_RequestDenied`, the directory's code and message for missing
//! permissions (concepts/errors.md lists 403 Forbidden; the directory code is what Graph sends
//! for directory objects). `$batch` needs no permission of its own: each item is checked as if
//! it were sent alone (concepts/json-batching.md).
//!
//! Every set lists the least privileged permission first and then the higher privileged ones
//! the page also accepts.

use axum::http::{Method, StatusCode};

use crate::applications::Caller;
use crate::http::{Ctx, SimRequest, SimResponse};

/// The permissions one route accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Needed {
    /// Application permissions (`roles`), any one suffices.
    pub(crate) app: &'static [&'static str],
    /// Delegated permissions (`scp`), any one suffices.
    pub(crate) delegated: &'static [&'static str],
}

// api-reference/v1.0/api/organization-get.md (v1/organization-get-permissions.md).
const ORGANIZATION: Needed = Needed {
    app: &[
        "Organization.Read.All",
        "Directory.Read.All",
        "Organization.ReadWrite.All",
        "Directory.ReadWrite.All",
    ],
    delegated: &[
        "User.Read",
        "Organization.Read.All",
        "Directory.Read.All",
        "Organization.ReadWrite.All",
        "Directory.ReadWrite.All",
    ],
};
// api-reference/v1.0/api/subscribedsku-list.md (v1/subscribedsku-list-permissions.md).
const SUBSCRIBED_SKUS: Needed = Needed {
    app: &[
        "LicenseAssignment.Read.All",
        "Organization.Read.All",
        "Directory.Read.All",
        "Organization.ReadWrite.All",
        "Directory.ReadWrite.All",
    ],
    delegated: &[
        "LicenseAssignment.Read.All",
        "Organization.Read.All",
        "Directory.Read.All",
        "Organization.ReadWrite.All",
        "Directory.ReadWrite.All",
    ],
};
// api-reference/v1.0/api/group-list.md, group-get.md: basic properties.
const GROUPS_BASIC: Needed = Needed {
    app: &[
        "Group.ReadBasic.All",
        "GroupMember.Read.All",
        "Group.Read.All",
        "Directory.Read.All",
        "Group.ReadWrite.All",
        "Directory.ReadWrite.All",
    ],
    delegated: &[
        "Group.ReadBasic.All",
        "GroupMember.Read.All",
        "Group.Read.All",
        "Directory.Read.All",
        "Group.ReadWrite.All",
        "Directory.ReadWrite.All",
    ],
};
// The license properties of a group (`assignedLicenses`, `licenseProcessingState`,
// `hasMembersWithLicenseErrors`) are not basic properties; Microsoft says LicenseAssignment.*
// does not cover reading them (microsoftgraph/microsoft-graph-docs#18753), so they need
// Group.Read.All or broader (api-reference/v1.0/resources/group.md). `membersWithLicenseErrors`
// has no permissions page; as a relationship of the group it takes the same set.
const GROUPS_LICENSES: Needed = Needed {
    app: &[
        "Group.Read.All",
        "Directory.Read.All",
        "Group.ReadWrite.All",
        "Directory.ReadWrite.All",
    ],
    delegated: &[
        "Group.Read.All",
        "Directory.Read.All",
        "Group.ReadWrite.All",
        "Directory.ReadWrite.All",
    ],
};
// api-reference/v1.0/api/group-list-members.md, group-list-transitivemembers.md.
const MEMBERS: Needed = Needed {
    app: &[
        "GroupMember.ReadBasic.All",
        "GroupMember.Read.All",
        "Group.Read.All",
        "Directory.Read.All",
        "GroupMember.ReadWrite.All",
        "Group.ReadWrite.All",
        "Directory.ReadWrite.All",
    ],
    delegated: &[
        "GroupMember.ReadBasic.All",
        "GroupMember.Read.All",
        "Group.Read.All",
        "Directory.Read.All",
        "GroupMember.ReadWrite.All",
        "Group.ReadWrite.All",
        "Directory.ReadWrite.All",
    ],
};
// api-reference/v1.0/api/group-assignlicense.md (v1/group-assignlicense-permissions.md).
const ASSIGN_LICENSE: Needed = Needed {
    app: &[
        "LicenseAssignment.ReadWrite.All",
        "Group.ReadWrite.All",
        "Directory.ReadWrite.All",
    ],
    delegated: &[
        "LicenseAssignment.ReadWrite.All",
        "Group.ReadWrite.All",
        "Directory.ReadWrite.All",
    ],
};
// Admin reads: api-reference/beta/api/cloudlicensing-admincloudlicensing-list-allotments.md,
// cloudlicensing-allotment-get.md, cloudlicensing-allotment-list-assignments.md,
// cloudlicensing-allotment-list-waitingmembers.md, cloudlicensing-admincloudlicensing-list-
// assignments.md (admin table), cloudlicensing-assignment-get.md (admin table).
const CLOUD_ADMIN_READ: Needed = Needed {
    app: &[
        "CloudLicensing.Read.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ],
    delegated: &[
        "CloudLicensing.Read",
        "CloudLicensing.Read.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ],
};
// Group reads: cloudlicensing-admincloudlicensing-list-assignments.md, group table
// (beta/cloudlicensing-admincloudlicensing-list-assignments-3-permissions.md); GET of one group
// assignment (cloudlicensing-assignment-get.md, group table) is taken to be the same.
const CLOUD_GROUP_READ: Needed = Needed {
    app: &[
        "CloudLicensing.Read.All",
        "Group-CloudLicensing.Read.All",
        "Group.Read.All",
        "Group.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ],
    delegated: &[
        "CloudLicensing.Read",
        "CloudLicensing.Read.All",
        "Group-CloudLicensing.Read",
        "Group-CloudLicensing.Read.All",
        "Group.Read.All",
        "Group.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ],
};
// POST /groups/{id}/cloudLicensing/assignments:
// beta/cloudlicensing-groupcloudlicensing-post-assignments-permissions.md.
const CLOUD_GROUP_CREATE: Needed = Needed {
    app: &[
        "CloudLicensing.AssignLicenses.Organization",
        "Group-CloudLicensing.AssignLicenses.Organization",
        "Group.ReadWrite.All",
        "User.ReadWrite.All",
        "Directory.ReadWrite.All",
    ],
    delegated: &[
        "CloudLicensing.AssignLicenses.Organization",
        "Group-CloudLicensing.AssignLicenses.Organization",
        "Group.ReadWrite.All",
        "User.ReadWrite.All",
        "Directory.ReadWrite.All",
    ],
};
// PATCH and DELETE /groups/{id}/cloudLicensing/assignments/{id}:
// beta/cloudlicensing-assignment-update-3-permissions.md, cloudlicensing-assignment-delete-3-permissions.md.
const CLOUD_GROUP_WRITE: Needed = Needed {
    app: &[
        "Group-CloudLicensing.AssignLicenses.Organization",
        "Group.ReadWrite.All",
        "Directory.ReadWrite.All",
    ],
    delegated: &[
        "Group-CloudLicensing.AssignLicenses",
        "Group-CloudLicensing.AssignLicenses.Organization",
        "Group.ReadWrite.All",
        "Directory.ReadWrite.All",
    ],
};
// PATCH and DELETE /admin/cloudLicensing/assignments/{id} (and under an allotment):
// beta/cloudlicensing-assignment-update-permissions.md, cloudlicensing-assignment-delete-permissions.md.
// Group-CloudLicensing.* is not accepted here: an identity set up for the group routes gets 403.
const CLOUD_ADMIN_WRITE: Needed = Needed {
    app: &[
        "CloudLicensing.AssignLicenses.Organization",
        "Directory.ReadWrite.All",
    ],
    delegated: &[
        "CloudLicensing.AssignLicenses",
        "CloudLicensing.AssignLicenses.Organization",
        "Directory.ReadWrite.All",
    ],
};
// GET /devices/{id}/cloudLicensing/usageRights:
// api-reference/beta/api/cloudlicensing-devicecloudlicensing-list-usagerights.md.
const DEVICE_USAGE_RIGHTS: Needed = Needed {
    app: &[
        "CloudLicensing-UsageRights.Read.All",
        "CloudLicensing-UsageRights.ReadWrite.All",
    ],
    delegated: &[
        "CloudLicensing-UsageRights.Read",
        "CloudLicensing-UsageRights.ReadWrite",
    ],
};

/// Group properties that need more than the basic group permissions.
const LICENSE_PROPERTIES: &[&str] = &[
    "assignedlicenses",
    "licenseprocessingstate",
    "hasmemberswithlicenseerrors",
];

fn asks_for_license_properties(req: &SimRequest) -> bool {
    ["$select", "$filter", "$orderby"].iter().any(|p| {
        req.param(p).is_some_and(|v| {
            let v = v.to_ascii_lowercase();
            LICENSE_PROPERTIES.iter().any(|l| v.contains(l))
        })
    })
}

/// The permissions `req` needs, or `None` for requests that need none of their own (`$batch`)
/// or that the dispatcher refuses anyway (unknown routes).
pub(crate) fn needed(req: &SimRequest) -> Option<Needed> {
    let (ver, rest) = crate::routes::version(&req.path)?;
    let segs = crate::routes::segments(rest);
    let beta = ver == "beta";
    let m = &req.method;
    let (get, post) = (m == Method::GET, m == Method::POST);
    let patch_or_delete = m == Method::PATCH || m == Method::DELETE;
    let need = match segs.as_slice() {
        ["organization"] if get => ORGANIZATION,
        ["subscribedSkus"] if get => SUBSCRIBED_SKUS,
        ["groups"] | ["groups", "$count"] | ["groups", _] if get => {
            if asks_for_license_properties(req) {
                GROUPS_LICENSES
            } else {
                GROUPS_BASIC
            }
        }
        ["groups", _, "membersWithLicenseErrors", ..] if get => GROUPS_LICENSES,
        ["groups", _, "members" | "transitiveMembers", ..] if get => MEMBERS,
        [
            "groups",
            _,
            "assignLicense" | "microsoft.graph.assignLicense",
        ] if post => ASSIGN_LICENSE,
        ["admin", "cloudLicensing", ..] if beta && get => CLOUD_ADMIN_READ,
        ["admin", "cloudLicensing", "assignments", _]
        | ["admin", "cloudLicensing", "allotments", _, "assignments", _]
            if beta && patch_or_delete =>
        {
            CLOUD_ADMIN_WRITE
        }
        ["groups", _, "cloudLicensing", "assignments", ..] if beta && get => CLOUD_GROUP_READ,
        ["groups", _, "cloudLicensing", "assignments"] if beta && post => CLOUD_GROUP_CREATE,
        ["groups", _, "cloudLicensing", "assignments", _] if beta && patch_or_delete => {
            CLOUD_GROUP_WRITE
        }
        ["devices", _, "cloudLicensing", "usageRights", ..] if beta && get => DEVICE_USAGE_RIGHTS,
        _ => return None,
    };
    Some(need)
}

/// Checks `caller` against the route's permissions: `Err` with Graph's 403 when none is held.
pub(crate) fn check(ctx: &Ctx, caller: &Caller, req: &SimRequest) -> Result<(), SimResponse> {
    match needed(req) {
        Some(n) if !caller.holds_any(n.app, n.delegated) => Err(ctx.error(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )),
        _ => Ok(()),
    }
}
