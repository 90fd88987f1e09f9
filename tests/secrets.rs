//! Secrets never show: not in `Debug`/`Display` of the client, its
//! configuration, response types, errors of failing calls, nor in the
//! `tracing` output of a retried call.

mod common;

use clerk_machines::types::{
    CreateM2mTokenResponse, CreateMachineResponse, GetMachineSecretKeyResponse,
    RotateMachineSecretKeyResponse,
};
use clerk_machines::{Clerk, ClerkConfig, Error, SecretString};
use common::{fast_retries, Reply, Server};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const KEY: &str = "sk_test_SeCrEtInStAnCeKeY0123456789";
const MACHINE_KEY: &str = "ak_SeCrEtMaChInEkEy0123456789";
const TOKEN: &str = "mt_SeCrEtToKeN0123456789abcdef";
const API_KEY_SECRET: &str = "ak_SeCrEtApIkEy/0123456789abcdef=";
const OAUTH_TOKEN: &str = "oat_SeCrEtOaUtHtOkEn0123456789";
/// Parts of the secrets that must never appear (also catches partial prints).
const MARKERS: &[&str] =
    &["SeCrEtInStAnCeKeY", "SeCrEtMaChInEkEy", "SeCrEtToKeN", "SeCrEtApIkEy", "SeCrEtOaUtHtOkEn"];

fn assert_clean(what: &str, text: &str) {
    for marker in MARKERS {
        assert!(!text.contains(marker), "{what} shows a secret: {text}");
    }
}

/// `Debug`, `Display` and every `source()` of an error.
fn error_text(error: &Error) -> String {
    let mut text = format!("{error:?}\n{error}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!("\n{cause:?}\n{cause}"));
        source = cause.source();
    }
    text
}

fn client(url: &str) -> Clerk {
    Clerk::new(KEY, ClerkConfig::default().with_base_url(url).with_retry(fast_retries())).unwrap()
}

#[test]
fn client_config_and_transport_hide_the_key() {
    let clerk = Clerk::new(KEY, ClerkConfig::default()).unwrap();
    assert_clean("Clerk", &format!("{clerk:?}"));
    assert_clean("Clerk::raw (generated client and Transport)", &format!("{:?}", clerk.raw()));
    assert_clean("Clerk::raw (alternate)", &format!("{:#?}", clerk.raw()));

    // A caller's own client whose default headers carry the key unmarked.
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-debug-key", reqwest::header::HeaderValue::from_static(KEY));
    let custom = clerk_machines::http_client_builder().unwrap().default_headers(headers).build().unwrap();
    assert!(format!("{custom:?}").contains("SeCrEtInStAnCeKeY"), "precondition: reqwest shows it");
    let config = ClerkConfig::default().with_http_client(custom);
    assert_clean("ClerkConfig", &format!("{config:?} {config:#?}"));
    let clerk = Clerk::new(KEY, config).unwrap();
    assert_clean("Clerk with a custom client", &format!("{clerk:?}"));

    let key = SecretString::from(KEY);
    assert_clean("SecretString", &format!("{key:?} {key} {key:#?}"));
}

#[test]
fn invalid_keys_are_not_echoed() {
    let error = Clerk::new(format!("{KEY}\n"), ClerkConfig::default()).unwrap_err();
    assert!(matches!(error, Error::InvalidInput { .. }));
    assert_clean("InvalidInput", &error_text(&error));
}

