//! [`ListM2mTokens`]: the request [`M2m::list_tokens`](super::M2m::list_tokens) returns.

use crate::api::types;
use crate::client::Clerk;
use crate::error::{Error, Result};
use crate::ids::is_machine_id;
use crate::limits::MAX_M2M_TOKENS_PAGE;
use crate::pagination::{offset_stream, Page};
use crate::request::send;
use crate::validate;
use futures::{FutureExt, Stream};
use reqwest::StatusCode;

/// One of a machine's tokens, as listed.
pub type ListedM2mToken = types::GetM2mTokensResponseM2mTokensItem;

/// A list of one machine's opaque tokens: filters and paging. `.await` it
/// for one page, or call [`into_stream`](Self::into_stream) for every token.
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until it is awaited"]
pub struct ListM2mTokens<'a> {
    clerk: &'a Clerk,
    subject: String,
    params: Params,
    offset: u64,
}

/// The filters of a list, owned, for the stream's page fetches.
#[derive(Clone, Debug, Default)]
struct Params {
    revoked: Option<bool>,
    expired: Option<bool>,
    limit: Option<u32>,
}

impl<'a> ListM2mTokens<'a> {
    pub(super) fn new(clerk: &'a Clerk, subject: String) -> Self {
        Self { clerk, subject, params: Params::default(), offset: 0 }
    }

    /// List revoked tokens (`true`) or not (`false`, Clerk's default).
    pub fn revoked(mut self, revoked: bool) -> Self {
        self.params.revoked = Some(revoked);
        self
    }

    /// List expired tokens (`true`) or not (`false`, Clerk's default).
    pub fn expired(mut self, expired: bool) -> Self {
        self.params.expired = Some(expired);
        self
    }

    /// Page size, 1 to 100 (Clerk's default is 10; the stream's is 100).
    pub fn limit(mut self, limit: u32) -> Self {
        self.params.limit = Some(limit);
        self
    }

    /// Skips the first `offset` tokens.
    pub fn offset(mut self, offset: u64) -> Self {
        self.offset = offset;
        self
    }

    /// Fetches one page.
    pub async fn send(self) -> Result<Page<ListedM2mToken>> {
        fetch_page(self.clerk, &self.subject, &self.params, self.offset).await
    }

    /// Every token matching the filters, from the offset on, as a stream that
    /// fetches pages of the limit (default 100) until Clerk's `total_count`
    /// is reached. The first error ends the stream.
    pub fn into_stream(self) -> impl Stream<Item = Result<ListedM2mToken>> + Send + 'static {
        let clerk = self.clerk.clone();
        let subject = self.subject;
        let mut params = self.params;
        params.limit = Some(params.limit.unwrap_or(MAX_M2M_TOKENS_PAGE));
        offset_stream(self.offset, move |offset| {
            let (clerk, subject, params) = (clerk.clone(), subject.clone(), params.clone());
            async move { fetch_page(&clerk, &subject, &params, offset).await }.boxed()
        })
    }
}

crate::await_via_send!(ListM2mTokens => Page<ListedM2mToken>);

async fn fetch_page(
    clerk: &Clerk,
    subject: &str,
    params: &Params,
    offset: u64,
) -> Result<Page<ListedM2mToken>> {
    if !is_machine_id(subject) {
        return Err(Error::invalid("subject", "must be a machine id: `mch_` followed by 27 word characters"));
    }
    let mut request = clerk.raw().get_m2m_tokens().subject(subject);
    if let Some(limit) = params.limit {
        request = request.limit(validate::limit(limit, MAX_M2M_TOKENS_PAGE)?);
    }
    if offset != 0 {
        request = request.offset(offset);
    }
    if let Some(revoked) = params.revoked {
        request = request.revoked(revoked);
    }
    if let Some(expired) = params.expired {
        request = request.expired(expired);
    }
    let page = send(Box::pin(request.send())).await?;
    Ok(Page::new(page.m2m_tokens, total_count(page.total_count)?))
}

/// The spec's `total_count` is a JSON number (`f64`): accept only a whole,
/// non-negative value that fits a `u64`.
fn total_count(value: f64) -> Result<u64> {
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value < 18_446_744_073_709_551_616.0 {
        Ok(value as u64)
    } else {
        Err(Error::Decode {
            status: StatusCode::OK,
            path: "total_count".into(),
            message: format!("{value} is not a count"),
            snippet: String::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn total_count_must_be_a_count() {
        assert_eq!(total_count(3.0).unwrap(), 3);
        for bad in [-1.0, 1.5, f64::NAN, f64::INFINITY, 1e20] {
            assert!(matches!(total_count(bad), Err(Error::Decode { .. })), "{bad}");
        }
    }
}
