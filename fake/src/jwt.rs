//! Clerk-shaped M2M JWTs: an RS256 signing key, the JWKS that publishes it,
//! and tokens minted the way Clerk mints them.
//!
//! The fake signs its JWT-format tokens with a [`JwtSigner`]; tests of a
//! called service can use one directly to mint tokens of any shape (expired,
//! wrong category, another key, ...) without a server:
//!
//! ```
//! use clerk_machines_fake::{JwtSigner, M2mClaims};
//!
//! let signer = JwtSigner::next_bundled().expect("an RSA key");
//! let claims = M2mClaims::new("mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk", "mt_0123456789abcdef0123456789abcdef", 1_700_000_000, 1_700_003_600)
//!     .scope("mch_2yGkLpQ7Y3rXSwtU24CzTk9I7Em")
//!     .claim("job", "export");
//! let token = signer.mint(&claims);
//! assert_eq!(token.split('.').count(), 3);
//! assert!(signer.public_key_pem().starts_with("-----BEGIN PUBLIC KEY-----"));
//! ```

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use clerk_machines::testing::M2M_RESERVED_CLAIMS as RESERVED_CLAIMS;
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RsaPublicKeyComponents, RSA_PKCS1_SHA256};
use serde_json::{json, Map, Value};
use spki::der::asn1::{AnyRef, BitStringRef};
use spki::der::Encode as _;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Clerk's JWT category for M2M tokens, the header's `cat`.
pub const M2M_CATEGORY: &str = "cl_B7d4PD333AAA";

/// An RSA-2048 key that signs M2M JWTs (RS256), with its key id.
pub struct JwtSigner {
    key_pair: RsaKeyPair,
    kid: String,
    public_key_pem: String,
    n: String,
    e: String,
}

impl std::fmt::Debug for JwtSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtSigner").field("kid", &self.kid).finish_non_exhaustive()
    }
}

/// How many RSA-2048 test keys the fake bundles ([`JwtSigner::bundled`]).
pub const BUNDLED_KEYS: usize = 16;

/// The bundled keys, PKCS #8 DER made with `openssl genpkey -algorithm RSA
/// -pkeyopt rsa_keygen_bits:2048` and `openssl pkcs8 -topk8 -nocrypt`. They are bundled because ring, the fake's
/// cryptography, cannot generate RSA keys, and generating them in Rust takes
/// seconds in a debug build. They are public: they sign tokens for tests and
/// must never sign anything else.
const BUNDLED: [&[u8]; BUNDLED_KEYS] = [
    include_bytes!("../keys/rsa2048-00.pk8"),
    include_bytes!("../keys/rsa2048-01.pk8"),
    include_bytes!("../keys/rsa2048-02.pk8"),
    include_bytes!("../keys/rsa2048-03.pk8"),
    include_bytes!("../keys/rsa2048-04.pk8"),
    include_bytes!("../keys/rsa2048-05.pk8"),
    include_bytes!("../keys/rsa2048-06.pk8"),
    include_bytes!("../keys/rsa2048-07.pk8"),
    include_bytes!("../keys/rsa2048-08.pk8"),
    include_bytes!("../keys/rsa2048-09.pk8"),
    include_bytes!("../keys/rsa2048-10.pk8"),
    include_bytes!("../keys/rsa2048-11.pk8"),
    include_bytes!("../keys/rsa2048-12.pk8"),
    include_bytes!("../keys/rsa2048-13.pk8"),
    include_bytes!("../keys/rsa2048-14.pk8"),
    include_bytes!("../keys/rsa2048-15.pk8"),
];

/// The bundled key [`JwtSigner::next_bundled`] hands out next.
static NEXT_BUNDLED: AtomicUsize = AtomicUsize::new(0);

/// The algorithm of RSA keys in a SubjectPublicKeyInfo (RFC 8017, A.1).
/// Evaluated at compile time: the text is a valid object identifier.
const RSA_ENCRYPTION: spki::ObjectIdentifier = spki::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

impl JwtSigner {
    /// The next of the [`BUNDLED_KEYS`] bundled test keys, in turn, with a
    /// random key id (`ins_fake_...`): what each [`FakeClerk`](crate::FakeClerk)
    /// signs with. Two fakes in one process have different key ids, and
    /// different keys unless [`BUNDLED_KEYS`] others were made in between; a
    /// test that needs two keys to differ takes [`JwtSigner::bundled`] with
    /// two indices.
    pub fn next_bundled() -> std::io::Result<Self> {
        let index = NEXT_BUNDLED.fetch_add(1, Ordering::Relaxed);
        Self::bundled(index, format!("ins_fake_{}", crate::ids::random_alnum(12)))
    }

    /// Bundled test key number `index` (modulo [`BUNDLED_KEYS`]) with this key id.
    pub fn bundled(index: usize, kid: impl Into<String>) -> std::io::Result<Self> {
        Self::from_pkcs8(BUNDLED[index % BUNDLED_KEYS], kid)
    }

    /// A signer with any RSA key of 2048 to 8192 bits, as unencrypted PKCS #8
    /// DER (`openssl pkcs8 -topk8 -nocrypt -outform DER`), with this key id.
    pub fn from_pkcs8(der: &[u8], kid: impl Into<String>) -> std::io::Result<Self> {
        let key_pair =
            RsaKeyPair::from_pkcs8(der).map_err(|e| std::io::Error::other(format!("not an RSA key: {e}")))?;
        let public = key_pair.public();
        let pkcs1 = public.as_ref();
        let spki = spki_der(pkcs1)
            .map_err(|e| std::io::Error::other(format!("cannot encode the public key: {e}")))?;
        let components: RsaPublicKeyComponents<Vec<u8>> = public.into();
        Ok(Self {
            kid: kid.into(),
            public_key_pem: pem("PUBLIC KEY", &spki),
            n: URL_SAFE_NO_PAD.encode(&components.n),
            e: URL_SAFE_NO_PAD.encode(&components.e),
            key_pair,
        })
    }

