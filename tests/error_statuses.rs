//! Every error status the spec documents for every wrapped operation decodes
//! into `Error::Api` with Clerk's code, message and trace id.
//!
//! The statuses come from the spec the crate was generated from
//! (`clerk_machines::spec`), so a status Clerk documents in a new spec is
//! checked without touching this file.

mod common;

use clerk_machines::{spec, Clerk, ClerkConfig, Error, RetryConfig};
use common::*;
use futures::future::BoxFuture;
use futures::FutureExt;
use httpmock::MockServer;
use std::time::Duration;

const TOKEN_ID: &str = "mt_0123456789abcdef0123456789abcdef";
const MACHINE_KEY: &str = "ak_test_machine_key";
const API_KEY_ID: &str = "ak_3beecc9c60adb5f9b850e91a8ee1e992";
const USER_ID: &str = "user_2xhFjEI5X2qWRvtV13BzSj8H6Dk";

/// One wrapped operation, called with valid arguments.
type Call = fn(&Clerk) -> BoxFuture<'_, Result<(), Error>>;

/// The wrapped operations by `operationId`, with the key each is called with.
fn wrapped() -> Vec<(&'static str, &'static str, Call)> {
    vec![
        ("ListMachines", SECRET_KEY, |c| async move { c.machines().list().await.map(drop) }.boxed()),
        ("CreateMachine", SECRET_KEY, |c| {
            async move { c.machines().create("m", Vec::<String>::new(), None).await.map(drop) }.boxed()
        }),
        ("GetMachine", SECRET_KEY, |c| c.machines().get(MACHINE_ID).map(|r| r.map(drop)).boxed()),
        ("UpdateMachine", SECRET_KEY, |c| {
            async move { c.machines().update(MACHINE_ID).name("n").await.map(drop) }.boxed()
        }),
        ("DeleteMachine", SECRET_KEY, |c| c.machines().delete(MACHINE_ID).map(|r| r.map(drop)).boxed()),
        ("GetMachineSecretKey", SECRET_KEY, |c| {
            c.machines().secret_key(MACHINE_ID).map(|r| r.map(drop)).boxed()
        }),
        ("RotateMachineSecretKey", SECRET_KEY, |c| {
            c.machines().rotate_secret_key(MACHINE_ID, Duration::ZERO).map(|r| r.map(drop)).boxed()
        }),
        ("CreateMachineScope", SECRET_KEY, |c| {
            c.machines().add_scope(MACHINE_ID, OTHER_MACHINE_ID).map(|r| r.map(drop)).boxed()
        }),
        ("DeleteMachineScope", SECRET_KEY, |c| {
            c.machines().remove_scope(MACHINE_ID, OTHER_MACHINE_ID).map(|r| r.map(drop)).boxed()
        }),
        ("createM2MToken", MACHINE_KEY, |c| c.m2m().create_token().send().map(|r| r.map(drop)).boxed()),
        ("getM2MTokens", SECRET_KEY, |c| {
            async move { c.m2m().list_tokens(MACHINE_ID).await.map(drop) }.boxed()
        }),
        ("revokeM2MToken", SECRET_KEY, |c| {
            async move { c.m2m().revoke_token(TOKEN_ID).await.map(drop) }.boxed()
        }),
        ("verifyM2MToken", SECRET_KEY, |c| c.m2m().verify_token("mt_secret").map(|r| r.map(drop)).boxed()),
        ("createApiKey", SECRET_KEY, |c| {
            async move { c.api_keys().create("key", USER_ID).await.map(drop) }.boxed()
        }),
        ("getApiKeys", SECRET_KEY, |c| async move { c.api_keys().list(USER_ID).await.map(drop) }.boxed()),
        ("getApiKey", SECRET_KEY, |c| c.api_keys().get(API_KEY_ID).map(|r| r.map(drop)).boxed()),
        ("updateApiKey", SECRET_KEY, |c| {
            async move { c.api_keys().update(API_KEY_ID).description("d").await.map(drop) }.boxed()
        }),
        ("deleteApiKey", SECRET_KEY, |c| c.api_keys().delete(API_KEY_ID).map(|r| r.map(drop)).boxed()),
        ("getApiKeySecret", SECRET_KEY, |c| c.api_keys().secret(API_KEY_ID).map(|r| r.map(drop)).boxed()),
        ("revokeApiKey", SECRET_KEY, |c| {
            async move { c.api_keys().revoke(API_KEY_ID).await.map(drop) }.boxed()
        }),
        ("verifyApiKey", SECRET_KEY, |c| c.api_keys().verify("ak_secret").map(|r| r.map(drop)).boxed()),
        ("verifyOAuthAccessToken", SECRET_KEY, |c| {
            c.oauth_access_tokens().verify("oat_secret").map(|r| r.map(drop)).boxed()
        }),
    ]
}

/// The operation's path with its parameters filled in as the calls above fill them.
fn concrete_path(template: &str) -> String {
    template
        .replace("{machine_id}", MACHINE_ID)
        .replace("{other_machine_id}", OTHER_MACHINE_ID)
        .replace("{m2m_token_id}", TOKEN_ID)
        .replace("{apiKeyID}", API_KEY_ID)
}

#[tokio::test]
async fn every_documented_error_status_of_every_wrapped_operation_is_an_api_error() {
    let mut checked = 0;
    let mut documented = 0;
    for (id, key, call) in wrapped() {
        let operation = spec::operation(id).unwrap_or_else(|| panic!("{id} is not in the generated spec"));
        let statuses: Vec<u16> = operation.error_statuses().collect();
        assert!(!statuses.is_empty(), "{id} documents no error status");
        documented += statuses.len();
        let path = concrete_path(operation.path);
        for status in statuses {
            let server = MockServer::start_async().await;
            let code = format!("code_{status}");
            let trace = format!("trace-{id}-{status}");
            let mock = server.mock(|when, then| {
                when.method(operation.method).path(path.as_str());
                then.status(status)
                    .header("content-type", "application/json")
                    .json_body_obj(&error_body(&code, &trace));
            });
            // One attempt: a documented 429 or 503 must not be retried here.
            let config =
                ClerkConfig::default().with_base_url(server.base_url()).with_retry(RetryConfig::disabled());
            let clerk = Clerk::new(key, config).expect("client");
            let error = call(&clerk).await.expect_err(id);
            assert_api_error(&error, status, &code, &trace);
            assert_eq!(error.code(), Some(code.as_str()));
            assert_eq!(error.is_not_found(), status == 404, "{id} {status}");
            assert_eq!(mock.calls_async().await, 1, "{id} {status}: {} {path}", operation.method);
            checked += 1;
        }
    }
    assert_eq!(checked, documented);
    // The vendored spec documents 43 + 9 + 18 (API keys, OAuth): a new spec
    // may document more, never fewer.
    assert!(checked >= 70, "only {checked} documented (operation, error status) pairs");
}
