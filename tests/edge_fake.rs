//! The layer in a real axum server on a local port, with every kind of
//! credential issued by the fake (M2M tokens, an API key, OAuth access tokens
//! opaque and JWT in both `typ` spellings) and verified against it; and a
//! flood of made-up opaque tokens and keys, with the verification calls the
//! fake received counted (`FakeClerk::calls`).
#![cfg(feature = "axum")]

use axum::routing::get;
use axum::{Json, Router};
use clerk_machines::m2m::TokenFormat;
use clerk_machines::server::AuthLayer;
use clerk_machines::verify::{Kinds, Verified, Verifier};
use clerk_machines_fake::{FakeClerk, OAuthTokenOptions};
use serde_json::{json, Value};
use std::sync::OnceLock;

const USER: &str = "user_2xhFjEI5X2qWRvtV13BzSj8H6Dk";

async fn whoami(caller: Verified) -> Json<Value> {
    Json(json!({"kind": caller.kind().as_str(), "subject": caller.subject(), "scopes": caller.scopes()}))
}

/// Serves `/whoami` behind a layer accepting every kind; returns the base URL.
async fn serve(verifier: Verifier) -> String {
    let app = Router::new().route("/whoami", get(whoami)).layer(AuthLayer::new(verifier));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// One HTTP client for every call (a new one per call would load the TLS roots each time).
fn http() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| clerk_machines::http_client_builder().unwrap().build().unwrap())
}

async fn call(url: &str, token: &str) -> (u16, Value) {
    let response = http().get(format!("{url}/whoami")).bearer_auth(token).send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert!(!text.contains(token), "the answer echoes the token: {text}");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A fake with a service machine and a caller scoped to it, and a verifier for the service.
async fn setup() -> (FakeClerk, String, clerk_machines::types::CreateMachineResponse) {
    let fake = FakeClerk::start().await.unwrap();
    let machines = fake.clerk().machines();
    let service = machines.create("service", Vec::<String>::new(), None).await.unwrap();
    let caller = machines.create("caller", [service.id.as_str()], None).await.unwrap();
    // Opaque M2M tokens are verified with the service's own machine key
    // (Clerk checks that they were granted to it); the rest with the instance key.
    let as_service = fake.client_with_key(service.secret_key.clone()).unwrap();
    let verifier = Verifier::builder(fake.clerk())
        .accept(Kinds::any())
        .m2m_opaque_via(&as_service)
        .scoped_to(service.id.as_str())
        .build()
        .unwrap();
    let url = serve(verifier).await;
    (fake, url, caller)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_issued_by_the_fake_passes_the_layer() {
    let (fake, url, caller) = setup().await;
    let as_caller = fake.client_with_key(caller.secret_key.clone()).unwrap();
    for format in [TokenFormat::Jwt, TokenFormat::Opaque] {
        let token = as_caller.m2m().create_token().token_format(format).await.unwrap();
        let (status, body) = call(&url, token.token.expose_secret()).await;
        assert_eq!((status, &body["kind"], &body["subject"]), (200, &json!("m2m_token"), &json!(caller.id)));
    }

    let key =
        fake.clerk().api_keys().create("script", caller.id.as_str()).scopes(["reports:read"]).await.unwrap();
    let (status, body) = call(&url, key.secret.expose_secret()).await;
    assert_eq!((status, &body["kind"], &body["scopes"]), (200, &json!("api_key"), &json!(["reports:read"])));

    for options in [
        OAuthTokenOptions::new(USER).scope("read"),
        OAuthTokenOptions::new(USER).scope("read").jwt(),
        OAuthTokenOptions::new(USER).jwt_with_typ("application/at+jwt"),
    ] {
        let issued = fake.issue_oauth_access_token(options.clone()).await.unwrap();
        let (status, body) = call(&url, issued.token.expose_secret()).await;
        assert_eq!(
            (status, &body["kind"], &body["subject"]),
            (200, &json!("oauth_token"), &json!(USER)),
            "{options:?}"
        );
    }

    // Revoked at Clerk: refused (the key and the opaque OAuth token are asked anew:
    // no positive cache for them by default).
    fake.clerk().api_keys().revoke(&key.api_key.id).reason("leaked").await.unwrap();
    let (status, body) = call(&url, key.secret.expose_secret()).await;
    assert_eq!(status, 401, "{body}");
    let opaque = fake.issue_oauth_access_token(OAuthTokenOptions::new(USER)).await.unwrap();
    assert!(fake.revoke_oauth_access_token(&opaque.id, None));
    let (status, body) = call(&url, opaque.token.expose_secret()).await;
    assert_eq!(status, 401, "{body}");
    fake.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_bogus_opaque_tokens_is_counted_at_the_fake() {
    let (fake, url, caller) = setup().await;
    let ops = ["verifyM2MToken", "verifyApiKey", "verifyOAuthAccessToken"];
    let calls = |fake: &FakeClerk| ops.map(|op| fake.calls(op));

    // Strings that cannot be tokens of their kind: refused at the edge, never sent.
    for i in 0..100 {
        for bogus in [
            format!("mt_{i}"),
            format!("oat_{i}"),
            format!("ak_{i}!"),
            format!("ak_{}", "A".repeat(5_000 + i)),
        ] {
            let (status, body) = call(&url, &bogus).await;
            assert_eq!(status, 401, "{bogus:.40}: {body}");
        }
    }
    assert_eq!(calls(&fake), [0, 0, 0], "400 malformed strings cost no call to Clerk");

    // Well-shaped but unknown: each asked once, then the refusal is remembered.
    let unknown = [
        format!("mt_{}", "0".repeat(32)),
        format!("ak_{}", "A".repeat(40)),
        format!("oat_{}", "0".repeat(32)),
    ];
    for _ in 0..50 {
        for token in &unknown {
            assert_eq!(call(&url, token).await.0, 401, "{token}");
        }
    }
    assert_eq!(calls(&fake), [1, 1, 1], "150 requests with 3 unknown tokens: one call each");

    // A real key still works in the middle of the flood, and costs its own call.
    let key = fake.clerk().api_keys().create("real", caller.id.as_str()).await.unwrap();
    assert_eq!(call(&url, key.secret.expose_secret()).await.0, 200);
    assert_eq!(fake.calls("verifyApiKey"), 2);
    fake.stop().await;
}
