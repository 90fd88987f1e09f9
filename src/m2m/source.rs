//! [`M2mTokenSource`]: the calling side's cached, single-flight supply of M2M
//! tokens, which refreshes ahead of expiry and rides out Clerk's failures.
//!
//! How a call decides, every time read on the source's [`Clock`]:
//!
//! - before the token's refresh time: its thread's copy of the token
//!   (`token_cache`), nothing shared written;
//! - in the refresh window, while the token is valid: the token, after one
//!   read of the refresh gate (`Inner::gate`); when no attempt is running
//!   and the backoff has passed, the one call that wins a compare-and-swap
//!   on the gate starts the next attempt in the background;
//! - with no valid token: it waits on the attempt in flight, or starts one,
//!   or, while backing off, gets the last failure at once.

use super::create::require_machine_key;
use super::token_cache::{Cached, Lookup, TokenCache};
use super::TokenFormat;
use crate::client::Clerk;
use crate::clock::{Clock, SystemClock};
use crate::config::ClerkConfig;
use crate::defaults;
use crate::error::{Error, Result};
use crate::secret::SecretString;
use futures::future::{BoxFuture, FutureExt, Shared};
use reqwest::StatusCode;
use serde::Serialize;
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

type Flight = Shared<BoxFuture<'static, std::result::Result<Cached, Arc<Error>>>>;

/// The refresh gate while an attempt is running (or claimed, about to start).
const RUNNING: u64 = u64::MAX;
/// The refresh gate when an attempt may start at any time.
const IDLE: u64 = 0;
/// The target of the source's tracing events.
const TARGET: &str = "clerk_machines::token_source";

/// M2M tokens for the calling side: `token().await` returns a cached token,
/// refreshes it in the background before it expires, and keeps handing out
/// the valid one while Clerk fails. Cheap to clone (clones share the cache,
/// the refresh and the backoff). `Debug` never shows the key or the token.
///
/// ```no_run
/// # async fn demo() -> Result<(), clerk_machines::Error> {
/// use clerk_machines::m2m::{M2mTokenSource, TokenFormat};
/// use clerk_machines::ClerkConfig;
/// use std::time::Duration;
///
/// let tokens = M2mTokenSource::builder("ak_...", ClerkConfig::default())
///     .token_format(TokenFormat::Jwt)
///     .ttl(Duration::from_secs(3600))
///     .refresh_margin(Duration::from_secs(300))
///     .build()?;
///
/// // In every outgoing request:
/// let token = tokens.token().await?;
/// let header = format!("Bearer {}", token.expose_secret());
///
/// // In a health check: degraded while refreshes fail, down once no valid token is left.
/// let status = tokens.status();
/// match (&status.last_failure, status.valid_for) {
///     (None, _) => println!("ok"),
///     (Some(why), Some(left)) => println!("degraded ({why}); token valid for {left:?}"),
///     (Some(why), None) => println!("down: {why}"),
/// }
/// # let _ = header; Ok(()) }
/// ```
///
/// # Refresh ahead
///
/// A token is handed out as it is until its refresh window, the last
/// [`refresh_margin`](M2mTokenSourceBuilder::refresh_margin) of its life
/// (default 60 s, at most half of the lifetime). The first call in the
/// window starts one refresh in the background and returns the cached token
/// at once, as do the calls after it until the new token is in place: callers
/// see the cache's latency, not Clerk's. Only a call that finds no valid
/// token (the first one, one after [`invalidate`](Self::invalidate), one
/// after the token ran out) waits for a mint, and concurrent callers then
/// share that mint: a hundred tasks asking at once cause one request.
///
/// A token counts as valid until its expiry less a safety allowance
/// ([`defaults::EXPIRY_ALLOWANCE`], 5 s, at most a quarter of the margin),
/// so that it is still valid when the called service checks it. Its expiry
/// is its lifetime as Clerk states it (`expiration - created_at`), counted
/// on the source's clock from the moment the mint was sent, so that a skew
/// between Clerk's clock and this host's does not matter.
///
/// # When Clerk fails
///
/// While the token is valid, a failed refresh changes nothing for callers:
/// they get the token, never the error. Failed attempts are retried with
/// exponential backoff and jitter: after the n-th failure in a row, no
/// attempt starts before a wait drawn between half and all of
/// `initial × 2ⁿ⁻¹` (by default 1 s, 2 s, 4 s, ...) and at most the cap
/// (default 30 s), nor before Clerk's `Retry-After` on a 429 or a 503 (cut
/// to the cap, so that one answer cannot stop refreshes for longer); see
/// [`refresh_backoff`](M2mTokenSourceBuilder::refresh_backoff). The backoff
/// belongs to the source, shared by all its clones and callers: whatever
/// the call rate, at most one attempt per interval. Attempts are started by
/// calls, not by a timer: the first call after the interval starts the next
/// one, so once Clerk is back a new token is in place within one interval
/// (given calls).
///
/// When no valid token is left, a call waits for the attempt in flight, or
/// starts one if the backoff has passed; while backing off, it fails at once
/// with the last failure as [`Error::TokenRefresh`] ([`Error::status`],
/// [`Error::code`] and [`Error::trace_id`] read Clerk's answer through it).
/// Failing fast there is deliberate: queueing every caller behind a wait
/// that Clerk asked for would turn an outage into a pile-up of stalled
/// requests.
///
/// The client's own retries ([`RetryConfig`](crate::RetryConfig)) happen
/// inside each attempt. createM2MToken is a `POST` that creates something,
/// so by default the client retries it only when the connection could not be
/// made; a 429 or 503 ends the attempt and the source's backoff takes over.
/// (With [`with_retry_non_idempotent_posts`](crate::RetryConfig::with_retry_non_idempotent_posts),
/// the client first retries those itself, and each attempt lasts longer.)
/// Either way, a background refresh keeps those waits off the callers.
///
/// # What is happening
///
/// [`status`](Self::status) tells how long the token is still valid, whether
/// a refresh is running or the source is backing off, and the last failure,
/// for a health check. With [`tracing`], target
/// `clerk_machines::token_source`: a `WARN` event for each failed refresh
/// (Clerk's status, code and trace id, the error, the failures in a row, the
/// validity left and the wait before the next attempt), and an `INFO` event
/// when a refresh succeeds after failures (how many, for how long). Never
/// the token or the key.
///
/// # Many short-lived processes
///
/// Serverless functions and autoscaled instances can share one token instead
/// of each minting its own: see
/// [`min_remaining_ttl`](M2mTokenSourceBuilder::min_remaining_ttl).
///
/// # Runtime
///
/// A background refresh is spawned on the Tokio runtime the call runs in
/// ([`tokio::runtime::Handle::try_current`]). Outside a Tokio runtime, the
/// call that starts a refresh runs it itself, waiting for Clerk, and then
/// returns the cached token. A refresh in progress holds the source only
/// weakly: it never keeps a dropped source alive.
#[derive(Clone)]
pub struct M2mTokenSource {
    inner: Arc<Inner>,
}

