//! The four M2M token operations against httpmock, with the typed mocks
//! generated from the spec: exact requests, decoded successes, every
//! documented error status, and invalid input that sends nothing.
#![cfg(feature = "mock")]

use clerk_machines::m2m::TokenFormat;
use clerk_machines::mock::MockServerExt;
use clerk_machines::{types, Clerk, ClerkConfig, Error, KeyKind};
use futures::TryStreamExt;
use httpmock::MockServer;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::future::Future;
use std::time::Duration;

const MACHINE: &str = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk";
const OTHER_MACHINE: &str = "mch_3yiGkFJ6Y3rXSwuW24CaTk9I7El";
const TOKEN_ID: &str = "mt_0123456789abcdef0123456789ABCDEF";
const MACHINE_KEY: &str = "ak_test_machine_key";
const INSTANCE_KEY: &str = "sk_test_instance_key";
const TRACE_ID: &str = "trace-m2m-1";

/// httpmock's blocking API starts its own runtime, so mocks are set up
/// outside of one and the client runs in this one.
fn run<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(future)
}

fn clerk(server: &MockServer, key: &str) -> Clerk {
    Clerk::new(key, ClerkConfig::default().with_base_url(server.base_url())).unwrap()
}

fn token_json(token: Option<&str>) -> Value {
    let mut value = json!({
        "object": "machine_to_machine_token",
        "id": TOKEN_ID,
        "subject": MACHINE,
        "scopes": [OTHER_MACHINE],
        "claims": {"job": "export"},
        "revoked": false,
        "revocation_reason": null,
        "expired": false,
        "expiration": 1_753_746_916_590.0,
        "last_used_at": null,
        "created_at": 1_753_743_316_590.0,
        "updated_at": 1_753_743_316_590.0
    });
    if let Some(token) = token {
        value["token"] = json!(token);
    }
    value
}

fn typed<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).unwrap()
}

fn errors(code: &str) -> types::ClerkErrors {
    typed(json!({
        "errors": [{"code": code, "message": "failed", "long_message": format!("{code} happened")}],
        "clerk_trace_id": TRACE_ID
    }))
}

fn assert_api(result: Result<impl std::fmt::Debug, Error>, status: u16, code: &str) {
    let error = result.unwrap_err();
    assert!(matches!(error, Error::Api { .. }), "{error:?}");
    assert_eq!(error.status(), Some(StatusCode::from_u16(status).unwrap()));
    assert_eq!(error.code(), Some(code));
    assert_eq!(error.trace_id(), Some(TRACE_ID));
}

fn assert_invalid(result: Result<impl std::fmt::Debug, Error>, field: &str) {
    match result {
        Err(Error::InvalidInput { field: f, .. }) => assert_eq!(f, field),
        other => panic!("expected InvalidInput({field}), got {other:?}"),
    }
}

// ---------------------------------------------------------------- createM2MToken

#[test]
fn create_token_sends_only_the_given_fields_with_the_machine_key() {
    let server = MockServer::start();
    let body: types::CreateM2mTokenBody = typed(json!({
        "seconds_until_expiration": 600,
        "claims": {"job": "export"},
        "token_format": "jwt",
    }));
    let mock = server.create_m2m_token(|when, then| {
        when.body(&body)
            .into_inner()
            .path("/m2m_tokens")
            .header("authorization", format!("Bearer {MACHINE_KEY}"))
            .header("clerk-api-version", clerk_machines::spec::VERSION)
            .header("user-agent", clerk_machines::defaults::USER_AGENT)
            .header("content-type", "application/json")
            .header_missing("api-version");
        then.created(&typed(token_json(Some("mt_secret_abc"))));
    });
    let clerk = clerk(&server, MACHINE_KEY);
    let created = run(clerk
        .m2m()
        .create_token()
        .seconds_until_expiration(Duration::from_secs(600))
        .claims(json!({"job": "export"}))
        .token_format(TokenFormat::Jwt)
        .send())
    .unwrap();
    mock.assert();
    assert_eq!(created.id.as_str(), TOKEN_ID);
    assert_eq!(created.subject.as_str(), MACHINE);
    assert_eq!(created.token.expose_secret(), "mt_secret_abc");
    assert!(!format!("{created:?}").contains("mt_secret_abc"));
}

