//! [`CreateM2mToken`]: the request [`M2m::create_token`](super::M2m::create_token) returns.

use super::TokenFormat;
use crate::api::types;
use crate::client::{Clerk, KeyKind};
use crate::error::{Error, Result};
use crate::request::call;
use crate::secret::SecretString;
use crate::validate;
use serde::Serialize;
use serde_json::Value;
use std::time::Duration;

/// A token to mint; only the options set are sent, Clerk applies its
/// defaults to the others. `.await` it (or call [`send`](Self::send)).
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until it is awaited"]
pub struct CreateM2mToken<'a> {
    clerk: &'a Clerk,
    machine_secret_key: Option<SecretString>,
    seconds_until_expiration: Option<Duration>,
    claims: Option<std::result::Result<Value, String>>,
    token_format: Option<TokenFormat>,
    min_remaining_ttl: Option<Duration>,
}

impl<'a> CreateM2mToken<'a> {
    pub(super) fn new(clerk: &'a Clerk) -> Self {
        Self {
            clerk,
            machine_secret_key: None,
            seconds_until_expiration: None,
            claims: None,
            token_format: None,
            min_remaining_ttl: None,
        }
    }

    /// Checks the options as [`send`](Self::send) does, without sending.
    pub(super) fn check(&self) -> Result<()> {
        self.body().map(drop)
    }

    /// Authenticates this request with this machine secret key (`ak_...`)
    /// instead of the client's key. The client's connection pool is reused.
    pub fn machine_secret_key(mut self, key: impl Into<SecretString>) -> Self {
        self.machine_secret_key = Some(key.into());
        self
    }

    /// How long the token is valid, in whole seconds (within the spec's
    /// bounds, and at most [`MAX_TOKEN_LIFETIME`](super::MAX_TOKEN_LIFETIME)).
    /// Unset, Clerk uses the machine's default token lifetime.
    pub fn seconds_until_expiration(mut self, lifetime: Duration) -> Self {
        self.seconds_until_expiration = Some(lifetime);
        self
    }

    /// Custom claims carried by the token: any value that serializes to JSON.
    pub fn claims(mut self, claims: impl Serialize) -> Self {
        self.claims = Some(serde_json::to_value(claims).map_err(|e| e.to_string()));
        self
    }

    /// Opaque (Clerk's default) or JWT.
    pub fn token_format(mut self, format: TokenFormat) -> Self {
        self.token_format = Some(format);
        self
    }

    /// Server-side reuse for opaque tokens: when the machine already has a
    /// live token with the same claims and at least this much lifetime left
    /// (whole seconds), Clerk returns it instead of minting one. Must be less
    /// than the token's lifetime; not allowed with [`TokenFormat::Jwt`].
    pub fn min_remaining_ttl(mut self, ttl: Duration) -> Self {
        self.min_remaining_ttl = Some(ttl);
        self
    }

    /// Validates the options and the key, then sends the request.
    pub async fn send(self) -> Result<types::CreateM2mTokenResponse> {
        let body = self.body()?;
        let per_call;
        let clerk = match &self.machine_secret_key {
            Some(key) => {
                require_machine_key("machine_secret_key", KeyKind::of(key.expose_secret()))?;
                per_call = self.clerk.with_secret_key(key.clone())?;
                &per_call
            }
            None => {
                require_machine_key("secret_key", self.clerk.key_kind())?;
                self.clerk
            }
        };
        call(|| clerk.raw().create_m2m_token().body(body.clone()).send()).await
    }

    fn body(&self) -> Result<types::builder::CreateM2mTokenBody> {
        let input = validate::input("createM2MToken");
        let mut body = types::CreateM2mTokenBody::builder();
        let lifetime = match self.seconds_until_expiration {
            Some(lifetime) => {
                let seconds = input.positive_seconds("seconds_until_expiration", lifetime)?;
                validate::at_most_token_lifetime("seconds_until_expiration", seconds.get())?;
                body = body.seconds_until_expiration(Some(seconds));
                Some(seconds.get())
            }
            None => None,
        };
        if let Some(ttl) = self.min_remaining_ttl {
            if self.token_format == Some(TokenFormat::Jwt) {
                return Err(Error::invalid(
                    "min_remaining_ttl_seconds",
                    "only applies to opaque tokens: JWT-format tokens are never reused",
                ));
            }
            let seconds = input.seconds("min_remaining_ttl_seconds", ttl)?;
            validate::at_most_token_lifetime("min_remaining_ttl_seconds", seconds)?;
            if let Some(lifetime) = lifetime.filter(|lifetime| seconds >= *lifetime) {
                return Err(Error::invalid(
                    "min_remaining_ttl_seconds",
                    format!("{seconds}s must be less than seconds_until_expiration ({lifetime}s)"),
                ));
            }
            body = body.min_remaining_ttl_seconds(Some(seconds));
        }
        if let Some(claims) = input.claims(self.claims.as_ref())? {
            body = body.claims(Some(claims));
        }
        if let Some(format) = self.token_format {
            input.text("token_format", format.as_str())?;
            let format = types::CreateM2mTokenBodyTokenFormat::try_from(format.as_str())
                .map_err(|e| Error::invalid("token_format", e.to_string()))?;
            body = body.token_format(Some(format));
        }
        Ok(body)
    }
}

crate::await_via_send!(CreateM2mToken => types::CreateM2mTokenResponse);

/// createM2MToken needs a machine secret key; an instance key gets a 401 from Clerk.
pub(super) fn require_machine_key(field: &'static str, kind: KeyKind) -> Result<()> {
    if kind == KeyKind::Instance {
        return Err(Error::invalid(
            field,
            "creating an M2M token needs a machine secret key (`ak_...`), not an instance key (`sk_...`)",
        ));
    }
    Ok(())
}
