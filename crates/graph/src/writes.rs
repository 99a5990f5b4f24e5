//! License writes (`assignLicense`) and the reads that verify them.
//!
//! A write is never resent blindly. When the outcome is unknown (connection dropped after
//! sending, timeout, truncated answer, 504) the call fails with [`GraphError::OutcomeUnknown`] and
//! the caller re-reads. When Graph refused it under load (429/503), the client waits as told,
//! re-reads the group, and resends only if the change is not visible yet.

use std::collections::{BTreeMap, BTreeSet};

use devlic_model::{AssignedLicense, GroupId, ProcessingState, ServicePlanId, SkuId};
use serde::Deserialize;
use url::Url;

use crate::batch::BatchGet;
use crate::client::GraphClient;
use crate::error::GraphError;
use crate::retry::retry_after_from;
use crate::transport::{Failure, Method, Request};
use crate::wire::{WireAssignedLicense, WireProcessingState};

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
    /// Requests sent for this write, the accepted one included (more than 1 after throttling).
    pub attempts: u32,
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

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireLicenseState {
    #[serde(default)]
    assigned_licenses: Option<Vec<WireAssignedLicense>>,
    #[serde(default)]
    license_processing_state: Option<WireProcessingState>,
}

impl WireLicenseState {
    fn into_model(self) -> GroupLicenseState {
        let mut assigned: Vec<AssignedLicense> = self
            .assigned_licenses
            .unwrap_or_default()
            .into_iter()
            .map(WireAssignedLicense::into_model)
            .collect();
        assigned.sort();
        GroupLicenseState {
            assigned_licenses: assigned,
            processing_state: self
                .license_processing_state
                .and_then(WireProcessingState::into_model),
        }
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
        let t = self.transport();
        let req = Request {
            method: Method::Post,
            url,
            headers: Vec::new(),
            body: Some(body),
        };
        let path = req.url.path().to_owned();
        let unknown =
            |detail: String, request_id: Option<String>, crid: String| GraphError::OutcomeUnknown {
                method: "POST".to_owned(),
                path: path.clone(),
                detail,
                request_id,
                client_request_id: crid,
            };
        let mut retry = 0u32;
        loop {
            let (crid, outcome) = t.send_once(&req).await;
            let resp = match outcome {
                Ok(resp) => resp,
                Err(Failure::Auth(e)) => return Err(GraphError::Auth(e)),
                Err(Failure::Unknown(detail)) => return Err(unknown(detail, None, crid)),
                // Graph answered, but we refused to read the answer: whether the write landed
                // is unknown, and resending could download the same flood again.
                Err(Failure::TooLarge { detail, request_id }) => {
                    return Err(unknown(detail, request_id, crid));
                }
                Err(Failure::NotSent(detail)) => {
                    // Nothing reached Graph: resending cannot double the write.
                    match t.plan_retry(retry, None) {
                        Ok(delay) => {
                            tokio::time::sleep(delay).await;
                            retry += 1;
                            continue;
                        }
                        Err(reason) => {
                            return Err(GraphError::RetriesExhausted {
                                reason,
                                method: "POST".to_owned(),
                                path,
                                attempts: retry + 1,
                                last: detail,
                                request_id: None,
                                client_request_id: crid,
                            });
                        }
                    }
                }
            };
            match resp.status {
                200..=299 => {
                    return Ok(WriteReceipt {
                        request_id: resp.request_id.unwrap_or_else(|| crid.clone()),
                        client_request_id: crid,
                        attempts: retry + 1,
                    });
                }
                504 => {
                    return Err(unknown(
                        "gateway timeout (504): Graph may have applied it".to_owned(),
                        resp.request_id,
                        crid,
                    ));
                }
                429 | 503 => {
                    let ra = retry_after_from(
                        |n| resp.headers.get(n).and_then(|v| v.to_str().ok()),
                        jiff::Timestamp::now(),
                    );
                    let delay =
                        t.plan_retry(retry, ra)
                            .map_err(|reason| GraphError::RetriesExhausted {
                                reason,
                                method: "POST".to_owned(),
                                path: path.clone(),
                                attempts: retry + 1,
                                last: format!("HTTP {}", resp.status),
                                request_id: resp.request_id.clone(),
                                client_request_id: crid.clone(),
                            })?;
                    tokio::time::sleep(delay).await;
                    retry += 1;
                    // Throttled writes may still have been applied: look before resending.
                    let now = self.read_group_license_state(group).await?;
                    if now.shows(add, remove) {
                        return Ok(WriteReceipt {
                            request_id: resp.request_id.unwrap_or_else(|| crid.clone()),
                            client_request_id: crid,
                            attempts: retry,
                        });
                    }
                }
                _ => return Err(resp.into_service_error()),
            }
        }
    }

    /// `GET /groups/{id}?$select=id,assignedLicenses,licenseProcessingState`.
    pub async fn read_group_license_state(
        &self,
        group: GroupId,
    ) -> Result<GroupLicenseState, GraphError> {
        let t = self.transport();
        let url = t.url(&format!("/groups/{group}?{STATE_SELECT}"))?;
        let wire: WireLicenseState = t.get_json(url, Vec::new()).await?;
        Ok(wire.into_model())
    }

    /// The license state of many groups through `$batch` (20 per request). Groups that do not
    /// exist are absent from the map.
    pub async fn read_groups_license_state(
        &self,
        groups: &[GroupId],
    ) -> Result<BTreeMap<GroupId, GroupLicenseState>, GraphError> {
        let groups = crate::batch::unique_sorted(groups);
        let items: Vec<BatchGet> = groups
            .iter()
            .map(|g| BatchGet::new(format!("/groups/{g}?{STATE_SELECT}")))
            .collect();
        let mut out = BTreeMap::new();
        for (g, result) in groups.iter().zip(self.transport().batch_get(&items).await) {
            match result.and_then(|r| r.ensure_success()) {
                Ok(item) => {
                    out.insert(*g, item.json::<WireLicenseState>()?.into_model());
                }
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
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