struct Inner {
    clerk: Clerk,
    params: MintParams,
    lifetimes: Lifetimes,
    backoff: Backoff,
    clock: Arc<dyn Clock>,
    /// The current token: read by every call (concurrently), written by a refresh.
    cached: TokenCache,
    /// The refresh gate: [`IDLE`], [`RUNNING`], or the time before which no
    /// attempt starts (nanoseconds since the epoch, on `clock`). Read by the
    /// calls in the refresh window; written by the one call that claims an
    /// attempt (a compare-and-swap), and by the attempt when it ends.
    gate: AtomicU64,
    /// The attempt in flight and the failures so far.
    refresh: Mutex<Refresh>,
}

/// What the refresh attempts share, under [`Inner::refresh`].
#[derive(Default)]
struct Refresh {
    /// The attempt running, which callers without a valid token wait on.
    flight: Option<Flight>,
    /// Attempts failed in a row.
    failures: u32,
    /// When the first of them ended.
    failing_since: Option<SystemTime>,
    /// Why the last one failed.
    last_failure: Option<Arc<Error>>,
}

/// What an [`M2mTokenSource`] is doing, for a health check or a log line:
/// [`M2mTokenSource::status`]. It holds no secret.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct M2mTokenSourceStatus {
    /// How much longer the cached token is handed out (until its expiry less
    /// the safety allowance); `Duration::MAX` for a token that does not
    /// expire, `None` when no valid token is cached (a call then waits for a
    /// mint, or fails while the source backs off).
    pub valid_for: Option<Duration>,
    /// Whether a refresh is running.
    pub refreshing: bool,
    /// While backing off after a failure: how long until the next attempt may
    /// start (the first call after that starts it); `None` otherwise.
    pub next_attempt_in: Option<Duration>,
    /// Refreshes failed in a row since the last success.
    pub consecutive_failures: u32,
    /// Why the last refresh failed, until one succeeds: Clerk's status, code
    /// and trace id are read from it.
    pub last_failure: Option<Arc<Error>>,
}

