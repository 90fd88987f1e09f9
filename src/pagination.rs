//! Offset pagination: one [`Page`], and a stream over all of them.

use crate::error::Result;
use futures::future::BoxFuture;
use futures::stream::{self, Stream, StreamExt, TryStreamExt};

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
    /// A page from its parts.
    pub fn new(items: Vec<T>, total_count: u64) -> Self {
        Self { items, total_count }
    }
}

/// Streams every item from `first_offset` on, one page at a time with
/// `fetch(offset)` (the page size is the caller's), until the reported `total_count` is reached or
/// a page comes back empty (so a list that shrinks while it is read still
/// ends). The first error ends the stream after being yielded.
pub(crate) fn offset_stream<'a, T, F>(first_offset: u64, fetch: F) -> impl Stream<Item = Result<T>> + 'a
where
    T: Send + 'a,
    F: Fn(u64) -> BoxFuture<'a, Result<Page<T>>> + Send + 'a,
{
    stream::try_unfold((first_offset, false), move |(offset, done)| {
        let page = (!done).then(|| fetch(offset));
        async move {
            let Some(page) = page else { return Ok(None) };
            let page = page.await?;
            let fetched = page.items.len() as u64;
            let next = offset + fetched;
            let done = fetched == 0 || next >= page.total_count;
            Ok(Some((stream::iter(page.items.into_iter().map(Ok)), (next, done))))
        }
    })
    .try_flatten()
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[tokio::test]
    async fn pages_until_total_count() {
        let calls = Arc::new(AtomicUsize::new(0));
        let seen = calls.clone();
        let items: Vec<u64> = offset_stream(0, move |offset| {
            seen.fetch_add(1, Ordering::SeqCst);
            async move {
                let items = (offset..(offset + 3).min(7)).collect();
                Ok(Page::new(items, 7))
            }
            .boxed()
        })
        .try_collect()
        .await
        .unwrap();
        assert_eq!(items, (0..7).collect::<Vec<_>>());
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn an_empty_page_ends_the_stream() {
        let items: Vec<u64> = offset_stream(0, |_| async { Ok(Page::<u64>::new(vec![], 100)) }.boxed())
            .try_collect()
            .await
            .unwrap();
        assert!(items.is_empty());
    }
}
