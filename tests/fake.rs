//! The fake Clerk, driven through the crate's own client (and raw HTTP where
//! the client would refuse to send the request).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use clerk_machines::ids::{is_m2m_token_id as is_token_id, is_machine_id};
use clerk_machines::machines::{MachineOrder, MachineOrderField, SortDirection};
use clerk_machines::types;
use clerk_machines::verify::Verifier;
use clerk_machines::{Clerk, Error};
use clerk_machines_fake::{FakeClerk, FakeOptions};
use futures::TryStreamExt;
use serde_json::{json, Value};
use std::time::Duration;

mod common;
use common::{largest, max_items, max_length};

async fn raw(
    fake: &FakeClerk,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let client = common::http_client();
    let url = format!("{}{}", fake.url(), path);
    let mut request = client.request(method.parse().unwrap(), url);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    (status, headers, body)
}

fn api_status(error: &Error) -> u16 {
    error.status().map(|s| s.as_u16()).unwrap_or(0)
}

async fn mint(
    clerk: &Clerk,
    format: types::CreateM2mTokenBodyTokenFormat,
    seconds: Option<u64>,
) -> types::CreateM2mTokenResponse {
    let body = types::CreateM2mTokenBody::builder()
        .token_format(Some(format))
        .seconds_until_expiration(seconds.and_then(std::num::NonZeroU64::new));
    clerk.raw().create_m2m_token().body(body).send().await.unwrap().into_inner()
}

#[tokio::test]
async fn requests_without_a_valid_key_get_401_with_clerks_error_body() {
    let fake = FakeClerk::start().await.unwrap();
    for key in [None, Some("sk_test_wrong"), Some("ak_unknown")] {
        let (status, headers, body) = raw(&fake, "GET", "/machines", key, None).await;
        assert_eq!(status, 401, "{key:?}");
        assert_eq!(body["errors"][0]["code"], "authentication_invalid");
        assert!(body["errors"][0]["long_message"].is_string());
        let trace = body["clerk_trace_id"].as_str().unwrap();
        assert_eq!(headers["clerk-trace-id"].to_str().unwrap(), trace);
    }
    // Through the client: a typed error with code and trace id.
    let wrong = fake.client_with_key("sk_test_wrong").unwrap();
    let error = wrong.machines().get("mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk").await.unwrap_err();
    assert_eq!(api_status(&error), 401);
    assert_eq!(error.code(), Some("authentication_invalid"));
    assert!(error.trace_id().is_some());
}

