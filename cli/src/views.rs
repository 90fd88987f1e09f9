//! What each command's result looks like: one [`Render`] per result type
//! (JSON in Clerk's shapes, and the human view). Secrets are shown only by
//! the views whose point they are: a created machine or API key, a machine's
//! or an API key's secret, a minted M2M token.

use crate::output::{list, seconds, status, time, time_f, time_or_never, Human, Render};
use clerk_machines::api_keys::{ApiKey, CreatedApiKey};
use clerk_machines::m2m::ListedM2mToken;
use clerk_machines::oauth::OAuthTokenVerification;
use clerk_machines::{types, Page, SecretString};
use serde::Serialize;
use serde_json::{json, Value};

/// The JSON of a serializable result.
fn to_json(value: &impl Serialize) -> serde_json::Result<Value> {
    serde_json::to_value(value)
}

/// A page as Clerk sends it: the items under `key`, and `total_count`.
fn page_json<T: Serialize>(key: &str, page: &Page<T>) -> serde_json::Result<Value> {
    let mut object = serde_json::Map::new();
    object.insert(key.to_owned(), to_json(&page.items)?);
    object.insert("total_count".to_owned(), json!(page.total_count));
    Ok(Value::Object(object))
}

/// A page as a table, summed up as `(n of total nouns)`.
fn page_table<T>(page: &Page<T>, header: &[&'static str], row: fn(&T) -> Vec<String>, noun: &str) -> Human {
    Human::Table {
        header: header.to_vec(),
        rows: page.items.iter().map(row).collect(),
        summary: format!("({} of {} {noun})", page.items.len(), page.total_count),
    }
}

/// A result shown as one line.
macro_rules! line_view {
    ($type:ty, |$value:ident| $line:expr) => {
        impl Render for $type {
            fn json(&self) -> serde_json::Result<Value> {
                to_json(self)
            }
            fn human(&self) -> Human {
                let $value = self;
                Human::Lines(vec![$line])
            }
        }
    };
}

// ---- Machines -----------------------------------------------------------

fn scoped_text(scoped: &[types::MachineWithoutScopedMachines]) -> String {
    let names: Vec<String> = scoped.iter().map(|s| format!("{} ({})", s.id, s.name)).collect();
    list(&names)
}

fn machine_row(m: &types::Machine) -> Vec<String> {
    vec![
        m.id.clone(),
        m.name.to_string(),
        seconds(m.default_token_ttl.get()),
        m.scoped_machines.len().to_string(),
        time(m.created_at),
    ]
}

const MACHINE_HEADER: [&str; 5] = ["ID", "NAME", "TOKEN TTL", "SCOPES", "CREATED"];

impl Render for types::Machine {
    fn json(&self) -> serde_json::Result<Value> {
        to_json(self)
    }
    fn human(&self) -> Human {
        Human::Fields {
            pairs: vec![
                ("id", self.id.clone()),
                ("name", self.name.to_string()),
                ("instance", self.instance_id.clone()),
                ("token ttl", seconds(self.default_token_ttl.get())),
                ("scoped to", scoped_text(&self.scoped_machines)),
                ("created", time(self.created_at)),
                ("updated", time(self.updated_at)),
            ],
            note: None,
        }
    }
}

impl Render for types::CreateMachineResponse {
    fn json(&self) -> serde_json::Result<Value> {
        to_json(self)
    }
    fn human(&self) -> Human {
        Human::Fields {
            pairs: vec![
                ("id", self.id.clone()),
                ("name", self.name.to_string()),
                ("instance", self.instance_id.clone()),
                ("token ttl", seconds(self.default_token_ttl.get())),
                ("scoped to", scoped_text(&self.scoped_machines)),
                ("created", time(self.created_at)),
                ("secret key", self.secret_key.expose_secret().to_owned()),
            ],
            note: Some("Store the secret key now: Clerk shows it only here (or via `machines secret-key`)."),
        }
    }
}

/// A page of `machines list`: Clerk's `{data, total_count}`.
pub struct Machines(pub Page<types::Machine>);

impl Render for Machines {
    fn json(&self) -> serde_json::Result<Value> {
        page_json("data", &self.0)
    }
    fn human(&self) -> Human {
        page_table(&self.0, &MACHINE_HEADER, machine_row, "machines")
    }
}

/// Every machine (`machines list --all`): a JSON array.
pub struct AllMachines(pub Vec<types::Machine>);

impl Render for AllMachines {
    fn json(&self) -> serde_json::Result<Value> {
        to_json(&self.0)
    }
    fn human(&self) -> Human {
        Human::Table {
            header: MACHINE_HEADER.to_vec(),
            rows: self.0.iter().map(machine_row).collect(),
            summary: format!("({} machines)", self.0.len()),
        }
    }
}

line_view!(types::DeleteMachineResponse, |d| format!("deleted machine {}", d.id));
line_view!(types::GetMachineSecretKeyResponse, |k| k.secret.expose_secret().to_owned());
line_view!(types::RotateMachineSecretKeyResponse, |k| k.secret.expose_secret().to_owned());
line_view!(types::MachineScope, |s| format!("{} may now call {}", s.from_machine_id, s.to_machine_id));
line_view!(types::DeleteMachineScopeResponse, |s| format!(
    "{} may no longer call {}",
    s.from_machine_id, s.to_machine_id
));

// ---- M2M tokens ---------------------------------------------------------

/// The fields every M2M token answer has, for one view of them.
struct TokenFields<'a> {
    id: &'a str,
    subject: &'a str,
    scopes: Vec<String>,
    claims: Option<&'a Value>,
    revoked: bool,
    revocation_reason: Option<&'a str>,
    expired: bool,
    expiration: Option<f64>,
    last_used_at: Option<f64>,
    created_at: f64,
}

