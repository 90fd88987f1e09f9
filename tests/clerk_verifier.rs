//! The crate's verifier against Clerk's own, per kind:
//!
//! - M2M JWTs (30 cases): the same tokens, minted here with a locally
//!   generated RSA key, go through `@clerk/backend`'s verifier
//!   (`clerk.m2m.verify` with `jwtKey`, run by `conformance/jwt-verify.mjs`)
//!   and through `Verifier::from_pem`;
//! - OAuth access-token JWTs, Clerk's scripted answers (httpmock) for opaque
//!   tokens and API keys, and a routing table of token strings, through
//!   `authenticateRequest({ acceptsToken })` (`conformance/machine-auth.mjs`)
//!   and through `Verifier` and `verify::token_kind`.
//!
//! Both sides must give the same answer on every case, and the same fields
//! (subject, id, scopes, claims; name, user and organization of an API key;
//! client of an OAuth token) on the accepted ones, except where the crate is
//! deliberately stricter (it refuses what Clerk accepts) or answers "unavailable"
//! where Clerk's SDK signs the caller out as if the token were bad: those cases
//! say so, and the test checks that the difference is the one stated.
//!
//! Needs node and `conformance/node_modules` (`npm ci` in `conformance/`):
//! ignored by default, run by `.ci/run` with `--ignored --nocapture`, which
//! also prints the case tables.
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
    let hmac_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.public_key_pem().as_bytes());
    let hs256 = format!(
        "{hs256_input}.{}",
        URL_SAFE_NO_PAD.encode(ring::hmac::sign(&hmac_key, hs256_input.as_bytes()).as_ref())
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
    let key = JwtSigner::bundled(0, "ins_conformance").unwrap();
    let other_key = JwtSigner::bundled(1, "ins_other").unwrap();
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

// ---------------------------------------------------------------------------
// Every kind: OAuth JWTs, Clerk's scripted answers for opaque tokens and API
// keys, and the routing of token strings, through `authenticateRequest`
// (`conformance/machine-auth.mjs`) and through `verify::Verifier`.
// ---------------------------------------------------------------------------

#[path = "common/answers.rs"]
mod answers;

use answers::Answer;
use clerk_machines::verify::{token_kind, Kinds, TokenKind};

/// Runs `conformance/machine-auth.mjs` on `input`; its answers, one per case.
fn machine_auth(input: Value) -> Vec<Value> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance");
    assert!(
        root.join("node_modules/@clerk/backend").is_dir(),
        "run `npm ci` in conformance/ first (.ci/run does)"
    );
    // One file per call: tests run side by side and several use one mode.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let file = std::env::temp_dir().join(format!(
        "clerk-machine-auth-{}-{}-{call}.json",
        std::process::id(),
        input["mode"].as_str().unwrap_or_default()
    ));
    std::fs::write(&file, serde_json::to_vec(&input).unwrap()).unwrap();
    let output = Command::new("node")
        .arg(root.join("machine-auth.mjs"))
        .arg(&file)
        .current_dir(&root)
        .output()
        .expect("node runs");
    std::fs::remove_file(&file).ok();
    assert!(output.status.success(), "machine-auth.mjs failed: {}", String::from_utf8_lossy(&output.stderr));
    let answers: Vec<Value> = serde_json::from_slice(&output.stdout).expect("JSON from machine-auth.mjs");
    assert_eq!(answers.len(), input["cases"].as_array().map_or(0, Vec::len));
    answers
}

