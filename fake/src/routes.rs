//! The HTTP side of the fake: axum handlers for the 13 operations and `/jwks`.

use super::errors::{Failure, Outcome};
use super::jwt::JwtSigner;
use super::state::{self, Caller, MachineQuery, Minted, Model, NewToken, TokenQuery};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header::AUTHORIZATION, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use clerk_machines::clock::{Clock, OffsetClock};
use clerk_machines::ids::{is_m2m_token_id, is_machine_id};
use clerk_machines::m2m::{M2mVerifier, VerifyError};
use clerk_machines::types;
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
    pub(crate) verifier: tokio::sync::OnceCell<M2mVerifier>,
    /// The outage set with `FakeClerk::start_outage`, if any.
    pub(crate) outage: Mutex<Option<Outage>>,
    /// Requests answered by an outage so far.
    pub(crate) outage_answers: AtomicU64,
}

/// How the fake answers every request during an outage.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Outage {
    pub(crate) status: StatusCode,
    pub(crate) retry_after: Option<Duration>,
}

impl Shared {
    fn model(&self) -> MutexGuard<'_, Model> {
        // A panic while holding the lock leaves consistent data (every change is
        // made after its checks), so a poisoned lock is still usable.
        self.model.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// This instance's signing key, generated the first time.
    pub(crate) async fn signer(&self) -> Outcome<Arc<JwtSigner>> {
        let generate = || async {
            let generated = tokio::task::spawn_blocking(JwtSigner::generate)
                .await
                .map_err(|e| Failure::internal(format!("key generation stopped: {e}")))?;
            generated.map(Arc::new).map_err(|e| Failure::internal(e.to_string()))
        };
        self.signer.get_or_try_init(generate).await.cloned()
    }

    /// The verifier of this instance's JWTs.
    pub(crate) async fn verifier(&self) -> Outcome<M2mVerifier> {
        let signer = self.signer().await?;
        let build = || async {
            let clock: Arc<dyn Clock> = self.clock.clone();
            M2mVerifier::from_pem(signer.public_key_pem())
                .leeway(std::time::Duration::ZERO)
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

/// The router: Clerk's paths under `/v1`. The M2M token paths are served
/// without the `/v1` prefix too, because that is where Clerk's JavaScript SDK
/// (`@clerk/backend`, `skipApiVersionInUrl`) sends them.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
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
        .with_state(shared)
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
    let path = uri.path();
    let path = path.strip_prefix("/v1").unwrap_or(path);
    match clerk_machines::spec::OPERATIONS
        .iter()
        .find(|op| op.method == method.as_str() && matches_template(op.path, path))
    {
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

/// A non-negative whole number from a query parameter (`"10"` or `"10.0"`).
fn whole(value: &str) -> Option<u64> {
    value.parse::<u64>().ok().or_else(|| {
        let f = value.parse::<f64>().ok()?;
        (f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f <= 9e15).then_some(f as u64)
    })
}

/// A body field that must be an integer when present (and not null).
fn int_field(
    body: &Map<String, Value>,
    name: &str,
    fail: fn(&str, String) -> Failure,
) -> Outcome<Option<i64>> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            match n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)) {
                Some(v) => Ok(Some(v)),
                None => Err(fail(name, format!("{name} must be an integer."))),
            }
        }
        Some(_) => Err(fail(name, format!("{name} must be an integer."))),
    }
}

fn unprocessable(name: &str, message: String) -> Failure {
    Failure::unprocessable(name, message)
}

fn bad(name: &str, message: String) -> Failure {
    Failure::bad_request(name, message)
}

fn string_field(body: &Map<String, Value>, name: &str) -> Outcome<Option<String>> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Failure::unprocessable(name, format!("{name} must be a string."))),
    }
}

fn ttl_field(body: &Map<String, Value>) -> Outcome<Option<u64>> {
    match int_field(body, "default_token_ttl", unprocessable)? {
        None => Ok(None),
        Some(v) => u64::try_from(v).map(Some).map_err(|_| {
            Failure::unprocessable("default_token_ttl", "default_token_ttl must be at least 1 second.")
        }),
    }
}

// ---- Machines -----------------------------------------------------------

