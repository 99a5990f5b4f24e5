//! `@odata.nextLink` paging: follow to the end, never off the configured Graph root.

use serde::de::DeserializeOwned;
use url::Url;

use crate::error::GraphError;
use crate::transport::Transport;
use crate::wire::Page;

/// A safety stop against a server that hands out nextLinks forever (999 items a page makes this
/// ten million items, far beyond any tenant's groups).
pub const MAX_PAGES: usize = 10_000;

impl Transport {
    /// GETs `first` and every following page; `headers` are resent on every page (Graph does not
    /// carry `ConsistencyLevel` over by itself).
    pub async fn get_all<T: DeserializeOwned>(
        &self,
        first: Url,
        headers: Vec<(&'static str, String)>,
    ) -> Result<Vec<T>, GraphError> {
        let page: Page<T> = self.get_json(first, headers.clone()).await?;
        self.continue_pages(page, headers).await
    }

    /// Follows `page`'s nextLink chain and returns all items, `page`'s first.
    pub async fn continue_pages<T: DeserializeOwned>(
        &self,
        page: Page<T>,
        headers: Vec<(&'static str, String)>,
    ) -> Result<Vec<T>, GraphError> {
        let mut items = page.value;
        let mut next = page.next_link;
        let mut pages = 1usize;
        let mut previous: Option<String> = None;
        while let Some(link) = next {
            pages += 1;
            if pages > MAX_PAGES || previous.as_deref() == Some(link.as_str()) {
                return Err(GraphError::Malformed {
                    path: link,
                    detail: "paging does not terminate (nextLink repeats or too many pages)"
                        .to_owned(),
                    request_id: None,
                });
            }
            let url = Url::parse(&link).map_err(|e| GraphError::Malformed {
                path: link.clone(),
                detail: format!("@odata.nextLink is not an absolute URL: {e}"),
                request_id: None,
            })?;
            // get_json refuses URLs off the Graph root before any token is attached.
            let page: Page<T> = self.get_json(url, headers.clone()).await?;
            items.extend(page.value);
            previous = Some(link);
            next = page.next_link;
        }
        Ok(items)
    }
}