/// What Clerk's verifier and the crate's are expected to do with a case of
/// the kinds beyond M2M JWTs.
#[derive(Clone, Copy, Debug)]
enum Outcome {
    /// The same answer, and on acceptance the same fields.
    Same,
    /// Clerk signs the caller in, the crate refuses (401), for the reason given.
    Stricter(&'static str),
    /// Clerk signs the caller out as if the token were bad; the crate answers
    /// "unavailable" (503), for the reason given.
    NotTheTokensFault(&'static str),
}

/// The fields of Clerk's machine auth object the crate's [`Verified`] carries too.
fn crate_auth(verified: &Verified) -> Value {
    match verified {
        Verified::M2m(token) => {
            json!({"tokenType": "m2m_token", "id": token.token_id, "subject": token.machine_id,
            "scopes": token.scopes, "claims": token.claims, "machineId": token.machine_id})
        }
        Verified::ApiKey(key) => {
            json!({"tokenType": "api_key", "id": key.id, "subject": key.subject, "scopes": key.scopes,
            "name": key.name, "claims": key.claims, "userId": key.user_id, "orgId": key.org_id})
        }
        Verified::OAuth(token) => {
            json!({"tokenType": "oauth_token", "id": token.token_id, "subject": token.user_id,
            "scopes": token.scopes, "userId": token.user_id, "clientId": token.client_id})
        }
        _ => Value::Null,
    }
}

/// Clerk's auth object with only the fields `crate_auth` gives.
fn comparable(clerk: &Value, ours: &Value) -> Value {
    let mut picked = Map::new();
    for (field, _) in ours.as_object().into_iter().flatten() {
        picked.insert(field.clone(), clerk.get(field).cloned().unwrap_or(Value::Null));
    }
    Value::Object(picked)
}

/// Compares one case; returns the table row and, when it fails, why.
fn judge(
    name: &str,
    expect: Outcome,
    clerk: &Value,
    ours: &Result<Verified, VerifyError>,
) -> (String, Option<String>) {
    let signed_in = clerk["signedIn"] == true;
    let clerk_text = if signed_in {
        format!("signed in ({})", clerk["tokenType"].as_str().unwrap_or_default())
    } else {
        format!("signed out: {}", clerk["reason"].as_str().unwrap_or_default())
    };
    let expected = match expect {
        Outcome::Same => "same".to_owned(),
        Outcome::Stricter(why) => format!("crate stricter: {why}"),
        Outcome::NotTheTokensFault(why) => format!("crate 503, not 401: {why}"),
    };
    let row = format!("| {name} | {clerk_text} | {} | {expected} |", crate_answer(ours));
    let failure = match (expect, ours) {
        (Outcome::Same, Ok(verified)) if signed_in => {
            let ours = crate_auth(verified);
            let theirs = comparable(&clerk["auth"], &ours);
            (theirs != ours)
                .then(|| format!("{name}: accepted by both, but Clerk says {theirs}, the crate {ours}"))
        }
        (Outcome::Same, Err(VerifyError::Refused(_))) if !signed_in => None,
        (Outcome::Stricter(_), Err(VerifyError::Refused(_))) if signed_in => None,
        (Outcome::NotTheTokensFault(_), Err(VerifyError::Unavailable(_))) if !signed_in => None,
        _ => Some(format!("{name}: expected {expected}; Clerk {clerk_text}, crate {}", crate_answer(ours))),
    };
    (row, failure)
}

fn report(title: &str, rows: Vec<String>, failures: Vec<String>) {
    println!(
        "\n### {title}\n\n| case | Clerk's `authenticateRequest` | crate | expected |\n|---|---|---|---|\n{}",
        rows.join("\n")
    );
    assert!(failures.is_empty(), "disagreements:\n{}", failures.join("\n"));
}

const USER: &str = "user_2vYVtestTESTtestTESTtestTES";
const CLIENT: &str = "client_2VTWUzvGC5UhdJCNx6xG1D98edc";
const OAT_ID: &str = "oat_2xKa9Bgv7NxMRDFyQw8LpZ3cTmU1vHjE";
const AUDIENCE: &str = "https://api.example.com";

fn oauth_payload() -> Value {
    json!({"sub": USER, "client_id": CLIENT, "jti": OAT_ID, "scope": "read:foo write:bar", "iat": now(), "exp": now() + 600,
           "azp": "https://accounts.example.com", "iss": "https://clerk.example.com"})
}

fn oauth_header(key: &JwtSigner, typ: &str) -> Value {
    json!({"alg": "RS256", "kid": key.kid(), "typ": typ})
}

struct OAuthCase {
    name: &'static str,
    token: String,
    audience: Option<&'static str>,
    expect: Outcome,
}

fn oauth_cases(key: &JwtSigner, other_key: &JwtSigner) -> Vec<OAuthCase> {
    let at = |name, token| OAuthCase { name, token, audience: None, expect: Outcome::Same };
    let header = oauth_header(key, "at+jwt");
    let valid = key.sign(&header, &oauth_payload());
    let mut tampered = valid.split('.').map(str::to_owned).collect::<Vec<_>>();
    tampered[1] = URL_SAFE_NO_PAD
        .encode(with(oauth_payload(), &[("sub", json!("user_3someoneELSEsomeoneELSEsom"))]).to_string());
    vec![
        at("valid, typ at+jwt", valid.clone()),
        at(
            "valid, typ application/at+jwt",
            key.sign(&oauth_header(key, "application/at+jwt"), &oauth_payload()),
        ),
        at("missing typ (no machine kind)", key.sign(&without(header.clone(), "typ"), &oauth_payload())),
        at("typ JWT (no machine kind)", key.sign(&oauth_header(key, "JWT"), &oauth_payload())),
        at(
            "typ AT+JWT (no machine kind: Clerk compares exactly)",
            key.sign(&oauth_header(key, "AT+JWT"), &oauth_payload()),
        ),
        at("expired (60 s ago)", key.sign(&header, &with(oauth_payload(), &[("exp", json!(now() - 60))]))),
        at(
            "expired 2 s ago, within the 5 s leeway",
            key.sign(&header, &with(oauth_payload(), &[("exp", json!(now() - 2))])),
        ),
        at(
            "future nbf (in 120 s)",
            key.sign(&header, &with(oauth_payload(), &[("nbf", json!(now() + 120))])),
        ),
        at(
            "future iat (in 120 s)",
            key.sign(&header, &with(oauth_payload(), &[("iat", json!(now() + 120))])),
        ),
        at("missing exp", key.sign(&header, &without(oauth_payload(), "exp"))),
        at(
            "unknown kid (a PEM verifier ignores kid)",
            key.sign(&with(header.clone(), &[("kid", json!("ins_unknown"))]), &oauth_payload()),
        ),
        at("tampered payload", tampered.join(".")),
        at("signed by another key", other_key.sign(&header, &oauth_payload())),
        at(
            "alg none",
            format!(
                "{}.{}.c2ln",
                URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "at+jwt"}).to_string()),
                URL_SAFE_NO_PAD.encode(oauth_payload().to_string())
            ),
        ),
        at(
            "scopes from scp (a list)",
            key.sign(&header, &with(oauth_payload(), &[("scp", json!(["read", "admin"]))])),
        ),
        at("no scope nor scp", key.sign(&header, &without(oauth_payload(), "scope"))),
        at(
            "absent jti and client_id (empty)",
            key.sign(&header, &without(without(oauth_payload(), "jti"), "client_id")),
        ),
        OAuthCase {
            name: "aud matching the audience",
            token: key.sign(&header, &with(oauth_payload(), &[("aud", json!([AUDIENCE, "x"]))])),
            audience: Some(AUDIENCE),
            expect: Outcome::Same,
        },
        OAuthCase {
            name: "aud of another audience",
            token: key.sign(&header, &with(oauth_payload(), &[("aud", json!("https://other.example.com"))])),
            audience: Some(AUDIENCE),
            expect: Outcome::Same,
        },
        OAuthCase {
            name: "no aud, an audience required",
            token: valid.clone(),
            audience: Some(AUDIENCE),
            expect: Outcome::Same,
        },
        at(
            "aud present, no audience required",
            key.sign(&header, &with(oauth_payload(), &[("aud", json!("https://other.example.com"))])),
        ),
        OAuthCase {
            name: "non-user subject (org_)",
            token: key
                .sign(&header, &with(oauth_payload(), &[("sub", json!("org_2vYVtestTESTtestTESTtestTES"))])),
            audience: None,
            expect: Outcome::Stricter(
                "an OAuth access token stands for a user; Clerk's verifier takes any string subject",
            ),
        },
        OAuthCase {
            name: "subject mch_ with typ at+jwt (routed to M2M, typ refused)",
            token: key
                .sign(&header, &with(oauth_payload(), &[("sub", json!("mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"))])),
            audience: None,
            expect: Outcome::Same,
        },
    ]
}

