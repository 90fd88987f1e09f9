//! Fault injection: a real TCP server on 127.0.0.1 that misbehaves in scripted
//! ways. Each case checks the exact error, how many requests reached the
//! server, and (by running the call in its own task) that nothing panicked.

mod common;

use clerk_machines::{Clerk, ClerkConfig, Error, RetryConfig};
use common::{fast_retries, response, Reply, Server, MACHINE_JSON};
use std::time::{Duration, Instant};

const MACHINE_ID: &str = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk";

fn client(server: &Server, retry: RetryConfig) -> Clerk {
    let config = ClerkConfig::default()
        .with_base_url(&server.url)
        .with_request_timeout(Duration::from_secs(5))
        .with_retry(retry);
    Clerk::new("sk_test_faults", config).unwrap()
}

/// Runs `get` in its own task so that a panic would surface as a `JoinError`.
async fn get(clerk: &Clerk) -> clerk_machines::Result<clerk_machines::types::Machine> {
    let clerk = clerk.clone();
    tokio::spawn(async move { clerk.machines().get(MACHINE_ID).await }).await.expect("the call panicked")
}

async fn create(clerk: &Clerk) -> clerk_machines::Result<clerk_machines::types::CreateMachineResponse> {
    let clerk = clerk.clone();
    tokio::spawn(async move { clerk.machines().create("worker", Vec::<String>::new(), None).await })
        .await
        .expect("the call panicked")
}

fn transport_source(error: &Error) -> &reqwest::Error {
    match error {
        Error::Transport(e) => e,
        other => panic!("expected Error::Transport, got {other:?}"),
    }
}

#[tokio::test]
async fn connection_closed_before_any_response_is_retried_for_a_get() {
    let server = Server::start(vec![Reply::Close; 3]).await;
    let error = get(&client(&server, fast_retries())).await.unwrap_err();
    let source = transport_source(&error);
    assert!(!source.is_connect() && !source.is_timeout(), "{source:?}");
    assert_eq!(server.attempts(), 3);
}

#[tokio::test]
async fn connection_closed_before_any_response_is_not_retried_for_a_create() {
    let server = Server::start(vec![Reply::Close; 3]).await;
    let error = create(&client(&server, fast_retries())).await.unwrap_err();
    transport_source(&error);
    assert_eq!(server.attempts(), 1);
}

#[tokio::test]
async fn reset_in_the_middle_of_the_body() {
    let mut bytes = response(200, &[("Content-Type", "application/json")], MACHINE_JSON);
    bytes.truncate(bytes.len() - MACHINE_JSON.len() / 2);
    let server = Server::start(vec![Reply::RawThenReset(bytes)]).await;
    let error = get(&client(&server, fast_retries())).await.unwrap_err();
    assert!(transport_source(&error).is_body() || transport_source(&error).is_decode(), "{error:?}");
    assert_eq!(server.attempts(), 1, "a response that arrived is not retried");
}

#[tokio::test]
async fn truncated_json_is_a_decode_error() {
    let truncated = &MACHINE_JSON[..MACHINE_JSON.len() / 2];
    let server = Server::start(vec![Reply::json(200, truncated)]).await;
    let error = get(&client(&server, fast_retries())).await.unwrap_err();
    match &error {
        Error::Decode { status, snippet, .. } => {
            assert_eq!(status.as_u16(), 200);
            assert!(truncated.starts_with(snippet.as_str()), "{snippet}");
        }
        other => panic!("expected Error::Decode, got {other:?}"),
    }
    assert_eq!(server.attempts(), 1);
}

#[tokio::test]
async fn bad_gateway_with_an_html_body_is_retried_then_reported() {
    let html = "<html><body><h1>502 Bad Gateway</h1></body></html>";
    let reply = Reply::status(502, &[("Content-Type", "text/html"), ("Clerk-Trace-Id", "trace-502")], html);
    let server = Server::start(vec![reply; 3]).await;
    let error = get(&client(&server, fast_retries())).await.unwrap_err();
    match &error {
        Error::Api { status, errors, trace_id, retry_after, .. } => {
            assert_eq!(status.as_u16(), 502);
            assert!(errors.is_empty());
            assert_eq!(trace_id.as_deref(), Some("trace-502"));
            assert_eq!(*retry_after, None);
        }
        other => panic!("expected Error::Api, got {other:?}"),
    }
    assert_eq!(server.attempts(), 3);
}

