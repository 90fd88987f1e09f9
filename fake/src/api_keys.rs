//! The fake's API keys: creation with a secret, listing with Clerk's
//! filters, changes, revocation, and verification of a secret. Handlers in
//! `routes::api_keys` parse HTTP and call in here (the spec's rules have
//! been checked on the way in, `rules`).

use super::errors::{Failure, Outcome};
use super::ids::random_hex;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use clerk_machines::types;
use ring::rand::{SecureRandom, SystemRandom};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;

/// A stored API key.
#[derive(Debug, Clone)]
struct ApiKeyRec {
    id: String,
    key_type: String,
    subject: String,
    name: String,
    description: Option<String>,
    claims: Option<Value>,
    scopes: Vec<String>,
    secret: String,
    revoked: bool,
    revocation_reason: Option<String>,
    /// Milliseconds since the epoch; `None`: never expires.
    expiration: Option<i64>,
    created_by: Option<String>,
    last_used_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
    /// Creation order, to sort keys created within the same millisecond.
    seq: u64,
}

impl ApiKeyRec {
    fn expired(&self, now: i64) -> bool {
        self.expiration.is_some_and(|at| now >= at)
    }

    fn valid(&self, now: i64) -> bool {
        !self.revoked && !self.expired(now)
    }
}

/// Clerk's JSON of an API key; with the secret only where Clerk shows it.
#[derive(Debug, Serialize)]
struct ApiKeyView<'a> {
    object: &'static str,
    id: &'a str,
    #[serde(rename = "type")]
    key_type: &'a str,
    subject: &'a str,
    name: &'a str,
    description: Option<&'a str>,
    claims: Option<&'a Value>,
    scopes: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<&'a str>,
    revoked: bool,
    revocation_reason: Option<&'a str>,
    expired: bool,
    expiration: Option<f64>,
    created_by: Option<&'a str>,
    last_used_at: Option<f64>,
    created_at: f64,
    updated_at: f64,
}

/// A new key, after the rules' checks.
#[derive(Debug, Clone)]
pub(crate) struct NewApiKey {
    pub(crate) name: String,
    pub(crate) subject: String,
    pub(crate) key_type: String,
    pub(crate) description: Option<String>,
    pub(crate) claims: Option<Value>,
    pub(crate) scopes: Vec<String>,
    pub(crate) created_by: Option<String>,
    pub(crate) seconds_until_expiration: Option<f64>,
}

/// The changes of an update; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub(crate) struct ApiKeyChanges {
    pub(crate) description: Option<String>,
    pub(crate) claims: Option<Value>,
    pub(crate) scopes: Option<Vec<String>>,
    pub(crate) subject: Option<String>,
    pub(crate) seconds_until_expiration: Option<f64>,
}

/// Parameters of a key list.
#[derive(Debug, Clone)]
pub(crate) struct ApiKeyQuery {
    pub(crate) subject: String,
    pub(crate) key_type: Option<String>,
    pub(crate) include_invalid: bool,
    pub(crate) query: Option<String>,
    pub(crate) limit: usize,
    pub(crate) offset: usize,
}

/// The instance's API keys.
#[derive(Debug, Default)]
pub(crate) struct ApiKeyStore {
    keys: HashMap<String, ApiKeyRec>,
    /// Secret -> key id.
    secrets: HashMap<String, String>,
    seq: u64,
}

/// Clerk's subject rules as the fake applies them: a machine subject must
/// be one of the instance's machines (`machine_exists`); users and
/// organizations are taken as given (the fake has none to check against);
/// a `scim_` subject, which the request pattern allows but the response
/// pattern does not, is refused.
pub(crate) fn check_subject(subject: &str, machine_exists: bool) -> Outcome<()> {
    if subject.starts_with("mch_") && !machine_exists {
        return Err(Failure::bad_request("subject", format!("Machine {subject} does not exist.")));
    }
    if subject.starts_with("scim_") {
        return Err(Failure::bad_request("subject", "The fake does not serve API keys of SCIM subjects."));
    }
    Ok(())
}

