//! [`OAuthAccessToken`] and [`OAuthTokenVerification`]: what
//! [`OAuthAccessTokens::verify`](super::OAuthAccessTokens::verify) returns.

use crate::api::types;
use crate::error::{Error, Result};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};

/// Clerk's record of an OAuth access token (never the token itself).
///
/// A hand-written view: the generated answer is an untagged enum whose
/// variants are named `Variant0` and `Variant1` (the spec's `anyOf` has no
/// names), which says nothing to a reader. Field names and units are the
/// spec's (times in milliseconds since the Unix epoch).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OAuthAccessToken {
    /// The token's id (`oat_...`).
    pub id: String,
    /// The OAuth application the token was issued to.
    pub client_id: String,
    /// The user who granted it (`user_...`).
    pub subject: String,
    /// The scopes granted.
    pub scopes: Vec<String>,
    /// Whether the token was revoked.
    pub revoked: bool,
    /// Why it was revoked, if a reason was given.
    pub revocation_reason: Option<String>,
    /// Whether the token has expired.
    pub expired: bool,
    /// When it expires (ms since the epoch); `None`: never.
    pub expiration: Option<f64>,
    /// When it was issued (ms since the epoch).
    pub created_at: f64,
    /// When it last changed (ms since the epoch).
    pub updated_at: f64,
}

impl OAuthAccessToken {
    /// Neither revoked nor expired, as Clerk reported it.
    pub fn is_active(&self) -> bool {
        !self.revoked && !self.expired
    }
}

/// Clerk's answer to a verification.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum OAuthTokenVerification {
    /// Clerk knows the token: its record (check [`OAuthAccessToken::is_active`],
    /// or use [`active`](Self::active)).
    Token(OAuthAccessToken),
    /// Clerk answered `{"active": false}`: a JWT access token that is no
    /// longer active (expired).
    Inactive,
}

impl OAuthTokenVerification {
    /// The token, if it is active (known, neither revoked nor expired).
    pub fn active(&self) -> Option<&OAuthAccessToken> {
        match self {
            Self::Token(token) if token.is_active() => Some(token),
            _ => None,
        }
    }

    /// Reads the generated answer; `{"active": true}` without a record,
    /// which the spec does not allow, is a decoding error.
    pub(super) fn from_generated(answer: types::VerifyOAuthAccessTokenResponse) -> Result<Self> {
        use types::VerifyOAuthAccessTokenResponse as Answer;
        match answer {
            Answer::Variant0 {
                client_id,
                created_at,
                expiration,
                expired,
                id,
                object: _,
                revocation_reason,
                revoked,
                scopes,
                subject,
                updated_at,
            } => Ok(Self::Token(OAuthAccessToken {
                id,
                client_id,
                subject,
                scopes,
                revoked,
                revocation_reason,
                expired,
                expiration,
                created_at,
                updated_at,
            })),
            Answer::Variant1 { active: false } => Ok(Self::Inactive),
            Answer::Variant1 { active: true } => Err(Error::Decode {
                status: StatusCode::OK,
                path: "active".into(),
                message: "`active: true` without the token's record".into(),
                snippet: String::new(),
            }),
        }
    }
}
