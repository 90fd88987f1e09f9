//! [`VerifyError`]: why a token was rejected.

use crate::error::Error;

/// Why an M2M token was rejected (inside [`Error::Verify`]).
///
/// Each reason is its own variant, so that callers can log or count them;
/// none of them quotes the token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The token's `exp` has passed (beyond the allowed clock skew), or Clerk reports it expired.
    #[error("the token has expired")]
    Expired,
    /// The token's `nbf` is still in the future (beyond the allowed clock skew).
    #[error("the token is not valid yet")]
    NotYetValid,
    /// The signature does not match the key the token names.
    #[error("the signature does not verify")]
    BadSignature,
    /// The token names a key that the instance's JWKS does not hold, even after a refetch.
    #[error("no key `{kid}` in the instance's JWKS")]
    UnknownKid {
        /// The key id from the token's header.
        kid: String,
    },
    /// The token is signed (or claims to be) with an algorithm other than RS256, including `none`.
    #[error("algorithm `{alg}` is not allowed; M2M tokens are signed with RS256")]
    DisallowedAlgorithm {
        /// The `alg` from the token's header.
        alg: String,
    },
    /// The token is not a well-formed M2M token (not a JWT, bad encoding, missing claims, ...).
    #[error("malformed token: {reason}")]
    Malformed {
        /// What is wrong with it.
        reason: String,
    },
    /// The token's subject is not a machine id (`mch_...`).
    #[error("the subject `{subject}` is not a machine id")]
    WrongSubject {
        /// The subject found (empty when there was none).
        subject: String,
    },
    /// The token is not scoped to the machine the verifier requires.
    #[error("the token is not scoped to machine `{machine_id}`")]
    NotScoped {
        /// The machine the verifier requires.
        machine_id: String,
    },
    /// Clerk reports the (opaque) token as revoked.
    #[error("the token has been revoked")]
    Revoked,
}

impl VerifyError {
    pub(super) fn malformed(reason: impl Into<String>) -> Self {
        VerifyError::Malformed { reason: reason.into() }
    }
}

/// A value taken from an unverified token, made safe to put in an error
/// message and a log line: at most 64 characters, control characters replaced.
pub(super) fn shown(value: &str) -> String {
    value.chars().take(64).map(|c| if c.is_control() { '\u{fffd}' } else { c }).collect()
}

/// [`Error::Verify`] with [`VerifyError::Malformed`].
pub(super) fn rejected_malformed(reason: impl Into<String>) -> Error {
    Error::Verify(VerifyError::malformed(reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_from_tokens_are_bounded_and_printable() {
        assert_eq!(shown("RS256"), "RS256");
        assert_eq!(shown(&"x".repeat(1000)).chars().count(), 64);
        assert_eq!(shown("a\nb\u{1b}[31m"), "a\u{fffd}b\u{fffd}[31m");
    }
}