#[test]
fn create_token_without_options_sends_an_empty_object() {
    let server = MockServer::start();
    let mock = server.create_m2m_token(|when, then| {
        when.into_inner().json_body(json!({}));
        then.created(&typed(token_json(Some("mt_secret_abc"))));
    });
    run(clerk(&server, MACHINE_KEY).m2m().create_token().send()).unwrap();
    mock.assert();
}

#[test]
fn create_token_sends_min_remaining_ttl_seconds() {
    let server = MockServer::start();
    let mock = server.create_m2m_token(|when, then| {
        when.into_inner()
            .json_body(json!({"seconds_until_expiration": 600, "min_remaining_ttl_seconds": 240}));
        then.created(&typed(token_json(Some("mt_secret_abc"))));
    });
    run(clerk(&server, MACHINE_KEY)
        .m2m()
        .create_token()
        .seconds_until_expiration(Duration::from_secs(600))
        .min_remaining_ttl(Duration::from_secs(240))
        .send())
    .unwrap();
    mock.assert();
}

#[test]
fn create_token_uses_a_per_call_machine_key_on_an_instance_client() {
    let server = MockServer::start();
    let mock = server.create_m2m_token(|when, then| {
        when.into_inner()
            .header("authorization", "Bearer ak_per_call")
            .header("clerk-api-version", clerk_machines::spec::VERSION)
            .header("user-agent", clerk_machines::defaults::USER_AGENT);
        then.created(&typed(token_json(Some("mt_secret_abc"))));
    });
    let clerk = clerk(&server, INSTANCE_KEY);
    run(clerk.m2m().create_token().machine_secret_key("ak_per_call").send()).unwrap();
    mock.assert();
}

#[test]
fn create_token_refuses_an_instance_key_before_sending() {
    let server = MockServer::start();
    let mock = server.create_m2m_token(|_, then| {
        then.created(&typed(token_json(Some("mt_secret_abc"))));
    });
    let instance = clerk(&server, INSTANCE_KEY);
    assert_invalid(run(instance.m2m().create_token().send()), "secret_key");
    let machine = clerk(&server, MACHINE_KEY);
    assert_invalid(
        run(machine.m2m().create_token().machine_secret_key("sk_live_oops").send()),
        "machine_secret_key",
    );
    assert_eq!(mock.calls(), 0);
}

#[test]
fn create_token_checks_its_options_before_sending() {
    let server = MockServer::start();
    let mock = server.create_m2m_token(|_, then| {
        then.created(&typed(token_json(Some("mt_secret_abc"))));
    });
    let clerk = clerk(&server, MACHINE_KEY);
    let m2m = clerk.m2m();
    let cases = [
        (m2m.create_token().seconds_until_expiration(Duration::ZERO), "seconds_until_expiration"),
        (
            m2m.create_token().seconds_until_expiration(Duration::from_millis(1500)),
            "seconds_until_expiration",
        ),
        (
            m2m.create_token()
                .seconds_until_expiration(Duration::from_secs(60))
                .min_remaining_ttl(Duration::from_secs(60)),
            "min_remaining_ttl_seconds",
        ),
        (m2m.create_token().min_remaining_ttl(Duration::from_millis(10)), "min_remaining_ttl_seconds"),
        (
            m2m.create_token().token_format(TokenFormat::Jwt).min_remaining_ttl(Duration::from_secs(1)),
            "min_remaining_ttl_seconds",
        ),
    ];
    for (request, field) in cases {
        assert_invalid(run(request.send()), field);
    }
    // A map with non-string keys cannot become a JSON object.
    let bad_claims: std::collections::HashMap<(u8, u8), u8> = [((1, 2), 3)].into();
    assert_invalid(run(m2m.create_token().claims(bad_claims).send()), "claims");
    assert_eq!(mock.calls(), 0);
}