async fn list_machines(State(app): App, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    ok((|| {
        app.instance(&headers)?;
        let params = query_map(raw);
        let limit = match params.get("limit") {
            None => 10,
            Some(v) => whole(v)
                .filter(|l| (1..=500).contains(l))
                .ok_or_else(|| Failure::unprocessable("limit", "limit must be between 1 and 500."))?,
        };
        let offset = match params.get("offset") {
            None => 0,
            Some(v) => {
                whole(v).ok_or_else(|| Failure::unprocessable("offset", "offset must be 0 or greater."))?
            }
        };
        let order = params.get("order_by").map(String::as_str).unwrap_or("-created_at");
        let (descending, field) = match order.strip_prefix('-') {
            Some(field) => (true, field),
            None => (false, order.strip_prefix('+').unwrap_or(order)),
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
        let query = MachineQuery {
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
            offset: usize::try_from(offset).unwrap_or(usize::MAX),
            query: params.get("query").cloned(),
            by_name,
            descending,
        };
        app.model().list_machines(&query)
    })())
}

async fn create_machine(State(app): App, headers: HeaderMap, body: Bytes) -> Response {
    ok((|| {
        app.instance(&headers)?;
        let body = object(&body)?;
        let name = string_field(&body, "name")?.ok_or_else(|| Failure::missing("name"))?;
        let scoped = match body.get("scoped_machines") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => {
                items.iter().map(|v| v.as_str().map(str::to_owned)).collect::<Option<Vec<_>>>().ok_or_else(
                    || {
                        Failure::unprocessable(
                            "scoped_machines",
                            "scoped_machines must be an array of machine ids.",
                        )
                    },
                )?
            }
            Some(_) => {
                return Err(Failure::unprocessable(
                    "scoped_machines",
                    "scoped_machines must be an array of machine ids.",
                ))
            }
        };
        let ttl = ttl_field(&body)?;
        let now = app.now_ms();
        app.model().create_machine(name, scoped, ttl, now)
    })())
}

async fn get_machine(State(app): App, headers: HeaderMap, Path(id): Path<String>) -> Response {
    ok(app.instance(&headers).and_then(|()| app.model().get_machine(&id)))
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
        let name = string_field(&body, "name")?;
        let ttl = ttl_field(&body)?;
        let now = app.now_ms();
        app.model().update_machine(&id, name, ttl, now)
    })())
}

async fn delete_machine(State(app): App, headers: HeaderMap, Path(id): Path<String>) -> Response {
    ok(app.instance(&headers).and_then(|()| app.model().delete_machine(&id)))
}

async fn get_secret_key(State(app): App, headers: HeaderMap, Path(id): Path<String>) -> Response {
    ok(app.instance(&headers).and_then(|()| app.model().secret_key(&id)))
}

async fn rotate_secret_key(
    State(app): App,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    ok((|| {
        app.instance(&headers)?;
        let body = object(&body)?;
        let ttl = int_field(&body, "previous_token_ttl", unprocessable)?
            .ok_or_else(|| Failure::missing("previous_token_ttl"))?;
        let now = app.now_ms();
        app.model().rotate(&id, ttl, now)
    })())
}

async fn create_scope(State(app): App, headers: HeaderMap, Path(id): Path<String>, body: Bytes) -> Response {
    ok((|| {
        app.instance(&headers)?;
        let body = object(&body)?;
        let to = string_field(&body, "to_machine_id")?.ok_or_else(|| Failure::missing("to_machine_id"))?;
        let now = app.now_ms();
        app.model().add_scope(&id, &to, now)
    })())
}

async fn delete_scope(
    State(app): App,
    headers: HeaderMap,
    Path((id, other)): Path<(String, String)>,
) -> Response {
    ok(app.instance(&headers).and_then(|()| app.model().remove_scope(&id, &other)))
}

// ---- M2M tokens ---------------------------------------------------------

fn only_fields(body: &Map<String, Value>, allowed: &[&str]) -> Outcome<()> {
    match body.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(unknown) => Err(Failure::bad_request(
            unknown,
            format!("{unknown} is not a valid parameter for this request."),
        )),
        None => Ok(()),
    }
}

