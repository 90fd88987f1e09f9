//! `verify::Verifier` on M2M tokens: local RS256 verification against a JWKS served by httpmock
//! or an offline PEM key, with RSA keys generated here; opaque tokens through
//! Clerk's verify endpoint.
#![cfg(all(feature = "mock", feature = "jwt"))]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use clerk_machines::m2m::TokenFormat;
use clerk_machines::mock::MockServerExt;
use clerk_machines::testing::ManualClock;
use clerk_machines::verify::{Reason, Unavailable, Verified, VerifiedM2mToken, Verifier, VerifyError};
use clerk_machines::{types, Clerk, ClerkConfig, Error};
use clerk_machines_fake::JwtSigner;
use httpmock::{Method, MockServer};
use serde_json::{json, Value};
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const MACHINE: &str = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk";
const CALLEE: &str = "mch_3yiGkFJ6Y3rXSwuW24CaTk9I7El";
const THIRD: &str = "mch_4zjHlGK7Z4sYTxvX35DbUl0J8Fm";
const TOKEN_ID: &str = "mt_0123456789abcdef0123456789abcdef";
const INSTANCE_KEY: &str = "sk_test_verifier_key";

/// Two keys, generated once per test binary.
fn keys() -> &'static (JwtSigner, JwtSigner) {
    static KEYS: OnceLock<(JwtSigner, JwtSigner)> = OnceLock::new();
    KEYS.get_or_init(|| {
        (JwtSigner::bundled(0, "ins_key_a").unwrap(), JwtSigner::bundled(1, "ins_key_b").unwrap())
    })
}

fn key_a() -> &'static JwtSigner {
    &keys().0
}

fn key_b() -> &'static JwtSigner {
    &keys().1
}

/// The key's JWK, as the JWKS lists it.
fn jwk(key: &JwtSigner) -> Value {
    key.jwks()["keys"][0].clone()
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn claims(exp: i64) -> Value {
    json!({
        "sub": MACHINE,
        "jti": TOKEN_ID,
        "aud": [CALLEE],
        "iat": exp - 3600,
        "exp": exp,
        "job": "nightly-export",
    })
}

/// Signed by `key` (RS256), with a header naming `kid` and claiming `alg`.
fn sign_with(key: &JwtSigner, kid: &str, alg: &str, claims: &Value) -> String {
    key.sign(&json!({"alg": alg, "typ": "JWT", "kid": kid}), claims)
}

fn sign(key: &JwtSigner, claims: &Value) -> String {
    sign_with(key, key.kid(), "RS256", claims)
}

fn run<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(future)
}

fn jwks_mock<'a>(server: &'a MockServer, keys: &[&JwtSigner]) -> httpmock::Mock<'a> {
    let body = json!({ "keys": keys.iter().map(|k| jwk(k)).collect::<Vec<_>>() });
    server.mock(|when, then| {
        when.method(Method::GET)
            .path("/jwks")
            .header("authorization", format!("Bearer {INSTANCE_KEY}"))
            .header("clerk-api-version", clerk_machines::spec::VERSION)
            .header("user-agent", clerk_machines::defaults::USER_AGENT);
        then.status(200).header("content-type", "application/json").json_body(body);
    })
}

fn clerk(server: &MockServer) -> Clerk {
    Clerk::new(INSTANCE_KEY, ClerkConfig::default().with_base_url(server.base_url())).unwrap()
}

fn pem_verifier() -> Verifier {
    Verifier::from_pem(key_a().public_key_pem()).build().unwrap()
}

fn rejection(result: Result<impl std::fmt::Debug, VerifyError>) -> Reason {
    match result {
        Err(VerifyError::Refused(reason)) => reason,
        other => panic!("expected a refused token, got {other:?}"),
    }
}

/// The verified M2M token of a successful verification.
fn m2m(result: Result<Verified, VerifyError>) -> VerifiedM2mToken {
    match result {
        Ok(Verified::M2m(token)) => token,
        other => panic!("expected a verified M2M token, got {other:?}"),
    }
}

