//! The verifier's bounded caches, each entry kept until a time of its own.
//!
//! - [`JwtCache`]: verified JWTs, keyed by the **whole token** (so two
//!   tokens never share an entry), hashed on its last bytes (the signature:
//!   random to anyone without the instance's key) so that a lookup does not
//!   hash a kilobyte. Only tokens that passed verification go in.
//! - [`DigestCache`]: Clerk's answers about opaque tokens and API keys,
//!   positive (the verified value) or negative (the refusal), keyed by the
//!   SHA-256 of the token, so that these caches never hold a secret Clerk
//!   could revoke or a stranger's made-up string.
//!
//! An entry past its time is a miss (and removed); capacity is bounded by
//! quick_cache's eviction.

use quick_cache::sync::{Cache, DefaultLifecycle};
use quick_cache::{Equivalent, UnitWeighter};
use ring::digest::{digest, SHA256};
use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

/// How often a cache answered, for monitoring and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that found no entry, or an outdated one.
    pub misses: u64,
}

/// Hits and misses, counted.
#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
}

impl Counters {
    fn count<T>(&self, found: Option<T>) -> Option<T> {
        let counter = if found.is_some() { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    fn stats(&self) -> CacheStats {
        CacheStats { hits: self.hits.load(Ordering::Relaxed), misses: self.misses.load(Ordering::Relaxed) }
    }
}

/// A value and the time it stops being served.
type Entry<V> = Arc<(V, SystemTime)>;

/// Hashes only the last [`TAIL`] bytes of what it is given, and its length,
/// with a randomly keyed SipHash: enough to spread JWTs (whose tail is their
/// signature), at a constant cost whatever the token's size.
#[derive(Clone, Default)]
pub(super) struct TailHash(RandomState);

const TAIL: usize = 32;

pub(super) struct TailHasher<H>(H);

impl<H: Hasher> Hasher for TailHasher<H> {
    fn finish(&self) -> u64 {
        self.0.finish()
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.write_usize(bytes.len());
        self.0.write(&bytes[bytes.len().saturating_sub(TAIL)..]);
    }
}

impl BuildHasher for TailHash {
    type Hasher = TailHasher<<RandomState as BuildHasher>::Hasher>;

    fn build_hasher(&self) -> Self::Hasher {
        TailHasher(self.0.build_hasher())
    }
}

/// A bounded cache whose entries each stop being served at their own time.
pub(super) struct TimedCache<K, V, B> {
    entries: Cache<K, Entry<V>, UnitWeighter, B, DefaultLifecycle<K, Entry<V>>>,
    counters: Counters,
}

/// Verified JWTs by their whole text (hashed on its tail).
pub(super) type JwtCache<V> = TimedCache<Box<str>, V, TailHash>;

type Digest = [u8; 32];

/// Answers about opaque tokens by the SHA-256 of the token.
pub(super) type DigestCache<V> = TimedCache<Digest, V, RandomState>;

impl<K: Eq + Hash, V: Clone, B: BuildHasher + Clone + Default> TimedCache<K, V, B> {
    pub(super) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let entries =
            Cache::with(capacity, capacity as u64, UnitWeighter, B::default(), DefaultLifecycle::default());
        Self { entries, counters: Counters::default() }
    }

    /// The value kept for `key`, if it is still valid at `now`.
    pub(super) fn get<Q: Hash + Equivalent<K> + ?Sized>(&self, key: &Q, now: SystemTime) -> Option<V> {
        let found = match self.entries.get(key) {
            Some(entry) if now < entry.1 => Some(entry.0.clone()),
            Some(_) => {
                self.entries.remove(key);
                None
            }
            None => None,
        };
        self.counters.count(found)
    }

    /// Keeps `value` for `key` until `until` (nothing when that has passed).
    pub(super) fn insert(&self, key: K, value: V, until: SystemTime, now: SystemTime) {
        if until > now {
            self.entries.insert(key, Arc::new((value, until)));
        }
    }

    pub(super) fn stats(&self) -> CacheStats {
        self.counters.stats()
    }

    pub(super) fn capacity(&self) -> u64 {
        self.entries.capacity()
    }
}

/// The SHA-256 of a token, the key of the digest caches and of the single flight.
pub(super) fn token_digest(token: &str) -> Digest {
    let mut key = [0u8; 32];
    key.copy_from_slice(digest(&SHA256, token.as_bytes()).as_ref());
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn entries_live_until_their_time() {
        let t0 = UNIX_EPOCH + Duration::from_secs(1_000);
        let cache = DigestCache::new(10);
        cache.insert(token_digest("mt_long"), 1, t0 + Duration::from_secs(30), t0);
        cache.insert(token_digest("mt_past"), 2, t0, t0);
        assert_eq!(cache.get(&token_digest("mt_long"), t0 + Duration::from_secs(29)), Some(1));
        assert_eq!(cache.get(&token_digest("mt_long"), t0 + Duration::from_secs(30)), None);
        assert_eq!(cache.get(&token_digest("mt_past"), t0), None, "never stored");
        assert_eq!(cache.stats(), CacheStats { hits: 1, misses: 2 });
    }

    #[test]
    fn jwts_with_the_same_tail_do_not_share_an_entry() {
        let t0 = UNIX_EPOCH + Duration::from_secs(1_000);
        let later = t0 + Duration::from_secs(60);
        let cache = JwtCache::new(10);
        let tail = "s".repeat(64);
        let (a, b) = (format!("aaa.bbb.{tail}"), format!("aab.bbb.{tail}"));
        cache.insert(a.as_str().into(), "a", later, t0);
        assert_eq!(cache.get(a.as_str(), t0), Some("a"));
        assert_eq!(cache.get(b.as_str(), t0), None, "same hash, other token");
        cache.insert(b.as_str().into(), "b", later, t0);
        assert_eq!((cache.get(a.as_str(), t0), cache.get(b.as_str(), t0)), (Some("a"), Some("b")));
        assert_eq!(cache.get(a.as_str(), later), None);
    }

    #[test]
    fn caches_stay_bounded() {
        let t0 = UNIX_EPOCH;
        let cache = JwtCache::new(100);
        for i in 0..10_000 {
            cache.insert(format!("token-{i}").into(), i, t0 + Duration::from_secs(60), t0);
        }
        assert!(cache.entries.len() <= 200, "{}", cache.entries.len());
        let digests = DigestCache::new(100);
        for i in 0..10_000 {
            digests.insert(token_digest(&format!("mt_{i}")), i, t0 + Duration::from_secs(60), t0);
        }
        assert!(digests.entries.len() <= 200, "{}", digests.entries.len());
    }
}
