//! Conformance of the fake (and of the crate's requests) to the vendored spec:
//! every operation goes through Prism in proxy mode with `--errors`, so a
//! request or response that breaks the spec fails the call; Prism's warnings
//! (status codes the spec does not list, ...) are caught from its log.
//!
//! Needs a running setup (see `.ci/run`): a standalone fake
//! (`clerk-machines fake --instance-key KEY`) and `prism proxy` in front of it.
//!
//! - `PRISM_PROXY_URL`: Prism's address, e.g. `http://127.0.0.1:4010`
//! - `CLERK_SECRET_KEY`: the fake's instance key
//! - `PRISM_LOG` (optional): Prism's log file, checked for violations
//! - `CLERK_FAKE_URL` (optional): the fake's own URL, to issue OAuth access
//!   tokens through its test route (their verification then goes through Prism)
//!
//! Ignored by default (`conformance/proxy-test.sh`, run by `.ci/run`, sets
//! these and runs it with `--ignored`); run without them, it fails saying so.

use clerk_machines::machines::{MachineOrder, MachineOrderField, SortDirection};
use clerk_machines::{types, Clerk, ClerkConfig};
use serde_json::json;
use std::time::Duration;

fn client(proxy: &str, key: &str) -> Clerk {
    Clerk::new(key, ClerkConfig::default().with_base_url(proxy)).unwrap()
}

fn status<T: std::fmt::Debug>(result: Result<T, progenitor_client::Error<types::ClerkErrors>>) -> u16 {
    result.unwrap_err().status().map(|s| s.as_u16()).unwrap_or(0)
}

