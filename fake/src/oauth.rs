//! OAuth access tokens: Clerk issues them in its OAuth flow, not through
//! the Backend API, so the fake issues them through a test hook
//! ([`FakeClerk::issue_oauth_access_token`](crate::FakeClerk::issue_oauth_access_token),
//! or the test-only route `POST /__fake/oauth_access_tokens`), and answers
//! `verifyOAuthAccessToken` for them as Clerk does.

use super::api_keys::typed;
use super::errors::{Failure, Outcome};
use super::ids::{random_alnum, random_hex};
use super::jwt::JwtSigner;
use clerk_machines::types;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

/// The `client_id` of tokens issued without one.
pub const DEFAULT_CLIENT_ID: &str = "client_fake_oauth_application";
/// The lifetime of tokens issued without one: one hour.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);
/// The header `typ` of the JWTs issued, as Clerk's (RFC 9068).
pub const OAUTH_JWT_TYP: &str = "at+jwt";

/// What token to issue; see [`FakeClerk::issue_oauth_access_token`](crate::FakeClerk::issue_oauth_access_token).
///
/// ```
/// use clerk_machines_fake::OAuthTokenOptions;
/// use std::time::Duration;
///
/// let options = OAuthTokenOptions::new("user_2xhFjEI5X2qWRvtV13BzSj8H6Dk")
///     .client_id("client_2VTWUzvGC5UhdJCNx6xG1D98edc")
///     .scope("read:foo")
///     .lifetime(Duration::from_secs(600))
///     .jwt();
/// assert_eq!(options.jwt_typ.as_deref(), Some("at+jwt"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OAuthTokenOptions {
    /// The user who granted the token (`user_...`).
    pub subject: String,
    /// The OAuth application it is issued to.
    #[serde(default = "default_client_id")]
    pub client_id: String,
    /// The scopes granted.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// How long it is valid, in whole seconds.
    #[serde(default = "default_lifetime", with = "seconds")]
    pub lifetime: Duration,
    /// `None`: an opaque token (`oat_...`); `Some(typ)`: a JWT with this header `typ`.
    #[serde(default)]
    pub jwt_typ: Option<String>,
}

fn default_client_id() -> String {
    DEFAULT_CLIENT_ID.to_owned()
}

fn default_lifetime() -> Duration {
    DEFAULT_LIFETIME
}

/// A `Duration` as whole seconds (`lifetime` in the test route's JSON).
mod seconds {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub(super) fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(value.as_secs())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_secs)
    }
}

impl OAuthTokenOptions {
    /// An opaque token for `subject`, issued to [`DEFAULT_CLIENT_ID`], no
    /// scope, valid for [`DEFAULT_LIFETIME`].
    pub fn new(subject: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            client_id: default_client_id(),
            scopes: Vec::new(),
            lifetime: DEFAULT_LIFETIME,
            jwt_typ: None,
        }
    }

    /// The OAuth application the token is issued to.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = client_id.into();
        self
    }

    /// Adds a granted scope.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scopes.push(scope.into());
        self
    }

    /// How long the token is valid (whole seconds; a fraction is dropped).
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// A JWT (header `typ` `at+jwt`) signed by the fake's key set instead of an opaque token.
    pub fn jwt(self) -> Self {
        self.jwt_with_typ(OAUTH_JWT_TYP)
    }

    /// A JWT with this header `typ` (Clerk's SDK also accepts `application/at+jwt`).
    pub fn jwt_with_typ(mut self, typ: impl Into<String>) -> Self {
        self.jwt_typ = Some(typ.into());
        self
    }
}

/// A token the fake issued.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct IssuedOAuthToken {
    /// The token's id (`oat_` + 32 hex digits; the `jti` of a JWT).
    pub id: String,
    /// The token to send as `Authorization: Bearer ...`.
    pub token: clerk_machines::SecretString,
    /// When it expires, in milliseconds since the epoch.
    pub expiration: i64,
}

/// A stored token.
#[derive(Debug, Clone)]
struct TokenRec {
    id: String,
    jwt: bool,
    client_id: String,
    subject: String,
    scopes: Vec<String>,
    revoked: bool,
    revocation_reason: Option<String>,
    expiration: i64,
    created_at: i64,
    updated_at: i64,
}

/// The OAuth access tokens issued so far.
#[derive(Debug, Default)]
pub(crate) struct OAuthStore {
    tokens: HashMap<String, TokenRec>,
    /// Token (opaque or JWT) -> id.
    by_token: HashMap<String, String>,
}

