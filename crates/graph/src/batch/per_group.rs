//! The per-group reads on top of `$batch`: one item per group, deserialised answers, every page
//! of a collection followed, and groups Graph no longer has left out.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;

use devlic_model::GroupId;

use super::{BatchGet, ItemResponse};
use crate::error::GraphError;
use crate::transport::Transport;
use crate::wire::Page;

/// One `$batch` GET per group: the items, in the order of [`unique_sorted`]`(groups)`.
pub(crate) fn per_group_items(
    groups: &[GroupId],
    url: impl Fn(GroupId) -> String,
) -> (Vec<GroupId>, Vec<BatchGet>) {
    let groups = unique_sorted(groups);
    let items = groups.iter().map(|g| BatchGet::new(url(*g))).collect();
    (groups, items)
}

impl Transport {
    /// Runs `items` through `$batch` and deserialises each successful answer as `T`.
    pub(crate) async fn batch_json<T: DeserializeOwned>(
        &self,
        items: &[BatchGet],
    ) -> Vec<Result<T, GraphError>> {
        self.batch_get(items)
            .await
            .into_iter()
            .map(|r| r.and_then(ItemResponse::ensure_success)?.json())
            .collect()
    }

    /// Runs `items` (collection GETs) through `$batch` and follows every answer's nextLinks.
    /// A 404 on a later page is not "not found" (the first page existed): it becomes
    /// [`GraphError::Malformed`], so no caller mistakes a half-read collection for a deleted
    /// group.
    pub(crate) async fn batch_pages<T: DeserializeOwned>(
        &self,
        items: &[BatchGet],
    ) -> Vec<Result<Vec<T>, GraphError>> {
        let mut out = Vec::with_capacity(items.len());
        for first in self.batch_json::<Page<T>>(items).await {
            out.push(match first {
                Ok(page) => self
                    .continue_pages(page, Vec::new())
                    .await
                    .map_err(|e| match e {
                        GraphError::Service {
                            status: 404,
                            path,
                            request_id,
                            ..
                        } => GraphError::Malformed {
                            path,
                            detail: "a later page of the collection answered 404".to_owned(),
                            request_id,
                        },
                        other => other,
                    }),
                Err(e) => Err(e),
            });
        }
        out
    }
}

/// Pairs per-group results with their groups: groups Graph no longer has (404) are left out;
/// any other error fails the whole read.
pub(crate) fn by_group<V>(
    groups: &[GroupId],
    results: Vec<Result<V, GraphError>>,
) -> Result<BTreeMap<GroupId, V>, GraphError> {
    let mut out = BTreeMap::new();
    for (g, result) in groups.iter().zip(results) {
        match result {
            Ok(v) => {
                out.insert(*g, v);
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// The distinct group ids of `groups`, sorted: one `$batch` item per group, in a stable order
/// (duplicate item ids would make Graph refuse the whole batch).
pub(crate) fn unique_sorted(groups: &[GroupId]) -> Vec<GroupId> {
    let mut ids = groups.to_vec();
    ids.sort();
    ids.dedup();
    ids
}
