//! `M2mTokenSource`: caching, single flight, refresh ahead with a
//! controllable clock, and riding out Clerk's failures (a valid token served
//! through an outage, a shared backoff, `Retry-After`, recovery), against
//! httpmock, a scripted TCP server and the fake.
#![cfg(feature = "mock")]

mod common;

use clerk_machines::m2m::{M2mTokenSource, TokenFormat};
use clerk_machines::mock::MockServerExt;
use clerk_machines::testing::ManualClock;
use clerk_machines::{types, Clerk, ClerkConfig, Error, RetryConfig};
use clerk_machines_fake::FakeClerk;
use futures::FutureExt;
use httpmock::MockServer;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

use common::token_source::*;

/// A refresh failure as every caller sees it: typed, with Clerk's answer.
fn assert_refresh_failure(error: &Error, status: u16, code: &str, trace_id: &str) {
    assert!(matches!(error, Error::TokenRefresh(_)), "{error:?}");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(status), "{error:?}");
    assert_eq!(error.code(), Some(code));
    assert_eq!(error.trace_id(), Some(trace_id));
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
fn a_token_is_reused_until_the_margin_then_refreshed_in_the_background() {
    let server = MockServer::start();
    let mut mock = server.create_m2m_token(|_, then| {
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
    assert_eq!(rt.block_on(settled(&tokens)).consecutive_failures, 0);
    assert_eq!(mock.calls(), 1);
    mock.delete();
    let mock = server.create_m2m_token(|_, then| {
        then.created(&created("mt_secret_two", Duration::from_secs(3600)));
    });
    clock.advance(Duration::from_secs(2));
    // In the window: the cached token, and a refresh in the background.
    assert_eq!(secret(rt.block_on(tokens.token())), "mt_secret_one");
    rt.block_on(settled(&tokens));
    assert_eq!(mock.calls(), 1);
    assert_eq!(secret(rt.block_on(tokens.token())), "mt_secret_two");
    // The new token is counted from the time it was minted.
    clock.advance(Duration::from_secs(3299));
    rt.block_on(tokens.token()).unwrap();
    rt.block_on(settled(&tokens));
    assert_eq!(mock.calls(), 1);
    tokens.invalidate();
    assert_eq!(tokens.status().valid_for, None);
    rt.block_on(tokens.token()).unwrap();
    assert_eq!(mock.calls(), 2, "no valid token: the call waited for a mint");
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
    // Margin 30 s, safety allowance 5 s (at most a quarter of the margin).
    assert_eq!(tokens.status().valid_for, Some(Duration::from_secs(55)));
    clock.advance(Duration::from_secs(29));
    rt.block_on(tokens.token()).unwrap();
    assert_eq!(mock.calls(), 1);
    clock.advance(Duration::from_secs(2));
    rt.block_on(tokens.token()).unwrap();
    rt.block_on(settled(&tokens));
    assert_eq!(mock.calls(), 2);
}

#[test]
fn a_failed_mint_reaches_every_waiter_and_the_next_attempt_waits_for_the_backoff() {
    let server = MockServer::start();
    let errors: types::ClerkErrors = serde_json::from_value(json!({
        "errors": [{"code": "machine_secret_key_invalid", "message": "bad key", "long_message": "bad key"}],
        "clerk_trace_id": "trace-source"
    }))
    .unwrap();
    let mut failing = server.create_m2m_token(|_, then| {
        then.bad_request(&errors);
    });
    let clock = manual_clock();
    let tokens = source(&server, clock.clone());
    // On a current-thread runtime, `join_all` polls every call once before the
    // response can arrive: all twenty wait on the same mint, whatever the timing.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let results = rt.block_on(futures::future::join_all((0..20).map(|_| tokens.token())));
    assert_eq!(failing.calls(), 1);
    for result in results {
        assert_refresh_failure(&result.unwrap_err(), 400, "machine_secret_key_invalid", "trace-source");
    }
    // Backing off: the next calls get the same failure at once, nothing is sent.
    let status = tokens.status();
    assert_eq!((status.consecutive_failures, status.valid_for, status.refreshing), (1, None, false));
    let wait = status.next_attempt_in.unwrap();
    assert!(wait >= Duration::from_millis(500) && wait <= Duration::from_secs(1), "{wait:?}");
    for _ in 0..10 {
        let error = rt.block_on(tokens.token()).unwrap_err();
        assert_refresh_failure(&error, 400, "machine_secret_key_invalid", "trace-source");
    }
    assert_eq!(failing.calls(), 1);
    failing.delete();
    let working = server.create_m2m_token(|_, then| {
        then.created(&created("mt_secret_two", Duration::from_secs(3600)));
    });
    clock.advance(wait);
    assert_eq!(secret(rt.block_on(tokens.token())), "mt_secret_two");
    assert_eq!(working.calls(), 1);
    let status = tokens.status();
    assert_eq!((status.consecutive_failures, status.next_attempt_in.is_none()), (0, true));
    assert!(status.last_failure.is_none());
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
        (
            M2mTokenSource::builder(MACHINE_KEY, config())
                .refresh_backoff(Duration::ZERO, Duration::from_secs(1)),
            "refresh_backoff",
        ),
        (
            M2mTokenSource::builder(MACHINE_KEY, config())
                .refresh_backoff(Duration::from_secs(2), Duration::from_secs(1)),
            "refresh_backoff",
        ),
        // min_remaining_ttl: below the lifetime, whole seconds, opaque tokens, a known lifetime.
        (
            M2mTokenSource::builder(MACHINE_KEY, config())
                .ttl(Duration::from_secs(600))
                .min_remaining_ttl(Duration::from_secs(600)),
            "min_remaining_ttl",
        ),
        (
            M2mTokenSource::builder(MACHINE_KEY, config())
                .ttl(Duration::from_secs(600))
                .min_remaining_ttl(Duration::from_secs(601)),
            "min_remaining_ttl",
        ),
        (
            M2mTokenSource::builder(MACHINE_KEY, config())
                .ttl(Duration::from_secs(600))
                .min_remaining_ttl(Duration::from_millis(1500)),
            "min_remaining_ttl",
        ),
        (
            M2mTokenSource::builder(MACHINE_KEY, config())
                .ttl(Duration::from_secs(600))
                .token_format(TokenFormat::Jwt)
                .min_remaining_ttl(Duration::from_secs(60)),
            "min_remaining_ttl",
        ),
        (
            M2mTokenSource::builder(MACHINE_KEY, config()).min_remaining_ttl(Duration::from_secs(60)),
            "min_remaining_ttl",
        ),
    ];
    for (builder, field) in cases {
        match builder.build() {
            // `min_remaining_ttl` may be named as the spec names it (`..._seconds`).
            Err(Error::InvalidInput { field: f, .. }) => assert!(f.starts_with(field), "{f} for {field}"),
            other => panic!("expected InvalidInput({field}), got {other:?}"),
        }
    }
    assert_eq!(mock.calls(), 0);
}

#[test]
fn min_remaining_ttl_is_sent_and_bounds_the_validity_counted() {
    let server = MockServer::start();
    let mock = server.create_m2m_token(|when, then| {
        when.into_inner()
            .json_body(json!({"seconds_until_expiration": 3600, "min_remaining_ttl_seconds": 600}));
        // Clerk may hand back a token minted long ago: its own times say an hour.
        then.created(&created("mt_secret_shared", Duration::from_secs(3600)));
    });
    let tokens =
        M2mTokenSource::builder(MACHINE_KEY, ClerkConfig::default().with_base_url(server.base_url()))
            .ttl(Duration::from_secs(3600))
            .min_remaining_ttl(Duration::from_secs(600))
            .clock(manual_clock())
            .build()
            .unwrap();
    assert_eq!(secret(runtime().block_on(tokens.token())), "mt_secret_shared");
    mock.assert();
    // Clerk promises 600 s: counted from the request, less the 5 s allowance.
    assert_eq!(tokens.status().valid_for, Some(Duration::from_secs(595)));
    assert!(format!("{tokens:?}").contains("min_remaining_ttl: Some(600s)"));
}

/// An outage in the refresh window: every call gets the valid token, and
/// Clerk sees one attempt per backoff interval however many calls are made.
#[test]
fn an_outage_in_the_refresh_window_fails_no_call_and_attempts_follow_the_backoff() {
    let server = MockServer::start();
    let (tokens, clock, rt) = minted_source(&server);
    let outage = failing(&server, 503, None);
    clock.advance(Duration::from_secs(3301)); // in the window: 299 s of validity left (less 5 s)
    let mut calls = 0;
    for attempt in 1..=8u32 {
        for _ in 0..50 {
            assert_eq!(secret(rt.block_on(tokens.token())), "mt_secret_one");
            calls += 1;
        }
        let status = rt.block_on(settled(&tokens));
        assert_eq!(outage.calls(), attempt as usize, "after {calls} calls");
        assert_eq!(status.consecutive_failures, attempt);
        assert!(status.valid_for.is_some(), "{status:?}");
        assert_eq!(status.last_failure.as_ref().and_then(|e| e.code()), Some("service_unavailable"));
        // The wait: between half and all of 1 s doubled per failure, at most 30 s.
        let ceiling = Duration::from_secs(1 << (attempt - 1)).min(Duration::from_secs(30));
        let wait = status.next_attempt_in.unwrap();
        assert!(wait >= ceiling / 2 && wait <= ceiling, "attempt {attempt}: {wait:?}");
        // Just before the wait ends: calls go on, no attempt starts.
        clock.advance(wait - Duration::from_millis(1));
        for _ in 0..50 {
            assert_eq!(secret(rt.block_on(tokens.token())), "mt_secret_one");
            calls += 1;
        }
        assert!(!tokens.status().refreshing);
        assert_eq!(outage.calls(), attempt as usize);
        clock.advance(Duration::from_millis(1));
    }
    assert_eq!(calls, 800);
}

/// An outage past expiry: a typed error naming Clerk's answer, at once while
/// backing off; when the wait is over, the next call waits for an attempt.
#[test]
fn an_outage_past_expiry_fails_with_the_last_cause_and_sends_nothing_while_backing_off() {
    let server = MockServer::start();
    let (tokens, clock, rt) = minted_source(&server);
    let mut outage = failing(&server, 503, None);
    clock.advance(Duration::from_secs(3595)); // the 5 s allowance: no longer handed out
    let error = rt.block_on(tokens.token()).unwrap_err();
    assert_refresh_failure(&error, 503, "service_unavailable", "trace-outage");
    assert_eq!(outage.calls(), 1);
    for _ in 0..20 {
        assert_refresh_failure(
            &rt.block_on(tokens.token()).unwrap_err(),
            503,
            "service_unavailable",
            "trace-outage",
        );
    }
    assert_eq!(outage.calls(), 1, "backing off: nothing sent");
    let status = tokens.status();
    assert_eq!((status.valid_for, status.consecutive_failures), (None, 1));
    clock.advance(status.next_attempt_in.unwrap());
    assert_refresh_failure(
        &rt.block_on(tokens.token()).unwrap_err(),
        503,
        "service_unavailable",
        "trace-outage",
    );
    assert_eq!(outage.calls(), 2);
    // Clerk recovers: the first call after the wait gets a new token.
    outage.delete();
    let working = server.create_m2m_token(|_, then| {
        then.created(&created("mt_secret_two", Duration::from_secs(3600)));
    });
    clock.advance(tokens.status().next_attempt_in.unwrap());
    assert_eq!(secret(rt.block_on(tokens.token())), "mt_secret_two");
    assert_eq!(working.calls(), 1);
}

/// Recovery in the window: the next attempt, at most one interval after
/// Clerk is back, puts a new token in place; the status clears.
#[test]
fn recovery_puts_a_new_token_in_place_within_one_interval() {
    let server = MockServer::start();
    let (tokens, clock, rt) = minted_source(&server);
    let mut outage = failing(&server, 503, None);
    clock.advance(Duration::from_secs(3301));
    for _ in 0..3 {
        rt.block_on(tokens.token()).unwrap();
        let wait = rt.block_on(settled(&tokens)).next_attempt_in.unwrap();
        clock.advance(wait);
    }
    assert_eq!(outage.calls(), 3);
    outage.delete();
    let working = server.create_m2m_token(|_, then| {
        then.created(&created("mt_secret_two", Duration::from_secs(3600)));
    });
    // Clerk is back; the interval running is at most 8 s (after 3 failures).
    let interval = tokens.status().next_attempt_in.unwrap_or_default();
    assert!(interval <= Duration::from_secs(8), "{interval:?}");
    clock.advance(interval);
    assert_eq!(secret(rt.block_on(tokens.token())), "mt_secret_one", "still the cached token, at once");
    let status = rt.block_on(settled(&tokens));
    assert_eq!(working.calls(), 1);
    assert_eq!(secret(rt.block_on(tokens.token())), "mt_secret_two");
    assert_eq!((status.consecutive_failures, status.next_attempt_in), (0, None));
    assert!(status.last_failure.is_none());
    assert_eq!(status.valid_for, Some(Duration::from_secs(3595)), "a new hour, counted from the mint");
}

#[test]
fn a_429_retry_after_is_honoured_and_capped() {
    let server = MockServer::start();
    let (tokens, clock, rt) = minted_source(&server);
    let mut limited = failing(&server, 429, Some("20"));
    clock.advance(Duration::from_secs(3301));
    rt.block_on(tokens.token()).unwrap();
    let status = rt.block_on(settled(&tokens));
    assert_eq!(status.next_attempt_in, Some(Duration::from_secs(20)), "Retry-After, not the 1 s backoff");
    assert_eq!(status.last_failure.as_ref().and_then(|e| e.status()).map(|s| s.as_u16()), Some(429));
    clock.advance(Duration::from_millis(19_999));
    for _ in 0..20 {
        rt.block_on(tokens.token()).unwrap();
    }
    assert_eq!(limited.calls(), 1, "nothing sent before Clerk's Retry-After");
    clock.advance(Duration::from_millis(1));
    rt.block_on(tokens.token()).unwrap();
    rt.block_on(settled(&tokens));
    assert_eq!(limited.calls(), 2);
    // A Retry-After longer than the cap (30 s) is cut to it.
    limited.delete();
    let _long = failing(&server, 429, Some("3600"));
    clock.advance(Duration::from_secs(20));
    rt.block_on(tokens.token()).unwrap();
    assert_eq!(rt.block_on(settled(&tokens)).next_attempt_in, Some(Duration::from_secs(30)));
}

/// A caller in the window sees the cache's latency: its call completes on the
/// first poll, while the mint it started is still waiting for Clerk. The
/// same check on a call that has to wait for that mint does not pass.
#[test]
fn a_caller_in_the_window_returns_at_once_while_the_mint_waits_for_clerk() {
    let server = MockServer::start();
    let (tokens, clock, rt) = minted_source(&server);
    let _slow = server.create_m2m_token(|_, then| {
        then.created(&created("mt_secret_two", Duration::from_secs(3600)))
            .into_inner()
            .delay(Duration::from_secs(60));
    });
    let _runtime = rt.enter();
    let hit = tokens.token().now_or_never().expect("a cache hit completes on the first poll");
    assert_eq!(secret(hit), "mt_secret_one");
    clock.advance(Duration::from_secs(3301));
    let in_window =
        tokens.token().now_or_never().expect("a call in the window completes on the first poll too");
    assert_eq!(secret(in_window), "mt_secret_one");
    assert!(tokens.status().refreshing, "and it started the mint, which Clerk has not answered");
    for _ in 0..100 {
        assert!(tokens.token().now_or_never().is_some());
    }
    // Without a valid token, a call waits for that mint: not ready on its first poll.
    tokens.invalidate();
    assert!(tokens.token().now_or_never().is_none());
    drop(_runtime);
    rt.shutdown_background();
}

#[test]
fn a_hundred_concurrent_callers_in_the_window_cause_one_background_mint() {
    let server = MockServer::start();
    let (tokens, clock, rt) = minted_source(&server);
    let refresh = server.create_m2m_token(|_, then| {
        then.created(&created("mt_secret_two", Duration::from_secs(3600)))
            .into_inner()
            .delay(Duration::from_millis(500));
    });
    clock.advance(Duration::from_secs(3301));
    let results = rt.block_on(async {
        let start = Arc::new(tokio::sync::Barrier::new(100));
        let tasks: Vec<_> = (0..100)
            .map(|_| {
                let (tokens, start) = (tokens.clone(), start.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    tokens.token().await
                })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(secret(task.await.unwrap()));
        }
        settled(&tokens).await;
        results
    });
    assert_eq!(results.len(), 100);
    assert!(results.iter().all(|token| token == "mt_secret_one" || token == "mt_secret_two"), "{results:?}");
    assert_eq!(refresh.calls(), 1);
    assert_eq!(secret(rt.block_on(tokens.token())), "mt_secret_two");
}

/// The same outage, played by a scripted TCP server: one connection per
/// request, `Retry-After` on the 503s, then a new token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scripted_outage_in_the_window_is_ridden_out_with_retry_after() {
    use common::{Reply, Server};
    let body = |token: &str| serde_json::to_string(&created(token, Duration::from_secs(3600))).unwrap();
    let unavailable =
        serde_json::to_string(&common::error_body("service_unavailable", "trace-scripted")).unwrap();
    let outage =
        Reply::status(503, &[("Content-Type", "application/json"), ("Retry-After", "2")], &unavailable);
    let server = Server::start(vec![
        Reply::json(201, &body("mt_secret_one")),
        outage.clone(),
        outage,
        Reply::json(201, &body("mt_secret_two")),
    ])
    .await;
    let clock = manual_clock();
    let tokens =
        M2mTokenSource::builder(MACHINE_KEY, ClerkConfig::default().with_base_url(server.url.clone()))
            .refresh_margin(Duration::from_secs(300))
            .clock(clock.clone())
            .build()
            .unwrap();
    assert_eq!(secret(tokens.token().await), "mt_secret_one");
    clock.advance(Duration::from_secs(3301));
    for round in 1..=2 {
        for _ in 0..100 {
            assert_eq!(secret(tokens.token().await), "mt_secret_one");
        }
        let status = settled(&tokens).await;
        assert_eq!(server.attempts(), 1 + round);
        assert_eq!(status.next_attempt_in, Some(Duration::from_secs(2)), "Retry-After on a 503");
        let failure = status.last_failure.unwrap();
        assert_eq!(
            (failure.code(), failure.trace_id()),
            (Some("service_unavailable"), Some("trace-scripted"))
        );
        clock.advance(Duration::from_secs(2));
    }
    assert_eq!(secret(tokens.token().await), "mt_secret_one");
    settled(&tokens).await;
    assert_eq!(secret(tokens.token().await), "mt_secret_two");
    assert_eq!(server.attempts(), 4);
    assert!(server.requests().iter().all(|head| head.starts_with("POST /v1/m2m_tokens ")));
}

