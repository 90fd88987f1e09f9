//! Sending a request: one attempt, or attempts until the retry policy says
//! stop, in the call's `clerk.request` span.

use super::response::retry_after;
use crate::retry::{Decision, Outcome, RetryConfig};
use progenitor_client::OperationInfo;
use reqwest::Method;
use std::time::{Duration, Instant};

/// Operations sent as `POST` that only read: safe to send twice.
const READ_ONLY_POSTS: &[&str] = &["verify_m2m_token"];

/// Whether sending `request` twice is safe (the retry policy asks).
fn is_idempotent(request: &reqwest::Request, info: &OperationInfo) -> bool {
    request.method() != Method::POST && request.method() != Method::CONNECT
        || READ_ONLY_POSTS.contains(&info.operation_id)
}

/// The span of one call (target `clerk_machines::request`, name
/// `clerk.request`): the operation and method now, the rest as attempts end.
pub(super) fn call_span(info: &OperationInfo, method: &Method) -> tracing::Span {
    tracing::info_span!(
        target: "clerk_machines::request",
        "clerk.request",
        operation = info.operation_id,
        method = %method,
        status = tracing::field::Empty,
        error = tracing::field::Empty,
        attempts = tracing::field::Empty,
        elapsed_ms = tracing::field::Empty,
    )
}

/// Records how the call stands after `attempts` attempts: the status of the
/// last response (or the kind of its transport error) and the time so far.
pub(super) fn record_span(
    span: &tracing::Span,
    attempts: u32,
    started: Instant,
    result: &reqwest::Result<reqwest::Response>,
) {
    if span.is_disabled() {
        return;
    }
    span.record("attempts", attempts);
    span.record("elapsed_ms", u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX));
    match result {
        Ok(response) => span.record("status", response.status().as_u16()),
        Err(error) => span.record("error", error_kind(error)),
    };
}

/// Which attempt of a call one sending is.
#[derive(Clone, Copy, Debug)]
pub(super) struct Attempt {
    /// When the call's first attempt started.
    pub(super) started: Instant,
    /// 1 for the first attempt.
    pub(super) number: u32,
    /// No attempt may follow this one.
    pub(super) last: bool,
}

/// Sends `request` once; returns the result and, unless the attempt is the
/// last possible one, the delay before another when the policy wants one.
pub(super) async fn send_once(
    client: &reqwest::Client,
    config: &RetryConfig,
    request: reqwest::Request,
    info: &OperationInfo,
    attempt: Attempt,
    span: &tracing::Span,
) -> (reqwest::Result<reqwest::Response>, Option<Duration>) {
    let idempotent = is_idempotent(&request, info);
    let result = client.execute(request).await;
    if attempt.last {
        return (result, None);
    }
    let elapsed = attempt.started.elapsed();
    match config.decide(&outcome_of(&result), attempt.number, elapsed, idempotent, fastrand::f64()) {
        Decision::Stop => (result, None),
        Decision::Retry(delay) => {
            log_retry(span, info, attempt.number, &result, delay);
            (result, Some(delay))
        }
    }
}

/// Sends `request` until the retry policy says stop, keeping a copy of it for
/// each next attempt; returns the last response (whatever its status) or
/// transport error, and the attempts made.
pub(super) async fn send_with_retries(
    client: &reqwest::Client,
    config: &RetryConfig,
    request: reqwest::Request,
    info: &OperationInfo,
    started: Instant,
    span: &tracing::Span,
) -> (reqwest::Result<reqwest::Response>, u32) {
    let mut request = request;
    let mut attempt = 1;
    loop {
        // A copy for the next attempt, unless this one is the last possible
        // (or the body cannot be copied, which the crate's bodies always can).
        let spare = if attempt < config.max_attempts() { spare_of(&request) } else { None };
        let this = Attempt { started, number: attempt, last: spare.is_none() };
        let (result, delay) = send_once(client, config, request, info, this, span).await;
        match (delay, spare) {
            (Some(delay), Some(spare)) => {
                // Free the connection before waiting.
                drop(result);
                tokio::time::sleep(delay).await;
                request = spare;
                attempt += 1;
            }
            _ => return (result, attempt),
        }
    }
}

/// A copy of `request` for another attempt, or `None` when its body cannot
/// be copied (the crate's bodies always can).
///
/// What `reqwest::Request::try_clone` copies, less its detour through the
/// request's extensions: it stores an empty timeout there even when none is
/// set, which is an allocation (and a map to drop) on every copy, about half
/// of the copy's cost. The requests here come from the generated builders,
/// which put nothing in the extensions but what `timeout` reads. (The body's
/// bytes are copied: reqwest keeps its cheaper `Body::try_clone` private.)
fn spare_of(request: &reqwest::Request) -> Option<reqwest::Request> {
    let body = match request.body() {
        Some(body) => Some(reqwest::Body::from(body.as_bytes()?.to_vec())),
        None => None,
    };
    let mut spare = reqwest::Request::new(request.method().clone(), request.url().clone());
    *spare.headers_mut() = request.headers().clone();
    *spare.version_mut() = request.version();
    if let Some(timeout) = request.timeout() {
        *spare.timeout_mut() = Some(*timeout);
    }
    *spare.body_mut() = body;
    Some(spare)
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

/// The warning of a retry, under the call's span.
fn log_retry(
    span: &tracing::Span,
    info: &OperationInfo,
    attempt: u32,
    result: &reqwest::Result<reqwest::Response>,
    delay: Duration,
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
