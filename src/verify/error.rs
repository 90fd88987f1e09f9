//! [`VerifyError`]: why a token was not accepted, in two classes.

use super::TokenKind;
use crate::error::Error;
use crate::m2m::TokenFormat;
use std::sync::Arc;

/// Why [`Verifier::verify`](super::Verifier::verify) did not accept a token.
///
/// Two classes, whoever decided:
///
/// - [`Refused`](Self::Refused): the token's fault, with the [`Reason`],
///   decided by the crate (a bad signature, an expiry, a malformed string, a
///   kind not accepted) or by Clerk answering 4xx or "revoked"/"expired" about
///   an opaque token or API key. A server answers 401.
/// - [`Unavailable`](Self::Unavailable): not the token's fault (Clerk or the
///   key set unreachable, a 5xx, a 429, this service's own key refused, the
///   call ceiling reached). A server answers 503: the caller may retry.
///
/// Nothing in either quotes the token; the few values read from a token
/// (`alg`, `kid`, `sub`) are cut to 64 printable characters.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The token is refused: its own fault.
    #[error("token refused: {0}")]
    Refused(Reason),
    /// The token could not be verified now: not its fault.
    #[error("token could not be verified now: {0}")]
    Unavailable(Unavailable),
}

impl VerifyError {
    /// The reason of a refusal; `None` when verification was unavailable.
    pub fn reason(&self) -> Option<&Reason> {
        match self {
            VerifyError::Refused(reason) => Some(reason),
            VerifyError::Unavailable(_) => None,
        }
    }

    /// `true` when the token is not at fault (the answer is 503, not 401).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, VerifyError::Unavailable(_))
    }

    /// A short stable name: the [`Reason::code`] of a refusal, or
    /// `verification_unavailable`.
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::Refused(reason) => reason.code(),
            VerifyError::Unavailable(_) => "verification_unavailable",
        }
    }
}

impl From<Reason> for VerifyError {
    fn from(reason: Reason) -> Self {
        VerifyError::Refused(reason)
    }
}

impl From<Unavailable> for VerifyError {
    fn from(unavailable: Unavailable) -> Self {
        VerifyError::Unavailable(unavailable)
    }
}

/// Why verification could not be done now (inside [`VerifyError::Unavailable`]).
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Unavailable {
    /// Clerk could not answer about the token: unreachable, timed out, a
    /// 5xx, a 429, an answer that does not decode, or this service's own
    /// key refused (401/403). The error says which.
    #[error("Clerk: {0}")]
    Clerk(Arc<Error>),
    /// The instance's keys could not be fetched recently and the cached ones
    /// are too old to trust.
    #[error("the instance's keys are unavailable")]
    Keys,
    /// The verifier's ceiling on calls to Clerk per second is reached
    /// ([`VerifierBuilder::max_clerk_calls_per_second`](super::VerifierBuilder::max_clerk_calls_per_second)).
    #[error("the ceiling on verification calls to Clerk is reached")]
    CallCeiling,
}

impl From<Error> for Unavailable {
    fn from(error: Error) -> Self {
        Unavailable::Clerk(Arc::new(error))
    }
}

/// Why a token was refused (inside [`VerifyError::Refused`]).
///
/// Each reason is its own variant, so that callers can log or count them, and
/// [`code`](Self::code) gives a stable short name for responses.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Reason {
    /// The request carries no bearer token.
    #[error("no bearer token")]
    Missing,
    /// The token (or the header carrying it) is not well formed: not a JWT,
    /// bad encoding, a claim of the wrong type, a character outside RFC 6750's
    /// `b64token`, an opaque token that cannot be one of its kind, ...
    #[error("malformed token: {reason}")]
    Malformed {
        /// What is wrong with it.
        reason: String,
    },
    /// The token is longer than the verifier accepts
    /// ([`VerifierBuilder::max_token_length`](super::VerifierBuilder::max_token_length)).
    #[error("the token is longer than {max} bytes")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// The token is of no machine kind: not `mt_`/`oat_`/`ak_`, and a JWT
    /// neither with a machine subject nor of type `at+jwt`.
    #[error("the token is not a machine token")]
    UnknownKind,
    /// The token's kind is not one the verifier accepts.
    #[error("{kind} tokens are not accepted here")]
    KindNotAccepted {
        /// The token's kind.
        kind: TokenKind,
    },
    /// The M2M token's format is not one the verifier accepts (by choice, or
    /// because it has no key for JWTs or no client for opaque tokens).
    #[error("{format} tokens of this kind are not accepted here")]
    FormatNotAccepted {
        /// The token's format.
        format: TokenFormat,
    },
    /// The header's `cat` is present and is not Clerk's M2M token category:
    /// another kind of Clerk-signed JWT.
    #[error("the token is not an M2M token (header `cat`)")]
    WrongCategory,
    /// The header's `typ` is not the one of the token's kind (`JWT` or
    /// absent for M2M tokens).
    #[error("the token's type (header `typ`) does not fit its kind")]
    WrongType,
    /// The token is signed (or claims to be) with an algorithm other than RS256, including `none`.
    #[error("algorithm `{alg}` is not allowed; Clerk signs with RS256")]
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
    /// The signature does not match the key.
    #[error("the signature does not verify")]
    BadSignature,
    /// An OAuth access token whose subject is not a user (`user_...`).
    #[error("the subject `{subject}` is not a user")]
    SubjectNotAUser {
        /// The subject found.
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
    /// The M2M token is not scoped to the machine the verifier requires.
    #[error("the token is not scoped to machine `{machine_id}`")]
    NotScoped {
        /// The machine the verifier requires.
        machine_id: String,
    },
    /// The OAuth token's audience holds none of the verifier's audiences.
    #[error("the token's audience is not this service")]
    WrongAudience,
    /// Clerk reports the token or key as revoked.
    #[error("the token has been revoked")]
    Revoked,
    /// Clerk does not know the token (404): made up, deleted, of another
    /// instance, or (verified with a machine's own key) not granted to it.
    #[error("Clerk does not know this token")]
    NotFound,
    /// Clerk refused the token with another 4xx (its status and first error code).
    #[error("Clerk refused the token ({status}, {code})")]
    RefusedByClerk {
        /// The HTTP status.
        status: u16,
        /// Clerk's first error code (empty when none).
        code: String,
    },
}

