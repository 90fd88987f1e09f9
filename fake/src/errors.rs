//! Clerk's error bodies, as the fake returns them.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use clerk_machines::types;
use serde_json::{Map, Value};

/// A failed request: the status and the one error entry Clerk would send.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
    pub(crate) long_message: String,
    pub(crate) meta: Map<String, Value>,
}

pub(crate) type Outcome<T> = std::result::Result<T, Failure>;

impl Failure {
    fn new(status: StatusCode, code: &'static str, message: &str, long_message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.to_owned(),
            long_message: long_message.into(),
            meta: Map::new(),
        }
    }

    fn param(mut self, name: &str) -> Self {
        self.meta.insert("param_name".into(), Value::String(name.to_owned()));
        self
    }

    /// 401: no `Authorization`, or a key the instance does not know.
    pub(crate) fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "authentication_invalid",
            "Invalid authentication",
            "The request is not authenticated: send `Authorization: Bearer <secret key>` with a valid key.",
        )
    }

    /// 401: a valid key of the wrong kind for this operation.
    pub(crate) fn wrong_key(expected: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "authentication_invalid",
            "Invalid authentication",
            format!("This endpoint must be called with {expected}."),
        )
    }

    /// 403: the key may not act on this resource.
    pub(crate) fn forbidden(long_message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "authorization_invalid", "Unauthorized request", long_message)
    }

    /// 404 for a resource (`machine`, `machine scope`, `M2M token`).
    pub(crate) fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "resource_not_found",
            "not found",
            format!("The requested {what} could not be found."),
        )
    }

    /// 404 for a credential that exists but is no longer valid (revoked,
    /// expired): Clerk answers as for an unknown one, the reason in the long message.
    pub(crate) fn not_found_because(what: &str, why: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "resource_not_found",
            "not found",
            format!("The requested {what} could not be found: {why}."),
        )
    }

    /// 404 for a path the fake does not serve.
    pub(crate) fn no_route() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "resource_not_found",
            "not found",
            "The requested resource could not be found.",
        )
    }

    /// 501: an operation of the spec the fake does not implement yet.
    pub(crate) fn not_implemented(id: &str, method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::NOT_IMPLEMENTED,
            "fake_not_implemented",
            "not implemented by the fake",
            format!(
                "The fake Clerk does not implement {id} ({method} {path}) yet: the spec the client was \
                 generated from has it, the fake predates it. Call it against Clerk, or teach the fake."
            ),
        )
    }

    /// 409: the machine scope exists already.
    pub(crate) fn conflict(long_message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "duplicate_record", "duplicate record", long_message)
    }

    /// 422 (Machines operations): a parameter is invalid.
    pub(crate) fn unprocessable(param: &str, long_message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "form_param_value_invalid", "is invalid", long_message)
            .param(param)
    }

    /// 422 (Machines operations): a required parameter is missing.
    pub(crate) fn missing(param: &str) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "form_param_missing",
            "missing required parameter",
            format!("{param} must be included."),
        )
        .param(param)
    }

    /// 400: a malformed request (body not JSON, an M2M parameter out of range, ...).
    pub(crate) fn bad_request(param: &str, long_message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", "Bad Request", long_message).param(param)
    }

    /// 400 with a specific code (token revoked or expired).
    pub(crate) fn bad_request_code(code: &'static str, long_message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, "Bad Request", long_message)
    }

    /// 500: something the fake itself got wrong.
    pub(crate) fn internal(long_message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_clerk_error",
            "Oops, an unexpected error occurred",
            long_message,
        )
    }

    /// An outage set with `FakeClerk::start_outage`: 429 `too_many_requests`,
    /// or another status with `service_unavailable`.
    pub(crate) fn outage(status: StatusCode) -> Self {
        if status == StatusCode::TOO_MANY_REQUESTS {
            Self::new(status, "too_many_requests", "Too many requests", "Too many requests, retry later.")
        } else {
            Self::new(
                status,
                "service_unavailable",
                "Service unavailable",
                "The service is unavailable (an outage set on the fake), retry later.",
            )
        }
    }

    /// The body Clerk sends: `{"errors":[...],"clerk_trace_id":...}`, built
    /// with the generated `ClerkErrors` so that its shape is the spec's.
    pub(crate) fn body(&self, trace_id: &str) -> Outcome<types::ClerkErrors> {
        let entry = types::ClerkError::builder()
            .code(self.code)
            .long_message(self.long_message.clone())
            .message(self.message.clone())
            .meta(self.meta.clone());
        types::ClerkErrors::builder()
            .clerk_trace_id(Some(trace_id.to_owned()))
            .errors(vec![entry.try_into().map_err(unbuildable)?])
            .try_into()
            .map_err(unbuildable)
    }
}

/// The failure for an error body the generated builders refuse: the spec
/// made a field of `ClerkErrors` required that the fake does not set.
fn unbuildable(e: types::error::ConversionError) -> Failure {
    Failure::internal(format!(
        "the fake cannot build Clerk's error body: {e} (the spec requires a field the fake does not know yet)"
    ))
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let trace_id = super::ids::random_hex(32);
        let mut response = match self.body(&trace_id) {
            Ok(body) => (self.status, axum::Json(body)).into_response(),
            // Still Clerk's error shape, written by hand, naming what went wrong.
            Err(failure) => {
                let entry = serde_json::json!({
                    "code": failure.code,
                    "message": failure.message,
                    "long_message": failure.long_message,
                });
                let body = serde_json::json!({ "errors": [entry], "clerk_trace_id": trace_id });
                (failure.status, axum::Json(body)).into_response()
            }
        };
        if let Ok(value) = HeaderValue::from_str(&trace_id) {
            response.headers_mut().insert("clerk-trace-id", value);
        }
        response
    }
}
