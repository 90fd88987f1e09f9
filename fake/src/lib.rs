//! An in-memory Clerk for tests and demos.
//!
//! [`FakeClerk::start`] serves the machines, M2M token, API key and OAuth
//! access token endpoints of Clerk's
//! Backend API on `127.0.0.1`, under `/v1` like `api.clerk.com`, with Clerk's
//! rules: every parameter and body field checked against the limits,
//! patterns and enums of the spec the library was generated from
//! (`clerk_machines::spec`, the table the client checks before sending);
//! authentication with the instance key (`sk_test_...`) or, for M2M
//! tokens, a machine secret key (`ak_...`); ids in Clerk's formats; 404, 409,
//! 422 and 400 answers with Clerk's error body, a `clerk_trace_id` and a
//! `Clerk-Trace-Id` header; list filters and paging; secret key rotation with a
//! grace period; opaque and JWT (RS256) M2M tokens, whose signing key it
//! publishes at `GET /v1/jwks`. Responses (success and error bodies, all but
//! the key set) are built from the library's generated types, so their shapes
//! are the spec's;
//! `conformance/proxy-test.sh` checks every operation with Prism.
//!
//! An operation of the spec the client was generated from that the fake does
//! not implement (a newer spec added it) is answered with a `501` in Clerk's
//! error shape, code `fake_not_implemented`, naming the operation.
//!
//! API keys and OAuth access tokens: the eight API key operations with
//! Clerk's lifecycle (the secret shown at creation and through
//! `getApiKeySecret`, revocation with a reason, expiry, `include_invalid`,
//! the search `query`, subjects `user_`/`org_`/`mch_`, the keys of a deleted
//! machine deleted with it) and `verifyApiKey`; `verifyOAuthAccessToken` for
//! the tokens issued with [`FakeClerk::issue_oauth_access_token`] (Clerk
//! issues them in its OAuth flow, not through its Backend API). The same
//! hook is served over HTTP for tests in other languages, under the fake's
//! own prefix, authenticated with the instance key:
//! `POST /__fake/oauth_access_tokens` with an [`OAuthTokenOptions`] as JSON
//! (`{"subject": "user_...", "scopes": ["read"], "lifetime": 600, "jwt_typ": "at+jwt"}`)
//! answers `{"id", "token", "expiration"}`, and
//! `POST /__fake/oauth_access_tokens/{id}/revoke` revokes. No Clerk has these
//! routes: they exist for tests only.
//!
//! [`FakeClerk::calls`] counts the requests of each operation, for tests of
//! how often code calls Clerk (a verifier's cache, a flood of requests).
//!
//! [`FakeClerk::start_outage`] makes it answer every request with a 429 or a
//! 5xx (Clerk's error body, `Retry-After`) until [`FakeClerk::end_outage`],
//! for tests of how a client rides out Clerk's failures.
//!
//! State lives in memory and is lost when the fake stops; it stops when dropped.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use clerk_machines_fake::FakeClerk;
//!
//! let fake = FakeClerk::start().await?;
//! let clerk = fake.clerk(); // a `Clerk` authenticated with the fake's instance key
//! let created = clerk.machines().create("worker", Vec::<String>::new(), None).await?;
//! assert!(created.id.starts_with("mch_"));
//! println!("serving {} with key {}", fake.url(), fake.instance_key().expose_secret());
//! # Ok(()) }
//! ```
//!
//! Choices where Clerk's documentation is silent (the fake's behaviour, to be
//! checked against the real API): a valid key of the wrong kind gets 401;
//! verifying a revoked or expired token gets 400 (`token_revoked`,
//! `token_expired`), an unknown token 404; the `revoked` and `expired`
//! filters of the token list match exactly (the default lists live tokens).
//! Verifying an unknown, revoked or expired API key, or an unknown, revoked
//! or expired opaque OAuth token, gets 404 `resource_not_found` (the reason
//! in `long_message`): `@clerk/backend` documents that its `verify` throws
//! for those and reads a 404 as an invalid token; an expired or revoked OAuth
//! JWT gets the spec's `{"active": false}`. Creating a key with the name of
//! a valid key of the same subject gets 409; a machine subject must exist
//! (400 otherwise); `scim_` subjects are refused (400: the spec's answers
//! cannot carry them); the search `query` matches a key's id exactly or its
//! name in part, ignoring case.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod api_keys;
mod errors;
mod ids;
mod jwt;
mod oauth;
mod routes;
mod rules;
mod state;