macro_rules! token_fields {
    ($t:expr) => {
        TokenFields {
            id: &$t.id,
            subject: &$t.subject,
            scopes: $t.scopes.iter().map(|s| s.to_string()).collect(),
            claims: $t.claims.as_ref(),
            revoked: $t.revoked,
            revocation_reason: $t.revocation_reason.as_deref(),
            expired: $t.expired,
            expiration: $t.expiration,
            last_used_at: $t.last_used_at,
            created_at: $t.created_at,
        }
    };
}

impl TokenFields<'_> {
    /// The details; `secret` is the token itself, shown only when minted.
    fn human(&self, secret: Option<&SecretString>) -> Human {
        let mut pairs = vec![
            ("id", self.id.to_owned()),
            ("subject", self.subject.to_owned()),
            ("scopes", list(&self.scopes)),
            ("status", status(self.revoked, self.expired).to_owned()),
            ("expires", time_or_never(self.expiration)),
            ("last used", time_or_never(self.last_used_at)),
            ("created", time_f(self.created_at)),
        ];
        if let Some(reason) = self.revocation_reason {
            pairs.push(("revocation reason", reason.to_owned()));
        }
        if let Some(claims) = self.claims {
            pairs.push(("claims", claims.to_string()));
        }
        if let Some(secret) = secret {
            pairs.push(("token", secret.expose_secret().to_owned()));
        }
        Human::Fields { pairs, note: None }
    }
}

impl Render for types::CreateM2mTokenResponse {
    fn json(&self) -> serde_json::Result<Value> {
        to_json(self)
    }
    fn human(&self) -> Human {
        token_fields!(self).human(Some(&self.token))
    }
}

impl Render for types::VerifyM2mTokenResponse {
    fn json(&self) -> serde_json::Result<Value> {
        to_json(self)
    }
    fn human(&self) -> Human {
        token_fields!(self).human(None)
    }
}

line_view!(types::RevokeM2mTokenResponse, |t| format!("revoked token {}", t.id));

/// A page of `m2m list`: Clerk's own `{m2m_tokens, total_count}`.
pub struct Tokens(pub Page<ListedM2mToken>);

impl Render for Tokens {
    fn json(&self) -> serde_json::Result<Value> {
        page_json("m2m_tokens", &self.0)
    }
    fn human(&self) -> Human {
        page_table(&self.0, &["ID", "STATUS", "EXPIRES", "CREATED"], token_row, "tokens")
    }
}

fn token_row(t: &ListedM2mToken) -> Vec<String> {
    vec![
        t.id.to_string(),
        status(t.revoked, t.expired).to_owned(),
        time_or_never(t.expiration),
        time_f(t.created_at),
    ]
}

// ---- API keys -----------------------------------------------------------

fn api_key_pairs(key: &ApiKey) -> Vec<(&'static str, String)> {
    let mut pairs = vec![
        ("id", key.id.clone()),
        ("name", key.name.clone()),
        ("subject", key.subject.clone()),
        ("type", key.key_type.clone()),
        ("scopes", list(&key.scopes)),
        ("status", status(key.revoked, key.expired).to_owned()),
        ("expires", time_or_never(key.expiration)),
        ("last used", time_or_never(key.last_used_at)),
        ("created", time_f(key.created_at)),
    ];
    if let Some(description) = &key.description {
        pairs.insert(2, ("description", description.clone()));
    }
    if let Some(user) = &key.created_by {
        pairs.push(("created by", user.clone()));
    }
    if let Some(reason) = &key.revocation_reason {
        pairs.push(("revocation reason", reason.clone()));
    }
    if !key.claims.is_null() {
        pairs.push(("claims", key.claims.to_string()));
    }
    pairs
}

