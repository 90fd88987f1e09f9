//! The fake's API keys and OAuth access tokens, driven through the crate's
//! own client: the lifecycle with Clerk's semantics, the OAuth test hook
//! (opaque tokens and `at+jwt` JWTs), and the per-operation call counts.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use clerk_machines::oauth::OAuthTokenVerification;
use clerk_machines::{Clerk, Error};
use clerk_machines_fake::{FakeClerk, OAuthTokenOptions, DEFAULT_CLIENT_ID};
use futures::TryStreamExt;
use serde_json::{json, Value};
use std::time::Duration;

const USER: &str = "user_2xhFjEI5X2qWRvtV13BzSj8H6Dk";
const ORG: &str = "org_2xhFjEI5X2qWRvtV13BzSj8H6Dk";

fn status(error: &Error) -> u16 {
    error.status().map(|s| s.as_u16()).unwrap_or(0)
}

async fn machine(clerk: &Clerk, name: &str) -> String {
    clerk.machines().create(name, Vec::<String>::new(), None).await.unwrap().id
}

/// A request the crate's client would not send as is.
async fn raw(url: &str, key: Option<&str>, body: Value) -> (u16, Value) {
    let mut request = clerk_machines::http_client_builder().unwrap().build().unwrap().post(url).json(&body);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The fake's origin, without `/v1`.
fn origin(fake: &FakeClerk) -> String {
    fake.url().trim_end_matches("/v1").to_owned()
}

#[tokio::test]
async fn an_api_key_lives_as_in_clerk_from_creation_to_deletion() {
    let fake = FakeClerk::start().await.unwrap();
    let clerk = fake.clerk();
    let worker = machine(clerk, "worker").await;
    let created = clerk
        .api_keys()
        .create("deploy-key", worker.as_str())
        .description("deploys")
        .scopes(["deploy", "read"])
        .claims(json!({"env": "prod"}))
        .created_by(USER)
        .await
        .unwrap();
    let key = &created.api_key;
    assert!(clerk_machines::ids::is_api_key_id(&key.id), "{}", key.id);
    assert_eq!((key.subject.as_str(), key.key_type.as_str()), (worker.as_str(), "api_key"));
    assert_eq!(key.scopes, ["deploy", "read"]);
    assert_eq!(key.claims, json!({"env": "prod"}));
    assert_eq!(key.created_by.as_deref(), Some(USER));
    assert!(key.is_valid() && key.expiration.is_none() && key.last_used_at.is_none());
    let secret = created.secret.expose_secret();
    assert!(secret.starts_with("ak_") && secret.len() > 40, "{secret}");

    // The secret again, later.
    assert_eq!(clerk.api_keys().secret(&key.id).await.unwrap().expose_secret(), secret);

    // Verification marks it used.
    let verified = clerk.api_keys().verify(secret).await.unwrap();
    assert_eq!((verified.id.as_str(), verified.subject.as_str()), (key.id.as_str(), worker.as_str()));
    assert!(verified.last_used_at.is_some());
    assert!(clerk.api_keys().get(&key.id).await.unwrap().last_used_at.is_some());

    // Only what is sent changes.
    let updated = clerk.api_keys().update(&key.id).description("ships").scopes(["read"]).await.unwrap();
    assert_eq!(updated.description.as_deref(), Some("ships"));
    assert_eq!(updated.scopes, ["read"]);
    assert_eq!(updated.claims, json!({"env": "prod"}));
    assert_eq!(updated.name, "deploy-key");

    // Revoked: no longer verifies, listed only with include_invalid, reason kept.
    let revoked = clerk.api_keys().revoke(&key.id).reason("rotated").await.unwrap();
    assert!(revoked.revoked && !revoked.is_valid());
    assert_eq!(revoked.revocation_reason.as_deref(), Some("rotated"));
    let again = clerk.api_keys().revoke(&key.id).reason("other").await.unwrap();
    assert_eq!(again.revocation_reason.as_deref(), Some("rotated"), "the first reason stays");
    let refused = clerk.api_keys().verify(secret).await.unwrap_err();
    assert!(refused.is_not_found(), "{refused:?}");
    assert_eq!(clerk.api_keys().list(worker.as_str()).await.unwrap().total_count, 0);
    let all = clerk.api_keys().list(worker.as_str()).include_invalid(true).await.unwrap();
    assert_eq!(all.total_count, 1);
    assert_eq!(all.items[0].revocation_reason.as_deref(), Some("rotated"));

    let deleted = clerk.api_keys().delete(&key.id).await.unwrap();
    assert!(deleted.deleted);
    assert_eq!(status(&clerk.api_keys().get(&key.id).await.unwrap_err()), 404);
    assert_eq!(status(&clerk.api_keys().secret(&key.id).await.unwrap_err()), 404);
    assert_eq!(status(&clerk.api_keys().delete(&key.id).await.unwrap_err()), 404);
}

#[tokio::test]
async fn expired_keys_are_refused_and_hidden_unless_invalid_ones_are_asked_for() {
    let fake = FakeClerk::start().await.unwrap();
    let clerk = fake.clerk();
    let created = clerk
        .api_keys()
        .create("short-lived", USER)
        .seconds_until_expiration(Duration::from_secs(60))
        .await
        .unwrap();
    let expiration = created.api_key.expiration.expect("an expiry");
    assert_eq!(expiration - created.api_key.created_at, 60_000.0);
    clerk.api_keys().verify(created.secret.expose_secret()).await.unwrap();

    fake.advance_clock(Duration::from_secs(61));
    let refused = clerk.api_keys().verify(created.secret.expose_secret()).await.unwrap_err();
    assert!(refused.is_not_found(), "{refused:?}");
    assert!(refused.to_string().contains("expired"), "{refused}");
    let key = clerk.api_keys().get(&created.api_key.id).await.unwrap();
    assert!(key.expired && !key.is_valid());
    assert_eq!(clerk.api_keys().list(USER).await.unwrap().total_count, 0);
    assert_eq!(clerk.api_keys().list(USER).include_invalid(true).await.unwrap().total_count, 1);

    // A new lifetime counts from now and makes the key valid again.
    let renewed =
        clerk.api_keys().update(&key.id).seconds_until_expiration(Duration::from_secs(600)).await.unwrap();
    assert!(!renewed.expired);
    clerk.api_keys().verify(created.secret.expose_secret()).await.unwrap();
}

#[tokio::test]
async fn subjects_follow_clerks_rules() {
    let fake = FakeClerk::start().await.unwrap();
    let clerk = fake.clerk();
    for subject in [USER, ORG] {
        let key = clerk.api_keys().create("ok-key", subject).await.unwrap();
        assert_eq!(key.api_key.subject, subject);
    }
    // A machine subject must exist; SCIM subjects are not served.
    let missing = clerk.api_keys().create("k-1", "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk").await.unwrap_err();
    assert_eq!(status(&missing), 400, "{missing:?}");
    let scim = clerk.api_keys().create("k-1", "scim_2xhFjEI5X2qWRvtV13BzSj8H6Dk").await.unwrap_err();
    assert_eq!(status(&scim), 400, "{scim:?}");
    // A second valid key of the same name is a conflict; once revoked, the name is free.
    let first = clerk.api_keys().create("dup", USER).await.unwrap();
    let conflict = clerk.api_keys().create("dup", USER).await.unwrap_err();
    assert_eq!(status(&conflict), 409, "{conflict:?}");
    clerk.api_keys().create("dup", ORG).await.unwrap();
    clerk.api_keys().revoke(&first.api_key.id).await.unwrap();
    clerk.api_keys().create("dup", USER).await.unwrap();

    // Deleting a machine deletes its keys.
    let worker = machine(clerk, "worker").await;
    let key = clerk.api_keys().create("machine-key", worker.as_str()).await.unwrap();
    clerk.machines().delete(&worker).await.unwrap();
    assert_eq!(status(&clerk.api_keys().get(&key.api_key.id).await.unwrap_err()), 404);
    assert_eq!(status(&clerk.api_keys().verify(key.secret.expose_secret()).await.unwrap_err()), 404);
    assert_eq!(status(&clerk.api_keys().list(worker.as_str()).await.unwrap_err()), 404);
}

#[tokio::test]
async fn lists_search_and_page_newest_first() {
    let fake = FakeClerk::start().await.unwrap();
    let clerk = fake.clerk();
    for name in ["ci-alpha", "ci-beta", "ops-gamma", "ci-delta", "ops-epsilon"] {
        clerk.api_keys().create(name, USER).await.unwrap();
    }
    clerk.api_keys().create("other-subject", ORG).await.unwrap();
    let page = clerk.api_keys().list(USER).limit(2).await.unwrap();
    assert_eq!(page.total_count, 5);
    assert_eq!(page.items.iter().map(|k| k.name.as_str()).collect::<Vec<_>>(), ["ops-epsilon", "ci-delta"]);
    let rest = clerk.api_keys().list(USER).limit(2).offset(4).await.unwrap();
    assert_eq!(rest.items.iter().map(|k| k.name.as_str()).collect::<Vec<_>>(), ["ci-alpha"]);
    let all: Vec<_> = clerk.api_keys().list(USER).limit(2).into_stream().try_collect().await.unwrap();
    assert_eq!(all.len(), 5);

    let ci = clerk.api_keys().list(USER).query("CI-").await.unwrap();
    assert_eq!(ci.total_count, 3);
    assert!(ci.items.iter().all(|k| k.name.starts_with("ci-")));
    let by_id = clerk.api_keys().list(USER).query(all[2].id.as_str()).await.unwrap();
    assert_eq!(by_id.items.iter().map(|k| k.id.as_str()).collect::<Vec<_>>(), [all[2].id.as_str()]);
}

#[tokio::test]
async fn api_key_secrets_do_not_authenticate_to_clerk_and_sdk_paths_are_served() {
    let fake = FakeClerk::start().await.unwrap();
    let created = fake.clerk().api_keys().create("k-1", USER).await.unwrap();
    let secret = created.secret.expose_secret();
    let (code, _) = raw(&format!("{}/machines", fake.url()), Some(secret), json!({"name": "x"})).await;
    assert_eq!(code, 401);
    // Clerk's JavaScript SDK calls the unversioned path.
    let key = fake.instance_key().expose_secret();
    let (code, body) =
        raw(&format!("{}/api_keys/verify", origin(&fake)), Some(key), json!({"secret": secret})).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["id"], json!(created.api_key.id));
    assert!(body.get("secret").is_none(), "verification does not show the secret");
}