#[test]
fn response_types_hide_secrets() {
    let machine = format!(
        r#"{{"object":"machine","id":"mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk","name":"worker","instance_id":"ins_1",
        "created_at":1,"updated_at":1,"default_token_ttl":3600,"scoped_machines":[],"secret_key":"{MACHINE_KEY}"}}"#
    );
    let created: CreateMachineResponse = serde_json::from_str(&machine).unwrap();
    assert_eq!(created.secret_key.expose_secret(), MACHINE_KEY);
    assert_clean("CreateMachineResponse", &format!("{created:?} {created:#?} {}", created.secret_key));

    let secret = format!(r#"{{"object":"machine_secret_key","secret":"{MACHINE_KEY}"}}"#);
    let got: GetMachineSecretKeyResponse = serde_json::from_str(&secret).unwrap();
    assert_eq!(got.secret.expose_secret(), MACHINE_KEY);
    assert_clean("GetMachineSecretKeyResponse", &format!("{got:?} {got:#?} {}", got.secret));
    let rotated: RotateMachineSecretKeyResponse = serde_json::from_str(&secret).unwrap();
    assert_eq!(rotated.secret.expose_secret(), MACHINE_KEY);
    assert_clean("RotateMachineSecretKeyResponse", &format!("{rotated:?} {rotated:#?} {}", rotated.secret));

    let token = format!(
        r#"{{"object":"machine_to_machine_token","id":"mt_0123456789abcdef0123456789abcdef",
        "subject":"mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk","scopes":[],"claims":null,"revoked":false,
        "revocation_reason":null,"expired":false,"expiration":null,"last_used_at":null,"created_at":1,"updated_at":1,
        "token":"{TOKEN}"}}"#
    );
    let token: CreateM2mTokenResponse = serde_json::from_str(&token).unwrap();
    assert_eq!(token.token.expose_secret(), TOKEN);
    assert_clean("CreateM2mTokenResponse", &format!("{token:?} {token:#?} {}", token.token));

    // The request body that carries a token to verify.
    let body = clerk_machines::types::VerifyM2mTokenBody::builder().token(TOKEN);
    assert_clean("VerifyM2mTokenBody builder", &format!("{body:?}"));
    let body = clerk_machines::types::VerifyM2mTokenBody::try_from(body).unwrap();
    assert_eq!(body.token.expose_secret(), TOKEN);
    assert_clean("VerifyM2mTokenBody", &format!("{body:?} {body:#?}"));
    assert!(serde_json::to_string(&body).unwrap().contains(TOKEN), "the token is still sent");
}

#[test]
fn api_key_and_oauth_types_hide_secrets() {
    use clerk_machines::api_keys::CreatedApiKey;
    use clerk_machines::types::{
        CreateApiKeyResponse, GetApiKeySecretResponse, VerifyApiKeyBody, VerifyOAuthAccessTokenBody,
    };
    let created = format!(
        r#"{{"object":"api_key","id":"ak_3beecc9c60adb5f9b850e91a8ee1e992","type":"api_key",
        "subject":"user_2xhFjEI5X2qWRvtV13BzSj8H6Dk","name":"ci","claims":null,"scopes":[],
        "secret":"{API_KEY_SECRET}","revoked":false,"revocation_reason":null,"expired":false,
        "expiration":null,"created_by":null,"last_used_at":null,"created_at":1,"updated_at":1}}"#
    );
    let generated: CreateApiKeyResponse = serde_json::from_str(&created).unwrap();
    assert_clean("CreateApiKeyResponse", &format!("{generated:?} {generated:#?} {}", generated.secret));
    let view = CreatedApiKey::from(generated);
    assert_eq!(view.secret.expose_secret(), API_KEY_SECRET);
    assert_clean("CreatedApiKey", &format!("{view:?} {view:#?} {}", view.secret));

    let secret = format!(r#"{{"secret":"{API_KEY_SECRET}"}}"#);
    let got: GetApiKeySecretResponse = serde_json::from_str(&secret).unwrap();
    assert_clean("GetApiKeySecretResponse", &format!("{got:?} {got:#?}"));

    let body = VerifyApiKeyBody::builder().secret(API_KEY_SECRET);
    assert_clean("VerifyApiKeyBody builder", &format!("{body:?}"));
    let body = VerifyApiKeyBody::try_from(body).unwrap();
    assert_clean("VerifyApiKeyBody", &format!("{body:?} {body:#?}"));
    assert!(serde_json::to_string(&body).unwrap().contains(API_KEY_SECRET), "the secret is still sent");

    let body = VerifyOAuthAccessTokenBody::builder().access_token(Some(SecretString::from(OAUTH_TOKEN)));
    assert_clean("VerifyOAuthAccessTokenBody builder", &format!("{body:?}"));
    let body = VerifyOAuthAccessTokenBody::try_from(body).unwrap();
    assert_clean("VerifyOAuthAccessTokenBody", &format!("{body:?} {body:#?}"));
    assert!(serde_json::to_string(&body).unwrap().contains(OAUTH_TOKEN), "the token is still sent");
}