/// A frozen clock at `unix` seconds.
fn clock_at(unix: i64) -> Arc<ManualClock> {
    Arc::new(ManualClock::new(UNIX_EPOCH + Duration::from_secs(unix as u64)))
}

#[test]
fn a_valid_token_verifies_against_the_jwks_which_is_fetched_once() {
    let server = MockServer::start();
    let jwks = jwks_mock(&server, &[key_a(), key_b()]);
    let verifier = Verifier::builder(&clerk(&server)).build().unwrap();
    let exp = unix_now() + 600;
    let token = sign(key_a(), &claims(exp));
    let verified = m2m(run(verifier.verify(&token)));
    assert_eq!(verified.machine_id, MACHINE);
    assert_eq!(verified.token_id, TOKEN_ID);
    assert_eq!(verified.scopes, vec![CALLEE.to_owned()]);
    assert_eq!(verified.expires_at, Some(UNIX_EPOCH + Duration::from_secs(exp as u64)));
    assert_eq!(verified.claims, json!({"job": "nightly-export"}));
    assert_eq!(verified.format, TokenFormat::Jwt);
    // Cached: neither a second token nor a token of the other key fetches again.
    m2m(run(verifier.verify(&token)));
    m2m(run(verifier.verify(&sign(key_b(), &claims(exp)))));
    assert_eq!(jwks.calls(), 1);
}

#[test]
fn a_valid_token_verifies_offline_against_a_pem_key() {
    let verified = m2m(run(pem_verifier().verify(&sign(key_a(), &claims(unix_now() + 600)))));
    assert_eq!(verified.machine_id, MACHINE);
    assert!(verified.is_scoped_to(CALLEE));
}

#[test]
fn expired_and_not_yet_valid_tokens_are_rejected() {
    let verifier = pem_verifier();
    let expired = sign(key_a(), &claims(unix_now() - 60));
    assert_eq!(rejection(run(verifier.verify(&expired))), Reason::Expired);
    let mut early = claims(unix_now() + 600);
    early["nbf"] = json!(unix_now() + 120);
    assert_eq!(rejection(run(verifier.verify(&sign(key_a(), &early)))), Reason::NotYetValid);
}

#[test]
fn exp_and_nbf_allow_the_leeway_and_no_more() {
    let t0 = 1_800_000_000;
    let clock = clock_at(t0);
    let verifier = Verifier::from_pem(key_a().public_key_pem())
        .leeway(Duration::from_secs(5))
        .clock(clock.clone())
        .build()
        .unwrap();
    let mut claims = claims(t0 + 10);
    claims["nbf"] = json!(t0 + 4);
    let token = sign(key_a(), &claims);
    m2m(run(verifier.verify(&token))); // nbf 4 s ahead, within 5 s
    clock.advance(Duration::from_secs(14)); // 4 s past exp
    m2m(run(verifier.verify(&token)));
    clock.advance(Duration::from_secs(2)); // 6 s past exp
    assert_eq!(rejection(run(verifier.verify(&token))), Reason::Expired);

    let strict = Verifier::from_pem(key_a().public_key_pem())
        .leeway(Duration::ZERO)
        .clock(clock_at(t0))
        .build()
        .unwrap();
    assert_eq!(rejection(run(strict.verify(&token))), Reason::NotYetValid);
}

#[test]
fn a_wrong_signature_is_rejected() {
    let verifier = pem_verifier();
    let claims = claims(unix_now() + 600);
    // Signed by key B but claiming key A.
    let forged = sign_with(key_b(), key_a().kid(), "RS256", &claims);
    assert_eq!(rejection(run(verifier.verify(&forged))), Reason::BadSignature);
    // A genuine token whose payload was changed.
    let genuine = sign(key_a(), &claims);
    let parts: Vec<&str> = genuine.split('.').collect();
    let mut tampered_claims = claims.clone();
    tampered_claims["sub"] = json!(THIRD);
    let payload = URL_SAFE_NO_PAD.encode(tampered_claims.to_string());
    let tampered = format!("{}.{}.{}", parts[0], payload, parts[2]);
    assert_eq!(rejection(run(verifier.verify(&tampered))), Reason::BadSignature);
    // Through the JWKS as well.
    let server = MockServer::start();
    let jwks = jwks_mock(&server, &[key_a()]);
    let via_jwks = Verifier::builder(&clerk(&server)).build().unwrap();
    assert_eq!(rejection(run(via_jwks.verify(&forged))), Reason::BadSignature);
    assert_eq!(jwks.calls(), 1);
}

