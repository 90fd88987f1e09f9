//! The four M2M token operations: create, list, revoke, verify.

use super::{is_machine_id, is_token_id, TokenFormat};
use crate::api::types;
use crate::client::{Clerk, KeyKind};
use crate::error::{Error, Result};
use crate::pagination::{offset_stream, Page};
use crate::secret::SecretString;
use crate::transport::send;
use crate::validate;
use futures::{FutureExt, Stream};
use reqwest::StatusCode;
use serde::Serialize;
use serde_json::Value;
use std::time::Duration;

/// Largest page of M2M tokens (spec: `maximum: 100`).
pub const MAX_M2M_TOKENS_PAGE: u32 = 100;

/// Longest token lifetime accepted (2^53 - 1 seconds: what a JavaScript-based peer still reads exactly).
const MAX_EXACT_SECONDS: Duration = Duration::from_secs((1 << 53) - 1);

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

    /// Starts a request for a new M2M token; set what you need, then `send()`.
    ///
    /// Clerk only mints tokens for requests authenticated with a **machine
    /// secret key** (`ak_...`): build the client with one, or give one with
    /// [`CreateM2mTokenRequest::machine_secret_key`]. An instance key
    /// (`sk_...`) is refused before sending.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), clerk_machines::Error> {
    /// use clerk_machines::{Clerk, ClerkConfig, TokenFormat};
    /// use std::time::Duration;
    ///
    /// let clerk = Clerk::new("ak_...", ClerkConfig::default())?;
    /// let created = clerk
    ///     .m2m()
    ///     .create_token()
    ///     .seconds_until_expiration(Duration::from_secs(600))
    ///     .token_format(TokenFormat::Jwt)
    ///     .claims(serde_json::json!({ "job": "nightly-export" }))
    ///     .send()
    ///     .await?;
    /// let bearer = created.token.expose_secret(); // send as `Authorization: Bearer ...`
    /// # let _ = bearer; Ok(()) }
    /// ```
    pub fn create_token(self) -> CreateM2mTokenRequest<'a> {
        CreateM2mTokenRequest {
            clerk: self.clerk,
            machine_secret_key: None,
            seconds_until_expiration: None,
            claims: None,
            token_format: None,
            min_remaining_ttl: None,
        }
    }

    /// One page of the M2M tokens of machine `subject` (`mch_...`).
    ///
    /// Only opaque tokens are stored by Clerk, so only they are listed.
    pub async fn list_tokens(
        self,
        subject: &str,
        params: &ListM2mTokensParams,
    ) -> Result<Page<types::GetM2mTokensResponseM2mTokensItem>> {
        list_page(self.clerk, subject, params, params.offset).await
    }

    /// Every M2M token of machine `subject` matching `params`, as a stream
    /// that fetches pages of `params.limit` (default [`MAX_M2M_TOKENS_PAGE`])
    /// from `params.offset` until Clerk's `total_count` is reached.
    ///
    /// ```no_run
    /// # async fn demo(clerk: clerk_machines::Clerk) -> Result<(), clerk_machines::Error> {
    /// use clerk_machines::ListM2mTokensParams;
    /// use futures::TryStreamExt;
    ///
    /// let live: Vec<_> = clerk
    ///     .m2m()
    ///     .list_all("mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk", ListM2mTokensParams::new())
    ///     .try_collect()
    ///     .await?;
    /// # let _ = live; Ok(()) }
    /// ```
    pub fn list_all(
        self,
        subject: &str,
        params: ListM2mTokensParams,
    ) -> impl Stream<Item = Result<types::GetM2mTokensResponseM2mTokensItem>> + Send + 'static {
        let clerk = self.clerk.clone();
        let subject = subject.to_owned();
        let mut params = params;
        params.limit = Some(params.limit.unwrap_or(MAX_M2M_TOKENS_PAGE));
        let first = params.offset;
        offset_stream(first, move |offset| {
            let clerk = clerk.clone();
            let params = params.clone();
            let subject = subject.clone();
            async move { list_page(&clerk, &subject, &params, offset).await }.boxed()
        })
    }

    /// Revokes the opaque token with id `token_id` (`mt_` + 32 hex digits),
    /// optionally saying why. JWT-format tokens cannot be revoked.
    pub async fn revoke_token(
        self,
        token_id: &str,
        reason: Option<&str>,
    ) -> Result<types::RevokeM2mTokenResponse> {
        if !is_token_id(token_id) {
            return Err(Error::invalid("token_id", "must be `mt_` followed by 32 hexadecimal digits"));
        }
        let mut body = types::RevokeM2mTokenBody::builder();
        if let Some(reason) = reason {
            body = body.revocation_reason(Some(reason.to_owned()));
        }
        send(self.clerk.raw().revoke_m2m_token().m2m_token_id(token_id).body(body).send()).await
    }

    /// Asks Clerk whether `token` is a valid M2M token and returns what Clerk
    /// knows about it (subject, scopes, claims, whether it is revoked or
    /// expired). Works for both formats; for JWTs [`M2mVerifier`](crate::M2mVerifier)
    /// verifies locally instead.
    pub async fn verify_token(self, token: &str) -> Result<types::VerifyM2mTokenResponse> {
        if token.trim().is_empty() {
            return Err(Error::invalid("token", "must not be empty"));
        }
        let body = types::VerifyM2mTokenBody::builder().token(token.to_owned());
        send(self.clerk.raw().verify_m2m_token().body(body).send()).await
    }
}

