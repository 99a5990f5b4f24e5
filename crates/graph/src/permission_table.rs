//! Which Microsoft Graph application permission each route devlic calls needs: the grants of
//! SECURITY.md ("Per call" and "What to grant"), so a 403 can say what to grant instead of only
//! "Insufficient privileges".
//!
//! Graph's 403 `Authorization_RequestDenied` does not name the permission it wanted, so devlic
//! keeps the table itself. It names the permission SECURITY.md tells people to grant (for
//! app-only use), which is the least privileged one of the route's reference page or, where
//! SECURITY.md grants a broader one that covers several routes, that one.

use crate::error::GraphError;

/// The application permission SECURITY.md grants for `method` on `path` (with or without the
/// `/v1.0` or `/beta` prefix, without the query), or `None` for a route devlic does not call.
pub fn permission_for(method: &str, path: &str) -> Option<&'static str> {
    let path = path.split('?').next().unwrap_or_default();
    let path = path.trim_start_matches('/');
    let path = path
        .strip_prefix("v1.0/")
        .or_else(|| path.strip_prefix("beta/"))
        .unwrap_or(path);
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let method = method.to_ascii_uppercase();
    Some(match (method.as_str(), segments.as_slice()) {
        // v1/organization-get-permissions.md; /subscribedSkus also accepts Organization.Read.All,
        // which is what SECURITY.md grants for both.
        ("GET", ["organization", ..] | ["subscribedSkus", ..]) => "Organization.Read.All",
        // api-reference/v1.0/api/group-assignlicense.md.
        ("POST", ["groups", _, "assignLicense"]) => "LicenseAssignment.ReadWrite.All",
        // beta/cloudlicensing-groupcloudlicensing-post-assignments-permissions.md and the
        // assignment update/delete pages.
        ("POST" | "PATCH" | "DELETE", ["groups", _, "cloudLicensing", "assignments", ..])
        | ("DELETE" | "PATCH", ["admin", "cloudLicensing", "assignments", ..]) => {
            "Group-CloudLicensing.AssignLicenses.Organization"
        }
        // beta/cloudlicensing-admincloudlicensing-list-allotments-permissions.md and its
        // waitingMembers and assignments siblings.
        ("GET", ["admin", "cloudLicensing", ..]) => "CloudLicensing.Read.All",
        // beta/cloudlicensing-devicecloudlicensing-list-usagerights-permissions.md: its own
        // permission, not CloudLicensing.Read.All (verification after a cloud apply reads it).
        ("GET", ["devices", _, "cloudLicensing", "usageRights", ..]) => {
            "CloudLicensing-UsageRights.Read.All"
        }
        // The device's other cloudLicensing lists (assignments, waitingMembers), which devlic
        // does not call.
        ("GET", ["devices", _, "cloudLicensing", ..]) => "CloudLicensing.Read.All",
        // Group reads (v1/group-list-permissions.md, transitiveMembers, membersWithLicenseErrors,
        // group cloudLicensing assignments): SECURITY.md grants Group.Read.All for all of them.
        ("GET", ["groups", ..] | ["directoryObjects", ..]) => "Group.Read.All",
        _ => return None,
    })
}

impl GraphError {
    /// For a 403 answer: the application permission the refused route needs
    /// ([`permission_for`]), `None` otherwise.
    pub fn missing_permission(&self) -> Option<&'static str> {
        match self {
            GraphError::Service {
                status: 403,
                method,
                path,
                ..
            } => permission_for(method, path),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_devlic_calls_names_its_permission() {
        let g = "1a2b3c4d-0001-4a5b-8c6d-000000000001";
        let cases = [
            ("GET", "/v1.0/organization", "Organization.Read.All"),
            ("GET", "/v1.0/subscribedSkus", "Organization.Read.All"),
            ("GET", "/v1.0/groups", "Group.Read.All"),
            (
                "GET",
                &format!("/groups/{g}/transitiveMembers/microsoft.graph.device/$count"),
                "Group.Read.All",
            ),
            (
                "POST",
                &format!("/v1.0/groups/{g}/assignLicense"),
                "LicenseAssignment.ReadWrite.All",
            ),
            (
                "GET",
                &format!("/beta/devices/{g}/cloudLicensing/usageRights?$select=skuId"),
                "CloudLicensing-UsageRights.Read.All",
            ),
            (
                "GET",
                "/beta/admin/cloudLicensing/allotments?$select=id",
                "CloudLicensing.Read.All",
            ),
            (
                "GET",
                &format!("/beta/groups/{g}/cloudLicensing/assignments"),
                "Group.Read.All",
            ),
            (
                "POST",
                &format!("/beta/groups/{g}/cloudLicensing/assignments"),
                "Group-CloudLicensing.AssignLicenses.Organization",
            ),
            (
                "DELETE",
                &format!("/beta/groups/{g}/cloudLicensing/assignments/x"),
                "Group-CloudLicensing.AssignLicenses.Organization",
            ),
        ];
        for (method, path, want) in cases {
            assert_eq!(permission_for(method, path), Some(want), "{method} {path}");
        }
        assert_eq!(permission_for("GET", "/v1.0/me"), None);
    }
}