#[tokio::test]
async fn machines_lifecycle() {
    let fake = FakeClerk::start().await.unwrap();
    let clerk = fake.clerk();
    let api = clerk.machines().create("api", Vec::<String>::new(), None).await.unwrap();
    assert!(is_machine_id(&api.id), "{}", api.id);
    assert!(api.secret_key.expose_secret().starts_with("ak_"));
    assert_eq!(api.default_token_ttl.get(), 3600);
    assert_eq!(api.instance_id, fake.instance_id());
    assert!(api.created_at > 1_600_000_000_000, "milliseconds: {}", api.created_at);
    assert_eq!(api.created_at, api.updated_at);

    let worker =
        clerk.machines().create("worker", [api.id.as_str()], Some(Duration::from_secs(600))).await.unwrap();
    assert_eq!(worker.default_token_ttl.get(), 600);
    assert_eq!(worker.scoped_machines.len(), 1);
    assert_eq!(worker.scoped_machines[0].id, api.id);

    let fetched = clerk.machines().get(&worker.id).await.unwrap();
    assert_eq!(fetched.name, "worker");
    assert_eq!(fetched.scoped_machines[0].id, api.id);

    fake.advance_clock(Duration::from_secs(5));
    let renamed = clerk.machines().update(&worker.id).name("worker-2").await.unwrap();
    assert_eq!(renamed.name, "worker-2");
    assert_eq!(renamed.default_token_ttl.get(), 600, "fields not given keep their values");
    assert!(renamed.updated_at >= renamed.created_at + 5000);

    let key = clerk.machines().secret_key(&worker.id).await.unwrap();
    assert_eq!(key.secret, worker.secret_key);

    // Deleting the target removes the scope pointing at it.
    let deleted = clerk.machines().delete(&api.id).await.unwrap();
    assert!(deleted.deleted);
    assert_eq!(deleted.id, api.id);
    assert!(clerk.machines().get(&worker.id).await.unwrap().scoped_machines.is_empty());
    let error = clerk.machines().get(&api.id).await.unwrap_err();
    assert!(error.is_not_found(), "{error}");
    assert_eq!(error.code(), Some("resource_not_found"));
    assert!(clerk.machines().delete(&api.id).await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn lists_page_filter_and_sort() {
    let fake = FakeClerk::start().await.unwrap();
    let clerk = fake.clerk();
    let mut ids = Vec::new();
    for name in ["charlie", "alpha", "bravo", "alpha-2", "delta"] {
        ids.push(clerk.machines().create(name, Vec::<String>::new(), None).await.unwrap().id);
        fake.advance_clock(Duration::from_millis(10));
    }
    // Default: newest first, page of 10.
    let page = clerk.machines().list().await.unwrap();
    assert_eq!(page.total_count, 5);
    let got: Vec<_> = page.items.iter().map(|m| m.id.clone()).collect();
    assert_eq!(got, ids.iter().rev().cloned().collect::<Vec<_>>());

    let by_name = MachineOrder::new(MachineOrderField::Name, SortDirection::Ascending);
    let page = clerk.machines().list().order_by(by_name).limit(2).offset(1).await.unwrap();
    assert_eq!(page.total_count, 5);
    let names: Vec<_> = page.items.iter().map(|m| m.name.to_string()).collect();
    assert_eq!(names, ["alpha-2", "bravo"]);

    let page = clerk.machines().list().query("ALPHA").await.unwrap();
    assert_eq!(page.total_count, 2, "partial, case-insensitive name match");
    let page = clerk.machines().list().query(ids[2].clone()).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].id, ids[2]);

    let all: Vec<_> = clerk.machines().list().limit(2).into_stream().try_collect().await.unwrap();
    assert_eq!(all.len(), 5);

    let past = format!("limit={}", largest("ListMachines", "limit") + 1);
    for bad in ["limit=0", past.as_str(), "order_by=size", "offset=-1"] {
        let key = fake.instance_key().expose_secret().to_owned();
        let (status, _, body) = raw(&fake, "GET", &format!("/machines?{bad}"), Some(&key), None).await;
        assert_eq!(status, 422, "{bad}: {body}");
        assert!(body["clerk_trace_id"].is_string());
    }
}

#[tokio::test]
async fn validation_errors_use_clerks_body() {
    let fake = FakeClerk::start().await.unwrap();
    let key = fake.instance_key().expose_secret().to_owned();
    let cases = [
        (json!({"name": ""}), "name"),
        (json!({"name": "x".repeat(max_length("CreateMachine", "name") + 1)}), "name"),
        (json!({}), "name"),
        (json!({"name": "a", "default_token_ttl": 0}), "default_token_ttl"),
        (
            json!({"name": "a", "default_token_ttl": largest("CreateMachine", "default_token_ttl") + 1}),
            "default_token_ttl",
        ),
        (json!({"name": "a", "scoped_machines": ["mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"]}), "scoped_machines"),
    ];
    for (body, param) in cases {
        let (status, headers, answer) = raw(&fake, "POST", "/machines", Some(&key), Some(body.clone())).await;
        assert_eq!(status, 422, "{body}: {answer}");
        assert_eq!(answer["errors"][0]["meta"]["param_name"], param, "{answer}");
        assert!(headers.contains_key("clerk-trace-id"));
    }
    // The longest name, in characters (not bytes), is fine.
    let longest = "é".repeat(max_length("CreateMachine", "name"));
    let (status, _, answer) =
        raw(&fake, "POST", "/machines", Some(&key), Some(json!({"name": longest}))).await;
    assert_eq!(status, 200, "{answer}");
    let id = answer["id"].as_str().unwrap().to_owned();
    for ttl in [-1, largest("RotateMachineSecretKey", "previous_token_ttl") as i64 + 1] {
        let (status, _, _) = raw(
            &fake,
            "POST",
            &format!("/machines/{id}/secret_key/rotate"),
            Some(&key),
            Some(json!({"previous_token_ttl": ttl})),
        )
        .await;
        assert_eq!(status, 422, "{ttl}");
    }
    let (status, _, _) = raw(&fake, "POST", "/machines", Some(&key), None).await;
    assert_eq!(status, 422, "no body: name missing");
    let (status, _, body) = raw(&fake, "GET", "/nothing_here", Some(&key), None).await;
    assert_eq!((status, body["errors"][0]["code"].as_str()), (404, Some("resource_not_found")));
}

