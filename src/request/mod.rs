//! The one path every request takes.
//!
//! The generated client calls two hooks on every request: `pre` sets the
//! client's headers ([`RequestSettings`]), `exec` sends the request in a tracing
//! span and retries it as the [`RetryConfig`] decides. [`send`] wraps a generated call and
//! turns its result into the crate's value-or-[`Error`](crate::Error).

mod response;
mod settings;

pub(crate) use response::retry_after;
pub use response::ErrorBody;
#[cfg(fuzzing)]
pub(crate) use response::{decode, error_from_body, CLERK_TRACE_ID};
pub use settings::RequestSettings;

use crate::api::Client;
use crate::error::Result;
use crate::retry::{Decision, Outcome, RetryConfig};
use progenitor_client::{ClientHooks, ClientInfo, OperationInfo, ResponseValue};
use reqwest::header::HeaderName;
use reqwest::Method;
use response::{convert, ResponseMeta};
use serde::de::DeserializeOwned;
use std::cell::RefCell;
use std::future::Future;
use std::time::Instant;

/// The generic header progenitor adds; Clerk reads `Clerk-API-Version` instead.
const GENERIC_API_VERSION: HeaderName = HeaderName::from_static("api-version");
/// Operations sent as `POST` that only read: safe to send twice.
const READ_ONLY_POSTS: &[&str] = &["verify_m2m_token"];

tokio::task_local! {
    /// The last response of the call [`send`] is running (set by `exec`).
    static LAST_RESPONSE: RefCell<Option<ResponseMeta>>;
}

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
    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let span = tracing::info_span!(
            target: "clerk_machines::request",
            "clerk.request",
            operation = info.operation_id,
            method = %request.method(),
            status = tracing::field::Empty,
            error = tracing::field::Empty,
            attempts = tracing::field::Empty,
            elapsed_ms = tracing::field::Empty,
        );
        let started = Instant::now();
        // The span is not entered across the awaits (that would wrap every
        // poll): the retry events name it as their parent instead.
        let (result, attempts) =
            execute(self.client(), self.inner().retry(), request, info, started, &span).await;
        if !span.is_disabled() {
            span.record("attempts", attempts);
            span.record("elapsed_ms", u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX));
            match &result {
                Ok(response) => span.record("status", response.status().as_u16()),
                Err(error) => span.record("error", error_kind(error)),
            };
        }
        // Record the final response for `send` (outside `send`, a caller
        // using the raw builders, nothing records).
        let _ = LAST_RESPONSE.try_with(|last| {
            *last.borrow_mut() = result.as_ref().ok().map(|response| {
                let status = response.status();
                // Only error statuses need the headers (trace id, `Retry-After`).
                let headers = (!status.is_success()).then(|| Box::new(response.headers().clone()));
                ResponseMeta { status, headers }
            });
        });
        result
    }
}

/// Sends `request` until the retry policy says stop; returns the last
/// response (whatever its status) or transport error, and the attempts made.
async fn execute(
    client: &reqwest::Client,
    config: &RetryConfig,
    request: reqwest::Request,
    info: &OperationInfo,
    started: Instant,
    span: &tracing::Span,
) -> (reqwest::Result<reqwest::Response>, u32) {
    let idempotent = request.method() != Method::POST && request.method() != Method::CONNECT
        || READ_ONLY_POSTS.contains(&info.operation_id);
    let mut request = request;
    let mut attempt = 1;
    loop {
        // A copy for the next attempt, unless this one is the last possible
        // (or the body cannot be copied, which the crate's bodies always can).
        let spare = if attempt < config.max_attempts() { request.try_clone() } else { None };
        let result = client.execute(request).await;
        let Some(spare) = spare else { return (result, attempt) };
        let outcome = outcome_of(&result);
        match config.decide(&outcome, attempt, started.elapsed(), idempotent, fastrand::f64()) {
            Decision::Stop => return (result, attempt),
            Decision::Retry(delay) => {
                log_retry(span, info, attempt, &result, delay);
                // Free the connection before waiting.
                drop(result);
                tokio::time::sleep(delay).await;
                request = spare;
                attempt += 1;
            }
        }
    }
}

/// What the retry policy needs to know of an attempt's result.
fn outcome_of(result: &reqwest::Result<reqwest::Response>) -> Outcome {
    match result {
        Ok(response) if response.status().is_success() => {
            Outcome::Status { status: response.status().as_u16(), retry_after: None }
        }
        Ok(response) => Outcome::Status {
            status: response.status().as_u16(),
            retry_after: retry_after(response.headers()),
        },
        Err(error) if error.is_connect() => Outcome::ConnectFailed,
        // Sent, but no response came back (connection closed or reset).
        Err(error) if error.is_request() && !error.is_timeout() => Outcome::ConnectionLost,
        Err(_) => Outcome::Other,
    }
}

fn log_retry(
    span: &tracing::Span,
    info: &OperationInfo,
    attempt: u32,
    result: &reqwest::Result<reqwest::Response>,
    delay: std::time::Duration,
) {
    let delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
    match result {
        Ok(response) => tracing::warn!(
            target: "clerk_machines::retry",
            parent: span,
            operation = info.operation_id,
            attempt,
            status = response.status().as_u16(),
            delay_ms,
            "retrying Clerk request after a retryable status"
        ),
        Err(error) => tracing::warn!(
            target: "clerk_machines::retry",
            parent: span,
            operation = info.operation_id,
            attempt,
            error_kind = error_kind(error),
            delay_ms,
            "retrying Clerk request after a transport error"
        ),
    }
}

/// A short, secret-free name for a transport error.
fn error_kind(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect"
    } else if error.is_body() || error.is_decode() {
        "body"
    } else if error.is_request() {
        "request"
    } else {
        "other"
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
    let (result, meta) = LAST_RESPONSE
        .scope(RefCell::new(None), async {
            let result = call.await;
            (result, LAST_RESPONSE.with(|last| last.borrow_mut().take()))
        })
        .await;
    match result {
        Ok(value) => Ok(value.into_inner()),
        // Boxed: the error path's future would otherwise enlarge every call's.
        Err(error) => Box::pin(convert::<T, E>(error, meta)).await,
    }
}
