//! Device usage rights (beta cloudLicensing): which subscriptions a group's devices really hold
//! after an apply, read through `$batch`.
//!
//! `GET /devices/{id}/cloudLicensing/usageRights`
//! (api-reference/beta/api/cloudlicensing-devicecloudlicensing-list-usagerights.md) lists the
//! `usageRight`s a device holds, directly or through the groups it is a member of; a device still
//! waiting for a unit holds none for that subscription. Needs `CloudLicensing-UsageRights.Read.All`
//! (application) or `CloudLicensing-UsageRights.Read` (delegated).

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use devlic_model::{GroupId, SkuId};

use crate::batch::{BatchGet, by_group, per_group_items};
use crate::client::GraphClient;
use crate::error::GraphError;

#[derive(Deserialize)]
struct WireId {
    id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireUsageRight {
    sku_id: SkuId,
}

impl GraphClient {
    /// Ids (lowercased, sorted) of the transitive device members of each group, one `$batch`
    /// item per group (`transitiveMembers/microsoft.graph.device?$select=id`), extra pages
    /// followed. Groups that no longer exist are left out of the map.
    pub async fn read_groups_device_ids(
        &self,
        groups: &[GroupId],
    ) -> Result<BTreeMap<GroupId, Vec<String>>, GraphError> {
        let (groups, items) = per_group_items(groups, |g| {
            format!("/groups/{g}/transitiveMembers/microsoft.graph.device?$select=id&$top=999")
        });
        let pages = self.transport().batch_pages::<WireId>(&items).await;
        Ok(by_group(&groups, pages)?
            .into_iter()
            .map(|(g, ids)| {
                let ids: BTreeSet<String> =
                    ids.into_iter().map(|d| d.id.to_ascii_lowercase()).collect();
                (g, ids.into_iter().collect())
            })
            .collect())
    }

    /// The subscriptions (SKU ids) each device holds a usage right for, one `$batch` item per
    /// device (`?$select=skuId`, 20 to a request, extra pages followed). Devices that no longer
    /// exist (404) are left out of the map; any other failure fails the read. Beta only.
    pub async fn read_device_usage_rights(
        &self,
        devices: &[String],
    ) -> Result<BTreeMap<String, BTreeSet<SkuId>>, GraphError> {
        self.require_beta()?;
        let devices: BTreeSet<String> = devices.iter().map(|d| d.to_ascii_lowercase()).collect();
        if let Some(bad) = devices
            .iter()
            .find(|d| d.is_empty() || d.contains(['/', '?', '#', '&', ' ']))
        {
            return Err(GraphError::InvalidRequest(format!(
                "{bad:?} is not a device id"
            )));
        }
        let items: Vec<BatchGet> = devices
            .iter()
            .map(|d| {
                BatchGet::new(format!(
                    "/devices/{d}/cloudLicensing/usageRights?$select=skuId"
                ))
            })
            .collect();
        let pages = self.transport().batch_pages::<WireUsageRight>(&items).await;
        let mut out = BTreeMap::new();
        for (device, result) in devices.into_iter().zip(pages) {
            match result {
                Ok(rights) => {
                    out.insert(device, rights.into_iter().map(|r| r.sku_id).collect());
                }
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
}