#[tokio::test]
#[ignore = "needs node and conformance/node_modules (npm ci); .ci/run runs it"]
async fn oauth_jwts_agree_case_by_case() {
    let key = JwtSigner::bundled(0, "ins_conformance").unwrap();
    let other_key = JwtSigner::bundled(1, "ins_other").unwrap();
    let cases = oauth_cases(&key, &other_key);
    assert!(cases.len() >= 12);
    let input: Vec<Value> = cases
        .iter()
        .map(|c| json!({"name": c.name, "token": c.token, "accepts": ["oauth_token", "m2m_token"], "audience": c.audience}))
        .collect();
    let clerk = machine_auth(
        json!({"mode": "authenticate", "secretKey": "sk_test_conformance", "jwtKey": key.public_key_pem(), "cases": input}),
    );
    let (mut rows, mut failures) = (Vec::new(), Vec::new());
    for (case, clerk) in cases.iter().zip(&clerk) {
        let mut builder = Verifier::from_pem(key.public_key_pem()).accept([TokenKind::OAuth, TokenKind::M2m]);
        if let Some(audience) = case.audience {
            builder = builder.oauth_audience(audience);
        }
        let ours = builder.build().unwrap().verify(&case.token).await;
        let (row, failure) = judge(case.name, case.expect, clerk, &ours);
        rows.push(row);
        failures.extend(failure);
    }
    report("OAuth access-token JWTs (jwtKey, acceptsToken [oauth_token, m2m_token])", rows, failures);
}

