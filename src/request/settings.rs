//! [`RequestSettings`]: what the generated client carries for the request path.

use crate::retry::RetryConfig;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, USER_AGENT};
use std::sync::Arc;

/// Header carrying the API version Clerk should answer with.
const CLERK_API_VERSION: HeaderName = HeaderName::from_static("clerk-api-version");

/// What the generated [`raw::Client`](crate::raw::Client) carries for the
/// request path: the headers every request gets (`Authorization`, marked
/// sensitive, `Clerk-API-Version`, `User-Agent`) and the retry policy.
///
/// [`Clerk::new`](crate::Clerk::new) builds it; you meet it only as the
/// generated client's `ClientInfo::inner()`. Its `Debug` lists header names,
/// never values.
#[derive(Clone)]
pub struct RequestSettings {
    headers: Arc<HeaderMap>,
    retry: RetryConfig,
}

impl std::fmt::Debug for RequestSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestSettings")
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("retry", &self.retry)
            .finish()
    }
}

impl RequestSettings {
    /// The headers sent with every request; the authorization value must be
    /// marked sensitive by the caller.
    pub(crate) fn new(
        authorization: HeaderValue,
        api_version: HeaderValue,
        user_agent: HeaderValue,
        retry: RetryConfig,
    ) -> Self {
        let mut headers = HeaderMap::with_capacity(3);
        headers.insert(AUTHORIZATION, authorization);
        headers.insert(CLERK_API_VERSION, api_version);
        headers.insert(USER_AGENT, user_agent);
        Self { headers: Arc::new(headers), retry }
    }

    /// The headers sent with every request.
    pub(crate) fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The retry policy of this client.
    pub fn retry(&self) -> &RetryConfig {
        &self.retry
    }

    /// The same headers with another `Authorization` value (marked sensitive by the caller).
    pub(crate) fn with_authorization(&self, authorization: HeaderValue) -> Self {
        let mut headers = (*self.headers).clone();
        headers.insert(AUTHORIZATION, authorization);
        Self { headers: Arc::new(headers), retry: self.retry.clone() }
    }
}
