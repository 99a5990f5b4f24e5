//! Device cloudLicensing: `GET /devices/{id}/cloudLicensing/usageRights`
//! (api-reference/beta/api/cloudlicensing-devicecloudlicensing-list-usagerights.md): the rights a
//! device holds through the licenses of the groups it is a (transitive) member of. A device
//! waiting for a unit (CountViolation) holds no right.

use serde_json::{Value, json};

use super::{Cloud, list, project, sku_filter};
use crate::http::SimResponse;
use crate::server::{Inner, ObjRef};

const USAGE_RIGHT_TYPE: &str = "microsoft.graph.cloudLicensing.usageRight";
const USAGE_RIGHT_PROPERTIES: &[&str] = &["id", "services", "skuId", "skuPartNumber"];

impl Cloud<'_> {
    /// `$select`, `$top` and `$filter` on `skuId` (`eq` or `in`), as the usageRight resource
    /// page lists (cloudlicensing-usageright.md).
    pub(crate) fn list_device_usage_rights(&self, inner: &Inner, device: &str) -> SimResponse {
        let o = match list::options(
            self.ctx,
            self.req,
            &["$select", "$top", "$filter", "$skiptoken"],
        ) {
            Ok(o) => o,
            Err(e) => return e,
        };
        if let Err(e) = self.check_select(&o.select, USAGE_RIGHT_PROPERTIES, USAGE_RIGHT_TYPE) {
            return e;
        }
        let skus = match o.filter.as_deref().map(sku_filter) {
            None => None,
            Some(Some(s)) => Some(s),
            Some(None) => {
                return self.ctx.unsupported(
                    "Invalid filter clause: only 'skuId eq GUID' and 'skuId in (GUID, ...)' are supported.",
                );
            }
        };
        let Some(ObjRef::Device(_)) = inner.objects.get(&device.to_ascii_lowercase()) else {
            return self.ctx.not_found(device);
        };
        let device = device.to_ascii_lowercase();
        let items = inner
            .lic
            .usage_rights(&device)
            .into_iter()
            .filter(|(sku, _)| skus.as_ref().is_none_or(|s| s.contains(sku)))
            .map(|(sku, disabled)| {
                let subscribed = inner.tenant.subscribed_skus.iter().find(|s| s.sku_id == sku);
                let services: Vec<Value> = subscribed
                    .map(|s| {
                        s.service_plans
                            .iter()
                            .filter(|p| !disabled.contains(&p.service_plan_id.to_ascii_lowercase()))
                            .map(|p| {
                                json!({
                                    "@odata.type": "microsoft.graph.cloudLicensing.service",
                                    "assignableTo": "device",
                                    "planId": p.service_plan_id,
                                    "planName": p.service_plan_name,
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let id = format!("{device}_{sku}");
                let v = json!({
                    "@odata.type": format!("#{USAGE_RIGHT_TYPE}"),
                    "id": id,
                    "services": services,
                    "skuId": sku,
                    "skuPartNumber": subscribed.map(|s| s.sku_part_number.clone()).unwrap_or_default(),
                });
                (id, project(v, &o.select))
            })
            .collect();
        let context = self.metadata(&format!("devices('{device}')/cloudLicensing/usageRights"));
        list::page(self.ctx, self.req, context, items, &o)
    }
}