impl std::fmt::Debug for M2mTokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("M2mTokenSource")
            .field("clerk", &self.inner.clerk)
            .field("token_format", &self.inner.params.format)
            .field("ttl", &self.inner.params.ttl)
            .field("refresh_margin", &self.inner.lifetimes.margin)
            .field("min_remaining_ttl", &self.inner.params.min_remaining_ttl)
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

impl M2mTokenSource {
    /// A builder for a source that mints with this machine secret key (`ak_...`).
    pub fn builder(
        machine_secret_key: impl Into<SecretString>,
        config: ClerkConfig,
    ) -> M2mTokenSourceBuilder {
        M2mTokenSourceBuilder::new(Clerk::new(machine_secret_key, config))
    }

    /// A builder for a source that mints with `clerk`, a client built with a
    /// machine secret key (its connection pool is shared).
    pub fn from_clerk(clerk: &Clerk) -> M2mTokenSourceBuilder {
        M2mTokenSourceBuilder::new(Ok(clerk.clone()))
    }

    /// A valid token: the cached one while it is valid, otherwise a new one.
    ///
    /// - Before its refresh window, the cached token. Once a thread holds a
    ///   copy of the current token, such a call takes no lock, allocates
    ///   nothing and writes no shared memory: it clones that copy. A thread's
    ///   first call, and its first after a new token is stored, copies the
    ///   token under a lock.
    /// - In the refresh window, the cached token, at once. The call also
    ///   reads whether a refresh is running or the source is backing off; the
    ///   one that finds neither starts a refresh in the background.
    /// - With no valid token, it waits for the refresh in flight or starts
    ///   one; while the source backs off after a failure, it fails at once.
    ///
    /// # Errors
    ///
    /// [`Error::TokenRefresh`] with the last refresh failure, and only when no
    /// valid token is left.
    pub async fn token(&self) -> Result<SecretString> {
        let now = self.inner.clock.now();
        match self.inner.cached.lookup(now) {
            Lookup::Fresh(token) => Ok(token),
            Lookup::Due(token) => {
                if let Some(flight) = self.inner.refresh_ahead(now) {
                    // No runtime to run it in the background: this call runs it.
                    let _ = flight.await;
                }
                Ok(token)
            }
            Lookup::Expired => self.inner.wait_for_token().await,
        }
    }

    /// Forgets the cached token, so that the next [`token`](Self::token) mints
    /// one (for example after the called service rejected it). While the
    /// source backs off after a failure, that call fails instead.
    pub fn invalidate(&self) {
        self.inner.cached.store(None);
    }

    /// What the source is doing: validity left, refresh running or backing
    /// off, the last failure. Reading it takes the source's locks briefly and
    /// changes nothing.
    pub fn status(&self) -> M2mTokenSourceStatus {
        let inner = &self.inner;
        let now = inner.clock.now();
        let refresh = inner.refresh();
        let gate = inner.gate.load(Ordering::Acquire);
        let now_nanos = nanos(now);
        let backing_off = gate != RUNNING && !inner.due(gate, now_nanos);
        M2mTokenSourceStatus {
            valid_for: inner.cached.valid_for(now),
            refreshing: gate == RUNNING,
            next_attempt_in: backing_off.then(|| Duration::from_nanos(gate - now_nanos)),
            consecutive_failures: refresh.failures,
            last_failure: refresh.last_failure.clone(),
        }
    }
}

