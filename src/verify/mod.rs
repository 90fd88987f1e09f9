//! The called side: [`Verifier`] checks the machine credentials a service
//! receives — M2M tokens, API keys, OAuth access tokens — as Clerk's own
//! `authenticateRequest({ acceptsToken })` does, with one contract
//! ([`VerifyError`]: refused, or unavailable) and a guarded edge. Feature `jwt`;
//! the `tower` layer and axum extractors are in [`server`](crate::server).
//!
//! # Routing
//!
//! A token goes where Clerk's SDK sends it ([`token_kind`]): a JWT whose
//! `sub` is a machine (`mch_...`) is an M2M token, a JWT of type `at+jwt`
//! (or `application/at+jwt`) an OAuth access token, both verified locally
//! against the instance's keys; otherwise the prefix decides: `mt_` M2M
//! (`verifyM2MToken`), `oat_` OAuth (`verifyOAuthAccessToken`), `ak_` API
//! key (`verifyApiKey`), all three asked of Clerk. A token of a kind the
//! verifier does not [accept](VerifierBuilder::accept) is refused without
//! any call.
//!
//! # What protects Clerk's budget
//!
//! Clerk limits Backend API calls per instance (1,000 per 10 s in
//! production, 100 in development); every opaque token or API key costs one.
//! Before any call, a token must be at most
//! [`max_token_length`](VerifierBuilder::max_token_length) bytes of RFC 6750
//! `b64token` and, for an opaque kind, of that kind's length and alphabet
//! (the rules and where they come from: `src/verify/shape.rs`). Clerk's
//! refusals are remembered for [`refusal_cache`](VerifierBuilder::refusal_cache)
//! (default 10 s); concurrent verifications of one token share one call; an
//! optional [ceiling](VerifierBuilder::max_clerk_calls_per_second) answers
//! [`Unavailable::CallCeiling`] beyond a number of calls per second.
//!
//! # Caches and what they trade away
//!
//! | kind | cache | what it costs |
//! |---|---|---|
//! | M2M JWT, OAuth JWT | [`jwt_cache`](VerifierBuilder::jwt_cache), on by default | nothing a JWT does not already give up: it cannot be revoked; an entry lives until the token's `exp` and never past the key set's maximum age, so a retired key stops working as it would without the cache |
//! | opaque M2M token | [`opaque_cache`](VerifierBuilder::opaque_cache), off by default | a token revoked at Clerk keeps working here for up to the cache's TTL |
//! | API key | the same `opaque_cache` | a revoked or deleted key keeps working for up to the TTL: keep it to seconds, or leave the cache off when keys must stop at once |
//! | opaque OAuth token | the same `opaque_cache` | a token revoked by the user keeps working for up to the TTL |
//! | refusals (opaque kinds) | [`refusal_cache`](VerifierBuilder::refusal_cache), on by default (10 s) | a token Clerk did not know yet (minted a moment later than it was tried) stays refused for the TTL |

mod cache;
mod clerk;
mod error;
mod flight;
mod jwks;
mod jwt;
mod keys;
mod kind;
mod shape;
mod verified;

pub use cache::CacheStats;
pub use error::{Reason, Unavailable, VerifyError};
pub use kind::{token_kind, Kinds, TokenKind};
pub use verified::{Verified, VerifiedApiKey, VerifiedM2mToken, VerifiedOAuthToken};

