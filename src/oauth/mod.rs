//! OAuth access tokens: [`OAuthAccessTokens`], reached with
//! [`Clerk::oauth_access_tokens`].
//!
//! Third-party OAuth applications call a service with access tokens that
//! Clerk issued in its OAuth flow: opaque (`oat_...`) or JWTs whose header
//! `typ` is `at+jwt`. [`OAuthAccessTokens::verify`] asks Clerk about either
//! (authenticated with the instance secret key).
//!
//! ```no_run
//! # async fn demo(clerk: clerk_machines::Clerk, bearer: &str) -> Result<(), clerk_machines::Error> {
//! let answer = clerk.oauth_access_tokens().verify(bearer).await?;
//! match answer.active() {
//!     Some(token) => println!("{} for {} ({:?})", token.client_id, token.subject, token.scopes),
//!     None => println!("not an active token"),
//! }
//! # Ok(()) }
//! ```

mod token;

pub use token::{OAuthAccessToken, OAuthTokenVerification};

use crate::api::types;
use crate::client::Clerk;
use crate::error::{Error, Result};
use crate::request::call;
use crate::secret::SecretString;
use crate::validate;

/// Prefix of opaque OAuth access tokens (and their ids). The spec gives the
/// ids a pattern but says nothing of the tokens: this prefix is what Clerk's
/// SDK (`@clerk/backend`'s `OAUTH_TOKEN_PREFIX`) routes on.
pub const OAUTH_TOKEN_PREFIX: &str = "oat_";

/// The header `typ` values of an OAuth access token JWT, as Clerk's SDK
/// (`@clerk/backend`'s `OAUTH_ACCESS_TOKEN_TYPES`) accepts them (RFC 9068).
pub const OAUTH_JWT_TYPES: &[&str] = &["at+jwt", "application/at+jwt"];

/// The OAuth access token operations of a [`Clerk`] client; get one with
/// [`Clerk::oauth_access_tokens`].
#[derive(Clone, Copy, Debug)]
pub struct OAuthAccessTokens<'a> {
    clerk: &'a Clerk,
}

impl<'a> OAuthAccessTokens<'a> {
    pub(crate) fn new(clerk: &'a Clerk) -> Self {
        Self { clerk }
    }

    /// Asks Clerk about `token` (opaque or JWT), like Clerk's
    /// `idPOAuthAccessToken.verify()`. Clerk answers an unknown token with
    /// an error ([`Error::Api`], 404), an expired JWT with
    /// [`OAuthTokenVerification::Inactive`], and otherwise with the token's
    /// record.
    pub async fn verify(self, token: &str) -> Result<OAuthTokenVerification> {
        // Not from the spec (which states no length): an empty token is no token.
        if token.trim().is_empty() {
            return Err(Error::invalid("access_token", "must not be empty"));
        }
        validate::input("verifyOAuthAccessToken").text("access_token", token)?;
        let body = types::VerifyOAuthAccessTokenBody::builder().access_token(Some(SecretString::from(token)));
        let answer = call(|| self.clerk.raw().verify_o_auth_access_token().body(body.clone()).send()).await?;
        OAuthTokenVerification::from_generated(answer)
    }
}