#[tokio::test]
async fn empty_500_is_an_api_error_without_retry() {
    let server = Server::start(vec![Reply::status(500, &[], ""); 3]).await;
    let error = get(&client(&server, fast_retries())).await.unwrap_err();
    match &error {
        Error::Api { status, errors, .. } => {
            assert_eq!(status.as_u16(), 500);
            assert!(errors.is_empty());
        }
        other => panic!("expected Error::Api, got {other:?}"),
    }
    assert_eq!(server.attempts(), 1);
}

#[tokio::test]
async fn ok_with_invalid_json_is_a_decode_error() {
    let server = Server::start(vec![Reply::json(200, "this is not json")]).await;
    let error = get(&client(&server, fast_retries())).await.unwrap_err();
    match &error {
        Error::Decode { status, path, snippet, .. } => {
            assert_eq!(status.as_u16(), 200);
            assert_eq!(path, ".");
            assert_eq!(snippet, "this is not json");
        }
        other => panic!("expected Error::Decode, got {other:?}"),
    }
    assert_eq!(server.attempts(), 1);
}

#[tokio::test]
async fn server_slower_than_the_request_timeout() {
    let slow = Reply::Delayed(Duration::from_secs(10), response(200, &[], MACHINE_JSON));
    let server = Server::start(vec![slow; 3]).await;
    let config = ClerkConfig::default()
        .with_base_url(&server.url)
        .with_request_timeout(Duration::from_millis(300))
        .with_retry(fast_retries());
    let clerk = Clerk::new("sk_test_faults", config).unwrap();
    let error = get(&clerk).await.unwrap_err();
    assert!(matches!(error, Error::Timeout(_)), "expected Error::Timeout, got {error:?}");
    assert_eq!(server.attempts(), 1, "a timed-out request is not retried");
}

