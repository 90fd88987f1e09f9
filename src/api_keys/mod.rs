//! API keys: [`ApiKeys`], reached with [`Clerk::api_keys`].
//!
//! Users, organizations and machines own long-lived API keys that scripts
//! and integrations send as bearer tokens; a service asks Clerk whether one
//! is valid with [`ApiKeys::verify`]. The operations need the instance
//! secret key (`sk_...`).
//!
//! As for [`Machines`](crate::machines::Machines), methods take the required
//! arguments; those with options return a request builder ([`CreateApiKey`],
//! [`ListApiKeys`], [`UpdateApiKey`], [`RevokeApiKey`]) that you `.await`
//! or finish with `.send()`. Every argument is checked against the rules of
//! the spec first (`spec::operation("createApiKey")`, ...): invalid input
//! returns [`Error::InvalidInput`] without
//! sending anything. Every operation answers with one hand-written
//! [`ApiKey`] (the generator makes six identical structs of it, see there),
//! creation with a [`CreatedApiKey`] that adds the secret.
//!
//! ```no_run
//! # async fn demo(clerk: clerk_machines::Clerk) -> Result<(), clerk_machines::Error> {
//! use std::time::Duration;
//!
//! let created = clerk
//!     .api_keys()
//!     .create("ci-deploy", "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk")
//!     .scopes(["deploy"])
//!     .seconds_until_expiration(Duration::from_secs(30 * 24 * 3600))
//!     .await?;
//! let secret = created.secret.expose_secret(); // hand it to the caller
//!
//! let key = clerk.api_keys().verify(secret).await?; // on the receiving side
//! assert_eq!(key.subject, "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk");
//! clerk.api_keys().revoke(&created.api_key.id).reason("rotated").await?;
//! # Ok(()) }
//! ```

mod create;
mod key;
mod list;
mod revoke;
mod update;

pub use create::CreateApiKey;
pub use key::{ApiKey, CreatedApiKey};
pub use list::{ApiKeyFilters, ListApiKeys};
pub use revoke::RevokeApiKey;
pub use update::UpdateApiKey;

use crate::api::types;
use crate::client::Clerk;
use crate::error::{Error, Result};
use crate::pagination::List;
use crate::request::call;
use crate::secret::SecretString;
use crate::validate;

/// The API key operations of a [`Clerk`] client; get one with [`Clerk::api_keys`].
#[derive(Clone, Copy, Debug)]
pub struct ApiKeys<'a> {
    clerk: &'a Clerk,
}

impl<'a> ApiKeys<'a> {
    pub(crate) fn new(clerk: &'a Clerk) -> Self {
        Self { clerk }
    }

    /// Creates an API key named `name` for `subject` (a user `user_...`, an
    /// organization `org_...` or a machine `mch_...`, in the spec's pattern),
    /// like Clerk's `apiKeys.create()`. The builder takes the options
    /// (description, scopes, claims, lifetime, creator) before it is awaited;
    /// the answer carries the key's secret.
    pub fn create(self, name: impl Into<String>, subject: impl Into<String>) -> CreateApiKey<'a> {
        CreateApiKey::new(self.clerk, name.into(), subject.into())
    }

    /// Lists the API keys of `subject`: one page when awaited, every page
    /// with [`into_stream`](ListApiKeys::into_stream). Only valid keys
    /// unless [`include_invalid`](ListApiKeys::include_invalid).
    ///
    /// ```no_run
    /// # async fn demo(clerk: clerk_machines::Clerk) -> Result<(), clerk_machines::Error> {
    /// use futures::TryStreamExt;
    ///
    /// let subject = "user_2xhFjEI5X2qWRvtV13BzSj8H6Dk";
    /// let page = clerk.api_keys().list(subject).include_invalid(true).query("ci").limit(20).await?;
    /// let all: Vec<_> = clerk.api_keys().list(subject).into_stream().try_collect().await?;
    /// # let _ = (page, all); Ok(()) }
    /// ```
    pub fn list(self, subject: impl Into<String>) -> ListApiKeys<'a> {
        List::new(self.clerk, list::ApiKeyFilters::new(subject.into()))
    }

    /// The API key with this id (`ak_...`, in the spec's pattern), whether
    /// valid or not.
    pub async fn get(self, api_key_id: &str) -> Result<ApiKey> {
        validate::input("getApiKey").id("apiKeyID", api_key_id)?;
        call(|| self.clerk.raw().get_api_key().api_key_id(api_key_id).send()).await.map(ApiKey::from)
    }

    /// Changes a key's description, scopes, claims, subject or expiry; only
    /// what is set on the returned builder is sent.
    ///
    /// ```no_run
    /// # async fn demo(clerk: clerk_machines::Clerk) -> Result<(), clerk_machines::Error> {
    /// let key = clerk.api_keys().update("ak_0123456789abcdef0123456789abcdef").scopes(["read"]).await?;
    /// # let _ = key; Ok(()) }
    /// ```
    pub fn update(self, api_key_id: impl Into<String>) -> UpdateApiKey<'a> {
        UpdateApiKey::new(self.clerk, api_key_id.into())
    }

    /// Deletes an API key.
    pub async fn delete(self, api_key_id: &str) -> Result<types::DeleteApiKeyResponse> {
        validate::input("deleteApiKey").id("apiKeyID", api_key_id)?;
        call(|| self.clerk.raw().delete_api_key().api_key_id(api_key_id).send()).await
    }

    /// The key's secret.
    pub async fn secret(self, api_key_id: &str) -> Result<SecretString> {
        validate::input("getApiKeySecret").id("apiKeyID", api_key_id)?;
        let answer = call(|| self.clerk.raw().get_api_key_secret().api_key_id(api_key_id).send()).await?;
        Ok(answer.secret)
    }

    /// Revokes an API key at once; the builder takes an optional reason.
    ///
    /// ```no_run
    /// # async fn demo(clerk: clerk_machines::Clerk) -> Result<(), clerk_machines::Error> {
    /// let key = clerk.api_keys().revoke("ak_0123456789abcdef0123456789abcdef").reason("leaked").await?;
    /// assert!(key.revoked);
    /// # Ok(()) }
    /// ```
    pub fn revoke(self, api_key_id: impl Into<String>) -> RevokeApiKey<'a> {
        RevokeApiKey::new(self.clerk, api_key_id.into())
    }

    /// Asks Clerk whether `secret` is a valid API key, and whose. Clerk
    /// answers with an error ([`Error::Api`]) for a secret that is unknown,
    /// revoked or expired, as Clerk's own SDK documents.
    pub async fn verify(self, secret: &str) -> Result<ApiKey> {
        // Not from the spec (which states no length): an empty secret is no key.
        if secret.trim().is_empty() {
            return Err(Error::invalid("secret", "must not be empty"));
        }
        validate::input("verifyApiKey").text("secret", secret)?;
        let body = types::VerifyApiKeyBody::builder().secret(secret.to_owned());
        call(|| self.clerk.raw().verify_api_key().body(body.clone()).send()).await.map(ApiKey::from)
    }
}