#[test]
fn create_token_decodes_every_documented_error() {
    for (status, code) in [(400, "form_param_invalid"), (409, "duplicate_record")] {
        let server = MockServer::start();
        let errors = errors(code);
        let mock = server.create_m2m_token(|_, then| {
            let _ = if status == 400 { then.bad_request(&errors) } else { then.conflict(&errors) };
        });
        assert_api(run(clerk(&server, MACHINE_KEY).m2m().create_token().send()), status, code);
        mock.assert();
    }
}

// ---------------------------------------------------------------- getM2MTokens

fn list_json(count: usize, total: f64) -> types::GetM2mTokensResponse {
    typed(json!({
        "m2m_tokens": (0..count).map(|_| token_json(None)).collect::<Vec<_>>(),
        "total_count": total,
    }))
}

#[test]
fn list_tokens_sends_subject_filters_and_paging() {
    let server = MockServer::start();
    let mock = server.get_m2m_tokens(|when, then| {
        when.subject(MACHINE)
            .revoked(true)
            .expired(false)
            .limit(std::num::NonZeroU64::new(5))
            .offset(10)
            .into_inner()
            .path("/m2m_tokens")
            .header("authorization", format!("Bearer {INSTANCE_KEY}"))
            .header("clerk-api-version", clerk_machines::spec::VERSION)
            .header("user-agent", clerk_machines::defaults::USER_AGENT);
        then.ok(&list_json(2, 12.0));
    });
    let clerk = clerk(&server, INSTANCE_KEY);
    let page = run(clerk.m2m().list_tokens(MACHINE).revoked(true).expired(false).limit(5).offset(10).send())
        .unwrap();
    mock.assert();
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.total_count, 12);
    assert_eq!(page.items[0].id.as_str(), TOKEN_ID);
}

#[test]
fn list_tokens_sends_no_optional_parameter_unless_set() {
    let server = MockServer::start();
    let mock = server.get_m2m_tokens(|when, then| {
        when.subject(MACHINE).revoked(None).expired(None).limit(None).offset(None);
        then.ok(&list_json(0, 0.0));
    });
    let page = run(clerk(&server, MACHINE_KEY).m2m().list_tokens(MACHINE).send()).unwrap();
    mock.assert();
    assert_eq!(page.total_count, 0);
}

#[test]
fn list_tokens_refuses_a_fractional_total_count() {
    let server = MockServer::start();
    let mock = server.get_m2m_tokens(|_, then| {
        then.ok(&list_json(1, 1.5));
    });
    let result = run(clerk(&server, INSTANCE_KEY).m2m().list_tokens(MACHINE).send());
    assert!(matches!(result, Err(Error::Decode { ref path, .. }) if path == "total_count"), "{result:?}");
    mock.assert();
}

#[test]
fn list_tokens_checks_its_arguments_before_sending() {
    let server = MockServer::start();
    let mock = server.get_m2m_tokens(|_, then| {
        then.ok(&list_json(0, 0.0));
    });
    let clerk = clerk(&server, INSTANCE_KEY);
    let m2m = clerk.m2m();
    for subject in ["", "mch_short", "user_2xhFjEI5X2qWRvtV13BzSj8H6Dk", "mch_2xhFjEI5X2qWRvtV13BzSj8H6D!"] {
        assert_invalid(run(m2m.list_tokens(subject).send()), "subject");
    }
    let largest = clerk_machines::spec::operation("getM2MTokens")
        .and_then(|op| op.field("limit"))
        .and_then(|field| field.rules.maximum)
        .expect("the spec bounds the page")
        .value as u32;
    for limit in [0, largest + 1] {
        assert_invalid(run(m2m.list_tokens(MACHINE).limit(limit).send()), "limit");
    }
    let streamed: Result<Vec<_>, _> = run(m2m.list_tokens("mch_bad").into_stream().try_collect());
    assert_invalid(streamed, "subject");
    assert_eq!(mock.calls(), 0);
}

