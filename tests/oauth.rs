//! `verifyOAuthAccessToken` against httpmock: request shape, both answers
//! the spec documents, and invalid input that sends nothing.

mod common;

use clerk_machines::oauth::OAuthTokenVerification;
use clerk_machines::Error;
use common::*;
use httpmock::{Method, MockServer};
use serde_json::json;

const TOKEN: &str = "oat_8XOIucKvqHVr5tYP123456789abcdefghij";
const TOKEN_ID: &str = "oat_0ef5a7a33d87ed87ee7954c845d80450";
const USER_ID: &str = "user_2xhFjEI5X2qWRvtV13BzSj8H6Dk";

fn record(revoked: bool) -> serde_json::Value {
    json!({
        "object": "clerk_idp_oauth_access_token",
        "id": TOKEN_ID,
        "client_id": "client_2xhFjEI5X2qWRvtV13BzSj8H6Dk",
        "subject": USER_ID,
        "scopes": ["read", "write"],
        "revoked": revoked,
        "revocation_reason": if revoked { json!("user signed out") } else { json!(null) },
        "expired": false,
        "expiration": 1_716_883_200_000.0,
        "created_at": 1_716_879_600_000.0,
        "updated_at": 1_716_879_600_000.0
    })
}

#[tokio::test]
async fn verify_sends_the_token_as_access_token_and_reads_the_record() {
    let server = MockServer::start_async().await;
    let mock = server.mock(|when, then| {
        with_headers(
            when.method(Method::POST)
                .path("/oauth_applications/access_tokens/verify")
                .header("content-type", "application/json"),
        )
        .json_body(json!({"access_token": TOKEN}));
        then.status(200).json_body(record(false));
    });
    let answer = client(&server).oauth_access_tokens().verify(TOKEN).await.unwrap();
    mock.assert_async().await;
    let token = answer.active().expect("an active token");
    assert_eq!(token.id, TOKEN_ID);
    assert_eq!(token.subject, USER_ID);
    assert_eq!(token.client_id, "client_2xhFjEI5X2qWRvtV13BzSj8H6Dk");
    assert_eq!(token.scopes, ["read", "write"]);
}

#[tokio::test]
async fn a_revoked_record_is_known_but_not_active() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(Method::POST).path("/oauth_applications/access_tokens/verify");
        then.status(200).json_body(record(true));
    });
    let answer = client(&server).oauth_access_tokens().verify(TOKEN).await.unwrap();
    assert!(answer.active().is_none());
    match answer {
        OAuthTokenVerification::Token(token) => {
            assert!(token.revoked);
            assert_eq!(token.revocation_reason.as_deref(), Some("user signed out"));
        }
        other => panic!("expected the record, got {other:?}"),
    }
}

#[tokio::test]
async fn an_inactive_jwt_is_inactive() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(Method::POST).path("/oauth_applications/access_tokens/verify");
        then.status(200).json_body(json!({"active": false}));
    });
    let answer = client(&server).oauth_access_tokens().verify("a.b.c").await.unwrap();
    assert_eq!(answer, OAuthTokenVerification::Inactive);
    assert!(answer.active().is_none());
}

#[tokio::test]
async fn active_true_without_a_record_is_a_decoding_error() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(Method::POST).path("/oauth_applications/access_tokens/verify");
        then.status(200).json_body(json!({"active": true}));
    });
    let error = client(&server).oauth_access_tokens().verify(TOKEN).await.unwrap_err();
    assert!(matches!(error, Error::Decode { .. }), "{error:?}");
}

#[tokio::test]
async fn an_empty_token_sends_nothing() {
    let server = MockServer::start_async().await;
    let any = server.mock(|_, then| {
        then.status(500);
    });
    for empty in ["", " \t"] {
        match client(&server).oauth_access_tokens().verify(empty).await {
            Err(Error::InvalidInput { field, .. }) => assert_eq!(field, "access_token"),
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }
    assert_eq!(any.calls_async().await, 0);
}
