//! One JWT, M2M token or OAuth access token, checked the way Clerk's own
//! verifier (`verifyM2MJwt` and `verifyOAuthJwt` in `@clerk/backend`) checks
//! it, and stricter where that one is lax (see the crate's conformance test,
//! `tests/clerk_verifier.rs`).
//!
//! [`parse`] splits the token and decodes its header and payload (Clerk
//! routes a JWT by its payload's `sub` and its header's `typ` before any
//! signature check); [`Jwt::kind`] is that routing. The header checks of
//! the kind follow ([`Jwt::check_m2m_header`]: `cat` absent or Clerk's M2M
//! category, `typ` absent or `JWT`; OAuth: `typ` `at+jwt` or
//! `application/at+jwt`; both: `alg` `RS256`), then [`Jwt::verify_signature`],
//! and only then the claims of the kind ([`Jwt::into_m2m`], [`Jwt::into_oauth`]):
//! `exp` a number not passed, `nbf` and `iat` (when present) numbers not in
//! the future, all with the leeway.

use super::error::{shown, Reason};
use super::keys::RsaKey;
use super::verified::{VerifiedM2mToken, VerifiedOAuthToken};
use super::TokenKind;
use crate::ids::MACHINE_ID_PREFIX;
use crate::m2m::TokenFormat;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Clerk's JWT category for M2M tokens (the header's `cat`).
pub(super) const M2M_CATEGORY: &str = "cl_B7d4PD333AAA";
/// The header types of an OAuth access token (RFC 9068), as Clerk lists them.
pub(super) const OAUTH_TYPES: [&str; 2] = ["at+jwt", "application/at+jwt"];
/// The prefix of a user id, the subject of an OAuth access token.
const USER_ID_PREFIX: &str = "user_";
/// The one signature algorithm Clerk uses for its JWTs.
const ALGORITHM: &str = "RS256";
/// Latest time accepted in a time claim (year 5138): later values are not
/// seconds since the epoch (Clerk's verifier lets them pass as invalid dates).
const MAX_SECONDS: f64 = 1e11;
/// Longest signature read (an 8192-bit RSA signature is 1,024 bytes).
const MAX_SIGNATURE: usize = 1024;

/// A decoded token, before its signature is checked. No `Debug`: its
/// fields are the bearer token.
pub(super) struct Jwt<'t> {
    signing_input: &'t str,
    signature: &'t str,
    header: Header<'static>,
    claims: Claims,
}

/// Whether `token` has the form Clerk's verifier takes for a JWT: three
/// non-empty parts of base64url text
/// (`/^[a-zA-Z0-9\-_]+\.[a-zA-Z0-9\-_]+\.[a-zA-Z0-9\-_]+$/`).
pub(super) fn is_jwt_format(token: &str) -> bool {
    let mut parts = 0;
    for part in token.split('.') {
        parts += 1;
        if parts > 3
            || part.is_empty()
            || !part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return false;
        }
    }
    parts == 3
}

/// Splits `token` and decodes its header and payload.
pub(super) fn parse(token: &str) -> Result<Jwt<'_>, Reason> {
    if !is_jwt_format(token) {
        return Err(Reason::malformed("not a JWT: three parts of base64url text"));
    }
    parse_jwt_format(token)
}

/// [`parse`] for a token already known to pass [`is_jwt_format`].
pub(super) fn parse_jwt_format(token: &str) -> Result<Jwt<'_>, Reason> {
    let (signing_input, signature) =
        token.rsplit_once('.').ok_or_else(|| Reason::malformed("a JWT has three parts"))?;
    let (header, payload) =
        signing_input.split_once('.').ok_or_else(|| Reason::malformed("a JWT has three parts"))?;
    let header = decode_header(header)?;
    let payload =
        URL_SAFE_NO_PAD.decode(payload).map_err(|_| Reason::malformed("the payload is not base64url"))?;
    let claims: Claims = serde_json::from_slice(&payload)
        .map_err(|_| Reason::malformed("the payload is not a JSON object"))?;
    Ok(Jwt { signing_input, signature, header, claims })
}

fn decode_header(header: &str) -> Result<Header<'static>, Reason> {
    let bytes =
        URL_SAFE_NO_PAD.decode(header).map_err(|_| Reason::malformed("the header is not base64url"))?;
    let header: Header<'_> = serde_json::from_slice(&bytes)
        .map_err(|_| Reason::malformed("the header is not a JSON object of strings"))?;
    Ok(header.into_owned())
}