#[tokio::test]
async fn too_many_requests_waits_for_retry_after_then_succeeds() {
    let server = Server::start(vec![
        Reply::status(429, &[("Retry-After", "1")], r#"{"errors":[]}"#),
        Reply::json(200, MACHINE_JSON),
    ])
    .await;
    let clerk = client(&server, fast_retries());
    let started = Instant::now();
    let machine = get(&clerk).await.unwrap();
    let waited = started.elapsed();
    assert_eq!(machine.id, MACHINE_ID);
    assert_eq!(server.attempts(), 2);
    // A lower bound only: the client must not retry before `Retry-After`.
    assert!(waited >= Duration::from_secs(1), "retried after {waited:?}");
}

#[tokio::test]
async fn retry_after_beyond_the_time_budget_returns_the_429() {
    let body = r#"{"errors":[{"message":"Too many requests","long_message":"Slow down","code":"too_many_requests"}]}"#;
    let server = Server::start(vec![Reply::status(429, &[("Retry-After", "120")], body); 2]).await;
    let error = get(&client(&server, fast_retries())).await.unwrap_err();
    match &error {
        Error::Api { status, retry_after, .. } => {
            assert_eq!(status.as_u16(), 429);
            assert_eq!(*retry_after, Some(Duration::from_secs(120)));
        }
        other => panic!("expected Error::Api, got {other:?}"),
    }
    assert_eq!(error.code(), Some("too_many_requests"));
    assert_eq!(server.attempts(), 1);
}

#[tokio::test]
async fn service_unavailable_every_time() {
    let body = r#"{"errors":[{"message":"Unavailable","long_message":"Try later","code":"service_unavailable"}],"clerk_trace_id":"trace-503"}"#;
    let reply = Reply::status(503, &[("Content-Type", "application/json"), ("Retry-After", "0")], body);
    let server = Server::start(vec![reply; 5]).await;
    let error = get(&client(&server, fast_retries())).await.unwrap_err();
    match &error {
        Error::Api { status, errors, trace_id, retry_after, .. } => {
            assert_eq!(status.as_u16(), 503);
            assert_eq!(errors.len(), 1);
            assert_eq!(errors[0].code, "service_unavailable");
            assert_eq!(trace_id.as_deref(), Some("trace-503"));
            assert_eq!(*retry_after, Some(Duration::ZERO));
        }
        other => panic!("expected Error::Api, got {other:?}"),
    }
    assert_eq!(server.attempts(), 3, "default max_attempts");
}

#[tokio::test]
async fn post_is_not_retried_after_a_response_unless_opted_in() {
    let reply = Reply::status(503, &[], "");
    let server = Server::start(vec![reply.clone(); 3]).await;
    let error = create(&client(&server, fast_retries())).await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(server.attempts(), 1);

    let server = Server::start(vec![reply.clone(), reply, Reply::json(200, CREATED_JSON)]).await;
    let created =
        create(&client(&server, fast_retries().with_retry_non_idempotent_posts(true))).await.unwrap();
    assert_eq!(created.secret_key.expose_secret(), "ak_created");
    assert_eq!(server.attempts(), 3);
}

#[tokio::test]
async fn disabled_retries_send_once_and_max_attempts_is_honoured() {
    let reply = Reply::status(503, &[], "");
    let server = Server::start(vec![reply.clone(); 5]).await;
    let error = get(&client(&server, RetryConfig::disabled())).await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(server.attempts(), 1);

    let server = Server::start(vec![reply; 5]).await;
    let _ = get(&client(&server, fast_retries().with_max_attempts(5))).await.unwrap_err();
    assert_eq!(server.attempts(), 5);
}

#[tokio::test]
async fn each_attempt_sends_the_same_request() {
    let reply = Reply::status(503, &[], "");
    let server = Server::start(vec![reply.clone(), reply, Reply::json(200, CREATED_JSON)]).await;
    create(&client(&server, fast_retries().with_retry_non_idempotent_posts(true))).await.unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    for head in &requests {
        assert!(head.starts_with("POST /v1/machines HTTP/1.1"), "{head}");
        assert!(head.to_ascii_lowercase().contains("authorization: bearer sk_test_faults"), "{head}");
    }
    // A retry makes the call again: the body is built anew, and the same.
    let bodies = server.bodies();
    let first: serde_json::Value = serde_json::from_slice(&bodies[0]).unwrap();
    assert_eq!(first, serde_json::json!({ "name": "worker" }));
    assert!(bodies.iter().all(|body| body == &bodies[0]), "{bodies:?}");
}

/// The raw builders through `raw::send` keep a copy of the request for each
/// retry instead of making the call again: the same attempts, the same request.
#[tokio::test]
async fn raw_calls_are_retried_from_a_copy_of_the_request() {
    let reply = Reply::status(503, &[], "");
    let server = Server::start(vec![reply.clone(), reply, Reply::json(200, MACHINE_JSON)]).await;
    let clerk = client(&server, fast_retries());
    let call = clerk.raw().get_machine().machine_id(MACHINE_ID).send();
    let machine = clerk_machines::raw::send(call).await.unwrap();
    assert_eq!(machine.id, MACHINE_ID);
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests.iter().all(|head| head == &requests[0]), "{requests:?}");
    assert!(requests[0].starts_with(&format!("GET /v1/machines/{MACHINE_ID} HTTP/1.1")), "{}", requests[0]);
}

#[tokio::test]
async fn refused_connections_are_retried_even_for_a_post() {
    // A port nobody listens on: every attempt fails to connect.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let config = ClerkConfig::default()
        .with_base_url(format!("http://127.0.0.1:{port}/v1"))
        .with_retry(fast_retries());
    let clerk = Clerk::new("sk_test_faults", config).unwrap();
    let error = create(&clerk).await.unwrap_err();
    assert!(transport_source(&error).is_connect(), "{error:?}");
}

#[test]
fn calls_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let clerk = Clerk::new("sk_test_faults", ClerkConfig::default()).unwrap();
    let machines = clerk.machines();
    let call = machines.get(MACHINE_ID);
    assert_send(&call);
}

const CREATED_JSON: &str = r#"{"object":"machine","id":"mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk","name":"worker","instance_id":"ins_123","created_at":1700000000000,"updated_at":1700000000000,"default_token_ttl":3600,"scoped_machines":[],"secret_key":"ak_created"}"#;
