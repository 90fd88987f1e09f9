//! `M2mTokenSource`: caching, single flight, time-based refresh with a
//! controllable clock, shared failures and retry.
#![cfg(feature = "mock")]

use clerk_machines::m2m::{M2mTokenSource, TokenFormat};
use clerk_machines::mock::MockServerExt;
use clerk_machines::testing::ManualClock;
use clerk_machines::{types, Clerk, ClerkConfig, Error};
use httpmock::MockServer;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

const MACHINE_KEY: &str = "ak_test_source_key";
const CREATED_AT_MS: f64 = 1_753_743_316_590.0;

/// A frozen clock at a fixed start.
fn manual_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000)))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn created(token: &str, lifetime: Duration) -> types::CreateM2mTokenResponse {
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

fn source(server: &MockServer, clock: Arc<ManualClock>) -> M2mTokenSource {
    M2mTokenSource::builder(MACHINE_KEY, ClerkConfig::default().with_base_url(server.base_url()))
        .refresh_margin(Duration::from_secs(300))
        .clock(clock)
        .build()
        .unwrap()
}

#[test]
fn a_hundred_concurrent_callers_mint_one_token() {
    let server = MockServer::start();
    let mock = server.create_m2m_token(|when, then| {
        when.into_inner().header("authorization", format!("Bearer {MACHINE_KEY}"));
        // Keep the request in flight while the other callers arrive.
        then.created(&created("mt_secret_one", Duration::from_secs(3600)))
            .into_inner()
            .delay(Duration::from_millis(300));
    });
    let tokens = source(&server, manual_clock());
    let results = runtime().block_on(async {
        let tasks: Vec<_> = (0..100)
            .map(|_| {
                let tokens = tokens.clone();
                tokio::spawn(async move { tokens.token().await })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.unwrap());
        }
        results.push(tokens.token().await);
        results
    });
    assert_eq!(results.len(), 101);
    for result in results {
        assert_eq!(result.unwrap().expose_secret(), "mt_secret_one");
    }
    assert_eq!(mock.calls(), 1);
}

#[test]
fn a_token_is_reused_until_the_margin_then_refreshed() {
    let server = MockServer::start();
    let mock = server.create_m2m_token(|_, then| {
        then.created(&created("mt_secret_one", Duration::from_secs(3600)));
    });
    let clock = manual_clock();
    let tokens = source(&server, clock.clone());
    let rt = runtime();
    rt.block_on(tokens.token()).unwrap();
    assert_eq!(mock.calls(), 1);
    // 3600 s lifetime, 300 s margin: reused until 3300 s.
    clock.advance(Duration::from_secs(3299));
    rt.block_on(tokens.token()).unwrap();
    assert_eq!(mock.calls(), 1);
    clock.advance(Duration::from_secs(2));
    rt.block_on(tokens.token()).unwrap();
    assert_eq!(mock.calls(), 2);
    // The new token is counted from the time it was minted.
    clock.advance(Duration::from_secs(3299));
    rt.block_on(tokens.token()).unwrap();
    assert_eq!(mock.calls(), 2);
    tokens.invalidate();
    rt.block_on(tokens.token()).unwrap();
    assert_eq!(mock.calls(), 3);
}

#[test]
fn the_margin_is_capped_at_half_a_short_lifetime() {
    let server = MockServer::start();
    let mock = server.create_m2m_token(|_, then| {
        then.created(&created("mt_secret_short", Duration::from_secs(60)));
    });
    let clock = manual_clock();
    let tokens = source(&server, clock.clone()); // margin 300 s > 60 s lifetime
    let rt = runtime();
    rt.block_on(tokens.token()).unwrap();
    clock.advance(Duration::from_secs(29));
    rt.block_on(tokens.token()).unwrap();
    assert_eq!(mock.calls(), 1);
    clock.advance(Duration::from_secs(2));
    rt.block_on(tokens.token()).unwrap();
    assert_eq!(mock.calls(), 2);
}

#[test]
fn a_failed_refresh_reaches_every_waiter_and_the_next_call_retries() {
    let server = MockServer::start();
    let errors: types::ClerkErrors = serde_json::from_value(json!({
        "errors": [{"code": "machine_secret_key_invalid", "message": "bad key", "long_message": "bad key"}],
        "clerk_trace_id": "trace-source"
    }))
    .unwrap();
    let mut failing = server.create_m2m_token(|_, then| {
        then.bad_request(&errors);
    });
    let tokens = source(&server, manual_clock());
    // On a current-thread runtime, `join_all` polls every call once before the
    // response can arrive: all twenty wait on the same mint, whatever the timing.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let results = rt.block_on(futures::future::join_all((0..20).map(|_| tokens.token())));
    assert_eq!(failing.calls(), 1);
    for result in results {
        let error = result.unwrap_err();
        assert!(matches!(error, Error::TokenRefresh(_)), "{error:?}");
        assert_eq!(error.status().map(|s| s.as_u16()), Some(400));
        assert_eq!(error.code(), Some("machine_secret_key_invalid"));
        assert_eq!(error.trace_id(), Some("trace-source"));
    }
    failing.delete();
    let working = server.create_m2m_token(|_, then| {
        then.created(&created("mt_secret_two", Duration::from_secs(3600)));
    });
    assert_eq!(rt.block_on(tokens.token()).unwrap().expose_secret(), "mt_secret_two");
    assert_eq!(working.calls(), 1);
}

#[test]
fn minting_sends_the_configured_options() {
    let server = MockServer::start();
    let mock = server.create_m2m_token(|when, then| {
        when.into_inner().json_body(json!({
            "seconds_until_expiration": 900,
            "token_format": "jwt",
            "claims": {"service": "billing"}
        }));
        then.created(&created("eyJ.secret.jwt", Duration::from_secs(900)));
    });
    let clerk = Clerk::new(MACHINE_KEY, ClerkConfig::default().with_base_url(server.base_url())).unwrap();
    let tokens = M2mTokenSource::from_clerk(&clerk)
        .token_format(TokenFormat::Jwt)
        .ttl(Duration::from_secs(900))
        .claims(json!({"service": "billing"}))
        .build()
        .unwrap();
    let token = runtime().block_on(tokens.token()).unwrap();
    assert_eq!(token.expose_secret(), "eyJ.secret.jwt");
    mock.assert();
    let shown = format!("{tokens:?} {token:?} {token}");
    assert!(!shown.contains("eyJ.secret.jwt"), "{shown}");
    assert!(!shown.contains(MACHINE_KEY), "{shown}");
}

#[test]
fn the_builder_refuses_bad_options_before_sending() {
    let server = MockServer::start();
    let mock = server.create_m2m_token(|_, then| {
        then.created(&created("mt_secret_one", Duration::from_secs(3600)));
    });
    let config = || ClerkConfig::default().with_base_url(server.base_url());
    let cases = [
        (M2mTokenSource::builder("sk_test_instance", config()), "secret_key"),
        (M2mTokenSource::builder(MACHINE_KEY, config()).ttl(Duration::ZERO), "ttl"),
        (M2mTokenSource::builder(MACHINE_KEY, config()).ttl(Duration::from_millis(1500)), "ttl"),
        (
            M2mTokenSource::builder(MACHINE_KEY, config())
                .ttl(Duration::from_secs(60))
                .refresh_margin(Duration::from_secs(60)),
            "refresh_margin",
        ),
    ];
    for (builder, field) in cases {
        match builder.build() {
            Err(Error::InvalidInput { field: f, .. }) => assert_eq!(f, field),
            other => panic!("expected InvalidInput({field}), got {other:?}"),
        }
    }
    assert_eq!(mock.calls(), 0);
}
