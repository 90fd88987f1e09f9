//! The axum extractor for [`VerifiedM2mToken`] (feature `axum`).

use crate::m2m::VerifiedM2mToken;
use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use http::StatusCode;

/// A handler argument of type [`VerifiedM2mToken`] reads the token that
/// [`M2mAuthLayer`](super::M2mAuthLayer) verified for this request.
impl<S: Send + Sync> FromRequestParts<S> for VerifiedM2mToken {
    type Rejection = MissingM2mAuth;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<VerifiedM2mToken>().cloned().ok_or(MissingM2mAuth)
    }
}

/// The rejection of the [`VerifiedM2mToken`] extractor when no
/// [`M2mAuthLayer`](super::M2mAuthLayer) verified the request: a server misconfiguration, answered
/// with 500 (never a 200 without a verified caller).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MissingM2mAuth;

impl IntoResponse for MissingM2mAuth {
    fn into_response(self) -> Response {
        let message =
            "no verified M2M token: put clerk_machines::server::M2mAuthLayer in front of this route";
        (StatusCode::INTERNAL_SERVER_ERROR, message).into_response()
    }
}
