//! Random ids and keys in Clerk's formats.

use rand::distributions::{Alphanumeric, Distribution};
use rand::Rng;

/// `n` random lowercase hex digits.
pub(crate) fn random_hex(n: usize) -> String {
    const HEX: &[u8] = b"0123456789abcdef";
    let mut rng = rand::thread_rng();
    (0..n).map(|_| char::from(HEX[rng.gen_range(0..16)])).collect()
}

/// `n` random ASCII letters and digits.
pub(crate) fn random_alnum(n: usize) -> String {
    Alphanumeric.sample_iter(rand::thread_rng()).take(n).map(char::from).collect()
}
