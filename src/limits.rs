//! The limits the spec states for input, checked before any request is sent.

use std::time::Duration;

/// Longest machine name, in characters (spec: `maxLength: 255`).
pub const MAX_NAME_CHARS: usize = 255;
/// Most machines one machine may be scoped to (spec: `maxItems: 150`).
pub const MAX_SCOPED_MACHINES: usize = 150;
/// Longest `default_token_ttl` (spec: `maximum: 315360000` seconds, ten years).
pub const MAX_DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(315_360_000);
/// Longest `previous_token_ttl` when rotating a secret key (spec: `maximum: 28800`, eight hours).
pub const MAX_PREVIOUS_KEY_TTL: Duration = Duration::from_secs(28_800);
/// Largest page of machines (spec: `maximum: 500`).
pub const MAX_MACHINES_PAGE: u32 = 500;
/// Largest page of M2M tokens (spec: `maximum: 100`).
pub const MAX_M2M_TOKENS_PAGE: u32 = 100;
/// Longest M2M token lifetime the crate sends: 2^53 - 1 seconds, what a
/// JavaScript-based peer still reads exactly.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs((1 << 53) - 1);
