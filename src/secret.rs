//! [`SecretString`]: a string that never shows itself in `Debug` or `Display`.

use secrecy::ExposeSecret;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::sync::Arc;

/// A secret value: an instance key (`sk_...`), a machine secret key
/// (`ak_...`) or an M2M token.
///
/// `Debug` and `Display` print `[REDACTED]`; the memory is zeroed on drop
/// (via [`secrecy`]). Reading the value is explicit:
///
/// ```
/// use clerk_machines::SecretString;
///
/// let key = SecretString::from("ak_live_0123");
/// assert_eq!(format!("{key:?} {key}"), "[REDACTED] [REDACTED]");
/// assert_eq!(key.expose_secret(), "ak_live_0123");
/// ```
///
/// Cloning is cheap (the secret is shared, and zeroed when the last clone
/// is dropped), so that a cached token can be handed out on every request.
///
/// It serializes as the plain string, because the generated request and
/// response types must round-trip through JSON; only serialize it where the
/// secret is meant to go.
#[derive(Clone, Default)]
pub struct SecretString(Arc<secrecy::SecretString>);

impl SecretString {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(Arc::new(secrecy::SecretString::from(secret.into())))
    }

    /// The secret itself. Keep the result out of logs.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }
}

impl From<String> for SecretString {
    fn from(secret: String) -> Self {
        Self::new(secret)
    }
}

impl From<&str> for SecretString {
    fn from(secret: &str) -> Self {
        Self::new(secret)
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl std::fmt::Display for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[REDACTED]")
    }
}

/// Equality compares the secrets (the generated types derive `PartialEq`).
impl PartialEq for SecretString {
    fn eq(&self, other: &Self) -> bool {
        self.expose_secret() == other.expose_secret()
    }
}

impl Eq for SecretString {}

impl Serialize for SecretString {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose_secret())
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

#[cfg(feature = "schemars")]
impl schemars::JsonSchema for SecretString {
    fn schema_name() -> String {
        "SecretString".to_owned()
    }

    fn json_schema(generator: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
        String::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_formats_the_secret() {
        let secret = SecretString::from("sk_test_do_not_print");
        for shown in [format!("{secret:?}"), format!("{secret}"), format!("{secret:#?}")] {
            assert!(!shown.contains("do_not_print"), "{shown}");
        }
    }

    #[test]
    fn round_trips_through_json() {
        let secret: SecretString = serde_json::from_str("\"ak_1\"").unwrap();
        assert_eq!(serde_json::to_string(&secret).unwrap(), "\"ak_1\"");
    }
}