#[tokio::test]
#[ignore = "needs node and conformance/node_modules (npm ci); .ci/run runs it"]
async fn clerks_scripted_answers_agree_case_by_case() {
    let server = httpmock::MockServer::start();
    let mut cases = Vec::new();
    for kind in ["m2m_token", "api_key", "oauth_token"] {
        for answer in Answer::ALL {
            let token = answers::token(kind, &format!("{answer:?}"));
            answers::script(&server, kind, &token, answer);
            let expect = match answer {
                Answer::Revoked | Answer::Expired => Outcome::Stricter(
                    "Clerk's answer says the token is revoked or expired; Clerk's SDK signs the caller in regardless",
                ),
                Answer::KeyRefused => Outcome::NotTheTokensFault("this service's own key was refused: a configuration fault"),
                Answer::ServerError | Answer::RateLimited => {
                    Outcome::NotTheTokensFault("Clerk could not answer: the caller should retry, not drop its token")
                }
                Answer::Valid | Answer::NotFound => Outcome::Same,
            };
            cases.push((format!("{kind}, {}", answer.name()), token, expect));
        }
    }
    let input: Vec<Value> = cases
        .iter()
        .map(|(name, token, _)| json!({"name": name, "token": token, "accepts": "any"}))
        .collect();
    let clerk = machine_auth(
        json!({"mode": "authenticate", "apiUrl": server.base_url(), "secretKey": "sk_test_conformance", "cases": input}),
    );
    let config = clerk_machines::ClerkConfig::default()
        .with_base_url(server.base_url())
        .with_retry(clerk_machines::RetryConfig::disabled());
    let client = clerk_machines::Clerk::new("sk_test_conformance", config).unwrap();
    let verifier = Verifier::opaque_only(&client).accept(Kinds::any()).build().unwrap();
    let (mut rows, mut failures) = (Vec::new(), Vec::new());
    for ((name, token, expect), clerk) in cases.iter().zip(&clerk) {
        let ours = verifier.verify(token).await;
        let (row, failure) = judge(name, *expect, clerk, &ours);
        rows.push(row);
        failures.extend(failure);
    }
    report(
        "opaque tokens and API keys, Clerk's answers scripted on httpmock (acceptsToken any)",
        rows,
        failures,
    );
}

