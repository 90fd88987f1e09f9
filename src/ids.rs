//! Clerk's id formats: the patterns the spec states for them, and the
//! prefixes Clerk documents only in its SDKs.
//!
//! ```
//! use clerk_machines::ids;
//!
//! assert!(ids::is_machine_id("mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"));
//! assert!(!ids::is_machine_id("user_2xhFjEI5X2qWRvtV13BzSj8H6Dk"));
//! assert!(ids::is_m2m_token_id("mt_0123456789abcdef0123456789abcdef"));
//! ```

use crate::spec;

/// Prefix of machine ids. Clerk's verifier (`@clerk/backend`) takes a JWT
/// whose `sub` starts with it for an M2M token.
pub const MACHINE_ID_PREFIX: &str = "mch_";
/// Prefix of opaque M2M tokens (and of M2M token ids). The spec gives ids a
/// pattern but says nothing of the tokens themselves: this prefix is what
/// Clerk's SDKs (`@clerk/backend`'s `M2M_TOKEN_PREFIX`) route on.
pub const M2M_TOKEN_PREFIX: &str = "mt_";

/// `true` for a machine id, as the spec's pattern for the `subject` of
/// `getM2MTokens` states it (`^mch_\w{27}$` today; `\w` is ASCII letters,
/// digits and `_`, as in the JavaScript regular expressions Clerk's SDK uses).
/// Should a spec state no pattern there, the prefix decides.
pub fn is_machine_id(value: &str) -> bool {
    matches_pattern("getM2MTokens", "subject", value, MACHINE_ID_PREFIX)
}

/// `true` for an M2M token id, as the spec's pattern for the `m2m_token_id`
/// of `revokeM2MToken` states it (`^mt_[0-9A-Fa-f]{32}$` today); should a
/// spec state none, the prefix decides.
pub fn is_m2m_token_id(value: &str) -> bool {
    matches_pattern("revokeM2MToken", "m2m_token_id", value, M2M_TOKEN_PREFIX)
}

/// `true` for an API key id, as the spec's pattern for the `apiKeyID` of
/// `getApiKey` states it (`^(ak|api_key)_[0-9A-Fa-f]{32}$` today); should a
/// spec state none, the prefix `ak_` decides.
pub fn is_api_key_id(value: &str) -> bool {
    matches_pattern("getApiKey", "apiKeyID", value, "ak_")
}

/// `true` for a user id, as the spec's pattern for the `created_by` of
/// `createApiKey` states it (`^user_\w{27}$` today); should a spec state
/// none, the prefix `user_` decides.
pub fn is_user_id(value: &str) -> bool {
    matches_pattern("createApiKey", "created_by", value, "user_")
}

fn matches_pattern(operation: &str, field: &str, value: &str, prefix: &str) -> bool {
    match spec::operation(operation).and_then(|op| op.field(field)).and_then(|field| field.rules.pattern) {
        Some(pattern) => pattern.is_match(value),
        None => value.starts_with(prefix),
    }
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
        assert!(is_api_key_id("ak_3beecc9c60adb5f9b850e91a8ee1e992"));
        assert!(!is_api_key_id("ak_3beecc9c60adb5f9b850e91a8ee1e99"));
        assert!(!is_api_key_id("mt_3beecc9c60adb5f9b850e91a8ee1e992"));
        assert!(is_user_id("user_2xhFjEI5X2qWRvtV13BzSj8H6Dk"));
        assert!(!is_user_id("user_2xhFjEI5X2qWRvtV13BzSj8H6D"));
        assert!(!is_user_id("mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"));
    }
}
