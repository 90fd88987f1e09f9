//! [`M2mVerifier`]: the called side's check of incoming M2M tokens.

mod error;
mod jwks;

pub use error::VerifyError;

use super::{millis_to_time, TokenFormat, RESERVED_CLAIMS};
use crate::client::{Clerk, KeyKind};
use crate::clock::{Clock, SystemClock};
use crate::defaults;
use crate::error::{Error, Result};
use crate::ids::is_machine_id;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use error::{rejected_malformed, shown};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use jwks::JwksCache;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The one signature algorithm Clerk uses for M2M JWTs.
const ALGORITHM: &str = "RS256";

/// A token that passed verification.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct VerifiedM2mToken {
    /// The machine that holds the token (`sub`, or the opaque token's subject).
    pub machine_id: String,
    /// The token's id (`jti`, or the opaque token's `id`), `mt_...`.
    pub token_id: String,
    /// The machines the token is scoped to (`aud` and `scopes`).
    pub scopes: Vec<String>,
    /// When the token expires; `None` for an opaque token without expiry.
    pub expires_at: Option<SystemTime>,
    /// Custom claims: for a JWT every claim but the registered ones, for an
    /// opaque token the `claims` Clerk stored (`Null` when none).
    pub claims: Value,
    /// How the token was verified: locally (JWT) or by Clerk (opaque).
    pub format: TokenFormat,
}

impl VerifiedM2mToken {
    /// `true` when the token is scoped to `machine_id`.
    pub fn is_scoped_to(&self, machine_id: &str) -> bool {
        self.scopes.iter().any(|scope| scope == machine_id)
    }
}

/// The token of an `Authorization: Bearer <token>` header value (the scheme
/// is matched without regard to case), or `None` for another scheme.
///
/// ```
/// assert_eq!(clerk_machines::m2m::bearer_token("Bearer mt_123"), Some("mt_123"));
/// assert_eq!(clerk_machines::m2m::bearer_token("Basic dXNlcg=="), None);
/// ```
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Verifies incoming M2M tokens on the called side.
///
/// - **JWT-format tokens** are verified locally: the RS256 signature against
///   the instance's JWKS (fetched from Clerk with the instance key, cached,
///   refetched when a token names an unknown key, at most once per
///   [`jwks_refetch_interval`](M2mVerifierBuilder::jwks_refetch_interval)) or
///   against a PEM public key given offline; then `exp`/`nbf` with a small
///   [`leeway`](M2mVerifierBuilder::leeway), a machine id as `sub`, and
///   optionally the scope. Any algorithm but RS256 is refused, `none` and
///   HS256 included.
/// - **Opaque tokens** (`mt_...`) cannot be checked locally: they are sent to
///   Clerk's verify endpoint (one request per verification).
///
/// [`verify`](Self::verify) dispatches by format. Cheap to clone (clones
/// share the key cache).
///
/// ```no_run
/// # async fn demo() -> Result<(), clerk_machines::Error> {
/// use clerk_machines::m2m::M2mVerifier;
/// use clerk_machines::Clerk;
///
/// let clerk = Clerk::from_env()?; // the instance key, sk_...
/// let verifier = M2mVerifier::builder(&clerk).scoped_to("mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk").build()?;
/// let verified = verifier.verify("eyJhbGciOiJSUzI1NiIs...").await?;
/// println!("called by {}", verified.machine_id);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct M2mVerifier {
    inner: Arc<Inner>,
}

struct Inner {
    keys: Keys,
    clerk: Option<Clerk>,
    leeway: Duration,
    scoped_to: Option<String>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("M2mVerifier")
            .field("keys", &self.keys)
            .field("opaque_via", &self.clerk.as_ref().map(Clerk::base_url))
            .field("leeway", &self.leeway)
            .field("scoped_to", &self.scoped_to)
            .finish_non_exhaustive()
    }
}

enum Keys {
    Jwks(JwksCache),
    Pem(DecodingKey),
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Keys::Jwks(cache) => cache.fmt(f),
            Keys::Pem(_) => f.write_str("Pem"),
        }
    }
}

impl M2mVerifier {
    /// A verifier that reads the instance's keys from Clerk (`GET /jwks`,
    /// authenticated with `clerk`'s key, which must be the instance key
    /// `sk_...`) and sends opaque tokens to Clerk.
    pub fn builder(clerk: &Clerk) -> M2mVerifierBuilder {
        M2mVerifierBuilder::new(KeySource::Jwks(clerk.clone()))
    }

