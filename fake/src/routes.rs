//! The HTTP side of the fake: axum handlers for the machines and M2M token
//! operations and `/jwks` here, the API key and OAuth operations in the
//! submodules; every request counted by operation.

mod api_keys;
pub(crate) mod oauth;

use super::errors::{Failure, Outcome};
use super::jwt::JwtSigner;
use super::rules::{self, Request};
use super::state::{self, Caller, MachineQuery, Minted, Model, NewToken, TokenQuery};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header::AUTHORIZATION, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use clerk_machines::clock::Clock;
use clerk_machines::testing::OffsetClock;
use clerk_machines::verify::{Reason, Verified, Verifier, VerifyError};
use clerk_machines::{spec, types};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// State shared by the handlers.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) model: Mutex<Model>,
    pub(crate) clock: Arc<OffsetClock>,
    /// The key signing this instance's JWTs, made on first use (most fakes never mint one).
    pub(crate) signer: tokio::sync::OnceCell<Arc<JwtSigner>>,
    /// The verifier of this instance's JWTs, on the fake's clock, without leeway.
    pub(crate) verifier: tokio::sync::OnceCell<Verifier>,
    /// The outage set with `FakeClerk::start_outage`, if any.
    pub(crate) outage: Mutex<Option<Outage>>,
    /// Requests answered by an outage so far.
    pub(crate) outage_answers: AtomicU64,
    /// Requests received so far, by the spec's `operationId`.
    pub(crate) calls: Mutex<HashMap<&'static str, u64>>,
    /// The `iss` of the OAuth access token JWTs: the fake's origin.
    pub(crate) issuer: String,
}

/// How the fake answers every request during an outage.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Outage {
    pub(crate) status: StatusCode,
    pub(crate) retry_after: Option<Duration>,
}

impl Shared {
    pub(crate) fn model(&self) -> MutexGuard<'_, Model> {
        // A panic while holding the lock leaves consistent data (every change is
        // made after its checks), so a poisoned lock is still usable.
        self.model.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// This instance's signing key, the next bundled key, taken the first time.
    pub(crate) async fn signer(&self) -> Outcome<Arc<JwtSigner>> {
        let load = || async {
            JwtSigner::next_bundled().map(Arc::new).map_err(|e| Failure::internal(e.to_string()))
        };
        self.signer.get_or_try_init(load).await.cloned()
    }

    /// The verifier of this instance's JWTs.
    pub(crate) async fn verifier(&self) -> Outcome<Verifier> {
        let signer = self.signer().await?;
        let build = || async {
            let clock: Arc<dyn Clock> = self.clock.clone();
            Verifier::from_pem(signer.public_key_pem())
                .leeway(std::time::Duration::ZERO)
                .jwt_cache(0)
                .clock(clock)
                .build()
                .map_err(|e| Failure::internal(format!("cannot build the JWT verifier: {e}")))
        };
        self.verifier.get_or_try_init(build).await.cloned()
    }

    /// The fake's time, in milliseconds since the Unix epoch.
    pub(crate) fn now_ms(&self) -> i64 {
        let since_epoch = self.clock.now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
    }

    fn caller(&self, headers: &HeaderMap) -> Outcome<Caller> {
        let authorization = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
        self.model().authenticate(authorization, self.now_ms())
    }

    fn instance(&self, headers: &HeaderMap) -> Outcome<()> {
        match self.caller(headers)? {
            Caller::Instance => Ok(()),
            Caller::Machine(_) => Err(Failure::wrong_key("an instance secret key (sk_...)")),
        }
    }
}

type App = State<Arc<Shared>>;