impl Reason {
    /// A short, stable name for the reason, for responses and metrics:
    /// `token_missing`, `token_malformed`, `token_too_long`,
    /// `token_kind_unknown`, `kind_not_accepted`, `format_not_accepted`,
    /// `token_wrong_category`, `token_wrong_type`, `algorithm_not_allowed`,
    /// `unknown_key`, `signature_invalid`, `subject_not_a_user`,
    /// `token_expired`, `token_not_yet_valid`, `token_issued_in_future`,
    /// `token_not_scoped`, `audience_mismatch`, `token_revoked`,
    /// `token_not_found`, `token_refused_by_clerk`.
    pub fn code(&self) -> &'static str {
        self.describe().0
    }

    /// A fixed sentence for a response body: what is wrong, with nothing
    /// taken from the token.
    pub fn public_message(&self) -> &'static str {
        self.describe().1
    }

    /// The reason's code and fixed sentence.
    fn describe(&self) -> (&'static str, &'static str) {
        match self {
            Reason::Missing => ("token_missing", "send `Authorization: Bearer <token>`"),
            Reason::Malformed { .. } => ("token_malformed", "the token is malformed"),
            Reason::TooLong { .. } => ("token_too_long", "the token is too long"),
            Reason::UnknownKind => ("token_kind_unknown", "the token is not a machine token"),
            Reason::KindNotAccepted { .. } => {
                ("kind_not_accepted", "tokens of this kind are not accepted here")
            }
            Reason::FormatNotAccepted { .. } => {
                ("format_not_accepted", "tokens of this format are not accepted here")
            }
            Reason::WrongCategory => ("token_wrong_category", "the token is not an M2M token"),
            Reason::WrongType => ("token_wrong_type", "the token's type does not fit its kind"),
            Reason::DisallowedAlgorithm { .. } => {
                ("algorithm_not_allowed", "the token's algorithm is not allowed")
            }
            Reason::UnknownKid { .. } => ("unknown_key", "the token's key is not the instance's"),
            Reason::BadSignature => ("signature_invalid", "the token's signature does not verify"),
            Reason::SubjectNotAUser { .. } => ("subject_not_a_user", "the token's subject is not a user"),
            Reason::Expired => ("token_expired", "the token has expired"),
            Reason::NotYetValid => ("token_not_yet_valid", "the token is not valid yet"),
            Reason::IssuedInFuture => ("token_issued_in_future", "the token was issued in the future"),
            Reason::NotScoped { .. } => ("token_not_scoped", "the token is not scoped to this service"),
            Reason::WrongAudience => ("audience_mismatch", "the token is not meant for this service"),
            Reason::Revoked => ("token_revoked", "the token has been revoked"),
            Reason::NotFound => ("token_not_found", "Clerk does not know this token"),
            Reason::RefusedByClerk { .. } => ("token_refused_by_clerk", "Clerk does not accept this token"),
        }
    }

    pub(super) fn malformed(reason: impl Into<String>) -> Self {
        Reason::Malformed { reason: reason.into() }
    }

    /// An `Authorization` header that does not carry one bearer token.
    #[cfg(feature = "tower")]
    pub(crate) fn malformed_header(reason: &'static str) -> Self {
        Self::malformed(reason)
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
            Reason::Missing,
            Reason::malformed("x"),
            Reason::TooLong { max: 1 },
            Reason::UnknownKind,
            Reason::KindNotAccepted { kind: TokenKind::ApiKey },
            Reason::FormatNotAccepted { format: TokenFormat::Opaque },
            Reason::WrongCategory,
            Reason::WrongType,
            Reason::DisallowedAlgorithm { alg: "none".into() },
            Reason::UnknownKid { kid: "k".into() },
            Reason::BadSignature,
            Reason::SubjectNotAUser { subject: String::new() },
            Reason::Expired,
            Reason::NotYetValid,
            Reason::IssuedInFuture,
            Reason::NotScoped { machine_id: "mch_x".into() },
            Reason::WrongAudience,
            Reason::Revoked,
            Reason::NotFound,
            Reason::RefusedByClerk { status: 400, code: String::new() },
        ];
        let mut codes: Vec<&str> = all.iter().map(Reason::code).collect();
        codes.push(VerifyError::from(Unavailable::Keys).code());
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len() + 1);
    }
}