impl ApiKeyStore {
    fn key(&self, id: &str) -> Outcome<&ApiKeyRec> {
        self.keys.get(id).ok_or_else(|| Failure::not_found("API key"))
    }

    fn key_mut(&mut self, id: &str) -> Outcome<&mut ApiKeyRec> {
        self.keys.get_mut(id).ok_or_else(|| Failure::not_found("API key"))
    }

    /// createApiKey: 409 when the subject has a valid key of that name.
    pub(crate) fn create(&mut self, new: NewApiKey, now: i64) -> Outcome<types::CreateApiKeyResponse> {
        let taken =
            self.keys.values().any(|k| k.subject == new.subject && k.name == new.name && k.valid(now));
        if taken {
            return Err(Failure::conflict(format!(
                "{} already has a valid API key named {}.",
                new.subject, new.name
            )));
        }
        let id = loop {
            let candidate = format!("ak_{}", random_hex(32));
            if !self.keys.contains_key(&candidate) {
                break candidate;
            }
        };
        let secret = new_secret()?;
        self.seq += 1;
        let rec = ApiKeyRec {
            id: id.clone(),
            key_type: new.key_type,
            subject: new.subject,
            name: new.name,
            description: new.description,
            claims: new.claims,
            scopes: new.scopes,
            secret: secret.clone(),
            revoked: false,
            revocation_reason: None,
            expiration: new.seconds_until_expiration.map(|s| expiry(now, s)),
            created_by: new.created_by,
            last_used_at: None,
            created_at: now,
            updated_at: now,
            seq: self.seq,
        };
        let answer = typed(view(&rec, now, true))?;
        self.secrets.insert(secret, id.clone());
        self.keys.insert(id, rec);
        Ok(answer)
    }

    /// getApiKeys: the subject's keys, newest first; invalid ones only with
    /// `include_invalid`; `query` matches the id exactly or the name in part
    /// (case-insensitive), as for machines.
    pub(crate) fn list(&self, q: &ApiKeyQuery, now: i64) -> Outcome<types::GetApiKeysResponse> {
        let needle = q.query.as_deref().map(str::to_lowercase).filter(|s| !s.is_empty());
        let mut found: Vec<&ApiKeyRec> = self
            .keys
            .values()
            .filter(|k| k.subject == q.subject)
            .filter(|k| q.key_type.as_ref().is_none_or(|t| *t == k.key_type))
            .filter(|k| q.include_invalid || k.valid(now))
            .filter(|k| match &needle {
                None => true,
                Some(n) => k.id.to_lowercase() == *n || k.name.to_lowercase().contains(n.as_str()),
            })
            .collect();
        found.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.seq.cmp(&a.seq)));
        let total = found.len();
        let data = found
            .into_iter()
            .skip(q.offset)
            .take(q.limit)
            .map(|k| typed(view(k, now, false)))
            .collect::<Outcome<Vec<types::GetApiKeysResponseDataItem>>>()?;
        typed(serde_json::json!({ "data": data, "total_count": total as f64 }))
    }

    /// getApiKey: valid or not.
    pub(crate) fn get(&self, id: &str, now: i64) -> Outcome<types::GetApiKeyResponse> {
        typed(view(self.key(id)?, now, false))
    }

    /// getApiKeySecret.
    pub(crate) fn secret(&self, id: &str) -> Outcome<types::GetApiKeySecretResponse> {
        typed(serde_json::json!({ "secret": self.key(id)?.secret }))
    }

    /// updateApiKey: only the fields given change; a new lifetime counts from now.
    pub(crate) fn update(
        &mut self,
        id: &str,
        changes: ApiKeyChanges,
        now: i64,
    ) -> Outcome<types::UpdateApiKeyResponse> {
        let rec = self.key_mut(id)?;
        if let Some(description) = changes.description {
            rec.description = Some(description);
        }
        if let Some(claims) = changes.claims {
            rec.claims = Some(claims);
        }
        if let Some(scopes) = changes.scopes {
            rec.scopes = scopes;
        }
        if let Some(subject) = changes.subject {
            rec.subject = subject;
        }
        if let Some(seconds) = changes.seconds_until_expiration {
            rec.expiration = Some(expiry(now, seconds));
        }
        rec.updated_at = now;
        typed(view(rec, now, false))
    }

    /// deleteApiKey.
    pub(crate) fn delete(&mut self, id: &str) -> Outcome<types::DeleteApiKeyResponse> {
        let rec = self.keys.remove(id).ok_or_else(|| Failure::not_found("API key"))?;
        self.secrets.remove(&rec.secret);
        typed(serde_json::json!({ "object": "api_key", "id": rec.id, "deleted": true }))
    }

    /// revokeApiKey: a second revocation keeps the first reason.
    pub(crate) fn revoke(
        &mut self,
        id: &str,
        reason: Option<String>,
        now: i64,
    ) -> Outcome<types::RevokeApiKeyResponse> {
        let rec = self.key_mut(id)?;
        if !rec.revoked {
            rec.revoked = true;
            rec.revocation_reason = reason;
            rec.updated_at = now;
        }
        typed(view(rec, now, false))
    }

    /// verifyApiKey: an unknown, revoked or expired secret is Clerk's 404
    /// (what `@clerk/backend` reads as an invalid token); a valid one is
    /// marked used.
    pub(crate) fn verify(&mut self, secret: &str, now: i64) -> Outcome<types::VerifyApiKeyResponse> {
        let id = self.secrets.get(secret).ok_or_else(|| Failure::not_found("API key"))?.clone();
        let rec = self.key_mut(&id)?;
        if rec.revoked {
            return Err(Failure::not_found_because("API key", "it has been revoked"));
        }
        if rec.expired(now) {
            return Err(Failure::not_found_because("API key", "it has expired"));
        }
        rec.last_used_at = Some(now);
        typed(view(rec, now, false))
    }

    /// Drops the keys of a deleted machine.
    pub(crate) fn remove_subject(&mut self, subject: &str) {
        let secrets = &mut self.secrets;
        self.keys.retain(|_, key| {
            let keep = key.subject != subject;
            if !keep {
                secrets.remove(&key.secret);
            }
            keep
        });
    }
}

