//! What protects Clerk's budget when many requests carry opaque tokens:
//! [`SingleFlight`], one call for concurrent verifications of the same
//! token, and [`Ceiling`], an optional bound on calls per second.

use super::error::VerifyError;
use super::Verified;
use futures::future::{BoxFuture, FutureExt, Shared, WeakShared};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

type Outcome = Result<Verified, VerifyError>;
type Call = Shared<BoxFuture<'static, Outcome>>;

/// Concurrent verifications of one token share one call to Clerk.
///
/// The map holds weak handles only: when every waiter is gone (its request
/// cancelled), the call is dropped with them and its entry is stale, replaced
/// by the next caller; a waiter removes its entry when it is done.
#[derive(Default)]
pub(super) struct SingleFlight {
    calls: Mutex<HashMap<[u8; 32], WeakShared<BoxFuture<'static, Outcome>>>>,
}

impl SingleFlight {
    /// The outcome of `call` for the token of digest `key`, shared with
    /// every concurrent caller for the same key (who then does not start
    /// its own). The second value is `true` when this caller joined a call
    /// another had started.
    pub(super) async fn run<F>(&self, key: [u8; 32], call: F) -> (Outcome, bool)
    where
        F: Future<Output = Outcome> + Send + 'static,
    {
        let (shared, joined) = {
            let mut calls = self.calls.lock().unwrap_or_else(PoisonError::into_inner);
            match calls.get(&key).and_then(WeakShared::upgrade) {
                Some(shared) => (shared, true),
                None => {
                    let shared: Call = call.boxed().shared();
                    if let Some(weak) = shared.downgrade() {
                        calls.insert(key, weak);
                    }
                    (shared, false)
                }
            }
        };
        let weak = shared.downgrade();
        let mut waiter = Waiter { flight: self, key, call: shared, weak, done: false };
        let outcome = (&mut waiter.call).await;
        waiter.done = true;
        drop(waiter);
        (outcome, joined)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.calls.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

/// One caller waiting for a call; gone (done or cancelled), it removes the
/// call's entry unless other callers still wait for it.
struct Waiter<'a> {
    flight: &'a SingleFlight,
    key: [u8; 32],
    call: Call,
    /// The call, without keeping it alive (a finished `Shared` no longer
    /// tells which call it was).
    weak: Option<WeakShared<BoxFuture<'static, Outcome>>>,
    done: bool,
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        let mut calls = self.flight.calls.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(entry) = calls.get(&self.key).and_then(WeakShared::upgrade) else {
            calls.remove(&self.key);
            return;
        };
        let mine = self.weak.as_ref().and_then(WeakShared::upgrade);
        if !mine.as_ref().is_some_and(|mine| Shared::ptr_eq(&entry, mine)) {
            return; // another call for the same token, started after this one
        }
        // Done: nobody needs to join it any more. Cancelled: the handles are
        // `entry`, `mine` and this waiter's own; more means others still wait.
        if self.done || entry.strong_count().is_none_or(|count| count <= 3) {
            calls.remove(&self.key);
        }
    }
}

/// At most `per_second` calls in any second (a token bucket refilled
/// continuously, holding at most one second's worth).
pub(super) struct Ceiling {
    per_second: u32,
    state: Mutex<(f64, Instant)>,
}

impl Ceiling {
    pub(super) fn new(per_second: u32) -> Self {
        Self { per_second, state: Mutex::new((f64::from(per_second), Instant::now())) }
    }

    /// Takes one call from the budget; `false` when none is left.
    pub(super) fn try_take(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        let refill = now.saturating_duration_since(state.1).as_secs_f64() * f64::from(self.per_second);
        state.0 = (state.0 + refill).min(f64::from(self.per_second));
        state.1 = now;
        if state.0 >= 1.0 {
            state.0 -= 1.0;
            true
        } else {
            false
        }
    }
}

impl std::fmt::Debug for Ceiling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} calls/s", self.per_second)
    }
}

/// How long a fresh [`Ceiling`] needs to refill one call.
#[cfg(test)]
fn refill_time(per_second: u32) -> std::time::Duration {
    std::time::Duration::from_secs_f64(1.0 / f64::from(per_second))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::error::Reason;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[tokio::test]
    async fn concurrent_callers_share_one_call() {
        let flight = Arc::new(SingleFlight::default());
        let calls = Arc::new(AtomicUsize::new(0));
        let (release, wait) = tokio::sync::watch::channel(false);
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (flight, calls, mut wait) = (flight.clone(), calls.clone(), wait.clone());
            tasks.push(tokio::spawn(async move {
                let call = async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    let _ = wait.wait_for(|go| *go).await;
                    Err(VerifyError::Refused(Reason::NotFound))
                };
                flight.run([7; 32], call).await
            }));
        }
        tokio::task::yield_now().await;
        while flight.len() == 0 {
            tokio::task::yield_now().await;
        }
        release.send(true).unwrap();
        let mut joined = 0;
        for task in tasks {
            let (outcome, was_joined) = task.await.unwrap();
            assert!(matches!(outcome, Err(VerifyError::Refused(Reason::NotFound))));
            joined += usize::from(was_joined);
        }
        drop(wait);
        assert_eq!(calls.load(Ordering::SeqCst) + joined, 8);
        assert!(calls.load(Ordering::SeqCst) >= 1);
        assert_eq!(flight.len(), 0, "finished calls leave no entry");
    }

    #[tokio::test]
    async fn an_abandoned_call_leaves_no_entry() {
        let flight = SingleFlight::default();
        let pending = flight.run([1; 32], futures::future::pending());
        let _ = tokio::time::timeout(std::time::Duration::from_millis(1), pending).await;
        assert_eq!(flight.len(), 0);
        let (outcome, joined) = flight.run([1; 32], async { Err(Reason::Expired.into()) }).await;
        assert!(outcome.is_err() && !joined);
    }

    #[test]
    fn the_ceiling_allows_its_rate_and_no_more() {
        let ceiling = Ceiling::new(5);
        assert_eq!((0..20).filter(|_| ceiling.try_take()).count(), 5);
        std::thread::sleep(refill_time(5) * 2);
        assert!(ceiling.try_take());
        assert_eq!(format!("{ceiling:?}"), "5 calls/s");
    }
}
