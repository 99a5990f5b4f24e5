//! The Graph v1.0 group-licensing backend: one `assignLicense` call per change.

use std::collections::BTreeMap;

use devlic_graph::{AddLicense, GraphClient, LiveQuery};
use devlic_model::{Backend, GroupId, LicenseErrorMember, LiveState};

use crate::backend::{
    Change, GroupLicenseState, LicensingBackend, ReadError, RequestPreview, WriteError,
    WriteReceipt,
};

/// Writes through `POST /v1.0/groups/{id}/assignLicense`, which adds and removes in one call, so
/// a swap never leaves the devices unlicensed.
#[derive(Debug)]
pub struct GroupLicensing {
    client: GraphClient,
}

impl GroupLicensing {
    /// Wraps a Graph client (configured for `/v1.0`).
    pub fn new(client: GraphClient) -> GroupLicensing {
        GroupLicensing { client }
    }

    /// The client, e.g. for its request counters.
    pub fn client(&self) -> &GraphClient {
        &self.client
    }
}

fn adds(change: &Change) -> Vec<AddLicense> {
    change
        .add
        .iter()
        .map(|l| AddLicense {
            sku_id: l.sku_id,
            disabled_plans: l.disabled_plans.iter().copied().collect(),
        })
        .collect()
}

impl LicensingBackend for GroupLicensing {
    fn backend(&self) -> Backend {
        Backend::GroupLicensing
    }

    fn token_kind(&self) -> devlic_graph::auth::TokenKind {
        self.client.token_kind()
    }

    fn write_counters(&self) -> Option<crate::throughput::WriteCounters> {
        Some(crate::throughput::WriteCounters::of(&self.client.stats()))
    }

    async fn read_live(&self, query: &LiveQuery) -> Result<LiveState, ReadError> {
        self.client
            .read_live(query)
            .await
            .map_err(ReadError::doing("reading the tenant"))
    }

    async fn read_groups(
        &self,
        ids: &[GroupId],
    ) -> Result<BTreeMap<GroupId, GroupLicenseState>, ReadError> {
        let states = self
            .client
            .read_groups_license_state(ids)
            .await
            .map_err(ReadError::doing("reading the groups' license state"))?;
        Ok(states
            .into_iter()
            .map(|(id, s)| {
                (
                    id,
                    GroupLicenseState {
                        assigned_licenses: s.assigned_licenses,
                        processing_state: s.processing_state,
                    },
                )
            })
            .collect())
    }

    async fn write(&self, group: GroupId, change: &Change) -> Result<WriteReceipt, WriteError> {
        if change.move_from.is_some() {
            // v1.0 `assignLicense` names SKUs, not allotments: the planner never moves on this
            // backend, and a hand-made plan that does is refused rather than half-understood.
            return Err(WriteError::Unsupported {
                reason: "group-licensing cannot move a group between allotments; re-plan with \
                         settings.backend: cloud-licensing"
                    .to_owned(),
            });
        }
        self.client
            .assign_license(group, &adds(change), &change.remove)
            .await
            .map(|receipt| WriteReceipt {
                request_ids: vec![receipt.request_id],
                note: receipt.note,
            })
            .map_err(WriteError::from_graph)
    }

    async fn license_errors(
        &self,
        ids: &[GroupId],
    ) -> Result<BTreeMap<GroupId, Vec<LicenseErrorMember>>, ReadError> {
        self.client
            .read_license_errors(ids)
            .await
            .map_err(ReadError::doing("reading members with license errors"))
    }

    fn preview(&self, group: GroupId, change: &Change) -> Vec<RequestPreview> {
        match self
            .client
            .assign_license_request(group, &adds(change), &change.remove)
        {
            Ok((url, body)) => vec![RequestPreview {
                method: "POST".to_owned(),
                url: url.to_string(),
                body: Some(body),
            }],
            Err(e) => vec![RequestPreview {
                method: "POST".to_owned(),
                url: format!("(could not build the URL: {e})"),
                body: None,
            }],
        }
    }
}