use crate::client::{Clerk, KeyKind};
use crate::clock::{Clock, SystemClock};
use crate::defaults;
use crate::error::{Error, Result};
use crate::ids::{is_machine_id, M2M_TOKEN_PREFIX};
use crate::m2m::TokenFormat;
use cache::{token_digest, DigestCache, JwtCache};
use flight::{Ceiling, SingleFlight};
use jwks::JwksCache;
use keys::RsaKey;
use kind::{API_KEY_PREFIX, OAUTH_TOKEN_PREFIX};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The token of an `Authorization: Bearer <token>` header value (the scheme
/// matched without regard to case, RFC 7235), or `None` for another scheme
/// or no token.
///
/// ```
/// use clerk_machines::verify::bearer_token;
///
/// assert_eq!(bearer_token("Bearer mt_123"), Some("mt_123"));
/// assert_eq!(bearer_token("bearer mt_123"), Some("mt_123"));
/// assert_eq!(bearer_token("Basic dXNlcg=="), None);
/// ```
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim().split_once(' ')?;
    let token = token.trim_start_matches(' ');
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Verifies the machine credentials a service receives; see the [module
/// documentation](self) for routing, caches and flood protection.
///
/// - **JWTs** (M2M and OAuth) are verified locally, with no request per
///   token: for M2M, header `cat` absent or Clerk's M2M category and `typ`
///   absent or `JWT`; for OAuth, `typ` `at+jwt` or `application/at+jwt`;
///   `alg` RS256 only (`none` and HS256 included in the refusals); the
///   signature against the instance's key set (fetched with the instance
///   key, trusted for [`jwks_max_age`](VerifierBuilder::jwks_max_age),
///   refetched at once when a token names an unknown key, at most once per
///   [`jwks_refetch_interval`](VerifierBuilder::jwks_refetch_interval)) or a
///   PEM public key given offline; then `exp` not passed, `nbf` and `iat`
///   not in the future, with a [`leeway`](VerifierBuilder::leeway); an OAuth
///   token's subject must be a user, and its `aud` one of the
///   [`oauth_audience`](VerifierBuilder::oauth_audience)s when any is given.
/// - **Opaque tokens and API keys** are sent to Clerk's verify endpoint of
///   their kind, with the instance key or, for M2M tokens, least privilege,
///   the called machine's own secret key
///   ([`m2m_opaque_via`](VerifierBuilder::m2m_opaque_via): Clerk then also
///   checks the token was granted access to that machine).
///
/// Cheap to clone: clones share the key set, the caches and the calls in flight.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use clerk_machines::verify::{TokenKind, Verified, Verifier};
/// use clerk_machines::Clerk;
///
/// // M2M tokens scoped to this service, and API keys, with the instance key.
/// let verifier = Verifier::builder(&Clerk::from_env()?)
///     .accept([TokenKind::M2m, TokenKind::ApiKey])
///     .scoped_to("mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk")
///     .build()?;
/// match verifier.verify("ak_...").await? {
///     Verified::ApiKey(key) => println!("key {} of {}", key.name, key.subject),
///     other => println!("{} {}", other.kind(), other.subject()),
/// }
///
/// // Least privilege, no instance key: the instance's public key for JWTs,
/// // this service's machine secret key for opaque M2M tokens.
/// let pem = std::fs::read("clerk-instance-public-key.pem")?;
/// let machine = Clerk::new("ak_...", Default::default())?;
/// let verifier = Verifier::from_pem(pem).m2m_opaque_via(&machine).build()?;
/// # let _ = verifier; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    keys: Option<Keys>,
    m2m_opaque: Option<Clerk>,
    api_keys: Option<Clerk>,
    oauth_opaque: Option<Clerk>,
    kinds: Kinds,
    accept_m2m_jwt: bool,
    accept_m2m_opaque: bool,
    leeway: Duration,
    scoped_to: Option<String>,
    audiences: Vec<String>,
    max_length: usize,
    clock: Arc<dyn Clock>,
    jwts: Option<JwtCache<Verified>>,
    opaque: Option<(DigestCache<Verified>, Duration)>,
    refusals: Option<(DigestCache<Reason>, Duration)>,
    flight: SingleFlight,
    ceiling: Option<Ceiling>,
    counts: Counts,
}

#[derive(Default)]
struct Counts {
    clerk_calls: AtomicU64,
    joined: AtomicU64,
    over_ceiling: AtomicU64,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let client = |clerk: &Option<Clerk>| {
            clerk.as_ref().map(|clerk| (clerk.base_url().to_owned(), clerk.key_kind()))
        };
        f.debug_struct("Verifier")
            .field("kinds", &self.kinds)
            .field("keys", &self.keys)
            .field("m2m_opaque_via", &client(&self.m2m_opaque))
            .field("api_keys_via", &client(&self.api_keys))
            .field("oauth_opaque_via", &client(&self.oauth_opaque))
            .field("accept_m2m_jwt", &self.accept_m2m_jwt)
            .field("accept_m2m_opaque", &self.accept_m2m_opaque)
            .field("leeway", &self.leeway)
            .field("scoped_to", &self.scoped_to)
            .field("oauth_audience", &self.audiences)
            .field("max_token_length", &self.max_length)
            .field("jwt_cache", &self.jwts.as_ref().map(JwtCache::capacity))
            .field("opaque_cache", &self.opaque.as_ref().map(|(cache, ttl)| (cache.capacity(), ttl)))
            .field("refusal_cache", &self.refusals.as_ref().map(|(cache, ttl)| (cache.capacity(), ttl)))
            .field("ceiling", &self.ceiling)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
enum Keys {
    Jwks(Box<JwksCache>),
    Pem(Arc<RsaKey>),
}

/// What a [`Verifier`] did so far, for monitoring and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifierStats {
    /// Lookups of the verified-JWT cache.
    pub jwt_cache: CacheStats,
    /// Lookups of the cache of Clerk's positive answers.
    pub opaque_cache: CacheStats,
    /// Lookups of the cache of Clerk's refusals.
    pub refusal_cache: CacheStats,
    /// Verification calls made to Clerk (opaque tokens and API keys).
    pub clerk_calls: u64,
    /// Verifications that joined a call another had started for the same token.
    pub joined_calls: u64,
    /// Verifications answered [`Unavailable::CallCeiling`] without a call.
    pub over_ceiling: u64,
}

impl Verifier {
    /// A verifier that reads the instance's keys from Clerk (`GET /jwks`,
    /// with `clerk`'s key, which must be the instance key `sk_...`) and sends
    /// opaque tokens and API keys to Clerk with the same client. It accepts
    /// M2M tokens unless told otherwise ([`accept`](VerifierBuilder::accept)).
    pub fn builder(clerk: &Clerk) -> VerifierBuilder {
        VerifierBuilder::new(Some(KeySource::Jwks(clerk.clone())), Some(clerk.clone()))
    }

    /// A verifier that checks JWTs against the instance's RSA public key (PEM,
    /// as Clerk's dashboard shows it), without any request. Opaque tokens and
    /// API keys are refused unless a client is given with
    /// [`opaque_via`](VerifierBuilder::opaque_via) or
    /// [`m2m_opaque_via`](VerifierBuilder::m2m_opaque_via).
    pub fn from_pem(public_key_pem: impl AsRef<[u8]>) -> VerifierBuilder {
        VerifierBuilder::new(Some(KeySource::Pem(public_key_pem.as_ref().to_vec())), None)
    }

    /// A verifier for opaque tokens and API keys only, through `clerk`
    /// (for M2M tokens, typically this service's machine secret key `ak_...`,
    /// so that Clerk checks the token was granted access to this machine).
    /// JWTs are refused.
    pub fn opaque_only(clerk: &Clerk) -> VerifierBuilder {
        VerifierBuilder::new(None, Some(clerk.clone()))
    }

    /// Verifies `token`, of whatever kind the verifier accepts. A refusal is
    /// [`VerifyError::Refused`] with the reason, whoever decided it;
    /// anything that is not the token's fault is [`VerifyError::Unavailable`].
    pub async fn verify(&self, token: &str) -> Result<Verified, VerifyError> {
        let inner = &*self.inner;
        if token.len() > inner.max_length {
            return Err(Reason::TooLong { max: inner.max_length }.into());
        }
        // A token in the cache passed every check below when it went in.
        if let Some(cache) = &inner.jwts {
            if let Some(verified) = cache.get(token, inner.clock.now()) {
                return Ok(verified);
            }
        }
        // A JWT's alphabet (base64url and dots) is within RFC 6750's: one scan for either.
        let jwt = if jwt::is_jwt_format(token) {
            Some(jwt::parse_jwt_format(token))
        } else {
            shape::check(token, inner.max_length)?;
            None
        };
        let jwt_kind = match &jwt {
            Some(Ok(parsed)) => parsed.kind(),
            _ => None,
        };
        // Clerk's order (`getMachineTokenType`): M2M, OAuth, API key.
        let kind = if token.starts_with(M2M_TOKEN_PREFIX) || jwt_kind == Some(TokenKind::M2m) {
            TokenKind::M2m
        } else if token.starts_with(OAUTH_TOKEN_PREFIX) || jwt_kind == Some(TokenKind::OAuth) {
            TokenKind::OAuth
        } else if token.starts_with(API_KEY_PREFIX) {
            TokenKind::ApiKey
        } else {
            return Err(match jwt {
                Some(Err(reason)) => reason,
                _ => Reason::UnknownKind,
            }
            .into());
        };
        if !inner.kinds.contains(kind) {
            return Err(Reason::KindNotAccepted { kind }.into());
        }
        match jwt {
            Some(parsed) => self.verify_jwt(token, parsed?, kind).await,
            None => self.verify_opaque(token, kind).await,
        }
    }

    /// A JWT routed to `kind`: header, key, signature, claims; kept in the
    /// JWT cache until its expiry (and the key set's).
    async fn verify_jwt(
        &self,
        token: &str,
        jwt: jwt::Jwt<'_>,
        kind: TokenKind,
    ) -> Result<Verified, VerifyError> {
        let inner = &*self.inner;
        let Some(keys) = inner.keys.as_ref().filter(|_| kind != TokenKind::M2m || inner.accept_m2m_jwt)
        else {
            return Err(Reason::FormatNotAccepted { format: TokenFormat::Jwt }.into());
        };
        match kind {
            TokenKind::M2m => jwt.check_m2m_header()?,
            TokenKind::OAuth => jwt.check_oauth_header()?,
            TokenKind::ApiKey => return Err(Reason::UnknownKind.into()),
        }
        let (key, trusted_until) = match keys {
            Keys::Pem(key) => (key.clone(), None),
            Keys::Jwks(cache) => {
                let kid = jwt.kid().ok_or(Reason::UnknownKid { kid: String::new() })?;
                let trusted = cache.key(kid).await?;
                (trusted.key, trusted.until)
            }
        };
        jwt.verify_signature(&key)?;
        let now = inner.clock.now();
        let verified = match kind {
            TokenKind::M2m => Verified::M2m(self.check_scope(jwt.into_m2m(now, inner.leeway)?)?),
            _ => Verified::OAuth(jwt.into_oauth(now, inner.leeway, &inner.audiences)?),
        };
        if let Some(cache) = &inner.jwts {
            let until = [verified.expires_at(), trusted_until].into_iter().flatten().min();
            if let Some(until) = until {
                cache.insert(token.into(), verified.clone(), until, now);
            }
        }
        Ok(verified)
    }

    /// An opaque token or API key: its shape, the caches, then one shared
    /// call to Clerk.
    async fn verify_opaque(&self, token: &str, kind: TokenKind) -> Result<Verified, VerifyError> {
        let inner = &*self.inner;
        if kind == TokenKind::M2m && !inner.accept_m2m_opaque {
            return Err(Reason::FormatNotAccepted { format: TokenFormat::Opaque }.into());
        }
        let client = match kind {
            TokenKind::M2m => &inner.m2m_opaque,
            TokenKind::ApiKey => &inner.api_keys,
            TokenKind::OAuth => &inner.oauth_opaque,
        };
        let Some(clerk) = client.clone() else {
            return Err(Reason::FormatNotAccepted { format: TokenFormat::Opaque }.into());
        };
        shape::check_opaque(kind, token)?;
        let digest = token_digest(token);
        let now = inner.clock.now();
        if let Some((cache, _)) = &inner.opaque {
            if let Some(verified) = cache.get(&digest, now) {
                return Ok(verified);
            }
        }
        if let Some((cache, _)) = &inner.refusals {
            if let Some(reason) = cache.get(&digest, now) {
                return Err(reason.into());
            }
        }
        let call = Self::call_clerk(self.inner.clone(), clerk, token.to_owned(), kind);
        let (outcome, joined) = inner.flight.run(digest, call).await;
        if joined {
            inner.counts.joined.fetch_add(1, Ordering::Relaxed);
        }
        let outcome = outcome.and_then(|verified| match verified {
            Verified::M2m(token) => self.check_scope(token).map(Verified::M2m).map_err(Into::into),
            other => Ok(other),
        });
        if !joined {
            let now = inner.clock.now();
            match &outcome {
                Ok(verified) => {
                    if let Some((cache, ttl)) = &inner.opaque {
                        let until =
                            [now.checked_add(*ttl), verified.expires_at()].into_iter().flatten().min();
                        if let Some(until) = until {
                            cache.insert(digest, verified.clone(), until, now);
                        }
                    }
                }
                Err(VerifyError::Refused(reason)) => {
                    if let Some((cache, ttl)) = &inner.refusals {
                        if let Some(until) = now.checked_add(*ttl) {
                            cache.insert(digest, reason.clone(), until, now);
                        }
                    }
                }
                Err(VerifyError::Unavailable(_)) => {}
            }
        }
        outcome
    }

    /// The one call to Clerk for a token (run by whichever waiter polls it).
    async fn call_clerk(
        inner: Arc<Inner>,
        clerk: Clerk,
        token: String,
        kind: TokenKind,
    ) -> Result<Verified, VerifyError> {
        if inner.ceiling.as_ref().is_some_and(|ceiling| !ceiling.try_take()) {
            inner.counts.over_ceiling.fetch_add(1, Ordering::Relaxed);
            return Err(Unavailable::CallCeiling.into());
        }
        inner.counts.clerk_calls.fetch_add(1, Ordering::Relaxed);
        let at = || clerk::At { now: inner.clock.now(), leeway: inner.leeway };
        Ok(match kind {
            TokenKind::M2m => Verified::M2m(clerk::m2m_token(&clerk, &token, at).await?),
            TokenKind::ApiKey => Verified::ApiKey(clerk::api_key(&clerk, &token, at).await?),
            TokenKind::OAuth => Verified::OAuth(clerk::oauth_token(&clerk, &token, at).await?),
        })
    }

    fn check_scope(&self, verified: VerifiedM2mToken) -> Result<VerifiedM2mToken, Reason> {
        match &self.inner.scoped_to {
            Some(machine_id) if !verified.is_scoped_to(machine_id) => {
                Err(Reason::NotScoped { machine_id: machine_id.clone() })
            }
            _ => Ok(verified),
        }
    }

    /// Fetches the instance's key set now (for example at start-up, so that
    /// the first request does not wait for it); returns how many RSA signing
    /// keys it holds. For a PEM verifier, does nothing and returns 1; for an
    /// opaque-only one, 0.
    pub async fn refresh_keys(&self) -> Result<usize> {
        match &self.inner.keys {
            Some(Keys::Jwks(cache)) => cache.refresh().await,
            Some(Keys::Pem(_)) => Ok(1),
            None => Ok(0),
        }
    }

    /// The longest token this verifier reads, in bytes.
    pub fn max_token_length(&self) -> usize {
        self.inner.max_length
    }

    /// The kinds this verifier accepts.
    pub fn kinds(&self) -> Kinds {
        self.inner.kinds
    }

    /// What the verifier did so far: cache lookups, calls to Clerk, calls shared.
    pub fn stats(&self) -> VerifierStats {
        let inner = &*self.inner;
        let count = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        VerifierStats {
            jwt_cache: inner.jwts.as_ref().map(JwtCache::stats).unwrap_or_default(),
            opaque_cache: inner.opaque.as_ref().map(|(cache, _)| cache.stats()).unwrap_or_default(),
            refusal_cache: inner.refusals.as_ref().map(|(cache, _)| cache.stats()).unwrap_or_default(),
            clerk_calls: count(&inner.counts.clerk_calls),
            joined_calls: count(&inner.counts.joined),
            over_ceiling: count(&inner.counts.over_ceiling),
        }
    }
}

enum KeySource {
    Jwks(Clerk),
    Pem(Vec<u8>),
}

/// Options of a [`Verifier`]; finish with [`build`](Self::build).
#[must_use = "call `build()` to get the verifier"]
pub struct VerifierBuilder {
    source: Option<KeySource>,
    opaque_via: Option<Clerk>,
    m2m_opaque_via: Option<Clerk>,
    kinds: Kinds,
    accept_only: Option<TokenFormat>,
    leeway: Duration,
    max_age: Duration,
    refetch_interval: Duration,
    scoped_to: Option<String>,
    audiences: Vec<String>,
    max_length: usize,
    jwt_cache: usize,
    opaque_cache: Option<(usize, Duration)>,
    refusal_cache: Option<(usize, Duration)>,
    ceiling: Option<u32>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for VerifierBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifierBuilder")
            .field("kinds", &self.kinds)
            .field("jwks", &matches!(self.source, Some(KeySource::Jwks(_))))
            .field("pem", &matches!(self.source, Some(KeySource::Pem(_))))
            .field("opaque_via", &self.opaque_via.as_ref().map(Clerk::key_kind))
            .field("m2m_opaque_via", &self.m2m_opaque_via.as_ref().map(Clerk::key_kind))
            .field("accept_only", &self.accept_only)
            .field("leeway", &self.leeway)
            .field("jwks_max_age", &self.max_age)
            .field("jwks_refetch_interval", &self.refetch_interval)
            .field("scoped_to", &self.scoped_to)
            .field("oauth_audience", &self.audiences)
            .field("max_token_length", &self.max_length)
            .field("jwt_cache", &self.jwt_cache)
            .field("opaque_cache", &self.opaque_cache)
            .field("refusal_cache", &self.refusal_cache)
            .field("max_clerk_calls_per_second", &self.ceiling)
            .finish_non_exhaustive()
    }
}

