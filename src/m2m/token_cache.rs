//! The token source's cache: one shared slot, plus a private copy of it on
//! every thread that reads it.
//!
//! A cache hit must not make two cores write to the same memory. Handing out
//! clones of one shared token does exactly that (its reference count moves
//! between the cores on every clone and drop, which doubled the cost of a
//! hit with two busy threads), so each thread keeps its own copy of the
//! token, and a hit only reads the slot's generation number (shared, but
//! written only when a new token is stored) and clones the thread's copy.
//! A thread takes a new copy, under the slot's lock, when the generation
//! has moved on.
//!
//! A lookup says more than hit or miss: a token before its refresh time is
//! [`Lookup::Fresh`], one in its refresh window but still valid is
//! [`Lookup::Due`] (handed out while a refresh runs), and past its validity,
//! or with no token at all, [`Lookup::Expired`]. Telling them apart costs one
//! more comparison, made only once the refresh time has passed.

use crate::secret::SecretString;
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, SystemTime};

/// A minted token, when to replace it and until when to hand it out.
#[derive(Clone)]
pub(super) struct Cached {
    pub(super) token: SecretString,
    /// When to mint the next one; `None` for a token that does not expire.
    pub(super) refresh_at: Option<SystemTime>,
    /// The last moment it is handed out (its expiry less the safety
    /// allowance); `None` for a token that does not expire.
    pub(super) valid_until: Option<SystemTime>,
}

/// What a lookup found at a given time.
pub(super) enum Lookup {
    /// A token before its refresh time.
    Fresh(SecretString),
    /// A token in its refresh window: still valid, due for replacement.
    Due(SecretString),
    /// No token, or one past its validity.
    Expired,
}

impl Cached {
    fn lookup(&self, now: SystemTime) -> Lookup {
        if self.refresh_at.is_none_or(|at| now < at) {
            Lookup::Fresh(self.token.clone())
        } else if self.valid_until.is_none_or(|until| now < until) {
            Lookup::Due(self.token.clone())
        } else {
            Lookup::Expired
        }
    }

    /// How long it is still handed out at `now` (`Duration::MAX` when it
    /// does not expire); `None` once it is not.
    fn valid_for(&self, now: SystemTime) -> Option<Duration> {
        match self.valid_until {
            None => Some(Duration::MAX),
            Some(until) => until.duration_since(now).ok().filter(|left| !left.is_zero()),
        }
    }

    /// A copy that shares no memory with `self`.
    fn deep_copy(&self) -> Self {
        Self {
            token: SecretString::from(self.token.expose_secret()),
            refresh_at: self.refresh_at,
            valid_until: self.valid_until,
        }
    }
}

/// What `cached` holds at `now`.
fn lookup(cached: Option<&Cached>, now: SystemTime) -> Lookup {
    cached.map_or(Lookup::Expired, |cached| cached.lookup(now))
}

/// The shared slot of one token source.
pub(super) struct TokenCache {
    /// Bumped, under the slot's lock, on every store. Its allocation also
    /// names this cache in the threads' copies (which hold it weakly).
    generation: Arc<AtomicU64>,
    slot: Mutex<Option<Cached>>,
}

/// One thread's copy of one cache's slot.
struct Replica {
    cache: Weak<AtomicU64>,
    generation: u64,
    cached: Option<Cached>,
}

thread_local! {
    /// This thread's copies, one per token source it has read (a process
    /// has few sources, so a short list beats a map). A copy of a dropped
    /// source is removed the next time this thread meets a new source, or
    /// when the thread ends; the token's memory is zeroed when it goes.
    static REPLICAS: RefCell<Vec<Replica>> = const { RefCell::new(Vec::new()) };
}

impl TokenCache {
    pub(super) fn new() -> Self {
        Self { generation: Arc::new(AtomicU64::new(0)), slot: Mutex::new(None) }
    }

    /// The cached token at `now`: fresh, due for refresh, or none valid.
    pub(super) fn lookup(&self, now: SystemTime) -> Lookup {
        let generation = self.generation.load(Ordering::Acquire);
        let from_replica = REPLICAS.try_with(|replicas| {
            let mut replicas = replicas.try_borrow_mut().ok()?;
            let replica = self.replica(&mut replicas);
            if replica.generation != generation {
                *replica = self.copy();
            }
            Some(lookup(replica.cached.as_ref(), now))
        });
        match from_replica {
            Ok(Some(answer)) => answer,
            // This thread's copies are unavailable (the thread is ending):
            // read the shared slot instead.
            _ => lookup(self.lock().as_ref(), now),
        }
    }

