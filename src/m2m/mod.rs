//! Machine-to-machine (M2M) tokens.
//!
//! - [`M2m`], reached with [`Clerk::m2m`]: the four API operations (create,
//!   list, revoke, verify). As with [`Machines`](crate::machines::Machines),
//!   methods take the required arguments and return a request builder you
//!   `.await` (or finish with `.send()`).
//! - [`M2mTokenSource`]: the calling side's cached supply of tokens, refreshed
//!   ahead of expiry in the background, served through Clerk's failures.
//!
//! The called side's check of incoming tokens (of every machine kind) is
//! [`verify::Verifier`](crate::verify::Verifier) (feature `jwt`).

mod create;
mod list;
mod revoke;
mod source;
mod token_cache;

pub use create::CreateM2mToken;
pub use list::{ListM2mTokens, ListedM2mToken, M2mTokenFilters};
pub use revoke::RevokeM2mToken;
pub use source::{M2mTokenSource, M2mTokenSourceBuilder, M2mTokenSourceStatus};

use crate::api::types;
use crate::client::Clerk;
use crate::error::{Error, Result};
use crate::pagination::List;
use crate::request::call;
use crate::validate;
use std::time::Duration;

/// The longest token lifetime the crate sends (`seconds_until_expiration`,
/// `min_remaining_ttl_seconds`): 2^53 - 1 seconds. Not from the spec, which
/// states no maximum: it is the largest whole number a JavaScript peer (such
/// as Clerk's own SDK) still reads exactly.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs((1 << 53) - 1);

/// The M2M token operations of a [`Clerk`] client; get one with [`Clerk::m2m`].
///
/// Arguments are checked against the spec first: invalid input returns
/// [`Error::InvalidInput`] without sending anything. Errors Clerk returns are
/// [`Error::Api`], as for every other operation.
#[derive(Clone, Copy, Debug)]
pub struct M2m<'a> {
    clerk: &'a Clerk,
}

impl<'a> M2m<'a> {
    pub(crate) fn new(clerk: &'a Clerk) -> Self {
        Self { clerk }
    }

    /// Mints a token: set what you need on the builder, then `.await` it.
    ///
    /// Clerk mints tokens only for requests authenticated with a **machine
    /// secret key** (`ak_...`): build the client with one, or give one with
    /// [`CreateM2mToken::machine_secret_key`]. An instance key (`sk_...`) is
    /// refused before sending.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), clerk_machines::Error> {
    /// use clerk_machines::m2m::TokenFormat;
    /// use clerk_machines::{Clerk, ClerkConfig};
    /// use std::time::Duration;
    ///
    /// let clerk = Clerk::new("ak_...", ClerkConfig::default())?;
    /// let created = clerk
    ///     .m2m()
    ///     .create_token()
    ///     .seconds_until_expiration(Duration::from_secs(600))
    ///     .token_format(TokenFormat::Jwt)
    ///     .claims(serde_json::json!({ "job": "nightly-export" }))
    ///     .await?;
    /// let bearer = created.token.expose_secret(); // send as `Authorization: Bearer ...`
    /// # let _ = bearer; Ok(()) }
    /// ```
    pub fn create_token(self) -> CreateM2mToken<'a> {
        CreateM2mToken::new(self.clerk)
    }

    /// Lists the opaque tokens of machine `subject` (`mch_...`): one page
    /// when awaited, every page with [`into_stream`](ListM2mTokens::into_stream).
    /// JWT-format tokens are not stored by Clerk, so they are never listed.
    ///
    /// ```no_run
    /// # async fn demo(clerk: clerk_machines::Clerk) -> Result<(), clerk_machines::Error> {
    /// use futures::TryStreamExt;
    ///
    /// let subject = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk";
    /// let page = clerk.m2m().list_tokens(subject).revoked(true).limit(50).await?;
    /// let live: Vec<_> = clerk.m2m().list_tokens(subject).into_stream().try_collect().await?;
    /// # let _ = (page, live); Ok(()) }
    /// ```
    pub fn list_tokens(self, subject: impl Into<String>) -> ListM2mTokens<'a> {
        List::new(self.clerk, list::M2mTokenFilters::new(subject.into()))
    }

    /// Revokes the opaque token with id `token_id` (`mt_...`, in the spec's
    /// pattern for `m2m_token_id`); the builder takes an optional reason.
    /// JWT-format tokens cannot be revoked.
    ///
    /// ```no_run
    /// # async fn demo(clerk: clerk_machines::Clerk) -> Result<(), clerk_machines::Error> {
    /// clerk.m2m().revoke_token("mt_0123456789abcdef0123456789abcdef").reason("key leaked").await?;
    /// # Ok(()) }
    /// ```
    pub fn revoke_token(self, token_id: impl Into<String>) -> RevokeM2mToken<'a> {
        RevokeM2mToken::new(self.clerk, token_id.into())
    }

    /// Asks Clerk whether `token` is a valid M2M token, and what it knows of
    /// it (subject, scopes, claims, revoked or expired). Works for both
    /// formats; `verify::Verifier` (feature `jwt`) checks JWTs locally instead.
    ///
    /// Authenticated with a machine secret key, Clerk also checks that the
    /// token was granted access to that machine: the least-privilege way for
    /// a called service to verify its callers.
    pub async fn verify_token(self, token: &str) -> Result<types::VerifyM2mTokenResponse> {
        // Not from the spec (which states no length): an empty token is no token.
        if token.trim().is_empty() {
            return Err(Error::invalid("token", "must not be empty"));
        }
        validate::input("verifyM2MToken").text("token", token)?;
        let body = types::VerifyM2mTokenBody::builder().token(token.to_owned());
        call(|| self.clerk.raw().verify_m2m_token().body(body.clone()).send()).await
    }
}

/// The format of an M2M token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenFormat {
    /// An opaque token (`mt_...`), stored by Clerk: it can be listed and
    /// revoked, and is verified by asking Clerk. Clerk's default.
    #[default]
    Opaque,
    /// A JWT signed by the instance (RS256): verified locally against the
    /// instance's keys, without a request per verification. Stateless: it
    /// can be neither listed nor revoked.
    Jwt,
}

impl TokenFormat {
    /// The value the spec uses: `opaque` or `jwt`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenFormat::Opaque => "opaque",
            TokenFormat::Jwt => "jwt",
        }
    }
}

impl std::fmt::Display for TokenFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
