//! The crate's verifier against Clerk's own: the same tokens, minted here with
//! a locally generated RSA key, go through `@clerk/backend`'s verifier
//! (`clerk.m2m.verify` with `jwtKey`, run by `conformance/jwt-verify.mjs`) and
//! through `Verifier::from_pem`. Both must give the same answer on every
//! case, and the same subject, token id, scopes and custom claims on the
//! accepted ones, except where the crate is deliberately stricter: those cases
//! say so, and the test checks that the difference is the one stated.
//!
//! Needs node and `conformance/node_modules` (`npm ci` in `conformance/`):
//! ignored by default, run by `.ci/run` with `--ignored --nocapture`, which
//! also prints the case table.
#![cfg(feature = "jwt")]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use clerk_machines::verify::{Verified, Verifier, VerifyError};
use clerk_machines_fake::{JwtSigner, M2mClaims};
use serde_json::{json, Map, Value};
use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

const CALLER: &str = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk";
const CALLEE: &str = "mch_2yGkLpQ7Y3rXSwtU24CzTk9I7Em";
const THIRD: &str = "mch_3zHlMqR8Z4sYTxuV35DaUl0J8Fn";
const TOKEN_ID: &str = "mt_0123456789abcdef0123456789abcdef";

/// What the two verifiers are expected to do with a case.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// The same answer, and on acceptance the same subject, id, scopes and claims.
    Agree,
    /// Clerk accepts, the crate rejects, for the reason given.
    Stricter(&'static str),
}

