//! Verifying the machine credential of every request a service receives
//! (feature `tower`; the axum extractors with feature `axum`).
//!
//! [`AuthLayer`] wraps any `tower` service taking `http` requests (an axum
//! `Router`, a hyper service, ...): it reads the request's one
//! `Authorization: Bearer <token>` header, verifies the token with a
//! [`Verifier`] (which decides the kinds accepted: M2M tokens, API keys,
//! OAuth access tokens), and either passes the request on with the
//! [`Verified`] value in its extensions, or answers itself, mapping the
//! verifier's contract plainly:
//!
//! | outcome | status | body `reason` |
//! |---|---|---|
//! | no `Authorization` header | 401 | `token_missing` |
//! | two or more `Authorization` headers, another scheme than `Bearer` (any case), characters outside RFC 6750's `b64token` | 401 | `token_malformed` |
//! | a header longer than the verifier's [`max_token_length`](crate::verify::VerifierBuilder::max_token_length) | 401 | `token_too_long` (read no further) |
//! | [`VerifyError::Refused`] | 401 | [`Reason::code`] (`token_expired`, `signature_invalid`, `token_revoked`, `token_not_found`, `kind_not_accepted`, ...) |
//! | [`VerifyError::Unavailable`] (Clerk or the key set unreachable, 5xx, 429, this service's key refused, the call ceiling) | 503 | `verification_unavailable`, and a `WARN` event with the cause |
//!
//! 401 answers carry `WWW-Authenticate: Bearer realm="clerk"` (with
//! `error="invalid_token"` when a token was given, RFC 6750) and a JSON body
//! `{"error", "reason", "message"}` of fixed text: never the token nor
//! anything read from it.
//!
//! Handlers take the [`Verified`] enum, or one kind
//! ([`VerifiedM2mToken`], [`VerifiedApiKey`], [`VerifiedOAuthToken`]: a
//! request verified as another kind is answered 401 `kind_not_accepted`).
//!
//! ```no_run
//! # #[cfg(feature = "axum")]
//! # async fn demo(verifier: clerk_machines::verify::Verifier) {
//! use axum::routing::get;
//! use clerk_machines::server::AuthLayer;
//! use clerk_machines::verify::{Verified, VerifiedApiKey};
//!
//! async fn report(caller: Verified) -> String {
//!     format!("hello {} ({})", caller.subject(), caller.kind())
//! }
//! async fn keys_only(key: VerifiedApiKey) -> String {
//!     format!("hello {}", key.name)
//! }
//!
//! let app: axum::Router = axum::Router::new()
//!     .route("/report", get(report))
//!     .route("/scripts", get(keys_only))
//!     .layer(AuthLayer::new(verifier));
//! # let _ = app; }
//! ```
//!
//! [`VerifiedM2mToken`]: crate::verify::VerifiedM2mToken
//! [`VerifiedApiKey`]: crate::verify::VerifiedApiKey
//! [`VerifiedOAuthToken`]: crate::verify::VerifiedOAuthToken

#[cfg(feature = "axum")]
mod extract;

#[cfg(feature = "axum")]
pub use extract::AuthRejection;

use crate::verify::{bearer_token, Reason, Verified, Verifier, VerifyError};
use futures::future::BoxFuture;
use http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use std::task::{Context, Poll};

/// The realm named in `WWW-Authenticate`.
const REALM: &str = "clerk";
/// Room in an `Authorization` header beyond the token (`Bearer ` and spaces).
const SCHEME_ROOM: usize = 64;

/// A `tower` layer that verifies each request's bearer token; see the
/// [module documentation](self).
#[derive(Clone, Debug)]
pub struct AuthLayer {
    verifier: Verifier,
}

impl AuthLayer {
    /// A layer verifying with `verifier`: its options (the kinds accepted,
    /// the machine this service runs as, the caches, the ceiling) apply.
    pub fn new(verifier: Verifier) -> Self {
        Self { verifier }
    }
}

impl<S> tower_layer::Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Auth<S> {
        Auth { inner, verifier: self.verifier.clone() }
    }
}

