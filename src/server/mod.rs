//! Verifying the M2M token of every request a service receives (feature
//! `tower`; the axum extractor with feature `axum`).
//!
//! [`M2mAuthLayer`] wraps any `tower` service taking `http` requests (an
//! axum `Router`, a hyper service, ...): it reads `Authorization: Bearer
//! <token>`, verifies it with an [`M2mVerifier`], and either passes the
//! request on with the [`VerifiedM2mToken`] in its extensions, or answers
//! itself:
//!
//! | outcome | status | body `reason` |
//! |---|---|---|
//! | no or malformed `Authorization` | 401 | `token_missing`, `token_malformed` |
//! | token rejected locally | 401 | [`VerifyError::code`] (`token_expired`, `signature_invalid`, `token_not_scoped`, ...) |
//! | opaque token refused by Clerk | 401 | `token_revoked`, `token_expired` (from Clerk's error code), else `token_refused_by_clerk` |
//! | Clerk or the key set unreachable (or the key set refused), or this service's own key refused | 503 | `verification_unavailable`, and a `WARN` event with the cause |
//!
//! 401 answers carry `WWW-Authenticate: Bearer realm="clerk-m2m"` (with
//! `error="invalid_token"` when a token was given, RFC 6750) and a JSON body
//! `{"error", "reason", "message"}` that names the reason and never echoes
//! the token or anything read from it.
//!
//! ```no_run
//! # #[cfg(feature = "axum")]
//! # async fn demo(verifier: clerk_machines::m2m::M2mVerifier) {
//! use axum::routing::get;
//! use clerk_machines::m2m::VerifiedM2mToken;
//! use clerk_machines::server::M2mAuthLayer;
//!
//! async fn report(caller: VerifiedM2mToken) -> String {
//!     format!("hello {}", caller.machine_id)
//! }
//!
//! let app: axum::Router = axum::Router::new().route("/report", get(report)).layer(M2mAuthLayer::new(verifier));
//! # let _ = app; }
//! ```

#[cfg(feature = "axum")]
mod extract;

#[cfg(feature = "axum")]
pub use extract::MissingM2mAuth;

use crate::error::Error;
use crate::ids::M2M_TOKEN_PREFIX;
use crate::m2m::{bearer_token, M2mVerifier, VerifiedM2mToken, VerifyError};
use futures::future::BoxFuture;
use http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, Request, Response, StatusCode};
use std::task::{Context, Poll};

/// The realm named in `WWW-Authenticate`.
const REALM: &str = "clerk-m2m";

/// A `tower` layer that verifies each request's bearer M2M token; see the
/// [module documentation](self).
#[derive(Clone, Debug)]
pub struct M2mAuthLayer {
    verifier: M2mVerifier,
}

impl M2mAuthLayer {
    /// A layer verifying with `verifier`: its options (the machine this
    /// service runs as, the accepted formats, the opaque-token cache) apply.
    pub fn new(verifier: M2mVerifier) -> Self {
        Self { verifier }
    }
}

impl<S> tower_layer::Layer<S> for M2mAuthLayer {
    type Service = M2mAuth<S>;

    fn layer(&self, inner: S) -> M2mAuth<S> {
        M2mAuth { inner, verifier: self.verifier.clone() }
    }
}

/// The service [`M2mAuthLayer`] wraps around another.
#[derive(Clone, Debug)]
pub struct M2mAuth<S> {
    inner: S,
    verifier: M2mVerifier,
}

impl<S, ReqBody, ResBody> tower_service::Service<Request<ReqBody>> for M2mAuth<S>
where
    S: tower_service::Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: From<String>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response<ResBody>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        // The service polled ready takes this request; a clone waits for the next.
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        let verifier = self.verifier.clone();
        Box::pin(async move {
            let outcome = match token_of(&request) {
                Ok(token) => verifier.verify(token).await.map_err(|error| {
                    let rejection = Rejection::of(&error, token);
                    if rejection.status == StatusCode::SERVICE_UNAVAILABLE {
                        // Not the caller's fault: the operator needs the cause
                        // (an error's text never holds a secret).
                        tracing::warn!(target: "clerk_machines::server", %error, "M2M token could not be verified");
                    }
                    rejection
                }),
                Err(rejection) => Err(rejection),
            };
            match outcome {
                Ok(verified) => {
                    request.extensions_mut().insert::<VerifiedM2mToken>(verified);
                    inner.call(request).await
                }
                Err(rejection) => {
                    tracing::debug!(target: "clerk_machines::server", reason = rejection.reason, "M2M token rejected");
                    Ok(rejection.response())
                }
            }
        })
    }
}

/// The bearer token of a request.
fn token_of<B>(request: &Request<B>) -> Result<&str, Rejection> {
    let Some(header) = request.headers().get(AUTHORIZATION) else {
        return Err(Rejection::unauthorized(&VerifyError::Missing, false));
    };
    let malformed = || Rejection::unauthorized(&VerifyError::malformed_header(), true);
    header.to_str().ok().and_then(bearer_token).ok_or_else(malformed)
}

/// Why the layer answers a request itself.
#[derive(Debug)]
struct Rejection {
    status: StatusCode,
    reason: &'static str,
    message: &'static str,
    /// Whether a token was presented (RFC 6750 then names the error).
    token_given: bool,
}

impl Rejection {
    fn unauthorized(reason: &VerifyError, token_given: bool) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            reason: reason.code(),
            message: reason.public_message(),
            token_given,
        }
    }

    fn unavailable() -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            reason: "verification_unavailable",
            message: "the token could not be verified now; try again shortly",
            token_given: true,
        }
    }

    /// The answer for a failed verification of `token`: the token's fault
    /// (401), or not (503).
    fn of(error: &Error, token: &str) -> Self {
        let opaque = token.starts_with(M2M_TOKEN_PREFIX);
        match error {
            Error::Verify(VerifyError::KeysUnavailable) => Self::unavailable(),
            Error::Verify(reason) => Self::unauthorized(reason, true),
            // Clerk refused the opaque token itself: unknown (or not granted
            // to this machine), expired, revoked, malformed. (For a JWT the
            // same statuses come from the key set's fetch: not its fault.)
            Error::Api { status, .. } if opaque && matches!(status.as_u16(), 400 | 404 | 422) => {
                match error.code() {
                    Some("token_revoked") => Self::unauthorized(&VerifyError::Revoked, true),
                    Some("token_expired") => Self::unauthorized(&VerifyError::Expired, true),
                    _ => Self {
                        status: StatusCode::UNAUTHORIZED,
                        reason: "token_refused_by_clerk",
                        message: "Clerk does not accept this token",
                        token_given: true,
                    },
                }
            }
            // This service's own key refused, rate limited, Clerk down or unreachable.
            _ => Self::unavailable(),
        }
    }

    fn response<B: From<String>>(&self) -> Response<B> {
        let body = serde_json::json!({
            "error": if self.status == StatusCode::UNAUTHORIZED { "invalid_token" } else { "temporarily_unavailable" },
            "reason": self.reason,
            "message": self.message,
        });
        let mut response = Response::new(B::from(body.to_string()));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if self.status == StatusCode::UNAUTHORIZED {
            let challenge = if self.token_given {
                format!(
                    "Bearer realm=\"{REALM}\", error=\"invalid_token\", error_description=\"{}\"",
                    self.message
                )
            } else {
                format!("Bearer realm=\"{REALM}\"")
            };
            if let Ok(value) = HeaderValue::try_from(challenge) {
                headers.insert(WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}