#[tokio::test]
async fn opaque_oauth_tokens_verify_until_revoked_or_expired() {
    let fake = FakeClerk::start().await.unwrap();
    let clerk = fake.clerk();
    let issued = fake
        .issue_oauth_access_token(OAuthTokenOptions::new(USER).scope("read").scope("write"))
        .await
        .unwrap();
    let token = issued.token.expose_secret();
    assert!(token.starts_with(clerk_machines::oauth::OAUTH_TOKEN_PREFIX), "{token}");
    let answer = clerk.oauth_access_tokens().verify(token).await.unwrap();
    let record = answer.active().expect("active");
    assert_eq!(record.id, issued.id);
    assert_eq!(record.subject, USER);
    assert_eq!(record.client_id, DEFAULT_CLIENT_ID);
    assert_eq!(record.scopes, ["read", "write"]);
    assert_eq!(record.expiration, Some(issued.expiration as f64));

    let unknown = clerk.oauth_access_tokens().verify("oat_unknown").await.unwrap_err();
    assert!(unknown.is_not_found(), "{unknown:?}");

    assert!(fake.revoke_oauth_access_token(&issued.id, Some("user signed out")));
    assert!(!fake.revoke_oauth_access_token("oat_nothing", None));
    let revoked = clerk.oauth_access_tokens().verify(token).await.unwrap_err();
    assert!(revoked.is_not_found() && revoked.to_string().contains("revoked"), "{revoked}");

    let short = fake
        .issue_oauth_access_token(OAuthTokenOptions::new(USER).lifetime(Duration::from_secs(30)))
        .await
        .unwrap();
    fake.advance_clock(Duration::from_secs(31));
    let expired = clerk.oauth_access_tokens().verify(short.token.expose_secret()).await.unwrap_err();
    assert!(expired.is_not_found() && expired.to_string().contains("expired"), "{expired}");

    // Only users grant OAuth tokens.
    assert!(fake
        .issue_oauth_access_token(OAuthTokenOptions::new("mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"))
        .await
        .is_err());
}