#[tokio::test]
async fn scopes_conflict_not_found_and_limit() {
    let fake = FakeClerk::start().await.unwrap();
    let clerk = fake.clerk();
    let a = clerk.machines().create("a", Vec::<String>::new(), None).await.unwrap();
    let b = clerk.machines().create("b", Vec::<String>::new(), None).await.unwrap();
    let scope = clerk.machines().add_scope(&a.id, &b.id).await.unwrap();
    assert_eq!(
        (scope.from_machine_id.as_str(), scope.to_machine_id.as_str()),
        (a.id.as_str(), b.id.as_str())
    );
    let error = clerk.machines().add_scope(&a.id, &b.id).await.unwrap_err();
    assert_eq!(api_status(&error), 409);
    let missing = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk";
    assert!(clerk.machines().add_scope(&a.id, missing).await.unwrap_err().is_not_found());
    assert!(clerk.machines().add_scope(missing, &a.id).await.unwrap_err().is_not_found());
    let removed = clerk.machines().remove_scope(&a.id, &b.id).await.unwrap();
    assert!(removed.deleted);
    assert!(clerk.machines().remove_scope(&a.id, &b.id).await.unwrap_err().is_not_found());

    // As many scopes as the spec's maxItems, no more (also for scopes added later).
    let most = max_items("CreateMachine", "scoped_machines");
    let mut targets = Vec::new();
    for i in 0..=most {
        targets.push(clerk.machines().create(format!("t{i}"), Vec::<String>::new(), None).await.unwrap().id);
    }
    let full = clerk.machines().create("full", targets[..most].to_vec(), None).await.unwrap();
    assert_eq!(full.scoped_machines.len(), most);
    let error = clerk.machines().add_scope(&full.id, &targets[most]).await.unwrap_err();
    assert_eq!(api_status(&error), 422, "{error}");
    let key = fake.instance_key().expose_secret().to_owned();
    let (status, _, _) =
        raw(&fake, "POST", "/machines", Some(&key), Some(json!({"name": "x", "scoped_machines": targets})))
            .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn rotation_keeps_the_previous_key_for_its_grace_period() {
    let fake = FakeClerk::start().await.unwrap();
    let clerk = fake.clerk();
    let machine = clerk.machines().create("m", Vec::<String>::new(), None).await.unwrap();
    let old = fake.client_with_key(machine.secret_key.clone()).unwrap();
    mint(&old, types::CreateM2mTokenBodyTokenFormat::Opaque, None).await;

    let rotated = clerk.machines().rotate_secret_key(&machine.id, Duration::from_secs(60)).await.unwrap();
    assert_ne!(rotated.secret, machine.secret_key);
    assert_eq!(clerk.machines().secret_key(&machine.id).await.unwrap().secret, rotated.secret);
    let new = fake.client_with_key(rotated.secret.clone()).unwrap();
    mint(&old, types::CreateM2mTokenBodyTokenFormat::Opaque, None).await;
    fake.advance_clock(Duration::from_secs(61));
    let error =
        old.raw().create_m2m_token().body(types::CreateM2mTokenBody::builder()).send().await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(401));
    mint(&new, types::CreateM2mTokenBodyTokenFormat::Opaque, None).await;

    // Zero: the previous key stops at once.
    let again = clerk.machines().rotate_secret_key(&machine.id, Duration::ZERO).await.unwrap();
    let error =
        new.raw().create_m2m_token().body(types::CreateM2mTokenBody::builder()).send().await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(401));
    let newest = fake.client_with_key(again.secret).unwrap();
    mint(&newest, types::CreateM2mTokenBodyTokenFormat::Opaque, None).await;
}

