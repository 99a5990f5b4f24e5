//! `$filter` for `/groups`: a small OData parser, Graph's validation rules, and evaluation.
//!
//! Supported (as Graph supports them on groups without advanced query parameters): `eq` and
//! `in (...)` on `id`, `displayName`, `mailNickname`, `mail`; `eq` on `securityEnabled`,
//! `mailEnabled`; `startswith(displayName|mailNickname|mail, '...')`;
//! `assignedLicenses/any(x:x/skuId eq GUID)`; `groupTypes/any(c:c eq 'Unified')`;
//! `hasMembersWithLicenseErrors eq true`; `and`, `or`, parentheses. With advanced query
//! parameters (`$count=true` + `ConsistencyLevel: eventual`) also `ne`, `not(...)` and
//! `endswith(...)`. Anything else is rejected with Graph's 400, never ignored.

/// A parsed filter.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Cmp {
        prop: String,
        ne: bool,
        lit: Lit,
    },
    In {
        prop: String,
        lits: Vec<Lit>,
    },
    Func {
        name: String,
        prop: String,
        arg: Lit,
    },
    Any {
        collection: String,
        var: String,
        body: Box<Expr>,
    },
}

/// A literal.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Lit {
    Str(String),
    Bool(bool),
    Guid(String),
    Null,
    Num(String),
}

impl Lit {
    fn edm(&self) -> &'static str {
        match self {
            Lit::Str(_) => "Edm.String",
            Lit::Bool(_) => "Edm.Boolean",
            Lit::Guid(_) => "Edm.Guid",
            Lit::Null => "null",
            Lit::Num(_) => "Edm.Int32",
        }
    }
}

/// Why a filter was refused: (code, message) of Graph's 400.
#[derive(Debug, PartialEq)]
pub(crate) struct FilterError {
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

pub(crate) fn syntax(msg: impl Into<String>) -> FilterError {
    FilterError {
        code: "BadRequest",
        message: format!("Invalid filter clause: {}", msg.into()),
    }
}

mod index;
mod parse;
pub(crate) use index::GroupIndex;
pub(crate) use parse::parse;

/// Group properties returned when there is no `$select` (Graph's default set).
pub(crate) const DEFAULT_GROUP_PROPERTIES: &[&str] = &[
    "id",
    "deletedDateTime",
    "classification",
    "createdDateTime",
    "creationOptions",
    "description",
    "displayName",
    "expirationDateTime",
    "groupTypes",
    "isAssignableToRole",
    "mail",
    "mailEnabled",
    "mailNickname",
    "membershipRule",
    "membershipRuleProcessingState",
    "onPremisesDomainName",
    "onPremisesLastSyncDateTime",
    "onPremisesNetBiosName",
    "onPremisesSamAccountName",
    "onPremisesSecurityIdentifier",
    "onPremisesSyncEnabled",
    "preferredDataLocation",
    "preferredLanguage",
    "proxyAddresses",
    "renewedDateTime",
    "resourceBehaviorOptions",
    "resourceProvisioningOptions",
    "securityEnabled",
    "securityIdentifier",
    "theme",
    "visibility",
    "onPremisesProvisioningErrors",
    "serviceProvisioningErrors",
];

/// Group properties Graph returns only when selected (or, for `hasMembersWithLicenseErrors`,
/// knows only as a filter).
const SELECT_ONLY_GROUP_PROPERTIES: &[&str] = &[
    "assignedLicenses",
    "licenseProcessingState",
    "hasMembersWithLicenseErrors",
];

/// Every group property Graph knows (for "Could not find a property" vs "Unsupported").
pub(crate) fn known_group_properties() -> impl Iterator<Item = &'static str> {
    DEFAULT_GROUP_PROPERTIES
        .iter()
        .chain(SELECT_ONLY_GROUP_PROPERTIES)
        .copied()
}

/// Canonical property name (Graph matches property names case-insensitively).
fn canonical(prop: &str) -> Option<&'static str> {
    known_group_properties().find(|p| p.eq_ignore_ascii_case(prop))
}

fn unknown_or_unsupported(prop: &str) -> FilterError {
    match canonical(prop) {
        Some(p) => FilterError {
            code: "Request_UnsupportedQuery",
            message: format!(
                "Unsupported or invalid query filter clause specified for property '{p}' of resource 'Group'."
            ),
        },
        None => FilterError {
            code: "Request_BadRequest",
            message: format!(
                "Could not find a property named '{prop}' on type 'microsoft.graph.group'."
            ),
        },
    }
}