impl Jwt<'_> {
    /// The token's kind as Clerk routes it: `sub` starting with `mch_` is an
    /// M2M token (checked first), header `typ` `at+jwt` or
    /// `application/at+jwt` an OAuth access token; anything else is no
    /// machine token.
    pub(super) fn kind(&self) -> Option<TokenKind> {
        if matches!(&self.claims.sub, Some(Value::String(sub)) if sub.starts_with(MACHINE_ID_PREFIX)) {
            Some(TokenKind::M2m)
        } else if self
            .header
            .typ
            .as_ref()
            .and_then(Value::as_str)
            .is_some_and(|typ| OAUTH_TYPES.contains(&typ))
        {
            Some(TokenKind::OAuth)
        } else {
            None
        }
    }

    /// The `kid` of the header, when it is a string.
    pub(super) fn kid(&self) -> Option<&str> {
        match &self.header.kid {
            Some(Value::String(kid)) => Some(kid),
            _ => None,
        }
    }

    /// The header checks of an M2M token, in the order of Clerk's: category,
    /// type, algorithm.
    pub(super) fn check_m2m_header(&self) -> Result<(), Reason> {
        if self.header.cat.as_ref().is_some_and(|cat| cat.as_str() != Some(M2M_CATEGORY)) {
            return Err(Reason::WrongCategory);
        }
        if self.header.typ.as_ref().is_some_and(|typ| typ.as_str() != Some("JWT")) {
            return Err(Reason::WrongType);
        }
        self.check_algorithm()
    }

    /// The header checks of an OAuth access token: its type (which routed
    /// it here), then the algorithm (Clerk's verifier also takes RS384 and
    /// RS512; Clerk signs with RS256).
    pub(super) fn check_oauth_header(&self) -> Result<(), Reason> {
        if !self.header.typ.as_ref().and_then(Value::as_str).is_some_and(|typ| OAUTH_TYPES.contains(&typ)) {
            return Err(Reason::WrongType);
        }
        self.check_algorithm()
    }

    fn check_algorithm(&self) -> Result<(), Reason> {
        match self.header.alg.as_deref() {
            Some(ALGORITHM) => Ok(()),
            Some(other) => Err(Reason::DisallowedAlgorithm { alg: shown(other) }),
            None => Err(Reason::DisallowedAlgorithm { alg: String::new() }),
        }
    }

    /// Checks the signature with `key`.
    pub(super) fn verify_signature(&self, key: &RsaKey) -> Result<(), Reason> {
        let mut signature = [0u8; MAX_SIGNATURE];
        let length = URL_SAFE_NO_PAD
            .decode_slice(self.signature, &mut signature)
            .map_err(|_| Reason::malformed("the signature is not base64url"))?;
        if key.verifies(self.signing_input.as_bytes(), &signature[..length]) {
            Ok(())
        } else {
            Err(Reason::BadSignature)
        }
    }

    /// The claims of an M2M token at time `now` (after the signature).
    pub(super) fn into_m2m(self, now: SystemTime, leeway: Duration) -> Result<VerifiedM2mToken, Reason> {
        self.claims.into_m2m(now, leeway)
    }

    /// The claims of an OAuth access token at time `now` (after the
    /// signature); with `audiences`, `aud` must name one of them.
    pub(super) fn into_oauth(
        self,
        now: SystemTime,
        leeway: Duration,
        audiences: &[String],
    ) -> Result<VerifiedOAuthToken, Reason> {
        self.claims.into_oauth(now, leeway, audiences)
    }
}

/// The JOSE header fields Clerk's verifier reads. `typ`, `cat` and `kid` are
/// kept as JSON so that a `null` is told apart from an absent field.
#[derive(Deserialize)]
struct Header<'a> {
    #[serde(borrow, default)]
    alg: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "present")]
    typ: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    cat: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    kid: Option<Value>,
}

impl Header<'_> {
    fn into_owned(self) -> Header<'static> {
        Header {
            alg: self.alg.map(|alg| Cow::Owned(alg.into_owned())),
            typ: self.typ,
            cat: self.cat,
            kid: self.kid,
        }
    }
}

/// A header field that is present, `null` included (serde would read a
/// `null` as an absent `Option`).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// The payload: the claims the checks read, and the custom ones.
#[derive(Default)]
struct Claims {
    sub: Option<Value>,
    jti: Option<Value>,
    exp: Option<Value>,
    nbf: Option<Value>,
    iat: Option<Value>,
    scopes: Option<Value>,
    aud: Option<Value>,
    custom: Map<String, Value>,
}