#[test]
fn an_unknown_kid_refetches_the_jwks_at_most_once_per_interval() {
    let server = MockServer::start();
    let t0 = unix_now();
    let clock = clock_at(t0);
    let mut old_set = jwks_mock(&server, &[key_a()]);
    let verifier = Verifier::builder(&clerk(&server))
        .jwks_refetch_interval(Duration::from_secs(60))
        .clock(clock.clone())
        .build()
        .unwrap();
    let exp = t0 + 3600;
    m2m(run(verifier.verify(&sign(key_a(), &claims(exp)))));
    assert_eq!(old_set.calls(), 1);

    // The instance rotates to key B.
    old_set.delete();
    let new_set = jwks_mock(&server, &[key_a(), key_b()]);
    let token_b = sign(key_b(), &claims(exp));
    // Within the interval: no refetch, the key is unknown.
    let unknown = rejection(run(verifier.verify(&token_b)));
    assert_eq!(unknown, Reason::UnknownKid { kid: "ins_key_b".into() });
    assert_eq!(new_set.calls(), 0);
    // After it: one refetch finds the key.
    clock.advance(Duration::from_secs(61));
    m2m(run(verifier.verify(&token_b)));
    m2m(run(verifier.verify(&token_b)));
    assert_eq!(new_set.calls(), 1);

    // A made-up kid: rejected, and refetched for at most once per interval.
    let made_up = sign_with(key_a(), "ins_key_made_up", "RS256", &claims(exp));
    for _ in 0..5 {
        let reason = rejection(run(verifier.verify(&made_up)));
        assert_eq!(reason, Reason::UnknownKid { kid: "ins_key_made_up".into() });
    }
    assert_eq!(new_set.calls(), 1);
    clock.advance(Duration::from_secs(61));
    for _ in 0..5 {
        rejection(run(verifier.verify(&made_up)));
    }
    assert_eq!(new_set.calls(), 2);
}

