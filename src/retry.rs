//! When a failed attempt is worth another: the policy ([`RetryConfig`]) and
//! its decision (`RetryConfig::decide`), a pure function of the outcome,
//! the attempt number and the time spent. The loop that acts on it is in the
//! request path (`src/request/mod.rs`).

use crate::defaults;
use std::time::Duration;

/// When and how a client retries a failed request; set it with
/// [`ClerkConfig::with_retry`](crate::ClerkConfig::with_retry).
///
/// Defaults ([`RetryConfig::default`], values in [`defaults`](crate::defaults)):
///
/// | setting | default |
/// |---|---|
/// | [`max_attempts`](Self::max_attempts) | 3, the first attempt included |
/// | [`max_total_time`](Self::max_total_time) | 30 s: no retry starts later (waits included) |
/// | [`initial_backoff`](Self::initial_backoff) | 500 ms, doubled per retry |
/// | [`max_backoff`](Self::max_backoff) | 8 s |
/// | [`jitter`](Self::jitter) | on: a random extra wait between 0 and the computed wait |
/// | [`retry_non_idempotent_posts`](Self::retry_non_idempotent_posts) | off |
///
/// What is retried:
///
/// - responses with status 429, 502, 503 or 504, for idempotent requests
///   (and for the others with
///   [`with_retry_non_idempotent_posts`](Self::with_retry_non_idempotent_posts));
/// - connections that could not be made (nothing reached the server), for every request;
/// - a connection closed or reset before a response arrived, for idempotent requests;
/// - never a request that timed out, nor a response whose body broke off.
///
/// Idempotent requests are `GET`, `HEAD`, `OPTIONS`, `PUT`, `DELETE`,
/// `PATCH` (Clerk's updates set absolute values) and the read-only
/// `verifyM2MToken` `POST`. The other `POST`s create or change something
/// (a machine, a token, a key, a scope, a revocation): Clerk may have acted
/// on the first attempt, so they are sent once unless you opt in.
///
/// The wait before a retry is the response's `Retry-After` (seconds or an
/// HTTP date) when present, otherwise the exponential backoff. No retry is
/// made when the wait would end after [`max_total_time`](Self::max_total_time)
/// (counted from the first attempt); the caller then gets the last answer as
/// an [`Error::Api`](crate::Error::Api) with its status, Clerk's errors and
/// `retry_after`. Each attempt is still bounded by the request timeout.
///
/// Every retry is logged with [`tracing`] at `WARN` (target
/// `clerk_machines::retry`): operation, attempt, status or error kind, wait;
/// never URLs, headers or bodies.
///
/// ```
/// use clerk_machines::{ClerkConfig, RetryConfig};
/// use std::time::Duration;
///
/// let patient = RetryConfig::default().with_max_attempts(5).with_max_total_time(Duration::from_secs(60));
/// assert_eq!(patient.max_attempts(), 5);
/// let config = ClerkConfig::default().with_retry(patient);
/// let once = ClerkConfig::default().with_retry(RetryConfig::disabled());
/// # let _ = (config, once);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryConfig {
    max_attempts: u32,
    max_total_time: Duration,
    initial_backoff: Duration,
    max_backoff: Duration,
    jitter: bool,
    retry_non_idempotent_posts: bool,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: defaults::MAX_ATTEMPTS,
            max_total_time: defaults::MAX_TOTAL_TIME,
            initial_backoff: defaults::INITIAL_BACKOFF,
            max_backoff: defaults::MAX_BACKOFF,
            jitter: true,
            retry_non_idempotent_posts: false,
        }
    }
}

impl RetryConfig {
    /// No retries: every request is sent once.
    pub fn disabled() -> Self {
        Self::default().with_max_attempts(1)
    }

    /// Attempts per call, the first included (default 3). `0` is taken as `1`.
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Longest time a call may spend before its last attempt starts, waits
    /// included (default 30 s).
    pub fn with_max_total_time(mut self, time: Duration) -> Self {
        self.max_total_time = time;
        self
    }

    /// Wait before the first retry when the server gives no `Retry-After`
    /// (default 500 ms); doubled for each further retry.
    pub fn with_initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// Longest computed wait between attempts, before jitter (default 8 s).
    /// A server's `Retry-After` is not capped by it, only by
    /// [`max_total_time`](Self::max_total_time).
    pub fn with_max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// Add a random extra wait, up to the computed wait, so that many clients
    /// do not retry in step (default on).
    pub fn with_jitter(mut self, jitter: bool) -> Self {
        self.jitter = jitter;
        self
    }