fn view(rec: &ApiKeyRec, now: i64, with_secret: bool) -> ApiKeyView<'_> {
    ApiKeyView {
        object: "api_key",
        id: &rec.id,
        key_type: &rec.key_type,
        subject: &rec.subject,
        name: &rec.name,
        description: rec.description.as_deref(),
        claims: rec.claims.as_ref(),
        scopes: &rec.scopes,
        secret: with_secret.then_some(rec.secret.as_str()),
        revoked: rec.revoked,
        revocation_reason: rec.revocation_reason.as_deref(),
        expired: rec.expired(now),
        expiration: rec.expiration.map(|at| at as f64),
        created_by: rec.created_by.as_deref(),
        last_used_at: rec.last_used_at.map(|at| at as f64),
        created_at: rec.created_at as f64,
        updated_at: rec.updated_at as f64,
    }
}

/// `now` plus `seconds` (the rules have checked they are positive), in milliseconds.
fn expiry(now: i64, seconds: f64) -> i64 {
    now.saturating_add((seconds * 1000.0).round() as i64)
}

/// A secret in the shape of Clerk's (its SDK's test secret is
/// `ak_` + base64 with `/` and `=`): `ak_` and 32 random bytes in standard
/// base64, so that clients must carry `/`, `+` and `=` intact.
fn new_secret() -> Outcome<String> {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes).map_err(|_| Failure::internal("no randomness for a secret"))?;
    Ok(format!("ak_{}", STANDARD.encode(bytes)))
}

/// A value as one of the generated response types, so that a shape the
/// spec does not allow fails here.
pub(crate) fn typed<T: serde::de::DeserializeOwned>(value: impl Serialize) -> Outcome<T> {
    let value = serde_json::to_value(value).map_err(|e| Failure::internal(e.to_string()))?;
    serde_json::from_value(value).map_err(|e| Failure::internal(format!("response: {e}")))
}