#[tokio::test]
async fn m2m_tokens_opaque() {
    let fake = FakeClerk::start().await.unwrap();
    let clerk = fake.clerk();
    let api = clerk.machines().create("api", Vec::<String>::new(), None).await.unwrap();
    let worker =
        clerk.machines().create("worker", [api.id.as_str()], Some(Duration::from_secs(120))).await.unwrap();
    let as_worker = fake.client_with_key(worker.secret_key.clone()).unwrap();
    let as_api = fake.client_with_key(api.secret_key.clone()).unwrap();

    // Only a machine key may mint.
    let error =
        clerk.raw().create_m2m_token().body(types::CreateM2mTokenBody::builder()).send().await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(401));

    let token = mint(&as_worker, types::CreateM2mTokenBodyTokenFormat::Opaque, None).await;
    assert!(is_token_id(&token.id), "{}", token.id);
    assert!(token.token.expose_secret().starts_with("mt_"));
    assert_eq!(token.subject, worker.id);
    assert_eq!(token.scopes.iter().map(|s| s.to_string()).collect::<Vec<_>>(), vec![api.id.clone()]);
    assert_eq!(token.expiration, Some(token.created_at + 120_000.0), "machine's default TTL");
    assert!(!token.revoked && !token.expired && token.last_used_at.is_none());

    // The scoped machine (or the instance) verifies it; another machine cannot.
    let verify = |c: &Clerk, t: &str| {
        let c = c.clone();
        let t = t.to_owned();
        async move { c.raw().verify_m2m_token().body(types::VerifyM2mTokenBody::builder().token(t)).send().await }
    };
    let verified = verify(&as_api, token.token.expose_secret()).await.unwrap().into_inner();
    assert_eq!(verified.id, token.id);
    assert!(verified.last_used_at.is_some());
    verify(clerk, token.token.expose_secret()).await.unwrap();
    let error = verify(&as_worker, token.token.expose_secret()).await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(404));
    let error = verify(clerk, "mt_not_a_token").await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(404));

    // Listing: the instance sees any machine; a machine only its own.
    let list = |c: &Clerk, subject: &str, revoked: bool, expired: bool| {
        let c = c.clone();
        let subject = subject.to_owned();
        async move { c.raw().get_m2m_tokens().subject(subject).revoked(revoked).expired(expired).send().await }
    };
    let short = mint(&as_worker, types::CreateM2mTokenBodyTokenFormat::Opaque, Some(10)).await;
    let listed = list(clerk, &worker.id, false, false).await.unwrap().into_inner();
    assert_eq!(listed.total_count, 2.0);
    assert_eq!(*listed.m2m_tokens[0].id, short.id, "newest first");
    list(&as_worker, &worker.id, false, false).await.unwrap();
    let error = list(&as_worker, &api.id, false, false).await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(403));

    // Revoke: verify then fails, filters move it.
    let revoke = types::RevokeM2mTokenBody::builder().revocation_reason(Some("rotated".to_owned()));
    let revoked = clerk
        .raw()
        .revoke_m2m_token()
        .m2m_token_id(token.id.to_string())
        .body(revoke)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(revoked.revoked);
    assert_eq!(revoked.revocation_reason.as_deref(), Some("rotated"));
    let error = verify(clerk, token.token.expose_secret()).await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(400));
    assert_eq!(list(clerk, &worker.id, true, false).await.unwrap().into_inner().total_count, 1.0);
    assert_eq!(list(clerk, &worker.id, false, false).await.unwrap().into_inner().total_count, 1.0);

    // Expiry follows the fake's clock.
    fake.advance_clock(Duration::from_secs(11));
    let error = verify(clerk, short.token.expose_secret()).await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(400));
    let expired = list(clerk, &worker.id, false, true).await.unwrap().into_inner();
    assert_eq!(expired.total_count, 1.0);
    assert!(expired.m2m_tokens[0].expired);

    let missing = format!("mt_{}", "0".repeat(32));
    let error = clerk
        .raw()
        .revoke_m2m_token()
        .m2m_token_id(missing)
        .body(types::RevokeM2mTokenBody::builder())
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(404));
}

