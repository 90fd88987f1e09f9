//! [`ClerkConfig`]: how a client talks to the API, a plain value consumed by
//! [`Clerk::new`](crate::Clerk::new).

use crate::defaults;
use crate::retry::RetryConfig;
use std::borrow::Cow;
use std::time::Duration;

/// How a [`Clerk`](crate::Clerk) client talks to the API.
///
/// Every setting has a default ([`defaults`](crate::defaults)); change only
/// what you need with the `with_*` methods, read a setting back with the
/// method of its name:
///
/// ```
/// use clerk_machines::ClerkConfig;
/// use std::time::Duration;
///
/// let config = ClerkConfig::default()
///     .with_base_url("http://127.0.0.1:8080/v1")
///     .with_request_timeout(Duration::from_secs(5));
/// assert_eq!(config.request_timeout(), Duration::from_secs(5));
/// assert_eq!(config.api_version(), clerk_machines::spec::VERSION);
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct ClerkConfig {
    base_url: String,
    // `Cow` so that the defaults stay `&'static str`: their header values are
    // then static too, and cloning them into each request touches no shared
    // reference count (see `header_value` in `client.rs`).
    api_version: Cow<'static, str>,
    user_agent: Cow<'static, str>,
    connect_timeout: Duration,
    request_timeout: Duration,
    http_client: Option<reqwest::Client>,
    retry: RetryConfig,
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
            base_url: defaults::BASE_URL.to_owned(),
            api_version: Cow::Borrowed(crate::spec::VERSION),
            user_agent: Cow::Borrowed(defaults::USER_AGENT),
            connect_timeout: defaults::CONNECT_TIMEOUT,
            request_timeout: defaults::REQUEST_TIMEOUT,
            http_client: None,
            retry: RetryConfig::default(),
        }
    }
}

impl ClerkConfig {
    /// The API's base URL, including the `/v1` stem (default [`defaults::BASE_URL`]).
    pub fn with_base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// The `Clerk-API-Version` to request (default: the version of the spec
    /// the client was generated from, [`spec::VERSION`](crate::spec::VERSION)).
    pub fn with_api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = Cow::Owned(version.into());
        self
    }

    /// The `User-Agent` header (default [`defaults::USER_AGENT`]).
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Cow::Owned(user_agent.into());
        self
    }

    /// Time allowed to open a connection (default [`defaults::CONNECT_TIMEOUT`]).
    /// Ignored when a caller's own [`reqwest::Client`] is used.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time allowed for a whole request (default [`defaults::REQUEST_TIMEOUT`]).
    /// Ignored when a caller's own [`reqwest::Client`] is used.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Use this [`reqwest::Client`] (its proxy, TLS, timeout and retry
    /// settings) instead of building one. The crate still adds its own headers
    /// to each request and retries by its own [`RetryConfig`]. (The client the
    /// crate builds turns reqwest's own retry policy off: it only resends on
    /// HTTP/2 protocol refusals, yet copies every request to be ready to.)
    pub fn with_http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// When and how failed requests are retried (default [`RetryConfig::default`]:
    /// 3 attempts, none started after 30 s, idempotent requests only; [`RetryConfig::disabled`]
    /// turns retries off).
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// The API's base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The `Clerk-API-Version` sent.
    pub fn api_version(&self) -> &str {
        &self.api_version
    }

    /// The `User-Agent` sent.
    pub fn user_agent(&self) -> &str {
        &self.user_agent
    }

    /// The version and user agent as set (a default is borrowed for good).
    pub(crate) fn header_texts(&self) -> (&Cow<'static, str>, &Cow<'static, str>) {
        (&self.api_version, &self.user_agent)
    }

    /// Time allowed to open a connection.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// Time allowed for a whole request.
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    /// The caller's own HTTP client, if one was given.
    pub fn http_client(&self) -> Option<&reqwest::Client> {
        self.http_client.as_ref()
    }

    /// The retry policy.
    pub fn retry(&self) -> &RetryConfig {
        &self.retry
    }
}
