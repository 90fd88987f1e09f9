//! Random ids and keys in Clerk's formats.
//!
//! `fastrand` (seeded per thread from the system) is enough for a fake: its ids and
//! secrets only have to be distinct and unguessable by accident, not by an attacker.

/// `n` random lowercase hex digits.
pub(crate) fn random_hex(n: usize) -> String {
    const HEX: &[u8] = b"0123456789abcdef";
    (0..n).map(|_| char::from(HEX[fastrand::usize(..HEX.len())])).collect()
}

/// `n` random ASCII letters and digits.
pub(crate) fn random_alnum(n: usize) -> String {
    (0..n).map(|_| fastrand::alphanumeric()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_alnum_have_the_length_and_alphabet_asked_for() {
        let hex = random_hex(32);
        assert_eq!(hex.len(), 32);
        assert!(hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        let alnum = random_alnum(40);
        assert_eq!(alnum.len(), 40);
        assert!(alnum.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(random_alnum(40), alnum, "two draws of 40 characters collide");
    }
}
