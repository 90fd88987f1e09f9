//! The instance's JSON Web Key Set, fetched with the generated `GetJWKS`
//! operation (so on the crate's request path: headers, retries, typed
//! errors, tracing), cached, and refetched when a token names a key the
//! cache does not hold, at most once per interval.

use super::error::{shown, VerifyError};
use crate::client::Clerk;
use crate::clock::Clock;
use crate::error::{Error, Result};
use jsonwebtoken::DecodingKey;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

type Keys = Arc<HashMap<String, DecodingKey>>;

pub(super) struct JwksCache {
    clerk: Clerk,
    refetch_interval: Duration,
    clock: Arc<dyn Clock>,
    keys: RwLock<Keys>,
    /// When the last fetch was attempted (successful or not); also serialises fetches.
    last_fetch: tokio::sync::Mutex<Option<SystemTime>>,
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<String> = self.current().keys().cloned().collect();
        f.debug_struct("JwksCache")
            .field("base_url", &self.clerk.base_url())
            .field("refetch_interval", &self.refetch_interval)
            .field("kids", &kids)
            .finish()
    }
}

impl JwksCache {
    pub(super) fn new(clerk: Clerk, refetch_interval: Duration, clock: Arc<dyn Clock>) -> Self {
        Self {
            clerk,
            refetch_interval,
            clock,
            keys: RwLock::new(Arc::new(HashMap::new())),
            last_fetch: tokio::sync::Mutex::new(None),
        }
    }

    fn current(&self) -> Keys {
        self.keys.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The key with id `kid`: from the cache, or after a refetch when the
    /// cache does not hold it and the last fetch is older than the interval.
    pub(super) async fn key(&self, kid: &str) -> Result<DecodingKey> {
        if let Some(key) = self.current().get(kid) {
            return Ok(key.clone());
        }
        let unknown = || Error::Verify(VerifyError::UnknownKid { kid: shown(kid) });
        let mut last_fetch = self.last_fetch.lock().await;
        // Another task may have fetched while this one waited.
        if let Some(key) = self.current().get(kid) {
            return Ok(key.clone());
        }
        let now = self.clock.now();
        let due = match *last_fetch {
            None => true,
            Some(at) => now.duration_since(at).map_or(true, |age| age >= self.refetch_interval),
        };
        if !due {
            return Err(unknown());
        }
        *last_fetch = Some(now);
        let keys = self.fetch_and_store().await?;
        keys.get(kid).cloned().ok_or_else(unknown)
    }

    /// Fetches the key set now, whatever the interval; returns how many usable keys it holds.
    pub(super) async fn refresh(&self) -> Result<usize> {
        let mut last_fetch = self.last_fetch.lock().await;
        *last_fetch = Some(self.clock.now());
        Ok(self.fetch_and_store().await?.len())
    }

    async fn fetch_and_store(&self) -> Result<Keys> {
        let set = crate::send(self.clerk.raw().get_jwks().send()).await?;
        let keys: HashMap<String, DecodingKey> = set
            .keys
            .iter()
            .filter_map(|key| serde_json::to_value(key).ok())
            .filter_map(|key| rsa_signing_key(&key))
            .collect();
        let keys = Arc::new(keys);
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = keys.clone();
        Ok(keys)
    }
}

/// An RSA signature key of the set, with its id; other keys are skipped.
fn rsa_signing_key(jwk: &Value) -> Option<(String, DecodingKey)> {
    let field = |name: &str| jwk.get(name).and_then(Value::as_str);
    if field("kty") != Some("RSA") {
        return None;
    }
    if field("use").is_some_and(|u| u != "sig") || field("alg").is_some_and(|a| a != "RS256") {
        return None;
    }
    let kid = field("kid")?;
    let key = DecodingKey::from_rsa_components(field("n")?, field("e")?).ok()?;
    Some((kid.to_owned(), key))
}