    /// A verifier that checks JWTs against this RSA public key (PEM, as shown
    /// in Clerk's dashboard), without any request. Opaque tokens are refused
    /// unless a client is given with [`M2mVerifierBuilder::opaque_via`].
    pub fn from_pem(public_key_pem: impl AsRef<[u8]>) -> M2mVerifierBuilder {
        M2mVerifierBuilder::new(KeySource::Pem(public_key_pem.as_ref().to_vec()))
    }

    /// Verifies `token`, whatever its format: a JWT locally
    /// ([`verify_jwt`](Self::verify_jwt)), an opaque `mt_...` token through Clerk.
    ///
    /// A rejected token gives [`Error::Verify`]; Clerk's own refusals of an
    /// opaque token (404 for an unknown token, ...) come as [`Error::Api`].
    pub async fn verify(&self, token: &str) -> Result<VerifiedM2mToken> {
        let token = token.trim();
        if token.starts_with("mt_") {
            self.verify_opaque(token).await
        } else {
            self.verify_jwt(token).await
        }
    }

    /// Verifies a JWT-format token locally. A request is made only to fetch
    /// the JWKS: the first time, and when the token names a key not cached.
    pub async fn verify_jwt(&self, token: &str) -> Result<VerifiedM2mToken> {
        let inner = &self.inner;
        let header = read_header(token)?;
        if header.alg != ALGORITHM {
            return Err(Error::Verify(VerifyError::DisallowedAlgorithm { alg: shown(&header.alg) }));
        }
        check_payload_and_signature(token)?;
        let key = match &inner.keys {
            Keys::Pem(key) => key.clone(),
            Keys::Jwks(cache) => {
                let kid = header.kid.ok_or_else(|| rejected_malformed("the header names no key (`kid`)"))?;
                cache.key(&kid).await?
            }
        };
        let mut validation = Validation::new(Algorithm::RS256);
        // Time and audience are checked below, with the injected clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        validation.leeway = 0;
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
            .map_err(|e| Error::Verify(from_jwt_error(e.kind())))?
            .claims;
        self.check_claims(claims)
    }

    /// Fetches the instance's JWKS now (for example at start-up, so that the
    /// first request does not wait for it); returns how many RSA signing keys
    /// it holds. Does nothing for a PEM verifier.
    pub async fn refresh_keys(&self) -> Result<usize> {
        match &self.inner.keys {
            Keys::Jwks(cache) => cache.refresh().await,
            Keys::Pem(_) => Ok(1),
        }
    }

    fn check_claims(&self, mut claims: Map<String, Value>) -> Result<VerifiedM2mToken> {
        let inner = &self.inner;
        let now = inner.clock.now();
        let exp = time_claim(&claims, "exp")?.ok_or_else(|| rejected_malformed("no `exp` claim"))?;
        if now > exp + inner.leeway {
            return Err(Error::Verify(VerifyError::Expired));
        }
        if let Some(nbf) = time_claim(&claims, "nbf")? {
            if nbf > now + inner.leeway {
                return Err(Error::Verify(VerifyError::NotYetValid));
            }
        }
        let subject = claims.get("sub").and_then(Value::as_str).unwrap_or_default();
        if !is_machine_id(subject) {
            return Err(Error::Verify(VerifyError::WrongSubject { subject: shown(subject) }));
        }
        let machine_id = subject.to_owned();
        let token_id = claims
            .get("jti")
            .and_then(Value::as_str)
            .ok_or_else(|| rejected_malformed("no `jti` claim"))?
            .to_owned();
        let mut scopes = Vec::new();
        for name in ["aud", "scopes"] {
            match claims.get(name) {
                None | Some(Value::Null) => {}
                Some(Value::String(one)) => scopes.extend(one.split_whitespace().map(str::to_owned)),
                Some(Value::Array(many)) => {
                    for scope in many {
                        let scope = scope
                            .as_str()
                            .ok_or_else(|| rejected_malformed(format!("`{name}` is not strings")))?;
                        scopes.push(scope.to_owned());
                    }
                }
                Some(_) => {
                    return Err(Error::Verify(VerifyError::malformed(format!("`{name}` is not strings"))))
                }
            }
        }
        scopes.sort();
        scopes.dedup();
        claims.retain(|name, _| !RESERVED_CLAIMS.contains(&name.as_str()));
        let verified = VerifiedM2mToken {
            machine_id,
            token_id,
            scopes,
            expires_at: Some(exp),
            claims: Value::Object(claims),
            format: TokenFormat::Jwt,
        };
        self.check_scope(verified)
    }

    fn check_scope(&self, verified: VerifiedM2mToken) -> Result<VerifiedM2mToken> {
        match &self.inner.scoped_to {
            Some(machine_id) if !verified.is_scoped_to(machine_id) => {
                Err(Error::Verify(VerifyError::NotScoped { machine_id: machine_id.clone() }))
            }
            _ => Ok(verified),
        }
    }

