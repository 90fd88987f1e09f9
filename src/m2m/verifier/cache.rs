//! A bounded cache of Clerk's positive answers for opaque tokens.
//!
//! Keyed by the SHA-256 of the token, so the cache never holds a token;
//! each answer is kept for the configured time to live, never past the
//! token's own expiry. Entries past their time are misses (and removed).

use super::VerifiedM2mToken;
use aws_lc_rs::digest::{digest, SHA256};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

type Digest = [u8; 32];

/// How often the opaque-token cache answered, for monitoring and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Verifications answered from the cache.
    pub hits: u64,
    /// Verifications that went to Clerk (absent or outdated entry).
    pub misses: u64,
}

pub(super) struct OpaqueCache {
    entries: quick_cache::sync::Cache<Digest, (VerifiedM2mToken, SystemTime)>,
    ttl: Duration,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl std::fmt::Debug for OpaqueCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpaqueCache")
            .field("capacity", &self.entries.capacity())
            .field("len", &self.entries.len())
            .field("ttl", &self.ttl)
            .field("stats", &self.stats())
            .finish()
    }
}

impl OpaqueCache {
    pub(super) fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            entries: quick_cache::sync::Cache::new(capacity.max(1)),
            ttl,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The cached answer for `token`, if one is still valid at `now`.
    pub(super) fn get(&self, token: &str, now: SystemTime) -> Option<VerifiedM2mToken> {
        let key = key(token);
        match self.entries.get(&key) {
            Some((verified, until)) if now < until => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                Some(verified)
            }
            Some(_) => {
                self.entries.remove(&key);
                self.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
            None => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Keeps Clerk's positive answer for `token`, until the time to live
    /// passes or the token expires, whichever comes first.
    /// A time to live too large to add to `now` leaves only the expiry; a
    /// token without either is not kept.
    pub(super) fn insert(&self, token: &str, verified: &VerifiedM2mToken, now: SystemTime) {
        let until = [now.checked_add(self.ttl), verified.expires_at].into_iter().flatten().min();
        if let Some(until) = until.filter(|until| *until > now) {
            self.entries.insert(key(token), (verified.clone(), until));
        }
    }

    pub(super) fn stats(&self) -> CacheStats {
        CacheStats { hits: self.hits.load(Ordering::Relaxed), misses: self.misses.load(Ordering::Relaxed) }
    }
}

fn key(token: &str) -> Digest {
    let mut key = [0u8; 32];
    key.copy_from_slice(digest(&SHA256, token.as_bytes()).as_ref());
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::m2m::TokenFormat;
    use std::time::UNIX_EPOCH;

    fn verified(expires_at: Option<SystemTime>) -> VerifiedM2mToken {
        VerifiedM2mToken {
            machine_id: "mch_a".into(),
            token_id: "mt_1".into(),
            scopes: vec![],
            claims: serde_json::Value::Null,
            issued_at: None,
            expires_at,
            format: TokenFormat::Opaque,
        }
    }

    #[test]
    fn answers_live_for_the_ttl_but_never_past_the_token() {
        let t0 = UNIX_EPOCH + Duration::from_secs(1_000);
        let cache = OpaqueCache::new(10, Duration::from_secs(30));
        cache.insert("mt_long", &verified(None), t0);
        cache.insert("mt_short", &verified(Some(t0 + Duration::from_secs(5))), t0);
        cache.insert("mt_expired", &verified(Some(t0)), t0);
        assert!(cache.get("mt_long", t0 + Duration::from_secs(29)).is_some());
        assert!(cache.get("mt_long", t0 + Duration::from_secs(30)).is_none(), "ttl");
        assert!(cache.get("mt_short", t0 + Duration::from_secs(4)).is_some());
        assert!(cache.get("mt_short", t0 + Duration::from_secs(5)).is_none(), "token expiry");
        assert!(cache.get("mt_expired", t0).is_none(), "never stored");
        assert!(cache.get("mt_other", t0).is_none());
        assert_eq!(cache.stats(), CacheStats { hits: 2, misses: 4 });
        assert!(!format!("{cache:?}").contains("mt_"), "the cache holds digests, not tokens");
    }
}
