//! Which Microsoft Graph permission each route devlic calls needs: the grants of SECURITY.md
//! ("Per call" and "What to grant"), so a 403 can say what to grant instead of only
//! "Insufficient privileges".
//!
//! Graph's 403 `Authorization_RequestDenied` does not name the permission it wanted, so devlic
//! keeps the table itself. For each route it names what SECURITY.md tells people to grant, as an
//! application permission (app-only tokens) and as a delegated permission (a person signed in
//! with device code or the Azure CLI): the least privileged one of the route's reference page
//! or, where SECURITY.md grants a broader one that covers several routes, that one. The two
//! differ (`/organization`: Organization.Read.All app-only, User.Read delegated), and so does
//! where the admin center grants them, which is why the error follows the token's kind.

use std::fmt;

use crate::auth::TokenKind;
use crate::error::GraphError;

/// What SECURITY.md grants for one route, for each kind of token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoutePermission {
    /// The application permission (app-only tokens), e.g. `Organization.Read.All`.
    pub application: &'static str,
    /// The delegated permission (a person's token), e.g. `User.Read`.
    pub delegated: &'static str,
}

impl RoutePermission {
    const fn same(name: &'static str) -> RoutePermission {
        RoutePermission {
            application: name,
            delegated: name,
        }
    }
}

/// What SECURITY.md grants for `method` on `path` (with or without the `/v1.0` or `/beta`
/// prefix, without the query), or `None` for a route devlic does not call.
pub fn route_permission(method: &str, path: &str) -> Option<RoutePermission> {
    let path = path.split('?').next().unwrap_or_default();
    let path = path.trim_start_matches('/');
    let path = path
        .strip_prefix("v1.0/")
        .or_else(|| path.strip_prefix("beta/"))
        .unwrap_or(path);
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let method = method.to_ascii_uppercase();
    Some(match (method.as_str(), segments.as_slice()) {
        // v1/organization-get-permissions.md: Organization.Read.All app-only (what SECURITY.md
        // grants for /subscribedSkus too), User.Read delegated.
        ("GET", ["organization", ..]) => RoutePermission {
            application: "Organization.Read.All",
            delegated: "User.Read",
        },
        // v1/subscribedsku-list-permissions.md: Organization.Read.All is accepted app-only; a
        // delegated token needs LicenseAssignment.Read.All (SECURITY.md, "What to grant").
        ("GET", ["subscribedSkus", ..]) => RoutePermission {
            application: "Organization.Read.All",
            delegated: "LicenseAssignment.Read.All",
        },
        // api-reference/v1.0/api/group-assignlicense.md.
        ("POST", ["groups", _, "assignLicense"]) => {
            RoutePermission::same("LicenseAssignment.ReadWrite.All")
        }
        // beta/cloudlicensing-groupcloudlicensing-post-assignments-permissions.md and the
        // assignment update/delete pages; SECURITY.md grants the .Organization scope delegated
        // too, because the create accepts nothing narrower.
        ("POST" | "PATCH" | "DELETE", ["groups", _, "cloudLicensing", "assignments", ..])
        | ("DELETE" | "PATCH", ["admin", "cloudLicensing", "assignments", ..]) => {
            RoutePermission::same("Group-CloudLicensing.AssignLicenses.Organization")
        }
        // beta/cloudlicensing-admincloudlicensing-list-allotments-permissions.md and its
        // waitingMembers and assignments siblings.
        ("GET", ["admin", "cloudLicensing", ..]) => RoutePermission {
            application: "CloudLicensing.Read.All",
            delegated: "CloudLicensing.Read",
        },
        // beta/cloudlicensing-devicecloudlicensing-list-usagerights-permissions.md: its own
        // permission, not CloudLicensing.Read.All (verification after a cloud apply reads it).
        ("GET", ["devices", _, "cloudLicensing", "usageRights", ..]) => RoutePermission {
            application: "CloudLicensing-UsageRights.Read.All",
            delegated: "CloudLicensing-UsageRights.Read",
        },
        // The device's other cloudLicensing lists (assignments, waitingMembers), which devlic
        // does not call.
        ("GET", ["devices", _, "cloudLicensing", ..]) => RoutePermission {
            application: "CloudLicensing.Read.All",
            delegated: "CloudLicensing.Read",
        },
        // Group reads (v1/group-list-permissions.md, transitiveMembers, membersWithLicenseErrors,
        // group cloudLicensing assignments): SECURITY.md grants Group.Read.All for all of them.
        ("GET", ["groups", ..] | ["directoryObjects", ..]) => {
            RoutePermission::same("Group.Read.All")
        }
        _ => return None,
    })
}