#[test]
#[ignore = "needs node and conformance/node_modules (npm ci); .ci/run runs it"]
fn token_strings_are_routed_as_clerk_routes_them() {
    let key = JwtSigner::bundled(0, "ins_conformance").unwrap();
    let jwt = |typ: Option<&str>, sub: &str| {
        let mut header = json!({"alg": "RS256", "kid": key.kid()});
        if let Some(typ) = typ {
            header["typ"] = json!(typ);
        }
        key.sign(&header, &json!({"sub": sub, "exp": now() + 600}))
    };
    let b64 = |value: Value| URL_SAFE_NO_PAD.encode(value.to_string());
    let tokens = vec![
        ("opaque M2M token", "mt_8XOIucKvqHVr5tYP123456789abcdefghij".to_owned()),
        ("mt_ too short to be one", "mt_x".to_owned()),
        ("opaque OAuth token", "oat_8XOIucKvqHVr5tYP123456789abcdefghij".to_owned()),
        ("Clerk's test API key (with / and =)", "ak_LCWGdaM8mv8K4PC/57IICZQXAeWfCgF30DZaFXHoGn9=".to_owned()),
        ("machine secret key shape (ak_ + 40 hex)", format!("ak_{}", "3beecc9c60".repeat(4))),
        ("instance secret key", "sk_test_abcdefghijklmnopqrstuvwxyz".to_owned()),
        ("session-like JWT (user subject, typ JWT)", jwt(Some("JWT"), USER)),
        ("JWT without typ, user subject", jwt(None, USER)),
        ("M2M JWT", jwt(Some("JWT"), "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk")),
        ("M2M JWT without typ", jwt(None, "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk")),
        ("OAuth JWT at+jwt", jwt(Some("at+jwt"), USER)),
        ("OAuth JWT application/at+jwt", jwt(Some("application/at+jwt"), USER)),
        ("at+jwt with a machine subject (M2M first)", jwt(Some("at+jwt"), "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk")),
        ("JWT shape with an mt_ prefix", "mt_abc.def.ghi".to_owned()),
        ("JWT shape with an oat_ prefix", "oat_abc.def.ghi".to_owned()),
        ("JWT shape with an ak_ prefix", "ak_abc.def.ghi".to_owned()),
        (
            "three parts, header not JSON",
            format!("{}.{}.c2ln", URL_SAFE_NO_PAD.encode("nope"), b64(json!({"sub": "mch_1"}))),
        ),
        (
            "two parts, machine subject",
            format!("{}.{}", b64(json!({"alg": "RS256"})), b64(json!({"sub": "mch_1"}))),
        ),
        (
            "payload sub a number",
            format!("{}.{}.c2ln", b64(json!({"alg": "RS256", "typ": "at+jwt"})), b64(json!({"sub": 7}))),
        ),
        ("prefix in capitals", "MT_8XOIucKvqHVr5tYP123456789abcdefghij".to_owned()),
        ("random string", "hello-world".to_owned()),
    ];
    let input: Vec<Value> =
        tokens.iter().map(|(name, token)| json!({"name": name, "token": token})).collect();
    let clerk = machine_auth(json!({"mode": "route", "secretKey": "sk_test_conformance", "cases": input}));
    let (mut rows, mut failures) = (Vec::new(), Vec::new());
    for ((name, token), clerk) in tokens.iter().zip(&clerk) {
        let theirs: Vec<String> = clerk["kinds"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|k| k.as_str().map(str::to_owned))
            .collect();
        let ours: Vec<String> = token_kind(token).map(|kind| kind.as_str().to_owned()).into_iter().collect();
        let show = |kinds: &[String]| if kinds.is_empty() { "none".to_owned() } else { kinds.join(", ") };
        rows.push(format!(
            "| {name} | {} | {} | {} |",
            show(&theirs),
            show(&ours),
            if theirs == ours { "same" } else { "DIFFERENT" }
        ));
        if theirs != ours {
            failures.push(format!("{name}: Clerk routes it to {theirs:?}, the crate to {ours:?}"));
        }
    }
    println!(
        "\n### routing of token strings\n\n| token | Clerk's kind | crate's kind | |\n|---|---|---|---|\n{}",
        rows.join("\n")
    );
    assert!(failures.is_empty(), "routing differs:\n{}", failures.join("\n"));
}
