//! `verifyOAuthAccessToken`, and the test-only routes that issue and revoke
//! OAuth access tokens (Clerk issues them in its OAuth flow, which the fake
//! does not have).

use super::{checked_body, object, ok, string_field, App, Shared};
use crate::errors::{Failure, Outcome};
use crate::oauth::{IssuedOAuthToken, OAuthTokenOptions};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::Value;

pub(super) async fn verify(State(app): App, headers: HeaderMap, body: Bytes) -> Response {
    ok((|| {
        app.instance(&headers)?;
        let body = checked_body("verifyOAuthAccessToken", &[], &body)?;
        // `secret` is the spec's deprecated name of `access_token`.
        let token = string_field(&body, "access_token")
            .or_else(|| string_field(&body, "secret"))
            .filter(|token| !token.is_empty())
            .ok_or_else(|| Failure::bad_request("access_token", "access_token is required."))?;
        app.model().oauth.verify(&token, app.now_ms())
    })())
}

/// Issues a token (the hook behind `FakeClerk::issue_oauth_access_token`).
pub(crate) async fn issue(app: &Shared, options: &OAuthTokenOptions) -> Outcome<IssuedOAuthToken> {
    let signer = match options.jwt_typ {
        Some(_) => Some(app.signer().await?),
        None => None,
    };
    let now = app.now_ms();
    app.model().oauth.issue(options, now, signer.as_deref(), &app.issuer)
}

/// `POST /__fake/oauth_access_tokens` (instance key): the body is an
/// `OAuthTokenOptions` in JSON (`subject`, and optionally `client_id`,
/// `scopes`, `lifetime` in seconds, `jwt_typ`); the answer `{id, token, expiration}`.
pub(super) async fn issue_route(State(app): App, headers: HeaderMap, body: Bytes) -> Response {
    let options = (|| {
        app.instance(&headers)?;
        serde_json::from_slice::<OAuthTokenOptions>(&body).map_err(|e| {
            Failure::bad_request("body", format!("Expected the fake's OAuth token options: {e}"))
        })
    })();
    match options {
        Ok(options) => ok(issue(&app, &options).await),
        Err(failure) => ok::<Value>(Err(failure)),
    }
}

/// `POST /__fake/oauth_access_tokens/{id}/revoke` (instance key), body
/// `{"revocation_reason": ...}` optional: `{id, revoked: true}`.
pub(super) async fn revoke_route(
    State(app): App,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    ok((|| {
        app.instance(&headers)?;
        let reason = string_field(&object(&body)?, "revocation_reason");
        let now = app.now_ms();
        if app.model().oauth.revoke(&id, reason, now) {
            Ok(serde_json::json!({"id": id, "revoked": true}))
        } else {
            Err(Failure::not_found("OAuth access token"))
        }
    })())
}
