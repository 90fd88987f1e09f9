//! [`VerifyError`]: why a token was rejected.

use crate::m2m::TokenFormat;

/// Why an M2M token was rejected (inside [`Error::Verify`](crate::Error::Verify)).
///
/// Each reason is its own variant, so that callers can log or count them, and
/// [`code`](Self::code) gives a stable short name for responses. None of them
/// quotes the token; the few values taken from a token's header or payload
/// (`alg`, `kid`, `sub`) are cut to 64 printable characters.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The request carries no bearer token.
    #[error("no bearer token")]
    Missing,
    /// The token is not a well-formed M2M token (not a JWT, bad encoding,
    /// a claim of the wrong type, ...).
    #[error("malformed token: {reason}")]
    Malformed {
        /// What is wrong with it.
        reason: String,
    },
    /// The header's `cat` is present and is not Clerk's M2M token category:
    /// another kind of Clerk-signed JWT.
    #[error("the token is not an M2M token (header `cat`)")]
    WrongCategory,
    /// The header's `typ` is present and is not `JWT`.
    #[error("the token's type (header `typ`) is not JWT")]
    WrongType,
    /// The token is signed (or claims to be) with an algorithm other than RS256, including `none`.
    #[error("algorithm `{alg}` is not allowed; M2M tokens are signed with RS256")]
    DisallowedAlgorithm {
        /// The `alg` from the token's header.
        alg: String,
    },
    /// The token names a key the instance's key set does not hold, even after a refetch.
    #[error("no key `{kid}` in the instance's key set")]
    UnknownKid {
        /// The key id from the token's header.
        kid: String,
    },
    /// The instance's keys could not be fetched recently and the cached ones
    /// are too old to trust: not the token's fault, try again shortly.
    #[error("the instance's keys are unavailable")]
    KeysUnavailable,
    /// The signature does not match the key.
    #[error("the signature does not verify")]
    BadSignature,
    /// The token's subject is not a machine (`sub` does not start with `mch_`).
    #[error("the subject `{subject}` is not a machine")]
    WrongSubject {
        /// The subject found (empty when there was none).
        subject: String,
    },
    /// The token's `exp` has passed (beyond the allowed clock skew), or Clerk reports it expired.
    #[error("the token has expired")]
    Expired,
    /// The token's `nbf` is still in the future (beyond the allowed clock skew).
    #[error("the token is not valid yet")]
    NotYetValid,
    /// The token's `iat` is in the future (beyond the allowed clock skew).
    #[error("the token was issued in the future")]
    IssuedInFuture,
    /// The token is not scoped to the machine the verifier requires.
    #[error("the token is not scoped to machine `{machine_id}`")]
    NotScoped {
        /// The machine the verifier requires.
        machine_id: String,
    },
    /// Clerk reports the (opaque) token as revoked.
    #[error("the token has been revoked")]
    Revoked,
    /// The verifier does not accept tokens of this format (by choice, or
    /// because it has no key for JWTs or no client for opaque tokens).
    #[error("{format} tokens are not accepted here")]
    FormatNotAccepted {
        /// The token's format.
        format: TokenFormat,
    },
}

impl VerifyError {
    /// A short, stable name for the reason, for responses and metrics:
    /// `token_missing`, `token_malformed`, `token_wrong_category`,
    /// `token_wrong_type`, `algorithm_not_allowed`, `unknown_key`,
    /// `keys_unavailable`, `signature_invalid`, `subject_not_a_machine`,
    /// `token_expired`, `token_not_yet_valid`, `token_issued_in_future`,
    /// `token_not_scoped`, `token_revoked`, `format_not_accepted`.
    pub fn code(&self) -> &'static str {
        self.describe().0
    }

    /// A fixed sentence for a response body: what is wrong, with nothing
    /// taken from the token.
    #[cfg(feature = "tower")]
    pub(crate) fn public_message(&self) -> &'static str {
        self.describe().1
    }

    /// The reason's code and fixed sentence.
    fn describe(&self) -> (&'static str, &'static str) {
        match self {
            VerifyError::Missing => ("token_missing", "send `Authorization: Bearer <M2M token>`"),
            VerifyError::Malformed { .. } => ("token_malformed", "the token is malformed"),
            VerifyError::WrongCategory => ("token_wrong_category", "the token is not an M2M token"),
            VerifyError::WrongType => ("token_wrong_type", "the token's type is not JWT"),
            VerifyError::DisallowedAlgorithm { .. } => {
                ("algorithm_not_allowed", "the token's algorithm is not allowed")
            }
            VerifyError::UnknownKid { .. } => ("unknown_key", "the token's key is not the instance's"),
            VerifyError::KeysUnavailable => ("keys_unavailable", "the instance's keys are unavailable"),
            VerifyError::BadSignature => ("signature_invalid", "the token's signature does not verify"),
            VerifyError::WrongSubject { .. } => {
                ("subject_not_a_machine", "the token's subject is not a machine")
            }
            VerifyError::Expired => ("token_expired", "the token has expired"),
            VerifyError::NotYetValid => ("token_not_yet_valid", "the token is not valid yet"),
            VerifyError::IssuedInFuture => ("token_issued_in_future", "the token was issued in the future"),
            VerifyError::NotScoped { .. } => ("token_not_scoped", "the token is not scoped to this service"),
            VerifyError::Revoked => ("token_revoked", "the token has been revoked"),
            VerifyError::FormatNotAccepted { .. } => {
                ("format_not_accepted", "tokens of this format are not accepted here")
            }
        }
    }

    pub(super) fn malformed(reason: impl Into<String>) -> Self {
        VerifyError::Malformed { reason: reason.into() }
    }

    /// An `Authorization` header that does not carry a bearer token.
    #[cfg(feature = "tower")]
    pub(crate) fn malformed_header() -> Self {
        Self::malformed("the Authorization header is not `Bearer <token>`")
    }
}

/// A value taken from an unverified token, made safe to put in an error
/// message and a log line: at most 64 characters, control characters replaced.
pub(super) fn shown(value: &str) -> String {
    value.chars().take(64).map(|c| if c.is_control() { '\u{fffd}' } else { c }).collect()
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

    #[test]
    fn codes_are_distinct() {
        let all = [
            VerifyError::Missing,
            VerifyError::malformed("x"),
            VerifyError::WrongCategory,
            VerifyError::WrongType,
            VerifyError::DisallowedAlgorithm { alg: "none".into() },
            VerifyError::UnknownKid { kid: "k".into() },
            VerifyError::KeysUnavailable,
            VerifyError::BadSignature,
            VerifyError::WrongSubject { subject: String::new() },
            VerifyError::Expired,
            VerifyError::NotYetValid,
            VerifyError::IssuedInFuture,
            VerifyError::NotScoped { machine_id: "mch_x".into() },
            VerifyError::Revoked,
            VerifyError::FormatNotAccepted { format: TokenFormat::Opaque },
        ];
        let mut codes: Vec<&str> = all.iter().map(VerifyError::code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
    }
}