/// The application permission SECURITY.md grants for `method` on `path` (see
/// [`route_permission`] for both kinds), or `None` for a route devlic does not call.
pub fn permission_for(method: &str, path: &str) -> Option<&'static str> {
    route_permission(method, path).map(|p| p.application)
}

/// A permission Graph refused a request for, worded for the kind of token that was refused:
/// `Display` says what is missing, [`MissingPermission::grant_help`] where to grant it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissingPermission {
    /// What SECURITY.md grants for the refused route.
    pub route: RoutePermission,
    /// The kind of token Graph refused.
    pub kind: TokenKind,
}

impl MissingPermission {
    /// The permission to grant: the delegated one for a person's token, the application one
    /// otherwise (an unknown token names both in its wording).
    pub fn name(&self) -> &'static str {
        match self.kind {
            TokenKind::Delegated => self.route.delegated,
            TokenKind::Application | TokenKind::Unknown => self.route.application,
        }
    }

    /// Where to grant it in the Entra admin center, for the next step of an error.
    pub fn grant_help(&self) -> String {
        const PATH: &str = "Entra admin center > App registrations > the app > API permissions > \
                            Add a permission > Microsoft Graph";
        let RoutePermission {
            application,
            delegated,
        } = self.route;
        match self.kind {
            TokenKind::Application => format!(
                "grant {application}: {PATH} > Application permissions > {application}, then \
                 Grant admin consent (SECURITY.md lists what each command needs)"
            ),
            TokenKind::Delegated => format!(
                "grant {delegated} to the app you sign in to: {PATH} > Delegated permissions > \
                 {delegated}, then Grant admin consent; your Entra role must allow the call too \
                 (SECURITY.md, \"Signing in as yourself\")"
            ),
            TokenKind::Unknown => format!(
                "grant it where the token comes from: {PATH} > Application permissions > \
                 {application} for an app-only token, or Delegated permissions > {delegated} for \
                 a person's token, then Grant admin consent (SECURITY.md lists what each command \
                 needs)"
            ),
        }
    }
}

impl fmt::Display for MissingPermission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let RoutePermission {
            application,
            delegated,
        } = self.route;
        match self.kind {
            TokenKind::Application => write!(
                f,
                "the app registration lacks the Microsoft Graph permission {application}"
            ),
            TokenKind::Delegated => write!(
                f,
                "the sign-in lacks the delegated Microsoft Graph permission {delegated}, or the \
                 signed-in account's Entra role does not allow the call"
            ),
            TokenKind::Unknown => write!(
                f,
                "the token lacks the Microsoft Graph permission {application} (app-only) or \
                 {delegated} (delegated)"
            ),
        }
    }
}

