//! The eight API key operations against httpmock: request shape (method,
//! path, query, headers, body), decoded answers, and invalid input that
//! sends nothing (every documented error status is in `error_statuses.rs`).

mod common;

use clerk_machines::Error;
use common::*;
use futures::TryStreamExt;
use httpmock::{Method, MockServer};
use serde_json::{json, Value};
use std::time::Duration;

const KEY_ID: &str = "ak_3beecc9c60adb5f9b850e91a8ee1e992";
const USER_ID: &str = "user_2xhFjEI5X2qWRvtV13BzSj8H6Dk";
const SECRET: &str = "ak_LCWGdaM8mv8K4PC/57IICZQXAeWfCgF30DZaFXHoGn9=";

/// An API key as Clerk returns it.
fn key_json(id: &str, name: &str) -> Value {
    json!({
        "object": "api_key",
        "id": id,
        "type": "api_key",
        "subject": MACHINE_ID,
        "name": name,
        "description": "deploys",
        "claims": {"env": "prod"},
        "scopes": ["deploy"],
        "revoked": false,
        "revocation_reason": null,
        "expired": false,
        "expiration": 1_716_883_200_000.0,
        "created_by": USER_ID,
        "last_used_at": null,
        "created_at": 1_716_883_100_000.0,
        "updated_at": 1_716_883_100_000.0
    })
}

fn assert_invalid<T: std::fmt::Debug>(result: Result<T, Error>, field: &str) {
    match result {
        Err(Error::InvalidInput { field: got, .. }) => assert_eq!(got, field),
        other => panic!("expected InvalidInput({field}), got {other:?}"),
    }
}

/// A mock that answers anything, to show that invalid input sends nothing.
fn catch_all(server: &MockServer) -> httpmock::Mock<'_> {
    server.mock(|_, then| {
        then.status(500);
    })
}

#[tokio::test]
async fn create_sends_exactly_the_given_fields_and_returns_the_secret() {
    let server = MockServer::start_async().await;
    let mut created = key_json(KEY_ID, "ci-deploy");
    created["secret"] = json!(SECRET);
    let mock = server.mock(|when, then| {
        with_headers(when.method(Method::POST).path("/api_keys").header("content-type", "application/json"))
            .json_body(json!({
                "name": "ci-deploy",
                "subject": MACHINE_ID,
                "description": "deploys",
                "scopes": ["deploy", "read"],
                "claims": {"env": "prod"},
                "seconds_until_expiration": 3600,
                "created_by": USER_ID
            }));
        then.status(200).json_body(created.clone());
    });
    let clerk = client(&server);
    let key = clerk
        .api_keys()
        .create("ci-deploy", MACHINE_ID)
        .description("deploys")
        .scope("deploy")
        .scopes(["read"])
        .claims(json!({"env": "prod"}))
        .seconds_until_expiration(Duration::from_secs(3600))
        .created_by(USER_ID)
        .await
        .expect("created");
    mock.assert_async().await;
    assert_eq!(key.secret.expose_secret(), SECRET);
    assert_eq!(key.api_key.id, KEY_ID);
    assert_eq!(key.api_key.subject, MACHINE_ID);
    assert_eq!(key.api_key.key_type, "api_key");
    assert_eq!(key.api_key.claims, json!({"env": "prod"}));
    assert!(key.api_key.is_valid());
    assert!(key.api_key.expires_at().is_some());
    assert!(!format!("{key:?}").contains("LCWGdaM8"), "{key:?}");
    // Serialized, it is Clerk's shape again (without `object`), secret included.
    created.as_object_mut().unwrap().remove("object");
    assert_eq!(serde_json::to_value(&key).unwrap(), created);
}

#[tokio::test]
async fn create_without_options_sends_name_and_subject() {
    let server = MockServer::start_async().await;
    let mut created = key_json(KEY_ID, "bare");
    created["secret"] = json!(SECRET);
    let mock = server.mock(|when, then| {
        with_headers(when.method(Method::POST).path("/api_keys"))
            .json_body(json!({"name": "bare", "subject": USER_ID}));
        then.status(200).json_body(created.clone());
    });
    let clerk = client(&server);
    clerk.api_keys().create("bare", USER_ID).await.expect("created");
    clerk.api_keys().create("bare", USER_ID).send().await.expect("created by send()");
    assert_eq!(mock.calls_async().await, 2);
}

#[tokio::test]
async fn create_refuses_what_the_spec_refuses_without_sending() {
    let server = MockServer::start_async().await;
    let any = catch_all(&server);
    let clerk = client(&server);
    let keys = clerk.api_keys();
    let shortest = spec_field("createApiKey", "name").rules.min_length.expect("a minimum length") as usize;
    assert_invalid(keys.create("n".repeat(shortest - 1), USER_ID).await, "name");
    assert_invalid(keys.create(" padded ", USER_ID).await, "name");
    assert_invalid(keys.create("valid", "usr_2xhFjEI5X2qWRvtV13BzSj8H6Dk").await, "subject");
    assert_invalid(keys.create("valid", "user_short").await, "subject");
    let longest = max_length("createApiKey", "description");
    assert_invalid(keys.create("valid", USER_ID).description("d".repeat(longest + 1)).await, "description");
    assert_invalid(keys.create("valid", USER_ID).created_by(MACHINE_ID).await, "created_by");
    assert_invalid(
        keys.create("valid", USER_ID).seconds_until_expiration(Duration::ZERO).await,
        "seconds_until_expiration",
    );
    assert_invalid(
        keys.create("valid", USER_ID).seconds_until_expiration(Duration::from_millis(1500)).await,
        "seconds_until_expiration",
    );
    assert_eq!(any.calls_async().await, 0);
}