impl OAuthStore {
    /// Issues a token; a JWT is signed with `signer` and names `issuer` as `iss`.
    pub(crate) fn issue(
        &mut self,
        options: &OAuthTokenOptions,
        now: i64,
        signer: Option<&JwtSigner>,
        issuer: &str,
    ) -> Outcome<IssuedOAuthToken> {
        if !clerk_machines::ids::is_user_id(&options.subject) {
            return Err(Failure::bad_request(
                "subject",
                "An OAuth access token's subject is a user id (user_...).",
            ));
        }
        let id = format!("oat_{}", random_hex(32));
        let lifetime_ms = i64::try_from(options.lifetime.as_secs()).unwrap_or(i64::MAX).saturating_mul(1000);
        // A JWT carries whole seconds.
        let now = now.div_euclid(1000) * 1000;
        let expiration = now.saturating_add(lifetime_ms);
        let token = match (&options.jwt_typ, signer) {
            (None, _) => format!("oat_{}", random_alnum(32)),
            (Some(typ), Some(signer)) => {
                let header = json!({"alg": "RS256", "typ": typ, "kid": signer.kid()});
                signer.sign(&header, &claims(&id, options, now, expiration, issuer))
            }
            (Some(_), None) => return Err(Failure::internal("a JWT needs the fake's signing key")),
        };
        let rec = TokenRec {
            id: id.clone(),
            jwt: options.jwt_typ.is_some(),
            client_id: options.client_id.clone(),
            subject: options.subject.clone(),
            scopes: options.scopes.clone(),
            revoked: false,
            revocation_reason: None,
            expiration,
            created_at: now,
            updated_at: now,
        };
        self.by_token.insert(token.clone(), id.clone());
        self.tokens.insert(id.clone(), rec);
        Ok(IssuedOAuthToken { id, token: token.into(), expiration })
    }

    /// Revokes a token (as its user or application would in Clerk); `false` when unknown.
    pub(crate) fn revoke(&mut self, id: &str, reason: Option<String>, now: i64) -> bool {
        match self.tokens.get_mut(id) {
            Some(rec) => {
                if !rec.revoked {
                    rec.revoked = true;
                    rec.revocation_reason = reason;
                    rec.updated_at = now;
                }
                true
            }
            None => false,
        }
    }

    /// verifyOAuthAccessToken: the record of a valid token; `{"active":
    /// false}` for a JWT that is expired or revoked (the spec's answer for
    /// an inactive JWT); Clerk's 404 for an unknown token and for a revoked
    /// or expired opaque one (what `@clerk/backend` reads as invalid).
    pub(crate) fn verify(&self, token: &str, now: i64) -> Outcome<types::VerifyOAuthAccessTokenResponse> {
        let rec = self
            .by_token
            .get(token)
            .and_then(|id| self.tokens.get(id))
            .ok_or_else(|| Failure::not_found("OAuth access token"))?;
        let expired = now >= rec.expiration;
        if rec.jwt && (expired || rec.revoked) {
            return typed(json!({"active": false}));
        }
        if rec.revoked {
            return Err(Failure::not_found_because("OAuth access token", "it has been revoked"));
        }
        if expired {
            return Err(Failure::not_found_because("OAuth access token", "it has expired"));
        }
        typed(json!({
            "object": "clerk_idp_oauth_access_token",
            "id": rec.id,
            "client_id": rec.client_id,
            "subject": rec.subject,
            "scopes": rec.scopes,
            "revoked": false,
            "revocation_reason": null,
            "expired": false,
            "expiration": rec.expiration as f64,
            "created_at": rec.created_at as f64,
            "updated_at": rec.updated_at as f64,
        }))
    }
}

/// The claims of an OAuth access token JWT, those `@clerk/backend` reads
/// (`IdPOAuthAccessToken.fromJwtPayload`: `jti`, `client_id`, `sub`,
/// `scope`, `exp`, `iat`) and the registered ones its fixtures carry.
fn claims(id: &str, options: &OAuthTokenOptions, now: i64, expiration: i64, issuer: &str) -> Value {
    let iat = now.div_euclid(1000);
    json!({
        "iss": issuer,
        "sub": options.subject,
        "client_id": options.client_id,
        "scope": options.scopes.join(" "),
        "jti": id,
        "iat": iat,
        "nbf": iat,
        "exp": expiration.div_euclid(1000),
    })
}
