//! RSA public keys, read once (from PEM or from a JWK's `n` and `e`) and
//! then used for every verification.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use pkcs1::der::Decode as _;
use ring::signature::{RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256};

/// An RSA public key that checks RS256 signatures (RSASSA-PKCS1-v1_5 with
/// SHA-256, 2048 to 8192 bits): its modulus and exponent, big-endian without
/// leading zeros, as ring takes them.
pub(super) struct RsaKey(RsaPublicKeyComponents<Vec<u8>>);

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
        let (label, der) = pem_block(text)?;
        let pkcs1 = if label == "PUBLIC KEY" { spki_rsa_key(&der)? } else { der.as_slice() };
        let key =
            pkcs1::RsaPublicKey::from_der(pkcs1).map_err(|e| format!("is not an RSA public key ({e})"))?;
        Self::from_components(key.modulus.as_bytes(), key.public_exponent.as_bytes())
    }

    /// A key from a JWK's base64url `n` (modulus) and `e` (exponent), of
    /// 2048 to 8192 bits.
    pub(super) fn from_jwk(n: &str, e: &str) -> Option<Self> {
        let n = URL_SAFE_NO_PAD.decode(n).ok()?;
        let e = URL_SAFE_NO_PAD.decode(e).ok()?;
        Self::from_components(&n, &e).ok()
    }

    /// A key from its modulus and exponent, refused unless ring would take
    /// it: a modulus of 2048 to 8192 bits, an odd exponent from 3 to 2^33 - 1.
    fn from_components(n: &[u8], e: &[u8]) -> Result<Self, String> {
        let n = without_leading_zeros(n);
        let e = without_leading_zeros(e);
        let bits = n.first().map_or(0, |&top| n.len() * 8 - top.leading_zeros() as usize);
        if !(2048..=8192).contains(&bits) {
            return Err(format!("has a {bits}-bit modulus (RS256 keys have 2048 to 8192 bits)"));
        }
        let exponent = e.iter().try_fold(0u64, |acc, &b| (acc >> 56 == 0).then(|| acc << 8 | u64::from(b)));
        if !exponent.is_some_and(|x| (3..1 << 33).contains(&x) && x % 2 == 1) {
            return Err("has a public exponent that is not an odd number from 3 to 2^33 - 1".to_owned());
        }
        Ok(Self(RsaPublicKeyComponents { n: n.to_vec(), e: e.to_vec() }))
    }

    /// Whether `signature` is this key's RS256 signature of `message`.
    pub(super) fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        self.0.verify(&RSA_PKCS1_2048_8192_SHA256, message, signature).is_ok()
    }
}

fn without_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// The algorithm of RSA keys in a SubjectPublicKeyInfo (RFC 8017, A.1).
/// Evaluated at compile time: the text is a valid object identifier.
const RSA_ENCRYPTION: spki::ObjectIdentifier = spki::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// The PKCS #1 `RSAPublicKey` inside a DER SubjectPublicKeyInfo, which must
/// name the algorithm `rsaEncryption`.
fn spki_rsa_key(der: &[u8]) -> Result<&[u8], String> {
    let info = spki::SubjectPublicKeyInfoRef::try_from(der)
        .map_err(|e| format!("is not a SubjectPublicKeyInfo ({e})"))?;
    if info.algorithm.oid != RSA_ENCRYPTION {
        return Err(format!("is a {} key, not an RSA key", info.algorithm.oid));
    }
    info.subject_public_key.as_bytes().ok_or_else(|| "has a key that is not whole bytes".to_owned())
}

/// The label and DER bytes of the first `PUBLIC KEY` or `RSA PUBLIC KEY` PEM block.
fn pem_block(text: &str) -> Result<(&'static str, Vec<u8>), String> {
    for label in ["PUBLIC KEY", "RSA PUBLIC KEY"] {
        let begin = format!("-----BEGIN {label}-----");
        let end = format!("-----END {label}-----");
        let Some(start) = text.find(&begin) else { continue };
        let body = &text[start + begin.len()..];
        let stop = body.find(&end).ok_or_else(|| format!("has no `{end}` line"))?;
        let base64: String = body[..stop].chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let der = STANDARD.decode(base64).map_err(|_| "has a PEM block that is not base64".to_owned())?;
        return Ok((label, der));
    }
    Err("has no `-----BEGIN PUBLIC KEY-----` block".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_blocks_are_found_and_checked() {
        assert!(pem_block("-----BEGIN PUBLIC KEY-----\nAAEC\n-----END PUBLIC KEY-----\n")
            .is_ok_and(|(label, der)| label == "PUBLIC KEY" && der == [0, 1, 2]));
        assert!(pem_block("-----BEGIN RSA PUBLIC KEY-----\r\nAAEC\r\n-----END RSA PUBLIC KEY-----").is_ok());
        assert!(pem_block("no pem here").is_err());
        assert!(pem_block("-----BEGIN PUBLIC KEY-----\nAAEC\n").is_err());
        assert!(pem_block("-----BEGIN PUBLIC KEY-----\n!!!\n-----END PUBLIC KEY-----").is_err());
        assert!(RsaKey::from_pem(b"-----BEGIN PUBLIC KEY-----\nAAEC\n-----END PUBLIC KEY-----").is_err());
        assert!(RsaKey::from_jwk("AQAB", "AQAB").is_none(), "a 24-bit modulus is not a key");
    }
}