    async fn verify_opaque(&self, token: &str) -> Result<VerifiedM2mToken> {
        let clerk = self.inner.clerk.as_ref().ok_or_else(|| {
            Error::invalid("token", "opaque M2M tokens are verified by Clerk; give the verifier a client")
        })?;
        let response = clerk.m2m().verify_token(token).await?;
        if response.revoked {
            return Err(Error::Verify(VerifyError::Revoked));
        }
        let expires_at = response.expiration.and_then(millis_to_time);
        if response.expired || expires_at.is_some_and(|at| self.inner.clock.now() > at + self.inner.leeway) {
            return Err(Error::Verify(VerifyError::Expired));
        }
        let verified = VerifiedM2mToken {
            machine_id: response.subject.to_string(),
            token_id: response.id.to_string(),
            scopes: response.scopes.iter().map(|s| s.to_string()).collect(),
            expires_at,
            claims: response.claims.unwrap_or(Value::Null),
            format: TokenFormat::Opaque,
        };
        self.check_scope(verified)
    }
}

/// The JOSE header, read by hand so that `alg` values jsonwebtoken does not
/// know (`none`) are reported as such rather than as a decoding failure.
struct Header {
    alg: String,
    kid: Option<String>,
}

fn read_header(token: &str) -> Result<Header> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(Error::Verify(VerifyError::malformed(format!(
            "a JWT has 3 parts, this has {}",
            parts.len()
        ))));
    }
    let bytes =
        URL_SAFE_NO_PAD.decode(parts[0]).map_err(|_| rejected_malformed("the header is not base64url"))?;
    let header: Map<String, Value> =
        serde_json::from_slice(&bytes).map_err(|_| rejected_malformed("the header is not a JSON object"))?;
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or_else(|| rejected_malformed("the header has no `alg`"))?
        .to_owned();
    let kid = header.get("kid").and_then(Value::as_str).map(str::to_owned);
    Ok(Header { alg, kid })
}

/// The payload must be a base64url JSON object and the signature base64url,
/// so that garbage is reported as malformed rather than as a bad signature.
fn check_payload_and_signature(token: &str) -> Result<()> {
    let mut parts = token.split('.').skip(1);
    let (Some(payload), Some(signature)) = (parts.next(), parts.next()) else {
        return Err(rejected_malformed("a JWT has 3 parts"));
    };
    let payload =
        URL_SAFE_NO_PAD.decode(payload).map_err(|_| rejected_malformed("the payload is not base64url"))?;
    serde_json::from_slice::<Map<String, Value>>(&payload)
        .map_err(|_| rejected_malformed("the payload is not a JSON object"))?;
    match URL_SAFE_NO_PAD.decode(signature) {
        Ok(bytes) if !bytes.is_empty() => Ok(()),
        _ => Err(rejected_malformed("the signature is missing or not base64url")),
    }
}

/// A timestamp in seconds since the epoch (JWT `exp`/`nbf`) as a time.
fn seconds_to_time(seconds: f64) -> Option<SystemTime> {
    if !seconds.is_finite() || !(0.0..=1e14).contains(&seconds) {
        return None;
    }
    std::time::UNIX_EPOCH.checked_add(Duration::from_secs_f64(seconds))
}

/// A NumericDate claim (seconds since the epoch) as a time.
fn time_claim(claims: &Map<String, Value>, name: &str) -> Result<Option<SystemTime>> {
    match claims.get(name) {
        None => Ok(None),
        Some(value) => value
            .as_f64()
            .and_then(seconds_to_time)
            .map(Some)
            .ok_or_else(|| Error::Verify(VerifyError::malformed(format!("`{name}` is not a time")))),
    }
}

fn from_jwt_error(kind: &ErrorKind) -> VerifyError {
    match kind {
        ErrorKind::InvalidSignature | ErrorKind::InvalidRsaKey(_) => VerifyError::BadSignature,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName | ErrorKind::MissingAlgorithm => {
            VerifyError::DisallowedAlgorithm { alg: "unsupported".into() }
        }
        ErrorKind::ExpiredSignature => VerifyError::Expired,
        ErrorKind::ImmatureSignature => VerifyError::NotYetValid,
        ErrorKind::Base64(_) => VerifyError::malformed("a part is not base64url"),
        ErrorKind::Json(_) => VerifyError::malformed("a part is not the expected JSON"),
        ErrorKind::Utf8(_) => VerifyError::malformed("a part is not UTF-8"),
        _ => VerifyError::malformed("not a valid JWT"),
    }
}