impl Inner {
    fn refresh(&self) -> MutexGuard<'_, Refresh> {
        self.refresh.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether an attempt may start, the gate reading `gate` at `now` (both
    /// in nanoseconds). A gate further ahead than the longest wait means
    /// that the clock went back: it is not waited for.
    fn due(&self, gate: u64, now: u64) -> bool {
        gate != RUNNING && (gate <= now || gate - now > self.backoff.max_nanos())
    }

    /// For a call in the refresh window: claims and starts the next attempt,
    /// unless one is running or the source is backing off. Returns the
    /// attempt when this call must drive it (no runtime to spawn it on).
    fn refresh_ahead(self: &Arc<Self>, now: SystemTime) -> Option<Flight> {
        let gate = self.gate.load(Ordering::Acquire);
        if !self.due(gate, nanos(now)) {
            return None;
        }
        if self.gate.compare_exchange(gate, RUNNING, Ordering::AcqRel, Ordering::Relaxed).is_err() {
            return None; // another call claimed it
        }
        let mut refresh = self.refresh();
        // A call without a valid token may have started this claim's attempt
        // already (it may even have ended).
        if refresh.flight.is_some() || self.gate.load(Ordering::Acquire) != RUNNING {
            return None;
        }
        // An attempt may have stored a new token since this call looked.
        if let Lookup::Fresh(_) = self.cached.lookup(self.clock.now()) {
            self.gate.store(IDLE, Ordering::Release);
            return None;
        }
        let (flight, spawned) = self.start(&mut refresh);
        (!spawned).then_some(flight)
    }

    /// For a call with no valid token: the attempt in flight, or a new one,
    /// awaited; while backing off, the last failure.
    async fn wait_for_token(self: &Arc<Self>) -> Result<SecretString> {
        let flight = {
            let mut refresh = self.refresh();
            // An attempt may have ended while this call waited for the lock.
            match self.cached.lookup(self.clock.now()) {
                Lookup::Fresh(token) | Lookup::Due(token) => return Ok(token),
                Lookup::Expired => {}
            }
            match &refresh.flight {
                Some(flight) => flight.clone(),
                None => {
                    self.claim_for_waiter(&refresh)?;
                    self.start(&mut refresh).0
                }
            }
        };
        flight.await.map(|cached| cached.token).map_err(Error::TokenRefresh)
    }

    /// Claims the next attempt for a call with no valid token (under the
    /// refresh lock, no attempt in flight), or fails with the last failure
    /// while backing off.
    fn claim_for_waiter(&self, refresh: &Refresh) -> Result<()> {
        let now = nanos(self.clock.now());
        loop {
            let gate = self.gate.load(Ordering::Acquire);
            if gate == RUNNING {
                // Claimed by a call in the refresh window, which has not
                // started it yet: this call starts it.
                return Ok(());
            }
            if !self.due(gate, now) {
                if let Some(failure) = &refresh.last_failure {
                    return Err(Error::TokenRefresh(failure.clone()));
                }
            }
            if self.gate.compare_exchange(gate, RUNNING, Ordering::AcqRel, Ordering::Acquire).is_ok() {
                return Ok(());
            }
        }
    }

    /// Starts the claimed attempt: stores it for the calls that will wait on
    /// it and, in a Tokio runtime, drives it there. Returns it, and whether
    /// it was spawned.
    fn start(self: &Arc<Self>, refresh: &mut Refresh) -> (Flight, bool) {
        let flight = mint(Arc::downgrade(self)).boxed().shared();
        refresh.flight = Some(flight.clone());
        let spawned = match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let background = flight.clone();
                drop(runtime.spawn(async move {
                    let _ = background.await;
                }));
                true
            }
            Err(_) => false,
        };
        (flight, spawned)
    }

    /// Records how an attempt ended: the new token, or the failure and the
    /// wait before the next attempt.
    fn finish(&self, result: &std::result::Result<Cached, Arc<Error>>) {
        let now = self.clock.now();
        let mut refresh = self.refresh();
        refresh.flight = None;
        match result {
            Ok(cached) => {
                self.cached.store(Some(cached.clone()));
                if refresh.failures > 0 {
                    let failing_for = refresh
                        .failing_since
                        .and_then(|since| now.duration_since(since).ok())
                        .unwrap_or_default();
                    tracing::info!(
                        target: TARGET,
                        failures = refresh.failures,
                        failing_for_ms = millis(failing_for),
                        "M2M token refreshed after failed attempts"
                    );
                }
                refresh.failures = 0;
                refresh.failing_since = None;
                refresh.last_failure = None;
                self.gate.store(IDLE, Ordering::Release);
            }
            Err(error) => {
                refresh.failures = refresh.failures.saturating_add(1);
                refresh.failing_since.get_or_insert(now);
                refresh.last_failure = Some(error.clone());
                let wait = self.backoff.delay(refresh.failures, error, fastrand::f64());
                let valid_for = self.cached.valid_for(now);
                tracing::warn!(
                    target: TARGET,
                    status = error.status().map(|status| status.as_u16()),
                    code = error.code(),
                    trace_id = error.trace_id(),
                    %error,
                    consecutive_failures = refresh.failures,
                    valid_for_ms = valid_for.map_or(0, millis),
                    next_attempt_in_ms = millis(wait),
                    "M2M token refresh failed; {}",
                    if valid_for.is_some() {
                        "the cached token is still handed out"
                    } else {
                        "no valid token is left"
                    }
                );
                self.gate
                    .store(nanos(now).saturating_add(nanos_of(wait)).min(RUNNING - 1), Ordering::Release);
            }
        }
    }
}