#[test]
fn list_all_pages_until_the_total_count() {
    let server = MockServer::start();
    let first = server.get_m2m_tokens(|when, then| {
        when.limit(std::num::NonZeroU64::new(2)).offset(None);
        then.ok(&list_json(2, 3.0));
    });
    let second = server.get_m2m_tokens(|when, then| {
        when.limit(std::num::NonZeroU64::new(2)).offset(2);
        then.ok(&list_json(1, 3.0));
    });
    let all: Vec<_> =
        run(clerk(&server, INSTANCE_KEY).m2m().list_tokens(MACHINE).limit(2).into_stream().try_collect())
            .unwrap();
    assert_eq!(all.len(), 3);
    first.assert();
    second.assert();
}

#[test]
fn list_tokens_decodes_every_documented_error() {
    for (status, code) in
        [(400, "request_invalid"), (403, "authorization_invalid"), (404, "resource_not_found")]
    {
        let server = MockServer::start();
        let errors = errors(code);
        let mock = server.get_m2m_tokens(|_, then| {
            let _ = match status {
                400 => then.bad_request(&errors),
                403 => then.forbidden(&errors),
                _ => then.not_found(&errors),
            };
        });
        let result = run(clerk(&server, INSTANCE_KEY).m2m().list_tokens(MACHINE).send());
        if status == 404 {
            assert!(result.as_ref().unwrap_err().is_not_found());
        }
        assert_api(result, status, code);
        mock.assert();
    }
}

// ---------------------------------------------------------------- revokeM2MToken

#[test]
fn revoke_token_posts_the_reason_to_the_token_path() {
    let server = MockServer::start();
    let with_reason = server.revoke_m2m_token(|when, then| {
        when.m2m_token_id(TOKEN_ID)
            .body(&typed(json!({"revocation_reason": "rotated"})))
            .into_inner()
            .path(format!("/m2m_tokens/{TOKEN_ID}/revoke"))
            .header("authorization", format!("Bearer {INSTANCE_KEY}"))
            .header("clerk-api-version", clerk_machines::spec::VERSION)
            .header("user-agent", clerk_machines::defaults::USER_AGENT);
        let mut revoked = token_json(None);
        revoked["revoked"] = json!(true);
        revoked["revocation_reason"] = json!("rotated");
        then.ok(&typed(revoked));
    });
    let without_reason = server.revoke_m2m_token(|when, then| {
        when.m2m_token_id(TOKEN_ID).into_inner().json_body(json!({}));
        then.ok(&typed(token_json(None)));
    });
    let clerk = clerk(&server, INSTANCE_KEY);
    let revoked = run(clerk.m2m().revoke_token(TOKEN_ID).reason("rotated").send()).unwrap();
    assert!(revoked.revoked);
    assert_eq!(revoked.revocation_reason.as_deref(), Some("rotated"));
    run(clerk.m2m().revoke_token(TOKEN_ID).send()).unwrap();
    with_reason.assert();
    without_reason.assert();
}

#[test]
fn revoke_token_checks_the_id_before_sending() {
    let server = MockServer::start();
    let mock = server.revoke_m2m_token(|_, then| {
        then.ok(&typed(token_json(None)));
    });
    let clerk = clerk(&server, INSTANCE_KEY);
    for id in [
        "",
        "mt_123",
        "mt_0123456789abcdef0123456789abcdeg",
        "../machines",
        "mt_0123456789abcdef0123456789abcdef/x",
    ] {
        assert_invalid(run(clerk.m2m().revoke_token(id).send()), "m2m_token_id");
    }
    assert_eq!(mock.calls(), 0);
}

