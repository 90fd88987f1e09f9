//! Offset pagination, one way for every list operation: a [`List`] request
//! builder (filters, `limit`, `offset`), one [`Page`] when awaited, and a
//! stream over every page ([`List::into_stream`]).
//!
//! Each list operation of the crate is a `List` with its own filters
//! ([`ListMachines`](crate::machines::ListMachines),
//! [`ListM2mTokens`](crate::m2m::ListM2mTokens), ...). The page size is
//! checked against the operation's `limit` parameter in the spec, and
//! Clerk's `total_count` is read by one rule: a whole number, at least zero
//! (anything else is an [`Error::Decode`]).

use crate::client::Clerk;
use crate::defaults;
use crate::error::{Error, Result};
use crate::validate;
use futures::future::BoxFuture;
use futures::stream::{self, Stream, StreamExt, TryStreamExt};
use reqwest::StatusCode;
use std::num::NonZeroU64;

/// One page of a list, with the total the server reports.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Page<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// How many items the whole list holds (across all pages).
    pub total_count: u64,
}

impl<T> Page<T> {
    /// A page from its parts (for tests of code that consumes pages).
    pub fn new(items: Vec<T>, total_count: u64) -> Self {
        Self { items, total_count }
    }
}

mod sealed {
    use super::*;

    /// What one list operation fetches: implemented by the filters of each
    /// of the crate's lists, and only there.
    pub trait Listing: Clone + Send + Sync + 'static {
        /// One listed item.
        type Item: Send + 'static;
        /// The spec's `operationId` of the list (its `limit` is checked against it).
        const OPERATION: &'static str;

        /// Fetches the page at `offset`; its total count is as Clerk sent it.
        fn fetch<'a>(
            &'a self,
            clerk: &'a Clerk,
            limit: Option<NonZeroU64>,
            offset: u64,
        ) -> BoxFuture<'a, Result<(Vec<Self::Item>, f64)>>;
    }
}

pub(crate) use sealed::Listing;

/// A list request: the filters of one list operation, a page size and an
/// offset. `.await` it (or [`send`](Self::send)) for one page, or call
/// [`into_stream`](Self::into_stream) for every item.
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until it is awaited"]
pub struct List<'a, L> {
    clerk: &'a Clerk,
    filters: L,
    limit: Option<u32>,
    offset: u64,
}

impl<'a, L: Listing> List<'a, L> {
    pub(crate) fn new(clerk: &'a Clerk, filters: L) -> Self {
        Self { clerk, filters, limit: None, offset: 0 }
    }

    /// Changes the filters (for the list's own setters).
    pub(crate) fn filter(mut self, change: impl FnOnce(&mut L)) -> Self {
        change(&mut self.filters);
        self
    }

    /// Page size, within the bounds the spec states for the operation's
    /// `limit` (Clerk's default is 10; the stream's is
    /// [`defaults::STREAM_PAGE_SIZE`], or the spec's maximum when lower).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Skips the first `offset` items.
    pub fn offset(mut self, offset: u64) -> Self {
        self.offset = offset;
        self
    }

    /// Fetches one page.
    pub async fn send(self) -> Result<Page<L::Item>> {
        fetch(self.clerk, &self.filters, self.limit, self.offset).await
    }

    /// Every item matching the filters, from the offset on, as a stream that
    /// fetches pages of the limit until Clerk's `total_count` is reached or a
    /// page comes back empty (so a list that shrinks while it is read still
    /// ends). The first error ends the stream after being yielded.
    pub fn into_stream(self) -> impl Stream<Item = Result<L::Item>> + Send + 'static {
        let clerk = self.clerk.clone();
        let filters = self.filters;
        let limit = self.limit.or_else(|| Some(stream_page_size(L::OPERATION)));
        stream::try_unfold((self.offset, false), move |(offset, done)| {
            let (clerk, filters) = (clerk.clone(), filters.clone());
            async move {
                if done {
                    return Ok(None);
                }
                let page = fetch(&clerk, &filters, limit, offset).await?;
                let fetched = page.items.len() as u64;
                let next = offset + fetched;
                let done = fetched == 0 || next >= page.total_count;
                Ok(Some((stream::iter(page.items.into_iter().map(Ok)), (next, done))))
            }
        })
        .try_flatten()
        .boxed()
    }
}

impl<'a, L: Listing> std::future::IntoFuture for List<'a, L> {
    type Output = Result<Page<L::Item>>;
    type IntoFuture = BoxFuture<'a, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// The stream's page size: [`defaults::STREAM_PAGE_SIZE`], or the spec's
/// largest page when that is smaller.
fn stream_page_size(operation: &str) -> u32 {
    let largest = validate::input(operation).max_page_size().unwrap_or(u64::MAX);
    u32::try_from(largest.min(u64::from(defaults::STREAM_PAGE_SIZE))).unwrap_or(defaults::STREAM_PAGE_SIZE)
}

async fn fetch<L: Listing>(
    clerk: &Clerk,
    filters: &L,
    limit: Option<u32>,
    offset: u64,
) -> Result<Page<L::Item>> {
    let input = validate::input(L::OPERATION);
    let limit = limit.map(|limit| input.page_size(limit)).transpose()?;
    input.number("offset", offset)?;
    let (items, total_count) = filters.fetch(clerk, limit, offset).await?;
    Ok(Page::new(items, count(total_count)?))
}

/// Clerk's `total_count` (a JSON integer in some operations, a number in
/// others): a whole number from 0 to `u64::MAX`, else a decoding error.
fn count(value: f64) -> Result<u64> {
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
        assert_eq!(count(3.0).unwrap(), 3);
        assert_eq!(count(0.0).unwrap(), 0);
        for bad in [-1.0, 1.5, f64::NAN, f64::INFINITY, 1e20] {
            assert!(matches!(count(bad), Err(Error::Decode { .. })), "{bad}");
        }
    }

    #[test]
    fn streams_use_the_default_page_or_the_spec_maximum() {
        assert!(stream_page_size("ListMachines") <= defaults::STREAM_PAGE_SIZE);
        assert_eq!(stream_page_size("NoSuchOperation"), defaults::STREAM_PAGE_SIZE);
    }
}
