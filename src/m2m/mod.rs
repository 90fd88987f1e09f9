//! Machine-to-machine (M2M) tokens: the four API operations ([`M2m`]), a
//! caching token source for the calling side ([`M2mTokenSource`]) and, with
//! the `jwt` feature, a verifier for the called side (`M2mVerifier`).

#[cfg(feature = "jwt")]
mod jwks;
mod ops;
mod source;
#[cfg(feature = "jwt")]
mod verify;

pub use ops::{CreateM2mTokenRequest, ListM2mTokensParams, M2m, MAX_M2M_TOKENS_PAGE};
pub use source::{M2mTokenSource, M2mTokenSourceBuilder, DEFAULT_REFRESH_MARGIN};
#[cfg(feature = "jwt")]
pub use verify::{
    bearer_token, M2mVerifier, M2mVerifierBuilder, VerifiedM2mToken, VerifyError,
    DEFAULT_JWKS_REFETCH_INTERVAL, DEFAULT_LEEWAY,
};

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The format of an M2M token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenFormat {
    /// An opaque token (`mt_...`), stored by Clerk: it can be listed and
    /// revoked, and is verified by asking Clerk. Clerk's default.
    #[default]
    Opaque,
    /// A JWT signed by the instance (RS256): verified locally against the
    /// instance's JWKS, without a request per verification. Stateless: it can
    /// be neither listed nor revoked.
    Jwt,
}

impl TokenFormat {
    pub(crate) fn to_generated(self) -> crate::types::CreateM2mTokenBodyTokenFormat {
        match self {
            TokenFormat::Opaque => crate::types::CreateM2mTokenBodyTokenFormat::Opaque,
            TokenFormat::Jwt => crate::types::CreateM2mTokenBodyTokenFormat::Jwt,
        }
    }
}

impl std::fmt::Display for TokenFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TokenFormat::Opaque => "opaque",
            TokenFormat::Jwt => "jwt",
        })
    }
}

/// Where [`M2mTokenSource`] and [`M2mVerifier`] read the current time.
///
/// The default is [`SystemClock`]; tests inject a clock they can move forward
/// to exercise expiry and refresh without sleeping.
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

/// `true` for a machine id: `mch_` followed by 27 word characters (spec: `^mch_\w{27}$`).
pub(crate) fn is_machine_id(value: &str) -> bool {
    value
        .strip_prefix("mch_")
        .is_some_and(|rest| rest.len() == 27 && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
}

/// `true` for an M2M token id: `mt_` followed by 32 hex digits (spec: `^mt_[0-9A-Fa-f]{32}$`).
pub(crate) fn is_token_id(value: &str) -> bool {
    value
        .strip_prefix("mt_")
        .is_some_and(|rest| rest.len() == 32 && rest.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A timestamp in milliseconds since the epoch (as Clerk sends them, `f64`) as a time.
#[cfg_attr(not(feature = "jwt"), allow(dead_code))]
pub(crate) fn millis_to_time(millis: f64) -> Option<SystemTime> {
    if !millis.is_finite() || !(0.0..=1e17).contains(&millis) {
        return None;
    }
    UNIX_EPOCH.checked_add(Duration::from_millis(millis as u64))
}

/// A timestamp in seconds since the epoch (JWT `exp`/`nbf`) as a time.
#[cfg_attr(not(feature = "jwt"), allow(dead_code))]
pub(crate) fn seconds_to_time(seconds: f64) -> Option<SystemTime> {
    if !seconds.is_finite() || !(0.0..=1e14).contains(&seconds) {
        return None;
    }
    UNIX_EPOCH.checked_add(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_patterns_follow_the_spec() {
        assert!(is_machine_id("mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"));
        assert!(!is_machine_id("mch_2xhFjEI5X2qWRvtV13BzSj8H6D"));
        assert!(!is_machine_id("mch_2xhFjEI5X2qWRvtV13BzSj8H6D-"));
        assert!(!is_machine_id("mch_2xhFjEI5X2qWRvtV13BzSj8H6Dé"));
        assert!(!is_machine_id("user_2xhFjEI5X2qWRvtV13BzSj8H6Dk"));
        assert!(is_token_id("mt_0123456789abcdefABCDEF0123456789"));
        assert!(!is_token_id("mt_0123456789abcdefABCDEF012345678g"));
        assert!(!is_token_id("mt_0123456789abcdef"));
    }

    #[test]
    fn timestamps_convert_safely() {
        assert_eq!(millis_to_time(1500.0), Some(UNIX_EPOCH + Duration::from_millis(1500)));
        assert_eq!(millis_to_time(f64::NAN), None);
        assert_eq!(millis_to_time(-1.0), None);
        assert_eq!(seconds_to_time(f64::INFINITY), None);
        assert_eq!(seconds_to_time(10.0), Some(UNIX_EPOCH + Duration::from_secs(10)));
    }
}
