//! The one path every request takes.
//!
//! The generated client calls two hooks on every request: `pre` sets the
//! client's headers ([`RequestSettings`]), `exec` sends the request in a tracing
//! span and retries it as the [`RetryConfig`](crate::RetryConfig) decides.
//! [`send`] wraps a generated call and turns its result into the crate's
//! value-or-[`Error`](crate::Error); the facade's own operations use
//! [`call`], which retries by making the generated call again rather than
//! by keeping a copy of each request.

mod attempt;
mod call;
mod response;
mod settings;

pub use response::ErrorBody;
#[cfg(fuzzing)]
pub(crate) use response::{decode, error_from_body, retry_after, CLERK_TRACE_ID};
pub use settings::RequestSettings;

use crate::api::Client;
use crate::error::{Error, Result};
use call::{Call, Progress, Retry};
use progenitor_client::{ClientHooks, ClientInfo, OperationInfo, ResponseValue};
use reqwest::header::HeaderName;
use response::{convert, ResponseMeta};
use serde::de::DeserializeOwned;
use std::future::Future;
use std::time::Instant;

/// The generic header progenitor adds; Clerk reads `Clerk-API-Version` instead.
const GENERIC_API_VERSION: HeaderName = HeaderName::from_static("api-version");

impl ClientHooks<RequestSettings> for Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &OperationInfo,
    ) -> std::result::Result<(), progenitor_client::Error<E>> {
        let headers = request.headers_mut();
        headers.remove(GENERIC_API_VERSION);
        // One growth for the client's headers rather than one per insert.
        headers.reserve(self.inner().headers().len());
        for (name, value) in self.inner().headers().iter() {
            headers.insert(name, value.clone());
        }
        Ok(())
    }

    /// Sends the request, with retries, in one span per call (target
    /// `clerk_machines::request`, name `clerk.request`) with the fields
    /// `operation`, `method`, `status` (or `error` when no response came),
    /// `attempts` and `elapsed_ms`. Never a URL, a header value or a body.
    ///
    /// The span is not entered across the awaits (that would wrap every
    /// poll): the retry events name it as their parent instead.
    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let config = self.inner().retry();
        let rebuilding = call::with(|call| call.rebuilds.then(|| call.retry.take())).flatten();
        let (mut result, retry) = match rebuilding {
            // A call made again for each attempt: the span and the count carry over.
            Some(retry) => {
                let (span, started, attempts) = match retry {
                    Some(retry) => (retry.progress.span, retry.progress.started, retry.progress.attempts + 1),
                    None => (attempt::call_span(info, request.method()), Instant::now(), 1),
                };
                let this =
                    attempt::Attempt { started, number: attempts, last: attempts >= config.max_attempts() };
                let (result, delay) =
                    attempt::send_once(self.client(), config, request, info, this, &span).await;
                // The span records how the call ended: only the last attempt writes it.
                if delay.is_none() {
                    attempt::record_span(&span, attempts, started, &result);
                }
                let progress = Progress { span, started, attempts };
                (result, delay.map(|delay| Box::new(Retry { delay, progress })))
            }
            // A raw call, or one through `send`: retried here, from copies.
            None => {
                let span = attempt::call_span(info, request.method());
                let started = Instant::now();
                // Boxed: this path's future (a copy of the request, the wait
                // between attempts) would otherwise enlarge every call's.
                let (result, attempts) = Box::pin(attempt::send_with_retries(
                    self.client(),
                    config,
                    request,
                    info,
                    started,
                    &span,
                ))
                .await;
                attempt::record_span(&span, attempts, started, &result);
                (result, None)
            }
        };
        // Tell `send` or `call` what came back (outside them, a caller using
        // the raw builders, nothing records).
        call::with(|call| {
            call.retry = retry;
            call.last = result.as_mut().ok().map(|response| {
                let status = response.status();
                // Only error statuses need the headers (trace id, `Retry-After`).
                // `send` keeps only the body of a success, so its headers are
                // dropped here rather than copied into the generated `ResponseValue`.
                let headers = if status.is_success() {
                    drop(std::mem::take(response.headers_mut()));
                    None
                } else {
                    Some(Box::new(response.headers().clone()))
                };
                ResponseMeta { status, headers }
            });
        });
        result
    }
}

/// Runs a call built with the generated client and returns its body, or a
/// typed [`Error`](crate::Error) exactly as the crate's own operations do
/// (see [`raw`](crate::raw)).
///
/// The request takes the client's path either way (headers, retries,
/// tracing); `send` adds the conversion of Clerk's error bodies into
/// [`Error::Api`](crate::Error::Api) (code, message, trace id) and of
/// malformed bodies into [`Error::Decode`](crate::Error::Decode).
pub async fn send<T, E, F>(call: F) -> Result<T>
where
    T: DeserializeOwned,
    E: ErrorBody,
    F: Future<Output = std::result::Result<ResponseValue<T>, progenitor_client::Error<E>>>,
{
    let mut finished = None;
    call::scope(Call::default(), async {
        let result = call.await;
        finished = Some((result, call::with(|call| call.last.take()).flatten()));
    })
    .await;
    finish(finished).await
}

/// The facade's way to run a generated call: like [`send`], but a retry
/// makes the call again (`make` builds it anew), so the request path keeps
/// no copy of each request for a retry that rarely comes.
///
/// The call's future is boxed: a generated call's future is large, and
/// moving it into every facade future's state costs more than the box.
pub(crate) async fn call<T, E, F, C>(mut make: C) -> Result<T>
where
    T: DeserializeOwned,
    E: ErrorBody,
    F: Future<Output = std::result::Result<ResponseValue<T>, progenitor_client::Error<E>>>,
    C: FnMut() -> F,
{
    let mut finished = None;
    call::scope(Call { rebuilds: true, ..Call::default() }, async {
        loop {
            let result = Box::pin(make()).await;
            // The retry stays in the slot for the next attempt's `exec`.
            match call::with(|call| call.retry.as_ref().map(|retry| retry.delay)).flatten() {
                // The answer is already read (or dropped): the connection is free while waiting.
                Some(delay) => {
                    drop(result);
                    tokio::time::sleep(delay).await;
                }
                None => {
                    finished = Some((result, call::with(|call| call.last.take()).flatten()));
                    return;
                }
            }
        }
    })
    .await;
    finish(finished).await
}

/// The value of a finished call, or its error in the crate's terms.
async fn finish<T, E>(finished: Option<(GeneratedResult<T, E>, Option<ResponseMeta>)>) -> Result<T>
where
    T: DeserializeOwned,
    E: ErrorBody,
{
    match finished {
        Some((Ok(value), _)) => Ok(value.into_inner()),
        // Boxed: the error path's future would otherwise enlarge every call's.
        Some((Err(error), meta)) => Box::pin(convert::<T, E>(error, meta)).await,
        // Not reached: a scope ends when its body has run to the end.
        None => Err(Error::invalid("request", "the call ended without an answer")),
    }
}

/// What a generated call returns.
type GeneratedResult<T, E> = std::result::Result<ResponseValue<T>, progenitor_client::Error<E>>;
