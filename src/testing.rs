//! What tests of code that uses the crate need, and nothing a service needs
//! (feature `test-util`): clocks that move by hand, and the claims of an M2M
//! JWT that are not custom claims. The fake Clerk (`clerk-machines-fake`)
//! enables this feature.
//!
//! ```
//! use clerk_machines::clock::Clock;
//! use clerk_machines::testing::ManualClock;
//! use std::time::{Duration, UNIX_EPOCH};
//!
//! let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_000));
//! clock.advance(Duration::from_secs(5));
//! assert_eq!(clock.now(), UNIX_EPOCH + Duration::from_secs(1_005));
//! ```

use crate::clock::Clock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

/// The claims of an M2M JWT that are not the token's custom claims: the
/// registered JWT claims (RFC 7519) and `scopes`, which Clerk adds. The
/// verifier reads exactly these (a test ties the two together).
pub const M2M_RESERVED_CLAIMS: &[&str] = &["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "scopes"];

/// A clock that stands still until it is set or advanced.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<SystemTime>,
}

impl ManualClock {
    /// A clock showing `now`.
    pub fn new(now: SystemTime) -> Self {
        Self { now: Mutex::new(now) }
    }

    /// Shows `now` from here on.
    pub fn set(&self, now: SystemTime) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = now;
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now = now.checked_add(by).unwrap_or(*now);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The system time plus an offset that can only grow: time flows as usual
/// and jumps forward on [`advance`](Self::advance).
#[derive(Debug, Default)]
pub struct OffsetClock {
    offset_nanos: AtomicU64,
}

impl OffsetClock {
    /// A clock showing the system time.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward by `by` (saturating at about 584 years).
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        let _ = self
            .offset_nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |offset| Some(offset.saturating_add(nanos)));
    }

    /// How far ahead of the system time the clock is.
    pub fn offset(&self) -> Duration {
        Duration::from_nanos(self.offset_nanos.load(Ordering::SeqCst))
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> SystemTime {
        let now = SystemTime::now();
        now.checked_add(self.offset()).unwrap_or(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn manual_clocks_move_only_by_hand() {
        let clock = ManualClock::new(UNIX_EPOCH);
        assert_eq!(clock.now(), UNIX_EPOCH);
        clock.advance(Duration::from_millis(1500));
        assert_eq!(clock.now(), UNIX_EPOCH + Duration::from_millis(1500));
        clock.set(UNIX_EPOCH + Duration::from_secs(9));
        assert_eq!(clock.now(), UNIX_EPOCH + Duration::from_secs(9));
    }

    #[test]
    fn offset_clocks_run_ahead_of_the_system_clock() {
        let clock = OffsetClock::new();
        clock.advance(Duration::from_secs(3600));
        clock.advance(Duration::MAX);
        assert_eq!(clock.offset(), Duration::from_nanos(u64::MAX));
        let ahead = clock.now().duration_since(SystemTime::now()).unwrap_or_default();
        assert!(ahead > Duration::from_secs(3600), "{ahead:?}");
    }
}