fn needs_advanced(what: &str) -> FilterError {
    FilterError {
        code: "Request_UnsupportedQuery",
        message: format!(
            "Operator '{what}' is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information"
        ),
    }
}

fn type_mismatch(prop_type: &str, lit: &Lit) -> FilterError {
    FilterError {
        code: "Request_BadRequest",
        message: format!(
            "A binary operator with incompatible types was detected. Found operand types '{prop_type}' and '{}' for operator kind 'Equal'.",
            lit.edm()
        ),
    }
}

/// Maximum values in one `in (...)` / `or` chain, Graph's default.
pub(crate) const MAX_OR_VALUES: usize = 15;

/// Checks the filter against what Graph supports; `advanced` = `$count=true` + eventual.
pub(crate) fn validate(e: &Expr, advanced: bool) -> Result<(), FilterError> {
    check_or_width(e)?;
    check(e, advanced)
}

fn or_leaves(e: &Expr) -> usize {
    match e {
        Expr::Or(a, b) => or_leaves(a) + or_leaves(b),
        Expr::In { lits, .. } => lits.len(),
        _ => 1,
    }
}

fn check_or_width(e: &Expr) -> Result<(), FilterError> {
    let n = match e {
        Expr::Or(..) | Expr::In { .. } => or_leaves(e),
        _ => 0,
    };
    if n > MAX_OR_VALUES {
        return Err(FilterError {
            code: "Request_UnsupportedQuery",
            message: format!(
                "Too many child clauses specified in search filter expression containing 'OR' operators: {n}. Max allowed: {MAX_OR_VALUES}."
            ),
        });
    }
    match e {
        Expr::And(a, b) => {
            check_or_width(a)?;
            check_or_width(b)
        }
        Expr::Not(a) => check_or_width(a),
        _ => Ok(()),
    }
}

fn string_prop(p: &str) -> bool {
    matches!(p, "id" | "displayName" | "mailNickname" | "mail")
}

fn check(e: &Expr, advanced: bool) -> Result<(), FilterError> {
    match e {
        Expr::And(a, b) | Expr::Or(a, b) => {
            check(a, advanced)?;
            check(b, advanced)
        }
        Expr::Not(a) => {
            if !advanced {
                return Err(needs_advanced("not"));
            }
            check(a, advanced)
        }
        Expr::Cmp { prop, ne, lit } => {
            let Some(p) = canonical(prop) else {
                return Err(unknown_or_unsupported(prop));
            };
            if *ne && !advanced {
                return Err(needs_advanced("ne"));
            }
            match p {
                _ if string_prop(p) => match lit {
                    Lit::Str(_) => Ok(()),
                    Lit::Null if advanced => Ok(()),
                    other => Err(type_mismatch("Edm.String", other)),
                },
                "securityEnabled" | "mailEnabled" => match lit {
                    Lit::Bool(_) => Ok(()),
                    other => Err(type_mismatch("Edm.Boolean", other)),
                },
                "hasMembersWithLicenseErrors" => match lit {
                    Lit::Bool(true) if !*ne => Ok(()),
                    Lit::Bool(_) => Err(unknown_or_unsupported(p)),
                    other => Err(type_mismatch("Edm.Boolean", other)),
                },
                _ => Err(unknown_or_unsupported(p)),
            }
        }
        Expr::In { prop, lits } => {
            let Some(p) = canonical(prop).filter(|p| string_prop(p)) else {
                return Err(unknown_or_unsupported(prop));
            };
            match lits.iter().find(|l| !matches!(l, Lit::Str(_))) {
                Some(bad) => Err(type_mismatch("Edm.String", bad)),
                None => {
                    let _ = p;
                    Ok(())
                }
            }
        }
        Expr::Func { name, prop, arg } => {
            let ok_prop =
                canonical(prop).filter(|p| matches!(*p, "displayName" | "mailNickname" | "mail"));
            match name.as_str() {
                "startswith" => {}
                "endswith" if advanced => {}
                "endswith" => return Err(needs_advanced("endsWith")),
                other => {
                    return Err(FilterError {
                        code: "Request_UnsupportedQuery",
                        message: format!("Unsupported query: function '{other}' is not supported."),
                    });
                }
            }
            if ok_prop.is_none() {
                return Err(unknown_or_unsupported(prop));
            }
            match arg {
                Lit::Str(_) => Ok(()),
                other => Err(type_mismatch("Edm.String", other)),
            }
        }
        Expr::Any {
            collection,
            var,
            body,
        } => {
            let coll = canonical(collection);
            match (coll, body.as_ref()) {
                (
                    Some("assignedLicenses"),
                    Expr::Cmp {
                        prop,
                        ne: false,
                        lit,
                    },
                ) if prop.eq_ignore_ascii_case(&format!("{var}/skuId")) => match lit {
                    Lit::Guid(_) => Ok(()),
                    other => Err(type_mismatch("Edm.Guid", other)),
                },
                (
                    Some("groupTypes"),
                    Expr::Cmp {
                        prop,
                        ne: false,
                        lit,
                    },
                ) if prop == var => match lit {
                    Lit::Str(_) => Ok(()),
                    other => Err(type_mismatch("Edm.String", other)),
                },
                (Some(c), _) => Err(unknown_or_unsupported(c)),
                (None, _) => Err(unknown_or_unsupported(collection)),
            }
        }
    }
}

