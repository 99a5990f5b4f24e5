//! Reading the live state with as few requests as Graph's limits allow.
//!
//! Request plan of [`GraphClient::read_live`]:
//! 1. `GET /organization` and `GET /subscribedSkus`, and, when the query names groups by display
//!    name, `GET /groups/$count` (`ConsistencyLevel: eventual`, one `$batch`), all in parallel;
//! 2. for each device SKU the tenant has, its holders:
//!    `GET /groups?$filter=assignedLicenses/any(x:x/skuId eq GUID)&$select=…&$top=999`, all pages;
//! 3. the query's group ids not found among the holders, and its display names, through `$batch`
//!    items of `id in (…)` / `displayName in (…)` filters (15 values each: a filter with `in`
//!    takes at most 15 expressions by default, `docs/concepts/filter-query-parameter.md`; 20
//!    items per batch, `docs/concepts/json-batching.md`). Every name is looked up, also one a
//!    holder already carries: display names are not unique, and a second group with the same
//!    name must make the name ambiguous online exactly as in a snapshot. Two cheap signals keep
//!    this bounded: when the tenant has no more groups (`$count`) than the holders already read,
//!    there is no other group to find and only the missing names are looked up; and when
//!    listing every group (⌈groups/999⌉ pages) costs fewer requests than the batched filters
//!    (⌈⌈names/15⌉/20⌉), every group is listed instead;
//! 4. for names still not found, the groups whose names start like them (one
//!    `startswith(displayName,'abc')` item per name, first page only, at most
//!    [`MAX_SUGGESTION_LOOKUPS`] names), so the planner can say "did you mean" with the same
//!    candidates a snapshot (which holds every group) offers.
//!
//! With `include_all_groups`, steps 2 to 4 are replaced by one listing of every group. In steady
//! state (every group of a tenant holds its SKU, every named group exists) step 3 sends nothing,
//! so 10,000 groups cost 3 + ⌈10,000/999⌉ requests, plus one page per other device SKU.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use devlic_model::{
    CaselessName, GroupId, LicenseErrorMember, LiveState, MemberCounts, SkuId, StateSource,
    known_skus,
};

use crate::batch::{BatchGet, ItemResponse, MAX_BATCH, by_group, per_group_items};
use crate::client::GraphClient;
use crate::error::GraphError;
use crate::query;
use crate::wire::{Organization, Page, SubscribedSku, WireErrorMember, WireGroup};

/// At most this many not-found names get a `startswith` lookup for "did you mean" (two
/// `$batch` requests); a spec with more unknown names is wrong in bulk, not by a typo.
pub const MAX_SUGGESTION_LOOKUPS: usize = 40;

/// A device SKU named by id or by part number (the model's selector, shared with the spec).
pub use devlic_model::SkuSelector;

/// What [`GraphClient::read_live`] must cover.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveQuery {
    /// Device SKUs beyond [`known_skus::ALL`] (a spec's `settings.deviceSkus`).
    pub device_skus: Vec<SkuSelector>,
    /// Groups the spec names by id.
    pub group_ids: Vec<GroupId>,
    /// Groups the spec names by display name.
    pub group_names: Vec<String>,
    /// List every group of the tenant (for `devlic snapshot`, so any spec can be planned later).
    pub include_all_groups: bool,
}

