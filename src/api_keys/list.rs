//! [`ListApiKeys`]: the request [`ApiKeys::list`](super::ApiKeys::list) returns.

use super::key::ApiKey;
use crate::client::Clerk;
use crate::error::Result;
use crate::pagination::{List, Listing};
use crate::validate;
use futures::future::BoxFuture;
use std::num::NonZeroU64;

/// A list of one subject's API keys: filters and paging. `.await` it for
/// one page, or call [`into_stream`](List::into_stream) for every key.
pub type ListApiKeys<'a> = List<'a, ApiKeyFilters>;

/// The filters of a [`ListApiKeys`]; set them with its methods.
#[derive(Clone, Debug)]
pub struct ApiKeyFilters {
    subject: String,
    include_invalid: Option<bool>,
    query: Option<String>,
}

impl ApiKeyFilters {
    pub(super) fn new(subject: String) -> Self {
        Self { subject, include_invalid: None, query: None }
    }
}

impl ListApiKeys<'_> {
    /// Also list revoked and expired keys (`true`); Clerk's default lists
    /// only valid ones.
    pub fn include_invalid(self, include: bool) -> Self {
        self.filter(|filters| filters.include_invalid = Some(include))
    }

    /// Only keys matching this search text (Clerk searches the key's name and id).
    pub fn query(self, query: impl Into<String>) -> Self {
        self.filter(|filters| filters.query = Some(query.into()))
    }
}

impl Listing for ApiKeyFilters {
    type Item = ApiKey;
    const OPERATION: &'static str = "getApiKeys";

    fn fetch<'a>(
        &'a self,
        clerk: &'a Clerk,
        limit: Option<NonZeroU64>,
        offset: u64,
    ) -> BoxFuture<'a, Result<(Vec<ApiKey>, f64)>> {
        Box::pin(async move {
            let input = validate::input(Self::OPERATION);
            input.text("subject", &self.subject)?;
            let mut request = clerk.raw().get_api_keys().subject(self.subject.as_str());
            if let Some(limit) = limit {
                request = request.limit(limit);
            }
            if offset != 0 {
                request = request.offset(offset);
            }
            if let Some(include) = self.include_invalid {
                let include = if include { "true" } else { "false" };
                input.text("include_invalid", include)?;
                request = request.include_invalid(include);
            }
            if let Some(query) = &self.query {
                input.text("query", query)?;
                request = request.query(query.as_str());
            }
            let page = crate::request::call(|| request.clone().send()).await?;
            Ok((page.data.into_iter().map(ApiKey::from).collect(), page.total_count))
        })
    }
}