/// The service [`AuthLayer`] wraps around another.
#[derive(Clone, Debug)]
pub struct Auth<S> {
    inner: S,
    verifier: Verifier,
}

impl<S, ReqBody, ResBody> tower_service::Service<Request<ReqBody>> for Auth<S>
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
            let outcome = match token_of(request.headers(), verifier.max_token_length()) {
                Ok(token) => verifier.verify(token).await.map_err(|error| {
                    if error.is_unavailable() {
                        // Not the caller's fault: the operator needs the cause
                        // (an error's text never holds a secret).
                        tracing::warn!(target: "clerk_machines::server", %error, "token could not be verified");
                    }
                    Rejection::of(&error)
                }),
                Err(reason) => Err(Rejection::refused(&reason, !matches!(reason, Reason::Missing))),
            };
            match outcome {
                Ok(verified) => {
                    request.extensions_mut().insert::<Verified>(verified);
                    inner.call(request).await
                }
                Err(rejection) => {
                    tracing::debug!(target: "clerk_machines::server", reason = rejection.reason, "token refused");
                    Ok(rejection.response())
                }
            }
        })
    }
}

/// The bearer token of a request: exactly one `Authorization` header (a
/// proxy and this service must not read different credentials), of scheme
/// `Bearer` in any case, at most `max_length` bytes of token (checked before
/// the header is read as text).
fn token_of(headers: &HeaderMap, max_length: usize) -> Result<&str, Reason> {
    let mut values = headers.get_all(AUTHORIZATION).into_iter();
    let header = values.next().ok_or(Reason::Missing)?;
    if values.next().is_some() {
        return Err(Reason::malformed_header("more than one Authorization header"));
    }
    if header.len() > max_length.saturating_add(SCHEME_ROOM) {
        return Err(Reason::TooLong { max: max_length });
    }
    let text =
        header.to_str().map_err(|_| Reason::malformed_header("the Authorization header is not text"))?;
    bearer_token(text)
        .ok_or_else(|| Reason::malformed_header("the Authorization header is not `Bearer <token>`"))
}

/// Why the layer (or an extractor) answers a request itself.
#[derive(Debug)]
pub(crate) struct Rejection {
    status: StatusCode,
    reason: &'static str,
    message: &'static str,
    /// Whether a token was presented (RFC 6750 then names the error).
    token_given: bool,
}

impl Rejection {
    pub(crate) fn refused(reason: &Reason, token_given: bool) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            reason: reason.code(),
            message: reason.public_message(),
            token_given,
        }
    }

    /// The verifier's answer, mapped: the token's fault is 401, anything else 503.
    fn of(error: &VerifyError) -> Self {
        match error {
            VerifyError::Refused(reason) => Self::refused(reason, true),
            _ => Self {
                status: StatusCode::SERVICE_UNAVAILABLE,
                reason: "verification_unavailable",
                message: "the token could not be verified now; try again shortly",
                token_given: true,
            },
        }
    }

    pub(crate) fn response<B: From<String>>(&self) -> Response<B> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&[u8]]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(AUTHORIZATION, HeaderValue::from_bytes(value).unwrap());
        }
        map
    }

    #[test]
    fn exactly_one_bearer_header_is_read() {
        assert_eq!(token_of(&headers(&[b"Bearer abc"]), 100), Ok("abc"));
        assert_eq!(token_of(&headers(&[b"bEaReR abc"]), 100), Ok("abc"));
        assert_eq!(token_of(&headers(&[]), 100), Err(Reason::Missing));
        let two_headers = headers(&[b"Bearer abc", b"Bearer abc"]);
        let two = token_of(&two_headers, 100);
        assert!(matches!(two, Err(Reason::Malformed { .. })), "{two:?}");
        for bad in [&b"Basic abc"[..], b"Bearer", b"abc", b"Bearer \xff\xfe"] {
            assert!(matches!(token_of(&headers(&[bad]), 100), Err(Reason::Malformed { .. })), "{bad:?}");
        }
        let long = format!("Bearer {}", "a".repeat(200));
        assert_eq!(token_of(&headers(&[long.as_bytes()]), 100), Err(Reason::TooLong { max: 100 }));
    }
}
