//! License writes (`assignLicense`) and the reads that verify them.
//!
//! A write is never resent blindly: it goes through the one write loop (`write_loop`), which
//! waits out throttling, re-reads before resending, and settles a lost response by re-reading
//! until the change shows or Graph's read-after-write lag has passed. `assignLicense` is
//! idempotent, so after that window it is sent again.

use std::collections::{BTreeMap, BTreeSet};

use devlic_model::{AssignedLicense, GroupId, ProcessingState, ServicePlanId, SkuId};
use serde::Deserialize;
use url::Url;

use crate::batch::{by_group, per_group_items};
use crate::client::GraphClient;
use crate::error::GraphError;
use crate::transport::Request;
use crate::wire::{WireAssignedLicense, WireProcessingState, sorted_licenses};
use crate::write_loop::WriteRule;

/// One license to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddLicense {
    /// The SKU.
    pub sku_id: SkuId,
    /// Service plans to switch off.
    pub disabled_plans: Vec<ServicePlanId>,
}

/// A write Graph accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteReceipt {
    /// Graph's `request-id` of the accepted request (our `client-request-id` if Graph sent none).
    pub request_id: String,
    /// The `client-request-id` we sent.
    pub client_request_id: String,
    /// Requests sent for this write, the accepted one included (more than 1 after throttling
    /// or a lost response).
    pub attempts: u32,
    /// What is known beyond "accepted at once": e.g. that a response was lost and a re-read
    /// showed the write had landed, or that it was sent again (see the `write_loop` module).
    pub note: Option<String>,
}

/// A group's license state, for verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupLicenseState {
    /// `assignedLicenses`, sorted.
    pub assigned_licenses: Vec<AssignedLicense>,
    /// `licenseProcessingState`; `None` when Graph reports none.
    pub processing_state: Option<ProcessingState>,
}

impl GroupLicenseState {
    /// True when the state already shows `add` (with the same disabled plans) and none of `remove`.
    pub fn shows(&self, add: &[AddLicense], remove: &[SkuId]) -> bool {
        let added = add.iter().all(|a| {
            let want: BTreeSet<ServicePlanId> = a.disabled_plans.iter().copied().collect();
            self.assigned_licenses
                .iter()
                .any(|l| l.sku_id == a.sku_id && l.disabled_plans == want)
        });
        let removed = remove
            .iter()
            .all(|r| !self.assigned_licenses.iter().any(|l| l.sku_id == *r));
        added && removed
    }
}

/// A group read with [`STATE_SELECT`]. `id` and `assignedLicenses` are required: a body
/// without them (or for another group) must not read as "this group holds nothing".
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireLicenseState {
    id: GroupId,
    assigned_licenses: Vec<WireAssignedLicense>,
    #[serde(default)]
    license_processing_state: Option<WireProcessingState>,
}

impl WireLicenseState {
    /// The state of `asked`, or [`GraphError::Malformed`] when the body is another group's.
    fn into_model(self, asked: GroupId) -> Result<GroupLicenseState, GraphError> {
        if self.id != asked {
            return Err(GraphError::Malformed {
                path: format!("/groups/{asked}"),
                detail: format!("the answer is for group {}, not the one asked", self.id),
                request_id: None,
            });
        }
        Ok(GroupLicenseState {
            assigned_licenses: sorted_licenses(self.assigned_licenses),
            processing_state: self
                .license_processing_state
                .and_then(WireProcessingState::into_model),
        })
    }
}

const STATE_SELECT: &str = "$select=id,assignedLicenses,licenseProcessingState";

