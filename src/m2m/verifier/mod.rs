//! [`M2mVerifier`]: the called side's check of incoming M2M tokens.

mod cache;
mod jwks;
mod jwt;
mod keys;
mod reason;

pub use cache::CacheStats;
pub use reason::VerifyError;

use super::TokenFormat;
use crate::client::{Clerk, KeyKind};
use crate::clock::{Clock, SystemClock};
use crate::defaults;
use crate::error::{Error, Result};
use crate::ids::{is_machine_id, M2M_TOKEN_PREFIX};
use cache::OpaqueCache;
use jwks::JwksCache;
use keys::RsaKey;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A token that passed verification. The fields mean the same whether the
/// token was a JWT checked locally or an opaque token checked by Clerk.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct VerifiedM2mToken {
    /// The machine that holds the token: the JWT's `sub`, the opaque token's `subject`.
    pub machine_id: String,
    /// The token's id, `mt_...`: the JWT's `jti`, the opaque token's `id`.
    pub token_id: String,
    /// The machines the token may call, in Clerk's order: the JWT's `scopes`
    /// (or `aud`), the opaque token's `scopes`.
    pub scopes: Vec<String>,
    /// The custom claims given when the token was minted, as a JSON object;
    /// `Null` when there are none. Never the registered claims.
    pub claims: Value,
    /// When the token was minted (JWT `iat`, opaque `created_at`).
    pub issued_at: Option<SystemTime>,
    /// When the token expires; `None` for an opaque token without expiry.
    pub expires_at: Option<SystemTime>,
    /// How the token was verified: locally (JWT) or by Clerk (opaque).
    pub format: TokenFormat,
}

impl VerifiedM2mToken {
    /// `true` when the token is scoped to `machine_id`.
    pub fn is_scoped_to(&self, machine_id: &str) -> bool {
        self.scopes.iter().any(|scope| scope == machine_id)
    }
}

/// The token of an `Authorization: Bearer <token>` header value (the scheme
/// is matched without regard to case), or `None` for another scheme.
///
/// ```
/// use clerk_machines::m2m::bearer_token;
///
/// assert_eq!(bearer_token("Bearer mt_123"), Some("mt_123"));
/// assert_eq!(bearer_token("Basic dXNlcg=="), None);
/// ```
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Verifies incoming M2M tokens on the called side, as Clerk's own verifier
/// does (and stricter where it is lax; see `tests/clerk_verifier.rs`).
///
/// - **JWT-format tokens** are verified locally, with no request per token:
///   header `cat` absent or Clerk's M2M category, `typ` absent or `JWT`, `alg`
///   RS256 only (`none` and HS256 included in the refusals); the signature
///   against the instance's key set (fetched with the instance key, trusted
///   for [`jwks_max_age`](M2mVerifierBuilder::jwks_max_age), refetched at once
///   when a token names an unknown key, at most once per
///   [`jwks_refetch_interval`](M2mVerifierBuilder::jwks_refetch_interval)) or
///   a PEM public key given offline; then `sub` a machine, `exp` not passed,
///   `nbf` and `iat` not in the future, with a [`leeway`](M2mVerifierBuilder::leeway).
/// - **Opaque tokens** (`mt_...`) are sent to Clerk's verify endpoint, with
///   the instance key or, least privilege, the called machine's own secret key
///   (`ak_...`: Clerk then also checks the token was granted access to that
///   machine). An optional [cache](M2mVerifierBuilder::opaque_cache) saves
///   repeated calls.
///
/// Optionally, only tokens [scoped to](M2mVerifierBuilder::scoped_to) this
/// service's machine, or of [one format](M2mVerifierBuilder::accept_only),
/// are accepted. Cheap to clone: clones share the key set and the cache.
///
/// ```no_run
/// # async fn demo() -> Result<(), clerk_machines::Error> {
/// use clerk_machines::m2m::M2mVerifier;
/// use clerk_machines::Clerk;
///
/// // With the instance key: JWTs against the instance's JWKS, opaque tokens through Clerk.
/// let verifier = M2mVerifier::builder(&Clerk::from_env()?)
///     .scoped_to("mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk")
///     .build()?;
/// let verified = verifier.verify("eyJhbGciOiJSUzI1NiIs...").await?;
/// println!("called by {}", verified.machine_id);
///
/// // Least privilege, no instance key: the instance's public key for JWTs,
/// // this service's machine secret key for opaque tokens.
/// let pem = std::fs::read("clerk-instance-public-key.pem").expect("the key");
/// let machine = Clerk::new("ak_...", Default::default())?;
/// let verifier = M2mVerifier::from_pem(pem).opaque_via(&machine).build()?;
/// # let _ = verifier; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct M2mVerifier {
    inner: Arc<Inner>,
}