struct Case {
    name: &'static str,
    token: String,
    expect: Expect,
    /// Verify with `scoped_to(CALLEE)` on the crate's side.
    scoped: bool,
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// The payload of a valid token, as Clerk mints it.
fn payload() -> Value {
    M2mClaims::new(CALLER, TOKEN_ID, now(), now() + 3600).scope(CALLEE).to_payload()
}

/// `value` with these fields set (to `null` too).
fn with(mut value: Value, edits: &[(&str, Value)]) -> Value {
    for (name, new) in edits {
        value[*name] = new.clone();
    }
    value
}

fn without(mut value: Value, name: &str) -> Value {
    value.as_object_mut().unwrap().remove(name);
    value
}

fn cases(key: &JwtSigner, other_key: &JwtSigner) -> Vec<Case> {
    let header = key.header();
    let valid = key.sign(&header, &payload());
    let agree = |name, token| Case { name, token, expect: Expect::Agree, scoped: false };
    let stricter = |name, token, why| Case { name, token, expect: Expect::Stricter(why), scoped: false };
    let mut tampered_payload = valid.split('.').map(str::to_owned).collect::<Vec<_>>();
    tampered_payload[1] = URL_SAFE_NO_PAD.encode(with(payload(), &[("sub", json!(THIRD))]).to_string());
    let mut tampered_signature = valid.split('.').map(str::to_owned).collect::<Vec<_>>();
    let flipped = if tampered_signature[2].starts_with('A') { "B" } else { "A" };
    tampered_signature[2].replace_range(0..1, flipped);
    let hs256_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(json!({"alg": "HS256", "typ": "JWT", "kid": key.kid()}).to_string()),
        URL_SAFE_NO_PAD.encode(payload().to_string())
    );
    let hmac_key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key.public_key_pem().as_bytes());
    let hs256 = format!(
        "{hs256_input}.{}",
        URL_SAFE_NO_PAD.encode(aws_lc_rs::hmac::sign(&hmac_key, hs256_input.as_bytes()).as_ref())
    );
    let none = format!(
        "{}.{}.c2ln",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string()),
        URL_SAFE_NO_PAD.encode(payload().to_string())
    );
    let several =
        M2mClaims::new(CALLER, TOKEN_ID, now(), now() + 3600).scope(CALLEE).scope(THIRD).scope(CALLER);
    let custom = M2mClaims::new(CALLER, TOKEN_ID, now(), now() + 3600)
        .scope(CALLEE)
        .claim("tenant", "acme")
        .claim("nested", json!({"role": "worker", "n": 3, "tags": ["a", "b"]}));
    vec![
        agree("valid", valid.clone()),
        agree("several scopes", key.mint(&several)),
        agree("custom claims", key.mint(&custom)),
        agree("expired (60 s ago)", key.sign(&header, &with(payload(), &[("exp", json!(now() - 60))]))),
        agree("expired 2 s ago, within the 5 s leeway", key.sign(&header, &with(payload(), &[("exp", json!(now() - 2))]))),
        agree("not yet valid (nbf in 120 s)", key.sign(&header, &with(payload(), &[("nbf", json!(now() + 120))]))),
        agree("future iat (in 120 s)", key.sign(&header, &with(payload(), &[("iat", json!(now() + 120))]))),
        agree("wrong cat (session token category)", key.sign(&with(header.clone(), &[("cat", json!("cl_B7d4PD111AAA"))]), &payload())),
        agree("cat null", key.sign(&with(header.clone(), &[("cat", Value::Null)]), &payload())),
        agree("absent cat (older tokens)", key.sign(&without(header.clone(), "cat"), &payload())),
        agree("wrong typ (at+jwt)", key.sign(&with(header.clone(), &[("typ", json!("at+jwt"))]), &payload())),
        agree("absent typ", key.sign(&without(header.clone(), "typ"), &payload())),
        agree("non-machine subject (user_)", key.sign(&header, &with(payload(), &[("sub", json!("user_2xhFjEI5X2qWRvtV13BzSj8H6Dk"))]))),
        agree("short machine subject (mch_x)", key.sign(&header, &with(payload(), &[("sub", json!("mch_x"))]))),
        agree("tampered payload", tampered_payload.join(".")),
        agree("tampered signature", tampered_signature.join(".")),
        agree("signed by another key", other_key.sign(&header, &payload())),
        agree("alg none", none),
        agree("HS256 keyed with the public key", hs256),
        agree("RS512 header on an RS256 signature", key.sign(&with(header.clone(), &[("alg", json!("RS512"))]), &payload())),
        agree("unknown kid (a PEM verifier ignores kid)", key.sign(&with(header.clone(), &[("kid", json!("ins_unknown"))]), &payload())),
        agree("absent kid", key.sign(&without(header.clone(), "kid"), &payload())),
        agree("missing exp", key.sign(&header, &without(payload(), "exp"))),
        agree("exp as a string", key.sign(&header, &with(payload(), &[("exp", json!((now() + 3600).to_string()))]))),
        agree("absent jti (empty id)", key.sign(&header, &without(payload(), "jti"))),
        agree("aud only, no scopes claim", key.sign(&header, &without(payload(), "scopes"))),
        agree("neither scopes nor aud", key.sign(&header, &without(without(payload(), "scopes"), "aud"))),
        stricter(
            "exp far beyond any date (1e13 s)",
            key.sign(&header, &with(payload(), &[("exp", json!(1e13))])),
            "a time claim past year 5138 is malformed; Clerk's verifier turns it into an invalid date that passes every check",
        ),
        stricter(
            "jti not a string (7)",
            key.sign(&header, &with(payload(), &[("jti", json!(7))])),
            "a token id must be a string; Clerk's verifier returns the number as the id",
        ),
        Case {
            name: "scoped elsewhere, verifier scoped_to(callee)",
            token: key.mint(&M2mClaims::new(CALLER, TOKEN_ID, now(), now() + 3600).scope(THIRD)),
            expect: Expect::Stricter("scoped_to: the service accepts only tokens scoped to its own machine; Clerk's verifier has no such option"),
            scoped: true,
        },
    ]
}

/// Clerk's answer for one case, from `jwt-verify.mjs`.
struct ClerkAnswer {
    accepted: bool,
    subject: Value,
    id: Value,
    scopes: Value,
    claims: Value,
    reason: Value,
}

fn run_clerk(dir: &Path, cases: &[Case], pem: &str) -> Vec<ClerkAnswer> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance");
    assert!(
        root.join("node_modules/@clerk/backend").is_dir(),
        "run `npm ci` in conformance/ first (.ci/run does)"
    );
    let input: Vec<Value> = cases.iter().map(|c| json!({"name": c.name, "token": c.token})).collect();
    std::fs::write(dir.join("cases.json"), serde_json::to_vec(&input).unwrap()).unwrap();
    std::fs::write(dir.join("public.pem"), pem).unwrap();
    let output = Command::new("node")
        .arg(root.join("jwt-verify.mjs"))
        .arg(dir.join("cases.json"))
        .arg(dir.join("public.pem"))
        .current_dir(&root)
        .output()
        .expect("node runs");
    assert!(output.status.success(), "jwt-verify.mjs failed: {}", String::from_utf8_lossy(&output.stderr));
    let answers: Vec<Value> = serde_json::from_slice(&output.stdout).expect("JSON from jwt-verify.mjs");
    assert_eq!(answers.len(), cases.len());
    answers
        .into_iter()
        .zip(cases)
        .map(|(answer, case)| {
            assert_eq!(answer["name"], case.name);
            ClerkAnswer {
                accepted: answer["accepted"] == true,
                subject: answer["subject"].clone(),
                id: answer["id"].clone(),
                scopes: answer["scopes"].clone(),
                claims: answer["claims"].clone(),
                reason: answer["reason"].clone(),
            }
        })
        .collect()
}