/// A client for the fake that sends each request once (a lost connection
/// would otherwise be retried with real waits).
fn fake_source(
    fake: &FakeClerk,
    key: &clerk_machines::SecretString,
    clock: Arc<ManualClock>,
) -> M2mTokenSource {
    let config = ClerkConfig::default().with_base_url(fake.url()).with_retry(RetryConfig::disabled());
    M2mTokenSource::builder(key.clone(), config)
        .ttl(Duration::from_secs(60))
        .refresh_margin(Duration::from_secs(30))
        .clock(clock)
        .build()
        .unwrap()
}

/// With the fake: an outage in the window, past expiry, and recovery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_fake_an_outage_is_ridden_out_and_recovered_from() {
    let fake = FakeClerk::start().await.unwrap();
    let machine = fake.clerk().machines().create("caller", Vec::<String>::new(), None).await.unwrap();
    let clock = manual_clock();
    let tokens = fake_source(&fake, &machine.secret_key, clock.clone());
    let first = secret(tokens.token().await);
    // 60 s tokens: refreshed from 30 s on, handed out until 55 s.
    fake.start_outage(503, None);
    clock.advance(Duration::from_secs(31));
    for _ in 0..100 {
        assert_eq!(secret(tokens.token().await), first);
    }
    let status = settled(&tokens).await;
    assert_eq!(fake.outage_answers(), 1, "one attempt for a hundred calls");
    clock.advance(status.next_attempt_in.unwrap());
    for _ in 0..100 {
        assert_eq!(secret(tokens.token().await), first);
    }
    settled(&tokens).await;
    assert_eq!(fake.outage_answers(), 2);
    // Past the validity, the outage reaches the callers: Clerk's code and trace id.
    clock.advance(Duration::from_secs(30));
    let error = tokens.token().await.unwrap_err();
    assert!(matches!(error, Error::TokenRefresh(_)), "{error:?}");
    assert_eq!((error.status().map(|s| s.as_u16()), error.code()), (Some(503), Some("service_unavailable")));
    assert!(error.trace_id().is_some());
    assert!(tokens.token().await.is_err());
    assert_eq!(fake.outage_answers(), 3, "backing off: the second call sent nothing");
    fake.end_outage();
    clock.advance(tokens.status().next_attempt_in.unwrap());
    let second = secret(tokens.token().await);
    assert_ne!(second, first);
    assert_eq!(tokens.status().consecutive_failures, 0);
}

