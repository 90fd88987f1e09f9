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
//! let signer = JwtSigner::generate().expect("an RSA key");
//! let claims = M2mClaims::new("mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk", "mt_0123456789abcdef0123456789abcdef", 1_700_000_000, 1_700_003_600)
//!     .scope("mch_2yGkLpQ7Y3rXSwtU24CzTk9I7Em")
//!     .claim("job", "export");
//! let token = signer.mint(&claims);
//! assert_eq!(token.split('.').count(), 3);
//! assert!(signer.public_key_pem().starts_with("-----BEGIN PUBLIC KEY-----"));
//! ```

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair, RsaKeyPair, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use clerk_machines::testing::M2M_RESERVED_CLAIMS as RESERVED_CLAIMS;
use serde_json::{json, Map, Value};

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

impl JwtSigner {
    /// A new random key, with a random key id (`ins_fake_...`).
    pub fn generate() -> std::io::Result<Self> {
        Self::generate_with_kid(format!("ins_fake_{}", crate::ids::random_alnum(12)))
    }

    /// A new random key with this key id.
    pub fn generate_with_kid(kid: impl Into<String>) -> std::io::Result<Self> {
        let failed = |what: &str| std::io::Error::other(format!("cannot {what} an RSA key"));
        let key_pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| failed("generate"))?;
        let public = key_pair.public_key();
        let spki = public.as_der().map_err(|_| failed("encode"))?;
        let components: aws_lc_rs::signature::RsaPublicKeyComponents<Vec<u8>> = public.into();
        Ok(Self {
            kid: kid.into(),
            public_key_pem: pem("PUBLIC KEY", spki.as_ref()),
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
        let mut signature = vec![0; self.key_pair.public_modulus_len()];
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
