//! The crate's error type.

use reqwest::StatusCode;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Duration;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong calling Clerk.
///
/// Secrets never appear in an error: not in its `Debug`, not in its `Display`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Clerk answered with an error status.
    ///
    /// `errors` holds Clerk's error entries when the body was Clerk's error
    /// JSON; it is empty when the body was something else (for example an
    /// HTML page from a proxy).
    #[error("{}", api_message(*.status, errors, trace_id.as_deref()))]
    #[non_exhaustive]
    Api {
        /// HTTP status of the response.
        status: StatusCode,
        /// Clerk's error entries, in the order Clerk gave them.
        errors: Vec<ApiError>,
        /// Clerk's trace id, from the body's `clerk_trace_id` or the `Clerk-Trace-Id` header.
        trace_id: Option<String>,
        /// How long Clerk asked the client to wait (`Retry-After`), if it did.
        retry_after: Option<Duration>,
    },
    /// An argument was rejected before any request was sent: it breaks a
    /// rule of the spec ([`spec`](crate::spec)) or of the crate.
    #[error("invalid {field}: {reason}")]
    #[non_exhaustive]
    InvalidInput {
        /// What was rejected: the field as the spec names it (`name`,
        /// `previous_token_ttl`, `limit`, ...), or the argument or
        /// configuration setting.
        field: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// The request did not complete within the configured timeout.
    #[error("request timed out")]
    Timeout(#[source] reqwest::Error),
    /// The request could not be sent or the response could not be read
    /// (connection refused or reset, TLS failure, body cut short, ...).
    #[error("transport error: {0}")]
    Transport(#[source] reqwest::Error),
    /// TLS could not be set up for the HTTP client, for example because this
    /// system has no CA certificates to verify Clerk's against.
    #[error("cannot set up TLS: {0}")]
    Tls(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Clerk answered with a success status, but the body is not what the spec describes.
    #[error("cannot decode the {status} response at `{path}`: {message} (body starts: {snippet:?})")]
    #[non_exhaustive]
    Decode {
        /// HTTP status of the response.
        status: StatusCode,
        /// Where in the body decoding failed, as a JSON path (`data[3].name`); `.` for the root.
        path: String,
        /// What was wrong there.
        message: String,
        /// The first characters of the body (at most [`Error::SNIPPET_CHARS`]).
        snippet: String,
    },
    /// An [`M2mTokenSource`](crate::m2m::M2mTokenSource) has no valid token
    /// left and could not mint one: the last refresh failure.
    ///
    /// Every caller that waited for the same refresh gets the same error
    /// (hence the [`Arc`]), and so does every call while the source backs off
    /// before its next attempt. [`Error::status`],
    /// [`Error::code`] and [`Error::trace_id`] look through it.
    #[error("minting an M2M token failed: {0}")]
    TokenRefresh(#[source] Arc<Error>),
}

/// One entry of a Clerk error response.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct ApiError {
    /// Machine-readable error code, for example `resource_not_found`.
    pub code: String,
    /// Short, human-readable message.
    pub message: String,
    /// Longer human-readable explanation.
    #[serde(default)]
    pub long_message: String,
    /// Extra data Clerk attached to the error (for example the offending `param_name`).
    #[serde(default)]
    pub meta: Map<String, Value>,
}

impl Error {
    /// Longest body excerpt kept in a [`Error::Decode`].
    pub const SNIPPET_CHARS: usize = 120;

    /// The HTTP status, when a response was received.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api { status, .. } | Error::Decode { status, .. } => Some(*status),
            Error::Transport(e) | Error::Timeout(e) => e.status(),
            Error::InvalidInput { .. } | Error::Tls(_) => None,
            Error::TokenRefresh(inner) => inner.status(),
        }
    }

    /// The code of Clerk's first error entry, for example `resource_not_found`.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api { errors, .. } => errors.first().map(|e| e.code.as_str()),
            Error::TokenRefresh(inner) => inner.code(),
            _ => None,
        }
    }

    /// Clerk's trace id, to quote when asking Clerk's support about a failed call.
    pub fn trace_id(&self) -> Option<&str> {
        match self {
            Error::Api { trace_id, .. } => trace_id.as_deref(),
            Error::TokenRefresh(inner) => inner.trace_id(),
            _ => None,
        }
    }

    /// `true` for a 404 from Clerk: the machine, scope or token does not exist.
    pub fn is_not_found(&self) -> bool {
        match self {
            Error::Api { status, .. } => *status == StatusCode::NOT_FOUND,
            Error::TokenRefresh(inner) => inner.is_not_found(),
            _ => false,
        }
    }

    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidInput { field, reason: reason.into() }
    }

    pub(crate) fn from_reqwest(error: reqwest::Error) -> Self {
        if error.is_timeout() {
            Error::Timeout(error)
        } else {
            Error::Transport(error)
        }
    }
}