/// The router: Clerk's paths under `/v1`. The M2M token, API key and OAuth
/// paths are served without the `/v1` prefix too, because that is where
/// Clerk's JavaScript SDK (`@clerk/backend`, `skipApiVersionInUrl`) sends
/// them. `/__fake/...` are the fake's own test-only routes (no Clerk has them).
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let mut router = Router::new();
    for prefix in ["/v1", ""] {
        router = router
            .route(&format!("{prefix}/api_keys"), get(api_keys::list).post(api_keys::create))
            .route(&format!("{prefix}/api_keys/verify"), post(api_keys::verify))
            .route(
                &format!("{prefix}/api_keys/{{api_key_id}}"),
                get(api_keys::get).patch(api_keys::update).delete(api_keys::delete),
            )
            .route(&format!("{prefix}/api_keys/{{api_key_id}}/secret"), get(api_keys::secret))
            .route(&format!("{prefix}/api_keys/{{api_key_id}}/revoke"), post(api_keys::revoke))
            .route(&format!("{prefix}/oauth_applications/access_tokens/verify"), post(oauth::verify));
    }
    router
        .route("/__fake/oauth_access_tokens", post(oauth::issue_route))
        .route("/__fake/oauth_access_tokens/{id}/revoke", post(oauth::revoke_route))
        .route("/v1/machines", get(list_machines).post(create_machine))
        .route("/v1/machines/{machine_id}", get(get_machine).patch(update_machine).delete(delete_machine))
        .route("/v1/machines/{machine_id}/secret_key", get(get_secret_key))
        .route("/v1/machines/{machine_id}/secret_key/rotate", post(rotate_secret_key))
        .route("/v1/machines/{machine_id}/scopes", post(create_scope))
        .route("/v1/machines/{machine_id}/scopes/{other_machine_id}", delete(delete_scope))
        .route("/v1/m2m_tokens", get(list_tokens).post(create_token))
        .route("/v1/m2m_tokens/verify", post(verify_token))
        .route("/v1/m2m_tokens/{m2m_token_id}/revoke", post(revoke_token))
        .route("/m2m_tokens", get(list_tokens).post(create_token))
        .route("/m2m_tokens/verify", post(verify_token))
        .route("/m2m_tokens/{m2m_token_id}/revoke", post(revoke_token))
        .route("/v1/jwks", get(jwks))
        .fallback(unserved)
        .layer(axum::middleware::from_fn_with_state(shared.clone(), outage))
        .layer(axum::middleware::from_fn_with_state(shared.clone(), count))
        .with_state(shared)
}

/// Counts every request by operation (outage answers included: they are
/// calls to Clerk all the same).
async fn count(State(app): App, request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if let Some(op) = operation_of(request.method(), request.uri().path()) {
        let mut calls = app.calls.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *calls.entry(op.id).or_default() += 1;
    }
    next.run(request).await
}

/// The spec's operation for this request (with or without `/v1`): the one
/// whose path template fits with the most literal segments, so that
/// `/api_keys/verify` is `verifyApiKey`, not `{apiKeyID}`.
fn operation_of(method: &Method, path: &str) -> Option<&'static spec::Operation> {
    let path = path.strip_prefix("/v1").unwrap_or(path);
    spec::OPERATIONS
        .iter()
        .filter(|op| op.method == method.as_str() && matches_template(op.path, path))
        .max_by_key(|op| op.path.split('/').filter(|segment| !segment.starts_with('{')).count())
}

/// During an outage, every request gets its answer instead of being served.
async fn outage(State(app): App, request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let current = *app.outage.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let Some(Outage { status, retry_after }) = current else {
        return next.run(request).await;
    };
    app.outage_answers.fetch_add(1, Ordering::Relaxed);
    let mut response = Failure::outage(status).into_response();
    if let Some(wait) = retry_after {
        response.headers_mut().insert(axum::http::header::RETRY_AFTER, wait.as_secs().into());
    }
    response
}

/// Requests no route serves: an operation of the spec the fake does not
/// implement yet (a new spec added it) gets a 501 naming it; anything else
/// Clerk's 404.
async fn unserved(method: Method, uri: Uri) -> Failure {
    match operation_of(&method, uri.path()) {
        Some(op) => Failure::not_implemented(op.id, op.method, op.path),
        None => Failure::no_route(),
    }
}

/// `true` when `path` fits the spec's path `template` (`/machines/{machine_id}`).
fn matches_template(template: &str, path: &str) -> bool {
    let mut template = template.split('/');
    let mut path = path.split('/');
    loop {
        match (template.next(), path.next()) {
            (None, None) => return true,
            (Some(t), Some(p)) if t.starts_with('{') && t.ends_with('}') && !p.is_empty() => {}
            (Some(t), Some(p)) if t == p => {}
            _ => return false,
        }
    }
}

fn reply<T: Serialize>(status: StatusCode, outcome: Outcome<T>) -> Response {
    match outcome {
        Ok(value) => (status, Json(value)).into_response(),
        Err(failure) => failure.into_response(),
    }
}