enum KeySource {
    Jwks(Clerk),
    Pem(Vec<u8>),
}

/// Options of an [`M2mVerifier`]; finish with [`build`](Self::build).
#[must_use = "call `build()` to get the verifier"]
pub struct M2mVerifierBuilder {
    source: KeySource,
    opaque_via: Option<Clerk>,
    leeway: Duration,
    refetch_interval: Duration,
    scoped_to: Option<String>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for M2mVerifierBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("M2mVerifierBuilder")
            .field("jwks", &matches!(self.source, KeySource::Jwks(_)))
            .field("leeway", &self.leeway)
            .field("jwks_refetch_interval", &self.refetch_interval)
            .field("scoped_to", &self.scoped_to)
            .finish_non_exhaustive()
    }
}

impl M2mVerifierBuilder {
    fn new(source: KeySource) -> Self {
        Self {
            source,
            opaque_via: None,
            leeway: defaults::LEEWAY,
            refetch_interval: defaults::JWKS_REFETCH_INTERVAL,
            scoped_to: None,
            clock: Arc::new(SystemClock),
        }
    }

    /// Clock skew allowed on `exp` and `nbf` (default [`defaults::LEEWAY`]).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Shortest time between two JWKS fetches caused by unknown key ids
    /// (default [`defaults::JWKS_REFETCH_INTERVAL`]): a flood of tokens naming
    /// made-up keys costs at most one request per interval. A failed fetch
    /// counts too (its error is returned to the verification that caused it),
    /// so that an outage at Clerk is not made worse; call
    /// [`M2mVerifier::refresh_keys`] to fetch regardless of the interval.
    pub fn jwks_refetch_interval(mut self, interval: Duration) -> Self {
        self.refetch_interval = interval;
        self
    }

    /// Accept only tokens scoped to this machine (usually the verifying
    /// service's own machine id): its id must be in the token's `aud`/`scopes`.
    pub fn scoped_to(mut self, machine_id: impl Into<String>) -> Self {
        self.scoped_to = Some(machine_id.into());
        self
    }

    /// The client that verifies opaque tokens through Clerk. A verifier built
    /// with [`M2mVerifier::builder`] already uses its client.
    pub fn opaque_via(mut self, clerk: &Clerk) -> Self {
        self.opaque_via = Some(clerk.clone());
        self
    }

    /// The clock `exp`, `nbf` and the refetch interval are checked against (default [`SystemClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Builds the verifier. Nothing is fetched yet (see [`M2mVerifier::refresh_keys`]).
    ///
    /// Fails with [`Error::InvalidInput`] when the PEM is not an RSA public
    /// key, the JWKS client holds a machine key (`ak_...`: Clerk serves the
    /// JWKS to the instance key), or `scoped_to` is not a machine id.
    pub fn build(self) -> Result<M2mVerifier> {
        if let Some(machine_id) = &self.scoped_to {
            if !is_machine_id(machine_id) {
                return Err(Error::invalid(
                    "scoped_to",
                    "must be a machine id: `mch_` followed by 27 word characters",
                ));
            }
        }
        let (keys, clerk) = match self.source {
            KeySource::Jwks(clerk) => {
                if clerk.key_kind() == KeyKind::Machine {
                    return Err(Error::invalid(
                        "secret_key",
                        "the JWKS is read with the instance key (`sk_...`), not a machine key",
                    ));
                }
                let cache = JwksCache::new(clerk.clone(), self.refetch_interval, self.clock.clone());
                (Keys::Jwks(cache), Some(self.opaque_via.unwrap_or(clerk)))
            }
            KeySource::Pem(pem) => {
                let key = DecodingKey::from_rsa_pem(&pem).map_err(|e| {
                    Error::invalid("public_key_pem", format!("is not an RSA public key: {e}"))
                })?;
                (Keys::Pem(key), self.opaque_via)
            }
        };
        Ok(M2mVerifier {
            inner: Arc::new(Inner {
                keys,
                clerk,
                leeway: self.leeway,
                scoped_to: self.scoped_to,
                clock: self.clock,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_is_read_without_trusting_it() {
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"k1"}"#);
        let read = read_header(&format!("{header}.e30.")).unwrap();
        assert_eq!((read.alg.as_str(), read.kid.as_deref()), ("none", Some("k1")));
        let array = URL_SAFE_NO_PAD.encode("[1]");
        for bad in ["", "a.b", "a.b.c.d", "=.e30.x", &format!("{array}.e30.x")] {
            assert!(matches!(read_header(bad), Err(Error::Verify(VerifyError::Malformed { .. }))), "{bad}");
        }
    }
}
