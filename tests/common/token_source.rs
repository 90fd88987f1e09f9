//! The token source's fixtures: a frozen clock, Clerk's mint answer, a
//! source that has minted its first token, and Clerk failing to mint.
//! Shared by `m2m_token_source` and `token_source_tracing` (which runs alone
//! in its own binary: see there).

use clerk_machines::m2m::{M2mTokenSource, M2mTokenSourceStatus};
use clerk_machines::mock::MockServerExt;
use clerk_machines::testing::ManualClock;
use clerk_machines::{types, ClerkConfig, Error};
use httpmock::MockServer;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

pub const MACHINE_KEY: &str = "ak_test_source_key";
pub const CREATED_AT_MS: f64 = 1_753_743_316_590.0;

/// A frozen clock at a fixed start.
pub fn manual_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000)))
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

pub fn created(token: &str, lifetime: Duration) -> types::CreateM2mTokenResponse {
    let value: Value = json!({
        "object": "machine_to_machine_token",
        "id": "mt_0123456789abcdef0123456789abcdef",
        "subject": "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk",
        "scopes": [],
        "token": token,
        "revoked": false,
        "revocation_reason": null,
        "expired": false,
        "expiration": CREATED_AT_MS + lifetime.as_millis() as f64,
        "last_used_at": null,
        "created_at": CREATED_AT_MS,
        "updated_at": CREATED_AT_MS
    });
    serde_json::from_value(value).unwrap()
}

pub fn source(server: &MockServer, clock: Arc<ManualClock>) -> M2mTokenSource {
    M2mTokenSource::builder(MACHINE_KEY, ClerkConfig::default().with_base_url(server.base_url()))
        .refresh_margin(Duration::from_secs(300))
        .clock(clock)
        .build()
        .unwrap()
}

/// A source that has minted its first token (`mt_secret_one`, an hour),
/// on a frozen clock; the mock of that mint is gone, so that what a test
/// mocks next answers the refreshes.
pub fn minted_source(server: &MockServer) -> (M2mTokenSource, Arc<ManualClock>, tokio::runtime::Runtime) {
    let mut first = server.create_m2m_token(|_, then| {
        then.created(&created("mt_secret_one", Duration::from_secs(3600)));
    });
    let clock = manual_clock();
    let tokens = source(server, clock.clone());
    let rt = runtime();
    assert_eq!(secret(rt.block_on(tokens.token())), "mt_secret_one");
    first.delete();
    (tokens, clock, rt)
}

/// The status once the refresh running (if any) has ended. Only the
/// request's round trip is waited for: the source's times are on its clock.
pub async fn settled(tokens: &M2mTokenSource) -> M2mTokenSourceStatus {
    for _ in 0..2_000 {
        let status = tokens.status();
        if !status.refreshing {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the refresh did not end within 10 s: {:?}", tokens.status());
}

/// Clerk failing to mint: `status` with Clerk's error body (code
/// `service_unavailable`, trace id `trace-outage`) and `Retry-After` if given.
pub fn failing<'s>(server: &'s MockServer, status: u16, retry_after: Option<&str>) -> httpmock::Mock<'s> {
    server.create_m2m_token(|_, then| {
        let mut then = then
            .into_inner()
            .status(status)
            .header("content-type", "application/json")
            .json_body_obj(&super::error_body("service_unavailable", "trace-outage"));
        if let Some(wait) = retry_after {
            then = then.header("retry-after", wait);
        }
        let _ = then;
    })
}

pub fn secret(result: Result<clerk_machines::SecretString, Error>) -> String {
    result.unwrap().expose_secret().to_owned()
}
