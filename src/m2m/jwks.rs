//! The instance's JSON Web Key Set: fetched from `GET {base_url}/jwks`,
//! cached, refetched when a token names a key the cache does not hold, but
//! at most once per interval.

use super::verify::{shown, VerifyError};
use super::Clock;
use crate::client::Clerk;
use crate::error::{Error, Result};
use crate::transport::{decode, error_from_body};
use jsonwebtoken::DecodingKey;
use progenitor_client::ClientInfo;
use reqwest::header::{HeaderValue, ACCEPT};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

type Keys = Arc<HashMap<String, DecodingKey>>;

pub(crate) struct JwksCache {
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
    pub(crate) fn new(clerk: Clerk, refetch_interval: Duration, clock: Arc<dyn Clock>) -> Self {
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
    pub(crate) async fn key(&self, kid: &str) -> Result<DecodingKey> {
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
    pub(crate) async fn refresh(&self) -> Result<usize> {
        let mut last_fetch = self.last_fetch.lock().await;
        *last_fetch = Some(self.clock.now());
        Ok(self.fetch_and_store().await?.len())
    }

    async fn fetch_and_store(&self) -> Result<Keys> {
        let keys = Arc::new(fetch(&self.clerk).await?);
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = keys.clone();
        Ok(keys)
    }
}

#[derive(serde::Deserialize)]
struct KeySet {
    keys: Vec<Value>,
}

/// `GET {base_url}/jwks` with the client's headers (not a generated
/// operation: the crate generates only the machines and M2M operations).
async fn fetch(clerk: &Clerk) -> Result<HashMap<String, DecodingKey>> {
    let url = format!("{}/jwks", clerk.base_url());
    let headers = ClientInfo::inner(clerk.raw()).headers().clone();
    let response = ClientInfo::client(clerk.raw())
        .get(url)
        .headers(headers)
        .header(ACCEPT, HeaderValue::from_static("application/json"))
        .send()
        .await
        .map_err(Error::from_reqwest)?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.map_err(Error::from_reqwest)?;
    if !status.is_success() {
        return Err(error_from_body(status, &headers, &body));
    }
    let set: KeySet = decode(status, &body)?;
    Ok(set.keys.iter().filter_map(rsa_signing_key).collect())
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
