//! Retrying requests that failed for reasons that may pass: rate limits (429),
//! overloaded or restarting gateways (502, 503, 504) and connections that
//! could not be made.
//!
//! The policy is a plain value, [`RetryConfig`], set per client with
//! [`ClerkConfig::retry`](crate::ClerkConfig::retry). The waiting itself is
//! done by [`backon`]: exponential backoff with jitter, replaced by the
//! server's `Retry-After` when it sends one.

use crate::transport::retry_after;
use backon::{ExponentialBuilder, Retryable};
use progenitor_client::OperationInfo;
use reqwest::{Method, StatusCode};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Default number of attempts, the first one included.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// Default bound on the time spent on one call, retries and waits included.
pub const DEFAULT_MAX_TOTAL_TIME: Duration = Duration::from_secs(30);
/// Default wait before the first retry (doubled for each further retry).
pub const DEFAULT_INITIAL_BACKOFF: Duration = Duration::from_millis(500);
/// Default longest computed wait between two attempts (before jitter).
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(8);

/// When and how a client retries a failed request.
///
/// Defaults ([`RetryConfig::default`]):
///
/// | setting | default |
/// |---|---|
/// | [`max_attempts`](RetryConfig::max_attempts) | 3 ([`DEFAULT_MAX_ATTEMPTS`]), the first attempt included |
/// | [`max_total_time`](RetryConfig::max_total_time) | 30 s ([`DEFAULT_MAX_TOTAL_TIME`]) |
/// | [`initial_backoff`](RetryConfig::initial_backoff) | 500 ms ([`DEFAULT_INITIAL_BACKOFF`]), doubled per retry |
/// | [`max_backoff`](RetryConfig::max_backoff) | 8 s ([`DEFAULT_MAX_BACKOFF`]) |
/// | [`jitter`](RetryConfig::jitter) | on: a random extra wait between 0 and the computed wait |
/// | [`retry_non_idempotent_posts`](RetryConfig::retry_non_idempotent_posts) | off |
///
/// What is retried:
///
/// - responses with status 429, 502, 503 or 504, and connections that could
///   not be made (nothing reached the server), for every request;
/// - a connection closed or reset before a response arrived, only for
///   idempotent requests;
/// - never a request that timed out, nor a response whose body broke off.
///
/// Idempotent requests are `GET`, `HEAD`, `OPTIONS`, `PUT`, `DELETE`,
/// `PATCH` (Clerk's updates set absolute values) and the read-only
/// `verifyM2MToken` `POST`. Other `POST`s (create a machine or a token, rotate
/// a key, add a scope, revoke a token) are retried after a response only when
/// [`retry_non_idempotent_posts`](RetryConfig::retry_non_idempotent_posts)
/// is set, since Clerk may have acted on the first attempt; a `POST` whose
/// connection could not even be opened is always safe to retry.
///
/// The wait before a retry is the response's `Retry-After` (seconds or an
/// HTTP date) when present, otherwise the exponential backoff. No retry is
/// made when the wait would end after [`max_total_time`](RetryConfig::max_total_time)
/// (counted from the first attempt); the caller then gets the last response
/// as an [`Error::Api`](crate::Error::Api) with its status, Clerk's errors and
/// `retry_after`. Each attempt is still bounded by the request timeout.
///
/// Every retry is logged with [`tracing`] at `WARN` level (target
/// `clerk_machines::retry`) with the operation, the attempt that failed, its
/// status or error kind and the wait; never URLs, headers or bodies.
///
/// ```
/// use clerk_machines::{ClerkConfig, RetryConfig};
/// use std::time::Duration;
///
/// let config = ClerkConfig::default().retry(
///     RetryConfig::default()
///         .max_attempts(5)
///         .max_total_time(Duration::from_secs(60))
///         .retry_non_idempotent_posts(true),
/// );
/// let no_retries = ClerkConfig::default().retry(RetryConfig::disabled());
/// # let _ = (config, no_retries);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryConfig {
    pub(crate) max_attempts: u32,
    pub(crate) max_total_time: Duration,
    pub(crate) initial_backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) jitter: bool,
    pub(crate) retry_non_idempotent_posts: bool,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            max_total_time: DEFAULT_MAX_TOTAL_TIME,
            initial_backoff: DEFAULT_INITIAL_BACKOFF,
            max_backoff: DEFAULT_MAX_BACKOFF,
            jitter: true,
            retry_non_idempotent_posts: false,
        }
    }
}

impl RetryConfig {
    /// No retries: every request is sent once.
    pub fn disabled() -> Self {
        Self::default().max_attempts(1)
    }

    /// Attempts per call, the first included (default 3). `0` is taken as `1`.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Longest time a call may spend before its last attempt starts, waits
    /// included (default 30 s).
    pub fn max_total_time(mut self, time: Duration) -> Self {
        self.max_total_time = time;
        self
    }

    /// Wait before the first retry when the server gives no `Retry-After`
    /// (default 500 ms); doubled for each further retry.
    pub fn initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// Longest computed wait between attempts, before jitter (default 8 s).
    /// A server's `Retry-After` is not capped by it (only by
    /// [`max_total_time`](RetryConfig::max_total_time)).
    pub fn max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// Add a random extra wait, up to the computed wait, so that many
    /// clients do not retry in step (default on).
    pub fn jitter(mut self, jitter: bool) -> Self {
        self.jitter = jitter;
        self
    }

    /// Also retry `POST`s that create or change something (create a machine
    /// or an M2M token, rotate a key, add a scope, revoke a token) after a
    /// retryable response or a dropped connection (default off). Clerk may
    /// have acted on the first attempt, so this can, for example, create a
    /// machine twice.
    pub fn retry_non_idempotent_posts(mut self, retry: bool) -> Self {
        self.retry_non_idempotent_posts = retry;
        self
    }

