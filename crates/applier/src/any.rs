//! The backend dispatcher: one value that is whichever backend a plan or spec names.
//!
//! The CLI and the tests hold an [`AnyBackend`] and never match on [`Backend`] themselves.
//! Adding a backend is a new module implementing [`LicensingBackend`], a variant here and one
//! arm in each `match` below (the compiler lists them).

use std::collections::BTreeMap;

use devlic_graph::{ApiVersion, GraphClient, LiveQuery};
use devlic_model::{Backend, GraphApi, GroupId, LicenseErrorMember, LiveState, SkuId};

use crate::backend::{
    Change, GroupLicenseState, LicensingBackend, ReadError, RequestPreview, UsageRightCount,
    WriteError, WriteReceipt,
};
use crate::{CloudLicensing, GroupLicensing};

/// Whichever licensing backend is in use.
#[derive(Debug)]
pub enum AnyBackend {
    /// Graph v1.0 `assignLicense`.
    Group(GroupLicensing),
    /// Graph beta cloudLicensing.
    Cloud(CloudLicensing),
}

/// The Graph API version a client for `backend` must be configured with.
pub fn api_version(backend: Backend) -> ApiVersion {
    match backend.capabilities().api {
        GraphApi::V1 => ApiVersion::V1,
        GraphApi::Beta => ApiVersion::Beta,
    }
}

impl AnyBackend {
    /// The backend `backend` over `client` (configured with [`api_version`]`(backend)`).
    pub fn new(backend: Backend, client: GraphClient) -> AnyBackend {
        match backend {
            Backend::GroupLicensing => AnyBackend::Group(GroupLicensing::new(client)),
            Backend::CloudLicensing => AnyBackend::Cloud(CloudLicensing::new(client)),
        }
    }

    /// The Graph client, e.g. for its request counters.
    pub fn client(&self) -> &GraphClient {
        match self {
            AnyBackend::Group(b) => b.client(),
            AnyBackend::Cloud(b) => b.client(),
        }
    }

    /// Adds member counts and license errors of `ids` to `live`. Both backends read these group
    /// properties the same way (the beta API serves the v1.0 ones too); a backend that reads
    /// them differently moves this into [`LicensingBackend`].
    pub async fn read_group_details(
        &self,
        live: &mut LiveState,
        ids: &[GroupId],
    ) -> Result<(), ReadError> {
        self.client()
            .read_group_details(live, ids)
            .await
            .map_err(ReadError::doing("reading member counts and license errors"))
    }

    /// [`AnyBackend::read_group_details`] with the groups Graph flags with license errors
    /// already listed ([`AnyBackend::groups_with_license_errors`]), so the listing is not sent
    /// again.
    pub async fn read_group_details_flagged(
        &self,
        live: &mut LiveState,
        ids: &[GroupId],
        flagged: &std::collections::BTreeSet<GroupId>,
    ) -> Result<(), ReadError> {
        self.client()
            .read_group_details_flagged(live, ids, Some(flagged))
            .await
            .map_err(ReadError::doing("reading member counts and license errors"))
    }

    /// The groups Graph lists with members it could not license (one paged request).
    pub async fn groups_with_license_errors(&self) -> Result<Vec<GroupId>, ReadError> {
        self.client()
            .read_groups_with_license_errors()
            .await
            .map_err(ReadError::doing("listing groups with license errors"))
    }
}

impl LicensingBackend for AnyBackend {
    fn backend(&self) -> Backend {
        match self {
            AnyBackend::Group(b) => b.backend(),
            AnyBackend::Cloud(b) => b.backend(),
        }
    }

    fn token_kind(&self) -> devlic_graph::auth::TokenKind {
        match self {
            AnyBackend::Group(b) => b.token_kind(),
            AnyBackend::Cloud(b) => b.token_kind(),
        }
    }

    /// Both backends write through one Graph client, whose counts these are.
    fn write_counters(&self) -> Option<crate::throughput::WriteCounters> {
        Some(crate::throughput::WriteCounters::of(&self.client().stats()))
    }

    async fn read_live(&self, query: &LiveQuery) -> Result<LiveState, ReadError> {
        match self {
            AnyBackend::Group(b) => b.read_live(query).await,
            AnyBackend::Cloud(b) => b.read_live(query).await,
        }
    }

    async fn read_groups(
        &self,
        ids: &[GroupId],
    ) -> Result<BTreeMap<GroupId, GroupLicenseState>, ReadError> {
        match self {
            AnyBackend::Group(b) => b.read_groups(ids).await,
            AnyBackend::Cloud(b) => b.read_groups(ids).await,
        }
    }

    async fn write(&self, group: GroupId, change: &Change) -> Result<WriteReceipt, WriteError> {
        match self {
            AnyBackend::Group(b) => b.write(group, change).await,
            AnyBackend::Cloud(b) => b.write(group, change).await,
        }
    }

    async fn license_errors(
        &self,
        ids: &[GroupId],
    ) -> Result<BTreeMap<GroupId, Vec<LicenseErrorMember>>, ReadError> {
        match self {
            AnyBackend::Group(b) => b.license_errors(ids).await,
            AnyBackend::Cloud(b) => b.license_errors(ids).await,
        }
    }

    fn preview(&self, group: GroupId, change: &Change) -> Vec<RequestPreview> {
        match self {
            AnyBackend::Group(b) => b.preview(group, change),
            AnyBackend::Cloud(b) => b.preview(group, change),
        }
    }

    async fn usage_rights(
        &self,
        targets: &[(GroupId, SkuId)],
        cap: usize,
    ) -> Option<Result<Vec<UsageRightCount>, ReadError>> {
        match self {
            AnyBackend::Group(b) => b.usage_rights(targets, cap).await,
            AnyBackend::Cloud(b) => b.usage_rights(targets, cap).await,
        }
    }
}
