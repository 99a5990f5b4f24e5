//! `@odata.nextLink` paging: follow to the end, never off the configured Graph root, and never
//! forever.
//!
//! A hostile or broken server can hand out nextLinks without end. Three bounds stop it, each
//! with a [`GraphError::Malformed`] that names the bound: a link seen before in the same chain
//! (a cycle such as A→B→A), more pages than [`PagingLimits::max_pages`] (default
//! [`MAX_PAGES`]), or more bytes of pages in one collection than [`PagingLimits::max_bytes`]
//! (default [`MAX_COLLECTION_BYTES`]; each page is also capped at [`crate::MAX_BODY_BYTES`]).

use std::collections::HashSet;

use serde::de::DeserializeOwned;
use url::Url;

use crate::error::GraphError;
use crate::transport::Transport;
use crate::wire::Page;

/// Pages one collection may have (at 999 items a page, about five million items: far beyond
/// any tenant's groups).
pub const MAX_PAGES: usize = 5_000;

/// Bytes of page bodies one collection may total (a tenant with 100,000 groups pages about
/// 50 MB with devlic's `$select`).
pub const MAX_COLLECTION_BYTES: usize = 512 * 1024 * 1024;

/// Bounds on one paged collection (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PagingLimits {
    /// Pages one collection may have (default [`MAX_PAGES`]).
    pub max_pages: usize,
    /// Bytes of page bodies one collection may total (default [`MAX_COLLECTION_BYTES`]).
    pub max_bytes: usize,
}

impl Default for PagingLimits {
    fn default() -> Self {
        PagingLimits {
            max_pages: MAX_PAGES,
            max_bytes: MAX_COLLECTION_BYTES,
        }
    }
}

impl Transport {
    /// GETs `first` and every following page; `headers` are resent on every page (Graph does not
    /// carry `ConsistencyLevel` over by itself).
    pub async fn get_all<T: DeserializeOwned>(
        &self,
        first: Url,
        headers: Vec<(&'static str, String)>,
    ) -> Result<Vec<T>, GraphError> {
        let (page, bytes) = self
            .get_json_sized::<Page<T>>(first, headers.clone())
            .await?;
        self.follow_pages(page, bytes, headers).await
    }

    /// Follows `page`'s nextLink chain and returns all items, `page`'s first (`page` came from
    /// a `$batch` item, whose size is counted with the `$batch` answer).
    pub async fn continue_pages<T: DeserializeOwned>(
        &self,
        page: Page<T>,
        headers: Vec<(&'static str, String)>,
    ) -> Result<Vec<T>, GraphError> {
        self.follow_pages(page, 0, headers).await
    }

    async fn follow_pages<T: DeserializeOwned>(
        &self,
        page: Page<T>,
        first_bytes: usize,
        headers: Vec<(&'static str, String)>,
    ) -> Result<Vec<T>, GraphError> {
        let mut items = page.value;
        let mut next = page.next_link;
        let mut pages = 1usize;
        let mut bytes = first_bytes;
        let mut seen: HashSet<String> = HashSet::new();
        while let Some(link) = next {
            pages += 1;
            let refuse = |detail: String| GraphError::Malformed {
                path: crate::error::excerpt(link.as_bytes()),
                detail,
                request_id: None,
            };
            if !seen.insert(link.clone()) {
                return Err(refuse(format!(
                    "paging does not terminate: @odata.nextLink returns to a page already read (after {} pages)",
                    pages - 1
                )));
            }
            let limits = self.paging;
            if pages > limits.max_pages {
                return Err(refuse(format!(
                    "paging does not terminate: more than {} pages",
                    limits.max_pages
                )));
            }
            let url = Url::parse(&link)
                .map_err(|e| refuse(format!("@odata.nextLink is not an absolute URL: {e}")))?;
            // get_json refuses URLs off the Graph root before any token is attached.
            let (page, size): (Page<T>, usize) = self.get_json_sized(url, headers.clone()).await?;
            bytes = bytes.saturating_add(size);
            if bytes > limits.max_bytes {
                return Err(refuse(format!(
                    "the collection is larger than {} bytes over {pages} pages",
                    limits.max_bytes
                )));
            }
            items.extend(page.value);
            next = page.next_link;
        }
        Ok(items)
    }
}
