//! The instance's key set (JWKS), fetched with the generated `GetJWKS`
//! operation, so on the crate's request path (headers, retries, typed
//! errors, tracing).
//!
//! Keys are trusted for at most `max_age` after they were fetched (Clerk's
//! verifier: 5 minutes); a token naming a key the set does not hold causes a
//! refetch, so that a rotation is picked up at once. Fetches are serialised,
//! and one is made at most once per `refetch_interval` however many tokens
//! name made-up keys, so that a flood of forged tokens costs Clerk little.

use super::error::{shown, Reason, Unavailable, VerifyError};
use super::keys::RsaKey;
use crate::client::Clerk;
use crate::clock::Clock;
use crate::error::Result;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

/// The keys of one fetch.
#[derive(Default)]
struct KeySet {
    keys: HashMap<String, Arc<RsaKey>>,
    fetched_at: Option<SystemTime>,
}

impl KeySet {
    /// Whether the set may still be trusted at `now`.
    fn fresh(&self, now: SystemTime, max_age: Duration) -> bool {
        self.fetched_at.is_some_and(|at| now.duration_since(at).map_or(true, |age| age < max_age))
    }

    /// The key `kid` with the time the set stops being trusted.
    fn trusted(&self, kid: &str, max_age: Duration) -> Option<TrustedKey> {
        let key = self.keys.get(kid)?.clone();
        // A maximum age too large to add is no limit but the token's own.
        let until = self.fetched_at.and_then(|at| at.checked_add(max_age));
        Some(TrustedKey { key, until })
    }
}

/// A key of the set, and until when the set is trusted (`None`: no limit).
pub(super) struct TrustedKey {
    pub(super) key: Arc<RsaKey>,
    pub(super) until: Option<SystemTime>,
}

pub(super) struct JwksCache {
    clerk: Clerk,
    max_age: Duration,
    refetch_interval: Duration,
    clock: Arc<dyn Clock>,
    current: RwLock<Arc<KeySet>>,
    /// When the last fetch was attempted (successful or not); held while fetching.
    last_attempt: tokio::sync::Mutex<Option<SystemTime>>,
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = self.current();
        let mut kids: Vec<&String> = set.keys.keys().collect();
        kids.sort();
        f.debug_struct("JwksCache")
            .field("base_url", &self.clerk.base_url())
            .field("max_age", &self.max_age)
            .field("refetch_interval", &self.refetch_interval)
            .field("kids", &kids)
            .field("fetched_at", &set.fetched_at)
            .finish()
    }
}

impl JwksCache {
    pub(super) fn new(
        clerk: Clerk,
        max_age: Duration,
        refetch_interval: Duration,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            clerk,
            max_age,
            refetch_interval,
            clock,
            current: RwLock::new(Arc::new(KeySet::default())),
            last_attempt: tokio::sync::Mutex::new(None),
        }
    }

    fn current(&self) -> Arc<KeySet> {
        self.current.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The key with id `kid`, from a fresh set; fetches the set when it is
    /// too old, or does not hold `kid` and the last fetch is older than the
    /// refetch interval. A failed fetch is [`Unavailable`]: not the token's fault.
    pub(super) async fn key(&self, kid: &str) -> Result<TrustedKey, VerifyError> {
        let set = self.current();
        if set.fresh(self.clock.now(), self.max_age) {
            if let Some(key) = set.trusted(kid, self.max_age) {
                return Ok(key);
            }
        }
        let mut last_attempt = self.last_attempt.lock().await;
        // Another task may have fetched while this one waited.
        let now = self.clock.now();
        let set = self.current();
        let fresh = set.fresh(now, self.max_age);
        if fresh {
            if let Some(key) = set.trusted(kid, self.max_age) {
                return Ok(key);
            }
        }
        let recently = last_attempt
            .is_some_and(|at| now.duration_since(at).is_ok_and(|age| age < self.refetch_interval));
        if recently {
            return Err(if fresh {
                VerifyError::Refused(Reason::UnknownKid { kid: shown(kid) })
            } else {
                VerifyError::Unavailable(Unavailable::Keys)
            });
        }
        *last_attempt = Some(now);
        let set = self.fetch(now).await.map_err(|error| VerifyError::Unavailable(error.into()))?;
        set.trusted(kid, self.max_age)
            .ok_or_else(|| VerifyError::Refused(Reason::UnknownKid { kid: shown(kid) }))
    }

    /// Fetches the key set now, whatever the interval; returns how many
    /// usable keys (RSA, for signatures) it holds.
    pub(super) async fn refresh(&self) -> Result<usize> {
        let mut last_attempt = self.last_attempt.lock().await;
        let now = self.clock.now();
        *last_attempt = Some(now);
        Ok(self.fetch(now).await?.keys.len())
    }

    async fn fetch(&self, now: SystemTime) -> Result<Arc<KeySet>> {
        let fetched = crate::request::call(|| self.clerk.raw().get_jwks().send()).await?;
        let keys = fetched.keys.iter().filter_map(rsa_signing_key).collect();
        let set = Arc::new(KeySet { keys, fetched_at: Some(now) });
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = set.clone();
        Ok(set)
    }
}

/// An RSA signature key of the set, with its id; other keys are skipped.
fn rsa_signing_key(jwk: &Map<String, Value>) -> Option<(String, Arc<RsaKey>)> {
    let field = |name: &str| jwk.get(name).and_then(Value::as_str);
    if field("kty") != Some("RSA") {
        return None;
    }
    if field("use").is_some_and(|u| u != "sig") || field("alg").is_some_and(|a| a != "RS256") {
        return None;
    }
    let kid = field("kid")?;
    let key = RsaKey::from_jwk(field("n")?, field("e")?)?;
    Some((kid.to_owned(), Arc::new(key)))
}