    /// The key id, the `kid` of the header and of the JWK.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as PEM (`-----BEGIN PUBLIC KEY-----`), as Clerk's dashboard shows it.
    pub fn public_key_pem(&self) -> &str {
        &self.public_key_pem
    }

    /// The JSON Web Key Set publishing the public key, as `GET /v1/jwks` serves it.
    pub fn jwks(&self) -> Value {
        json!({
            "keys": [{"use": "sig", "kty": "RSA", "kid": self.kid, "alg": "RS256", "n": self.n, "e": self.e}]
        })
    }

    /// The header Clerk puts on an M2M JWT: RS256, `typ` JWT, this key's `kid`,
    /// and the M2M category `cat`.
    pub fn header(&self) -> Value {
        json!({"alg": "RS256", "typ": "JWT", "kid": self.kid, "cat": M2M_CATEGORY})
    }

    /// An M2M JWT with Clerk's header and these claims.
    pub fn mint(&self, claims: &M2mClaims) -> String {
        self.sign(&self.header(), &claims.to_payload())
    }

    /// `header` and `payload` as a JWT signed with RS256, whatever the header
    /// says (to make tokens a verifier must refuse).
    pub fn sign(&self, header: &Value, payload: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(payload.to_string())
        );
        let mut signature = vec![0; self.key_pair.public().modulus_len()];
        // Signing with a valid key into a buffer of the modulus' size cannot fail.
        if self
            .key_pair
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), input.as_bytes(), &mut signature)
            .is_err()
        {
            signature.clear();
        }
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

/// The claims Clerk puts in an M2M JWT: `sub`, `jti`, `aud` (the scoped
/// machines), `scopes` (the same, space-joined), `iat`, `exp`, and the
/// custom claims at the top level.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct M2mClaims {
    /// The machine holding the token (`sub`).
    pub subject: String,
    /// The token id (`jti`), `mt_...`.
    pub token_id: String,
    /// The machines the token may call.
    pub scopes: Vec<String>,
    /// `iat`, seconds since the epoch.
    pub issued_at: i64,
    /// `exp`, seconds since the epoch.
    pub expires_at: i64,
    /// Custom claims (reserved names are left out of the payload).
    pub custom: Map<String, Value>,
}

impl M2mClaims {
    /// Claims for `subject`'s token `token_id`, valid from `issued_at` to
    /// `expires_at` (seconds since the epoch), with no scope or custom claim yet.
    pub fn new(
        subject: impl Into<String>,
        token_id: impl Into<String>,
        issued_at: i64,
        expires_at: i64,
    ) -> Self {
        Self {
            subject: subject.into(),
            token_id: token_id.into(),
            scopes: Vec::new(),
            issued_at,
            expires_at,
            custom: Map::new(),
        }
    }

    /// Adds a machine the token may call.
    pub fn scope(mut self, machine_id: impl Into<String>) -> Self {
        self.scopes.push(machine_id.into());
        self
    }

    /// Adds a custom claim.
    pub fn claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.custom.insert(name.into(), value.into());
        self
    }

    /// The JWT payload.
    pub fn to_payload(&self) -> Value {
        let mut payload: Map<String, Value> = self
            .custom
            .iter()
            .filter(|(name, _)| !RESERVED_CLAIMS.contains(&name.as_str()))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        payload.insert("sub".into(), json!(self.subject));
        payload.insert("jti".into(), json!(self.token_id));
        payload.insert("aud".into(), json!(self.scopes));
        payload.insert("scopes".into(), json!(self.scopes.join(" ")));
        payload.insert("iat".into(), json!(self.issued_at));
        payload.insert("exp".into(), json!(self.expires_at));
        Value::Object(payload)
    }
}

/// A PKCS #1 RSA public key wrapped in a SubjectPublicKeyInfo (the `PUBLIC
/// KEY` PEM that Clerk's dashboard shows), as DER.
fn spki_der(pkcs1: &[u8]) -> spki::der::Result<Vec<u8>> {
    spki::SubjectPublicKeyInfoRef {
        algorithm: spki::AlgorithmIdentifierRef { oid: RSA_ENCRYPTION, parameters: Some(AnyRef::NULL) },
        subject_public_key: BitStringRef::from_bytes(pkcs1)?,
    }
    .to_der()
}

/// `der` as a PEM block labelled `label`, 64 characters a line.
fn pem(label: &str, der: &[u8]) -> String {
    let base64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in base64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_key_loads_and_they_differ() {
        let moduli: std::collections::HashSet<String> =
            (0..BUNDLED_KEYS).map(|i| JwtSigner::bundled(i, "ins_test").unwrap().n).collect();
        assert_eq!(moduli.len(), BUNDLED_KEYS);
    }

    #[test]
    fn the_public_key_pem_is_a_subject_public_key_info() {
        let signer = JwtSigner::bundled(3, "ins_test").unwrap();
        let body: String = signer.public_key_pem().lines().filter(|l| !l.starts_with("-----")).collect();
        let der = STANDARD.decode(body).unwrap();
        let info = spki::SubjectPublicKeyInfoRef::try_from(der.as_slice()).unwrap();
        assert_eq!(info.algorithm.oid, RSA_ENCRYPTION);
        assert_eq!(info.subject_public_key.as_bytes(), Some(signer.key_pair.public().as_ref()));
    }
}