/// With the fake stopped: Clerk unreachable, the cause is the transport error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_fake_stopped_the_token_is_served_then_the_error_names_the_connection() {
    let fake = FakeClerk::start().await.unwrap();
    let machine = fake.clerk().machines().create("caller", Vec::<String>::new(), None).await.unwrap();
    let clock = manual_clock();
    let tokens = fake_source(&fake, &machine.secret_key, clock.clone());
    let first = secret(tokens.token().await);
    fake.stop().await;
    clock.advance(Duration::from_secs(31));
    assert_eq!(secret(tokens.token().await), first);
    let status = settled(&tokens).await;
    assert!(matches!(status.last_failure.as_deref(), Some(Error::Transport(_))), "{status:?}");
    assert!(status.valid_for.is_some());
    clock.advance(Duration::from_secs(30));
    let error = tokens.token().await.unwrap_err();
    match &error {
        Error::TokenRefresh(cause) => assert!(matches!(**cause, Error::Transport(_)), "{cause:?}"),
        other => panic!("expected TokenRefresh, got {other:?}"),
    }
}

/// With the fake: processes asking for `min_remaining_ttl` share one token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_fake_min_remaining_ttl_shares_one_token_between_processes() {
    let fake = FakeClerk::start().await.unwrap();
    let machine = fake.clerk().machines().create("lambda", Vec::<String>::new(), None).await.unwrap();
    let process = || {
        let config = ClerkConfig::default().with_base_url(fake.url());
        M2mTokenSource::builder(machine.secret_key.clone(), config)
            .ttl(Duration::from_secs(3600))
            .min_remaining_ttl(Duration::from_secs(600))
            .build()
            .unwrap()
    };
    let first = secret(process().token().await);
    let second = secret(process().token().await);
    assert_eq!(first, second, "the second process got the first one's token");
    let alone =
        M2mTokenSource::builder(machine.secret_key.clone(), ClerkConfig::default().with_base_url(fake.url()))
            .ttl(Duration::from_secs(3600))
            .build()
            .unwrap();
    assert_ne!(secret(alone.token().await), first, "without it, a new token");
}