#[test]
fn refresh_keys_fetches_now_and_skips_unusable_keys() {
    let server = MockServer::start();
    let body = json!({"keys": [
        jwk(key_a()),
        {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"},
        {"kty": "RSA", "kid": "rs512", "alg": "RS512", "n": jwk(key_b())["n"], "e": jwk(key_b())["e"]},
        {"kty": "RSA", "kid": "enc", "use": "enc", "n": jwk(key_b())["n"], "e": jwk(key_b())["e"]},
        {"kty": "RSA", "n": jwk(key_b())["n"], "e": jwk(key_b())["e"]},
        {"kty": "OKP", "kid": "a-new-kind", "crv": "X448", "x": "AA"}
    ]});
    let jwks = server.mock(|when, then| {
        when.method(Method::GET).path("/jwks");
        then.status(200).json_body(body);
    });
    let verifier = Verifier::builder(&clerk(&server)).build().unwrap();
    assert_eq!(run(verifier.refresh_keys()).unwrap(), 1);
    assert_eq!(jwks.calls(), 1);
    let rs512 = sign_with(key_b(), "rs512", "RS256", &claims(unix_now() + 600));
    assert_eq!(rejection(run(verifier.verify(&rs512))), Reason::UnknownKid { kid: "rs512".into() });
}

#[test]
fn a_jwks_error_is_clerks_error_and_not_the_tokens_fault() {
    let server = MockServer::start();
    let jwks = server.mock(|when, then| {
        when.method(Method::GET).path("/jwks");
        then.status(401).header("clerk-trace-id", "trace-jwks").json_body(json!({
            "errors": [{"code": "authentication_invalid", "message": "bad key", "long_message": "bad key"}]
        }));
    });
    let verifier = Verifier::builder(&clerk(&server)).build().unwrap();
    let error = match run(verifier.verify(&sign(key_a(), &claims(unix_now() + 600)))) {
        Err(VerifyError::Unavailable(Unavailable::Clerk(error))) => error,
        other => panic!("expected Clerk's error as unavailable, got {other:?}"),
    };
    assert!(matches!(*error, Error::Api { .. }), "{error:?}");
    assert_eq!(error.code(), Some("authentication_invalid"));
    assert_eq!(error.trace_id(), Some("trace-jwks"));
    assert_eq!(jwks.calls(), 1);
}

#[test]
fn only_rs256_is_accepted() {
    let server = MockServer::start();
    let jwks = jwks_mock(&server, &[key_a()]);
    let verifier = Verifier::builder(&clerk(&server)).build().unwrap();
    let claims = claims(unix_now() + 600);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());

    // alg none, with and without a signature part.
    let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT","kid":"ins_key_a"}"#);
    let reason = rejection(run(verifier.verify(&format!("{none_header}.{payload}.c2ln"))));
    assert_eq!(reason, Reason::DisallowedAlgorithm { alg: "none".into() });
    // Without a signature it is not even a JWT (Clerk's verifier does not take it as one either).
    let reason = rejection(run(verifier.verify(&format!("{none_header}.{payload}."))));
    assert_eq!(reason, Reason::UnknownKind);
    // HS256 keyed with the public key (the classic key-confusion attack).
    let input =
        format!("{}.{payload}", URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT","kid":"ins_key_a"}"#));
    let hmac_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key_a().public_key_pem().as_bytes());
    let tag = ring::hmac::sign(&hmac_key, input.as_bytes());
    let confused = format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()));
    let reason = rejection(run(verifier.verify(&confused)));
    assert_eq!(reason, Reason::DisallowedAlgorithm { alg: "HS256".into() });
    // Another RSA algorithm with the right key.
    let rs512 = sign_with(key_a(), key_a().kid(), "RS512", &claims);
    let reason = rejection(run(verifier.verify(&rs512)));
    assert_eq!(reason, Reason::DisallowedAlgorithm { alg: "RS512".into() });
    // None of these got as far as fetching keys.
    assert_eq!(jwks.calls(), 0);
    // The PEM verifier refuses the same way.
    let reason = rejection(run(pem_verifier().verify(&confused)));
    assert_eq!(reason, Reason::DisallowedAlgorithm { alg: "HS256".into() });
}