async fn list_page(
    clerk: &Clerk,
    subject: &str,
    params: &ListM2mTokensParams,
    offset: u64,
) -> Result<Page<types::GetM2mTokensResponseM2mTokensItem>> {
    if !is_machine_id(subject) {
        return Err(Error::invalid("subject", "must be a machine id: `mch_` followed by 27 word characters"));
    }
    let mut request = clerk.raw().get_m2m_tokens().subject(subject);
    if let Some(limit) = params.limit {
        request = request.limit(validate::limit(limit, MAX_M2M_TOKENS_PAGE)?);
    }
    if offset != 0 {
        request = request.offset(offset);
    }
    if let Some(revoked) = params.revoked {
        request = request.revoked(revoked);
    }
    if let Some(expired) = params.expired {
        request = request.expired(expired);
    }
    let page = send(request.send()).await?;
    let total = total_count(page.total_count)?;
    Ok(Page::new(page.m2m_tokens, total))
}

/// The spec's `total_count` is a JSON number (`f64`): accept only a whole,
/// non-negative value that fits a `u64`.
fn total_count(value: f64) -> Result<u64> {
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value < 18_446_744_073_709_551_616.0 {
        Ok(value as u64)
    } else {
        Err(Error::Decode {
            status: StatusCode::OK,
            path: "total_count".into(),
            message: format!("{value} is not a count"),
            snippet: String::new(),
        })
    }
}

/// A token to mint: the builder returned by [`M2m::create_token`]. Only the
/// options set are sent; Clerk applies its defaults to the others.
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until `send()` is awaited"]
pub struct CreateM2mTokenRequest<'a> {
    clerk: &'a Clerk,
    machine_secret_key: Option<SecretString>,
    seconds_until_expiration: Option<Duration>,
    claims: Option<std::result::Result<Value, String>>,
    token_format: Option<TokenFormat>,
    min_remaining_ttl: Option<Duration>,
}

impl CreateM2mTokenRequest<'_> {
    /// Authenticates this request with this machine secret key (`ak_...`)
    /// instead of the client's key. The client's connection pool is reused.
    pub fn machine_secret_key(mut self, key: impl Into<SecretString>) -> Self {
        self.machine_secret_key = Some(key.into());
        self
    }

    /// How long the token is valid, in whole seconds (more than zero).
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
        send(clerk.raw().create_m2m_token().body(body).send()).await
    }

    fn body(&self) -> Result<types::builder::CreateM2mTokenBody> {
        let mut body = types::CreateM2mTokenBody::builder();
        let lifetime = match self.seconds_until_expiration {
            Some(lifetime) => {
                let seconds = validate::seconds(
                    "seconds_until_expiration",
                    lifetime,
                    Duration::from_secs(1),
                    MAX_EXACT_SECONDS,
                )?;
                let seconds = std::num::NonZeroU64::new(seconds)
                    .ok_or_else(|| Error::invalid("seconds_until_expiration", "must be at least 1 second"))?;
                body = body.seconds_until_expiration(Some(seconds));
                let seconds = seconds.get();
                Some(seconds)
            }
            None => None,
        };
        if let Some(ttl) = self.min_remaining_ttl {
            if self.token_format == Some(TokenFormat::Jwt) {
                return Err(Error::invalid(
                    "min_remaining_ttl",
                    "only applies to opaque tokens: JWT-format tokens are never reused",
                ));
            }
            let seconds = validate::seconds("min_remaining_ttl", ttl, Duration::ZERO, MAX_EXACT_SECONDS)?;
            if let Some(lifetime) = lifetime {
                if seconds >= lifetime {
                    return Err(Error::invalid(
                        "min_remaining_ttl",
                        format!("{seconds}s must be less than seconds_until_expiration ({lifetime}s)"),
                    ));
                }
            }
            body = body.min_remaining_ttl_seconds(Some(seconds));
        }
        match &self.claims {
            Some(Err(reason)) => {
                return Err(Error::invalid("claims", format!("cannot be serialized to JSON: {reason}")))
            }
            Some(Ok(Value::Null)) | None => {}
            Some(Ok(claims)) => body = body.claims(Some(claims.clone())),
        }
        if let Some(format) = self.token_format {
            body = body.token_format(Some(format.to_generated()));
        }
        Ok(body)
    }
}

/// createM2MToken needs a machine secret key; an instance key gets a 401 from Clerk.
pub(crate) fn require_machine_key(field: &'static str, kind: KeyKind) -> Result<()> {
    if kind == KeyKind::Instance {
        return Err(Error::invalid(
            field,
            "creating an M2M token needs a machine secret key (`ak_...`), not an instance key (`sk_...`)",
        ));
    }
    Ok(())
}

/// Filters and paging for [`M2m::list_tokens`] and [`M2m::list_all`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListM2mTokensParams {
    /// Include revoked tokens (`true`) or not (`false`; Clerk's default when unset).
    pub revoked: Option<bool>,
    /// Include expired tokens (`true`) or not (`false`; Clerk's default when unset).
    pub expired: Option<bool>,
    /// Page size, 1 to 100 (Clerk's default is 10).
    pub limit: Option<u32>,
    /// How many tokens to skip.
    pub offset: u64,
}

impl ListM2mTokensParams {
    /// No filter, Clerk's default page size.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether revoked tokens are included.
    pub fn revoked(mut self, revoked: bool) -> Self {
        self.revoked = Some(revoked);
        self
    }

    /// Whether expired tokens are included.
    pub fn expired(mut self, expired: bool) -> Self {
        self.expired = Some(expired);
        self
    }

    /// Sets the page size (1 to 100).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Skips the first `offset` tokens.
    pub fn offset(mut self, offset: u64) -> Self {
        self.offset = offset;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn total_count_must_be_a_count() {
        assert_eq!(total_count(3.0).unwrap(), 3);
        for bad in [-1.0, 1.5, f64::NAN, f64::INFINITY, 1e20] {
            assert!(matches!(total_count(bad), Err(Error::Decode { .. })), "{bad}");
        }
    }
}
