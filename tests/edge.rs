//! The layer at the edge, in a real axum server on a local port called over
//! HTTP: every kind (API keys and OAuth tokens against a Clerk scripted on
//! httpmock, JWTs signed here), Clerk's answers mapped to 401/503, the odd
//! `Authorization` headers, and floods of made-up tokens with the calls that
//! reach Clerk counted. (M2M tokens minted by the fake: `tests/server.rs`.)
#![cfg(feature = "axum")]

mod common;

use axum::routing::get;
use axum::{Json, Router};
use clerk_machines::server::AuthLayer;
use clerk_machines::verify::{
    Kinds, Reason, TokenKind, Verified, VerifiedApiKey, VerifiedM2mToken, VerifiedOAuthToken, Verifier,
    VerifyError,
};
use clerk_machines::{Clerk, ClerkConfig, RetryConfig};
use clerk_machines_fake::{JwtSigner, M2mClaims};
use common::answers::{self, Answer, CALLER_ID, SERVICE_ID, USER_ID};
use httpmock::{Method, MockServer};
use serde_json::{json, Value};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const INSTANCE_KEY: &str = "sk_test_edge_0123456789";

fn signer() -> &'static JwtSigner {
    static SIGNER: OnceLock<JwtSigner> = OnceLock::new();
    SIGNER.get_or_init(|| JwtSigner::bundled(0, "ins_edge").unwrap())
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A Clerk client for the scripted server, without retries (so calls count exactly).
fn clerk(server: &MockServer) -> Clerk {
    let config = ClerkConfig::default().with_base_url(server.base_url()).with_retry(RetryConfig::disabled());
    Clerk::new(INSTANCE_KEY, config).unwrap()
}

/// The instance's key set, served by the scripted Clerk.
fn serve_jwks(server: &MockServer) {
    server.mock(|when, then| {
        when.method(Method::GET).path("/jwks");
        then.status(200).json_body(signer().jwks());
    });
}

/// Counts every verify call that no mock made before it answered (httpmock takes the first match).
fn catch_all(server: &MockServer) -> httpmock::Mock<'_> {
    server.mock(|when, then| {
        when.method(Method::POST);
        then.status(404).json_body(
            json!({"errors": [{"code": "resource_not_found", "message": "nf", "long_message": "nf"}]}),
        );
    })
}

async fn whoami(caller: Verified) -> Json<Value> {
    Json(
        json!({"kind": caller.kind().as_str(), "subject": caller.subject(), "id": caller.id(), "scopes": caller.scopes()}),
    )
}

async fn keys_only(key: VerifiedApiKey) -> Json<Value> {
    Json(json!({"name": key.name, "user_id": key.user_id, "claims": key.claims}))
}

async fn m2m_only(token: VerifiedM2mToken) -> Json<Value> {
    Json(json!({"machine_id": token.machine_id}))
}

async fn oauth_only(token: VerifiedOAuthToken) -> Json<Value> {
    Json(json!({"user_id": token.user_id, "client_id": token.client_id, "scopes": token.scopes}))
}