fn decode_part(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[tokio::test]
async fn jwt_oauth_tokens_carry_clerks_claims_and_are_signed_by_the_served_key_set() {
    let fake = FakeClerk::start().await.unwrap();
    let clerk = fake.clerk();
    let options = OAuthTokenOptions::new(USER)
        .client_id("client_2VTWUzvGC5UhdJCNx6xG1D98edc")
        .scope("read:foo")
        .scope("write:bar")
        .lifetime(Duration::from_secs(300))
        .jwt();
    let issued = fake.issue_oauth_access_token(options).await.unwrap();
    let token = issued.token.expose_secret().to_owned();
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header = decode_part(parts[0]);
    let claims = decode_part(parts[1]);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "RS256");
    assert_eq!(claims["sub"], USER);
    assert_eq!(claims["client_id"], "client_2VTWUzvGC5UhdJCNx6xG1D98edc");
    assert_eq!(claims["scope"], "read:foo write:bar");
    assert_eq!(claims["jti"], json!(issued.id));
    let iat = claims["iat"].as_i64().unwrap();
    assert_eq!(claims["nbf"].as_i64(), Some(iat));
    assert_eq!(claims["exp"].as_i64(), Some(iat + 300));
    assert_eq!(claims["iss"], json!(origin(&fake)));

    // The key id is the one `/v1/jwks` serves, and its key verifies the signature.
    let jwks = clerk.raw().get_jwks().send().await.unwrap().into_inner();
    let jwks = serde_json::to_value(jwks).unwrap();
    let jwk = &jwks["keys"][0];
    assert_eq!(jwk["kid"], header["kid"]);
    let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
    let e = URL_SAFE_NO_PAD.decode(jwk["e"].as_str().unwrap()).unwrap();
    let public = ring::signature::RsaPublicKeyComponents { n: &n, e: &e };
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    let signed = format!("{}.{}", parts[0], parts[1]);
    public.verify(&ring::signature::RSA_PKCS1_2048_8192_SHA256, signed.as_bytes(), &signature).unwrap();

    let answer = clerk.oauth_access_tokens().verify(&token).await.unwrap();
    let record = answer.active().expect("active");
    assert_eq!((record.id.as_str(), record.subject.as_str()), (issued.id.as_str(), USER));
    assert_eq!(record.scopes, ["read:foo", "write:bar"]);

    // Clerk's other spelling of the type.
    let other =
        fake.issue_oauth_access_token(OAuthTokenOptions::new(USER).jwt_with_typ("application/at+jwt")).await;
    let other = other.unwrap();
    let header = decode_part(other.token.expose_secret().split('.').next().unwrap());
    assert_eq!(header["typ"], "application/at+jwt");

    // Expired: the spec's `{"active": false}`; tampered: unknown.
    fake.advance_clock(Duration::from_secs(301));
    assert_eq!(clerk.oauth_access_tokens().verify(&token).await.unwrap(), OAuthTokenVerification::Inactive);
    let tampered = format!("{}.{}.{}x", parts[0], parts[1], parts[2]);
    assert!(clerk.oauth_access_tokens().verify(&tampered).await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn the_test_route_issues_tokens_with_the_instance_key_only() {
    let fake = FakeClerk::start().await.unwrap();
    let url = format!("{}/__fake/oauth_access_tokens", origin(&fake));
    let key = fake.instance_key().expose_secret();
    let (code, issued) = raw(
        &url,
        Some(key),
        json!({"subject": USER, "scopes": ["read"], "lifetime": 600, "jwt_typ": "at+jwt"}),
    )
    .await;
    assert_eq!(code, 200, "{issued}");
    let token = issued["token"].as_str().unwrap();
    assert_eq!(token.split('.').count(), 3);
    let answer = fake.clerk().oauth_access_tokens().verify(token).await.unwrap();
    assert_eq!(answer.active().map(|t| t.scopes.clone()), Some(vec!["read".to_owned()]));

    let (code, _) = raw(&url, None, json!({"subject": USER})).await;
    assert_eq!(code, 401);
    let (code, _) = raw(&url, Some(key), json!({"subject": "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"})).await;
    assert_eq!(code, 400);
    let id = issued["id"].as_str().unwrap();
    let (code, _) = raw(&format!("{url}/{id}/revoke"), Some(key), json!({})).await;
    assert_eq!(code, 200);
    assert_eq!(
        fake.clerk().oauth_access_tokens().verify(token).await.unwrap(),
        OAuthTokenVerification::Inactive
    );
}

#[tokio::test]
async fn verification_calls_are_counted_per_operation() {
    let fake = FakeClerk::start().await.unwrap();
    let clerk = fake.clerk();
    assert_eq!(fake.calls("verifyApiKey"), 0);
    let created = clerk.api_keys().create("counted", USER).await.unwrap();
    for _ in 0..3 {
        clerk.api_keys().verify(created.secret.expose_secret()).await.unwrap();
    }
    clerk.api_keys().verify("ak_unknown").await.unwrap_err();
    let issued = fake.issue_oauth_access_token(OAuthTokenOptions::new(USER)).await.unwrap();
    clerk.oauth_access_tokens().verify(issued.token.expose_secret()).await.unwrap();
    clerk.oauth_access_tokens().verify(issued.token.expose_secret()).await.unwrap();
    assert_eq!(fake.calls("verifyApiKey"), 4, "failures count too");
    assert_eq!(fake.calls("createApiKey"), 1);
    assert_eq!(fake.calls("verifyOAuthAccessToken"), 2);
    assert_eq!(fake.calls("getApiKey"), 0);

    // During an outage, calls are still counted.
    fake.start_outage(503, None);
    let config = clerk_machines::ClerkConfig::default()
        .with_base_url(fake.url())
        .with_retry(clerk_machines::RetryConfig::disabled());
    let once = Clerk::new(fake.instance_key().clone(), config).unwrap();
    assert_eq!(status(&once.api_keys().verify("ak_x").await.unwrap_err()), 503);
    assert_eq!(fake.calls("verifyApiKey"), 5);
}
