//! The RS256 key that signs the fake's JWT-format M2M tokens, and its JWKS.

use super::errors::{Failure, Outcome};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Size of the generated RSA key, in bits.
const KEY_BITS: usize = 2048;

/// One signing key: generated on first use and shared by every fake in the
/// process (RSA key generation takes a noticeable fraction of a second).
pub(crate) struct Signer {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    n: String,
    e: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("kid", &self.kid).finish_non_exhaustive()
    }
}

static SIGNER: tokio::sync::OnceCell<Arc<Signer>> = tokio::sync::OnceCell::const_new();

/// The process-wide signer, generating it the first time.
pub(crate) async fn signer() -> Outcome<Arc<Signer>> {
    SIGNER
        .get_or_try_init(|| async {
            tokio::task::spawn_blocking(generate)
                .await
                .map_err(|e| Failure::internal(format!("key generation stopped: {e}")))?
        })
        .await
        .cloned()
}

fn generate() -> Outcome<Arc<Signer>> {
    let private = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, KEY_BITS)
        .map_err(|e| Failure::internal(format!("cannot generate the RSA key: {e}")))?;
    let der =
        private.to_pkcs1_der().map_err(|e| Failure::internal(format!("cannot encode the RSA key: {e}")))?;
    let encoding = EncodingKey::from_rsa_der(der.as_bytes());
    let n = URL_SAFE_NO_PAD.encode(private.n().to_bytes_be());
    let e = URL_SAFE_NO_PAD.encode(private.e().to_bytes_be());
    let decoding = DecodingKey::from_rsa_components(&n, &e)
        .map_err(|e| Failure::internal(format!("cannot build the verification key: {e}")))?;
    let kid = format!("ins_fake_{}", super::ids::random_alnum(12));
    Ok(Arc::new(Signer { kid, encoding, decoding, n, e }))
}

impl Signer {
    /// Signs `payload` with RS256, naming the key in the header's `kid`.
    pub(crate) fn sign(&self, payload: &Map<String, Value>) -> Outcome<String> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, payload, &self.encoding)
            .map_err(|e| Failure::internal(format!("cannot sign the token: {e}")))
    }

    /// The payload of a token this key signed; `None` for anything else.
    /// Expiry is checked by the caller against the fake's clock.
    pub(crate) fn verify(&self, token: &str) -> Option<Map<String, Value>> {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        jsonwebtoken::decode::<Map<String, Value>>(token, &self.decoding, &validation).ok().map(|d| d.claims)
    }

    /// The JSON Web Key Set holding the public half.
    pub(crate) fn jwks(&self) -> Value {
        json!({
            "keys": [{
                "use": "sig",
                "kty": "RSA",
                "kid": self.kid,
                "alg": "RS256",
                "n": self.n,
                "e": self.e,
            }]
        })
    }
}