/// Serves the routes behind the layer on a free local port; returns the base URL.
async fn serve(verifier: Verifier) -> String {
    let app = Router::new()
        .route("/whoami", get(whoami))
        .route("/keys", get(keys_only))
        .route("/m2m", get(m2m_only))
        .route("/oauth", get(oauth_only))
        .layer(AuthLayer::new(verifier));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

struct Reply {
    status: u16,
    challenge: Option<String>,
    body: Value,
    text: String,
}

async fn get_with(url: &str, path: &str, authorization: &[&str]) -> Reply {
    let mut request = common::http_client().get(format!("{url}{path}"));
    for value in authorization {
        request = request.header("authorization", *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let challenge = response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply { status, challenge, body, text }
}

async fn call(url: &str, path: &str, token: &str) -> Reply {
    get_with(url, path, &[&format!("Bearer {token}")]).await
}

/// The refusal is a 401 with `reason`, and neither body nor headers echo the token.
fn assert_refused(reply: &Reply, reason: &str, token: &str) {
    assert_eq!((reply.status, reply.body["reason"].as_str()), (401, Some(reason)), "{}", reply.text);
    let challenge = reply.challenge.as_deref().expect("WWW-Authenticate");
    let everything = format!("{challenge}{}", reply.text);
    for piece in token.split(['.', '_']).filter(|piece| piece.len() >= 8) {
        assert!(!everything.contains(piece), "the answer echoes the token: {everything}");
    }
}

fn oauth_jwt(typ: &str, subject: &str) -> String {
    let header = json!({"alg": "RS256", "kid": signer().kid(), "typ": typ});
    let payload = json!({"sub": subject, "client_id": "client_2VTWUzvGC5UhdJCNx6xG1D98edc", "scope": "read:foo write:bar",
                         "jti": "oat_2xKa9Bgv7NxMRDFyQw8LpZ3cTmU1vHjE", "iat": now(), "exp": now() + 600});
    signer().sign(&header, &payload)
}

fn m2m_jwt() -> String {
    signer().mint(
        &M2mClaims::new(CALLER_ID, "mt_0123456789abcdef0123456789abcdef", now(), now() + 600)
            .scope(SERVICE_ID),
    )
}

#[tokio::test]
async fn every_kind_reaches_its_handler() {
    let server = MockServer::start();
    serve_jwks(&server);
    let key = answers::token("api_key", "good");
    let oat = answers::token("oauth_token", "good");
    let mt = answers::token("m2m_token", "good");
    for (kind, token) in [("api_key", &key), ("oauth_token", &oat), ("m2m_token", &mt)] {
        answers::script(&server, kind, token, Answer::Valid);
    }
    let url = serve(Verifier::builder(&clerk(&server)).accept(Kinds::any()).build().unwrap()).await;

    let reply = call(&url, "/whoami", &key).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!({"kind": "api_key", "subject": USER_ID, "id": "ak_3beecc9c60adb5f9b850e91a8ee1e992", "scopes": ["read", "write"]})
    );
    let reply = call(&url, "/keys", &key).await;
    assert_eq!(reply.body, json!({"name": "nightly-script", "user_id": USER_ID, "claims": {"team": "data"}}));

    let reply = call(&url, "/oauth", &oat).await;
    assert_eq!((reply.status, &reply.body["user_id"]), (200, &json!(USER_ID)), "{}", reply.text);
    for typ in ["at+jwt", "application/at+jwt"] {
        let reply = call(&url, "/oauth", &oauth_jwt(typ, USER_ID)).await;
        assert_eq!(reply.status, 200, "{typ}: {}", reply.text);
        assert_eq!(
            reply.body,
            json!({"user_id": USER_ID, "client_id": "client_2VTWUzvGC5UhdJCNx6xG1D98edc", "scopes": ["read:foo", "write:bar"]})
        );
    }

    for token in [&mt, &m2m_jwt()] {
        let reply = call(&url, "/m2m", token).await;
        assert_eq!((reply.status, &reply.body["machine_id"]), (200, &json!(CALLER_ID)), "{}", reply.text);
    }
}

#[tokio::test]
async fn clerks_answers_are_one_contract_for_the_verifier_and_the_layer() {
    let server = MockServer::start();
    let verifier = Verifier::builder(&clerk(&server)).accept(Kinds::any()).build().unwrap();
    let url = serve(verifier.clone()).await;
    for kind in ["api_key", "oauth_token", "m2m_token"] {
        for answer in Answer::ALL {
            let token = answers::token(kind, &format!("{answer:?}"));
            let layer_token = answers::token(kind, &format!("{answer:?}layer"));
            answers::script(&server, kind, &token, answer);
            answers::script(&server, kind, &layer_token, answer);
            let direct = verifier.verify(&token).await;
            let reply = call(&url, "/whoami", &layer_token).await;
            let case = format!("{kind}, {}", answer.name());
            match answer {
                Answer::Valid => {
                    assert!(direct.is_ok(), "{case}: {direct:?}");
                    assert_eq!(reply.status, 200, "{case}: {}", reply.text);
                }
                Answer::Revoked | Answer::Expired | Answer::NotFound => {
                    let reason = match answer {
                        Answer::Revoked => Reason::Revoked,
                        Answer::Expired => Reason::Expired,
                        _ => Reason::NotFound,
                    };
                    assert!(
                        matches!(&direct, Err(VerifyError::Refused(r)) if *r == reason),
                        "{case}: {direct:?}"
                    );
                    assert_refused(&reply, reason.code(), &layer_token);
                }
                Answer::KeyRefused | Answer::ServerError | Answer::RateLimited => {
                    assert!(matches!(direct, Err(VerifyError::Unavailable(_))), "{case}: {direct:?}");
                    assert_eq!(
                        (reply.status, reply.body["reason"].as_str()),
                        (503, Some("verification_unavailable")),
                        "{case}"
                    );
                    assert!(reply.challenge.is_none(), "{case}");
                }
            }
        }
    }
}

#[tokio::test]
async fn a_kind_not_accepted_is_refused_without_calling_clerk() {
    let server = MockServer::start();
    let calls = catch_all(&server);
    serve_jwks(&server);
    let url = serve(Verifier::builder(&clerk(&server)).accept(TokenKind::M2m).build().unwrap()).await;
    for token in
        [answers::token("api_key", "x"), answers::token("oauth_token", "x"), oauth_jwt("at+jwt", USER_ID)]
    {
        assert_refused(&call(&url, "/whoami", &token).await, "kind_not_accepted", &token);
    }
    assert_refused(
        &call(&url, "/whoami", "sk_test_notamachinetoken").await,
        "token_kind_unknown",
        "sk_test_notamachinetoken",
    );
    assert_eq!(calls.calls(), 0);

    // Per-kind extractors answer 401 for the other kinds the layer accepted.
    let server = MockServer::start();
    serve_jwks(&server);
    let key = answers::token("api_key", "good");
    answers::script(&server, "api_key", &key, Answer::Valid);
    let url = serve(
        Verifier::builder(&clerk(&server)).accept([TokenKind::M2m, TokenKind::ApiKey]).build().unwrap(),
    )
    .await;
    assert_refused(&call(&url, "/m2m", &key).await, "kind_not_accepted", &key);
    let jwt = m2m_jwt();
    assert_refused(&call(&url, "/keys", &jwt).await, "kind_not_accepted", &jwt);
    assert_eq!(call(&url, "/keys", &key).await.status, 200);
}

#[tokio::test]
async fn odd_authorization_headers_are_refused_before_any_call() {
    let server = MockServer::start();
    let key = answers::token("api_key", "good");
    let good = answers::script(&server, "api_key", &key, Answer::Valid);
    let calls = catch_all(&server); // after the scripted answer: httpmock takes the first match
    let url = serve(Verifier::builder(&clerk(&server)).accept(Kinds::any()).build().unwrap()).await;
    let bearer = format!("Bearer {key}");

    // Exactly one header: two (even the same twice) are refused.
    let reply = get_with(&url, "/whoami", &[&bearer, &bearer]).await;
    assert_refused(&reply, "token_malformed", &key);
    let reply = get_with(&url, "/whoami", &[&bearer, "Bearer ak_other0000000000000000000000000"]).await;
    assert_refused(&reply, "token_malformed", &key);
    // The scheme in any case.
    for scheme in ["bearer", "BEARER", "bEaReR"] {
        let reply = get_with(&url, "/whoami", &[&format!("{scheme} {key}")]).await;
        assert_eq!(reply.status, 200, "{scheme}: {}", reply.text);
    }
    // A size bound, then RFC 6750's b64token.
    let long = format!("ak_{}", "A".repeat(5000));
    assert_refused(&call(&url, "/whoami", &long).await, "token_too_long", &long);
    for bad in [
        "ak_abc,def0000000000000000000000",
        "ak_abc\"def000000000000000000000",
        "ak_abc;def0000000000000000000000",
        "mt_abc=def0000000000000000000000",
    ] {
        assert_refused(&call(&url, "/whoami", bad).await, "token_malformed", bad);
    }
    assert_refused(
        &get_with(&url, "/whoami", &["Basic dXNlcjpwYXNzd29yZA=="]).await,
        "token_malformed",
        "dXNlcjpwYXNzd29yZA",
    );
    let reply = get_with(&url, "/whoami", &[]).await;
    assert_eq!((reply.status, reply.challenge.as_deref()), (401, Some("Bearer realm=\"clerk\"")));
    // Only the three good requests reached Clerk (no positive cache here: one call each).
    assert_eq!((good.calls(), calls.calls()), (3, 0));
}

#[tokio::test]
async fn a_flood_of_made_up_tokens_barely_reaches_clerk() {
    let server = MockServer::start();
    let calls = catch_all(&server);
    let verifier = Verifier::builder(&clerk(&server)).accept(Kinds::any()).build().unwrap();
    let url = serve(verifier.clone()).await;

    // Strings that cannot be tokens of their kind: never sent.
    let mut sent = 0;
    for i in 0..100 {
        for bogus in [
            format!("mt_{i}"),
            format!("oat_short{i}"),
            format!("ak_{i}_{}", "z".repeat(30)),
            format!("mt_{}", "9".repeat(200 + i)),
        ] {
            assert_refused(&call(&url, "/whoami", &bogus).await, "token_malformed", &bogus);
            sent += 1;
        }
    }
    assert_eq!((sent, calls.calls()), (400, 0));

    // Well-shaped but unknown: one call each, then remembered.
    let unknown = answers::token("m2m_token", "unknown");
    for _ in 0..50 {
        assert_refused(&call(&url, "/whoami", &unknown).await, "token_not_found", &unknown);
    }
    assert_eq!(calls.calls(), 1, "a refusal is remembered");
    assert_eq!(verifier.stats().refusal_cache.hits, 49);
}

#[tokio::test]
async fn concurrent_verifications_of_one_token_share_one_call() {
    let server = MockServer::start();
    let key = answers::token("api_key", "slow");
    let slow = server.mock(|when, then| {
        when.method(Method::POST).path("/api_keys/verify");
        then.status(200)
            .delay(Duration::from_millis(300))
            .json_body(answers::success_body("api_key", false, false));
    });
    let verifier = Verifier::builder(&clerk(&server)).accept(TokenKind::ApiKey).build().unwrap();
    let url = serve(verifier.clone()).await;
    let requests: Vec<_> = (0..20)
        .map(|_| {
            let (url, key) = (url.clone(), key.clone());
            tokio::spawn(async move { call(&url, "/keys", &key).await.status })
        })
        .collect();
    for request in requests {
        assert_eq!(request.await.unwrap(), 200);
    }
    let stats = verifier.stats();
    assert_eq!(slow.calls(), stats.clerk_calls as usize);
    assert_eq!(stats.clerk_calls + stats.joined_calls, 20);
    assert!(stats.clerk_calls < 20, "{stats:?}");
}

#[tokio::test]
async fn beyond_the_ceiling_the_layer_answers_503_without_calling_clerk() {
    let server = MockServer::start();
    let calls = catch_all(&server);
    let verifier = Verifier::builder(&clerk(&server))
        .accept(Kinds::any())
        .max_clerk_calls_per_second(5)
        .build()
        .unwrap();
    let url = serve(verifier.clone()).await;
    let mut unavailable = 0;
    for i in 0..30 {
        let token = answers::token("api_key", &format!("flood{i}"));
        let reply = call(&url, "/whoami", &token).await;
        match reply.status {
            401 => assert_eq!(reply.body["reason"], "token_not_found"),
            503 => {
                assert_eq!(reply.body["reason"], "verification_unavailable");
                unavailable += 1;
            }
            other => panic!("{other}: {}", reply.text),
        }
    }
    let stats = verifier.stats();
    assert_eq!(stats.clerk_calls as usize, calls.calls());
    assert_eq!((stats.clerk_calls + stats.over_ceiling, stats.over_ceiling), (30, unavailable));
    assert!(unavailable > 0 && calls.calls() < 30, "{stats:?}");
}