#[tokio::test]
#[ignore = "needs Prism proxying to a standalone fake; conformance/proxy-test.sh (run by .ci/run) runs it"]
async fn every_operation_through_prism_proxy() {
    let proxy = std::env::var("PRISM_PROXY_URL")
        .expect("PRISM_PROXY_URL: Prism's address (conformance/proxy-test.sh starts it)");
    let key =
        std::env::var("CLERK_SECRET_KEY").expect("CLERK_SECRET_KEY: the standalone fake's instance key");
    let clerk = client(&proxy, &key);
    let machines = clerk.machines();

    // Machines.
    let api = machines.create("conformance-api", Vec::<String>::new(), None).await.unwrap();
    let worker = machines
        .create("conformance-worker", [api.id.as_str()], Some(Duration::from_secs(900)))
        .await
        .unwrap();
    let other = machines.create("conformance-other", Vec::<String>::new(), None).await.unwrap();
    let order = MachineOrder::new(MachineOrderField::Name, SortDirection::Ascending);
    let page = machines.list().limit(2).offset(0).query("conformance").order_by(order).await.unwrap();
    assert_eq!(page.items.len(), 2);
    assert!(page.total_count >= 3);
    machines.get(&worker.id).await.unwrap();
    machines.update(&worker.id).name("conformance-worker-2").await.unwrap();
    machines.update(&worker.id).default_token_ttl(Duration::from_secs(1200)).await.unwrap();
    machines.secret_key(&worker.id).await.unwrap();
    let rotated = machines.rotate_secret_key(&worker.id, Duration::from_secs(60)).await.unwrap();
    machines.add_scope(&other.id, &api.id).await.unwrap();
    machines.remove_scope(&other.id, &api.id).await.unwrap();

    // Declared errors.
    let missing = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk";
    assert!(machines.get(missing).await.unwrap_err().is_not_found());
    assert_eq!(
        machines.add_scope(&worker.id, &api.id).await.unwrap_err().status().map(|s| s.as_u16()),
        Some(409)
    );
    assert!(machines.remove_scope(&other.id, &api.id).await.unwrap_err().is_not_found());
    let wrong = client(&proxy, "sk_test_wrong_key");
    assert_eq!(wrong.machines().list().await.unwrap_err().status().map(|s| s.as_u16()), Some(401));

    // M2M tokens.
    let as_worker = client(&proxy, rotated.secret.expose_secret());
    let as_api = client(&proxy, api.secret_key.expose_secret());
    let opaque = as_worker
        .raw()
        .create_m2m_token()
        .body(
            types::CreateM2mTokenBody::builder()
                .seconds_until_expiration(std::num::NonZeroU64::new(600))
                .claims(Some(json!({"k": "v"}))),
        )
        .send()
        .await
        .unwrap()
        .into_inner();
    let jwt = as_worker
        .raw()
        .create_m2m_token()
        .body(
            types::CreateM2mTokenBody::builder()
                .token_format(Some(types::CreateM2mTokenBodyTokenFormat::Jwt)),
        )
        .send()
        .await
        .unwrap()
        .into_inner();
    for (verifier, token) in [(&clerk, &opaque.token), (&as_api, &opaque.token), (&clerk, &jwt.token)] {
        verifier
            .raw()
            .verify_m2m_token()
            .body(types::VerifyM2mTokenBody::builder().token(token.expose_secret().to_owned()))
            .send()
            .await
            .unwrap();
    }
    for list_as in [&clerk, &as_worker] {
        let listed = list_as
            .raw()
            .get_m2m_tokens()
            .subject(worker.id.clone())
            .limit(std::num::NonZeroU64::new(5).unwrap())
            .offset(0)
            .revoked(false)
            .expired(false)
            .send()
            .await
            .unwrap()
            .into_inner();
        assert_eq!(listed.total_count, 1.0);
    }
    clerk
        .raw()
        .revoke_m2m_token()
        .m2m_token_id(opaque.id.to_string())
        .body(types::RevokeM2mTokenBody::builder().revocation_reason(Some("conformance".to_owned())))
        .send()
        .await
        .unwrap();
    clerk
        .raw()
        .revoke_m2m_token()
        .m2m_token_id(opaque.id.to_string())
        .body(types::RevokeM2mTokenBody::builder())
        .send()
        .await
        .unwrap();

    // Declared M2M errors: 400 (revoked), 403 (another machine's tokens), 404.
    let verify = |c: &Clerk, t: String| {
        let c = c.clone();
        async move { c.raw().verify_m2m_token().body(types::VerifyM2mTokenBody::builder().token(t)).send().await }
    };
    assert_eq!(status(verify(&clerk, opaque.token.expose_secret().to_owned()).await), 400);
    assert_eq!(status(verify(&clerk, "mt_unknown".to_owned()).await), 404);
    assert_eq!(status(as_worker.raw().get_m2m_tokens().subject(api.id.clone()).send().await), 403);
    assert_eq!(status(clerk.raw().get_m2m_tokens().subject(missing.to_owned()).send().await), 404);
    let unknown_id = format!("mt_{}", "0".repeat(32));
    assert_eq!(
        status(
            clerk
                .raw()
                .revoke_m2m_token()
                .m2m_token_id(unknown_id)
                .body(types::RevokeM2mTokenBody::builder())
                .send()
                .await
        ),
        404
    );

    // API keys, through the crate's facade.
    let keys = clerk.api_keys();
    let user = "user_2xhFjEI5X2qWRvtV13BzSj8H6Dk";
    let created = keys
        .create("conformance-key", worker.id.as_str())
        .description("conformance")
        .scopes(["read", "write"])
        .claims(json!({"k": "v"}))
        .seconds_until_expiration(Duration::from_secs(600))
        .created_by(user)
        .await
        .unwrap();
    let key_id = created.api_key.id.clone();
    keys.create("conformance-user-key", user).await.unwrap();
    let listed =
        keys.list(worker.id.as_str()).include_invalid(true).query("conformance").limit(5).offset(0).await;
    assert_eq!(listed.unwrap().total_count, 1);
    keys.list(user).await.unwrap();
    keys.get(&key_id).await.unwrap();
    keys.update(&key_id).description("updated").scopes(["read"]).claims(json!({"k": 2})).await.unwrap();
    keys.update(&key_id).seconds_until_expiration(Duration::from_secs(60)).await.unwrap();
    assert_eq!(keys.secret(&key_id).await.unwrap().expose_secret(), created.secret.expose_secret());
    keys.verify(created.secret.expose_secret()).await.unwrap();
    keys.revoke(&key_id).reason("conformance").await.unwrap();
    keys.revoke(&key_id).await.unwrap();
    // Declared errors: 404 (revoked, unknown), 409 (a valid key of that name), 400 (no such machine).
    assert!(keys.verify(created.secret.expose_secret()).await.unwrap_err().is_not_found());
    assert!(keys.get(&format!("ak_{}", "0".repeat(32))).await.unwrap_err().is_not_found());
    let duplicate = keys.create("conformance-user-key", user).await.unwrap_err();
    assert_eq!(duplicate.status().map(|s| s.as_u16()), Some(409));
    let no_machine = keys.create("conformance-key", missing).await.unwrap_err();
    assert_eq!(no_machine.status().map(|s| s.as_u16()), Some(400));
    keys.delete(&key_id).await.unwrap();
    assert!(keys.delete(&key_id).await.unwrap_err().is_not_found());

    // OAuth access tokens, issued through the fake's test route (not a
    // Clerk operation, so not through Prism), verified through Prism.
    if let Ok(fake_url) = std::env::var("CLERK_FAKE_URL") {
        let origin = fake_url.trim_end_matches("/v1").to_owned();
        let issue = |body: serde_json::Value| {
            let (origin, key) = (origin.clone(), key.clone());
            async move {
                let response = http_client()
                    .post(format!("{origin}/__fake/oauth_access_tokens"))
                    .bearer_auth(&key)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status().as_u16(), 200);
                response.json::<serde_json::Value>().await.unwrap()
            }
        };
        let opaque = issue(json!({"subject": user, "scopes": ["read"]})).await;
        let jwt = issue(json!({"subject": user, "lifetime": 1, "jwt_typ": "at+jwt"})).await;
        let oauth = clerk.oauth_access_tokens();
        for token in [&opaque["token"], &jwt["token"]] {
            let answer = oauth.verify(token.as_str().unwrap()).await.unwrap();
            assert!(answer.active().is_some(), "{answer:?}");
        }
        assert!(oauth.verify("oat_unknown").await.unwrap_err().is_not_found());
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let inactive = oauth.verify(jwt["token"].as_str().unwrap()).await.unwrap();
        assert_eq!(inactive, clerk_machines::oauth::OAuthTokenVerification::Inactive);
    }

    // The JWKS (not an operation of the crate; checked through Prism all the same).
    let jwks = http_client().get(format!("{proxy}/jwks")).bearer_auth(&key).send().await.unwrap();
    assert_eq!(jwks.status().as_u16(), 200);
    assert!(jwks.headers().get("sl-violations").is_none(), "{:?}", jwks.headers().get("sl-violations"));

    // Clean up, which also exercises DeleteMachine.
    for id in [&worker.id, &api.id, &other.id] {
        machines.delete(id).await.unwrap();
    }
    assert!(machines.delete(&api.id).await.unwrap_err().is_not_found());

    if let Ok(log) = std::env::var("PRISM_LOG") {
        let text = std::fs::read_to_string(&log).unwrap();
        let violations: Vec<&str> = text.lines().filter(|l| l.contains("Violation")).collect();
        assert!(violations.is_empty(), "Prism reported violations:\n{}", violations.join("\n"));
        assert!(text.contains("Forwarding"), "the log {log} shows no proxied request");
    }
}

/// A plain reqwest client with the crate's TLS set-up (reqwest has no TLS
/// provider of its own here).
fn http_client() -> reqwest::Client {
    clerk_machines::http_client_builder().expect("TLS set-up").build().expect("reqwest client")
}
