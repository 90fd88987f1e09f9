//! [`RevokeApiKey`]: the request [`ApiKeys::revoke`](super::ApiKeys::revoke) returns.

use super::key::ApiKey;
use crate::api::types;
use crate::client::Clerk;
use crate::error::Result;
use crate::request::call;
use crate::validate;

/// A key to revoke, with an optional reason. `.await` it (or call [`send`](Self::send)).
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until it is awaited"]
pub struct RevokeApiKey<'a> {
    clerk: &'a Clerk,
    api_key_id: String,
    reason: Option<String>,
}

impl<'a> RevokeApiKey<'a> {
    pub(super) fn new(clerk: &'a Clerk, api_key_id: String) -> Self {
        Self { clerk, api_key_id, reason: None }
    }

    /// Why the key is revoked (Clerk stores it as `revocation_reason`).
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Validates the id and sends the request.
    pub async fn send(self) -> Result<ApiKey> {
        let input = validate::input("revokeApiKey");
        input.id("apiKeyID", &self.api_key_id)?;
        let mut body = types::RevokeApiKeyBody::builder();
        if let Some(reason) = self.reason {
            input.text("revocation_reason", &reason)?;
            body = body.revocation_reason(Some(reason));
        }
        let request = self.clerk.raw().revoke_api_key().api_key_id(self.api_key_id.as_str()).body(body);
        call(|| request.clone().send()).await.map(ApiKey::from)
    }
}

crate::await_via_send!(RevokeApiKey => ApiKey);