fn api_message(status: StatusCode, errors: &[ApiError], trace_id: Option<&str>) -> String {
    let mut text = format!("Clerk answered {status}");
    if let Some(first) = errors.first() {
        text.push_str(&format!(": {} ({})", first.long_message_or_message(), first.code));
        if errors.len() > 1 {
            text.push_str(&format!(" and {} more error(s)", errors.len() - 1));
        }
    }
    if let Some(trace_id) = trace_id {
        text.push_str(&format!(" [trace id {trace_id}]"));
    }
    text
}

impl ApiError {
    pub(crate) fn new(
        code: impl Into<String>,
        message: impl Into<String>,
        long_message: impl Into<String>,
    ) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            long_message: long_message.into(),
            meta: Map::new(),
        }
    }

    fn long_message_or_message(&self) -> &str {
        if self.long_message.is_empty() {
            &self.message
        } else {
            &self.long_message
        }
    }
}

/// The first `max` characters of a body, lossily decoded, for error messages,
/// with the values of secret fields replaced by `[REDACTED]`.
pub(crate) fn snippet(body: &[u8], max: usize) -> String {
    let head = &body[..body.len().min(max * 4)];
    redact_secrets(&String::from_utf8_lossy(head)).chars().take(max).collect()
}

/// Replaces the string value of every secret field (`"secret": "..."`) in a
/// piece of JSON, which may be invalid or cut short, with `[REDACTED]`.
pub(crate) fn redact_secrets(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(quote) = rest.find('"') {
        let (before, from_quote) = rest.split_at(quote);
        out.push_str(before);
        let field = crate::spec::SECRET_FIELDS.iter().find_map(|name| {
            let after = from_quote.strip_prefix('"')?.strip_prefix(name)?.strip_prefix('"')?;
            let after = after.trim_start().strip_prefix(':')?.trim_start();
            let value = after.strip_prefix('"')?;
            Some((from_quote.len() - value.len(), value))
        });
        match field {
            Some((prefix_len, value)) => {
                out.push_str(&from_quote[..prefix_len]);
                out.push_str("[REDACTED]");
                rest = skip_json_string(value);
            }
            None => {
                out.push('"');
                rest = &from_quote[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The text after the end of a JSON string whose opening quote was just
/// consumed (the closing quote kept), or `""` when it never ends.
fn skip_json_string(value: &str) -> &str {
    let mut escaped = false;
    for (index, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return &value[index..],
            _ => {}
        }
    }
    ""
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_code_and_trace_id() {
        let error = Error::Api {
            status: StatusCode::NOT_FOUND,
            errors: vec![ApiError::new("resource_not_found", "not found", "Machine not found")],
            trace_id: Some("trace-1".into()),
            retry_after: None,
        };
        assert_eq!(
            error.to_string(),
            "Clerk answered 404 Not Found: Machine not found (resource_not_found) [trace id trace-1]"
        );
        assert!(error.is_not_found());
        assert_eq!(error.code(), Some("resource_not_found"));
        assert_eq!(error.status(), Some(StatusCode::NOT_FOUND));
    }

    #[test]
    fn secrets_are_redacted_from_snippets() {
        let body = r#"{"object":"machine","secret_key": "ak_live_abc\"def","name":"x","token":"mt_1"}"#;
        assert_eq!(
            redact_secrets(body),
            r#"{"object":"machine","secret_key": "[REDACTED]","name":"x","token":"[REDACTED]"}"#
        );
        // Cut short inside the secret.
        assert_eq!(redact_secrets(r#"{"secret":"ak_li"#), r#"{"secret":"[REDACTED]"#);
        assert_eq!(redact_secrets(r#"{"secrets":"a","token":1}"#), r#"{"secrets":"a","token":1}"#);
        assert!(!snippet(body.as_bytes(), 200).contains("abc"));
    }

    #[test]
    fn snippet_is_bounded_and_char_safe() {
        let body = "é".repeat(500);
        assert_eq!(snippet(body.as_bytes(), 10).chars().count(), 10);
        assert_eq!(snippet(b"", 10), "");
    }
}