/// Mints one token and records the outcome. Holds the source only weakly,
/// so that a dropped source is not kept alive by a refresh in flight.
async fn mint(inner: Weak<Inner>) -> std::result::Result<Cached, Arc<Error>> {
    let gone = || Arc::new(Error::invalid("token_source", "was dropped while minting"));
    let (clerk, params, clock, lifetimes) = {
        let inner = inner.upgrade().ok_or_else(gone)?;
        (inner.clerk.clone(), inner.params.clone(), inner.clock.clone(), inner.lifetimes)
    };
    let started = clock.now();
    let result =
        params.create(&clerk).await.map(|created| lifetimes.cached(created, started)).map_err(Arc::new);
    if let Some(inner) = inner.upgrade() {
        inner.finish(&result);
    }
    result
}

/// When a minted token is refreshed and until when it is handed out.
#[derive(Clone, Copy, Debug)]
struct Lifetimes {
    margin: Duration,
    allowance: Duration,
    /// `min_remaining_ttl`: all that is known of a token Clerk may have reused.
    min_remaining: Option<Duration>,
}

impl Lifetimes {
    /// The cache entry for `created`, minted by a request sent at `started`.
    fn cached(&self, created: crate::types::CreateM2mTokenResponse, started: SystemTime) -> Cached {
        let Some(expiration) = created.expiration else {
            return Cached { token: created.token, refresh_at: None, valid_until: None };
        };
        // The lifetime as Clerk computed it, counted from our clock, so that
        // a skew between Clerk's clock and ours does not matter.
        let seconds = ((expiration - created.created_at) / 1000.0).clamp(0.0, 1e12);
        let mut lifetime = Duration::try_from_secs_f64(seconds).unwrap_or(Duration::ZERO);
        // A reused token may be older than this request: Clerk promises only
        // that it has `min_remaining_ttl` left.
        if let Some(min_remaining) = self.min_remaining {
            lifetime = lifetime.min(min_remaining);
        }
        let margin = self.margin.min(lifetime / 2);
        let allowance = self.allowance.min(margin / 4);
        Cached {
            token: created.token,
            refresh_at: started.checked_add(lifetime - margin),
            valid_until: started.checked_add(lifetime - allowance),
        }
    }
}

/// The waits between failed refreshes.
#[derive(Clone, Copy, Debug)]
struct Backoff {
    initial: Duration,
    max: Duration,
}

impl Backoff {
    /// The wait after `failures` failed attempts in a row, the last ending
    /// with `error`; `draw` is a random number in `[0, 1)`.
    fn delay(&self, failures: u32, error: &Error, draw: f64) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        let ceiling = self.initial.saturating_mul(1 << doublings).min(self.max);
        // Between half the ceiling and all of it.
        let factor = 1.0 - draw.clamp(0.0, 1.0) / 2.0;
        let jittered = Duration::try_from_secs_f64(ceiling.as_secs_f64() * factor).unwrap_or(ceiling);
        let asked = match error {
            Error::Api { status, retry_after, .. }
                if *status == StatusCode::TOO_MANY_REQUESTS || *status == StatusCode::SERVICE_UNAVAILABLE =>
            {
                *retry_after
            }
            _ => None,
        };
        asked.map_or(jittered, |asked| asked.max(jittered)).min(self.max)
    }

    fn max_nanos(&self) -> u64 {
        nanos_of(self.max)
    }
}

/// `time` in nanoseconds since the epoch (0 before it, saturating after 2554).
fn nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, nanos_of)
}