struct Inner {
    keys: Option<Keys>,
    opaque: Option<Clerk>,
    cache: Option<OpaqueCache>,
    accept_jwt: bool,
    accept_opaque: bool,
    leeway: Duration,
    scoped_to: Option<String>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("M2mVerifier")
            .field("keys", &self.keys)
            .field("opaque_via", &self.opaque.as_ref().map(|clerk| (clerk.base_url(), clerk.key_kind())))
            .field("cache", &self.cache)
            .field("accept_jwt", &self.accept_jwt)
            .field("accept_opaque", &self.accept_opaque)
            .field("leeway", &self.leeway)
            .field("scoped_to", &self.scoped_to)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
enum Keys {
    Jwks(Box<JwksCache>),
    Pem(Arc<RsaKey>),
}

impl M2mVerifier {
    /// A verifier that reads the instance's keys from Clerk (`GET /jwks`,
    /// with `clerk`'s key, which must be the instance key `sk_...`) and sends
    /// opaque tokens to Clerk with the same client.
    pub fn builder(clerk: &Clerk) -> M2mVerifierBuilder {
        M2mVerifierBuilder::new(Some(KeySource::Jwks(clerk.clone())), Some(clerk.clone()))
    }

    /// A verifier that checks JWTs against the instance's RSA public key (PEM,
    /// as Clerk's dashboard shows it), without any request. Opaque tokens are
    /// refused unless a client is given with [`M2mVerifierBuilder::opaque_via`].
    pub fn from_pem(public_key_pem: impl AsRef<[u8]>) -> M2mVerifierBuilder {
        M2mVerifierBuilder::new(Some(KeySource::Pem(public_key_pem.as_ref().to_vec())), None)
    }

    /// A verifier for opaque tokens only, through `clerk`: typically built
    /// with this service's machine secret key (`ak_...`), so that Clerk checks
    /// the token was granted access to this machine. JWTs are refused.
    pub fn opaque_only(clerk: &Clerk) -> M2mVerifierBuilder {
        M2mVerifierBuilder::new(None, Some(clerk.clone()))
    }

    /// Verifies `token`, whatever its format: a JWT locally, an opaque
    /// `mt_...` token through Clerk.
    ///
    /// A rejected token gives [`Error::Verify`] with the reason; Clerk's own
    /// refusals of an opaque token (404 for an unknown token, 400, ...) come
    /// as [`Error::Api`], and a failure to reach Clerk as
    /// [`Error::Transport`] or [`Error::Timeout`].
    pub async fn verify(&self, token: &str) -> Result<VerifiedM2mToken> {
        let token = token.trim();
        if token.starts_with(M2M_TOKEN_PREFIX) {
            self.verify_opaque(token).await
        } else {
            self.verify_jwt(token).await
        }
    }