    /// Also retry `POST`s that create or change something after a retryable
    /// status or a dropped connection (default off). Clerk may have acted on
    /// the first attempt, so this can, for example, create a machine twice.
    pub fn with_retry_non_idempotent_posts(mut self, retry: bool) -> Self {
        self.retry_non_idempotent_posts = retry;
        self
    }

    /// Attempts per call, the first included.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// Longest time a call may spend before its last attempt starts.
    pub fn max_total_time(&self) -> Duration {
        self.max_total_time
    }

    /// Wait before the first retry, without `Retry-After`.
    pub fn initial_backoff(&self) -> Duration {
        self.initial_backoff
    }

    /// Longest computed wait between attempts, before jitter.
    pub fn max_backoff(&self) -> Duration {
        self.max_backoff
    }

    /// Whether a random extra wait is added.
    pub fn jitter(&self) -> bool {
        self.jitter
    }

    /// Whether `POST`s that change something are retried.
    pub fn retry_non_idempotent_posts(&self) -> bool {
        self.retry_non_idempotent_posts
    }

    /// What to do after attempt number `attempt` (1 for the first) of a call
    /// that started `elapsed` ago ended with `outcome`. `idempotent` says
    /// whether the request may be sent twice; `jitter_draw` is a random
    /// number in `[0, 1)`, used only when jitter is on.
    pub(crate) fn decide(
        &self,
        outcome: &Outcome,
        attempt: u32,
        elapsed: Duration,
        idempotent: bool,
        jitter_draw: f64,
    ) -> Decision {
        let may_resend = idempotent || self.retry_non_idempotent_posts;
        let retry_after = match *outcome {
            Outcome::Status { status, retry_after } if retryable_status(status) && may_resend => retry_after,
            // Nothing reached the server: safe for every request.
            Outcome::ConnectFailed => None,
            Outcome::ConnectionLost if may_resend => None,
            _ => return Decision::Stop,
        };
        if attempt >= self.max_attempts {
            return Decision::Stop;
        }
        let delay = retry_after.unwrap_or_else(|| self.backoff(attempt, jitter_draw));
        // No retry that would start after the time budget.
        if elapsed.saturating_add(delay) > self.max_total_time {
            return Decision::Stop;
        }
        Decision::Retry(delay)
    }

    /// The exponential backoff after attempt `attempt`: the initial backoff
    /// doubled `attempt - 1` times, at most the maximum (or the initial
    /// backoff when that is larger), plus `jitter_draw` times itself.
    fn backoff(&self, attempt: u32, jitter_draw: f64) -> Duration {
        let cap = self.max_backoff.max(self.initial_backoff);
        let doublings = attempt.saturating_sub(1).min(31);
        let base = self.initial_backoff.saturating_mul(1 << doublings).min(cap);
        if self.jitter {
            base.saturating_add(base.mul_f64(jitter_draw.clamp(0.0, 1.0)))
        } else {
            base
        }
    }
}

/// Statuses worth another attempt: rate limited, or a gateway that may recover.
fn retryable_status(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

/// How one attempt ended, as far as retrying is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A response arrived, with this status and `Retry-After`.
    Status {
        /// The HTTP status.
        status: u16,
        /// The response's `Retry-After`, if any.
        retry_after: Option<Duration>,
    },
    /// The connection could not be made: nothing reached the server.
    ConnectFailed,
    /// The request was sent and the connection closed or reset before a response.
    ConnectionLost,
    /// Anything else (a timeout, a body that broke off): never retried.
    Other,
}