fn ok<T: Serialize>(outcome: Outcome<T>) -> Response {
    reply(StatusCode::OK, outcome)
}

/// The body as a JSON object, checked with the path parameters against
/// `operation`'s rules (the spec table): what most handlers start with.
fn checked_body(operation: &str, path: &[(&'static str, &str)], body: &Bytes) -> Outcome<Map<String, Value>> {
    let body = object(body)?;
    rules::check(operation, &Request { path, body: Some(&body), ..Request::default() })?;
    Ok(body)
}

/// The body as a JSON object; an empty body is `{}`.
fn object(body: &Bytes) -> Outcome<Map<String, Value>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Failure::bad_request("body", "The request body must be a JSON object.")),
    }
}

fn query_map(raw: Option<String>) -> HashMap<String, String> {
    form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).into_owned().collect()
}

/// A whole number from a query parameter the rules have checked (`"10"` or `"10.0"`).
fn whole(value: &str) -> Option<u64> {
    value.parse::<u64>().ok().or_else(|| {
        let f = value.parse::<f64>().ok()?;
        (f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f <= 9e15).then_some(f as u64)
    })
}

/// A body field the rules have checked, as a whole number (absent or `null`: `None`).
fn whole_field(body: &Map<String, Value>, name: &str) -> Option<u64> {
    body.get(name)
        .and_then(|v| v.as_u64().or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as u64)))
}

fn string_field(body: &Map<String, Value>, name: &str) -> Option<String> {
    body.get(name).and_then(Value::as_str).map(str::to_owned)
}

/// A page's `limit` and `offset`: as sent (the rules have checked them), or
/// the spec's defaults.
fn paging(operation_id: &str, params: &HashMap<String, String>) -> (usize, usize) {
    let read = |name: &str, fallback: u64| {
        let value = params
            .get(name)
            .and_then(|v| whole(v))
            .or_else(|| rules::default_u64(operation_id, name))
            .unwrap_or(fallback);
        usize::try_from(value).unwrap_or(usize::MAX)
    };
    // Without a default in the spec: Clerk's documented page of 10, from 0.
    (read("limit", 10), read("offset", 0))
}

// ---- Machines -----------------------------------------------------------

async fn list_machines(State(app): App, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    ok((|| {
        app.instance(&headers)?;
        let params = query_map(raw);
        rules::check("ListMachines", &Request { query: Some(&params), ..Request::default() })?;
        let (limit, offset) = paging("ListMachines", &params);
        let default_order = spec::operation("ListMachines")
            .and_then(|op| op.field("order_by"))
            .and_then(|field| field.rules.default)
            .and_then(|default| serde_json::from_str::<String>(default).ok());
        let order = params.get("order_by").cloned().or(default_order).unwrap_or_else(|| "-created_at".into());
        let (descending, field) = match order.strip_prefix('-') {
            Some(field) => (true, field),
            None => (false, order.strip_prefix('+').unwrap_or(&order)),
        };
        let by_name = match field {
            "name" => true,
            "created_at" => false,
            _ => {
                return Err(Failure::unprocessable(
                    "order_by",
                    format!(
                    "order_by `{order}` is invalid: use name or created_at, optionally prefixed by + or -."
                ),
                ))
            }
        };
        let query = MachineQuery { limit, offset, query: params.get("query").cloned(), by_name, descending };
        app.model().list_machines(&query)
    })())
}

async fn create_machine(State(app): App, headers: HeaderMap, body: Bytes) -> Response {
    ok((|| {
        app.instance(&headers)?;
        let body = checked_body("CreateMachine", &[], &body)?;
        let name = string_field(&body, "name").ok_or_else(|| Failure::missing("name"))?;
        let scoped = body
            .get("scoped_machines")
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        let ttl = whole_field(&body, "default_token_ttl");
        let now = app.now_ms();
        app.model().create_machine(name, scoped, ttl, now)
    })())
}

async fn get_machine(State(app): App, headers: HeaderMap, Path(id): Path<String>) -> Response {
    ok((|| {
        app.instance(&headers)?;
        rules::check("GetMachine", &Request { path: &[("machine_id", &id)], ..Request::default() })?;
        app.model().get_machine(&id)
    })())
}

