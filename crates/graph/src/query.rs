//! Building Graph URLs: OData literals, `$filter` clauses, percent-encoding.

use std::fmt::Write as _;

use devlic_model::{GroupId, SkuId};

use crate::error::GraphError;
use crate::wire::GROUP_SELECT;

/// Graph's default limit of values in one `in (...)` filter clause.
pub const MAX_IN_VALUES: usize = 15;

/// Graph's page-size maximum for `/groups`.
pub const MAX_TOP: u32 = 999;

/// An OData string literal: single quotes, inner quotes doubled.
pub fn odata_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Percent-encodes a query value. Unreserved characters and the OData punctuation Graph documents
/// in examples (`( ) , : ' /`) stay readable; everything else (spaces, `&`, `#`, `+`, `%`,
/// non-ASCII) is encoded so a display name can never break out of its parameter.
pub fn encode_query_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~(),:'/".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// `/groups?$filter=...&$select=...&$top=999` for a filter clause.
pub fn groups_filtered(filter: &str) -> String {
    format!(
        "/groups?$filter={}&$select={GROUP_SELECT}&$top={MAX_TOP}",
        encode_query_value(filter)
    )
}

/// `/groups?$select=...&$top=999` (every group).
pub fn all_groups() -> String {
    format!("/groups?$select={GROUP_SELECT}&$top={MAX_TOP}")
}

/// The holders of a SKU: `assignedLicenses/any(x:x/skuId eq GUID)` (GUID unquoted, as Graph wants).
pub fn holders_filter(sku: SkuId) -> String {
    format!("assignedLicenses/any(x:x/skuId eq {sku})")
}

/// `id in ('…', …)` for at most [`MAX_IN_VALUES`] ids.
pub fn ids_filter(ids: &[GroupId]) -> Result<String, GraphError> {
    in_filter("id", ids.iter().map(|i| odata_string(&i.to_string())))
}

/// `displayName in ('…', …)` for at most [`MAX_IN_VALUES`] names.
pub fn names_filter(names: &[&str]) -> Result<String, GraphError> {
    in_filter("displayName", names.iter().map(|n| odata_string(n)))
}

fn in_filter(
    property: &str,
    values: impl ExactSizeIterator<Item = String>,
) -> Result<String, GraphError> {
    if values.len() == 0 || values.len() > MAX_IN_VALUES {
        return Err(GraphError::InvalidRequest(format!(
            "an `in` filter takes 1 to {MAX_IN_VALUES} values, got {}",
            values.len()
        )));
    }
    Ok(format!(
        "{property} in ({})",
        values.collect::<Vec<_>>().join(",")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_documented_filters() {
        let sku = SkuId::parse("ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7").unwrap();
        assert_eq!(
            groups_filtered(&holders_filter(sku)),
            "/groups?$filter=assignedLicenses/any(x:x/skuId%20eq%20ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7)\
             &$select=id,displayName,securityEnabled,mailEnabled,groupTypes,assignedLicenses,licenseProcessingState&$top=999"
        );
        assert_eq!(
            names_filter(&["O'Brien Lab", "A&B #1"]).unwrap(),
            "displayName in ('O''Brien Lab','A&B #1')"
        );
        assert_eq!(
            encode_query_value("displayName in ('A&B #1','Ünï+%')"),
            "displayName%20in%20('A%26B%20%231','%C3%9Cn%C3%AF%2B%25')"
        );
    }

    #[test]
    fn in_filters_respect_graph_limit() {
        let ids: Vec<GroupId> = (0..16)
            .map(|i| GroupId::parse(&format!("1a2b3c4d-0001-4a5b-8c6d-{i:012}")).unwrap())
            .collect();
        assert!(ids_filter(&ids[..15]).is_ok());
        assert!(ids_filter(&ids).is_err());
        assert!(ids_filter(&[]).is_err());
        assert_eq!(
            ids_filter(&ids[..1]).unwrap(),
            "id in ('1a2b3c4d-0001-4a5b-8c6d-000000000000')"
        );
    }
}
