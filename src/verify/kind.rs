//! The three kinds of machine credential, which ones a verifier accepts,
//! and how a token string is routed to its kind.

use super::jwt;
use crate::ids::M2M_TOKEN_PREFIX;

/// The prefix of an opaque OAuth access token.
pub(super) const OAUTH_TOKEN_PREFIX: &str = "oat_";
/// The prefix of an API key's secret.
pub(super) const API_KEY_PREFIX: &str = "ak_";

/// A kind of machine credential, as Clerk's `acceptsToken` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenKind {
    /// A machine-to-machine token: opaque `mt_...`, or a JWT whose `sub` is a machine.
    M2m,
    /// An API key: `ak_...`.
    ApiKey,
    /// An OAuth access token: opaque `oat_...`, or a JWT of type `at+jwt`.
    OAuth,
}

impl TokenKind {
    /// Every kind.
    pub const ALL: [TokenKind; 3] = [TokenKind::M2m, TokenKind::ApiKey, TokenKind::OAuth];

    /// Clerk's name for the kind: `m2m_token`, `api_key`, `oauth_token`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::M2m => "m2m_token",
            TokenKind::ApiKey => "api_key",
            TokenKind::OAuth => "oauth_token",
        }
    }

    fn bit(self) -> u8 {
        match self {
            TokenKind::M2m => 1,
            TokenKind::ApiKey => 2,
            TokenKind::OAuth => 4,
        }
    }
}

impl std::fmt::Display for TokenKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kinds a verifier accepts: one, several, or [`any`](Kinds::any), as
/// Clerk's `acceptsToken`. Made from a [`TokenKind`], an array or slice of
/// them.
///
/// ```
/// use clerk_machines::verify::{Kinds, TokenKind};
///
/// let both: Kinds = [TokenKind::M2m, TokenKind::ApiKey].into();
/// assert!(both.contains(TokenKind::ApiKey) && !both.contains(TokenKind::OAuth));
/// assert!(Kinds::any().contains(TokenKind::OAuth));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Kinds(u8);

impl Kinds {
    /// Every kind.
    pub fn any() -> Self {
        TokenKind::ALL.into()
    }

    /// Whether `kind` is among these.
    pub fn contains(self, kind: TokenKind) -> bool {
        self.0 & kind.bit() != 0
    }

    /// The kinds, in [`TokenKind::ALL`]'s order.
    pub fn iter(self) -> impl Iterator<Item = TokenKind> {
        TokenKind::ALL.into_iter().filter(move |kind| self.contains(*kind))
    }

    pub(super) fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl From<TokenKind> for Kinds {
    fn from(kind: TokenKind) -> Self {
        Kinds(kind.bit())
    }
}

impl From<&[TokenKind]> for Kinds {
    fn from(kinds: &[TokenKind]) -> Self {
        Kinds(kinds.iter().fold(0, |bits, kind| bits | kind.bit()))
    }
}

impl<const N: usize> From<[TokenKind; N]> for Kinds {
    fn from(kinds: [TokenKind; N]) -> Self {
        Kinds::from(&kinds[..])
    }
}

/// The kind of `token` as Clerk's SDK routes it (`getMachineTokenType` in
/// `@clerk/backend`), or `None` for a string of no machine kind:
///
/// 1. `mt_...`, or a JWT whose payload's `sub` starts with `mch_`: an M2M token;
/// 2. `oat_...`, or a JWT whose header's `typ` is `at+jwt` or
///    `application/at+jwt`: an OAuth access token;
/// 3. `ak_...`: an API key.
///
/// A JWT is three non-empty parts of base64url text; its header and payload
/// are decoded, nothing is verified.
///
/// ```
/// use clerk_machines::verify::{token_kind, TokenKind};
///
/// assert_eq!(token_kind("mt_8XOIucKvqHVr5tYP123456789abcdefghij"), Some(TokenKind::M2m));
/// assert_eq!(token_kind("ak_LCWGdaM8mv8K4PC/57IICZQXAeWfCgF30DZaFXHoGn9="), Some(TokenKind::ApiKey));
/// assert_eq!(token_kind("sk_test_123"), None);
/// ```
pub fn token_kind(token: &str) -> Option<TokenKind> {
    let jwt_kind = || jwt::parse(token).ok().and_then(|jwt| jwt.kind());
    if token.starts_with(M2M_TOKEN_PREFIX) {
        return Some(TokenKind::M2m);
    }
    match jwt_kind() {
        Some(TokenKind::M2m) => Some(TokenKind::M2m),
        _ if token.starts_with(OAUTH_TOKEN_PREFIX) => Some(TokenKind::OAuth),
        Some(kind) => Some(kind),
        None if token.starts_with(API_KEY_PREFIX) => Some(TokenKind::ApiKey),
        None => None,
    }
}