async fn create_token(State(app): App, headers: HeaderMap, body: Bytes) -> Response {
    let prepared = (|| {
        let machine_id = match app.caller(&headers)? {
            Caller::Machine(id) => id,
            Caller::Instance => return Err(Failure::wrong_key("a machine secret key (ak_...)")),
        };
        let body = object(&body)?;
        only_fields(
            &body,
            &["token_format", "seconds_until_expiration", "claims", "min_remaining_ttl_seconds"],
        )?;
        let jwt = match body.get("token_format") {
            None | Some(Value::Null) => false,
            Some(Value::String(f)) if f == "opaque" => false,
            Some(Value::String(f)) if f == "jwt" => true,
            Some(_) => {
                return Err(Failure::bad_request("token_format", "token_format must be opaque or jwt."))
            }
        };
        let seconds_until_expiration =
            match body.get("seconds_until_expiration") {
                None | Some(Value::Null) => None,
                Some(Value::Number(n)) => match n.as_f64().filter(|s| *s > 0.0 && *s <= 315_360_000.0) {
                    Some(s) => Some(s),
                    None => return Err(Failure::bad_request(
                        "seconds_until_expiration",
                        "seconds_until_expiration must be greater than 0 and at most 315360000 (ten years).",
                    )),
                },
                Some(_) => {
                    return Err(Failure::bad_request(
                        "seconds_until_expiration",
                        "seconds_until_expiration must be a number.",
                    ))
                }
            };
        let min_remaining_ttl_seconds = match int_field(&body, "min_remaining_ttl_seconds", bad)? {
            None => None,
            Some(v) => Some(u64::try_from(v).map_err(|_| {
                Failure::bad_request(
                    "min_remaining_ttl_seconds",
                    "min_remaining_ttl_seconds must be 0 or greater.",
                )
            })?),
        };
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
        let subject = params
            .get("subject")
            .cloned()
            .ok_or_else(|| Failure::bad_request("subject", "subject is required."))?;
        if !is_machine_id(&subject) {
            return Err(Failure::bad_request("subject", "subject must be a machine id (mch_...)."));
        }
        let flag = |name: &str| -> Outcome<bool> {
            match params.get(name).map(String::as_str) {
                None | Some("") | Some("null") | Some("false") => Ok(false),
                Some("true") => Ok(true),
                Some(_) => Err(Failure::bad_request(name, format!("{name} must be true or false."))),
            }
        };
        let limit = match params.get("limit") {
            None => 10,
            Some(v) => whole(v)
                .filter(|l| (1..=100).contains(l))
                .ok_or_else(|| Failure::bad_request("limit", "limit must be between 1 and 100."))?,
        };
        let offset = match params.get("offset").map(String::as_str) {
            None | Some("") | Some("null") => 0,
            Some(v) => {
                whole(v).ok_or_else(|| Failure::bad_request("offset", "offset must be 0 or greater."))?
            }
        };
        let query = TokenQuery {
            subject,
            revoked: flag("revoked")?,
            expired: flag("expired")?,
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
            offset: usize::try_from(offset).unwrap_or(usize::MAX),
        };
        app.model().list_tokens(&caller, &query, app.now_ms())
    })())
}

async fn revoke_token(State(app): App, headers: HeaderMap, Path(id): Path<String>, body: Bytes) -> Response {
    ok((|| {
        let caller = app.caller(&headers)?;
        if !is_m2m_token_id(&id) {
            return Err(Failure::bad_request(
                "m2m_token_id",
                "m2m_token_id must be an M2M token id (mt_...).",
            ));
        }
        let body = object(&body)?;
        only_fields(&body, &["revocation_reason"])?;
        let reason = match body.get("revocation_reason") {
            None | Some(Value::Null) => None,
            Some(Value::String(r)) => Some(r.clone()),
            Some(_) => {
                return Err(Failure::bad_request("revocation_reason", "revocation_reason must be a string."))
            }
        };
        let now = app.now_ms();
        app.model().revoke_token(&caller, &id, reason, now)?.into_typed::<types::RevokeM2mTokenResponse>()
    })())
}

async fn verify_token(State(app): App, headers: HeaderMap, body: Bytes) -> Response {
    let parsed = (|| {
        let caller = app.caller(&headers)?;
        let body = object(&body)?;
        only_fields(&body, &["token"])?;
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
    let verified = match app.verifier().await?.verify_jwt(token).await {
        Ok(verified) => verified,
        Err(clerk_machines::Error::Verify(VerifyError::Expired)) => {
            return Err(Failure::bad_request_code("token_expired", "The M2M token has expired."))
        }
        Err(_) => return Err(Failure::not_found("M2M token")),
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
}
