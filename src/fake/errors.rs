//! Clerk's error bodies, as the fake returns them.

use crate::api::types;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
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

    /// 404 for a path the fake does not serve.
    pub(crate) fn no_route() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "resource_not_found",
            "not found",
            "The requested resource could not be found.",
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

    /// The body Clerk sends: `{"errors":[...],"clerk_trace_id":...}`, as the generated `ClerkErrors`.
    pub(crate) fn body(&self, trace_id: &str) -> types::ClerkErrors {
        types::ClerkErrors {
            clerk_trace_id: Some(trace_id.to_owned()),
            errors: vec![types::ClerkError {
                code: self.code.to_owned(),
                long_message: self.long_message.clone(),
                message: self.message.clone(),
                meta: self.meta.clone(),
            }],
            meta: Map::new(),
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let trace_id = super::state::random_hex(32);
        let mut response = (self.status, axum::Json(self.body(&trace_id))).into_response();
        if let Ok(value) = HeaderValue::from_str(&trace_id) {
            response.headers_mut().insert("clerk-trace-id", value);
        }
        response
    }
}