    /// The configured number of attempts.
    pub fn max_attempts_value(&self) -> u32 {
        self.max_attempts
    }

    /// The configured bound on the time of one call.
    pub fn max_total_time_value(&self) -> Duration {
        self.max_total_time
    }

    fn backoff(&self) -> ExponentialBuilder {
        let builder = ExponentialBuilder::new()
            .with_min_delay(self.initial_backoff)
            .with_max_delay(self.max_backoff.max(self.initial_backoff))
            .with_max_times(self.max_attempts.saturating_sub(1) as usize);
        if self.jitter {
            builder.with_jitter()
        } else {
            builder
        }
    }
}

/// Operations sent as `POST` that only read: safe to send twice.
const READ_ONLY_POSTS: &[&str] = &["verify_m2m_token"];

/// Statuses worth another attempt.
fn retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 502 | 503 | 504)
}

/// The outcome of one attempt that may call for another.
enum Attempt {
    /// A response with a retryable status.
    Response(reqwest::Response),
    /// The request failed without a response.
    Failed(reqwest::Error),
    /// The request could not be copied for another attempt (cannot happen
    /// for the bodies this crate sends).
    Unclonable,
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

/// Sends `request`, retrying it as `config` allows; returns the last response
/// (whatever its status) or the last transport error.
pub(crate) async fn execute(
    client: &reqwest::Client,
    config: &RetryConfig,
    request: reqwest::Request,
    info: &OperationInfo,
) -> reqwest::Result<reqwest::Response> {
    if config.max_attempts <= 1 {
        return client.execute(request).await;
    }
    let idempotent = request.method() != Method::POST && request.method() != Method::CONNECT
        || READ_ONLY_POSTS.contains(&info.operation_id);
    let may_resend = idempotent || config.retry_non_idempotent_posts;
    let started = Instant::now();
    let template = request;
    // The first attempt runs outside the backoff machinery: a request that is
    // answered at once (the common case) costs one copy of the request and
    // nothing more. Only a retryable outcome enters the loop below, which
    // replays it as its first attempt.
    let Some(copy) = template.try_clone() else {
        return client.execute(template).await;
    };
    let first = match client.execute(copy).await {
        Ok(response) if !retryable_status(response.status()) => return Ok(response),
        Ok(response) => Attempt::Response(response),
        Err(error) => Attempt::Failed(error),
    };
    let first = Mutex::new(Some(first));
    let attempts = AtomicU32::new(0);

    let outcome = (|| {
        let replayed = first.lock().unwrap_or_else(PoisonError::into_inner).take();
        let copy = if replayed.is_none() { template.try_clone() } else { None };
        let attempts = &attempts;
        async move {
            attempts.fetch_add(1, Ordering::Relaxed);
            if let Some(outcome) = replayed {
                return Err(outcome);
            }
            let Some(copy) = copy else {
                return Err(Attempt::Unclonable);
            };
            match client.execute(copy).await {
                Ok(response) if retryable_status(response.status()) => Err(Attempt::Response(response)),
                Ok(response) => Ok(response),
                Err(error) => Err(Attempt::Failed(error)),
            }
        }
    })
    .retry(config.backoff())
    .sleep(tokio::time::sleep)
    .when(|attempt| match attempt {
        Attempt::Response(_) => may_resend,
        // Nothing reached the server.
        Attempt::Failed(error) if error.is_connect() => true,
        // Sent, but no response came back (connection closed or reset).
        Attempt::Failed(error) => may_resend && error.is_request() && !error.is_timeout(),
        Attempt::Unclonable => false,
    })
    .adjust(|attempt, backoff| {
        let backoff = backoff?;
        let delay = match attempt {
            Attempt::Response(response) => retry_after(response.headers()).unwrap_or(backoff),
            _ => backoff,
        };
        // No retry that would start after the time budget.
        (started.elapsed().saturating_add(delay) <= config.max_total_time).then_some(delay)
    })
    .notify(|attempt, delay| {
        let attempt_number = attempts.load(Ordering::Relaxed);
        match attempt {
            Attempt::Response(response) => tracing::warn!(
                target: "clerk_machines::retry",
                operation = info.operation_id,
                attempt = attempt_number,
                status = response.status().as_u16(),
                delay_ms = delay.as_millis() as u64,
                "retrying Clerk request after a retryable status"
            ),
            Attempt::Failed(error) => tracing::warn!(
                target: "clerk_machines::retry",
                operation = info.operation_id,
                attempt = attempt_number,
                error_kind = error_kind(error),
                delay_ms = delay.as_millis() as u64,
                "retrying Clerk request after a transport error"
            ),
            Attempt::Unclonable => {}
        }
    })
    .await;

    match outcome {
        Ok(response) | Err(Attempt::Response(response)) => Ok(response),
        Err(Attempt::Failed(error)) => Err(error),
        Err(Attempt::Unclonable) => client.execute(template).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_documented_values() {
        let config = RetryConfig::default();
        assert_eq!(config.max_attempts_value(), 3);
        assert_eq!(config.max_total_time_value(), Duration::from_secs(30));
        assert!(config.jitter);
        assert!(!config.retry_non_idempotent_posts);
        assert_eq!(RetryConfig::disabled().max_attempts_value(), 1);
        assert_eq!(RetryConfig::default().max_attempts(0).max_attempts_value(), 1);
    }

    #[test]
    fn retryable_statuses() {
        for status in [429, 502, 503, 504] {
            assert!(retryable_status(StatusCode::from_u16(status).unwrap()), "{status}");
        }
        for status in [200, 400, 401, 404, 409, 422, 500, 501] {
            assert!(!retryable_status(StatusCode::from_u16(status).unwrap()), "{status}");
        }
    }
}
