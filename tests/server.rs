//! `AuthLayer` and the `VerifiedM2mToken` extractor in a real axum server
//! on a local port, called over HTTP with M2M tokens minted by the fake Clerk.
//! (API keys and OAuth tokens, the odd headers and floods: `tests/edge.rs`.)
#![cfg(feature = "axum")]

use axum::routing::get;
use axum::{Json, Router};
use clerk_machines::m2m::{M2mTokenSource, TokenFormat};
use clerk_machines::server::AuthLayer;
use clerk_machines::verify::{VerifiedM2mToken, Verifier};
use clerk_machines::{Clerk, ClerkConfig, RetryConfig};
use clerk_machines_fake::FakeClerk;
use serde_json::{json, Value};
use std::time::Duration;

/// The handler behind the layer: says who called.
async fn whoami(caller: VerifiedM2mToken) -> Json<Value> {
    Json(json!({
        "machine_id": caller.machine_id,
        "token_id": caller.token_id,
        "scopes": caller.scopes,
        "format": caller.format.as_str(),
    }))
}

/// Serves `/whoami` behind the layer on a free local port; returns its base URL.
async fn serve(verifier: Verifier) -> String {
    let app = Router::new().route("/whoami", get(whoami)).layer(AuthLayer::new(verifier));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// One call: status, `WWW-Authenticate`, JSON body.
async fn call(url: &str, authorization: Option<&str>) -> (u16, Option<String>, Value) {
    let mut request = http_client().get(format!("{url}/whoami"));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let challenge = response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned());
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    (status, challenge, body)
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// A fake with three machines: `api` (the service), `worker` (may call it), `other` (may not).
struct World {
    fake: FakeClerk,
    api: clerk_machines::types::CreateMachineResponse,
    worker: Clerk,
    worker_id: String,
    other: Clerk,
}

async fn world() -> World {
    let fake = FakeClerk::start().await.unwrap();
    let machines = fake.clerk().machines();
    let api = machines.create("api", Vec::<String>::new(), None).await.unwrap();
    let worker = machines.create("worker", [api.id.as_str()], None).await.unwrap();
    let other = machines.create("other", Vec::<String>::new(), None).await.unwrap();
    let worker_client = fake.client_with_key(worker.secret_key.clone()).unwrap();
    let other_client = fake.client_with_key(other.secret_key.clone()).unwrap();
    World { api, worker: worker_client, worker_id: worker.id.clone(), other: other_client, fake }
}

async fn token(clerk: &Clerk, format: TokenFormat) -> String {
    let created = clerk.m2m().create_token().token_format(format).await.unwrap();
    created.token.expose_secret().to_owned()
}

fn assert_401(answer: &(u16, Option<String>, Value), reason: &str, token: Option<&str>) {
    let (status, challenge, body) = answer;
    assert_eq!(*status, 401, "{body}");
    assert_eq!(body["error"], "invalid_token", "{body}");
    assert_eq!(body["reason"], reason, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    let challenge = challenge.as_deref().expect("WWW-Authenticate");
    assert!(challenge.starts_with("Bearer realm=\"clerk\""), "{challenge}");
    if let Some(token) = token {
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
        let everything = format!("{challenge}{body}");
        assert!(!everything.contains(token), "the answer echoes the token");
        for part in token.split('.') {
            assert!(part.len() < 8 || !everything.contains(part), "the answer echoes part of the token");
        }
    } else {
        assert_eq!(challenge, "Bearer realm=\"clerk\"");
    }
}

#[tokio::test]
async fn valid_jwt_and_opaque_tokens_reach_the_handler() {
    let world = world().await;
    let verifier = Verifier::builder(world.fake.clerk()).scoped_to(world.api.id.as_str()).build().unwrap();
    let url = serve(verifier).await;

    // The caller side: a token source minting JWTs with the worker's key.
    let tokens = M2mTokenSource::from_clerk(&world.worker).token_format(TokenFormat::Jwt).build().unwrap();
    let jwt = tokens.token().await.unwrap();
    let (status, _, body) = call(&url, Some(&bearer(jwt.expose_secret()))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["machine_id"], world.worker_id);
    assert_eq!(body["format"], "jwt");
    assert_eq!(body["scopes"], json!([world.api.id]));

    let opaque = token(&world.worker, TokenFormat::Opaque).await;
    let (status, _, body) = call(&url, Some(&bearer(&opaque))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["machine_id"].as_str(), body["format"].as_str()),
        (Some(world.worker_id.as_str()), Some("opaque"))
    );
    assert!(body["token_id"].as_str().is_some_and(|id| id.starts_with("mt_")));
}

#[tokio::test]
async fn missing_and_malformed_headers_get_401_with_a_challenge() {
    let world = world().await;
    let url = serve(Verifier::builder(world.fake.clerk()).build().unwrap()).await;
    assert_401(&call(&url, None).await, "token_missing", None);
    for header in ["Basic d29ya2VyOnNlY3JldA==", "Bearer", "Bearer    ", "token-without-scheme"] {
        assert_401(&call(&url, Some(header)).await, "token_malformed", Some("d29ya2VyOnNlY3JldA"));
    }
    assert_401(&call(&url, Some("Bearer not-a-jwt")).await, "token_kind_unknown", Some("not-a-jwt"));
}

#[tokio::test]
async fn expired_revoked_and_unscoped_tokens_are_refused() {
    let world = world().await;
    let clock = world.fake.clock();
    let verifier =
        Verifier::builder(world.fake.clerk()).scoped_to(world.api.id.as_str()).clock(clock).build().unwrap();
    let url = serve(verifier).await;

    // Not scoped to the service: another machine's tokens, both formats.
    let foreign_jwt = token(&world.other, TokenFormat::Jwt).await;
    assert_401(&call(&url, Some(&bearer(&foreign_jwt))).await, "token_not_scoped", Some(&foreign_jwt));
    let foreign_opaque = token(&world.other, TokenFormat::Opaque).await;
    assert_401(&call(&url, Some(&bearer(&foreign_opaque))).await, "token_not_scoped", Some(&foreign_opaque));

    // Revoked at Clerk.
    let created = world.worker.m2m().create_token().await.unwrap();
    let opaque = created.token.expose_secret().to_owned();
    assert_eq!(call(&url, Some(&bearer(&opaque))).await.0, 200);
    world.fake.clerk().m2m().revoke_token(created.id.as_str()).await.unwrap();
    assert_401(&call(&url, Some(&bearer(&opaque))).await, "token_revoked", Some(&opaque));

    // Expired: the fake's clock (shared with the verifier) moves past the token's life.
    let jwt = token(&world.worker, TokenFormat::Jwt).await;
    let opaque = token(&world.worker, TokenFormat::Opaque).await;
    assert_eq!(call(&url, Some(&bearer(&jwt))).await.0, 200);
    world.fake.advance_clock(Duration::from_secs(2 * 3600));
    assert_401(&call(&url, Some(&bearer(&jwt))).await, "token_expired", Some(&jwt));
    assert_401(&call(&url, Some(&bearer(&opaque))).await, "token_expired", Some(&opaque));
}

#[tokio::test]
async fn tokens_of_another_instance_are_refused() {
    let world = world().await;
    let elsewhere = world_of_another_instance().await;
    let url = serve(Verifier::builder(world.fake.clerk()).build().unwrap()).await;
    let jwt = token(&elsewhere.0, TokenFormat::Jwt).await;
    assert_401(&call(&url, Some(&bearer(&jwt))).await, "unknown_key", Some(&jwt));
    let opaque = token(&elsewhere.0, TokenFormat::Opaque).await;
    assert_401(&call(&url, Some(&bearer(&opaque))).await, "token_not_found", Some(&opaque));
    drop(elsewhere);
}

/// A client with a machine key of a second fake instance (kept alive with it).
async fn world_of_another_instance() -> (Clerk, FakeClerk) {
    let fake = FakeClerk::start().await.unwrap();
    let machine = fake.clerk().machines().create("stranger", Vec::<String>::new(), None).await.unwrap();
    (fake.client_with_key(machine.secret_key.clone()).unwrap(), fake)
}

#[tokio::test]
async fn the_service_own_machine_key_verifies_opaque_tokens_granted_to_it() {
    // Least privilege: no instance key, only the service's machine key; Clerk
    // then accepts only tokens granted access to this machine.
    let world = world().await;
    let own_key = world.fake.client_with_key(world.api.secret_key.clone()).unwrap();
    let verifier = Verifier::opaque_only(&own_key).build().unwrap();
    let url = serve(verifier).await;
    let granted = token(&world.worker, TokenFormat::Opaque).await;
    let (status, _, body) = call(&url, Some(&bearer(&granted))).await;
    assert_eq!(status, 200, "{body}");
    let not_granted = token(&world.other, TokenFormat::Opaque).await;
    assert_401(&call(&url, Some(&bearer(&not_granted))).await, "token_not_found", Some(&not_granted));
    let jwt = token(&world.worker, TokenFormat::Jwt).await;
    assert_401(&call(&url, Some(&bearer(&jwt))).await, "format_not_accepted", Some(&jwt));
}

#[tokio::test]
async fn the_opaque_cache_saves_calls_and_keeps_a_revoked_token_for_its_ttl() {
    let world = world().await;
    let verifier = Verifier::builder(world.fake.clerk())
        .opaque_cache(100, Duration::from_secs(30))
        .clock(world.fake.clock())
        .build()
        .unwrap();
    let url = serve(verifier.clone()).await;
    let created = world.worker.m2m().create_token().await.unwrap();
    let opaque = created.token.expose_secret().to_owned();
    for _ in 0..3 {
        assert_eq!(call(&url, Some(&bearer(&opaque))).await.0, 200);
    }
    let stats = verifier.stats().opaque_cache;
    assert_eq!((stats.hits, stats.misses), (2, 1), "one call to Clerk, two answers from the cache");

    // The trade-off: revoked at Clerk, still accepted until the entry's TTL passes.
    world.fake.clerk().m2m().revoke_token(created.id.as_str()).await.unwrap();
    assert_eq!(call(&url, Some(&bearer(&opaque))).await.0, 200);
    world.fake.advance_clock(Duration::from_secs(31));
    assert_401(&call(&url, Some(&bearer(&opaque))).await, "token_revoked", Some(&opaque));
    let stats = verifier.stats().opaque_cache;
    assert_eq!((stats.hits, stats.misses), (3, 2));
}

#[tokio::test]
async fn an_unreachable_clerk_is_503_not_401() {
    let world = world().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = ClerkConfig::default()
        .with_base_url(format!("http://127.0.0.1:{port}/v1"))
        .with_retry(RetryConfig::disabled());
    let gone = Clerk::new("sk_test_gone", config).unwrap();
    let url = serve(Verifier::opaque_only(&gone).build().unwrap()).await;
    let opaque = token(&world.worker, TokenFormat::Opaque).await;
    let (status, challenge, body) = call(&url, Some(&bearer(&opaque))).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["reason"], "verification_unavailable");
    assert!(challenge.is_none());
}