async fn update_machine(
    State(app): App,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    ok((|| {
        app.instance(&headers)?;
        let body = object(&body)?;
        rules::check(
            "UpdateMachine",
            &Request { path: &[("machine_id", &id)], body: Some(&body), ..Request::default() },
        )?;
        let name = string_field(&body, "name");
        let ttl = whole_field(&body, "default_token_ttl");
        let now = app.now_ms();
        app.model().update_machine(&id, name, ttl, now)
    })())
}

async fn delete_machine(State(app): App, headers: HeaderMap, Path(id): Path<String>) -> Response {
    ok((|| {
        app.instance(&headers)?;
        rules::check("DeleteMachine", &Request { path: &[("machine_id", &id)], ..Request::default() })?;
        app.model().delete_machine(&id)
    })())
}

async fn get_secret_key(State(app): App, headers: HeaderMap, Path(id): Path<String>) -> Response {
    ok((|| {
        app.instance(&headers)?;
        rules::check("GetMachineSecretKey", &Request { path: &[("machine_id", &id)], ..Request::default() })?;
        app.model().secret_key(&id)
    })())
}

async fn rotate_secret_key(
    State(app): App,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    ok((|| {
        app.instance(&headers)?;
        let body = checked_body("RotateMachineSecretKey", &[("machine_id", &id)], &body)?;
        let ttl = whole_field(&body, "previous_token_ttl").unwrap_or(0);
        let now = app.now_ms();
        app.model().rotate(&id, ttl, now)
    })())
}

async fn create_scope(State(app): App, headers: HeaderMap, Path(id): Path<String>, body: Bytes) -> Response {
    ok((|| {
        app.instance(&headers)?;
        let body = checked_body("CreateMachineScope", &[("machine_id", &id)], &body)?;
        let to = string_field(&body, "to_machine_id").ok_or_else(|| Failure::missing("to_machine_id"))?;
        let now = app.now_ms();
        app.model().add_scope(&id, &to, now)
    })())
}

async fn delete_scope(
    State(app): App,
    headers: HeaderMap,
    Path((id, other)): Path<(String, String)>,
) -> Response {
    ok((|| {
        app.instance(&headers)?;
        let path = [("machine_id", id.as_str()), ("other_machine_id", other.as_str())];
        rules::check("DeleteMachineScope", &Request { path: &path, ..Request::default() })?;
        app.model().remove_scope(&id, &other)
    })())
}

// ---- M2M tokens ---------------------------------------------------------

async fn create_token(State(app): App, headers: HeaderMap, body: Bytes) -> Response {
    let prepared = (|| {
        let machine_id = match app.caller(&headers)? {
            Caller::Machine(id) => id,
            Caller::Instance => return Err(Failure::wrong_key("a machine secret key (ak_...)")),
        };
        let body = checked_body("createM2MToken", &[], &body)?;
        let jwt = body.get("token_format").and_then(Value::as_str) == Some("jwt");
        let seconds_until_expiration = body.get("seconds_until_expiration").and_then(Value::as_f64);
        let min_remaining_ttl_seconds = whole_field(&body, "min_remaining_ttl_seconds");
        let claims = body.get("claims").filter(|c| !c.is_null()).cloned();
        let new = NewToken { jwt, seconds_until_expiration, claims, min_remaining_ttl_seconds };
        let now = app.now_ms();
        app.model().create_token(&machine_id, new, now)
    })();
    let view = match prepared {
        Err(failure) => return failure.into_response(),
        Ok(Minted::Opaque(view)) => Ok(view),
        Ok(Minted::Jwt(plan)) => match app.signer().await {
            Err(failure) => Err(failure),
            Ok(signer) => Ok(Model::jwt_view(&plan, Some(signer.mint(&plan.claims())), app.now_ms())),
        },
    };
    reply(StatusCode::CREATED, view.and_then(|v| v.into_typed::<types::CreateM2mTokenResponse>()))
}

async fn list_tokens(State(app): App, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    ok((|| {
        let caller = app.caller(&headers)?;
        let params = query_map(raw);
        rules::check("getM2MTokens", &Request { query: Some(&params), ..Request::default() })?;
        let subject = params
            .get("subject")
            .cloned()
            .ok_or_else(|| Failure::bad_request("subject", "subject is required."))?;
        let flag = |name: &str| params.get(name).map(String::as_str) == Some("true");
        let (limit, offset) = paging("getM2MTokens", &params);
        let query = TokenQuery { subject, revoked: flag("revoked"), expired: flag("expired"), limit, offset };
        app.model().list_tokens(&caller, &query, app.now_ms())
    })())
}

