//! Client configuration: a plain value built by chaining, consumed by [`Clerk::new`](crate::Clerk::new).

use crate::retry::RetryConfig;
use std::time::Duration;

/// Clerk's production Backend API.
pub const DEFAULT_BASE_URL: &str = "https://api.clerk.com/v1";
/// The `User-Agent` sent by default: `clerk-machines/<crate version>`.
pub const DEFAULT_USER_AGENT: &str = concat!("clerk-machines/", env!("CARGO_PKG_VERSION"));
/// Default time allowed to open a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time allowed for a whole request, from sending to the last byte of the body.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How a [`Clerk`](crate::Clerk) client talks to the API.
///
/// Every setting has a sensible default; change only what you need:
///
/// ```
/// use clerk_machines::ClerkConfig;
/// use std::time::Duration;
///
/// let config = ClerkConfig::default()
///     .base_url("http://127.0.0.1:8080/v1")
///     .request_timeout(Duration::from_secs(5));
/// assert_eq!(config.api_version_value(), clerk_machines::spec::VERSION);
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct ClerkConfig {
    pub(crate) base_url: String,
    pub(crate) api_version: String,
    pub(crate) user_agent: String,
    pub(crate) connect_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) http_client: Option<reqwest::Client>,
    pub(crate) retry: RetryConfig,
}

/// Lists the settings; a caller's own [`reqwest::Client`] is only named, since
/// its `Debug` would show its default headers (which may hold a key).
impl std::fmt::Debug for ClerkConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClerkConfig")
            .field("base_url", &self.base_url)
            .field("api_version", &self.api_version)
            .field("user_agent", &self.user_agent)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("http_client", &self.http_client.as_ref().map(|_| "[custom reqwest::Client]"))
            .field("retry", &self.retry)
            .finish()
    }
}

impl Default for ClerkConfig {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            api_version: crate::spec::VERSION.to_owned(),
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            http_client: None,
            retry: RetryConfig::default(),
        }
    }
}

impl ClerkConfig {
    /// The API's base URL, including the `/v1` stem (default [`DEFAULT_BASE_URL`]).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// The `Clerk-API-Version` to request (default: the version of the spec the client was generated from, [`spec::VERSION`](crate::spec::VERSION)).
    pub fn api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = version.into();
        self
    }

    /// The `User-Agent` header (default [`DEFAULT_USER_AGENT`]).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Time allowed to open a connection (default [`DEFAULT_CONNECT_TIMEOUT`]).
    /// Ignored when a caller's own [`reqwest::Client`] is used.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time allowed for a whole request (default [`DEFAULT_REQUEST_TIMEOUT`]).
    /// Ignored when a caller's own [`reqwest::Client`] is used.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Use this [`reqwest::Client`] (its proxy, TLS and timeout settings)
    /// instead of building one. The crate still adds its own headers to each request.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// When and how failed requests are retried (default
    /// [`RetryConfig::default`]: 3 attempts within 30 s, idempotent requests
    /// only; [`RetryConfig::disabled`] turns retries off).
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// The configured retry policy.
    pub fn retry_value(&self) -> &RetryConfig {
        &self.retry
    }

    /// The configured base URL.
    pub fn base_url_value(&self) -> &str {
        &self.base_url
    }

    /// The configured API version.
    pub fn api_version_value(&self) -> &str {
        &self.api_version
    }
}