#[tokio::test]
async fn a_key_set_clerk_will_not_serve_is_503_not_the_tokens_fault() {
    let world = world().await;
    // The instance key is right but the base URL is not: `GET .../jwks` is a 404.
    let config = ClerkConfig::default()
        .with_base_url(format!("{}/elsewhere", world.fake.url()))
        .with_retry(RetryConfig::disabled());
    let misconfigured = Clerk::new(world.fake.instance_key().expose_secret(), config).unwrap();
    let url = serve(Verifier::builder(&misconfigured).build().unwrap()).await;
    let jwt = token(&world.worker, TokenFormat::Jwt).await;
    let (status, _, body) = call(&url, Some(&bearer(&jwt))).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["reason"], "verification_unavailable");
}

#[tokio::test]
async fn the_largest_leeway_and_cache_ttl_are_accepted() {
    let world = world().await;
    let verifier = Verifier::builder(world.fake.clerk())
        .leeway(Duration::MAX)
        .opaque_cache(10, Duration::MAX)
        .build()
        .unwrap();
    let url = serve(verifier.clone()).await;
    let opaque = token(&world.worker, TokenFormat::Opaque).await;
    for _ in 0..2 {
        assert_eq!(call(&url, Some(&bearer(&opaque))).await.0, 200);
    }
    let stats = verifier.stats().opaque_cache;
    assert_eq!((stats.hits, stats.misses), (1, 1), "cached until the token expires");
}

#[tokio::test]
async fn the_extractor_without_the_layer_is_a_500() {
    let app = Router::new().route("/whoami", get(whoami));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let response = http_client().get(format!("{url}/whoami")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 500);
    assert!(response.text().await.unwrap().contains("AuthLayer"));
}

/// A plain reqwest client with the crate's TLS set-up (reqwest has no TLS
/// provider of its own here).
fn http_client() -> reqwest::Client {
    clerk_machines::http_client_builder().expect("TLS set-up").build().expect("reqwest client")
}