async fn revoke_token(State(app): App, headers: HeaderMap, Path(id): Path<String>, body: Bytes) -> Response {
    ok((|| {
        let caller = app.caller(&headers)?;
        let body = checked_body("revokeM2MToken", &[("m2m_token_id", &id)], &body)?;
        let reason = string_field(&body, "revocation_reason");
        let now = app.now_ms();
        app.model().revoke_token(&caller, &id, reason, now)?.into_typed::<types::RevokeM2mTokenResponse>()
    })())
}

async fn verify_token(State(app): App, headers: HeaderMap, body: Bytes) -> Response {
    let parsed = (|| {
        let caller = app.caller(&headers)?;
        let body = checked_body("verifyM2MToken", &[], &body)?;
        match body.get("token") {
            Some(Value::String(token)) if !token.is_empty() => Ok((caller, token.clone())),
            _ => Err(Failure::bad_request("token", "token is required.")),
        }
    })();
    let (caller, token) = match parsed {
        Ok(parsed) => parsed,
        Err(failure) => return failure.into_response(),
    };
    let now = app.now_ms();
    let view = if token.matches('.').count() == 2 {
        verify_jwt(&app, &caller, &token, now).await
    } else {
        app.model().verify_opaque(&caller, &token, now)
    };
    ok(view.and_then(|v| v.into_typed::<types::VerifyM2mTokenResponse>()))
}

async fn verify_jwt(app: &Shared, caller: &Caller, token: &str, now: i64) -> Outcome<state::TokenView> {
    let verified = match app.verifier().await?.verify(token).await {
        Ok(Verified::M2m(verified)) => verified,
        Err(VerifyError::Refused(Reason::Expired)) => {
            return Err(Failure::bad_request_code("token_expired", "The M2M token has expired."))
        }
        _ => return Err(Failure::not_found("M2M token")),
    };
    let plan = state::JwtPlan::from_verified(&verified);
    if !app.model().has_machine(&plan.subject) {
        return Err(Failure::not_found("M2M token"));
    }
    if let Caller::Machine(own) = caller {
        if !plan.scopes.contains(own) {
            return Err(Failure::not_found("M2M token"));
        }
    }
    if now >= plan.expiration {
        return Err(Failure::bad_request_code("token_expired", "The M2M token has expired."));
    }
    Ok(Model::jwt_view(&plan, None, now))
}

async fn jwks(State(app): App, headers: HeaderMap) -> Response {
    if let Err(failure) = app.caller(&headers) {
        return failure.into_response();
    }
    match app.signer().await {
        Ok(signer) => (StatusCode::OK, Json(signer.jwks())).into_response(),
        Err(failure) => failure.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_templates_match_whole_segments() {
        let template = "/machines/{machine_id}/scopes/{other_machine_id}";
        assert!(matches_template(template, "/machines/mch_1/scopes/mch_2"));
        assert!(!matches_template(template, "/machines/mch_1/scopes/"));
        assert!(!matches_template(template, "/machines/mch_1/scopes"));
        assert!(!matches_template(template, "/machines/mch_1/scopes/mch_2/x"));
        assert!(!matches_template(template, "/machines/mch_1/scope/mch_2"));
        assert!(matches_template("/machines", "/machines"));
    }

    #[test]
    fn requests_are_counted_under_the_most_literal_operation() {
        let id = |method: Method, path: &str| operation_of(&method, path).map(|op| op.id);
        assert_eq!(id(Method::POST, "/v1/api_keys/verify"), Some("verifyApiKey"));
        assert_eq!(id(Method::POST, "/api_keys/verify"), Some("verifyApiKey"));
        assert_eq!(id(Method::GET, "/api_keys/ak_1"), Some("getApiKey"));
        assert_eq!(
            id(Method::POST, "/oauth_applications/access_tokens/verify"),
            Some("verifyOAuthAccessToken")
        );
        assert_eq!(id(Method::GET, "/v1/nothing"), None);
    }
}
