//! [`Verified`]: what a verified token says, per kind.

use super::TokenKind;
use crate::m2m::TokenFormat;
use serde_json::Value;
use std::time::SystemTime;

/// A token that passed verification, of one of the three kinds; what each
/// holds is what Clerk's own auth object for the kind carries. The
/// accessors answer for every kind.
///
/// ```
/// # fn demo(verified: clerk_machines::verify::Verified) {
/// use clerk_machines::verify::{TokenKind, Verified};
///
/// println!("{} {} (scopes {:?})", verified.kind(), verified.subject(), verified.scopes());
/// match &verified {
///     Verified::M2m(token) => println!("machine {}", token.machine_id),
///     Verified::ApiKey(key) => println!("API key {} of {}", key.name, key.subject),
///     Verified::OAuth(token) => println!("user {} through client {}", token.user_id, token.client_id),
///     _ => {}
/// }
/// # }
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Verified {
    /// A machine-to-machine token (`mt_...` or a JWT whose `sub` is a machine).
    M2m(VerifiedM2mToken),
    /// An API key (`ak_...`).
    ApiKey(VerifiedApiKey),
    /// An OAuth access token (`oat_...` or a JWT of type `at+jwt`).
    OAuth(VerifiedOAuthToken),
}

impl Verified {
    /// The token's kind.
    pub fn kind(&self) -> TokenKind {
        match self {
            Verified::M2m(_) => TokenKind::M2m,
            Verified::ApiKey(_) => TokenKind::ApiKey,
            Verified::OAuth(_) => TokenKind::OAuth,
        }
    }

    /// Who the token stands for: the machine (M2M), the user, organization
    /// or machine the key belongs to (API key), the user (OAuth).
    pub fn subject(&self) -> &str {
        match self {
            Verified::M2m(token) => &token.machine_id,
            Verified::ApiKey(key) => &key.subject,
            Verified::OAuth(token) => &token.user_id,
        }
    }

    /// The token's scopes: the machines it may call (M2M), the key's or the
    /// token's granted scopes (API key, OAuth).
    pub fn scopes(&self) -> &[String] {
        match self {
            Verified::M2m(token) => &token.scopes,
            Verified::ApiKey(key) => &key.scopes,
            Verified::OAuth(token) => &token.scopes,
        }
    }

    /// The token's id at Clerk (`mt_...`, `ak_...`, `oat_...`; empty for a JWT without `jti`).
    pub fn id(&self) -> &str {
        match self {
            Verified::M2m(token) => &token.token_id,
            Verified::ApiKey(key) => &key.id,
            Verified::OAuth(token) => &token.token_id,
        }
    }

    /// When the token expires; `None` when it does not.
    pub fn expires_at(&self) -> Option<SystemTime> {
        match self {
            Verified::M2m(token) => token.expires_at,
            Verified::ApiKey(key) => key.expires_at,
            Verified::OAuth(token) => token.expires_at,
        }
    }

    /// The M2M token, when that is the kind.
    pub fn as_m2m(&self) -> Option<&VerifiedM2mToken> {
        match self {
            Verified::M2m(token) => Some(token),
            _ => None,
        }
    }

    /// The API key, when that is the kind.
    pub fn as_api_key(&self) -> Option<&VerifiedApiKey> {
        match self {
            Verified::ApiKey(key) => Some(key),
            _ => None,
        }
    }

    /// The OAuth access token, when that is the kind.
    pub fn as_oauth(&self) -> Option<&VerifiedOAuthToken> {
        match self {
            Verified::OAuth(token) => Some(token),
            _ => None,
        }
    }
}

/// A verified M2M token. The fields mean the same whether the token was a
/// JWT checked locally or an opaque token checked by Clerk.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct VerifiedM2mToken {
    /// The machine that holds the token: the JWT's `sub`, the opaque token's `subject`.
    pub machine_id: String,
    /// The token's id, `mt_...`: the JWT's `jti`, the opaque token's `id`.
    pub token_id: String,
    /// The machines the token may call, in Clerk's order: the JWT's `scopes`
    /// (or `aud`), the opaque token's `scopes`.
    pub scopes: Vec<String>,
    /// The custom claims given when the token was minted, as a JSON object;
    /// `Null` when there are none. Never the registered claims.
    pub claims: Value,
    /// When the token was minted (JWT `iat`, opaque `created_at`).
    pub issued_at: Option<SystemTime>,
    /// When the token expires; `None` for an opaque token without expiry.
    pub expires_at: Option<SystemTime>,
    /// How the token was verified: locally (JWT) or by Clerk (opaque).
    pub format: TokenFormat,
}

impl VerifiedM2mToken {
    /// `true` when the token is scoped to `machine_id`.
    pub fn is_scoped_to(&self, machine_id: &str) -> bool {
        self.scopes.iter().any(|scope| scope == machine_id)
    }
}

/// A verified API key, as Clerk's `verifyApiKey` describes it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct VerifiedApiKey {
    /// The key's id, `ak_...` (not its secret).
    pub id: String,
    /// The key's name.
    pub name: String,
    /// Whom the key stands for: `user_...`, `org_...` or `mch_...`.
    pub subject: String,
    /// The subject when it is a user (Clerk's `userId`).
    pub user_id: Option<String>,
    /// The subject when it is an organization (Clerk's `orgId`).
    pub org_id: Option<String>,
    /// The key's type (`api_key`).
    pub key_type: String,
    /// The scopes the key was given.
    pub scopes: Vec<String>,
    /// The custom claims given at creation; `Null` when none.
    pub claims: Value,
    /// When the key was created.
    pub created_at: Option<SystemTime>,
    /// When the key expires; `None` when it does not.
    pub expires_at: Option<SystemTime>,
}

/// A verified OAuth access token (Clerk as the identity provider).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct VerifiedOAuthToken {
    /// The token's id, `oat_...` (a JWT's `jti`; empty when absent).
    pub token_id: String,
    /// The user who granted the token (`sub`, `user_...`).
    pub user_id: String,
    /// The OAuth application the token was issued to (`client_id`).
    pub client_id: String,
    /// The scopes granted (a JWT's `scp`, or its `scope` split on spaces).
    pub scopes: Vec<String>,
    /// The audiences of a JWT (`aud`, as a list); empty for an opaque token.
    pub audience: Vec<String>,
    /// When the token was issued (`iat`, `created_at`).
    pub issued_at: Option<SystemTime>,
    /// When the token expires.
    pub expires_at: Option<SystemTime>,
    /// How the token was verified: locally (JWT) or by Clerk (opaque).
    pub format: TokenFormat,
}