    /// Verifies a JWT-format token locally. A request is made only to fetch
    /// the key set: the first time, when it is too old, and when the token
    /// names a key not in it.
    pub async fn verify_jwt(&self, token: &str) -> Result<VerifiedM2mToken> {
        let inner = &*self.inner;
        let refused = || Error::Verify(VerifyError::FormatNotAccepted { format: TokenFormat::Jwt });
        let keys = inner.keys.as_ref().filter(|_| inner.accept_jwt).ok_or_else(refused)?;
        let jwt = jwt::parse(token).map_err(Error::Verify)?;
        let key = match keys {
            Keys::Pem(key) => key.clone(),
            Keys::Jwks(cache) => {
                let kid =
                    jwt.kid().ok_or_else(|| Error::Verify(VerifyError::UnknownKid { kid: String::new() }))?;
                cache.key(kid).await?
            }
        };
        let verified = jwt.verify(&key, inner.clock.now(), inner.leeway).map_err(Error::Verify)?;
        self.check_scope(verified)
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

    /// How often the opaque-token cache answered (zeros without a cache).
    pub fn opaque_cache_stats(&self) -> CacheStats {
        self.inner.cache.as_ref().map(OpaqueCache::stats).unwrap_or_default()
    }

    fn check_scope(&self, verified: VerifiedM2mToken) -> Result<VerifiedM2mToken> {
        match &self.inner.scoped_to {
            Some(machine_id) if !verified.is_scoped_to(machine_id) => {
                Err(Error::Verify(VerifyError::NotScoped { machine_id: machine_id.clone() }))
            }
            _ => Ok(verified),
        }
    }

    async fn verify_opaque(&self, token: &str) -> Result<VerifiedM2mToken> {
        let inner = &*self.inner;
        let refused = || Error::Verify(VerifyError::FormatNotAccepted { format: TokenFormat::Opaque });
        let clerk = inner.opaque.as_ref().filter(|_| inner.accept_opaque).ok_or_else(refused)?;
        if let Some(verified) = inner.cache.as_ref().and_then(|cache| cache.get(token, inner.clock.now())) {
            return self.check_scope(verified);
        }
        let response = clerk.m2m().verify_token(token).await?;
        if response.revoked {
            return Err(Error::Verify(VerifyError::Revoked));
        }
        let now = inner.clock.now();
        let expires_at = response.expiration.and_then(millis_to_time);
        // A leeway too large to add to the expiry is never reached.
        let past_leeway = |at: SystemTime| at.checked_add(inner.leeway).is_some_and(|limit| now >= limit);
        if response.expired || expires_at.is_some_and(past_leeway) {
            return Err(Error::Verify(VerifyError::Expired));
        }
        let verified = self.check_scope(VerifiedM2mToken {
            machine_id: response.subject.to_string(),
            token_id: response.id.to_string(),
            scopes: response.scopes.iter().map(ToString::to_string).collect(),
            claims: response.claims.unwrap_or(Value::Null),
            issued_at: millis_to_time(response.created_at),
            expires_at,
            format: TokenFormat::Opaque,
        })?;
        if let Some(cache) = &inner.cache {
            cache.insert(token, &verified, now);
        }
        Ok(verified)
    }
}

/// A timestamp in milliseconds since the epoch (as Clerk sends them, `f64`) as a time.
fn millis_to_time(millis: f64) -> Option<SystemTime> {
    if !millis.is_finite() || !(0.0..=1e17).contains(&millis) {
        return None;
    }
    UNIX_EPOCH.checked_add(Duration::from_millis(millis as u64))
}

enum KeySource {
    Jwks(Clerk),
    Pem(Vec<u8>),
}

/// Options of an [`M2mVerifier`]; finish with [`build`](Self::build).
#[must_use = "call `build()` to get the verifier"]
pub struct M2mVerifierBuilder {
    source: Option<KeySource>,
    opaque_via: Option<Clerk>,
    cache: Option<(usize, Duration)>,
    accept_only: Option<TokenFormat>,
    leeway: Duration,
    max_age: Duration,
    refetch_interval: Duration,
    scoped_to: Option<String>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for M2mVerifierBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("M2mVerifierBuilder")
            .field("jwks", &matches!(self.source, Some(KeySource::Jwks(_))))
            .field("pem", &matches!(self.source, Some(KeySource::Pem(_))))
            .field("opaque_via", &self.opaque_via.as_ref().map(Clerk::key_kind))
            .field("cache", &self.cache)
            .field("accept_only", &self.accept_only)
            .field("leeway", &self.leeway)
            .field("jwks_max_age", &self.max_age)
            .field("jwks_refetch_interval", &self.refetch_interval)
            .field("scoped_to", &self.scoped_to)
            .finish_non_exhaustive()
    }
}

impl M2mVerifierBuilder {
    fn new(source: Option<KeySource>, opaque_via: Option<Clerk>) -> Self {
        Self {
            source,
            opaque_via,
            cache: None,
            accept_only: None,
            leeway: defaults::LEEWAY,
            max_age: defaults::JWKS_MAX_AGE,
            refetch_interval: defaults::JWKS_REFETCH_INTERVAL,
            scoped_to: None,
            clock: Arc::new(SystemClock),
        }
    }