/// The times of a token, checked.
struct Times {
    issued_at: Option<SystemTime>,
    expires_at: SystemTime,
}

impl Claims {
    /// `exp` present and not passed, `nbf` and `iat` not in the future, with
    /// the leeway on each side, in the order of Clerk's checks.
    fn check_times(&mut self, now: SystemTime, leeway: Duration) -> Result<Times, Reason> {
        let now = seconds_since_epoch(now);
        let leeway = leeway.as_secs_f64();
        let exp = time_claim("exp", self.exp.take())?.ok_or_else(|| Reason::malformed("no `exp` claim"))?;
        if now >= exp + leeway {
            return Err(Reason::Expired);
        }
        if time_claim("nbf", self.nbf.take())?.is_some_and(|nbf| nbf > now + leeway) {
            return Err(Reason::NotYetValid);
        }
        let iat = time_claim("iat", self.iat.take())?;
        if iat.is_some_and(|iat| iat > now + leeway) {
            return Err(Reason::IssuedInFuture);
        }
        Ok(Times { issued_at: iat.map(to_time), expires_at: to_time(exp) })
    }

    /// The `jti`: a string, or empty when absent.
    fn token_id(&mut self) -> Result<String, Reason> {
        match self.jti.take() {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(jti)) => Ok(jti),
            Some(_) => Err(Reason::malformed("`jti` is not a string")),
        }
    }

    fn into_m2m(mut self, now: SystemTime, leeway: Duration) -> Result<VerifiedM2mToken, Reason> {
        let machine_id = match self.sub.take() {
            Some(Value::String(sub)) if sub.starts_with(MACHINE_ID_PREFIX) => sub,
            _ => return Err(Reason::UnknownKind),
        };
        let times = self.check_times(now, leeway)?;
        let token_id = self.token_id()?;
        let scopes = m2m_scopes(self.scopes.take(), self.aud.take())?;
        let claims = if self.custom.is_empty() { Value::Null } else { Value::Object(self.custom) };
        Ok(VerifiedM2mToken {
            machine_id,
            token_id,
            scopes,
            claims,
            issued_at: times.issued_at,
            expires_at: Some(times.expires_at),
            format: TokenFormat::Jwt,
        })
    }

    fn into_oauth(
        mut self,
        now: SystemTime,
        leeway: Duration,
        audiences: &[String],
    ) -> Result<VerifiedOAuthToken, Reason> {
        let user_id = match self.sub.take() {
            Some(Value::String(sub)) if sub.starts_with(USER_ID_PREFIX) => sub,
            Some(Value::String(sub)) => return Err(Reason::SubjectNotAUser { subject: shown(&sub) }),
            _ => return Err(Reason::malformed("`sub` is not a string")),
        };
        let times = self.check_times(now, leeway)?;
        let aud = audience(self.aud.take())?;
        if !audiences.is_empty() && !aud.iter().any(|a| !a.is_empty() && audiences.contains(a)) {
            return Err(Reason::WrongAudience);
        }
        let token_id = self.token_id()?;
        let client_id = match self.custom.remove("client_id") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(id)) => id,
            Some(_) => return Err(Reason::malformed("`client_id` is not a string")),
        };
        // Clerk reads `scp` (a list) first, then `scope` (space-separated).
        let scopes = match (self.custom.remove("scp"), self.custom.remove("scope")) {
            (Some(Value::Array(list)), _) => strings(list, "`scp` is not a list of strings")?,
            (None | Some(Value::Null), None | Some(Value::Null)) => Vec::new(),
            (None | Some(Value::Null), Some(Value::String(scope))) => split_scopes(&scope),
            _ => return Err(Reason::malformed("`scp` is not a list or `scope` not a string")),
        };
        Ok(VerifiedOAuthToken {
            token_id,
            user_id,
            client_id,
            scopes,
            audience: aud,
            issued_at: times.issued_at,
            expires_at: Some(times.expires_at),
            format: TokenFormat::Jwt,
        })
    }
}

/// Space-separated scopes; empty items are dropped (Clerk keeps them; they name nothing).
fn split_scopes(scopes: &str) -> Vec<String> {
    scopes.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

fn strings(list: Vec<Value>, error: &'static str) -> Result<Vec<String>, Reason> {
    list.into_iter()
        .map(|item| match item {
            Value::String(text) => Ok(text),
            _ => Err(Reason::malformed(error)),
        })
        .collect()
}

/// `aud` as a list: absent is empty, a string one item, a list of strings itself.
fn audience(aud: Option<Value>) -> Result<Vec<String>, Reason> {
    match aud {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(one)) => Ok(vec![one]),
        Some(Value::Array(many)) => strings(many, "`aud` is not a list of strings"),
        Some(_) => Err(Reason::malformed("`aud` is not a string or a list of strings")),
    }
}

