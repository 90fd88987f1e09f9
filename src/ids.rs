//! Clerk's id formats, as the spec states them.
//!
//! ```
//! use clerk_machines::ids;
//!
//! assert!(ids::is_machine_id("mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"));
//! assert!(!ids::is_machine_id("user_2xhFjEI5X2qWRvtV13BzSj8H6Dk"));
//! assert!(ids::is_m2m_token_id("mt_0123456789abcdef0123456789abcdef"));
//! ```

/// Prefix of machine ids.
pub const MACHINE_ID_PREFIX: &str = "mch_";
/// Prefix of M2M token ids and of opaque M2M tokens.
pub const M2M_TOKEN_PREFIX: &str = "mt_";

/// `true` for a machine id: `mch_` followed by 27 word characters (spec:
/// `^mch_\w{27}$`; `\w` is ASCII letters, digits and `_`, as in the
/// JavaScript and Go regular expressions Clerk's SDKs use).
pub fn is_machine_id(value: &str) -> bool {
    value
        .strip_prefix(MACHINE_ID_PREFIX)
        .is_some_and(|rest| rest.len() == 27 && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
}

/// `true` for an M2M token id: `mt_` followed by 32 hexadecimal digits
/// (spec: `^mt_[0-9A-Fa-f]{32}$`).
pub fn is_m2m_token_id(value: &str) -> bool {
    value
        .strip_prefix(M2M_TOKEN_PREFIX)
        .is_some_and(|rest| rest.len() == 32 && rest.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_patterns_follow_the_spec() {
        assert!(is_machine_id("mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"));
        assert!(!is_machine_id("mch_2xhFjEI5X2qWRvtV13BzSj8H6D"));
        assert!(!is_machine_id("mch_2xhFjEI5X2qWRvtV13BzSj8H6D-"));
        assert!(!is_machine_id("mch_2xhFjEI5X2qWRvtV13BzSj8H6Dé"));
        assert!(!is_machine_id("user_2xhFjEI5X2qWRvtV13BzSj8H6Dk"));
        assert!(is_m2m_token_id("mt_0123456789abcdefABCDEF0123456789"));
        assert!(!is_m2m_token_id("mt_0123456789abcdefABCDEF012345678g"));
        assert!(!is_m2m_token_id("mt_0123456789abcdef"));
    }
}