/// The facts about one group that filters look at.
pub(crate) struct Row<'a> {
    pub(crate) id: &'a str,
    pub(crate) display_name: &'a str,
    pub(crate) mail_nickname: Option<&'a str>,
    pub(crate) mail: Option<&'a str>,
    pub(crate) security_enabled: bool,
    pub(crate) mail_enabled: bool,
    pub(crate) group_types: &'a [String],
    pub(crate) sku_ids: Vec<&'a str>,
    pub(crate) has_errors: bool,
}

impl<'a> Row<'a> {
    /// The row of `g`, given what the licensing state knows of it: the SKUs it holds and
    /// whether members have license errors.
    pub(crate) fn of(
        g: &'a crate::tenant::Group,
        sku_ids: Vec<&'a str>,
        has_errors: bool,
    ) -> Row<'a> {
        Row {
            id: &g.id,
            display_name: &g.display_name,
            mail_nickname: g.mail_nickname.as_deref(),
            mail: g.mail.as_deref(),
            security_enabled: g.security_enabled,
            mail_enabled: g.mail_enabled,
            group_types: &g.group_types,
            sku_ids,
            has_errors,
        }
    }

    fn string(&self, prop: &str) -> Option<&str> {
        match canonical(prop)? {
            "id" => Some(self.id),
            "displayName" => Some(self.display_name),
            "mailNickname" => self.mail_nickname,
            "mail" => self.mail,
            _ => None,
        }
    }
}

/// Evaluates a validated filter. String comparisons are case-insensitive, as in Entra.
pub(crate) fn eval(e: &Expr, row: &Row<'_>) -> bool {
    let eq = |a: Option<&str>, b: &str| a.is_some_and(|a| a.eq_ignore_ascii_case(b));
    match e {
        Expr::And(a, b) => eval(a, row) && eval(b, row),
        Expr::Or(a, b) => eval(a, row) || eval(b, row),
        Expr::Not(a) => !eval(a, row),
        Expr::Cmp { prop, ne, lit } => {
            let hit = match (canonical(prop), lit) {
                (Some("securityEnabled"), Lit::Bool(b)) => row.security_enabled == *b,
                (Some("mailEnabled"), Lit::Bool(b)) => row.mail_enabled == *b,
                (Some("hasMembersWithLicenseErrors"), Lit::Bool(b)) => row.has_errors == *b,
                (_, Lit::Str(s)) => eq(row.string(prop), s),
                (_, Lit::Null) => row.string(prop).is_none(),
                _ => false,
            };
            hit != *ne
        }
        Expr::In { prop, lits } => lits.iter().any(|l| match l {
            Lit::Str(s) => eq(row.string(prop), s),
            _ => false,
        }),
        Expr::Func { name, prop, arg } => {
            let (Some(v), Lit::Str(a)) = (row.string(prop), arg) else {
                return false;
            };
            let (v, a) = (v.to_lowercase(), a.to_lowercase());
            if name == "startswith" {
                v.starts_with(&a)
            } else {
                v.ends_with(&a)
            }
        }
        Expr::Any {
            collection, body, ..
        } => match (canonical(collection), body.as_ref()) {
            (
                Some("assignedLicenses"),
                Expr::Cmp {
                    lit: Lit::Guid(g), ..
                },
            ) => row.sku_ids.iter().any(|s| s.eq_ignore_ascii_case(g)),
            (
                Some("groupTypes"),
                Expr::Cmp {
                    lit: Lit::Str(t), ..
                },
            ) => row.group_types.iter().any(|s| s.eq_ignore_ascii_case(t)),
            _ => false,
        },
    }
}