fn nanos_of(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(RUNNING - 1)
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// What each mint asks for.
#[derive(Clone)]
struct MintParams {
    format: Option<TokenFormat>,
    ttl: Option<Duration>,
    claims: Option<Value>,
    min_remaining_ttl: Option<Duration>,
}

impl MintParams {
    async fn create(&self, clerk: &Clerk) -> Result<crate::types::CreateM2mTokenResponse> {
        let mut request = clerk.m2m().create_token();
        if let Some(format) = self.format {
            request = request.token_format(format);
        }
        if let Some(ttl) = self.ttl {
            request = request.seconds_until_expiration(ttl);
        }
        if let Some(claims) = &self.claims {
            request = request.claims(claims);
        }
        if let Some(min_remaining) = self.min_remaining_ttl {
            request = request.min_remaining_ttl(min_remaining);
        }
        request.await
    }
}

/// Options of an [`M2mTokenSource`]; finish with [`build`](Self::build).
#[must_use = "call `build()` to get the token source"]
pub struct M2mTokenSourceBuilder {
    clerk: Result<Clerk>,
    format: Option<TokenFormat>,
    ttl: Option<Duration>,
    margin: Duration,
    claims: Option<std::result::Result<Value, String>>,
    min_remaining_ttl: Option<Duration>,
    backoff: Backoff,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for M2mTokenSourceBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("M2mTokenSourceBuilder")
            .field("clerk", &self.clerk.as_ref().ok())
            .field("token_format", &self.format)
            .field("ttl", &self.ttl)
            .field("refresh_margin", &self.margin)
            .field("min_remaining_ttl", &self.min_remaining_ttl)
            .field("refresh_backoff", &(self.backoff.initial, self.backoff.max))
            .finish_non_exhaustive()
    }
}

impl M2mTokenSourceBuilder {
    fn new(clerk: Result<Clerk>) -> Self {
        Self {
            clerk,
            format: None,
            ttl: None,
            margin: defaults::REFRESH_MARGIN,
            claims: None,
            min_remaining_ttl: None,
            backoff: Backoff {
                initial: defaults::REFRESH_INITIAL_BACKOFF,
                max: defaults::REFRESH_MAX_BACKOFF,
            },
            clock: Arc::new(SystemClock),
        }
    }

    /// Format of the minted tokens (unset: Clerk's default, opaque).
    pub fn token_format(mut self, format: TokenFormat) -> Self {
        self.format = Some(format);
        self
    }