#[test]
fn revoke_token_decodes_every_documented_error() {
    for (status, code) in [(400, "token_invalid"), (404, "resource_not_found")] {
        let server = MockServer::start();
        let errors = errors(code);
        let mock = server.revoke_m2m_token(|_, then| {
            let _ = if status == 400 { then.bad_request(&errors) } else { then.not_found(&errors) };
        });
        assert_api(run(clerk(&server, INSTANCE_KEY).m2m().revoke_token(TOKEN_ID).send()), status, code);
        mock.assert();
    }
}

// ---------------------------------------------------------------- verifyM2MToken

#[test]
fn verify_token_posts_the_token() {
    let server = MockServer::start();
    let mock = server.verify_m2m_token(|when, then| {
        when.body(&typed(json!({"token": "mt_secret_abc"})))
            .into_inner()
            .path("/m2m_tokens/verify")
            .header("authorization", format!("Bearer {MACHINE_KEY}"))
            .header("clerk-api-version", clerk_machines::spec::VERSION)
            .header("user-agent", clerk_machines::defaults::USER_AGENT);
        then.ok(&typed(token_json(None)));
    });
    let verified = run(clerk(&server, MACHINE_KEY).m2m().verify_token("mt_secret_abc")).unwrap();
    mock.assert();
    assert_eq!(verified.subject.as_str(), MACHINE);
    assert_eq!(verified.scopes[0].as_str(), OTHER_MACHINE);
    assert_eq!(verified.claims, Some(json!({"job": "export"})));
}

#[test]
fn verify_token_refuses_an_empty_token_before_sending() {
    let server = MockServer::start();
    let mock = server.verify_m2m_token(|_, then| {
        then.ok(&typed(token_json(None)));
    });
    assert_invalid(run(clerk(&server, MACHINE_KEY).m2m().verify_token(" ")), "token");
    assert_eq!(mock.calls(), 0);
}

#[test]
fn verify_token_decodes_every_documented_error() {
    for (status, code) in [(400, "token_invalid"), (404, "resource_not_found")] {
        let server = MockServer::start();
        let errors = errors(code);
        let mock = server.verify_m2m_token(|_, then| {
            let _ = if status == 400 { then.bad_request(&errors) } else { then.not_found(&errors) };
        });
        assert_api(run(clerk(&server, INSTANCE_KEY).m2m().verify_token("mt_secret_abc")), status, code);
        mock.assert();
    }
}

// ---------------------------------------------------------------- with_secret_key

#[test]
fn with_secret_key_keeps_the_configuration_and_hides_the_key() {
    let server = MockServer::start();
    let instance = Clerk::new(
        INSTANCE_KEY,
        ClerkConfig::default().with_base_url(format!("{}/", server.base_url())).with_user_agent("custom/1"),
    )
    .unwrap();
    let machine = instance.with_secret_key("ak_hidden_value").unwrap();
    assert_eq!(machine.base_url(), instance.base_url());
    assert_eq!(machine.api_version(), instance.api_version());
    assert_eq!(machine.key_kind(), KeyKind::Machine);
    assert_eq!(instance.key_kind(), KeyKind::Instance);
    assert!(!format!("{machine:?} {:?}", machine.raw()).contains("hidden_value"));
    assert!(matches!(instance.with_secret_key(""), Err(Error::InvalidInput { .. })));
    assert!(matches!(instance.with_secret_key("ak_\n"), Err(Error::InvalidInput { .. })));

    let mock = server.verify_m2m_token(|when, then| {
        when.into_inner().header("authorization", "Bearer ak_hidden_value").header("user-agent", "custom/1");
        then.ok(&typed(token_json(None)));
    });
    run(machine.m2m().verify_token("mt_secret_abc")).unwrap();
    mock.assert();
}
