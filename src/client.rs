//! [`Clerk`]: the entry point: the generated client with the request hooks (key, version, retries) and the HTTP connection pool.

use crate::api;
use crate::api_keys::ApiKeys;
use crate::config::ClerkConfig;
use crate::error::{Error, Result};
use crate::m2m::M2m;
use crate::machines::Machines;
use crate::oauth::OAuthAccessTokens;
use crate::request::RequestSettings;
use crate::secret::SecretString;
use reqwest::header::HeaderValue;
use std::borrow::Cow;

/// Which kind of key a client authenticates with, read from its prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyKind {
    /// An instance secret key, `sk_test_...` or `sk_live_...`.
    Instance,
    /// A machine secret key, `ak_...`.
    Machine,
    /// A key with another prefix (sent as given).
    Other,
}

impl KeyKind {
    /// The kind of `key`, from its prefix.
    pub fn of(key: &str) -> Self {
        if key.starts_with("sk_") {
            KeyKind::Instance
        } else if key.starts_with("ak_") {
            KeyKind::Machine
        } else {
            KeyKind::Other
        }
    }
}

/// A client for Clerk's machines and M2M token APIs.
///
/// Cheap to clone (the connection pool is shared); build one per key and
/// reuse it. `Debug` never shows the key.
///
/// ```no_run
/// # async fn demo() -> Result<(), clerk_machines::Error> {
/// use clerk_machines::{Clerk, ClerkConfig};
///
/// let clerk = Clerk::new("sk_test_...", ClerkConfig::default())?;
/// let machine = clerk.machines().get("mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk").await?;
/// println!("{}", machine.name);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Clerk {
    api: api::Client,
    key_kind: KeyKind,
    api_version: String,
}

impl std::fmt::Debug for Clerk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clerk")
            .field("base_url", &self.base_url())
            .field("api_version", &self.api_version)
            .field("key_kind", &self.key_kind)
            .field("secret_key", &"[REDACTED]")
            .finish()
    }
}

impl Clerk {
    /// Environment variable [`Clerk::from_env`] reads the secret key from.
    pub const SECRET_KEY_ENV: &'static str = "CLERK_SECRET_KEY";
    /// Environment variable [`Clerk::from_env`] reads the base URL from, when set.
    pub const API_URL_ENV: &'static str = "CLERK_API_URL";

    /// Builds a client from a secret key and a configuration.
    ///
    /// Fails with [`Error::InvalidInput`] when the key is empty or not a
    /// valid header value, the base URL is not an `http(s)` URL, or the
    /// version or user agent cannot be sent as a header; with
    /// [`Error::Tls`] when the platform's CA certificates cannot be loaded;
    /// with [`Error::Transport`] when the HTTP client cannot be built.
    pub fn new(secret_key: impl Into<SecretString>, config: ClerkConfig) -> Result<Self> {
        let (authorization, key_kind) = authorization(&secret_key.into())?;
        let (version, agent) = config.header_texts();
        let api_version = header_value("api_version", version)?;
        let user_agent = header_value("user_agent", agent)?;
        let base_url = normalize_base_url(config.base_url())?;
        let http = match config.http_client() {
            Some(client) => client.clone(),
            None => crate::tls::http_client_builder()?
                .connect_timeout(config.connect_timeout())
                .timeout(config.request_timeout())
                // The crate retries by its own policy (`RetryConfig`). reqwest's
                // default policy retries only HTTP/2 protocol refusals, which this
                // HTTP/1.1 build never meets, yet copies every request to be ready
                // for one; zero retries turns the copy off too.
                .retry(reqwest::retry::never().max_retries_per_request(0))
                .build()
                .map_err(Error::Transport)?,
        };
        let settings = RequestSettings::new(authorization, api_version, user_agent, config.retry().clone());
        Ok(Self {
            api: api::Client::new_with_client(&base_url, http, settings),
            key_kind,
            api_version: config.api_version().to_owned(),
        })
    }

    /// Builds a client from `CLERK_SECRET_KEY` and, when set, `CLERK_API_URL`,
    /// with the default configuration otherwise.
    pub fn from_env() -> Result<Self> {
        Self::from_env_with(ClerkConfig::default())
    }

    /// Like [`Clerk::from_env`], starting from `config` (whose base URL
    /// `CLERK_API_URL` overrides when set).
    pub fn from_env_with(mut config: ClerkConfig) -> Result<Self> {
        let key = std::env::var(Self::SECRET_KEY_ENV)
            .map_err(|_| Error::invalid("CLERK_SECRET_KEY", "is not set (or not valid Unicode)"))?;
        if let Some(url) = std::env::var(Self::API_URL_ENV).ok().filter(|u| !u.trim().is_empty()) {
            config = config.with_base_url(url);
        }
        Self::new(key, config)
    }