/// What [`RetryConfig::decide`] says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Send the request again after this wait.
    Retry(Duration),
    /// Return the outcome to the caller.
    Stop,
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;
    const S: fn(u64) -> Duration = Duration::from_secs;

    fn status(status: u16) -> Outcome {
        Outcome::Status { status, retry_after: None }
    }

    fn no_jitter() -> RetryConfig {
        RetryConfig::default().with_jitter(false)
    }

    #[test]
    fn defaults_are_the_documented_values() {
        let config = RetryConfig::default();
        assert_eq!(config.max_attempts(), 3);
        assert_eq!(config.max_total_time(), S(30));
        assert_eq!((config.initial_backoff(), config.max_backoff()), (MS(500), S(8)));
        assert!(config.jitter());
        assert!(!config.retry_non_idempotent_posts());
        assert_eq!(RetryConfig::disabled().max_attempts(), 1);
        assert_eq!(RetryConfig::default().with_max_attempts(0).max_attempts(), 1);
    }

    #[test]
    fn the_decision_table() {
        use Decision::{Retry, Stop};
        let retry_after = |status, secs| Outcome::Status { status, retry_after: Some(S(secs)) };
        // (config, outcome, attempt, elapsed, idempotent, jitter draw) -> decision
        let cases: Vec<(RetryConfig, Outcome, u32, Duration, bool, f64, Decision)> = vec![
            // Successes and final errors are returned at once.
            (no_jitter(), status(200), 1, S(0), true, 0.0, Stop),
            (no_jitter(), status(201), 1, S(0), false, 0.0, Stop),
            (no_jitter(), status(400), 1, S(0), true, 0.0, Stop),
            (no_jitter(), status(404), 1, S(0), true, 0.0, Stop),
            (no_jitter(), status(422), 1, S(0), true, 0.0, Stop),
            (no_jitter(), status(500), 1, S(0), true, 0.0, Stop),
            (no_jitter(), status(501), 1, S(0), true, 0.0, Stop),
            // Retryable statuses on idempotent requests: exponential backoff.
            (no_jitter(), status(429), 1, S(0), true, 0.0, Retry(MS(500))),
            (no_jitter(), status(502), 1, S(0), true, 0.0, Retry(MS(500))),
            (no_jitter(), status(503), 2, S(1), true, 0.0, Retry(S(1))),
            (no_jitter(), status(504), 1, S(0), true, 0.0, Retry(MS(500))),
            // ... but not on a POST that changes something, unless opted in.
            (no_jitter(), status(503), 1, S(0), false, 0.0, Stop),
            (
                no_jitter().with_retry_non_idempotent_posts(true),
                status(503),
                1,
                S(0),
                false,
                0.0,
                Retry(MS(500)),
            ),
            // Retry-After replaces the backoff, and is not capped by max_backoff or jittered.
            (no_jitter(), retry_after(429, 1), 1, S(0), true, 0.0, Retry(S(1))),
            (RetryConfig::default(), retry_after(429, 20), 1, S(0), true, 0.9, Retry(S(20))),
            // A wait past the time budget is not made.
            (no_jitter(), retry_after(429, 120), 1, S(0), true, 0.0, Stop),
            (no_jitter(), status(503), 2, MS(29_500), true, 0.0, Stop),
            (no_jitter(), status(503), 1, MS(29_500), true, 0.0, Retry(MS(500))),
            // The last attempt is the last.
            (no_jitter(), status(503), 3, S(0), true, 0.0, Stop),
            (RetryConfig::disabled(), status(503), 1, S(0), true, 0.0, Stop),
            (no_jitter().with_max_attempts(5), status(503), 4, S(0), true, 0.0, Retry(S(4))),
            // Connections that could not be made: every request.
            (no_jitter(), Outcome::ConnectFailed, 1, S(0), false, 0.0, Retry(MS(500))),
            // Connections lost after sending: idempotent requests only.
            (no_jitter(), Outcome::ConnectionLost, 1, S(0), true, 0.0, Retry(MS(500))),
            (no_jitter(), Outcome::ConnectionLost, 1, S(0), false, 0.0, Stop),
            // Timeouts and broken bodies: never.
            (no_jitter(), Outcome::Other, 1, S(0), true, 0.0, Stop),
            // Jitter adds up to the computed wait.
            (RetryConfig::default(), status(503), 1, S(0), true, 0.5, Retry(MS(750))),
            (RetryConfig::default(), status(503), 2, S(0), true, 0.25, Retry(MS(1250))),
            // The backoff stops growing at max_backoff.
            (
                no_jitter().with_max_attempts(10).with_max_total_time(S(600)),
                status(503),
                8,
                S(0),
                true,
                0.0,
                Retry(S(8)),
            ),
            (
                no_jitter()
                    .with_initial_backoff(S(10))
                    .with_max_backoff(S(1))
                    .with_max_total_time(S(600))
                    .with_max_attempts(5),
                status(503),
                3,
                S(0),
                true,
                0.0,
                Retry(S(10)),
            ),
        ];
        for (index, (config, outcome, attempt, elapsed, idempotent, draw, expected)) in
            cases.into_iter().enumerate()
        {
            let got = config.decide(&outcome, attempt, elapsed, idempotent, draw);
            assert_eq!(
                got, expected,
                "case {index}: {outcome:?}, attempt {attempt}, elapsed {elapsed:?}, idempotent {idempotent}"
            );
        }
    }

    #[test]
    fn huge_attempt_numbers_do_not_overflow() {
        let config = no_jitter().with_max_attempts(u32::MAX).with_max_total_time(Duration::MAX);
        assert_eq!(config.decide(&status(503), u32::MAX - 1, S(0), true, 0.0), Decision::Retry(S(8)));
    }
}
