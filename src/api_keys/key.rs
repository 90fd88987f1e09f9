//! [`ApiKey`] and [`CreatedApiKey`]: what the API key operations return.

use crate::api::types;
use crate::secret::SecretString;
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// An API key as Clerk describes it (never its secret).
///
/// A hand-written view rather than a generated type: the spec declares the
/// API key inline in each of its six responses, so the generator makes six
/// identical structs (`types::CreateApiKeyResponse`, `GetApiKeyResponse`,
/// `GetApiKeysResponseDataItem`, `UpdateApiKeyResponse`,
/// `RevokeApiKeyResponse`, `VerifyApiKeyResponse`), and code that stores or
/// passes on "an API key" would have to pick one. `ApiKey` is converted
/// field by field from each of them (a field a new spec renames or drops
/// breaks the build here, not a decode at run time); the secret, which only
/// creation returns, sits beside it in [`CreatedApiKey`] as a [`SecretString`].
///
/// Field names and units are the spec's: times are milliseconds since the
/// Unix epoch (the methods give [`SystemTime`]s). Serializes to Clerk's
/// JSON fields (all but the constant `object`), and deserializes from Clerk's JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ApiKey {
    /// The key's id, `ak_` + 32 hex digits.
    pub id: String,
    /// The key's type (`api_key`).
    #[serde(rename = "type")]
    pub key_type: String,
    /// Who the key belongs to: a user (`user_...`), an organization
    /// (`org_...`) or a machine (`mch_...`).
    pub subject: String,
    /// The key's name.
    pub name: String,
    /// The key's description, if it has one.
    #[serde(default)]
    pub description: Option<String>,
    /// Custom claims (any JSON; `null` when none).
    pub claims: serde_json::Value,
    /// The key's scopes.
    pub scopes: Vec<String>,
    /// Whether the key was revoked.
    pub revoked: bool,
    /// Why it was revoked, if a reason was given.
    pub revocation_reason: Option<String>,
    /// Whether the key has expired.
    pub expired: bool,
    /// When the key expires (ms since the epoch); `None`: never.
    pub expiration: Option<f64>,
    /// The user who created the key, if Clerk knows one.
    pub created_by: Option<String>,
    /// When the key was last verified (ms since the epoch).
    pub last_used_at: Option<f64>,
    /// When the key was created (ms since the epoch).
    pub created_at: f64,
    /// When the key was last changed (ms since the epoch).
    pub updated_at: f64,
}

impl ApiKey {
    /// Neither revoked nor expired, as Clerk reported it.
    pub fn is_valid(&self) -> bool {
        !self.revoked && !self.expired
    }

    /// When the key expires; `None` when it never does (or Clerk sent a
    /// time that is not one).
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expiration.and_then(millis_to_time)
    }

    /// When the key was created.
    pub fn created(&self) -> Option<SystemTime> {
        millis_to_time(self.created_at)
    }

    /// When the key was last verified, if ever.
    pub fn last_used(&self) -> Option<SystemTime> {
        self.last_used_at.and_then(millis_to_time)
    }
}

/// A key just created: its description and its secret, which Clerk also
/// shows later through [`ApiKeys::secret`](super::ApiKeys::secret).
///
/// `Debug` shows the secret as `[REDACTED]`; serializing writes it (the
/// fields of [`ApiKey`] plus `secret`, Clerk's shape), so serialize it only
/// where the secret is meant to go.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CreatedApiKey {
    /// The key.
    #[serde(flatten)]
    pub api_key: ApiKey,
    /// The secret callers send as `Authorization: Bearer ...`.
    pub secret: SecretString,
}

/// A time in Clerk's milliseconds since the epoch, when it is one.
fn millis_to_time(millis: f64) -> Option<SystemTime> {
    (millis.is_finite() && millis >= 0.0)
        .then(|| UNIX_EPOCH.checked_add(Duration::from_secs_f64(millis / 1000.0)))
        .flatten()
}

/// The [`ApiKey`] of a generated API key struct (they all have its fields).
macro_rules! api_key_of {
    ($key:ident) => {
        ApiKey {
            id: $key.id,
            key_type: $key.type_,
            subject: $key.subject,
            name: $key.name,
            description: $key.description,
            claims: $key.claims,
            scopes: $key.scopes,
            revoked: $key.revoked,
            revocation_reason: $key.revocation_reason,
            expired: $key.expired,
            expiration: $key.expiration,
            created_by: $key.created_by,
            last_used_at: $key.last_used_at,
            created_at: $key.created_at,
            updated_at: $key.updated_at,
        }
    };
}

macro_rules! from_generated {
    ($($generated:ty),* $(,)?) => {$(
        impl From<$generated> for ApiKey {
            fn from(key: $generated) -> Self {
                api_key_of!(key)
            }
        }
    )*};
}

from_generated!(
    types::GetApiKeyResponse,
    types::GetApiKeysResponseDataItem,
    types::UpdateApiKeyResponse,
    types::RevokeApiKeyResponse,
    types::VerifyApiKeyResponse,
);

impl From<types::CreateApiKeyResponse> for CreatedApiKey {
    fn from(created: types::CreateApiKeyResponse) -> Self {
        let secret = created.secret;
        Self { api_key: api_key_of!(created), secret }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_from_milliseconds() {
        let at = millis_to_time(1_716_883_200_500.0).unwrap();
        assert_eq!(at.duration_since(UNIX_EPOCH).unwrap(), Duration::from_millis(1_716_883_200_500));
        assert_eq!(millis_to_time(-1.0), None);
        assert_eq!(millis_to_time(f64::NAN), None);
    }
}