/// Clerk's `claims` keep `aud` and `scopes`; the crate's hold only the custom
/// claims. The comparison takes Clerk's claims without those two.
fn clerk_custom_claims(claims: &Value) -> Value {
    match claims {
        Value::Object(map) => {
            let custom: Map<String, Value> = map
                .iter()
                .filter(|(k, _)| *k != "aud" && *k != "scopes")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if custom.is_empty() {
                Value::Null
            } else {
                Value::Object(custom)
            }
        }
        _ => Value::Null,
    }
}

fn crate_answer(result: &Result<Verified, VerifyError>) -> String {
    match result {
        Ok(token) => format!("accept {} (scopes {:?})", token.kind(), token.scopes()),
        Err(VerifyError::Refused(reason)) => format!("reject: {}", reason.code()),
        Err(other) => format!("unavailable: {other}"),
    }
}

#[tokio::test]
#[ignore = "needs node and conformance/node_modules (npm ci); .ci/run runs it"]
async fn the_crate_and_clerks_verifier_agree_case_by_case() {
    let key = JwtSigner::generate_with_kid("ins_conformance").unwrap();
    let other_key = JwtSigner::generate_with_kid("ins_other").unwrap();
    let cases = cases(&key, &other_key);
    assert!(cases.len() >= 15);
    let dir = std::env::temp_dir().join(format!("clerk-verifier-conformance-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let clerk = run_clerk(&dir, &cases, key.public_key_pem());
    std::fs::remove_dir_all(&dir).ok();

    let plain = Verifier::from_pem(key.public_key_pem()).build().unwrap();
    let scoped = Verifier::from_pem(key.public_key_pem()).scoped_to(CALLEE).build().unwrap();
    let mut table =
        vec!["| case | Clerk's verifier | crate | expected |".to_owned(), "|---|---|---|---|".to_owned()];
    let mut failures = Vec::new();
    for (case, clerk) in cases.iter().zip(&clerk) {
        let verifier = if case.scoped { &scoped } else { &plain };
        let ours = verifier.verify(&case.token).await;
        let clerk_text = if clerk.accepted {
            format!("accept (scopes {})", clerk.scopes)
        } else {
            format!(
                "reject: {}",
                clerk.reason.as_str().unwrap_or_default().chars().take(60).collect::<String>()
            )
        };
        let expected = match case.expect {
            Expect::Agree => "same".to_owned(),
            Expect::Stricter(why) => format!("crate stricter: {why}"),
        };
        table.push(format!("| {} | {} | {} | {} |", case.name, clerk_text, crate_answer(&ours), expected));
        match (case.expect, &ours) {
            (Expect::Agree, Ok(Verified::M2m(token))) if clerk.accepted => {
                let same = clerk.subject == json!(token.machine_id)
                    && clerk.id == json!(token.token_id)
                    && clerk.scopes == json!(token.scopes)
                    && clerk_custom_claims(&clerk.claims) == token.claims;
                if !same {
                    failures.push(format!(
                        "{}: accepted by both, but Clerk says sub {} id {} scopes {} claims {}, the crate {:?}",
                        case.name, clerk.subject, clerk.id, clerk.scopes, clerk.claims, token
                    ));
                }
            }
            (Expect::Agree, Err(_)) if !clerk.accepted => {}
            (Expect::Agree, _) => {
                failures.push(format!("{}: Clerk {clerk_text}, crate {}", case.name, crate_answer(&ours)))
            }
            (Expect::Stricter(_), Err(_)) if clerk.accepted => {}
            (Expect::Stricter(_), _) => failures.push(format!(
                "{}: expected Clerk to accept and the crate to reject; Clerk {clerk_text}, crate {}",
                case.name,
                crate_answer(&ours)
            )),
        }
    }
    println!("{}", table.join("\n"));
    assert!(failures.is_empty(), "disagreements:\n{}", failures.join("\n"));
}