impl GraphError {
    /// For a 403 answer: the application permission the refused route needs
    /// ([`permission_for`]), `None` otherwise. Prefer
    /// [`GraphError::missing_permission_for`], which follows the token's kind.
    pub fn missing_permission(&self) -> Option<&'static str> {
        self.missing_permission_for(TokenKind::Application)
            .map(|m| m.name())
    }

    /// For a 403 answer: the permission the refused route needs, for a token of `kind`
    /// ([`crate::GraphClient::token_kind`]); `None` otherwise.
    pub fn missing_permission_for(&self, kind: TokenKind) -> Option<MissingPermission> {
        match self {
            GraphError::Service {
                status: 403,
                method,
                path,
                ..
            } => route_permission(method, path).map(|route| MissingPermission { route, kind }),
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

    #[test]
    fn delegated_tokens_name_the_delegated_permission() {
        let g = "1a2b3c4d-0001-4a5b-8c6d-000000000001";
        let cases = [
            ("GET", "/v1.0/organization".to_owned(), "User.Read"),
            (
                "GET",
                "/v1.0/subscribedSkus".to_owned(),
                "LicenseAssignment.Read.All",
            ),
            (
                "GET",
                "/beta/admin/cloudLicensing/allotments".to_owned(),
                "CloudLicensing.Read",
            ),
            (
                "GET",
                format!("/beta/devices/{g}/cloudLicensing/usageRights"),
                "CloudLicensing-UsageRights.Read",
            ),
            ("GET", "/v1.0/groups".to_owned(), "Group.Read.All"),
            (
                "POST",
                format!("/v1.0/groups/{g}/assignLicense"),
                "LicenseAssignment.ReadWrite.All",
            ),
        ];
        for (method, path, want) in cases {
            let route = route_permission(method, &path).unwrap();
            assert_eq!(route.delegated, want, "{method} {path}");
        }
    }

    fn denied(method: &str, path: &str) -> GraphError {
        GraphError::Service {
            status: 403,
            method: method.to_owned(),
            path: path.to_owned(),
            code: "Authorization_RequestDenied".to_owned(),
            message: "Insufficient privileges to complete the operation.".to_owned(),
            request_id: None,
            client_request_id: "c".to_owned(),
        }
    }

    #[test]
    fn the_wording_follows_the_token_kind() {
        let e = denied("GET", "/beta/admin/cloudLicensing/allotments");
        let app = e.missing_permission_for(TokenKind::Application).unwrap();
        assert_eq!(app.name(), "CloudLicensing.Read.All");
        assert_eq!(
            app.to_string(),
            "the app registration lacks the Microsoft Graph permission CloudLicensing.Read.All"
        );
        assert!(
            app.grant_help()
                .contains("Microsoft Graph > Application permissions > CloudLicensing.Read.All"),
            "{}",
            app.grant_help()
        );
        assert!(!app.grant_help().contains("Delegated"));

        let person = e.missing_permission_for(TokenKind::Delegated).unwrap();
        assert_eq!(person.name(), "CloudLicensing.Read");
        assert!(
            person
                .to_string()
                .contains("lacks the delegated Microsoft Graph permission CloudLicensing.Read,"),
            "{person}"
        );
        assert!(
            person
                .grant_help()
                .contains("Microsoft Graph > Delegated permissions > CloudLicensing.Read,"),
            "{}",
            person.grant_help()
        );
        assert!(!person.grant_help().contains("Application permissions"));

        let unknown = e.missing_permission_for(TokenKind::Unknown).unwrap();
        assert!(
            unknown
                .to_string()
                .contains("CloudLicensing.Read.All (app-only)")
                && unknown
                    .to_string()
                    .contains("CloudLicensing.Read (delegated)"),
            "{unknown}"
        );
        let help = unknown.grant_help();
        assert!(
            help.contains("Application permissions > CloudLicensing.Read.All")
                && help.contains("Delegated permissions > CloudLicensing.Read "),
            "{help}"
        );

        // Only a 403 names a permission; the old accessor keeps naming the application one.
        assert_eq!(e.missing_permission(), Some("CloudLicensing.Read.All"));
        let mut not_found = denied("GET", "/v1.0/groups");
        if let GraphError::Service { status, .. } = &mut not_found {
            *status = 404;
        }
        assert_eq!(not_found.missing_permission_for(TokenKind::Delegated), None);
    }
}
