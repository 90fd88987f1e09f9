//! [`ListM2mTokens`]: the request [`M2m::list_tokens`](super::M2m::list_tokens) returns.

use crate::api::types;
use crate::client::Clerk;
use crate::error::Result;
use crate::pagination::{List, Listing};
use crate::validate;
use futures::future::BoxFuture;
use std::num::NonZeroU64;

/// One of a machine's tokens, as listed.
pub type ListedM2mToken = types::GetM2mTokensResponseM2mTokensItem;

/// A list of one machine's opaque tokens: filters and paging. `.await` it
/// for one page, or call [`into_stream`](List::into_stream) for every token.
pub type ListM2mTokens<'a> = List<'a, M2mTokenFilters>;

/// The filters of a [`ListM2mTokens`]; set them with its methods.
#[derive(Clone, Debug)]
pub struct M2mTokenFilters {
    subject: String,
    revoked: Option<bool>,
    expired: Option<bool>,
}

impl M2mTokenFilters {
    pub(super) fn new(subject: String) -> Self {
        Self { subject, revoked: None, expired: None }
    }
}

impl ListM2mTokens<'_> {
    /// List revoked tokens (`true`) or not (`false`, Clerk's default).
    pub fn revoked(self, revoked: bool) -> Self {
        self.filter(|filters| filters.revoked = Some(revoked))
    }

    /// List expired tokens (`true`) or not (`false`, Clerk's default).
    pub fn expired(self, expired: bool) -> Self {
        self.filter(|filters| filters.expired = Some(expired))
    }
}

impl Listing for M2mTokenFilters {
    type Item = ListedM2mToken;
    const OPERATION: &'static str = "getM2MTokens";

    fn fetch<'a>(
        &'a self,
        clerk: &'a Clerk,
        limit: Option<NonZeroU64>,
        offset: u64,
    ) -> BoxFuture<'a, Result<(Vec<ListedM2mToken>, f64)>> {
        Box::pin(async move {
            let input = validate::input(Self::OPERATION);
            input.text("subject", &self.subject)?;
            let mut request = clerk.raw().get_m2m_tokens().subject(self.subject.as_str());
            if let Some(limit) = limit {
                request = request.limit(limit);
            }
            if offset != 0 {
                request = request.offset(offset);
            }
            if let Some(revoked) = self.revoked {
                input.json("revoked", &revoked.into())?;
                request = request.revoked(revoked);
            }
            if let Some(expired) = self.expired {
                input.json("expired", &expired.into())?;
                request = request.expired(expired);
            }
            let page = crate::request::call(|| request.clone().send()).await?;
            Ok((page.m2m_tokens, page.total_count))
        })
    }
}