    /// Lifetime of each minted token, in whole seconds (unset: the machine's
    /// default token lifetime).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// How long before expiry a new token is minted in the background (default
    /// [`defaults::REFRESH_MARGIN`]); the cached token is still handed out
    /// meanwhile. Capped at half of a token's lifetime so that short-lived
    /// tokens are still reused. Zero turns refreshing ahead off: the token is
    /// then replaced only once it has expired, by a call that waits for it.
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// The waits between failed refreshes: `initial` after the first failure,
    /// doubled after each further one, at most `max` (defaults
    /// [`defaults::REFRESH_INITIAL_BACKOFF`], 1 s, and
    /// [`defaults::REFRESH_MAX_BACKOFF`], 30 s). Each wait is drawn at random
    /// between half of that and all of it, so that many instances do not
    /// retry in step, and is at least Clerk's `Retry-After` on a 429 or a
    /// 503, but never more than `max`.
    pub fn refresh_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.backoff = Backoff { initial, max };
        self
    }

    /// Custom claims put in every minted token.
    pub fn claims(mut self, claims: impl Serialize) -> Self {
        self.claims = Some(serde_json::to_value(claims).map_err(|e| e.to_string()));
        self
    }

    /// One token for many processes: Clerk hands back a live token of this
    /// machine with the same claims that has at least `min_remaining` of its
    /// lifetime left, instead of minting a new one (createM2MToken's
    /// `min_remaining_ttl_seconds`). Opaque tokens only.
    ///
    /// Use it where many short-lived processes share a machine key:
    /// serverless functions, autoscaled or often restarted instances, jobs
    /// and command-line runs. Each would otherwise mint a token at start-up,
    /// so mints (and Clerk's rate limit) grow with the number of processes,
    /// and most tokens are thrown away unused. Choose `min_remaining` at least
    /// as long as a process usually lives, plus the refresh margin. A
    /// long-lived service gains nothing from it: leave it unset there.
    ///
    /// A token handed back this way may have been minted earlier by another
    /// process, and Clerk promises only `min_remaining` of life: the source
    /// counts every token it gets as valid for that long (its refresh margin
    /// and safety allowance apply within it). Needs [`ttl`](Self::ttl), and
    /// must be less than it, in whole seconds: [`build`](Self::build)
    /// checks, so that Clerk never refuses the mint for it.
    pub fn min_remaining_ttl(mut self, min_remaining: Duration) -> Self {
        self.min_remaining_ttl = Some(min_remaining);
        self
    }

    /// The clock deciding when a token is due for refresh, when it stops
    /// being valid and when the next attempt may start after a failure
    /// (default [`SystemClock`]). A test can move a
    /// `testing::ManualClock` (feature `test-util`) instead of sleeping.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Checks the options and builds the source. Nothing is sent yet: the
    /// first token is minted by the first [`M2mTokenSource::token`] call.
    ///
    /// Fails with [`Error::InvalidInput`] for an instance key (`sk_...`),
    /// a TTL that is not a whole number of seconds, a margin not shorter than
    /// the TTL, a backoff whose first wait is zero or longer than its
    /// longest, claims that do not serialize, or a `min_remaining_ttl` with
    /// JWT-format tokens, without a TTL, or not less than it.
    pub fn build(self) -> Result<M2mTokenSource> {
        let clerk = self.clerk?;
        require_machine_key("secret_key", clerk.key_kind())?;
        if let Some(ttl) = self.ttl {
            if ttl.is_zero() || ttl.subsec_nanos() != 0 {
                return Err(Error::invalid(
                    "ttl",
                    format!("{ttl:?} is not a positive whole number of seconds"),
                ));
            }
            if self.margin >= ttl {
                return Err(Error::invalid(
                    "refresh_margin",
                    format!("{:?} must be shorter than the ttl ({ttl:?})", self.margin),
                ));
            }
        }
        if let Some(min_remaining) = self.min_remaining_ttl {
            // The request's own checks (opaque only, whole seconds, less than
            // the lifetime), made now rather than at each mint.
            let mut request = clerk.m2m().create_token().min_remaining_ttl(min_remaining);
            if let Some(format) = self.format {
                request = request.token_format(format);
            }
            if let Some(ttl) = self.ttl {
                request = request.seconds_until_expiration(ttl);
            }
            request.check()?;
            if self.ttl.is_none() {
                return Err(Error::invalid(
                    "min_remaining_ttl",
                    "needs a ttl, so that it is known to be less than the tokens' lifetime before anything is sent",
                ));
            }
        }
        let Backoff { initial, max } = self.backoff;
        if initial.is_zero() || initial > max {
            return Err(Error::invalid(
                "refresh_backoff",
                format!(
                    "the first wait ({initial:?}) must be more than zero and at most the longest ({max:?})"
                ),
            ));
        }
        let claims = match self.claims {
            Some(Err(reason)) => {
                return Err(Error::invalid("claims", format!("cannot be serialized to JSON: {reason}")))
            }
            Some(Ok(claims)) => Some(claims),
            None => None,
        };
        Ok(M2mTokenSource {
            inner: Arc::new(Inner {
                clerk,
                params: MintParams {
                    format: self.format,
                    ttl: self.ttl,
                    claims,
                    min_remaining_ttl: self.min_remaining_ttl,
                },
                lifetimes: Lifetimes {
                    margin: self.margin,
                    allowance: defaults::EXPIRY_ALLOWANCE,
                    min_remaining: self.min_remaining_ttl,
                },
                backoff: self.backoff,
                clock: self.clock,
                cached: TokenCache::new(),
                gate: AtomicU64::new(IDLE),
                refresh: Mutex::new(Refresh::default()),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: StatusCode, retry_after: Option<u64>) -> Error {
        Error::Api {
            status,
            errors: Vec::new(),
            trace_id: None,
            retry_after: retry_after.map(Duration::from_secs),
        }
    }

    #[test]
    fn the_backoff_doubles_with_jitter_up_to_the_cap_and_honours_retry_after() {
        let s = Duration::from_secs;
        let backoff = Backoff { initial: s(1), max: s(30) };
        let unavailable = api(StatusCode::SERVICE_UNAVAILABLE, None);
        // Without jitter (draw 0): the ceiling; with the largest draw: half of it.
        let ceilings: Vec<_> = (1..=7).map(|n| backoff.delay(n, &unavailable, 0.0)).collect();
        assert_eq!(ceilings, [s(1), s(2), s(4), s(8), s(16), s(30), s(30)]);
        assert_eq!(backoff.delay(3, &unavailable, 0.5), s(3));
        assert_eq!(backoff.delay(3, &unavailable, 0.999_999), Duration::from_nanos(2_000_002_000));
        assert_eq!(backoff.delay(u32::MAX, &unavailable, 0.0), s(30), "no overflow");
        // Retry-After on 429 and 503: at least that, at most the cap.
        assert_eq!(backoff.delay(1, &api(StatusCode::TOO_MANY_REQUESTS, Some(20)), 0.0), s(20));
        assert_eq!(backoff.delay(1, &api(StatusCode::SERVICE_UNAVAILABLE, Some(7)), 0.9), s(7));
        assert_eq!(backoff.delay(1, &api(StatusCode::TOO_MANY_REQUESTS, Some(3600)), 0.0), s(30));
        assert_eq!(backoff.delay(5, &api(StatusCode::TOO_MANY_REQUESTS, Some(2)), 0.0), s(16), "not shorter");
        // ... and only there.
        assert_eq!(backoff.delay(1, &api(StatusCode::BAD_GATEWAY, Some(20)), 0.0), s(1));
        let huge = Backoff { initial: Duration::MAX, max: Duration::MAX };
        assert_eq!(huge.delay(1, &unavailable, 0.0), Duration::MAX, "no panic on huge waits");
    }

    #[tokio::test]
    async fn a_refresh_in_flight_does_not_keep_a_dropped_source_alive() {
        // A "Clerk" that accepts connections and never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        let silent = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((connection, _)) = listener.accept().await {
                held.push(connection);
            }
        });
        let tokens = M2mTokenSource::builder("ak_test_weak", ClerkConfig::default().with_base_url(url))
            .build()
            .unwrap();
        let now = SystemTime::now();
        tokens.inner.cached.store(Some(Cached {
            token: SecretString::from("mt_in_window"),
            refresh_at: Some(now - Duration::from_secs(1)),
            valid_until: Some(now + Duration::from_secs(60)),
        }));
        assert_eq!(tokens.token().await.unwrap().expose_secret(), "mt_in_window");
        assert!(tokens.status().refreshing, "a refresh runs in the background");
        let weak = Arc::downgrade(&tokens.inner);
        drop(tokens);
        assert!(weak.upgrade().is_none(), "the refresh holds the source weakly");
        silent.abort();
    }

    #[test]
    fn lifetimes_count_from_the_request_with_margin_and_allowance() {
        let started = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let created = |lifetime_ms: f64| -> crate::types::CreateM2mTokenResponse {
            serde_json::from_value(serde_json::json!({
                "object": "machine_to_machine_token", "id": "mt_0123456789abcdef0123456789abcdef",
                "subject": "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk", "scopes": [], "token": "mt_secret",
                "revoked": false, "revocation_reason": null, "expired": false,
                // Clerk's clock is an hour ahead of ours: it does not matter.
                "created_at": 1_003_600_000.0, "expiration": 1_003_600_000.0 + lifetime_ms,
                "last_used_at": null, "updated_at": 1_003_600_000.0
            }))
            .unwrap()
        };
        let at = |ms: u64| Some(started + Duration::from_millis(ms));
        let lifetimes = Lifetimes {
            margin: Duration::from_secs(60),
            allowance: Duration::from_secs(5),
            min_remaining: None,
        };
        let hour = lifetimes.cached(created(3_600_000.0), started);
        assert_eq!((hour.refresh_at, hour.valid_until), (at(3_540_000), at(3_595_000)));
        // A 6 s token: margin 3 s (half), allowance 0.75 s (a quarter of it).
        let short = lifetimes.cached(created(6_000.0), started);
        assert_eq!((short.refresh_at, short.valid_until), (at(3_000), at(5_250)));
        // A token Clerk may have reused counts for min_remaining_ttl only.
        let shared = Lifetimes { min_remaining: Some(Duration::from_secs(600)), ..lifetimes };
        let reused = shared.cached(created(3_600_000.0), started);
        assert_eq!((reused.refresh_at, reused.valid_until), (at(540_000), at(595_000)));
        // Nonsense times give a token that is due and invalid at once, never a panic.
        let backwards = lifetimes.cached(created(-5_000.0), started);
        assert_eq!((backwards.refresh_at, backwards.valid_until), (at(0), at(0)));
    }
}