#[tokio::test]
async fn m2m_token_reuse_with_min_remaining_ttl() {
    let fake = FakeClerk::start().await.unwrap();
    let machine = fake.clerk().machines().create("m", Vec::<String>::new(), None).await.unwrap();
    let as_machine = fake.client_with_key(machine.secret_key.clone()).unwrap();
    let body = || types::CreateM2mTokenBody::builder().min_remaining_ttl_seconds(Some(600));
    let first = as_machine.raw().create_m2m_token().body(body()).send().await.unwrap().into_inner();
    let second = as_machine.raw().create_m2m_token().body(body()).send().await.unwrap().into_inner();
    assert_eq!(first.id, second.id, "reused");
    fake.advance_clock(Duration::from_secs(3001));
    let third = as_machine.raw().create_m2m_token().body(body()).send().await.unwrap().into_inner();
    assert_ne!(first.id, third.id, "less than 600 s left: a new token");
    let too_long = types::CreateM2mTokenBody::builder().min_remaining_ttl_seconds(Some(3600));
    let error = as_machine.raw().create_m2m_token().body(too_long).send().await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(400));
}

#[tokio::test]
async fn jwt_tokens_are_signed_with_the_served_jwks() {
    let fake = FakeClerk::start().await.unwrap();
    let clerk = fake.clerk();
    let api = clerk.machines().create("api", Vec::<String>::new(), None).await.unwrap();
    let worker = clerk.machines().create("worker", [api.id.as_str()], None).await.unwrap();
    let as_worker = fake.client_with_key(worker.secret_key.clone()).unwrap();
    let body = types::CreateM2mTokenBody::builder()
        .token_format(Some(types::CreateM2mTokenBodyTokenFormat::Jwt))
        .seconds_until_expiration(std::num::NonZeroU64::new(60))
        .claims(Some(json!({"tenant": "acme"})));
    let token = as_worker.raw().create_m2m_token().body(body).send().await.unwrap().into_inner();
    assert!(is_token_id(&token.id));

    // Verify locally against the JWKS.
    let key = fake.instance_key().expose_secret().to_owned();
    let (status, _, jwks) = raw(&fake, "GET", "/jwks", Some(&key), None).await;
    assert_eq!(status, 200);
    let jwk = &jwks["keys"][0];
    assert_eq!((jwk["kty"].as_str(), jwk["alg"].as_str()), (Some("RSA"), Some("RS256")));
    // Minted the way Clerk mints them: category, type and key in the header;
    // sub, jti, aud, space-joined scopes, iat and exp, and the custom claims.
    let part = |index: usize| -> Value {
        let text = token.token.expose_secret().split('.').nth(index).unwrap().to_owned();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(text).unwrap()).unwrap()
    };
    let header = part(0);
    assert_eq!(header, json!({"alg": "RS256", "typ": "JWT", "kid": jwk["kid"], "cat": "cl_B7d4PD333AAA"}));
    let payload = part(1);
    assert_eq!(payload["sub"], worker.id);
    assert_eq!(payload["jti"], token.id.to_string());
    assert_eq!(payload["aud"], json!([api.id]));
    assert_eq!(payload["scopes"], json!(api.id));
    assert_eq!(payload["exp"].as_i64().unwrap() - payload["iat"].as_i64().unwrap(), 60);
    assert_eq!(payload["tenant"], "acme");
    assert!(payload.get("nbf").is_none(), "Clerk sets no nbf");
    // The crate's verifier, reading the fake's JWKS, accepts it as the scoped machine.
    let verifier = Verifier::builder(clerk).scoped_to(api.id.as_str()).clock(fake.clock()).build().unwrap();
    let verified = verifier.verify(token.token.expose_secret()).await.unwrap();
    let verified = verified.as_m2m().unwrap();
    assert_eq!(
        (verified.machine_id.as_str(), verified.token_id.as_str()),
        (worker.id.as_str(), token.id.as_str())
    );
    assert_eq!(verified.claims, json!({"tenant": "acme"}));

    // And through the API.
    let verified = clerk
        .raw()
        .verify_m2m_token()
        .body(types::VerifyM2mTokenBody::builder().token(token.token.expose_secret().to_owned()))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(verified.id, token.id);
    assert_eq!(verified.claims, Some(json!({"tenant": "acme"})));
    // Not stored: not listed, not revocable.
    let listed = clerk.raw().get_m2m_tokens().subject(worker.id.clone()).send().await.unwrap().into_inner();
    assert_eq!(listed.total_count, 0.0);
    fake.advance_clock(Duration::from_secs(61));
    let error = clerk
        .raw()
        .verify_m2m_token()
        .body(types::VerifyM2mTokenBody::builder().token(token.token.expose_secret().to_owned()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(400));
}