pub use jwt::{JwtSigner, M2mClaims, BUNDLED_KEYS, M2M_CATEGORY};
pub use oauth::{IssuedOAuthToken, OAuthTokenOptions, DEFAULT_CLIENT_ID, DEFAULT_LIFETIME, OAUTH_JWT_TYP};

use clerk_machines::testing::OffsetClock;
use clerk_machines::{Clerk, ClerkConfig, SecretString};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How to start a [`FakeClerk`].
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct FakeOptions {
    /// Port to listen on, on 127.0.0.1; `0` (the default) picks a free one.
    pub port: u16,
    /// The instance key to accept; `None` generates a random `sk_test_...` key.
    pub instance_key: Option<SecretString>,
}

impl FakeOptions {
    /// A free port and a random instance key.
    pub fn new() -> Self {
        Self::default()
    }

    /// Listens on this port (`0`: any free port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Accepts this instance key instead of a random one.
    pub fn instance_key(mut self, key: impl Into<SecretString>) -> Self {
        self.instance_key = Some(key.into());
        self
    }
}

/// A running fake Clerk; see the [module documentation](self).
///
/// Dropping it stops the server (requests in flight are answered first).
pub struct FakeClerk {
    url: String,
    addr: SocketAddr,
    instance_key: SecretString,
    clerk: Clerk,
    shared: Arc<routes::Shared>,
    shutdown: Mutex<Option<oneshot::Sender<()>>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for FakeClerk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeClerk").field("url", &self.url).field("instance_key", &self.instance_key).finish()
    }
}