impl VerifierBuilder {
    fn new(source: Option<KeySource>, opaque_via: Option<Clerk>) -> Self {
        Self {
            source,
            opaque_via,
            m2m_opaque_via: None,
            kinds: TokenKind::M2m.into(),
            accept_only: None,
            leeway: defaults::LEEWAY,
            max_age: defaults::JWKS_MAX_AGE,
            refetch_interval: defaults::JWKS_REFETCH_INTERVAL,
            scoped_to: None,
            audiences: Vec::new(),
            max_length: defaults::MAX_TOKEN_LENGTH,
            jwt_cache: defaults::JWT_CACHE_CAPACITY,
            opaque_cache: None,
            refusal_cache: Some((defaults::REFUSAL_CACHE_CAPACITY, defaults::REFUSAL_CACHE_TTL)),
            ceiling: None,
            clock: Arc::new(SystemClock),
        }
    }

    /// The kinds accepted (default: M2M tokens only): one
    /// (`TokenKind::ApiKey`), several (`[TokenKind::M2m, TokenKind::ApiKey]`)
    /// or [`Kinds::any()`]. A token of another kind is refused
    /// ([`Reason::KindNotAccepted`]) without any call.
    pub fn accept(mut self, kinds: impl Into<Kinds>) -> Self {
        self.kinds = kinds.into();
        self
    }