#[tokio::test]
async fn errors_of_failing_api_key_and_oauth_calls_hide_secrets() {
    // A create answer carrying the secret that does not decode.
    let broken = format!(r#"{{"secret":"{API_KEY_SECRET}","object":"api_key","id":7}}"#);
    let server = Server::start(vec![Reply::json(200, &broken)]).await;
    let error = client(&server.url).api_keys().create("ci-key", "user_2xhFjEI5X2qWRvtV13BzSj8H6Dk").await;
    let error = error.unwrap_err();
    assert!(matches!(error, Error::Decode { .. }), "{error:?}");
    assert_clean("Decode of createApiKey", &error_text(&error));

    // The secret's own field broken: the message must not quote it.
    let server = Server::start(vec![Reply::json(200, r#"{"secret": 12}"#)]).await;
    let error =
        client(&server.url).api_keys().secret("ak_3beecc9c60adb5f9b850e91a8ee1e992").await.unwrap_err();
    assert!(matches!(error, Error::Decode { .. }), "{error:?}");

    // Clerk's 404 for a verified secret and token.
    let not_found = r#"{"errors":[{"message":"not found","long_message":"API key not found","code":"resource_not_found"}]}"#;
    let server = Server::start(vec![Reply::json(404, not_found), Reply::json(404, not_found)]).await;
    let error = client(&server.url).api_keys().verify(API_KEY_SECRET).await.unwrap_err();
    assert!(error.is_not_found(), "{error:?}");
    assert_clean("verifyApiKey 404", &error_text(&error));
    let error = client(&server.url).oauth_access_tokens().verify(OAUTH_TOKEN).await.unwrap_err();
    assert!(error.is_not_found(), "{error:?}");
    assert_clean("verifyOAuthAccessToken 404", &error_text(&error));
}

#[tokio::test]
async fn errors_of_failing_calls_hide_secrets() {
    // 401 with Clerk's error body.
    let unauthorized = r#"{"errors":[{"message":"Unauthorized","long_message":"Invalid key","code":"authentication_invalid"}]}"#;
    let server = Server::start(vec![Reply::json(401, unauthorized)]).await;
    let error = client(&server.url).machines().get("mch_1").await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(401));
    assert_clean("401", &error_text(&error));

    // A create response carrying the new key, which does not decode: the
    // error's body excerpt must not show the key.
    let broken = format!(r#"{{"secret_key":"{MACHINE_KEY}","object":"machine","id":7}}"#);
    let server = Server::start(vec![Reply::json(200, &broken)]).await;
    let error = client(&server.url).machines().create("w", Vec::<String>::new(), None).await.unwrap_err();
    assert!(matches!(error, Error::Decode { .. }), "{error:?}");
    assert_clean("Decode", &error_text(&error));

    // Same, cut short inside the key.
    let cut = &broken[..20];
    let server = Server::start(vec![Reply::json(200, cut)]).await;
    let error = client(&server.url).machines().create("w", Vec::<String>::new(), None).await.unwrap_err();
    assert!(matches!(error, Error::Decode { .. }), "{error:?}");
    assert_clean("Decode of a truncated body", &error_text(&error));

    // Connection refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let error = client(&format!("http://127.0.0.1:{port}/v1")).machines().get("mch_1").await.unwrap_err();
    assert!(matches!(error, Error::Transport(_)), "{error:?}");
    assert_clean("Transport", &error_text(&error));

    // Timeout.
    let server = Server::start(vec![Reply::Delayed(Duration::from_secs(5), Vec::new())]).await;
    let config = ClerkConfig::default()
        .with_base_url(&server.url)
        .with_request_timeout(Duration::from_millis(200))
        .with_retry(fast_retries());
    let error = Clerk::new(KEY, config).unwrap().machines().get("mch_1").await.unwrap_err();
    assert!(matches!(error, Error::Timeout(_)), "{error:?}");
    assert_clean("Timeout", &error_text(&error));
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn tracing_of_a_retried_failing_call_hides_secrets() {
    let buffer = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(buffer.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let body =
        r#"{"errors":[{"message":"Unavailable","long_message":"Try later","code":"service_unavailable"}]}"#;
    let reply = Reply::status(503, &[("Content-Type", "application/json")], body);
    let server = Server::start(vec![reply; 3]).await;
    // A query that would carry a secret if anything logged URLs.
    let error = client(&server.url).machines().list().query(TOKEN).await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(server.attempts(), 3);

    let logged = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    let retries: Vec<&str> = logged.lines().filter(|line| line.contains("retrying Clerk request")).collect();
    assert_eq!(retries.len(), 2, "{logged}");
    for (index, line) in retries.iter().enumerate() {
        assert!(line.contains("operation=\"list_machines\""), "{line}");
        assert!(line.contains(&format!("attempt={}", index + 1)), "{line}");
        assert!(line.contains("status=503"), "{line}");
        assert!(line.contains("delay_ms="), "{line}");
    }
    assert_clean("tracing output", &logged);
    assert_clean("503", &error_text(&error));
}