impl FakeClerk {
    /// Starts a fake on a free port of 127.0.0.1 with a random instance key.
    ///
    /// Must be called within a Tokio runtime; fails only when the port cannot be bound.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(FakeOptions::default()).await
    }

    /// Starts a fake with these options.
    pub async fn start_with(options: FakeOptions) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, options.port)).await?;
        let addr = listener.local_addr()?;
        let url = format!("http://{addr}/v1");
        let instance_key = options
            .instance_key
            .unwrap_or_else(|| SecretString::new(format!("sk_test_{}", ids::random_alnum(40))));
        let clerk = Clerk::new(instance_key.clone(), ClerkConfig::default().with_base_url(url.clone()))
            .map_err(std::io::Error::other)?;
        let shared = Arc::new(routes::Shared {
            model: Mutex::new(state::Model::new(instance_key.expose_secret().to_owned())),
            clock: Arc::new(OffsetClock::new()),
            signer: tokio::sync::OnceCell::new(),
            verifier: tokio::sync::OnceCell::new(),
            outage: Mutex::new(None),
            outage_answers: Default::default(),
            calls: Default::default(),
            issuer: format!("http://{addr}"),
        });
        let (tx, rx) = oneshot::channel::<()>();
        let app = routes::router(shared.clone());
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = rx.await;
            });
            // An accept error ends the fake; the tests using it then fail to connect.
            let _ = served.await;
        });
        Ok(Self { url, addr, instance_key, clerk, shared, shutdown: Mutex::new(Some(tx)), task: Some(task) })
    }

    /// The base URL to give a client, `http://127.0.0.1:PORT/v1`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The address the fake listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The instance secret key the fake accepts (`sk_test_...`).
    pub fn instance_key(&self) -> &SecretString {
        &self.instance_key
    }

    /// The id of the fake's instance (`ins_...`), the `instance_id` of its machines.
    pub fn instance_id(&self) -> String {
        self.shared.model.lock().map(|m| m.instance_id.clone()).unwrap_or_default()
    }

    /// A client authenticated with the instance key.
    pub fn clerk(&self) -> &Clerk {
        &self.clerk
    }

    /// A client for this fake authenticated with another key (a machine's `ak_...` key).
    pub fn client_with_key(&self, key: impl Into<SecretString>) -> clerk_machines::Result<Clerk> {
        Clerk::new(key, ClerkConfig::default().with_base_url(self.url.clone()))
    }

    /// The fake's clock: the system time plus what [`advance_clock`](Self::advance_clock)
    /// added. Give it to a `verify::Verifier` (`.clock(fake.clock())`) so that the
    /// verifier sees the same time as the fake.
    pub fn clock(&self) -> Arc<OffsetClock> {
        self.shared.clock.clone()
    }

    /// Moves the fake's clock forward: token expiry and key grace periods
    /// behave as if `by` had passed. Time never goes back.
    pub fn advance_clock(&self, by: Duration) {
        self.shared.clock.advance(by);
    }

    /// Simulates an outage of Clerk, or its rate limit, until
    /// [`end_outage`](Self::end_outage): every request is answered with
    /// `status` and Clerk's error body (code `too_many_requests` for 429,
    /// `service_unavailable` otherwise), with `Retry-After` in whole seconds
    /// when `retry_after` is given. A status that is not an error (outside
    /// 400 to 599) is taken as 503. Nothing is served meanwhile, and the
    /// fake's state is kept: machines, keys and tokens work again afterwards.
    /// For tests of how a client rides out Clerk's bad minutes.
    pub fn start_outage(&self, status: u16, retry_after: Option<Duration>) {
        let status = axum::http::StatusCode::from_u16(status)
            .ok()
            .filter(|status| status.is_client_error() || status.is_server_error())
            .unwrap_or(axum::http::StatusCode::SERVICE_UNAVAILABLE);
        *self.shared.outage.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) =
            Some(routes::Outage { status, retry_after });
    }

    /// Ends the outage started with [`start_outage`](Self::start_outage).
    pub fn end_outage(&self) {
        *self.shared.outage.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
    }

    /// How many requests were answered by an outage since the fake started.
    pub fn outage_answers(&self) -> u64 {
        self.shared.outage_answers.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many requests for the operation `operation_id` (the spec's
    /// `operationId`, such as `verifyApiKey` or `verifyOAuthAccessToken`)
    /// the fake has received since it started, answered or not (outage
    /// answers count too): what a test counts to see how often code calls Clerk.
    pub fn calls(&self, operation_id: &str) -> u64 {
        let calls = self.shared.calls.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        calls.get(operation_id).copied().unwrap_or(0)
    }

    /// Issues an OAuth access token, as Clerk does at the end of its OAuth
    /// flow (which the fake does not have): opaque (`oat_...`) or, with
    /// [`OAuthTokenOptions::jwt`], a JWT with header `typ` `at+jwt` signed
    /// by the key set the fake serves at `/v1/jwks`, carrying `sub`,
    /// `client_id`, `scope` (space-separated), `jti` (the token id), `iat`,
    /// `nbf`, `exp` and `iss` (the fake's origin). `verifyOAuthAccessToken`
    /// then answers for it as Clerk does. Test-only; also reachable over HTTP
    /// at `POST /__fake/oauth_access_tokens` (see the module documentation).
    ///
    /// Fails when the subject is not a user id (`user_...`).
    pub async fn issue_oauth_access_token(
        &self,
        options: OAuthTokenOptions,
    ) -> std::io::Result<IssuedOAuthToken> {
        routes::oauth::issue(&self.shared, &options)
            .await
            .map_err(|failure| std::io::Error::new(std::io::ErrorKind::InvalidInput, failure.long_message))
    }

    /// Revokes an OAuth access token the fake issued (as its user would in
    /// Clerk); `false` when the fake issued none with this id.
    pub fn revoke_oauth_access_token(&self, token_id: &str, reason: Option<&str>) -> bool {
        let now = self.shared.now_ms();
        self.shared.model().oauth.revoke(token_id, reason.map(str::to_owned), now)
    }

    /// Stops the server and waits until it has stopped.
    pub async fn stop(mut self) {
        self.signal_shutdown();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Serves until `signal` completes (for example `tokio::signal::ctrl_c()`), then stops.
    pub async fn serve_until<F: std::future::Future>(self, signal: F) {
        let _ = signal.await;
        self.stop().await;
    }

    fn signal_shutdown(&self) {
        if let Some(tx) = self.shutdown.lock().ok().and_then(|mut s| s.take()) {
            let _ = tx.send(());
        }
    }
}

impl Drop for FakeClerk {
    fn drop(&mut self) {
        self.signal_shutdown();
    }
}