    /// Accept M2M tokens of this format only (default: every format the
    /// verifier has a key or a client for).
    pub fn accept_only(mut self, format: TokenFormat) -> Self {
        self.accept_only = Some(format);
        self
    }

    /// Clock skew allowed on `exp`, `nbf` and `iat` and on Clerk's expiries
    /// (default [`defaults::LEEWAY`], 5 s, as Clerk).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Longest time the instance's keys are trusted after they were fetched
    /// (default [`defaults::JWKS_MAX_AGE`], 5 minutes, as Clerk): a key Clerk
    /// retired stops verifying tokens within this time (cached JWTs included).
    pub fn jwks_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Shortest time between two fetches of the key set (default
    /// [`defaults::JWKS_REFETCH_INTERVAL`], 5 s): a token naming an unknown
    /// key triggers a refetch at most this often, so that a rotation is seen
    /// within seconds while a flood of tokens with made-up keys costs at most
    /// one request per interval. A failed fetch counts too;
    /// [`Verifier::refresh_keys`] fetches regardless.
    pub fn jwks_refetch_interval(mut self, interval: Duration) -> Self {
        self.refetch_interval = interval;
        self
    }

    /// Accept only M2M tokens scoped to this machine (usually this service's
    /// own machine id): it must be among the token's scopes.
    pub fn scoped_to(mut self, machine_id: impl Into<String>) -> Self {
        self.scoped_to = Some(machine_id.into());
        self
    }

    /// Accept only OAuth access tokens whose `aud` names this audience (call
    /// again to accept several), as Clerk's `audience` option. Opaque OAuth
    /// tokens carry no audience in Clerk's answer, so with an audience set
    /// they are refused, as by Clerk's verifier.
    pub fn oauth_audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// The client that verifies opaque tokens and API keys through Clerk, for
    /// every kind (the instance key: Clerk's `verifyApiKey` and
    /// `verifyOAuthAccessToken` take no machine key).
    pub fn opaque_via(mut self, clerk: &Clerk) -> Self {
        self.opaque_via = Some(clerk.clone());
        self
    }

    /// The client that verifies opaque M2M tokens only, overriding
    /// [`opaque_via`](Self::opaque_via): least privilege, this service's
    /// machine secret key `ak_...`, with which Clerk also checks the token
    /// was granted access to this machine.
    pub fn m2m_opaque_via(mut self, clerk: &Clerk) -> Self {
        self.m2m_opaque_via = Some(clerk.clone());
        self
    }

    /// Longest token read, in bytes (default [`defaults::MAX_TOKEN_LENGTH`]):
    /// a longer one is refused ([`Reason::TooLong`]) without any work.
    pub fn max_token_length(mut self, bytes: usize) -> Self {
        self.max_length = bytes;
        self
    }

    /// How many verified JWTs to remember (default
    /// [`defaults::JWT_CACHE_CAPACITY`]; 0 turns the cache off). A repeated
    /// token is then answered without an RSA verification, until its `exp`
    /// and never past the key set's maximum age.
    pub fn jwt_cache(mut self, capacity: usize) -> Self {
        self.jwt_cache = capacity;
        self
    }

    /// Keep Clerk's positive answers for opaque tokens and API keys, at most
    /// `capacity` of them, each for at most `ttl` and never past the token's
    /// expiry (default: off).
    ///
    /// This saves a call to Clerk per repeated token, at a price: a token or
    /// key revoked at Clerk keeps being accepted here for up to `ttl` (see
    /// the [module documentation](self) per kind). Keep `ttl` short (seconds).
    pub fn opaque_cache(mut self, capacity: usize, ttl: Duration) -> Self {
        self.opaque_cache = Some((capacity, ttl));
        self
    }

    /// Remember Clerk's refusals of opaque tokens and API keys, at most
    /// `capacity` of them, each for `ttl` (default
    /// [`defaults::REFUSAL_CACHE_CAPACITY`] for [`defaults::REFUSAL_CACHE_TTL`]);
    /// `ttl` zero turns it off. A refused token sent again is refused without
    /// a call.
    pub fn refusal_cache(mut self, capacity: usize, ttl: Duration) -> Self {
        self.refusal_cache = (!ttl.is_zero()).then_some((capacity, ttl));
        self
    }

    /// At most `calls` verification calls to Clerk per second (default: no
    /// ceiling); beyond it, verifications that would call Clerk are
    /// [`Unavailable::CallCeiling`] (a server answers 503) without calling.
    /// Set it below the instance's share of Clerk's rate limit that this
    /// service may spend, so that a flood cannot lock out other callers.
    pub fn max_clerk_calls_per_second(mut self, calls: u32) -> Self {
        self.ceiling = Some(calls);
        self
    }

    /// The clock times are checked against (default [`SystemClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Builds the verifier. Nothing is fetched yet (see [`Verifier::refresh_keys`]).
    ///
    /// Fails with [`Error::InvalidInput`] when the PEM is not an RSA public
    /// key, the JWKS client holds a machine key (Clerk serves the JWKS to the
    /// instance key), `scoped_to` is not a machine id, the ceiling is zero,
    /// no kind is accepted, or an accepted kind could never be verified (no
    /// key and no client for it).
    pub fn build(self) -> Result<Verifier> {
        if let Some(machine_id) = &self.scoped_to {
            if !is_machine_id(machine_id) {
                return Err(Error::invalid(
                    "scoped_to",
                    "must be a machine id: `mch_` followed by 27 word characters",
                ));
            }
        }
        if self.ceiling == Some(0) {
            return Err(Error::invalid("max_clerk_calls_per_second", "must be at least 1"));
        }
        let keys = match self.source {
            Some(KeySource::Jwks(clerk)) => {
                if clerk.key_kind() == KeyKind::Machine {
                    return Err(Error::invalid(
                        "secret_key",
                        "the JWKS is read with the instance key (`sk_...`), not a machine key",
                    ));
                }
                let cache = JwksCache::new(clerk, self.max_age, self.refetch_interval, self.clock.clone());
                Some(Keys::Jwks(Box::new(cache)))
            }
            Some(KeySource::Pem(pem)) => Some(Keys::Pem(Arc::new(
                RsaKey::from_pem(&pem).map_err(|reason| Error::invalid("public_key_pem", reason))?,
            ))),
            None => None,
        };
        let m2m_opaque = self.m2m_opaque_via.or_else(|| self.opaque_via.clone());
        let accept_m2m_jwt = keys.is_some() && self.accept_only.is_none_or(|only| only == TokenFormat::Jwt);
        let accept_m2m_opaque =
            m2m_opaque.is_some() && self.accept_only.is_none_or(|only| only == TokenFormat::Opaque);
        if self.kinds.is_empty() {
            return Err(Error::invalid("accept", "accepts no kind of token"));
        }
        for kind in self.kinds.iter() {
            let possible = match kind {
                TokenKind::M2m => accept_m2m_jwt || accept_m2m_opaque,
                TokenKind::ApiKey => self.opaque_via.is_some(),
                TokenKind::OAuth => keys.is_some() || self.opaque_via.is_some(),
            };
            if !possible {
                return Err(Error::invalid(
                    "verifier",
                    format!(
                        "accepts {kind} tokens but cannot verify any: give a key for JWTs or a client for opaque tokens{}",
                        if kind == TokenKind::M2m { ", of the accepted format" } else { "" }
                    ),
                ));
            }
        }
        Ok(Verifier {
            inner: Arc::new(Inner {
                keys,
                m2m_opaque,
                api_keys: self.opaque_via.clone(),
                oauth_opaque: self.opaque_via,
                kinds: self.kinds,
                accept_m2m_jwt,
                accept_m2m_opaque,
                leeway: self.leeway,
                scoped_to: self.scoped_to,
                audiences: self.audiences,
                max_length: self.max_length,
                clock: self.clock,
                jwts: (self.jwt_cache > 0).then(|| JwtCache::new(self.jwt_cache)),
                opaque: digest_cache(self.opaque_cache),
                refusals: digest_cache(self.refusal_cache),
                flight: SingleFlight::default(),
                ceiling: self.ceiling.map(Ceiling::new),
                counts: Counts::default(),
            }),
        })
    }
}

/// A digest cache of `capacity` entries kept for `ttl`, when configured.
fn digest_cache<V: Clone>(settings: Option<(usize, Duration)>) -> Option<(DigestCache<V>, Duration)> {
    settings.map(|(capacity, ttl)| (DigestCache::new(capacity), ttl))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verifier_must_be_able_to_verify_what_it_accepts() {
        let error = Verifier::from_pem(b"").build().unwrap_err();
        assert!(matches!(error, Error::InvalidInput { field: "public_key_pem", .. }), "{error:?}");
        let clerk = Clerk::new("ak_test_1", crate::ClerkConfig::default()).unwrap();
        let error = Verifier::opaque_only(&clerk).accept_only(TokenFormat::Jwt).build().unwrap_err();
        assert!(matches!(error, Error::InvalidInput { field: "verifier", .. }), "{error:?}");
        assert!(Verifier::builder(&clerk).build().is_err(), "the JWKS needs the instance key");
        assert!(Verifier::opaque_only(&clerk).scoped_to("mch_short").build().is_err());
        assert!(Verifier::opaque_only(&clerk).build().is_ok());
        assert!(Verifier::opaque_only(&clerk).accept(Kinds::any()).build().is_ok());
        assert!(Verifier::opaque_only(&clerk).accept(&[][..]).build().is_err());
        assert!(Verifier::opaque_only(&clerk).max_clerk_calls_per_second(0).build().is_err());
    }

    #[test]
    fn bearer_schemes_are_read_without_regard_to_case() {
        assert_eq!(bearer_token("BEARER abc"), Some("abc"));
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("Bearer    "), None);
        assert_eq!(bearer_token("Bearerabc"), None);
        assert_eq!(bearer_token("Token abc"), None);
    }
}