impl GraphClient {
    /// Reads the live state.
    ///
    /// The result keeps [`LiveState`]'s invariant: `groups` holds every group that holds one of
    /// the device SKUs (known ones plus `query.device_skus`) and every group `query` names that
    /// exists, including every group that shares a display name the query uses (so a live plan
    /// reports an ambiguous name as a snapshot does), plus, for a name no group has, the groups
    /// whose names start like it (for "did you mean"). The module comment has the request plan
    /// and its cost. Member counts and license errors are not read here: see
    /// [`GraphClient::read_member_counts`] and [`GraphClient::read_license_errors`].
    pub async fn read_live(&self, query: &LiveQuery) -> Result<LiveState, GraphError> {
        let t = self.transport();
        let org_url = t.url("/organization?$select=id,displayName,verifiedDomains")?;
        let sku_url = t.url("/subscribedSkus")?;
        let count_needed = !query.include_all_groups && !query.group_names.is_empty();
        let (orgs, skus, total_groups) = futures::future::join3(
            t.get_all::<Organization>(org_url, Vec::new()),
            t.get_all::<SubscribedSku>(sku_url, Vec::new()),
            async {
                if count_needed {
                    self.count_groups().await
                } else {
                    None
                }
            },
        )
        .await;
        let tenant = orgs?
            .into_iter()
            .next()
            .ok_or_else(|| GraphError::Malformed {
                path: "/organization".to_owned(),
                detail: "no organization in the response".to_owned(),
                request_id: None,
            })?
            .into_tenant();
        let skus: Vec<_> = skus?.into_iter().map(SubscribedSku::into_model).collect();

        let device_skus: BTreeSet<SkuId> = skus
            .iter()
            .filter(|s| known_skus::is_device_sku(s.sku_id, &s.sku_part_number, &query.device_skus))
            .map(|s| s.sku_id)
            .collect();

        let mut groups: BTreeMap<GroupId, devlic_model::Group> = BTreeMap::new();
        if query.include_all_groups {
            let url = t.url(&query::all_groups())?;
            for g in t.get_all::<WireGroup>(url, Vec::new()).await? {
                groups.insert(g.id(), g.into_model());
            }
        } else {
            let listings = futures::future::join_all(device_skus.iter().map(|&sku| async move {
                let url = t.url(&query::groups_filtered(&query::holders_filter(sku)))?;
                t.get_all::<WireGroup>(url, Vec::new()).await
            }))
            .await;
            for listing in listings {
                for g in listing? {
                    groups.insert(g.id(), g.into_model());
                }
            }
            // No more groups in the tenant than the holders: no other group can share a name.
            let every_group_known = total_groups.is_some_and(|n| n <= groups.len() as u64);
            for g in self
                .resolve_named(query, &groups, every_group_known, total_groups)
                .await?
            {
                groups.insert(g.id(), g.into_model());
            }
            for g in self.suggestion_candidates(query, &groups).await? {
                groups.entry(g.id()).or_insert_with(|| g.into_model());
            }
        }

        Ok(LiveState {
            tenant,
            source: StateSource::Graph {
                graph_url: self.graph_url().as_str().trim_end_matches('/').to_owned(),
            },
            taken_at: jiff::Timestamp::now(),
            skus,
            groups,
            allotments: Vec::new(),
            backend: None,
        })
    }

    /// Ids of the groups whose last license processing left members with errors, from one
    /// paged listing with `$filter=hasMembersWithLicenseErrors eq true` (a filter-only property,
    /// never returned). It lets a steady-state run report devices left unlicensed without
    /// reading the members of every group.
    pub async fn read_groups_with_license_errors(&self) -> Result<Vec<GroupId>, GraphError> {
        #[derive(serde::Deserialize)]
        struct IdOnly {
            id: GroupId,
        }
        let t = self.transport();
        let url = t.url(&format!(
            "/groups?$filter={}&$select=id&$top={}",
            query::encode_query_value("hasMembersWithLicenseErrors eq true"),
            query::MAX_TOP
        ))?;
        let rows: Vec<IdOnly> = t.get_all(url, Vec::new()).await?;
        Ok(rows.into_iter().map(|r| r.id).collect())
    }

    /// The number of groups in the tenant (`GET /groups/$count` with `ConsistencyLevel:
    /// eventual`, documented in `api-reference/v1.0/api/group-list.md`), or `None` when Graph
    /// does not answer it: then every name is looked up, which is always correct. The count is
    /// eventually consistent; a group created seconds ago may be missing from it.
    async fn count_groups(&self) -> Option<u64> {
        let item = BatchGet::new("/groups/$count").eventual();
        let answer = self
            .transport()
            .batch_get(&[item])
            .await
            .into_iter()
            .next()?;
        match answer
            .and_then(ItemResponse::ensure_success)
            .and_then(|a| a.count())
        {
            Ok(n) => Some(n),
            Err(e) => {
                tracing::debug!(error = %e, "no group count; every display name is looked up");
                None
            }
        }
    }

