//! One JWT-format M2M token, checked the way Clerk's own verifier
//! (`verifyM2MJwt` in `@clerk/backend`) checks it, and stricter where that
//! one is lax (see the crate's conformance test, `tests/clerk_verifier.rs`).
//!
//! [`parse`] reads the header: `cat` must be absent or Clerk's M2M category,
//! `typ` absent or `JWT`, `alg` `RS256`. [`Jwt::verify`] then checks the
//! signature and only then reads the payload: `sub` must start with `mch_`,
//! `exp` must be a number not passed, `nbf` and `iat` (when present) numbers
//! not in the future, all with the leeway.

use super::keys::RsaKey;
use super::reason::{shown, VerifyError};
use super::VerifiedM2mToken;
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
/// The one signature algorithm Clerk uses for M2M JWTs.
const ALGORITHM: &str = "RS256";
/// Latest time accepted in a time claim (year 5138): later values are not
/// seconds since the epoch (Clerk's verifier lets them pass as invalid dates).
const MAX_SECONDS: f64 = 1e11;
/// Longest signature read (an 8192-bit RSA signature is 1,024 bytes).
const MAX_SIGNATURE: usize = 1024;

/// A token whose header passed, before its signature is checked. No
/// `Debug`: its fields are the whole bearer token.
pub(super) struct Jwt<'t> {
    signing_input: &'t str,
    payload: &'t str,
    signature: &'t str,
    kid: Option<String>,
}

/// Splits `token` and checks its header.
pub(super) fn parse(token: &str) -> Result<Jwt<'_>, VerifyError> {
    let (signing_input, signature) =
        token.rsplit_once('.').ok_or_else(|| VerifyError::malformed("not a JWT: no `.`"))?;
    let (header, payload) =
        signing_input.split_once('.').ok_or_else(|| VerifyError::malformed("a JWT has three parts"))?;
    if header.is_empty() || payload.is_empty() || signature.is_empty() || payload.contains('.') {
        return Err(VerifyError::malformed("a JWT has three non-empty parts"));
    }
    // Clerk's verifier takes a token as a JWT only when its three parts are
    // base64url text (`/^[a-zA-Z0-9\-_]+\.[a-zA-Z0-9\-_]+\.[a-zA-Z0-9\-_]+$/`).
    let base64url = |b: &u8| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_';
    if !token.bytes().filter(|b| *b != b'.').all(|b| base64url(&b)) {
        return Err(VerifyError::malformed("a JWT's parts are base64url"));
    }
    let bytes =
        URL_SAFE_NO_PAD.decode(header).map_err(|_| VerifyError::malformed("the header is not base64url"))?;
    let header: Header<'_> = serde_json::from_slice(&bytes)
        .map_err(|_| VerifyError::malformed("the header is not a JSON object of strings"))?;
    // The order of Clerk's checks: category, type, algorithm.
    if header.cat.is_some_and(|cat| cat.as_str() != Some(M2M_CATEGORY)) {
        return Err(VerifyError::WrongCategory);
    }
    if header.typ.is_some_and(|typ| typ.as_str() != Some("JWT")) {
        return Err(VerifyError::WrongType);
    }
    match header.alg.as_deref() {
        Some(ALGORITHM) => {}
        Some(other) => return Err(VerifyError::DisallowedAlgorithm { alg: shown(other) }),
        None => return Err(VerifyError::DisallowedAlgorithm { alg: String::new() }),
    }
    let kid = match header.kid {
        Some(Value::String(kid)) => Some(kid),
        _ => None,
    };
    Ok(Jwt { signing_input, payload, signature, kid })
}

