//! [`UpdateApiKey`]: the request [`ApiKeys::update`](super::ApiKeys::update) returns.

use super::key::ApiKey;
use crate::api::types;
use crate::client::Clerk;
use crate::error::{Error, Result};
use crate::request::call;
use crate::validate;
use serde::Serialize;
use serde_json::Value;
use std::time::Duration;

/// Changes to an API key; only the fields set are sent. `.await` it (or
/// call [`send`](Self::send)). Clerk does not let a key be renamed.
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until it is awaited"]
pub struct UpdateApiKey<'a> {
    clerk: &'a Clerk,
    api_key_id: String,
    description: Option<String>,
    scopes: Option<Vec<String>>,
    claims: Option<std::result::Result<Value, String>>,
    subject: Option<String>,
    seconds_until_expiration: Option<Duration>,
}

impl<'a> UpdateApiKey<'a> {
    pub(super) fn new(clerk: &'a Clerk, api_key_id: String) -> Self {
        Self {
            clerk,
            api_key_id,
            description: None,
            scopes: None,
            claims: None,
            subject: None,
            seconds_until_expiration: None,
        }
    }

    /// The new description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Replaces the key's scopes. An empty list is refused: the generated
    /// request body leaves an empty list out, so it would change nothing.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// Replaces the key's custom claims: any value that serializes to JSON.
    pub fn claims(mut self, claims: impl Serialize) -> Self {
        self.claims = Some(serde_json::to_value(claims).map_err(|e| e.to_string()));
        self
    }

    /// Moves the key to another subject (`user_...`, `org_...`, `mch_...`).
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Makes the key expire this long from now (whole seconds, within the
    /// spec's bounds and at most [`MAX_TOKEN_LIFETIME`](crate::m2m::MAX_TOKEN_LIFETIME)).
    pub fn seconds_until_expiration(mut self, lifetime: Duration) -> Self {
        self.seconds_until_expiration = Some(lifetime);
        self
    }

    /// Validates and sends the request; an update that sets nothing is refused.
    pub async fn send(self) -> Result<ApiKey> {
        let input = validate::input("updateApiKey");
        input.id("apiKeyID", &self.api_key_id)?;
        let mut body = types::UpdateApiKeyBody::builder();
        let mut changes = 0;
        if let Some(description) = &self.description {
            input.text("description", description)?;
            body = body.description(Some(description.clone()));
            changes += 1;
        }
        if let Some(scopes) = &self.scopes {
            if scopes.is_empty() {
                return Err(Error::invalid("scopes", "an empty list would not be sent"));
            }
            input.texts("scopes", scopes)?;
            body = body.scopes(scopes.clone());
            changes += 1;
        }
        if let Some(claims) = input.claims(self.claims.as_ref())? {
            body = body.claims(Some(claims));
            changes += 1;
        }
        if let Some(subject) = &self.subject {
            input.text("subject", subject)?;
            body = body.subject(Some(subject.clone()));
            changes += 1;
        }
        if let Some(lifetime) = self.seconds_until_expiration {
            let seconds = input.positive_seconds("seconds_until_expiration", lifetime)?;
            validate::at_most_token_lifetime("seconds_until_expiration", seconds.get())?;
            body = body.seconds_until_expiration(Some(seconds));
            changes += 1;
        }
        if changes == 0 {
            return Err(Error::invalid("update", "sets nothing"));
        }
        let request = self.clerk.raw().update_api_key().api_key_id(self.api_key_id.as_str()).body(body);
        call(|| request.clone().send()).await.map(ApiKey::from)
    }
}

crate::await_via_send!(UpdateApiKey => ApiKey);