/// The scopes of an M2M token as Clerk reads them: the `scopes` claim split
/// on spaces when it is a string, otherwise `aud` (a string or an array of
/// strings).
fn m2m_scopes(scopes: Option<Value>, aud: Option<Value>) -> Result<Vec<String>, Reason> {
    match scopes {
        Some(Value::String(scopes)) => Ok(split_scopes(&scopes)),
        None | Some(Value::Null) => audience(aud),
        Some(_) => Err(Reason::malformed("`scopes` is not a string")),
    }
}

/// A NumericDate claim: absent is `None`; anything but a number within
/// ±[`MAX_SECONDS`] of the epoch is malformed (so that it converts to a time).
fn time_claim(name: &str, value: Option<Value>) -> Result<Option<f64>, Reason> {
    let Some(value) = value else { return Ok(None) };
    match value.as_f64() {
        Some(seconds) if seconds.is_finite() && seconds.abs() <= MAX_SECONDS => Ok(Some(seconds)),
        Some(_) => Err(Reason::malformed(format!("`{name}` is out of range"))),
        None => Err(Reason::malformed(format!("`{name}` is not a number"))),
    }
}

fn seconds_since_epoch(time: SystemTime) -> f64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => after.as_secs_f64(),
        Err(before) => -before.duration().as_secs_f64(),
    }
}

fn to_time(seconds: f64) -> SystemTime {
    if seconds >= 0.0 {
        UNIX_EPOCH + Duration::from_secs_f64(seconds)
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs_f64(-seconds)).unwrap_or(UNIX_EPOCH)
    }
}

impl<'de> Deserialize<'de> for Claims {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ClaimsVisitor)
    }
}

struct ClaimsVisitor;

impl<'de> Visitor<'de> for ClaimsVisitor {
    type Value = Claims;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object of claims")
    }

    /// One pass over the payload; a repeated claim keeps its last value, as
    /// `JSON.parse` does in Clerk's verifier.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Claims, A::Error> {
        let mut claims = Claims::default();
        while let Some(Key(key)) = map.next_key()? {
            let slot = match key.as_ref() {
                "sub" => &mut claims.sub,
                "jti" => &mut claims.jti,
                "exp" => &mut claims.exp,
                "nbf" => &mut claims.nbf,
                "iat" => &mut claims.iat,
                "scopes" => &mut claims.scopes,
                "aud" => &mut claims.aud,
                "iss" => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
                _ => {
                    claims.custom.insert(key.into_owned(), map.next_value()?);
                    continue;
                }
            };
            *slot = Some(map.next_value()?);
        }
        Ok(claims)
    }
}