impl Render for ApiKey {
    fn json(&self) -> serde_json::Result<Value> {
        to_json(self)
    }
    fn human(&self) -> Human {
        Human::Fields { pairs: api_key_pairs(self), note: None }
    }
}

impl Render for CreatedApiKey {
    fn json(&self) -> serde_json::Result<Value> {
        to_json(self)
    }
    fn human(&self) -> Human {
        let mut pairs = api_key_pairs(&self.api_key);
        pairs.push(("secret", self.secret.expose_secret().to_owned()));
        Human::Fields {
            pairs,
            note: Some("Give the secret to the key's holder; `api-keys secret` shows it again."),
        }
    }
}

/// A page of `api-keys list`: Clerk's `{data, total_count}`.
pub struct ApiKeys(pub Page<ApiKey>);

impl Render for ApiKeys {
    fn json(&self) -> serde_json::Result<Value> {
        page_json("data", &self.0)
    }
    fn human(&self) -> Human {
        let header = ["ID", "NAME", "STATUS", "SCOPES", "EXPIRES", "CREATED"];
        page_table(&self.0, &header, api_key_row, "API keys")
    }
}

fn api_key_row(k: &ApiKey) -> Vec<String> {
    vec![
        k.id.clone(),
        k.name.clone(),
        status(k.revoked, k.expired).to_owned(),
        list(&k.scopes),
        time_or_never(k.expiration),
        time_f(k.created_at),
    ]
}

/// The answer of `api-keys revoke`: the key, confirmed in one line.
pub struct RevokedApiKey(pub ApiKey);

line_view!(RevokedApiKey, |r| format!("revoked API key {}", r.0.id));
line_view!(types::DeleteApiKeyResponse, |d| format!("deleted API key {}", d.id));

impl Serialize for RevokedApiKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// The answer of `api-keys secret`: `{"secret": ...}`, or the secret alone.
pub struct ApiKeySecret(pub SecretString);

impl Render for ApiKeySecret {
    fn json(&self) -> serde_json::Result<Value> {
        Ok(json!({ "secret": self.0.expose_secret() }))
    }
    fn human(&self) -> Human {
        Human::Lines(vec![self.0.expose_secret().to_owned()])
    }
}

// ---- OAuth access tokens ------------------------------------------------

impl Render for OAuthTokenVerification {
    fn json(&self) -> serde_json::Result<Value> {
        match self {
            OAuthTokenVerification::Token(token) => to_json(token),
            _ => Ok(json!({ "active": false })),
        }
    }
    fn human(&self) -> Human {
        match self {
            OAuthTokenVerification::Token(t) => {
                let mut pairs = vec![
                    ("id", t.id.clone()),
                    ("client", t.client_id.clone()),
                    ("subject", t.subject.clone()),
                    ("scopes", list(&t.scopes)),
                    ("status", status(t.revoked, t.expired).to_owned()),
                    ("expires", time_or_never(t.expiration)),
                    ("created", time_f(t.created_at)),
                ];
                if let Some(reason) = &t.revocation_reason {
                    pairs.push(("revocation reason", reason.clone()));
                }
                Human::Fields { pairs, note: None }
            }
            _ => Human::Fields { pairs: vec![("status", "inactive".into())], note: None },
        }
    }
}

// ---- The fake -----------------------------------------------------------

/// What `fake` prints when it is up: the URL and the key to use (the point
/// of the command), as `VAR=value` lines a shell can read.
pub struct FakeBanner {
    pub url: String,
    pub key: SecretString,
}

impl Render for FakeBanner {
    fn json(&self) -> serde_json::Result<Value> {
        Ok(json!({ "CLERK_API_URL": self.url, "CLERK_SECRET_KEY": self.key.expose_secret() }))
    }
    fn human(&self) -> Human {
        Human::Lines(vec![
            format!("Fake Clerk listening on {}", self.url),
            format!("CLERK_API_URL={}", self.url),
            format!("CLERK_SECRET_KEY={}", self.key.expose_secret()),
            "Press Ctrl-C to stop.".into(),
        ])
    }
}