#[tokio::test]
async fn m2m_requests_are_validated() {
    let fake = FakeClerk::start().await.unwrap();
    let machine = fake.clerk().machines().create("m", Vec::<String>::new(), None).await.unwrap();
    let ak = machine.secret_key.expose_secret().to_owned();
    let sk = fake.instance_key().expose_secret().to_owned();
    for body in [json!({"bogus": 1}), json!({"token_format": "pem"}), json!({"seconds_until_expiration": 0})]
    {
        let (status, _, answer) = raw(&fake, "POST", "/m2m_tokens", Some(&ak), Some(body.clone())).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer["clerk_trace_id"].is_string());
    }
    let past = largest("getM2MTokens", "limit") + 1;
    for query in ["", "?subject=mch_short", &format!("?subject={}&limit={past}", machine.id)] {
        let (status, _, _) = raw(&fake, "GET", &format!("/m2m_tokens{query}"), Some(&sk), None).await;
        assert_eq!(status, 400, "{query}");
    }
    let (status, _, _) = raw(&fake, "POST", "/m2m_tokens/mt_nothex/revoke", Some(&sk), Some(json!({}))).await;
    assert_eq!(status, 400);
    let (status, _, _) =
        raw(&fake, "GET", "/m2m_tokens?subject=mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk", Some(&sk), None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn fixed_key_and_stop_on_drop() {
    let fake = FakeClerk::start_with(FakeOptions::new().instance_key("sk_test_fixed")).await.unwrap();
    assert_eq!(fake.instance_key().expose_secret(), "sk_test_fixed");
    assert!(!format!("{fake:?}").contains("fixed"), "Debug hides the key");
    let url = fake.url().to_owned();
    fake.clerk().machines().list().await.unwrap();
    fake.stop().await;
    let after = common::http_client().get(format!("{url}/machines")).send().await;
    assert!(after.is_err(), "stopped: {after:?}");

    let fake = FakeClerk::start().await.unwrap();
    let url = fake.url().to_owned();
    drop(fake);
    let mut stopped = false;
    for _ in 0..500 {
        if common::http_client().get(format!("{url}/machines")).send().await.is_err() {
            stopped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(stopped, "dropping the fake stops it");
}

#[tokio::test]
async fn every_operation_of_the_spec_is_served_or_named_as_not_implemented() {
    // A spec newer than the fake adds operations the fake does not serve yet:
    // those get Clerk's error body with a 501 naming the operation, never a
    // hang, a panic or the generic 404 for unknown paths.
    let fake = FakeClerk::start().await.unwrap();
    let key = fake.instance_key().expose_secret().to_owned();
    for op in clerk_machines::spec::OPERATIONS {
        let path = op
            .path
            .replace("{machine_id}", "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk")
            .replace("{other_machine_id}", "mch_2yGkLpQ7Y3rXSwtU24CzTk9I7Em")
            .replace("{m2m_token_id}", "mt_0123456789abcdef0123456789abcdef");
        let body = matches!(op.method, "POST" | "PATCH" | "PUT").then(|| json!({}));
        let (status, _, answer) = raw(&fake, op.method, &path, Some(&key), body).await;
        let long_message = answer["errors"][0]["long_message"].as_str().unwrap_or_default();
        assert_ne!(long_message, "The requested resource could not be found.", "{} has no route", op.id);
        if status == 501 {
            assert_eq!(answer["errors"][0]["code"], "fake_not_implemented");
            assert!(long_message.contains(op.id), "{long_message}");
            println!("the fake does not implement {} yet", op.id);
        }
    }
    // A path in no spec still gets Clerk's 404.
    let (status, _, answer) = raw(&fake, "GET", "/nothing/here", Some(&key), None).await;
    assert_eq!((status, answer["errors"][0]["code"].as_str()), (404, Some("resource_not_found")));
}

#[tokio::test]
async fn an_outage_answers_every_request_until_it_ends_and_keeps_the_state() {
    let fake = FakeClerk::start().await.unwrap();
    let machine = fake.clerk().machines().create("worker", Vec::<String>::new(), None).await.unwrap();
    let key = machine.secret_key.expose_secret().to_owned();
    fake.start_outage(503, Some(Duration::from_secs(7)));
    let (status, headers, body) = raw(&fake, "POST", "/m2m_tokens", Some(&key), Some(json!({}))).await;
    assert_eq!(status, 503);
    assert_eq!(headers["retry-after"], "7");
    assert_eq!(body["errors"][0]["code"], "service_unavailable");
    assert!(body["clerk_trace_id"].is_string());
    // Through the client (sent once): a typed error with Clerk's code and the wait asked for.
    let config = clerk_machines::ClerkConfig::default()
        .with_base_url(fake.url())
        .with_retry(clerk_machines::RetryConfig::disabled());
    let once = Clerk::new(fake.instance_key().clone(), config).unwrap();
    let error = once.machines().get(&machine.id).await.unwrap_err();
    assert_eq!(error.code(), Some("service_unavailable"));
    assert!(
        matches!(error, Error::Api { retry_after: Some(wait), .. } if wait == Duration::from_secs(7)),
        "{error:?}"
    );
    fake.start_outage(429, None);
    let (status, headers, body) =
        raw(&fake, "GET", "/machines", Some(fake.instance_key().expose_secret()), None).await;
    assert_eq!((status, body["errors"][0]["code"].as_str()), (429, Some("too_many_requests")));
    assert!(headers.get("retry-after").is_none());
    fake.start_outage(200, None);
    assert_eq!(raw(&fake, "GET", "/machines", None, None).await.0, 503, "not an error status: 503");
    assert_eq!(fake.outage_answers(), 4);
    fake.end_outage();
    let (status, _, _) = raw(&fake, "POST", "/m2m_tokens", Some(&key), Some(json!({}))).await;
    assert_eq!(status, 201, "the machine and its key survived the outage");
    assert_eq!(fake.outage_answers(), 4);
}
