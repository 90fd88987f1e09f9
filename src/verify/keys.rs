//! RSA public keys, parsed once (from PEM or from a JWK's `n` and `e`) and
//! then used for every verification.

use aws_lc_rs::signature::{ParsedPublicKey, RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;

/// An RSA public key that checks RS256 signatures (RSASSA-PKCS1-v1_5 with
/// SHA-256, 2048 to 8192 bits).
pub(super) struct RsaKey(ParsedPublicKey);

impl std::fmt::Debug for RsaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RsaKey")
    }
}

impl RsaKey {
    /// A key from a PEM `PUBLIC KEY` (SubjectPublicKeyInfo, as Clerk's
    /// dashboard shows it) or `RSA PUBLIC KEY` (PKCS #1) block.
    pub(super) fn from_pem(pem: &[u8]) -> Result<Self, String> {
        let text = std::str::from_utf8(pem).map_err(|_| "is not text".to_owned())?;
        let der = pem_block(text)?;
        ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der)
            .map(Self)
            .map_err(|e| format!("is not an RSA public key ({e})"))
    }

    /// A key from a JWK's base64url `n` (modulus) and `e` (exponent), of
    /// 2048 to 8192 bits.
    pub(super) fn from_jwk(n: &str, e: &str) -> Option<Self> {
        let n = URL_SAFE_NO_PAD.decode(n).ok()?;
        let e = URL_SAFE_NO_PAD.decode(e).ok()?;
        let bits = n.iter().position(|&b| b != 0).map_or(0, |first| (n.len() - first) * 8);
        if !(2048..=8192).contains(&bits) {
            return None;
        }
        RsaPublicKeyComponents { n: n.as_slice(), e: e.as_slice() }
            .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
            .ok()
            .map(Self)
    }

    /// Whether `signature` is this key's RS256 signature of `message`.
    pub(super) fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        self.0.verify_sig(message, signature).is_ok()
    }
}

/// The DER bytes of the first `PUBLIC KEY` or `RSA PUBLIC KEY` PEM block.
fn pem_block(text: &str) -> Result<Vec<u8>, String> {
    for label in ["PUBLIC KEY", "RSA PUBLIC KEY"] {
        let begin = format!("-----BEGIN {label}-----");
        let end = format!("-----END {label}-----");
        let Some(start) = text.find(&begin) else { continue };
        let body = &text[start + begin.len()..];
        let stop = body.find(&end).ok_or_else(|| format!("has no `{end}` line"))?;
        let base64: String = body[..stop].chars().filter(|c| !c.is_ascii_whitespace()).collect();
        return STANDARD.decode(base64).map_err(|_| "has a PEM block that is not base64".to_owned());
    }
    Err("has no `-----BEGIN PUBLIC KEY-----` block".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_blocks_are_found_and_checked() {
        assert!(pem_block("-----BEGIN PUBLIC KEY-----\nAAEC\n-----END PUBLIC KEY-----\n")
            .is_ok_and(|d| d == [0, 1, 2]));
        assert!(pem_block("-----BEGIN RSA PUBLIC KEY-----\r\nAAEC\r\n-----END RSA PUBLIC KEY-----").is_ok());
        assert!(pem_block("no pem here").is_err());
        assert!(pem_block("-----BEGIN PUBLIC KEY-----\nAAEC\n").is_err());
        assert!(pem_block("-----BEGIN PUBLIC KEY-----\n!!!\n-----END PUBLIC KEY-----").is_err());
        assert!(RsaKey::from_pem(b"-----BEGIN PUBLIC KEY-----\nAAEC\n-----END PUBLIC KEY-----").is_err());
        assert!(RsaKey::from_jwk("AQAB", "AQAB").is_none(), "a 24-bit modulus is not a key");
    }
}