/// The body of `assignLicense`: both arrays always present (Graph rejects a missing one).
pub fn assign_license_body(add: &[AddLicense], remove: &[SkuId]) -> serde_json::Value {
    serde_json::json!({
        "addLicenses": add.iter().map(|a| serde_json::json!({
            "skuId": a.sku_id.to_string(),
            "disabledPlans": a.disabled_plans.iter().map(ToString::to_string).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "removeLicenses": remove.iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}

impl GraphClient {
    /// The exact request [`GraphClient::assign_license`] sends (for `--dry-run`): URL and body.
    pub fn assign_license_request(
        &self,
        group: GroupId,
        add: &[AddLicense],
        remove: &[SkuId],
    ) -> Result<(Url, serde_json::Value), GraphError> {
        let url = self
            .transport()
            .url(&format!("/groups/{group}/assignLicense"))?;
        Ok((url, assign_license_body(add, remove)))
    }

    /// `POST /groups/{id}/assignLicense` adding `add` and removing `remove` in one call.
    pub async fn assign_license(
        &self,
        group: GroupId,
        add: &[AddLicense],
        remove: &[SkuId],
    ) -> Result<WriteReceipt, GraphError> {
        if add.is_empty() && remove.is_empty() {
            return Err(GraphError::InvalidRequest(
                "assignLicense needs something to add or remove".to_owned(),
            ));
        }
        let (url, body) = self.assign_license_request(group, add, remove)?;
        let req = Request::post(url, body);
        let rule = WriteRule::AssignLicense { group, add, remove };
        let sent = self.send_write(&req, rule).await?;
        Ok(WriteReceipt {
            request_id: sent.request_id,
            client_request_id: sent.client_request_id,
            attempts: sent.attempts,
            note: sent.note,
        })
    }

    /// `GET /groups/{id}?$select=id,assignedLicenses,licenseProcessingState`.
    pub async fn read_group_license_state(
        &self,
        group: GroupId,
    ) -> Result<GroupLicenseState, GraphError> {
        let t = self.transport();
        let url = t.url(&format!("/groups/{group}?{STATE_SELECT}"))?;
        let wire: WireLicenseState = t.get_json(url, Vec::new()).await?;
        wire.into_model(group)
    }

    /// The license state of many groups through `$batch` (20 per request). Groups that do not
    /// exist are absent from the map.
    pub async fn read_groups_license_state(
        &self,
        groups: &[GroupId],
    ) -> Result<BTreeMap<GroupId, GroupLicenseState>, GraphError> {
        let (groups, items) = per_group_items(groups, |g| format!("/groups/{g}?{STATE_SELECT}"));
        let states = self
            .transport()
            .batch_json::<WireLicenseState>(&items)
            .await;
        by_group(&groups, states)?
            .into_iter()
            .map(|(g, wire)| Ok((g, wire.into_model(g)?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sku(s: &str) -> SkuId {
        SkuId::parse(s).unwrap()
    }

    #[test]
    fn body_always_has_both_arrays() {
        let d1 = sku("ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7");
        let body = assign_license_body(
            &[AddLicense {
                sku_id: d1,
                disabled_plans: vec![],
            }],
            &[],
        );
        assert_eq!(
            body,
            serde_json::json!({"addLicenses":[{"skuId":"ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7","disabledPlans":[]}],"removeLicenses":[]})
        );
        let body = assign_license_body(&[], &[d1]);
        assert_eq!(
            body,
            serde_json::json!({"addLicenses":[],"removeLicenses":["ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7"]})
        );
    }

    #[test]
    fn shows_checks_adds_and_removes() {
        let d1 = sku("ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7");
        let edu = sku("e6564056-c8cb-4977-a87c-45c90fe87ea9");
        let state = GroupLicenseState {
            assigned_licenses: vec![AssignedLicense {
                sku_id: d1,
                disabled_plans: BTreeSet::new(),
                allotment_id: None,
            }],
            processing_state: None,
        };
        let add = [AddLicense {
            sku_id: d1,
            disabled_plans: vec![],
        }];
        assert!(state.shows(&add, &[edu]));
        assert!(!state.shows(&add, &[d1]));
        let add_disabled = [AddLicense {
            sku_id: d1,
            disabled_plans: vec![
                ServicePlanId::parse("3c994f28-87d5-4273-b07a-eb6190852599").unwrap(),
            ],
        }];
        assert!(!state.shows(&add_disabled, &[]));
    }
}