#[tokio::test]
async fn list_sends_the_filters_and_pages_and_streams_every_key() {
    let server = MockServer::start_async().await;
    let first = server.mock(|when, then| {
        with_headers(when.method(Method::GET).path("/api_keys"))
            .query_param("subject", MACHINE_ID)
            .query_param("include_invalid", "true")
            .query_param("query", "ci")
            .query_param("limit", "2")
            .query_param_missing("offset");
        then.status(200).json_body(json!({
            "data": [key_json(KEY_ID, "ci-1"), key_json("ak_00000000000000000000000000000002", "ci-2")],
            "total_count": 3
        }));
    });
    let second = server.mock(|when, then| {
        with_headers(when.method(Method::GET).path("/api_keys"))
            .query_param("subject", MACHINE_ID)
            .query_param("offset", "2");
        then.status(200).json_body(json!({
            "data": [key_json("ak_00000000000000000000000000000003", "ci-3")],
            "total_count": 3
        }));
    });
    let clerk = client(&server);
    let page = clerk.api_keys().list(MACHINE_ID).include_invalid(true).query("ci").limit(2).await.unwrap();
    assert_eq!(page.total_count, 3);
    assert_eq!(page.items.iter().map(|k| k.name.as_str()).collect::<Vec<_>>(), ["ci-1", "ci-2"]);
    let all: Vec<_> = clerk
        .api_keys()
        .list(MACHINE_ID)
        .include_invalid(true)
        .query("ci")
        .limit(2)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[2].name, "ci-3");
    assert_eq!(first.calls_async().await, 2);
    assert_eq!(second.calls_async().await, 1);
}

#[tokio::test]
async fn list_checks_the_subject_and_page_size_first() {
    let server = MockServer::start_async().await;
    let any = catch_all(&server);
    let clerk = client(&server);
    assert_invalid(clerk.api_keys().list("app_2xhFjEI5X2qWRvtV13BzSj8H6Dk").await, "subject");
    let largest = largest("getApiKeys", "limit") as u32;
    assert_invalid(clerk.api_keys().list(USER_ID).limit(largest + 1).await, "limit");
    assert_invalid(clerk.api_keys().list(USER_ID).limit(0).await, "limit");
    assert_eq!(any.calls_async().await, 0);
}

#[tokio::test]
async fn get_delete_and_secret_address_the_key_by_id() {
    let server = MockServer::start_async().await;
    let get = server.mock(|when, then| {
        with_headers(when.method(Method::GET).path(format!("/api_keys/{KEY_ID}")));
        then.status(200).json_body(key_json(KEY_ID, "ci"));
    });
    let delete = server.mock(|when, then| {
        with_headers(when.method(Method::DELETE).path(format!("/api_keys/{KEY_ID}")));
        then.status(200).json_body(json!({"object": "api_key", "id": KEY_ID, "deleted": true}));
    });
    let secret = server.mock(|when, then| {
        with_headers(when.method(Method::GET).path(format!("/api_keys/{KEY_ID}/secret")));
        then.status(200).json_body(json!({"secret": SECRET}));
    });
    let clerk = client(&server);
    let key = clerk.api_keys().get(KEY_ID).await.unwrap();
    assert_eq!((key.id.as_str(), key.name.as_str()), (KEY_ID, "ci"));
    assert_eq!(key.description.as_deref(), Some("deploys"));
    let deleted = clerk.api_keys().delete(KEY_ID).await.unwrap();
    assert!(deleted.deleted);
    let shown = clerk.api_keys().secret(KEY_ID).await.unwrap();
    assert_eq!(shown.expose_secret(), SECRET);
    assert_eq!(format!("{shown:?}"), "[REDACTED]");
    for mock in [get, delete, secret] {
        assert_eq!(mock.calls_async().await, 1);
    }
}

#[tokio::test]
async fn ids_outside_the_spec_pattern_are_refused_without_sending() {
    let server = MockServer::start_async().await;
    let any = catch_all(&server);
    let clerk = client(&server);
    let keys = clerk.api_keys();
    for bad in
        ["", "..", "ak_xyz", "mt_3beecc9c60adb5f9b850e91a8ee1e992", "ak_3beecc9c60adb5f9b850e91a8ee1e99/"]
    {
        assert_invalid(keys.get(bad).await, "apiKeyID");
        assert_invalid(keys.delete(bad).await, "apiKeyID");
        assert_invalid(keys.secret(bad).await, "apiKeyID");
        assert_invalid(keys.revoke(bad).await, "apiKeyID");
        assert_invalid(keys.update(bad).scopes(["a"]).await, "apiKeyID");
    }
    // The spec's pattern also takes the older `api_key_` prefix.
    assert!(clerk_machines::ids::is_api_key_id("api_key_3beecc9c60adb5f9b850e91a8ee1e992"));
    assert_eq!(any.calls_async().await, 0);
}