/// A key of the payload, borrowed from the input when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a claim name")
            }
            fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(key)))
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(key.to_owned())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    fn token(header: Value) -> String {
        format!("{}.{}.AAAA", b64(&header), b64(&json!({"sub": "mch_1"})))
    }

    fn m2m_header(token: &str) -> Result<Option<String>, Reason> {
        let jwt = parse(token)?;
        jwt.check_m2m_header()?;
        Ok(jwt.kid().map(str::to_owned))
    }

    #[test]
    fn headers_are_checked_in_clerks_order() {
        let ok = json!({"alg": "RS256", "typ": "JWT", "cat": M2M_CATEGORY, "kid": "k1"});
        assert_eq!(m2m_header(&token(ok)), Ok(Some("k1".to_owned())));
        assert!(m2m_header(&token(json!({"alg": "RS256"}))).is_ok(), "typ, cat and kid may be absent");
        let cases = [
            (json!({"alg": "none", "cat": "cl_other"}), Reason::WrongCategory),
            (json!({"alg": "RS256", "cat": null}), Reason::WrongCategory),
            (json!({"alg": "none", "typ": "jwt"}), Reason::WrongType),
            (json!({"alg": "RS256", "typ": null}), Reason::WrongType),
            (json!({"alg": "HS256"}), Reason::DisallowedAlgorithm { alg: "HS256".into() }),
            (json!({"typ": "JWT"}), Reason::DisallowedAlgorithm { alg: String::new() }),
        ];
        for (header, expected) in cases {
            assert_eq!(m2m_header(&token(header.clone())).err(), Some(expected), "{header}");
        }
        assert_eq!(m2m_header(&token(json!({"alg": "RS256", "kid": 7}))), Ok(None));
    }

    #[test]
    fn jwts_are_routed_as_clerk_routes_them() {
        let jwt = |header: Value, payload: Value| format!("{}.{}.AAAA", b64(&header), b64(&payload));
        let kind = |token: String| parse(&token).ok().and_then(|jwt| jwt.kind());
        let m2m = json!({"sub": "mch_1"});
        let user = json!({"sub": "user_1"});
        assert_eq!(kind(jwt(json!({"typ": "JWT"}), m2m.clone())), Some(TokenKind::M2m));
        assert_eq!(kind(jwt(json!({"typ": "at+jwt"}), m2m)), Some(TokenKind::M2m), "sub decides first");
        assert_eq!(kind(jwt(json!({"typ": "at+jwt"}), user.clone())), Some(TokenKind::OAuth));
        assert_eq!(kind(jwt(json!({"typ": "application/at+jwt"}), user.clone())), Some(TokenKind::OAuth));
        assert_eq!(kind(jwt(json!({"typ": "AT+JWT"}), user.clone())), None);
        assert_eq!(kind(jwt(json!({"typ": "JWT"}), user.clone())), None);
        assert_eq!(kind(jwt(json!({}), user)), None);
        assert_eq!(kind(jwt(json!({}), json!({"sub": 7}))), None);
    }

    #[test]
    fn malformed_tokens_are_named_so() {
        let header = b64(&json!({"alg": "RS256"}));
        for bad in [
            "",
            "abc",
            "a.b",
            "a.b.c.d",
            ".b.c",
            "a..c",
            "a.b.",
            "!!.e30.AA",
            &format!("{header}.e30"),
            &format!("{header}.W10.AA"),
        ] {
            assert!(matches!(parse(bad), Err(Reason::Malformed { .. })), "{bad:?}");
        }
        let array = URL_SAFE_NO_PAD.encode("[1]");
        assert!(matches!(parse(&format!("{array}.e30.AA")), Err(Reason::Malformed { .. })));
    }

    fn claims(payload: Value) -> Result<VerifiedM2mToken, Reason> {
        let claims: Claims = serde_json::from_value(payload).map_err(|_| Reason::malformed("json"))?;
        claims.into_m2m(UNIX_EPOCH + Duration::from_secs(1_000), Duration::from_secs(5))
    }

    fn oauth(payload: Value, audiences: &[&str]) -> Result<VerifiedOAuthToken, Reason> {
        let claims: Claims = serde_json::from_value(payload).map_err(|_| Reason::malformed("json"))?;
        let audiences: Vec<String> = audiences.iter().map(|a| a.to_string()).collect();
        claims.into_oauth(UNIX_EPOCH + Duration::from_secs(1_000), Duration::from_secs(5), &audiences)
    }

    #[test]
    fn claims_are_read_as_clerk_reads_them() {
        let base = json!({"sub": "mch_a", "jti": "mt_1", "exp": 1_100, "iat": 900, "iss": "x",
                          "scopes": "mch_b  mch_c", "aud": ["mch_z"], "job": "export"});
        let token = claims(base.clone()).unwrap();
        assert_eq!(token.machine_id, "mch_a");
        assert_eq!(token.token_id, "mt_1");
        assert_eq!(token.scopes, ["mch_b", "mch_c"], "scopes wins over aud; empty items dropped");
        assert_eq!(token.claims, json!({"job": "export"}), "only the custom claims");
        assert_eq!(token.expires_at, Some(UNIX_EPOCH + Duration::from_secs(1_100)));
        assert_eq!(token.issued_at, Some(UNIX_EPOCH + Duration::from_secs(900)));

        let mut aud_only = base.clone();
        aud_only.as_object_mut().unwrap().remove("scopes");
        assert_eq!(claims(aud_only.clone()).unwrap().scopes, ["mch_z"]);
        aud_only["aud"] = json!("mch_one");
        assert_eq!(claims(aud_only).unwrap().scopes, ["mch_one"]);
        let minimal = claims(json!({"sub": "mch_a", "exp": 1_100})).unwrap();
        assert_eq!(
            (minimal.token_id.as_str(), minimal.claims.clone(), minimal.scopes.len()),
            ("", Value::Null, 0)
        );
    }

    #[test]
    fn oauth_claims_are_read_as_clerk_reads_them() {
        let base = json!({"sub": "user_a", "jti": "oat_1", "exp": 1_100, "iat": 900, "client_id": "client_1",
                          "scope": "read:foo  write:bar", "aud": "https://api.example.com", "azp": "x"});
        let token = oauth(base.clone(), &[]).unwrap();
        assert_eq!((token.user_id.as_str(), token.token_id.as_str()), ("user_a", "oat_1"));
        assert_eq!(token.client_id, "client_1");
        assert_eq!(token.scopes, ["read:foo", "write:bar"]);
        assert_eq!(token.audience, ["https://api.example.com"]);
        let mut scp = base.clone();
        scp["scp"] = json!(["a", "b"]);
        assert_eq!(oauth(scp, &[]).unwrap().scopes, ["a", "b"], "scp wins over scope");
        assert!(oauth(base.clone(), &["https://api.example.com", "other"]).is_ok());
        assert_eq!(oauth(base.clone(), &["other"]).err(), Some(Reason::WrongAudience));
        let mut no_aud = base.clone();
        no_aud.as_object_mut().unwrap().remove("aud");
        assert_eq!(oauth(no_aud.clone(), &["other"]).err(), Some(Reason::WrongAudience));
        assert!(oauth(no_aud, &[]).is_ok(), "aud is checked only when the verifier names audiences");
        let mut org = base.clone();
        org["sub"] = json!("org_a");
        assert_eq!(oauth(org, &[]).err(), Some(Reason::SubjectNotAUser { subject: "org_a".into() }));
        let mut expired = base;
        expired["exp"] = json!(990);
        assert_eq!(oauth(expired, &[]).err(), Some(Reason::Expired));
    }

    #[test]
    fn times_have_the_leeway_on_both_sides() {
        let at = |field: &str, value: Value| {
            let mut payload = json!({"sub": "mch_a", "exp": 2_000});
            payload[field] = value;
            claims(payload)
        };
        assert!(at("exp", json!(1_000 - 5 + 1)).is_ok());
        assert_eq!(at("exp", json!(1_000 - 5)).err(), Some(Reason::Expired));
        assert_eq!(at("exp", json!(-1)).err(), Some(Reason::Expired));
        assert!(at("nbf", json!(1_005)).is_ok());
        assert_eq!(at("nbf", json!(1_006)).err(), Some(Reason::NotYetValid));
        assert!(at("iat", json!(1_005)).is_ok());
        assert_eq!(at("iat", json!(1_006)).err(), Some(Reason::IssuedInFuture));
        for (field, value) in [
            ("exp", json!("2000")),
            ("exp", json!(null)),
            ("nbf", json!(null)),
            ("iat", json!(true)),
            ("exp", json!(1e13)),
            ("iat", json!(-1e20)),
            ("nbf", json!(-1e13)),
        ] {
            assert!(matches!(at(field, value.clone()), Err(Reason::Malformed { .. })), "{field}: {value}");
        }
    }

    #[test]
    fn claim_types_must_fit() {
        for (field, value) in
            [("jti", json!(7)), ("scopes", json!(["mch_a"])), ("aud", json!([1])), ("aud", json!({}))]
        {
            let mut payload = json!({"sub": "mch_a", "exp": 2_000});
            payload[field] = value.clone();
            assert!(matches!(claims(payload), Err(Reason::Malformed { .. })), "{field}: {value}");
        }
    }

    #[test]
    fn the_reserved_claims_are_exactly_the_ones_read() {
        // One list (`testing::M2M_RESERVED_CLAIMS`, which the fake uses too): a
        // payload of only those claims has no custom claim left.
        let mut payload = serde_json::Map::new();
        for name in crate::testing::M2M_RESERVED_CLAIMS {
            payload.insert((*name).to_owned(), json!(null));
        }
        let claims: Claims = serde_json::from_value(Value::Object(payload)).unwrap();
        assert!(claims.custom.is_empty(), "{:?}", claims.custom.keys().collect::<Vec<_>>());
        let claims: Claims = serde_json::from_value(json!({"tenant": 1})).unwrap();
        assert_eq!(claims.custom.len(), 1);
    }

    #[test]
    fn a_repeated_claim_keeps_its_last_value() {
        let payload = br#"{"sub":"user_1","sub":"mch_a","exp":1,"exp":2000}"#;
        let claims: Claims = serde_json::from_slice(payload).unwrap();
        let token = claims.into_m2m(UNIX_EPOCH + Duration::from_secs(1_000), Duration::ZERO).unwrap();
        assert_eq!(token.machine_id, "mch_a");
    }
}
