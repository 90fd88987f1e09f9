//! Handlers of the eight API key operations (instance key only).

use super::{checked_body, ok, paging, query_map, string_field, App};
use crate::api_keys::{check_subject, ApiKeyChanges, ApiKeyQuery, NewApiKey};
use crate::errors::Failure;
use crate::rules::{self, Request};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Map, Value};

/// The spec's default for a string field (`type`'s `api_key`).
fn default_string(operation_id: &str, field: &str) -> Option<String> {
    let default = clerk_machines::spec::operation(operation_id)?.field(field)?.rules.default?;
    serde_json::from_str::<String>(default).ok()
}

fn strings(body: &Map<String, Value>, name: &str) -> Option<Vec<String>> {
    body.get(name)
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).map(str::to_owned).collect())
}

/// A nullable body field: absent or `null` is `None`.
fn present(body: &Map<String, Value>, name: &str) -> Option<Value> {
    body.get(name).filter(|value| !value.is_null()).cloned()
}

pub(super) async fn create(State(app): App, headers: HeaderMap, body: Bytes) -> Response {
    ok((|| {
        app.instance(&headers)?;
        let body = checked_body("createApiKey", &[], &body)?;
        let name =
            string_field(&body, "name").ok_or_else(|| Failure::bad_request("name", "name is required."))?;
        let subject = string_field(&body, "subject")
            .ok_or_else(|| Failure::bad_request("subject", "subject is required."))?;
        let key_type = string_field(&body, "type")
            .or_else(|| default_string("createApiKey", "type"))
            .unwrap_or_else(|| "api_key".into());
        let new = NewApiKey {
            name,
            key_type,
            description: string_field(&body, "description"),
            claims: present(&body, "claims"),
            scopes: strings(&body, "scopes").unwrap_or_default(),
            created_by: string_field(&body, "created_by"),
            seconds_until_expiration: body.get("seconds_until_expiration").and_then(Value::as_f64),
            subject,
        };
        let now = app.now_ms();
        let mut model = app.model();
        check_subject(&new.subject, model.has_machine(&new.subject))?;
        model.api_keys.create(new, now)
    })())
}

pub(super) async fn list(State(app): App, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    ok((|| {
        app.instance(&headers)?;
        let params = query_map(raw);
        rules::check("getApiKeys", &Request { query: Some(&params), ..Request::default() })?;
        let subject = params
            .get("subject")
            .cloned()
            .ok_or_else(|| Failure::bad_request("subject", "subject is required."))?;
        let (limit, offset) = paging("getApiKeys", &params);
        let query = ApiKeyQuery {
            key_type: params.get("type").cloned(),
            include_invalid: params.get("include_invalid").map(String::as_str) == Some("true"),
            query: params.get("query").cloned(),
            limit,
            offset,
            subject,
        };
        let model = app.model();
        if query.subject.starts_with("mch_") && !model.has_machine(&query.subject) {
            return Err(Failure::not_found("machine"));
        }
        model.api_keys.list(&query, app.now_ms())
    })())
}

pub(super) async fn get(State(app): App, headers: HeaderMap, Path(id): Path<String>) -> Response {
    ok((|| {
        app.instance(&headers)?;
        rules::check("getApiKey", &Request { path: &[("apiKeyID", &id)], ..Request::default() })?;
        app.model().api_keys.get(&id, app.now_ms())
    })())
}

pub(super) async fn update(
    State(app): App,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    ok((|| {
        app.instance(&headers)?;
        let body = checked_body("updateApiKey", &[("apiKeyID", &id)], &body)?;
        let changes = ApiKeyChanges {
            description: string_field(&body, "description"),
            claims: present(&body, "claims"),
            scopes: strings(&body, "scopes"),
            subject: string_field(&body, "subject"),
            seconds_until_expiration: body.get("seconds_until_expiration").and_then(Value::as_f64),
        };
        let now = app.now_ms();
        let mut model = app.model();
        if let Some(subject) = &changes.subject {
            check_subject(subject, model.has_machine(subject))?;
        }
        model.api_keys.update(&id, changes, now)
    })())
}

pub(super) async fn delete(State(app): App, headers: HeaderMap, Path(id): Path<String>) -> Response {
    ok((|| {
        app.instance(&headers)?;
        rules::check("deleteApiKey", &Request { path: &[("apiKeyID", &id)], ..Request::default() })?;
        app.model().api_keys.delete(&id)
    })())
}

pub(super) async fn secret(State(app): App, headers: HeaderMap, Path(id): Path<String>) -> Response {
    ok((|| {
        app.instance(&headers)?;
        rules::check("getApiKeySecret", &Request { path: &[("apiKeyID", &id)], ..Request::default() })?;
        app.model().api_keys.secret(&id)
    })())
}

pub(super) async fn revoke(
    State(app): App,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    ok((|| {
        app.instance(&headers)?;
        let body = checked_body("revokeApiKey", &[("apiKeyID", &id)], &body)?;
        let reason = string_field(&body, "revocation_reason");
        let now = app.now_ms();
        app.model().api_keys.revoke(&id, reason, now)
    })())
}

pub(super) async fn verify(State(app): App, headers: HeaderMap, body: Bytes) -> Response {
    ok((|| {
        app.instance(&headers)?;
        let body = checked_body("verifyApiKey", &[], &body)?;
        let secret = string_field(&body, "secret")
            .filter(|secret| !secret.is_empty())
            .ok_or_else(|| Failure::bad_request("secret", "secret is required."))?;
        let now = app.now_ms();
        app.model().api_keys.verify(&secret, now)
    })())
}
