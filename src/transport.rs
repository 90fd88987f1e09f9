//! The request path every call takes: headers (`pre` hook), execution
//! (`exec` hook), and turning the generated client's results into [`Error`]s.

use crate::api::{types, Client};
use crate::error::{snippet, ApiError, Error, Result, SECRET_FIELDS};
use crate::retry::RetryConfig;
use progenitor_client::{ClientHooks, ClientInfo, OperationInfo, ResponseValue};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, USER_AGENT};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use std::cell::RefCell;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Header carrying the API version Clerk should answer with.
pub(crate) const CLERK_API_VERSION: HeaderName = HeaderName::from_static("clerk-api-version");
/// Header in which Clerk may return the trace id of a request.
pub(crate) const CLERK_TRACE_ID: HeaderName = HeaderName::from_static("clerk-trace-id");
/// The generic header progenitor adds; Clerk reads `Clerk-API-Version` instead.
const GENERIC_API_VERSION: HeaderName = HeaderName::from_static("api-version");

/// Per-client state the generated [`Client`] carries for the hooks.
#[derive(Clone)]
pub struct Transport {
    headers: Arc<HeaderMap>,
    retry: RetryConfig,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `HeaderValue`'s Debug already hides sensitive values; list names only
        // to be sure nothing else leaks.
        f.debug_struct("Transport")
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("retry", &self.retry)
            .finish()
    }
}

impl Transport {
    /// Builds the headers sent with every request. The authorization value is
    /// marked sensitive so that neither reqwest nor this crate ever prints it.
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

    /// The headers sent with every request, for the few hand-written requests
    /// that do not go through a generated builder (`GET /jwks`).
    #[cfg(feature = "jwt")]
    pub(crate) fn headers(&self) -> &HeaderMap {
        &self.headers
    }
}

/// Status and headers of the last response of the call in progress, recorded
/// by `exec` so that errors the generated code reports without them (an error
/// body that does not decode) can still say what Clerk answered.
#[derive(Clone, Debug)]
struct ResponseMeta {
    status: StatusCode,
    headers: HeaderMap,
}

tokio::task_local! {
    static LAST_RESPONSE: RefCell<Option<ResponseMeta>>;
}

impl ClientHooks<Transport> for Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &OperationInfo,
    ) -> std::result::Result<(), progenitor_client::Error<E>> {
        let headers = request.headers_mut();
        headers.remove(GENERIC_API_VERSION);
        for (name, value) in self.inner().headers.iter() {
            headers.insert(name, value.clone());
        }
        Ok(())
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let result = crate::retry::execute(self.client(), &self.inner().retry, request, info).await;
        // Record the final response (after any retries), or nothing when the
        // last attempt got none. Outside `send` (a caller using the raw
        // builders) nothing records.
        let _ = LAST_RESPONSE.try_with(|last| {
            *last.borrow_mut() = result.as_ref().ok().map(|response| {
                let status = response.status();
                // Only error statuses need the headers (trace id, `Retry-After`);
                // not copying them on success saves an allocation per request.
                let headers = if status.is_success() { HeaderMap::new() } else { response.headers().clone() };
                ResponseMeta { status, headers }
            });
        });
        result
    }
}

/// Runs a call built with the generated client and returns its body, or a
/// typed [`Error`] exactly as the crate's own operations do.
///
/// This is how an operation the crate does not wrap yet (one a newer spec
/// added, say) is called with the crate's error handling: build it with
/// [`Clerk::raw`](crate::Clerk::raw), pass its `send()` future here. The
/// request already takes the client's path (headers, retries, tracing);
/// `send` adds the conversion of Clerk's error bodies into [`Error::Api`]
/// (code, message, trace id) and of malformed bodies into [`Error::Decode`].
///
/// ```no_run
/// # async fn demo(clerk: clerk_machines::Clerk) -> Result<(), clerk_machines::Error> {
/// // Any generated builder works the same way, including ones a newer spec adds.
/// let call = clerk.raw().get_machine().machine_id("mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk").send();
/// let machine = clerk_machines::send(call).await?;
/// println!("{}", machine.name);
/// # Ok(()) }
/// ```
pub async fn send<T, E, F>(call: F) -> Result<T>
where
    T: DeserializeOwned,
    E: ErrorBody,
    F: Future<Output = std::result::Result<ResponseValue<T>, progenitor_client::Error<E>>>,
{
    let (result, meta) = LAST_RESPONSE
        .scope(RefCell::new(None), async {
            let result = call.await;
            (result, LAST_RESPONSE.with(|last| last.borrow_mut().take()))
        })
        .await;
    match result {
        Ok(value) => Ok(value.into_inner()),
        Err(error) => convert::<T, E>(error, meta).await,
    }
}

/// An error body type of the generated client that [`send`] can turn into
/// [`Error::Api`]: Clerk's `ClerkErrors` (every documented error body, after
/// the build's repairs), or `()` for an operation that documents none.
pub trait ErrorBody: sealed::Sealed {
    /// Clerk's error entries and trace id.
    #[doc(hidden)]
    fn into_parts(self) -> (Vec<ApiError>, Option<String>);
}

impl ErrorBody for types::ClerkErrors {
    fn into_parts(self) -> (Vec<ApiError>, Option<String>) {
        (self.errors.into_iter().map(from_generated).collect(), self.clerk_trace_id)
    }
}

