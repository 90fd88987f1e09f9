//! [`RevokeM2mToken`]: the request [`M2m::revoke_token`](super::M2m::revoke_token) returns.

use crate::api::types;
use crate::client::Clerk;
use crate::error::Result;
use crate::request::call;
use crate::validate;

/// A token to revoke, with an optional reason. `.await` it (or call [`send`](Self::send)).
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until it is awaited"]
pub struct RevokeM2mToken<'a> {
    clerk: &'a Clerk,
    token_id: String,
    reason: Option<String>,
}

impl<'a> RevokeM2mToken<'a> {
    pub(super) fn new(clerk: &'a Clerk, token_id: String) -> Self {
        Self { clerk, token_id, reason: None }
    }

    /// Why the token is revoked (Clerk stores it as `revocation_reason`).
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Validates the id and sends the request.
    pub async fn send(self) -> Result<types::RevokeM2mTokenResponse> {
        let input = validate::input("revokeM2MToken");
        input.id("m2m_token_id", &self.token_id)?;
        let mut body = types::RevokeM2mTokenBody::builder();
        if let Some(reason) = self.reason {
            input.text("revocation_reason", &reason)?;
            body = body.revocation_reason(Some(reason));
        }
        call(|| {
            self.clerk.raw().revoke_m2m_token().m2m_token_id(self.token_id.as_str()).body(body.clone()).send()
        })
        .await
    }
}

crate::await_via_send!(RevokeM2mToken => types::RevokeM2mTokenResponse);
