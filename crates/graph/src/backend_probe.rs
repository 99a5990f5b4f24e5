//! The one read `settings.backend: auto` chooses from: the tenant's cloudLicensing allotments.
//!
//! `GET /beta/admin/cloudLicensing/allotments` (microsoft-graph-docs-contrib
//! `api-reference/beta/api/cloudlicensing-admincloudlicensing-list-allotments.md`) lists the
//! allotments with their `assignableTo` (`api-reference/beta/resources/cloudlicensing-allotment.md`).
//! A 403 (the identity lacks the permission, or the tenant is not enabled) or a 404 (the API is
//! not there) is evidence too, not a failure: the choice is then group-licensing, and the plan
//! says which answer it got.

use devlic_model::AllotmentEvidence;

use crate::client::GraphClient;
use crate::error::GraphError;

impl GraphClient {
    /// Lists the allotments (one request for a tenant with fewer allotments than a page holds)
    /// and returns them as evidence; 403 and 404 answers become
    /// [`AllotmentEvidence::Unavailable`]. Needs a client built with
    /// [`crate::ApiVersion::Beta`].
    ///
    /// # Errors
    /// Any other failure (throttling past the retry budget, a 5xx, a transport error).
    pub async fn probe_allotments(&self) -> Result<AllotmentEvidence, GraphError> {
        match self.list_allotments().await {
            Ok(allotments) => Ok(AllotmentEvidence::Listed(allotments)),
            Err(GraphError::Service {
                status: status @ (403 | 404),
                code,
                ..
            }) => Ok(AllotmentEvidence::Unavailable {
                status,
                code: (code != "Unknown").then_some(code),
            }),
            Err(e) => Err(e),
        }
    }
}