#[test]
fn malformed_tokens_are_rejected_as_such() {
    let verifier = pem_verifier();
    let rs256_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","kid":"ins_key_a"}"#);
    let no_alg = URL_SAFE_NO_PAD.encode(r#"{"kid":"ins_key_a"}"#);
    let not_json = URL_SAFE_NO_PAD.encode("not json");
    let cases = [
        "!!!.e30.c2ln".to_owned(),
        format!("{not_json}.e30.c2ln"),
        format!("{rs256_header}.%%%.c2ln"),
        format!("{rs256_header}.e30.!!!"),
        format!("{rs256_header}.bm90IGpzb24.c2ln"),
    ];
    for token in cases {
        let reason = rejection(run(verifier.verify(&token)));
        assert!(matches!(reason, Reason::Malformed { .. }), "{token:?}: {reason:?}");
        // The reason never quotes the token.
        assert!(!reason.to_string().contains(&token), "{reason}");
    }
    // Not a JWT and no machine prefix: no machine token at all (as in Clerk's routing).
    for token in ["abc", "a.b", "a.b.c.d", "sk_test_abc"] {
        assert_eq!(rejection(run(verifier.verify(token))), Reason::UnknownKind, "{token}");
    }
    assert_eq!(rejection(run(verifier.verify(""))), Reason::Missing);
    // A header without `alg` names no allowed algorithm (as in Clerk's verifier).
    let machine = URL_SAFE_NO_PAD.encode(format!(r#"{{"sub":"{MACHINE}"}}"#));
    let reason = rejection(run(verifier.verify(&format!("{no_alg}.{machine}.c2ln"))));
    assert_eq!(reason, Reason::DisallowedAlgorithm { alg: String::new() });
    // Properly signed, but missing what an M2M token must carry.
    let exp = unix_now() + 600;
    let mut no_exp = claims(exp);
    no_exp.as_object_mut().unwrap().remove("exp");
    let mut bad_exp = claims(exp);
    bad_exp["exp"] = json!("tomorrow");
    let mut bad_aud = claims(exp);
    bad_aud["aud"] = json!([1, 2]);
    let mut bad_jti = claims(exp);
    bad_jti["jti"] = json!(7);
    for claims in [no_exp, bad_exp, bad_aud, bad_jti] {
        let reason = rejection(run(verifier.verify(&sign(key_a(), &claims))));
        assert!(matches!(reason, Reason::Malformed { .. }), "{claims}: {reason:?}");
    }
    // As Clerk: a token without `jti` is accepted, with an empty id.
    let mut no_jti = claims(exp);
    no_jti.as_object_mut().unwrap().remove("jti");
    assert_eq!(m2m(run(verifier.verify(&sign(key_a(), &no_jti)))).token_id, "");
    // With a JWKS, a token without kid names no key (and fetches nothing).
    let server = MockServer::start();
    let jwks = jwks_mock(&server, &[key_a()]);
    let via_jwks = Verifier::builder(&clerk(&server)).build().unwrap();
    let no_kid = key_a().sign(&json!({"alg": "RS256"}), &claims(exp));
    assert!(matches!(rejection(run(via_jwks.verify(&no_kid))), Reason::UnknownKid { .. }));
    assert_eq!(jwks.calls(), 0);
}

#[test]
fn a_jwt_without_a_machine_subject_is_no_m2m_token() {
    let verifier = pem_verifier();
    // As Clerk, the `mch_` prefix makes a machine.
    let mut short = claims(unix_now() + 600);
    short["sub"] = json!("mch_short");
    assert_eq!(m2m(run(verifier.verify(&sign(key_a(), &short)))).machine_id, "mch_short");
    for subject in [
        json!("user_2xhFjEI5X2qWRvtV13BzSj8H6Dk"),
        json!("MCH_2xhFjEI5X2qWRvtV13BzSj8H6Dk"),
        json!(null),
        json!(7),
    ] {
        let mut claims = claims(unix_now() + 600);
        claims["sub"] = subject.clone();
        let reason = rejection(run(verifier.verify(&sign(key_a(), &claims))));
        assert_eq!(reason, Reason::UnknownKind, "{subject}");
    }
}

#[test]
fn scoped_to_requires_the_machine_in_aud_or_scopes() {
    let scoped = Verifier::from_pem(key_a().public_key_pem()).scoped_to(CALLEE).build().unwrap();
    let exp = unix_now() + 600;
    m2m(run(scoped.verify(&sign(key_a(), &claims(exp)))));
    let mut via_scopes = claims(exp);
    via_scopes.as_object_mut().unwrap().remove("aud");
    via_scopes["scopes"] = json!(format!("{THIRD} {CALLEE}"));
    let verified = m2m(run(scoped.verify(&sign(key_a(), &via_scopes))));
    assert_eq!(verified.scopes, vec![THIRD.to_owned(), CALLEE.to_owned()], "Clerk's order");
    let mut elsewhere = claims(exp);
    elsewhere["aud"] = json!(THIRD);
    let reason = rejection(run(scoped.verify(&sign(key_a(), &elsewhere))));
    assert_eq!(reason, Reason::NotScoped { machine_id: CALLEE.into() });
}

fn verify_response(revoked: bool, expired: bool) -> types::VerifyM2mTokenResponse {
    serde_json::from_value(json!({
        "object": "machine_to_machine_token",
        "id": TOKEN_ID,
        "subject": MACHINE,
        "scopes": [CALLEE],
        "claims": {"job": "nightly-export"},
        "revoked": revoked,
        "revocation_reason": null,
        "expired": expired,
        "expiration": null,
        "last_used_at": null,
        "created_at": 1_753_743_316_590.0,
        "updated_at": 1_753_743_316_590.0
    }))
    .unwrap()
}

#[test]
fn opaque_tokens_are_verified_by_clerk() {
    let server = MockServer::start();
    let ok = server.verify_m2m_token(|when, then| {
        when.body(&serde_json::from_value(json!({"token": "mt_goodgoodgoodgoodgoodgoodgoodgood"})).unwrap())
            .into_inner()
            .header("authorization", format!("Bearer {INSTANCE_KEY}"));
        then.ok(&verify_response(false, false));
    });
    let revoked = server.verify_m2m_token(|when, then| {
        when.into_inner().json_body(json!({"token": "mt_revokedrevokedrevokedrevokedrevo"}));
        then.ok(&verify_response(true, false));
    });
    let expired = server.verify_m2m_token(|when, then| {
        when.into_inner().json_body(json!({"token": "mt_expiredexpiredexpiredexpiredexpi"}));
        then.ok(&verify_response(false, true));
    });
    let unknown = server.verify_m2m_token(|when, then| {
        when.into_inner().json_body(json!({"token": "mt_unknownunknownunknownunknownunkn"}));
        let errors: types::ClerkErrors = serde_json::from_value(json!({
            "errors": [{"code": "resource_not_found", "message": "not found", "long_message": "not found"}],
            "clerk_trace_id": "trace-opaque"
        }))
        .unwrap();
        then.not_found(&errors);
    });
    let verifier = Verifier::builder(&clerk(&server)).scoped_to(CALLEE).build().unwrap();
    let verified = m2m(run(verifier.verify("mt_goodgoodgoodgoodgoodgoodgoodgood")));
    assert_eq!(verified.machine_id, MACHINE);
    assert_eq!(verified.token_id, TOKEN_ID);
    assert_eq!(verified.format, TokenFormat::Opaque);
    assert_eq!(verified.expires_at, None);
    assert_eq!(verified.claims, json!({"job": "nightly-export"}));
    assert_eq!(rejection(run(verifier.verify("mt_revokedrevokedrevokedrevokedrevo"))), Reason::Revoked);
    assert_eq!(rejection(run(verifier.verify("mt_expiredexpiredexpiredexpiredexpi"))), Reason::Expired);
    let unknown_token = "mt_unknownunknownunknownunknownunkn";
    assert_eq!(rejection(run(verifier.verify(unknown_token))), Reason::NotFound);
    // Remembered: asked again, it is refused without a call.
    assert_eq!(rejection(run(verifier.verify(unknown_token))), Reason::NotFound);
    // Scoping applies to opaque tokens too.
    let elsewhere = Verifier::builder(&clerk(&server)).scoped_to(THIRD).build().unwrap();
    let reason = rejection(run(elsewhere.verify("mt_goodgoodgoodgoodgoodgoodgoodgood")));
    assert_eq!(reason, Reason::NotScoped { machine_id: THIRD.into() });
    assert_eq!((ok.calls(), revoked.calls(), expired.calls(), unknown.calls()), (2, 1, 1, 1));

    // An offline verifier needs a client for opaque tokens.
    let offline = pem_verifier();
    let reason = rejection(run(offline.verify("mt_goodgoodgoodgoodgoodgoodgoodgood")));
    assert_eq!(reason, Reason::FormatNotAccepted { format: TokenFormat::Opaque });
    let with_client =
        Verifier::from_pem(key_a().public_key_pem()).opaque_via(&clerk(&server)).build().unwrap();
    m2m(run(with_client.verify("mt_goodgoodgoodgoodgoodgoodgoodgood")));
    assert_eq!(ok.calls(), 3);
}

#[test]
fn the_builder_refuses_bad_configuration() {
    let server = MockServer::start();
    let results = [
        Verifier::from_pem("not a pem").build(),
        Verifier::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").build(),
        Verifier::from_pem(key_a().public_key_pem()).scoped_to("mch_nope").build(),
        Verifier::builder(&Clerk::new("ak_machine", ClerkConfig::default()).unwrap()).build(),
        Verifier::builder(&clerk(&server)).scoped_to("someone").build(),
    ];
    for result in results {
        assert!(matches!(result, Err(Error::InvalidInput { .. })), "{result:?}");
    }
}

#[test]
fn bearer_tokens_are_read_from_the_header() {
    assert_eq!(clerk_machines::verify::bearer_token("Bearer abc.def.ghi"), Some("abc.def.ghi"));
    assert_eq!(clerk_machines::verify::bearer_token("bearer  mt_x "), Some("mt_x"));
    assert_eq!(clerk_machines::verify::bearer_token("Bearer "), None);
    assert_eq!(clerk_machines::verify::bearer_token("Basic abc"), None);
    assert_eq!(clerk_machines::verify::bearer_token("abc"), None);
}

#[test]
fn keys_are_trusted_for_the_max_age_only_and_retired_keys_stop_verifying() {
    let server = MockServer::start();
    let t0 = unix_now();
    let clock = clock_at(t0);
    let mut with_a = jwks_mock(&server, &[key_a()]);
    let verifier = Verifier::builder(&clerk(&server)).clock(clock.clone()).build().unwrap();
    let token_a = sign(key_a(), &claims(t0 + 3600));
    m2m(run(verifier.verify(&token_a)));
    // Clerk retires key A.
    with_a.delete();
    let with_b = jwks_mock(&server, &[key_b()]);
    clock.advance(Duration::from_secs(299));
    m2m(run(verifier.verify(&token_a))); // within the 5 minutes: still trusted, nothing fetched
    assert_eq!(with_b.calls(), 0);
    clock.advance(Duration::from_secs(1));
    let reason = rejection(run(verifier.verify(&token_a)));
    assert_eq!(reason, Reason::UnknownKid { kid: "ins_key_a".into() }, "refetched: key A is gone");
    assert_eq!(with_b.calls(), 1);
    m2m(run(verifier.verify(&sign(key_b(), &claims(t0 + 3600)))));
    assert_eq!(with_b.calls(), 1);
}

#[test]
fn with_the_defaults_a_rotation_is_picked_up_within_seconds() {
    let server = MockServer::start();
    let t0 = unix_now();
    let clock = clock_at(t0);
    let mut old_set = jwks_mock(&server, &[key_a()]);
    let verifier = Verifier::builder(&clerk(&server)).clock(clock.clone()).build().unwrap();
    run(verifier.refresh_keys()).unwrap();
    old_set.delete();
    let new_set = jwks_mock(&server, &[key_a(), key_b()]);
    let token_b = sign(key_b(), &claims(t0 + 3600));
    clock.advance(Duration::from_secs(1));
    // One second after the last fetch: too soon to fetch again.
    assert_eq!(rejection(run(verifier.verify(&token_b))), Reason::UnknownKid { kid: "ins_key_b".into() });
    assert_eq!(new_set.calls(), 0);
    clock.advance(Duration::from_secs(4));
    m2m(run(verifier.verify(&token_b)));
    assert_eq!(new_set.calls(), 1, "five seconds after the last fetch, the new key is fetched");
}

#[test]
fn a_failed_key_fetch_is_not_repeated_within_the_interval() {
    let server = MockServer::start();
    let t0 = unix_now();
    let clock = clock_at(t0);
    let mut failing = server.mock(|when, then| {
        when.method(Method::GET).path("/jwks");
        then.status(500).body("down");
    });
    let verifier = Verifier::builder(&clerk(&server)).clock(clock.clone()).build().unwrap();
    let token = sign(key_a(), &claims(t0 + 3600));
    let error = match run(verifier.verify(&token)) {
        Err(VerifyError::Unavailable(Unavailable::Clerk(error))) => error,
        other => panic!("expected Clerk's error as unavailable, got {other:?}"),
    };
    assert_eq!(error.status().map(|s| s.as_u16()), Some(500));
    // Clerk is down: the next verifications within the interval do not ask again.
    for _ in 0..3 {
        let outcome = run(verifier.verify(&token));
        assert!(matches!(outcome, Err(VerifyError::Unavailable(Unavailable::Keys))), "{outcome:?}");
    }
    assert_eq!(failing.calls(), 1);
    failing.delete();
    let healthy = jwks_mock(&server, &[key_a()]);
    clock.advance(Duration::from_secs(5));
    m2m(run(verifier.verify(&token)));
    assert_eq!(healthy.calls(), 1);
}
