#![allow(dead_code)]
//! Clerk's answers to the three verify endpoints, scripted on an httpmock
//! server: served to the crate's verifier (`tests/edge.rs`) and to
//! `@clerk/backend`'s (`tests/clerk_verifier.rs`) alike.

use httpmock::{Method, MockServer};
use serde_json::{json, Value};

/// A user id, the subject of API keys and OAuth tokens here.
pub const USER_ID: &str = "user_2vYVtestTESTtestTESTtestTES";
/// An organization id.
pub const ORG_ID: &str = "org_2vYVtestTESTtestTESTtestTES";
/// The caller machine of M2M tokens here.
pub const CALLER_ID: &str = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk";
/// The service's machine.
pub const SERVICE_ID: &str = "mch_2yGkLpQ7Y3rXSwtU24CzTk9I7Em";
/// 2025-07-29, in milliseconds.
pub const CREATED_AT: f64 = 1_753_743_316_590.0;

/// What Clerk answers about one token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// 200, valid.
    Valid,
    /// 200 with `revoked: true`.
    Revoked,
    /// 200 with `expired: true`.
    Expired,
    /// 404: Clerk does not know the token.
    NotFound,
    /// 401: the service's own key is refused.
    KeyRefused,
    /// 500.
    ServerError,
    /// 429 with `Retry-After`.
    RateLimited,
}

impl Answer {
    /// Every answer, in the order of the case tables.
    pub const ALL: [Answer; 7] = [
        Answer::Valid,
        Answer::Revoked,
        Answer::Expired,
        Answer::NotFound,
        Answer::KeyRefused,
        Answer::ServerError,
        Answer::RateLimited,
    ];

    /// A short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Answer::Valid => "valid (200)",
            Answer::Revoked => "revoked (200, revoked: true)",
            Answer::Expired => "expired (200, expired: true)",
            Answer::NotFound => "not found (404)",
            Answer::KeyRefused => "service key refused (401)",
            Answer::ServerError => "server error (500)",
            Answer::RateLimited => "rate limited (429)",
        }
    }
}

/// The three verify endpoints, with the body field each reads.
pub fn endpoint(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "api_key" => ("/api_keys/verify", "secret"),
        "oauth_token" => ("/oauth_applications/access_tokens/verify", "access_token"),
        _ => ("/m2m_tokens/verify", "token"),
    }
}

/// Clerk's 200 body for a token of `kind`.
pub fn success_body(kind: &str, revoked: bool, expired: bool) -> Value {
    match kind {
        "api_key" => json!({
            "object": "api_key", "id": "ak_3beecc9c60adb5f9b850e91a8ee1e992", "type": "api_key",
            "subject": USER_ID, "name": "nightly-script", "description": null,
            "claims": {"team": "data"}, "scopes": ["read", "write"],
            "revoked": revoked, "revocation_reason": if revoked { json!("leaked") } else { Value::Null },
            "expired": expired, "expiration": null, "created_by": null, "last_used_at": null,
            "created_at": CREATED_AT, "updated_at": CREATED_AT
        }),
        "oauth_token" => json!({
            "object": "clerk_idp_oauth_access_token", "id": "oat_0ef5a7a33d87ed87ee7954c845d80450",
            "client_id": "client_2VTWUzvGC5UhdJCNx6xG1D98edc", "subject": USER_ID,
            "scopes": ["read:foo", "write:bar"], "revoked": revoked, "revocation_reason": null,
            "expired": expired, "expiration": null, "created_at": CREATED_AT, "updated_at": CREATED_AT
        }),
        _ => json!({
            "object": "machine_to_machine_token", "id": "mt_0123456789abcdef0123456789abcdef",
            "subject": CALLER_ID, "scopes": [SERVICE_ID], "claims": {"job": "export"},
            "revoked": revoked, "revocation_reason": null, "expired": expired, "expiration": null,
            "last_used_at": null, "created_at": CREATED_AT, "updated_at": CREATED_AT
        }),
    }
}

fn error_body(code: &str, message: &str) -> Value {
    json!({"errors": [{"code": code, "message": message, "long_message": message}], "clerk_trace_id": "trace-scripted"})
}

/// Scripts Clerk's `answer` about `token` (of `kind`) on `server`.
pub fn script<'a>(server: &'a MockServer, kind: &str, token: &str, answer: Answer) -> httpmock::Mock<'a> {
    let (path, field) = endpoint(kind);
    let kind = kind.to_owned();
    server.mock(|when, then| {
        when.method(Method::POST).path(path).json_body(json!({ field: token }));
        let then = then.header("content-type", "application/json");
        match answer {
            Answer::Valid => then.status(200).json_body(success_body(&kind, false, false)),
            Answer::Revoked => then.status(200).json_body(success_body(&kind, true, false)),
            Answer::Expired => then.status(200).json_body(success_body(&kind, false, true)),
            Answer::NotFound => then.status(404).json_body(error_body("resource_not_found", "not found")),
            Answer::KeyRefused => {
                then.status(401).json_body(error_body("authentication_invalid", "invalid key"))
            }
            Answer::ServerError => then.status(500).json_body(error_body("internal_clerk_error", "oops")),
            Answer::RateLimited => then
                .status(429)
                .header("retry-after", "1")
                .json_body(error_body("too_many_requests", "slow down")),
        };
    })
}

/// A well-shaped token of `kind` whose secret part spells `label` (letters
/// and digits only), padded to 32 characters.
pub fn token(kind: &str, label: &str) -> String {
    let prefix = match kind {
        "api_key" => "ak_",
        "oauth_token" => "oat_",
        _ => "mt_",
    };
    let secret: String =
        label.chars().filter(char::is_ascii_alphanumeric).chain(std::iter::repeat('x')).take(32).collect();
    format!("{prefix}{secret}")
}