    /// Clock skew allowed on `exp`, `nbf` and `iat` (default [`defaults::LEEWAY`], 5 s, as Clerk).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Longest time the instance's keys are trusted after they were fetched
    /// (default [`defaults::JWKS_MAX_AGE`], 5 minutes, as Clerk): a key Clerk
    /// retired stops verifying tokens within this time.
    pub fn jwks_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Shortest time between two fetches of the key set (default
    /// [`defaults::JWKS_REFETCH_INTERVAL`], 5 s): a token naming an unknown
    /// key triggers a refetch at most this often, so that a rotation is seen
    /// within seconds while a flood of tokens with made-up keys costs at most
    /// one request per interval. A failed fetch counts too (its error goes to
    /// the verification that caused it); [`M2mVerifier::refresh_keys`]
    /// fetches regardless.
    pub fn jwks_refetch_interval(mut self, interval: Duration) -> Self {
        self.refetch_interval = interval;
        self
    }

    /// Accept only tokens scoped to this machine (usually this service's own
    /// machine id): it must be among the token's scopes.
    pub fn scoped_to(mut self, machine_id: impl Into<String>) -> Self {
        self.scoped_to = Some(machine_id.into());
        self
    }

    /// Accept only tokens of this format (default: every format the verifier
    /// has a key or a client for).
    pub fn accept_only(mut self, format: TokenFormat) -> Self {
        self.accept_only = Some(format);
        self
    }

    /// The client that verifies opaque tokens through Clerk: the instance
    /// key, or (least privilege) this service's machine secret key `ak_...`,
    /// with which Clerk also checks the token was granted access to this machine.
    pub fn opaque_via(mut self, clerk: &Clerk) -> Self {
        self.opaque_via = Some(clerk.clone());
        self
    }

    /// Keep Clerk's positive answers for opaque tokens, at most `capacity`
    /// of them, each for at most `ttl` and never past the token's expiry.
    ///
    /// This saves a call to Clerk per repeated token, at a price: a token
    /// revoked at Clerk keeps being accepted here for up to `ttl`. Keep `ttl`
    /// short (seconds). Refusals are never cached.
    pub fn opaque_cache(mut self, capacity: usize, ttl: Duration) -> Self {
        self.cache = Some((capacity, ttl));
        self
    }

    /// The clock times are checked against (default [`SystemClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Builds the verifier. Nothing is fetched yet (see [`M2mVerifier::refresh_keys`]).
    ///
    /// Fails with [`Error::InvalidInput`] when the PEM is not an RSA public
    /// key, the JWKS client holds a machine key (Clerk serves the JWKS to the
    /// instance key), `scoped_to` is not a machine id, or the verifier would
    /// accept no token at all.
    pub fn build(self) -> Result<M2mVerifier> {
        if let Some(machine_id) = &self.scoped_to {
            if !is_machine_id(machine_id) {
                return Err(Error::invalid(
                    "scoped_to",
                    "must be a machine id: `mch_` followed by 27 word characters",
                ));
            }
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
        let accept_jwt = keys.is_some() && self.accept_only.is_none_or(|only| only == TokenFormat::Jwt);
        let accept_opaque =
            self.opaque_via.is_some() && self.accept_only.is_none_or(|only| only == TokenFormat::Opaque);
        if !accept_jwt && !accept_opaque {
            return Err(Error::invalid(
                "verifier",
                "accepts no token: give a key for JWTs or a client for opaque tokens, of the accepted format",
            ));
        }
        Ok(M2mVerifier {
            inner: Arc::new(Inner {
                keys,
                opaque: self.opaque_via,
                cache: self.cache.map(|(capacity, ttl)| OpaqueCache::new(capacity, ttl)),
                accept_jwt,
                accept_opaque,
                leeway: self.leeway,
                scoped_to: self.scoped_to,
                clock: self.clock,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_convert_safely() {
        assert_eq!(millis_to_time(1500.0), Some(UNIX_EPOCH + Duration::from_millis(1500)));
        assert_eq!(millis_to_time(f64::NAN), None);
        assert_eq!(millis_to_time(-1.0), None);
        assert_eq!(millis_to_time(1e18), None);
    }

    #[test]
    fn a_verifier_must_accept_something() {
        let error = M2mVerifier::from_pem(b"").build().unwrap_err();
        assert!(matches!(error, Error::InvalidInput { field: "public_key_pem", .. }), "{error:?}");
        let clerk = Clerk::new("ak_test_1", crate::ClerkConfig::default()).unwrap();
        let error = M2mVerifier::opaque_only(&clerk).accept_only(TokenFormat::Jwt).build().unwrap_err();
        assert!(matches!(error, Error::InvalidInput { field: "verifier", .. }), "{error:?}");
        assert!(M2mVerifier::builder(&clerk).build().is_err(), "the JWKS needs the instance key");
        assert!(M2mVerifier::opaque_only(&clerk).scoped_to("mch_short").build().is_err());
        assert!(M2mVerifier::opaque_only(&clerk).build().is_ok());
    }
}