    /// Looks up the named groups: ids not among `found`, and every display name (or, when
    /// `every_group_known`, only the names not among `found`), via `$batch`ed `in` filters, or
    /// by listing every group when that takes fewer requests.
    async fn resolve_named(
        &self,
        query: &LiveQuery,
        found: &BTreeMap<GroupId, devlic_model::Group>,
        every_group_known: bool,
        total_groups: Option<u64>,
    ) -> Result<Vec<WireGroup>, GraphError> {
        let ids: Vec<GroupId> = query
            .group_ids
            .iter()
            .filter(|id| !found.contains_key(id))
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let names: Vec<&str> = {
            // Same comparison as LiveState::groups_named (ASCII case-insensitive).
            let known: HashSet<CaselessName<'_>> = if every_group_known {
                found
                    .values()
                    .map(|g| CaselessName(&g.display_name))
                    .collect()
            } else {
                HashSet::new()
            };
            let mut seen = HashSet::new();
            query
                .group_names
                .iter()
                .filter(|n| {
                    let name = CaselessName(n);
                    !known.contains(&name) && seen.insert(name)
                })
                .map(String::as_str)
                .collect()
        };
        let filters =
            ids.len().div_ceil(query::MAX_IN_VALUES) + names.len().div_ceil(query::MAX_IN_VALUES);
        if filters == 0 {
            return Ok(Vec::new());
        }
        let t = self.transport();
        if let Some(total) = total_groups {
            let listing = total.div_ceil(u64::from(query::MAX_TOP)).max(1);
            if listing < filters.div_ceil(MAX_BATCH) as u64 {
                let url = t.url(&query::all_groups())?;
                return t.get_all::<WireGroup>(url, Vec::new()).await;
            }
        }
        let mut items = Vec::with_capacity(filters);
        for chunk in ids.chunks(query::MAX_IN_VALUES) {
            items.push(BatchGet::new(query::groups_filtered(&query::ids_filter(
                chunk,
            )?)));
        }
        for chunk in names.chunks(query::MAX_IN_VALUES) {
            items.push(BatchGet::new(query::groups_filtered(&query::names_filter(
                chunk,
            )?)));
        }
        let mut out = Vec::new();
        for groups in t.batch_pages::<WireGroup>(&items).await {
            out.extend(groups?);
        }
        Ok(out)
    }

    /// For the query's names no group has, the groups whose names start with the same three
    /// letters or digits (one `startswith` item per distinct prefix, first page of up to 999
    /// only, at most [`MAX_SUGGESTION_LOOKUPS`] prefixes). `startswith` on `displayName` needs
    /// no advanced query parameters (`docs/concepts/aad-advanced-queries.md`, groups table) and
    /// compares case-insensitively, like the planner.
    async fn suggestion_candidates(
        &self,
        query: &LiveQuery,
        found: &BTreeMap<GroupId, devlic_model::Group>,
    ) -> Result<Vec<WireGroup>, GraphError> {
        let known: BTreeSet<String> = found
            .values()
            .map(|g| g.display_name.to_ascii_lowercase())
            .collect();
        let prefixes: BTreeSet<String> = query
            .group_names
            .iter()
            .filter(|n| !known.contains(&n.to_ascii_lowercase()))
            .filter_map(|n| suggestion_prefix(n))
            .take(MAX_SUGGESTION_LOOKUPS)
            .collect();
        if prefixes.is_empty() {
            return Ok(Vec::new());
        }
        let items: Vec<BatchGet> = prefixes
            .iter()
            .map(|p| {
                BatchGet::new(query::groups_filtered(&format!(
                    "startswith(displayName,{})",
                    query::odata_string(p)
                )))
            })
            .collect();
        let mut out = Vec::new();
        for page in self.transport().batch_json::<Page<WireGroup>>(&items).await {
            out.extend(page?.value);
        }
        Ok(out)
    }

    /// Transitive member counts (devices, nested groups, everything else) of `groups`, with one
    /// `$batch` item per group where one suffices. Groups that no longer exist are left out of
    /// the map.
    ///
    /// The item is the first page of `transitiveMembers?$select=id&$top=999`
    /// (api-reference/v1.0/api/group-list-transitivemembers.md): every member comes with its
    /// `@odata.type`, so a group of up to 999 members is counted exactly from that one answer,
    /// users and nested groups included, without the three `$count` items per group this used to
    /// send. Only a group with more members (the page has a `@odata.nextLink`) costs three more
    /// items: `transitiveMembers/$count` and its `microsoft.graph.device` and
    /// `microsoft.graph.group` casts, with `ConsistencyLevel: eventual`
    /// (concepts/aad-advanced-queries.md). 5,000 groups thus cost ⌈5,000/20⌉ = 250 `$batch`
    /// requests in one wave instead of 750.
    pub async fn read_member_counts(
        &self,
        groups: &[GroupId],
    ) -> Result<BTreeMap<GroupId, MemberCounts>, GraphError> {
        #[derive(serde::Deserialize)]
        struct Member {
            #[serde(rename = "@odata.type", default)]
            odata_type: Option<String>,
        }
        let groups = crate::batch::unique_sorted(groups);
        let items: Vec<BatchGet> = groups
            .iter()
            .map(|g| {
                BatchGet::new(format!(
                    "/groups/{g}/transitiveMembers?$select=id&$top={}",
                    query::MAX_TOP
                ))
            })
            .collect();
        let firsts = self.transport().batch_json::<Page<Member>>(&items).await;
        let mut out = BTreeMap::new();
        let mut large = Vec::new();
        for (&g, first) in groups.iter().zip(firsts) {
            let page = match first {
                Ok(page) => page,
                Err(e) if e.is_not_found() => continue,
                Err(e) => return Err(e),
            };
            let mut counts = MemberCounts::default();
            let mut typed = true;
            for m in &page.value {
                match m.odata_type.as_deref().map(|t| t.trim_start_matches('#')) {
                    Some("microsoft.graph.device") => counts.devices += 1,
                    Some("microsoft.graph.group") => counts.groups += 1,
                    Some(_) => counts.non_devices += 1,
                    None => typed = false,
                }
            }
            // More than one page, or members without a type to tell devices apart: count them.
            if page.next_link.is_some() || !typed {
                large.push(g);
            } else {
                out.insert(g, counts);
            }
        }
        if !large.is_empty() {
            out.extend(self.count_members_with_count_items(&large).await?);
        }
        Ok(out)
    }

    /// Member counts through three `$count` items per group (total, devices, nested groups),
    /// packed 20 to a `$batch`: for the groups one page of members cannot count.
    async fn count_members_with_count_items(
        &self,
        groups: &[GroupId],
    ) -> Result<BTreeMap<GroupId, MemberCounts>, GraphError> {
        let items: Vec<BatchGet> = groups
            .iter()
            .flat_map(|g| {
                [
                    format!("/groups/{g}/transitiveMembers/$count"),
                    format!("/groups/{g}/transitiveMembers/microsoft.graph.device/$count"),
                    format!("/groups/{g}/transitiveMembers/microsoft.graph.group/$count"),
                ]
            })
            .map(|u| BatchGet::new(u).eventual())
            .collect();
        let mut results = self.transport().batch_get(&items).await.into_iter();
        let mut out = BTreeMap::new();
        for &g in groups {
            let (Some(total), Some(devices), Some(nested)) =
                (results.next(), results.next(), results.next())
            else {
                break;
            };
            let counts = [total, devices, nested].map(|r| r.and_then(|i| i.ensure_success()));
            if counts
                .iter()
                .any(|c| matches!(c, Err(e) if e.is_not_found()))
            {
                continue;
            }
            let [total, devices, nested] = counts;
            let (total, devices) = (total?.count()?, devices?.count()?);
            let nested = match nested {
                Ok(item) => item.count()?,
                // Graph documents the `microsoft.graph.group` cast on transitiveMembers, but a
                // deployment that rejects it (400) should not block planning: count nested
                // groups as none and say so.
                Err(GraphError::Service { status: 400, .. }) => {
                    tracing::warn!(group = %g, "nested-group count not supported; assuming none");
                    0
                }
                Err(e) => return Err(e),
            };
            out.insert(
                g,
                MemberCounts {
                    devices,
                    groups: nested,
                    non_devices: total.saturating_sub(devices).saturating_sub(nested),
                },
            );
        }
        Ok(out)
    }

    /// Members with license errors of `groups` (one `$batch` item per group, extra pages
    /// followed). Groups that no longer exist are left out of the map.
    pub async fn read_license_errors(
        &self,
        groups: &[GroupId],
    ) -> Result<BTreeMap<GroupId, Vec<LicenseErrorMember>>, GraphError> {
        let (groups, items) =
            per_group_items(groups, |g| format!("/groups/{g}/membersWithLicenseErrors"));
        let pages = self
            .transport()
            .batch_pages::<WireErrorMember>(&items)
            .await;
        Ok(by_group(&groups, pages)?
            .into_iter()
            .map(|(g, members)| (g, members.into_iter().map(|m| m.into_model(g)).collect()))
            .collect())
    }

    /// Fills `members` and `license_errors` of the given groups of `live`. Member errors are
    /// read only for the groups Graph lists with `hasMembersWithLicenseErrors eq true` (one paged
    /// listing, the cheap signal): every other group gets an empty list without an item of its
    /// own. The counts and the errors are read concurrently.
    pub async fn read_group_details(
        &self,
        live: &mut LiveState,
        groups: &[GroupId],
    ) -> Result<(), GraphError> {
        self.read_group_details_flagged(live, groups, None).await
    }

    /// [`GraphClient::read_group_details`] with the groups Graph flags with license errors
    /// already listed ([`GraphClient::read_groups_with_license_errors`]) when `flagged` is given:
    /// a caller that listed them alongside [`GraphClient::read_live`] saves the listing and the
    /// round trip it would cost here.
    pub async fn read_group_details_flagged(
        &self,
        live: &mut LiveState,
        groups: &[GroupId],
        flagged: Option<&BTreeSet<GroupId>>,
    ) -> Result<(), GraphError> {
        let errors = async {
            let listed: BTreeSet<GroupId>;
            let flagged = match flagged {
                Some(f) => f,
                None => {
                    listed = self
                        .read_groups_with_license_errors()
                        .await?
                        .into_iter()
                        .collect();
                    &listed
                }
            };
            let with_errors: Vec<GroupId> = groups
                .iter()
                .filter(|g| flagged.contains(g))
                .copied()
                .collect();
            let mut errors: BTreeMap<GroupId, Vec<LicenseErrorMember>> =
                groups.iter().map(|&g| (g, Vec::new())).collect();
            if !with_errors.is_empty() {
                let read = self.read_license_errors(&with_errors).await?;
                for g in &with_errors {
                    match read.get(g) {
                        Some(members) => {
                            errors.insert(*g, members.clone());
                        }
                        // Gone since the listing: like every other read, leave it out.
                        None => {
                            errors.remove(g);
                        }
                    }
                }
            }
            Ok::<_, GraphError>(errors)
        };
        let (counts, errors) = futures::future::join(self.read_member_counts(groups), errors).await;
        let (counts, errors) = (counts?, errors?);
        for (id, c) in counts {
            if let Some(g) = live.groups.get_mut(&id) {
                g.members = Some(c);
            }
        }
        for (id, e) in errors {
            if let Some(g) = live.groups.get_mut(&id) {
                g.license_errors = Some(e);
            }
        }
        Ok(())
    }
}

/// The prefix a not-found name's candidates are looked up by: the first three letters or digits
/// of its first word (fewer when the word is shorter). A typo in those letters finds only the
/// groups a live read holds anyway (the holders); a snapshot would suggest more.
fn suggestion_prefix(name: &str) -> Option<String> {
    let folded = devlic_model::suggest::fold(name);
    let word = folded.split(' ').next()?;
    let prefix: String = word.chars().take(3).collect();
    (!prefix.is_empty()).then_some(prefix)
}
