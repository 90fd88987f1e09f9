//! Checks on a token string made before any work or any call to Clerk:
//! its size, its alphabet, and for opaque tokens whether it can be a token
//! of its kind at all. A flood of made-up strings stops here.
//!
//! Where each opaque rule comes from (Clerk documents no format for the
//! secret part; the rules take what is known and leave wide margins):
//!
//! | kind | rule | sources |
//! |---|---|---|
//! | M2M `mt_` | 20 to 128 ASCII letters and digits after the prefix | the spec's `token` example (`mt_` + 32), `@clerk/backend`'s test token (`mt_` + 35 letters and digits), the fake's (`mt_` + 48) |
//! | OAuth `oat_` | 20 to 128 ASCII letters and digits after the prefix | the spec's token id pattern (`^oat_[0-9A-Fa-f]{32}$`), `@clerk/backend`'s test token (`oat_` + 35 letters and digits) |
//! | API key `ak_` | 20 to 128 characters of standard base64 (letters, digits, `+`, `/`) after the prefix, then at most two `=` | the spec's `secret` example (`ak_` + 32), `@clerk/backend`'s test key (`ak_` + 44 base64 characters with `/` and `=`), machine secret keys (`ak_` + 40 hex) |

use super::error::Reason;
use super::kind::{API_KEY_PREFIX, OAUTH_TOKEN_PREFIX};
use super::TokenKind;
use crate::ids::M2M_TOKEN_PREFIX;

/// Shortest secret part accepted after an opaque token's prefix.
const MIN_SECRET: usize = 20;
/// Longest secret part accepted after an opaque token's prefix.
const MAX_SECRET: usize = 128;

/// Whether `token` is an RFC 6750 `b64token`:
/// `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
pub(super) fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/'))
}

/// The size and alphabet checks every token passes first.
pub(super) fn check(token: &str, max_length: usize) -> Result<(), Reason> {
    if token.is_empty() {
        return Err(Reason::Missing);
    }
    if token.len() > max_length {
        return Err(Reason::TooLong { max: max_length });
    }
    if !is_b64token(token) {
        return Err(Reason::malformed("a character outside RFC 6750's b64token"));
    }
    Ok(())
}

/// Whether `token` (of `kind`, routed by its prefix) can be an opaque token
/// of that kind; see the module's table.
pub(super) fn check_opaque(kind: TokenKind, token: &str) -> Result<(), Reason> {
    let fits = match kind {
        TokenKind::M2m => token.strip_prefix(M2M_TOKEN_PREFIX).is_some_and(alphanumeric),
        TokenKind::OAuth => token.strip_prefix(OAUTH_TOKEN_PREFIX).is_some_and(alphanumeric),
        TokenKind::ApiKey => token.strip_prefix(API_KEY_PREFIX).is_some_and(base64),
    };
    if fits {
        Ok(())
    } else {
        Err(Reason::malformed("cannot be an opaque token of its kind (length or alphabet)"))
    }
}

fn alphanumeric(secret: &str) -> bool {
    (MIN_SECRET..=MAX_SECRET).contains(&secret.len()) && secret.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn base64(secret: &str) -> bool {
    let body = secret.trim_end_matches('=');
    secret.len() - body.len() <= 2
        && (MIN_SECRET..=MAX_SECRET).contains(&body.len())
        && body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b64token_is_rfc_6750s() {
        for good in
            ["a", "A-._~+/9", "abc==", "eyJ.eyJ.sig", "ak_LCWGdaM8mv8K4PC/57IICZQXAeWfCgF30DZaFXHoGn9="]
        {
            assert!(is_b64token(good), "{good}");
        }
        for bad in ["", "=", "a b", "a\tb", "a=b", "a,b", "é", "a\"b", "a;b", "\u{0}"] {
            assert!(!is_b64token(bad), "{bad:?}");
        }
    }

    #[test]
    fn size_and_alphabet_come_first() {
        assert_eq!(check("", 10), Err(Reason::Missing));
        assert_eq!(check(&"a".repeat(11), 10), Err(Reason::TooLong { max: 10 }));
        assert!(check(&"a".repeat(10), 10).is_ok());
        assert!(matches!(check("mt_a b", 10), Err(Reason::Malformed { .. })));
    }

    #[test]
    fn opaque_shapes_take_every_known_token_and_little_else() {
        let known = [
            (TokenKind::M2m, "mt_8XOIucKvqHVr5tYP123456789abcdefghij"),
            (TokenKind::M2m, "mt_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"),
            (TokenKind::OAuth, "oat_8XOIucKvqHVr5tYP123456789abcdefghij"),
            (TokenKind::OAuth, "oat_0ef5a7a33d87ed87ee7954c845d80450"),
            (TokenKind::ApiKey, "ak_LCWGdaM8mv8K4PC/57IICZQXAeWfCgF30DZaFXHoGn9="),
            (TokenKind::ApiKey, "ak_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"),
            (TokenKind::ApiKey, "ak_3beecc9c60adb5f9b850e91a8ee1e9923beecc9c"),
        ];
        for (kind, token) in known {
            assert!(check_opaque(kind, token).is_ok(), "{token}");
        }
        let made_up = [
            (TokenKind::M2m, "mt_short"),
            (TokenKind::M2m, "mt_secret_with_underscores_0000000000"),
            (TokenKind::M2m, &format!("mt_{}", "a".repeat(129))),
            (TokenKind::OAuth, "oat_8XOIucKvqHVr5tYP1234567-89abcdefghij"),
            (TokenKind::ApiKey, "ak_LCWGdaM8mv8K4PC/57IICZQXAeWfCgF30DZaFXHoGn9==="),
            (TokenKind::ApiKey, "ak_LCWGdaM8mv8K4PC_57IICZQXAeWfCgF30DZaFXHoGn9"),
            (TokenKind::ApiKey, "mt_8XOIucKvqHVr5tYP123456789abcdefghij"),
        ];
        for (kind, token) in made_up {
            assert!(check_opaque(kind, token).is_err(), "{token}");
        }
    }
}
