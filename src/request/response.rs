//! Turning what Clerk answered into a value or a typed [`Error`]: success
//! bodies decoded with the failing field named, Clerk's error bodies (or
//! whatever a proxy sent instead) as [`Error::Api`], `Retry-After` read.

use crate::api::types;
use crate::error::{snippet, ApiError, Error, Result};
use reqwest::header::{HeaderMap, HeaderName};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Header in which Clerk may return the trace id of a request.
pub(crate) const CLERK_TRACE_ID: HeaderName = HeaderName::from_static("clerk-trace-id");

/// An error body type of the generated client that [`send`](crate::raw::send)
/// can turn into [`Error::Api`]: Clerk's `ClerkErrors` (every documented
/// error body, after the build's repairs), or `()` for an operation that
/// documents none.
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

/// Status and headers of the last response of a call, recorded by the
/// request path so that errors the generated code reports without them (an
/// error body that does not decode) can still say what Clerk answered.
///
/// Small on purpose (the headers are boxed, and kept only for error
/// statuses): the task-local slot holding it is moved in and out on every
/// poll of a call.
#[derive(Clone, Debug)]
pub(crate) struct ResponseMeta {
    pub(crate) status: StatusCode,
    pub(crate) headers: Option<Box<HeaderMap>>,
}

/// Converts an error of the generated client. A success status the spec did
/// not list (for example `200` where `201` is documented) is decoded as `T`
/// rather than reported as an error, hence the `Ok` arm.
pub(crate) async fn convert<T: DeserializeOwned, E: ErrorBody>(
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
            Some(meta) if !meta.status.is_success() => {
                error_from_body(meta.status, meta.headers.as_deref().unwrap_or(&HeaderMap::new()), &body)
            }
            Some(meta) => decode_error::<T>(meta.status, &body),
            // `exec` records every response's status, so this arm is reached
            // only by a call that did not go through it: a documented
            // success status is the best guess.
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
        let message = if crate::spec::SECRET_FIELDS.contains(&field) {
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

pub(crate) fn api_error(
    status: StatusCode,
    headers: &HeaderMap,
    errors: Vec<ApiError>,
    trace_id: Option<String>,
) -> Error {
    let trace_id = trace_id.or_else(|| header_str(headers, &CLERK_TRACE_ID).map(str::to_owned));
    Error::Api { status, errors, trace_id, retry_after: retry_after(headers) }
}

pub(crate) fn from_generated(error: types::ClerkError) -> ApiError {
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
    use reqwest::header::HeaderValue;

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