impl Jwt<'_> {
    /// The `kid` of the header, when it is a string.
    pub(super) fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Checks the signature with `key`, then the claims at time `now`.
    pub(super) fn verify(
        &self,
        key: &RsaKey,
        now: SystemTime,
        leeway: Duration,
    ) -> Result<VerifiedM2mToken, VerifyError> {
        let mut signature = [0u8; MAX_SIGNATURE];
        let length = URL_SAFE_NO_PAD
            .decode_slice(self.signature, &mut signature)
            .map_err(|_| VerifyError::malformed("the signature is not base64url"))?;
        if !key.verifies(self.signing_input.as_bytes(), &signature[..length]) {
            return Err(VerifyError::BadSignature);
        }
        let payload = URL_SAFE_NO_PAD
            .decode(self.payload)
            .map_err(|_| VerifyError::malformed("the payload is not base64url"))?;
        let claims: Claims = serde_json::from_slice(&payload)
            .map_err(|_| VerifyError::malformed("the payload is not a JSON object"))?;
        claims.check(now, leeway)
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

impl Claims {
    fn check(self, now: SystemTime, leeway: Duration) -> Result<VerifiedM2mToken, VerifyError> {
        let subject = match self.sub {
            Some(Value::String(sub)) if sub.starts_with(MACHINE_ID_PREFIX) => sub,
            Some(Value::String(sub)) => return Err(VerifyError::WrongSubject { subject: shown(&sub) }),
            _ => return Err(VerifyError::WrongSubject { subject: String::new() }),
        };
        let now = seconds_since_epoch(now);
        let leeway = leeway.as_secs_f64();
        let exp = time_claim("exp", self.exp)?.ok_or_else(|| VerifyError::malformed("no `exp` claim"))?;
        if now >= exp + leeway {
            return Err(VerifyError::Expired);
        }
        if time_claim("nbf", self.nbf)?.is_some_and(|nbf| nbf > now + leeway) {
            return Err(VerifyError::NotYetValid);
        }
        let iat = time_claim("iat", self.iat)?;
        if iat.is_some_and(|iat| iat > now + leeway) {
            return Err(VerifyError::IssuedInFuture);
        }
        let token_id = match self.jti {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(jti)) => jti,
            Some(_) => return Err(VerifyError::malformed("`jti` is not a string")),
        };
        let scopes = scopes(self.scopes, self.aud)?;
        let claims = if self.custom.is_empty() { Value::Null } else { Value::Object(self.custom) };
        Ok(VerifiedM2mToken {
            machine_id: subject,
            token_id,
            scopes,
            claims,
            issued_at: iat.map(to_time),
            expires_at: Some(to_time(exp)),
            format: TokenFormat::Jwt,
        })
    }
}

/// The scopes as Clerk reads them: the `scopes` claim split on spaces when
/// it is a string, otherwise `aud` (a string or an array of strings). Empty
/// items are dropped (Clerk keeps them; they name no machine).
fn scopes(scopes: Option<Value>, aud: Option<Value>) -> Result<Vec<String>, VerifyError> {
    match scopes {
        Some(Value::String(scopes)) => {
            return Ok(scopes.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect())
        }
        None | Some(Value::Null) => {}
        Some(_) => return Err(VerifyError::malformed("`scopes` is not a string")),
    }
    match aud {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(one)) => Ok(vec![one]),
        Some(Value::Array(many)) => many
            .into_iter()
            .map(|item| match item {
                Value::String(scope) => Ok(scope),
                _ => Err(VerifyError::malformed("`aud` is not a list of strings")),
            })
            .collect(),
        Some(_) => Err(VerifyError::malformed("`aud` is not a string or a list of strings")),
    }
}

