//! [`CreateApiKey`]: the request [`ApiKeys::create`](super::ApiKeys::create) returns.

use super::key::CreatedApiKey;
use crate::api::types;
use crate::client::Clerk;
use crate::error::Result;
use crate::request::call;
use crate::validate;
use serde::Serialize;
use serde_json::Value;
use std::time::Duration;

/// An API key to create; only the options set are sent. `.await` it (or
/// call [`send`](Self::send)).
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until it is awaited"]
pub struct CreateApiKey<'a> {
    clerk: &'a Clerk,
    name: String,
    subject: String,
    description: Option<String>,
    scopes: Vec<String>,
    claims: Option<std::result::Result<Value, String>>,
    seconds_until_expiration: Option<Duration>,
    created_by: Option<String>,
}

impl<'a> CreateApiKey<'a> {
    pub(super) fn new(clerk: &'a Clerk, name: String, subject: String) -> Self {
        Self {
            clerk,
            name,
            subject,
            description: None,
            scopes: Vec::new(),
            claims: None,
            seconds_until_expiration: None,
            created_by: None,
        }
    }

    /// A description (within the spec's length limit).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Adds one scope.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scopes.push(scope.into());
        self
    }

    /// Adds these scopes.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Custom claims: any value that serializes to JSON.
    pub fn claims(mut self, claims: impl Serialize) -> Self {
        self.claims = Some(serde_json::to_value(claims).map_err(|e| e.to_string()));
        self
    }

    /// How long the key is valid, in whole seconds (within the spec's bounds,
    /// and at most [`MAX_TOKEN_LIFETIME`](crate::m2m::MAX_TOKEN_LIFETIME)).
    /// Unset, the key never expires.
    pub fn seconds_until_expiration(mut self, lifetime: Duration) -> Self {
        self.seconds_until_expiration = Some(lifetime);
        self
    }

    /// The user creating the key (`user_...`, in the spec's pattern), recorded by Clerk.
    pub fn created_by(mut self, user_id: impl Into<String>) -> Self {
        self.created_by = Some(user_id.into());
        self
    }

    /// Validates the options, then sends the request.
    pub async fn send(self) -> Result<CreatedApiKey> {
        let body = self.body()?;
        let created = call(|| self.clerk.raw().create_api_key().body(body.clone()).send()).await?;
        Ok(CreatedApiKey::from(created))
    }

    fn body(&self) -> Result<types::builder::CreateApiKeyBody> {
        let input = validate::input("createApiKey");
        input.text("name", &self.name)?;
        input.text("subject", &self.subject)?;
        let mut body =
            types::CreateApiKeyBody::builder().name(self.name.as_str()).subject(self.subject.as_str());
        if let Some(description) = &self.description {
            input.text("description", description)?;
            body = body.description(Some(description.clone()));
        }
        if !self.scopes.is_empty() {
            input.texts("scopes", &self.scopes)?;
            body = body.scopes(self.scopes.clone());
        }
        if let Some(claims) = input.claims(self.claims.as_ref())? {
            body = body.claims(Some(claims));
        }
        if let Some(lifetime) = self.seconds_until_expiration {
            let seconds = input.positive_seconds("seconds_until_expiration", lifetime)?;
            validate::at_most_token_lifetime("seconds_until_expiration", seconds.get())?;
            body = body.seconds_until_expiration(Some(seconds));
        }
        if let Some(user) = &self.created_by {
            input.text("created_by", user)?;
            body = body.created_by(Some(user.clone()));
        }
        Ok(body)
    }
}

crate::await_via_send!(CreateApiKey => CreatedApiKey);