#[tokio::test]
async fn update_sends_only_what_is_set() {
    let server = MockServer::start_async().await;
    let mock = server.mock(|when, then| {
        with_headers(when.method(Method::PATCH).path(format!("/api_keys/{KEY_ID}"))).json_body(json!({
            "description": "new",
            "scopes": ["read"],
            "claims": {"tier": 2},
            "subject": USER_ID,
            "seconds_until_expiration": 60
        }));
        then.status(200).json_body(key_json(KEY_ID, "ci"));
    });
    let only_scopes = server.mock(|when, then| {
        with_headers(when.method(Method::PATCH).path(format!("/api_keys/{KEY_ID}")))
            .json_body(json!({"scopes": ["a", "b"]}));
        then.status(200).json_body(key_json(KEY_ID, "ci"));
    });
    let clerk = client(&server);
    let key = clerk
        .api_keys()
        .update(KEY_ID)
        .description("new")
        .scopes(["read"])
        .claims(json!({"tier": 2}))
        .subject(USER_ID)
        .seconds_until_expiration(Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(key.id, KEY_ID);
    clerk.api_keys().update(KEY_ID).scopes(["a", "b"]).send().await.unwrap();
    assert_eq!(mock.calls_async().await, 1);
    assert_eq!(only_scopes.calls_async().await, 1);
}

#[tokio::test]
async fn updates_that_change_nothing_or_break_the_spec_send_nothing() {
    let server = MockServer::start_async().await;
    let any = catch_all(&server);
    let clerk = client(&server);
    assert_invalid(clerk.api_keys().update(KEY_ID).await, "update");
    assert_invalid(clerk.api_keys().update(KEY_ID).scopes(Vec::<String>::new()).await, "scopes");
    assert_invalid(clerk.api_keys().update(KEY_ID).claims(json!(null)).await, "update");
    assert_invalid(clerk.api_keys().update(KEY_ID).subject("user_x").await, "subject");
    let longest = max_length("updateApiKey", "description");
    assert_invalid(clerk.api_keys().update(KEY_ID).description("d".repeat(longest + 1)).await, "description");
    assert_eq!(any.calls_async().await, 0);
}

#[tokio::test]
async fn revoke_sends_the_reason_when_given() {
    let server = MockServer::start_async().await;
    let mut revoked = key_json(KEY_ID, "ci");
    revoked["revoked"] = json!(true);
    revoked["revocation_reason"] = json!("leaked");
    let with_reason = server.mock(|when, then| {
        with_headers(when.method(Method::POST).path(format!("/api_keys/{KEY_ID}/revoke")))
            .json_body(json!({"revocation_reason": "leaked"}));
        then.status(200).json_body(revoked.clone());
    });
    let without = server.mock(|when, then| {
        with_headers(when.method(Method::POST).path(format!("/api_keys/{KEY_ID}/revoke")))
            .json_body(json!({}));
        then.status(200).json_body(revoked.clone());
    });
    let clerk = client(&server);
    let key = clerk.api_keys().revoke(KEY_ID).reason("leaked").await.unwrap();
    assert!(key.revoked && !key.is_valid());
    assert_eq!(key.revocation_reason.as_deref(), Some("leaked"));
    clerk.api_keys().revoke(KEY_ID).send().await.unwrap();
    assert_eq!(with_reason.calls_async().await, 1);
    assert_eq!(without.calls_async().await, 1);
}

#[tokio::test]
async fn verify_sends_the_secret_in_the_body() {
    let server = MockServer::start_async().await;
    let mock = server.mock(|when, then| {
        with_headers(when.method(Method::POST).path("/api_keys/verify")).json_body(json!({"secret": SECRET}));
        then.status(200).json_body(key_json(KEY_ID, "ci"));
    });
    let clerk = client(&server);
    let key = clerk.api_keys().verify(SECRET).await.unwrap();
    assert_eq!(key.subject, MACHINE_ID);
    assert_eq!(key.scopes, ["deploy"]);
    mock.assert_async().await;

    let any = catch_all(&server);
    assert_invalid(clerk.api_keys().verify("").await, "secret");
    assert_invalid(clerk.api_keys().verify("  ").await, "secret");
    assert_eq!(any.calls_async().await, 0);
}

#[tokio::test]
async fn verify_of_an_unknown_secret_is_clerks_404() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(Method::POST).path("/api_keys/verify");
        then.status(404).json_body_obj(&error_body("resource_not_found", "trace-ak"));
    });
    let error = client(&server).api_keys().verify(SECRET).await.unwrap_err();
    assert!(error.is_not_found(), "{error:?}");
    assert_eq!(error.trace_id(), Some("trace-ak"));
}
