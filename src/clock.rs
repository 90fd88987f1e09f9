//! Where the crate reads the time: token expiry, refresh and key-cache age.
//!
//! [`SystemClock`] is the default everywhere; the builders that read the
//! time take another [`Clock`] (`.clock(..)`). The clocks tests use (frozen,
//! or running ahead) are in `clerk_machines::testing` (feature `test-util`).

use std::time::SystemTime;

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}