    /// Replaces the cached token (`None` forgets it).
    pub(super) fn store(&self, cached: Option<Cached>) {
        let mut slot = self.lock();
        *slot = cached;
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// How long the cached token is still handed out at `now`
    /// (`Duration::MAX` when it does not expire); `None` when none is.
    pub(super) fn valid_for(&self, now: SystemTime) -> Option<Duration> {
        self.lock().as_ref().and_then(|cached| cached.valid_for(now))
    }

    /// This cache's copy in `replicas`, made now if the thread has none.
    fn replica<'r>(&self, replicas: &'r mut Vec<Replica>) -> &'r mut Replica {
        let this = Arc::as_ptr(&self.generation);
        let index = match replicas.iter().position(|replica| replica.cache.as_ptr() == this) {
            Some(index) => index,
            None => {
                replicas.retain(|replica| replica.cache.strong_count() > 0);
                replicas.push(self.copy());
                replicas.len() - 1
            }
        };
        &mut replicas[index]
    }

    /// A private copy of the slot, with the generation it holds.
    fn copy(&self) -> Replica {
        let slot = self.lock();
        Replica {
            cache: Arc::downgrade(&self.generation),
            generation: self.generation.load(Ordering::Acquire),
            cached: slot.as_ref().map(Cached::deep_copy),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<Cached>> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cached(token: &str, refresh_at: Option<SystemTime>) -> Option<Cached> {
        Some(Cached { token: SecretString::from(token), refresh_at, valid_until: refresh_at })
    }

    fn fresh(cache: &TokenCache, now: SystemTime) -> Option<SecretString> {
        match cache.lookup(now) {
            Lookup::Fresh(token) => Some(token),
            Lookup::Due(_) | Lookup::Expired => None,
        }
    }

    fn read(cache: &TokenCache, now: SystemTime) -> Option<String> {
        fresh(cache, now).map(|token| token.expose_secret().to_owned())
    }

    #[test]
    fn every_thread_sees_each_store_and_the_freshness_rule() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let cache = TokenCache::new();
        assert_eq!(read(&cache, now), None);
        cache.store(cached("mt_one", Some(now + Duration::from_secs(1))));
        assert_eq!(read(&cache, now).as_deref(), Some("mt_one"));
        assert_eq!(read(&cache, now + Duration::from_secs(1)), None, "due for refresh");
        std::thread::scope(|scope| {
            scope.spawn(|| assert_eq!(read(&cache, now).as_deref(), Some("mt_one")));
        });
        cache.store(cached("mt_two", None));
        assert_eq!(read(&cache, now + Duration::from_secs(9)).as_deref(), Some("mt_two"));
        std::thread::scope(|scope| {
            scope.spawn(|| assert_eq!(read(&cache, now).as_deref(), Some("mt_two")));
        });
        cache.store(None);
        assert_eq!(read(&cache, now), None, "forgotten");
    }

    #[test]
    fn a_token_in_its_refresh_window_is_due_until_its_validity_ends() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let cache = TokenCache::new();
        assert!(matches!(cache.lookup(now), Lookup::Expired));
        assert_eq!(cache.valid_for(now), None, "nothing cached");
        let at = |secs| Some(now + Duration::from_secs(secs));
        cache.store(Some(Cached { token: "mt_due".into(), refresh_at: at(10), valid_until: at(15) }));
        assert!(matches!(cache.lookup(now + Duration::from_secs(9)), Lookup::Fresh(_)));
        for secs in [10, 14] {
            match cache.lookup(now + Duration::from_secs(secs)) {
                Lookup::Due(token) => assert_eq!(token.expose_secret(), "mt_due"),
                _ => panic!("due at +{secs} s"),
            }
        }
        assert!(matches!(cache.lookup(now + Duration::from_secs(15)), Lookup::Expired));
        assert_eq!(cache.valid_for(now + Duration::from_secs(12)), Some(Duration::from_secs(3)));
        assert_eq!(cache.valid_for(now + Duration::from_secs(15)), None);
        cache.store(Some(Cached { token: "mt_forever".into(), refresh_at: None, valid_until: None }));
        assert_eq!(cache.valid_for(now), Some(Duration::MAX));
    }

    #[test]
    fn a_hit_hands_out_the_threads_own_copy() {
        let cache = TokenCache::new();
        cache.store(cached("mt_shared", None));
        let shared = cache.lock().as_ref().map(|cached| cached.token.clone());
        let hit = fresh(&cache, SystemTime::now());
        assert_eq!(hit, shared, "same token");
        let (Some(hit), Some(shared)) = (hit, shared) else { unreachable!("both are set") };
        assert_ne!(hit.expose_secret().as_ptr(), shared.expose_secret().as_ptr(), "different memory");
    }

    #[test]
    fn sources_do_not_share_copies_and_dropped_ones_are_pruned() {
        let first = TokenCache::new();
        first.store(cached("mt_first", None));
        let second = TokenCache::new();
        second.store(cached("mt_second", None));
        let now = SystemTime::now();
        assert_eq!(read(&first, now).as_deref(), Some("mt_first"));
        assert_eq!(read(&second, now).as_deref(), Some("mt_second"));
        drop(first);
        let third = TokenCache::new();
        assert_eq!(read(&third, now), None);
        let sources = REPLICAS.with(|replicas| replicas.borrow().len());
        assert_eq!(sources, 2, "the dropped source's copy went when the third arrived");
    }
}