/// A NumericDate claim: absent is `None`; anything but a number within
/// ±[`MAX_SECONDS`] of the epoch is malformed (so that it converts to a time).
fn time_claim(name: &str, value: Option<Value>) -> Result<Option<f64>, VerifyError> {
    let Some(value) = value else { return Ok(None) };
    match value.as_f64() {
        Some(seconds) if seconds.is_finite() && seconds.abs() <= MAX_SECONDS => Ok(Some(seconds)),
        Some(_) => Err(VerifyError::malformed(format!("`{name}` is out of range"))),
        None => Err(VerifyError::malformed(format!("`{name}` is not a number"))),
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

    #[test]
    fn headers_are_checked_in_clerks_order() {
        let ok = json!({"alg": "RS256", "typ": "JWT", "cat": M2M_CATEGORY, "kid": "k1"});
        assert_eq!(parse(&token(ok)).map(|jwt| jwt.kid().map(str::to_owned)), Ok(Some("k1".to_owned())));
        assert!(parse(&token(json!({"alg": "RS256"}))).is_ok(), "typ, cat and kid may be absent");
        let cases = [
            (json!({"alg": "none", "cat": "cl_other"}), VerifyError::WrongCategory),
            (json!({"alg": "RS256", "cat": null}), VerifyError::WrongCategory),
            (json!({"alg": "none", "typ": "jwt"}), VerifyError::WrongType),
            (json!({"alg": "RS256", "typ": null}), VerifyError::WrongType),
            (json!({"alg": "HS256"}), VerifyError::DisallowedAlgorithm { alg: "HS256".into() }),
            (json!({"typ": "JWT"}), VerifyError::DisallowedAlgorithm { alg: String::new() }),
        ];
        for (header, expected) in cases {
            assert_eq!(parse(&token(header.clone())).err(), Some(expected), "{header}");
        }
        assert_eq!(parse(&token(json!({"alg": "RS256", "kid": 7}))).map(|jwt| jwt.kid().is_none()), Ok(true));
    }

    #[test]
    fn malformed_tokens_are_named_so() {
        let header = b64(&json!({"alg": "RS256"}));
        for bad in
            ["", "abc", "a.b", "a.b.c.d", ".b.c", "a..c", "a.b.", "!!.e30.AA", &format!("{header}.e30")]
        {
            assert!(matches!(parse(bad), Err(VerifyError::Malformed { .. })), "{bad:?}");
        }
        let array = URL_SAFE_NO_PAD.encode("[1]");
        assert!(matches!(parse(&format!("{array}.e30.AA")), Err(VerifyError::Malformed { .. })));
    }

    fn claims(payload: Value) -> Result<VerifiedM2mToken, VerifyError> {
        let claims: Claims = serde_json::from_value(payload).map_err(|_| VerifyError::malformed("json"))?;
        claims.check(UNIX_EPOCH + Duration::from_secs(1_000), Duration::from_secs(5))
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
    fn times_have_the_leeway_on_both_sides() {
        let at = |field: &str, value: Value| {
            let mut payload = json!({"sub": "mch_a", "exp": 2_000});
            payload[field] = value;
            claims(payload)
        };
        assert!(at("exp", json!(1_000 - 5 + 1)).is_ok());
        assert_eq!(at("exp", json!(1_000 - 5)).err(), Some(VerifyError::Expired));
        assert_eq!(at("exp", json!(-1)).err(), Some(VerifyError::Expired));
        assert!(at("nbf", json!(1_005)).is_ok());
        assert_eq!(at("nbf", json!(1_006)).err(), Some(VerifyError::NotYetValid));
        assert!(at("iat", json!(1_005)).is_ok());
        assert_eq!(at("iat", json!(1_006)).err(), Some(VerifyError::IssuedInFuture));
        for (field, value) in [
            ("exp", json!("2000")),
            ("exp", json!(null)),
            ("nbf", json!(null)),
            ("iat", json!(true)),
            ("exp", json!(1e13)),
            ("iat", json!(-1e20)),
            ("nbf", json!(-1e13)),
        ] {
            assert!(
                matches!(at(field, value.clone()), Err(VerifyError::Malformed { .. })),
                "{field}: {value}"
            );
        }
    }

    #[test]
    fn subjects_must_be_machines_and_types_must_fit() {
        for sub in [json!("user_1"), json!("MCH_1"), json!(null), json!(7)] {
            assert!(matches!(
                claims(json!({"sub": sub, "exp": 2_000})),
                Err(VerifyError::WrongSubject { .. })
            ));
        }
        assert!(matches!(claims(json!({"exp": 2_000})), Err(VerifyError::WrongSubject { .. })));
        for (field, value) in
            [("jti", json!(7)), ("scopes", json!(["mch_a"])), ("aud", json!([1])), ("aud", json!({}))]
        {
            let mut payload = json!({"sub": "mch_a", "exp": 2_000});
            payload[field] = value.clone();
            assert!(matches!(claims(payload), Err(VerifyError::Malformed { .. })), "{field}: {value}");
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
        let token = claims.check(UNIX_EPOCH + Duration::from_secs(1_000), Duration::ZERO).unwrap();
        assert_eq!(token.machine_id, "mch_a");
    }
}
