//! [`M2mTokenSource`]: the calling side's cached, single-flight supply of M2M tokens.

use super::create::require_machine_key;
use super::token_cache::{Cached, TokenCache};
use super::TokenFormat;
use crate::client::Clerk;
use crate::clock::{Clock, SystemClock};
use crate::config::ClerkConfig;
use crate::defaults;
use crate::error::{Error, Result};
use crate::secret::SecretString;
use futures::future::{BoxFuture, FutureExt, Shared};
use serde::Serialize;
use serde_json::Value;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, SystemTime};

type Flight = Shared<BoxFuture<'static, std::result::Result<Cached, Arc<Error>>>>;

/// M2M tokens for the calling side: `token().await` returns a cached token
/// and mints a new one only when the cached one is within the refresh margin
/// of its expiry.
///
/// Concurrent callers share one request: a hundred tasks asking at once
/// cause one mint. If that mint fails, every waiting caller gets the same
/// [`Error::TokenRefresh`], and the next call tries again. Cheap to clone
/// (clones share the cache). `Debug` never shows the key or the token.
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
/// # let _ = header; Ok(()) }
/// ```
#[derive(Clone)]
pub struct M2mTokenSource {
    inner: Arc<Inner>,
}

struct Inner {
    clerk: Clerk,
    params: MintParams,
    margin: Duration,
    clock: Arc<dyn Clock>,
    /// The current token: read by every call (concurrently), written by a mint.
    cached: TokenCache,
    /// The mint in progress, which callers finding no fresh token share.
    in_flight: Mutex<Option<Flight>>,
}

impl std::fmt::Debug for M2mTokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("M2mTokenSource")
            .field("clerk", &self.inner.clerk)
            .field("token_format", &self.inner.params.format)
            .field("ttl", &self.inner.params.ttl)
            .field("refresh_margin", &self.inner.margin)
            .field("cached", &self.inner.cached.is_filled())
            .field("refreshing", &self.inner.flight().is_some())
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

    /// A valid token: the cached one, or a new one when the cached one is
    /// within the refresh margin of its expiry (or there is none yet).
    ///
    /// Once a thread holds a copy of the current token, a call on it that
    /// finds the token fresh takes no lock and allocates nothing: it clones
    /// that copy, so concurrent callers neither wait for each other nor
    /// write to shared memory. A thread's first call, and its first after a
    /// new token is stored, copies the token under a lock.
    pub async fn token(&self) -> Result<SecretString> {
        if let Some(token) = self.inner.fresh(self.inner.clock.now()) {
            return Ok(token);
        }
        let flight = {
            let mut in_flight = self.inner.flight();
            // A mint may have finished while this call waited for the lock.
            if let Some(token) = self.inner.fresh(self.inner.clock.now()) {
                return Ok(token);
            }
            match &*in_flight {
                Some(flight) => flight.clone(),
                None => {
                    let flight = mint(Arc::downgrade(&self.inner)).boxed().shared();
                    *in_flight = Some(flight.clone());
                    flight
                }
            }
        };
        flight.await.map(|cached| cached.token).map_err(Error::TokenRefresh)
    }

    /// Forgets the cached token, so that the next [`token`](Self::token) mints
    /// one (for example after the called service rejected it).
    pub fn invalidate(&self) {
        self.inner.cached.store(None);
    }
}

impl Inner {
    /// The cached token, if it is fresh at `now`.
    fn fresh(&self, now: SystemTime) -> Option<SecretString> {
        self.cached.fresh(now)
    }

    fn flight(&self) -> std::sync::MutexGuard<'_, Option<Flight>> {
        self.in_flight.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Mints one token and stores it. Holds the source only weakly while the
/// request is in flight, so that a dropped source is not kept alive by it.
async fn mint(inner: Weak<Inner>) -> std::result::Result<Cached, Arc<Error>> {
    let gone = || Arc::new(Error::invalid("token_source", "was dropped while minting"));
    let (clerk, params, clock, margin) = {
        let inner = inner.upgrade().ok_or_else(gone)?;
        (inner.clerk.clone(), inner.params.clone(), inner.clock.clone(), inner.margin)
    };
    let started = clock.now();
    let result = params.create(&clerk).await.map(|created| {
        let refresh_at = created.expiration.and_then(|expiration| {
            // The lifetime as Clerk computed it, counted from our clock, so
            // that a skew between Clerk's clock and ours does not matter.
            let lifetime =
                Duration::from_secs_f64(((expiration - created.created_at) / 1000.0).clamp(0.0, 1e12));
            started.checked_add(lifetime - margin.min(lifetime / 2))
        });
        Cached { token: created.token, refresh_at }
    });
    if let Some(inner) = inner.upgrade() {
        let mut in_flight = inner.flight();
        if let Ok(cached) = &result {
            inner.cached.store(Some(cached.clone()));
        }
        *in_flight = None;
    }
    result.map_err(Arc::new)
}

/// What each mint asks for.
#[derive(Clone)]
struct MintParams {
    format: Option<TokenFormat>,
    ttl: Option<Duration>,
    claims: Option<Value>,
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
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for M2mTokenSourceBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("M2mTokenSourceBuilder")
            .field("clerk", &self.clerk.as_ref().ok())
            .field("token_format", &self.format)
            .field("ttl", &self.ttl)
            .field("refresh_margin", &self.margin)
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

    /// How long before expiry a new token is minted (default
    /// [`defaults::REFRESH_MARGIN`]). Capped at half of a token's lifetime so
    /// that short-lived tokens are still reused.
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// Custom claims put in every minted token.
    pub fn claims(mut self, claims: impl Serialize) -> Self {
        self.claims = Some(serde_json::to_value(claims).map_err(|e| e.to_string()));
        self
    }

    /// The clock deciding when a token is due for refresh (default [`SystemClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Checks the options and builds the source. Nothing is sent yet: the
    /// first token is minted by the first [`M2mTokenSource::token`] call.
    ///
    /// Fails with [`Error::InvalidInput`] for an instance key (`sk_...`),
    /// a TTL that is not a whole number of seconds, a margin not shorter than
    /// the TTL, or claims that do not serialize.
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
                params: MintParams { format: self.format, ttl: self.ttl, claims },
                margin: self.margin,
                clock: self.clock,
                cached: TokenCache::new(),
                in_flight: Mutex::new(None),
            }),
        })
    }
}
