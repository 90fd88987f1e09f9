//! Conformance against Prism, a mock server nobody here wrote, serving the
//! vendored spec with request validation on.
//!
//! Every Machines, M2M, API key and OAuth operation goes through the crate's
//! own API (one M2M call also through the generated client). Prism answers 422 when a request
//! violates the spec, and otherwise an example response from the spec, so an
//! `Ok` proves both that the request was valid and that the example decoded.
//!
//! Needs a running Prism: ignored by default; `.ci/run` starts Prism, sets
//! `PRISM_URL` (for example `http://127.0.0.1:4010`) and runs it with
//! `--ignored`. Run without `PRISM_URL`, it fails saying so.

use clerk_machines::machines::{MachineOrder, MachineOrderField, SortDirection};
use clerk_machines::types;
use clerk_machines::{Clerk, ClerkConfig, RetryConfig};
use std::time::Duration;

const MACHINE: &str = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk";
const OTHER: &str = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dz";
const TOKEN_ID: &str = "mt_0123456789abcdef0123456789abcdef";

fn prism_url() -> String {
    match std::env::var("PRISM_URL") {
        Ok(url) if !url.trim().is_empty() => url.trim().trim_end_matches('/').to_owned(),
        _ => panic!("PRISM_URL is not set: start Prism on the vendored spec first (see .ci/run)"),
    }
}

fn client(url: &str, key: &str) -> Clerk {
    // No retries: a 422 must surface at once.
    let config = ClerkConfig::default().with_base_url(url).with_retry(RetryConfig::disabled());
    Clerk::new(key, config).unwrap()
}

/// Fails with the operation's name and the error if a call did not succeed.
fn ok<T>(operation: &str, result: clerk_machines::Result<T>) -> T {
    result.unwrap_or_else(|error| {
        panic!("{operation}: Prism rejected the request or its answer did not decode: {error:?}")
    })
}

/// A generated-client call: must succeed, and Prism must report no violation at all.
fn clean<T: std::fmt::Debug>(
    operation: &str,
    result: Result<progenitor_client::ResponseValue<T>, progenitor_client::Error<types::ClerkErrors>>,
) -> T {
    let value = result.unwrap_or_else(|error| panic!("{operation}: {error:?}"));
    if let Some(violations) = value.headers().get("sl-violations") {
        panic!("{operation}: Prism reports violations: {violations:?}");
    }
    value.into_inner()
}

#[tokio::test]
#[ignore = "needs Prism serving the spec at PRISM_URL; .ci/run runs it"]
async fn every_operation_passes_prism_validation_and_decodes() {
    let url = prism_url();

    // Validation is on: a request that breaks the spec gets a 422.
    let invalid = clerk_machines::http_client_builder()
        .unwrap()
        .build()
        .unwrap()
        .post(format!("{url}/machines"))
        .bearer_auth("sk_test_prism")
        .json(&serde_json::json!({"name": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status().as_u16(), 422, "Prism does not validate requests");

    let clerk = client(&url, "sk_test_prism");
    let machines = clerk.machines();

    let order = MachineOrder::new(MachineOrderField::Name, SortDirection::Ascending);
    ok("ListMachines", machines.list().limit(20).offset(40).query("worker").order_by(order).await);
    ok("ListMachines (defaults)", machines.list().await);
    let created =
        ok("CreateMachine", machines.create("worker", [OTHER], Some(Duration::from_secs(600))).await);
    assert!(!created.secret_key.expose_secret().is_empty());
    ok("CreateMachine (name only)", machines.create("api", Vec::<String>::new(), None).await);
    ok("GetMachine", machines.get(MACHINE).await);
    ok(
        "UpdateMachine",
        machines.update(MACHINE).name("renamed").default_token_ttl(Duration::from_secs(60)).await,
    );
    ok("UpdateMachine (name only)", machines.update(MACHINE).name("renamed").await);
    ok("DeleteMachine", machines.delete(MACHINE).await);
    ok("GetMachineSecretKey", machines.secret_key(MACHINE).await);
    ok("RotateMachineSecretKey", machines.rotate_secret_key(MACHINE, Duration::from_secs(3600)).await);
    ok("RotateMachineSecretKey (0 s)", machines.rotate_secret_key(MACHINE, Duration::ZERO).await);
    ok("CreateMachineScope", machines.add_scope(MACHINE, OTHER).await);
    ok("DeleteMachineScope", machines.remove_scope(MACHINE, OTHER).await);

    // The M2M operations, through the crate's M2M layer.
    let m2m = clerk.m2m();
    ok("getM2MTokens", m2m.list_tokens(MACHINE).limit(10).revoked(false).await);
    ok("revokeM2MToken", m2m.revoke_token(TOKEN_ID).reason("rotated").await);
    ok("verifyM2MToken", m2m.verify_token("mt_opaque_token").await);
    let machine_client = client(&url, "ak_prism_machine_key");
    let created = machine_client
        .m2m()
        .create_token()
        .seconds_until_expiration(Duration::from_secs(3600))
        .claims(serde_json::json!({"job": "export"}))
        .send()
        .await;
    ok("createM2MToken", created);

    // API keys and OAuth access tokens, through the crate's facades.
    let keys = clerk.api_keys();
    let key_id = "ak_3beecc9c60adb5f9b850e91a8ee1e992";
    let user = "user_2xhFjEI5X2qWRvtV13BzSj8H6Dk";
    let created = keys
        .create("prism-key", user)
        .description("prism")
        .scopes(["read"])
        .claims(serde_json::json!({"k": "v"}))
        .seconds_until_expiration(Duration::from_secs(600))
        .created_by(user)
        .await;
    assert!(!ok("createApiKey", created).secret.expose_secret().is_empty());
    ok("createApiKey (name and subject)", keys.create("prism-key", MACHINE).await);
    ok("getApiKeys", keys.list(user).include_invalid(true).query("prism").limit(10).offset(10).await);
    ok("getApiKeys (subject only)", keys.list(MACHINE).await);
    ok("getApiKey", keys.get(key_id).await);
    ok("updateApiKey", keys.update(key_id).description("d").scopes(["a"]).subject(user).await);
    ok("deleteApiKey", keys.delete(key_id).await);
    ok("getApiKeySecret", keys.secret(key_id).await);
    ok("revokeApiKey", keys.revoke(key_id).reason("rotated").await);
    ok("revokeApiKey (no reason)", keys.revoke(key_id).await);
    ok("verifyApiKey", keys.verify("ak_secret").await);
    ok("verifyOAuthAccessToken", clerk.oauth_access_tokens().verify("oat_opaque_token").await);

    // The generated client directly: Prism must report no violation at all.
    clean(
        "getM2MTokens (raw)",
        clerk.raw().get_m2m_tokens().subject(MACHINE).limit(10u64).offset(0u64).revoked(false).send().await,
    );
}
