//! Clerk's bad minutes, as issue 20 tells them: `cargo bench --bench outage`.
//!
//! A token valid for 6 s, a refresh margin of 3 s, and a Clerk (httpmock on
//! 127.0.0.1) that answers 503 to every mint from the moment the margin
//! begins. `token()` is called every 57 ms (35 calls in 2 s) through the 2 s
//! of the outage; then Clerk recovers and the calls go on until one returns
//! the new token. Printed per run: calls failed during the outage, mint
//! attempts Clerk received, the time from recovery to the new token, and
//! the calls that failed meanwhile. Real time and the system clock: a
//! measurement, not a test. It uses only the API the token source had
//! before the issue, so that the same file runs on the old code.
//!
//! Environment: `CLERK_OUTAGE_RUNS=N` (default 3).

use clerk_machines::m2m::M2mTokenSource;
use clerk_machines::ClerkConfig;
use httpmock::{Method::POST, Mock, MockServer};
use serde_json::json;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const LIFETIME: Duration = Duration::from_secs(6);
const MARGIN: Duration = Duration::from_secs(3);
const OUTAGE: Duration = Duration::from_secs(2);
const CALL_EVERY: Duration = Duration::from_millis(57);
/// Longest wait for the new token after recovery.
const RECOVERY_LIMIT: Duration = Duration::from_secs(60);

/// Clerk minting `token`, valid for [`LIFETIME`].
fn minting<'s>(server: &'s MockServer, token: &str) -> Mock<'s> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as f64;
    let body = json!({
        "object": "machine_to_machine_token",
        "id": "mt_0123456789abcdef0123456789abcdef",
        "subject": "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk",
        "scopes": [],
        "token": token,
        "revoked": false,
        "revocation_reason": null,
        "expired": false,
        "expiration": now + LIFETIME.as_millis() as f64,
        "last_used_at": null,
        "created_at": now,
        "updated_at": now
    });
    server.mock(|when, then| {
        when.method(POST).path("/m2m_tokens");
        then.status(201).header("content-type", "application/json").json_body(body);
    })
}

/// Clerk down: 503 with Clerk's error body.
fn down(server: &MockServer) -> Mock<'_> {
    let body = json!({
        "errors": [{"code": "service_unavailable", "message": "unavailable", "long_message": "unavailable"}],
        "clerk_trace_id": "trace-outage"
    });
    server.mock(|when, then| {
        when.method(POST).path("/m2m_tokens");
        then.status(503).header("content-type", "application/json").json_body(body);
    })
}

struct Run {
    outage_calls: usize,
    outage_failed: usize,
    outage_attempts: usize,
    recovery: Option<Duration>,
    recovery_calls: usize,
    recovery_failed: usize,
    recovery_attempts: usize,
}

async fn run() -> Run {
    let server = MockServer::start_async().await;
    let mut first = minting(&server, "mt_bench_one");
    let tokens =
        M2mTokenSource::builder("ak_bench_outage", ClerkConfig::default().with_base_url(server.base_url()))
            .ttl(LIFETIME)
            .refresh_margin(MARGIN)
            .build()
            .expect("a valid source");
    let start = Instant::now();
    tokens.token().await.expect("the first token");
    first.delete();
    // Clerk goes down just before the margin begins (3 s after the mint was sent).
    tokio::time::sleep_until((start + MARGIN - Duration::from_millis(100)).into()).await;
    let outage = down(&server);
    tokio::time::sleep_until((start + MARGIN).into()).await;
    let (mut outage_calls, mut outage_failed) = (0, 0);
    let mut next = start + MARGIN;
    while next < start + MARGIN + OUTAGE {
        outage_calls += 1;
        outage_failed += usize::from(tokens.token().await.is_err());
        next += CALL_EVERY;
        tokio::time::sleep_until(next.into()).await;
    }
    let outage_attempts = outage.calls_async().await;
    // Clerk recovers.
    outage.delete_async().await;
    let recovered = minting(&server, "mt_bench_two");
    let back = Instant::now();
    let (mut recovery, mut recovery_calls, mut recovery_failed) = (None, 0, 0);
    while back.elapsed() < RECOVERY_LIMIT {
        recovery_calls += 1;
        match tokens.token().await {
            Ok(token) if token.expose_secret() == "mt_bench_two" => {
                recovery = Some(back.elapsed());
                break;
            }
            Ok(_) => {}
            Err(_) => recovery_failed += 1,
        }
        next += CALL_EVERY;
        tokio::time::sleep_until(next.into()).await;
    }
    Run {
        outage_calls,
        outage_failed,
        outage_attempts,
        recovery,
        recovery_calls,
        recovery_failed,
        recovery_attempts: recovered.calls_async().await,
    }
}

fn main() {
    let runs = std::env::var("CLERK_OUTAGE_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(3usize);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    println!(
        "outage: token valid {LIFETIME:?}, margin {MARGIN:?}, Clerk answering 503 from the margin's start \
         for {OUTAGE:?}, a call every {CALL_EVERY:?}"
    );
    for index in 1..=runs {
        let run = runtime.block_on(run());
        let recovery = run
            .recovery
            .map_or_else(|| format!("none within {RECOVERY_LIMIT:?}"), |d| format!("{} ms", d.as_millis()));
        println!(
            "run {index}: outage: {} of {} calls failed, {} mint attempts; recovery: new token after {recovery} \
             ({} calls, {} failed, {} mint attempts)",
            run.outage_failed,
            run.outage_calls,
            run.outage_attempts,
            run.recovery_calls,
            run.recovery_failed,
            run.recovery_attempts,
        );
    }
}