    /// The Machines operations.
    pub fn machines(&self) -> Machines<'_> {
        Machines::new(self)
    }

    /// The M2M token operations (create, list, revoke, verify).
    pub fn m2m(&self) -> M2m<'_> {
        M2m::new(self)
    }

    /// The API key operations (create, list, get, update, delete, secret,
    /// revoke, verify).
    pub fn api_keys(&self) -> ApiKeys<'_> {
        ApiKeys::new(self)
    }

    /// The OAuth access token operations (verify).
    pub fn oauth_access_tokens(&self) -> OAuthAccessTokens<'_> {
        OAuthAccessTokens::new(self)
    }

    /// A client like this one (same base URL, version, user agent and HTTP
    /// connection pool) that authenticates with another key, for example a
    /// machine secret key (`ak_...`) next to the instance key. Cheap: nothing
    /// is rebuilt but the `Authorization` header.
    ///
    /// Fails with [`Error::InvalidInput`] when the key is empty or cannot be
    /// sent as a header.
    pub fn with_secret_key(&self, secret_key: impl Into<SecretString>) -> Result<Clerk> {
        let (authorization, key_kind) = authorization(&secret_key.into())?;
        let settings = progenitor_client::ClientInfo::inner(&self.api).with_authorization(authorization);
        let http = progenitor_client::ClientInfo::client(&self.api).clone();
        Ok(Self {
            api: api::Client::new_with_client(self.base_url(), http, settings),
            key_kind,
            api_version: self.api_version.clone(),
        })
    }

    /// The generated client ([`raw`](crate::raw)), for calls in the exact
    /// shapes of the spec, such as an operation a newer spec added.
    ///
    /// Its requests take this client's path (headers, retries, tracing);
    /// pass a call's `send()` to [`raw::send`](crate::raw::send) for the
    /// crate's typed [`Error`].
    pub fn raw(&self) -> &api::Client {
        &self.api
    }

    /// The base URL requests go to (without a trailing `/`).
    pub fn base_url(&self) -> &str {
        progenitor_client::ClientInfo::baseurl(&self.api)
    }

    /// The `Clerk-API-Version` this client sends.
    pub fn api_version(&self) -> &str {
        &self.api_version
    }

    /// The kind of key this client authenticates with.
    pub fn key_kind(&self) -> KeyKind {
        self.key_kind
    }
}

/// `Bearer <key>`, marked sensitive so that it is never printed.
/// The `Authorization` header for a secret key, and the key's kind; an empty
/// key or one that cannot be sent as a header is refused.
fn authorization(secret_key: &SecretString) -> Result<(HeaderValue, KeyKind)> {
    let key = secret_key.expose_secret();
    if key.trim().is_empty() {
        return Err(Error::invalid("secret_key", "must not be empty"));
    }
    let mut authorization = HeaderValue::try_from(format!("Bearer {key}"))
        .map_err(|_| Error::invalid("secret_key", "contains characters not allowed in an HTTP header"))?;
    authorization.set_sensitive(true);
    Ok((authorization, KeyKind::of(key)))
}

/// A header value for a setting. A `&'static str` (the defaults) becomes a
/// static value: every request gets a copy of each header, and copying a
/// static value writes nothing, where copying one built from a `String`
/// bumps a reference count that all the cores sending requests share.
// `&Cow` rather than `&str`: only the `Borrowed` arm proves the text `'static`.
#[allow(clippy::ptr_arg)]
fn header_value(field: &'static str, text: &Cow<'static, str>) -> Result<HeaderValue> {
    let invalid = || Error::invalid(field, "contains characters not allowed in an HTTP header");
    match text {
        Cow::Borrowed(text) if HeaderValue::try_from(*text).is_ok() => Ok(HeaderValue::from_static(text)),
        _ => HeaderValue::try_from(text.as_ref()).map_err(|_| invalid()),
    }
}

/// Checks the base URL and drops trailing slashes (the generated client
/// appends paths that start with `/`).
fn normalize_base_url(url: &str) -> Result<String> {
    let parsed = reqwest::Url::parse(url.trim())
        .map_err(|e| Error::invalid("base_url", format!("`{url}` is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::invalid("base_url", format!("`{url}` is not an http(s) URL")));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(Error::invalid("base_url", format!("`{url}` must not have a query or fragment")));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_key() {
        let clerk = Clerk::new("sk_test_hide_me", ClerkConfig::default()).unwrap();
        let shown = format!("{clerk:?} {:?}", clerk.raw());
        assert!(!shown.contains("hide_me"), "{shown}");
        assert_eq!(clerk.key_kind(), KeyKind::Instance);
    }

    #[test]
    fn rejects_bad_configuration_before_any_request() {
        let bad = [
            Clerk::new("", ClerkConfig::default()),
            Clerk::new("sk_test_\n", ClerkConfig::default()),
            Clerk::new("sk_test_1", ClerkConfig::default().with_base_url("ftp://example.com")),
            Clerk::new("sk_test_1", ClerkConfig::default().with_base_url("not a url")),
            Clerk::new("sk_test_1", ClerkConfig::default().with_api_version("bad\nversion")),
        ];
        for result in bad {
            assert!(matches!(result, Err(Error::InvalidInput { .. })), "{result:?}");
        }
    }

    #[test]
    fn base_url_loses_trailing_slashes() {
        let clerk =
            Clerk::new("sk_test_1", ClerkConfig::default().with_base_url("http://127.0.0.1:9/v1/")).unwrap();
        assert_eq!(clerk.base_url(), "http://127.0.0.1:9/v1");
    }
}
