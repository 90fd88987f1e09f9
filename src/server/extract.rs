//! The axum extractors (feature `axum`): [`Verified`], and one per kind.

use super::Rejection;
use crate::verify::{Reason, TokenKind, Verified, VerifiedApiKey, VerifiedM2mToken, VerifiedOAuthToken};
use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use http::StatusCode;

/// Why an extractor of a verified caller did not give one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthRejection {
    /// No [`AuthLayer`](super::AuthLayer) verified the request: a server
    /// misconfiguration, answered with 500 (never a 200 without a verified caller).
    NoLayer,
    /// The request was verified as another kind than the handler takes
    /// (answered 401 `kind_not_accepted`, as the layer would).
    OtherKind {
        /// The kind of the token the request carried.
        kind: TokenKind,
    },
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match self {
            AuthRejection::NoLayer => {
                let message =
                    "no verified caller: put clerk_machines::server::AuthLayer in front of this route";
                (StatusCode::INTERNAL_SERVER_ERROR, message).into_response()
            }
            AuthRejection::OtherKind { kind } => {
                Rejection::refused(&Reason::KindNotAccepted { kind }, true).response()
            }
        }
    }
}

fn verified(parts: &Parts) -> Result<&Verified, AuthRejection> {
    parts.extensions.get::<Verified>().ok_or(AuthRejection::NoLayer)
}

/// A handler argument of type [`Verified`] reads the caller that
/// [`AuthLayer`](super::AuthLayer) verified for this request, of any kind it accepts.
impl<S: Send + Sync> FromRequestParts<S> for Verified {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        verified(parts).cloned()
    }
}

/// One extractor per kind: the verified caller when it is of that kind.
macro_rules! kind_extractor {
    ($type:ty, $variant:ident, $doc:literal) => {
        #[doc = $doc]
        impl<S: Send + Sync> FromRequestParts<S> for $type {
            type Rejection = AuthRejection;

            async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
                match verified(parts)? {
                    Verified::$variant(token) => Ok(token.clone()),
                    other => Err(AuthRejection::OtherKind { kind: other.kind() }),
                }
            }
        }
    };
}

kind_extractor!(
    VerifiedM2mToken,
    M2m,
    "A handler argument of type [`VerifiedM2mToken`]: the request's verified M2M token (401 for another kind)."
);
kind_extractor!(
    VerifiedApiKey,
    ApiKey,
    "A handler argument of type [`VerifiedApiKey`]: the request's verified API key (401 for another kind)."
);
kind_extractor!(
    VerifiedOAuthToken,
    OAuth,
    "A handler argument of type [`VerifiedOAuthToken`]: the request's verified OAuth token (401 for another kind)."
);