impl ErrorBody for () {
    fn into_parts(self) -> (Vec<ApiError>, Option<String>) {
        (Vec::new(), None)
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::api::types::ClerkErrors {}
    impl Sealed for () {}
}

/// Converts an error of the generated client. A success status the spec did
/// not list (for example `200` where `201` is documented) is decoded as `T`
/// rather than reported as an error, hence the `Ok` arm.
async fn convert<T: DeserializeOwned, E: ErrorBody>(
    error: progenitor_client::Error<E>,
    meta: Option<ResponseMeta>,
) -> std::result::Result<T, Error> {
    use progenitor_client::Error as Gen;
    Err(match error {
        Gen::InvalidRequest(reason) => Error::invalid("request", reason),
        Gen::Custom(reason) => Error::invalid("request", reason),
        Gen::CommunicationError(e) | Gen::InvalidUpgrade(e) | Gen::ResponseBodyError(e) => {
            Error::from_reqwest(e)
        }
        Gen::ErrorResponse(value) => {
            let status = value.status();
            let headers = value.headers().clone();
            let (errors, trace_id) = value.into_inner().into_parts();
            api_error(status, &headers, errors, trace_id)
        }
        Gen::InvalidResponsePayload(body, _) => match meta {
            Some(meta) if !meta.status.is_success() => error_from_body(meta.status, &meta.headers, &body),
            Some(meta) => decode_error::<T>(meta.status, &body),
            // Without a recorded status the body came with a documented
            // success status (error statuses are recorded by `exec`).
            None => decode_error::<T>(StatusCode::OK, &body),
        },
        Gen::UnexpectedResponse(response) => {
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.bytes().await.map_err(Error::from_reqwest)?;
            if status.is_success() {
                return decode::<T>(status, &body);
            }
            error_from_body(status, &headers, &body)
        }
    })
}

/// Decodes a success body, naming the failing field on error.
pub(crate) fn decode<T: DeserializeOwned>(status: StatusCode, body: &[u8]) -> Result<T> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        // serde's message may quote the offending value: never a secret's.
        let field = path.rsplit('.').next().unwrap_or_default();
        let message = if SECRET_FIELDS.contains(&field) {
            "invalid value (not shown: secret field)".to_owned()
        } else {
            e.into_inner().to_string()
        };
        Error::Decode { status, path, message, snippet: snippet(body, Error::SNIPPET_CHARS) }
    })
}

fn decode_error<T: DeserializeOwned>(status: StatusCode, body: &[u8]) -> Error {
    match decode::<T>(status, body) {
        Err(error) => error,
        // The generated decoder failed where the path-tracking one did not:
        // report the body rather than invent a field.
        Ok(_) => Error::Decode {
            status,
            path: ".".into(),
            message: "the response does not match the spec".into(),
            snippet: snippet(body, Error::SNIPPET_CHARS),
        },
    }
}

/// Clerk's error body, read leniently: any missing part is left empty so that
/// an error is never hidden by a second, decoding error.
#[derive(serde::Deserialize, Default)]
struct LenientErrorBody {
    #[serde(default)]
    errors: Vec<ApiError>,
    #[serde(default)]
    clerk_trace_id: Option<String>,
}

/// An [`Error::Api`] from a raw error body, which may not be Clerk's JSON at all.
pub(crate) fn error_from_body(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
    let parsed: LenientErrorBody = serde_json::from_slice(body).unwrap_or_default();
    api_error(status, headers, parsed.errors, parsed.clerk_trace_id)
}

fn api_error(
    status: StatusCode,
    headers: &HeaderMap,
    errors: Vec<ApiError>,
    trace_id: Option<String>,
) -> Error {
    let trace_id = trace_id.or_else(|| header_str(headers, &CLERK_TRACE_ID).map(str::to_owned));
    Error::Api { status, errors, trace_id, retry_after: retry_after(headers) }
}

fn from_generated(error: types::ClerkError) -> ApiError {
    let mut converted = ApiError::new(error.code, error.message, error.long_message);
    converted.meta = error.meta;
    converted
}

fn header_str<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

/// `Retry-After` as a delay: whole seconds, or an HTTP date (a date in the past is zero).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = header_str(headers, &reqwest::header::RETRY_AFTER)?;
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(std::time::SystemTime::now()).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(reqwest::header::RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        let later = std::time::SystemTime::now() + Duration::from_secs(120);
        let date = HeaderValue::from_str(&httpdate::fmt_http_date(later)).unwrap();
        headers.insert(reqwest::header::RETRY_AFTER, date);
        let delay = retry_after(&headers).unwrap();
        assert!(delay > Duration::from_secs(100) && delay <= Duration::from_secs(120), "{delay:?}");
        headers.insert(reqwest::header::RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn non_json_error_bodies_still_give_api_errors() {
        let mut headers = HeaderMap::new();
        headers.insert(CLERK_TRACE_ID, HeaderValue::from_static("abc"));
        let error = error_from_body(StatusCode::BAD_GATEWAY, &headers, b"<html>bad gateway</html>");
        match error {
            Error::Api { status, errors, trace_id, .. } => {
                assert_eq!(status, StatusCode::BAD_GATEWAY);
                assert!(errors.is_empty());
                assert_eq!(trace_id.as_deref(), Some("abc"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn decode_errors_name_the_field() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Page {
            data: Vec<Item>,
        }
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Item {
            name: String,
        }
        let error = decode::<Page>(StatusCode::OK, br#"{"data":[{"name":"a"},{"name":7}]}"#).unwrap_err();
        match error {
            Error::Decode { path, snippet, .. } => {
                assert_eq!(path, "data[1].name");
                assert!(snippet.starts_with("{\"data\""));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
