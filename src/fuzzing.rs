//! Entry points for the fuzz targets in `fuzz/` (not part of the API; may
//! change at any time).

use crate::api::types;
use crate::error::{redact_secrets, snippet, Error};
use crate::request::{decode, error_from_body, retry_after};
use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::StatusCode;

const STATUSES: [u16; 12] = [200, 201, 400, 401, 403, 404, 409, 422, 429, 500, 502, 503];

/// Feeds `data` to every response decoder and to the error-body path, as the
/// client does with a response: the first byte picks the status, the first
/// line of the rest is also tried as a `Retry-After` value, and the rest is
/// the body. Panics only if an invariant of those paths breaks.
pub fn decode_response(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else { return };
    let status = StatusCode::from_u16(STATUSES[usize::from(selector) % STATUSES.len()])
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);

    check::<types::Machine>(status, body);
    check::<types::ListMachinesResponse>(status, body);
    check::<types::CreateMachineResponse>(status, body);
    check::<types::DeleteMachineResponse>(status, body);
    check::<types::GetMachineSecretKeyResponse>(status, body);
    check::<types::RotateMachineSecretKeyResponse>(status, body);
    check::<types::MachineScope>(status, body);
    check::<types::DeleteMachineScopeResponse>(status, body);
    check::<types::GetM2mTokensResponse>(status, body);
    check::<types::CreateM2mTokenResponse>(status, body);
    check::<types::VerifyM2mTokenResponse>(status, body);
    check::<types::RevokeM2mTokenResponse>(status, body);
    check::<types::ClerkErrors>(status, body);
    check::<types::Jwks>(status, body);

    let mut headers = HeaderMap::new();
    let first_line = body.split(|&b| b == b'\n').next().unwrap_or_default();
    if let Ok(value) = HeaderValue::from_bytes(first_line) {
        headers.insert(RETRY_AFTER, value.clone());
        headers.insert(crate::request::CLERK_TRACE_ID, value);
        let _ = retry_after(&headers);
    }
    let error = error_from_body(status, &headers, body);
    assert!(matches!(error, Error::Api { .. }), "an error body always gives Error::Api");
    let _ = (error.to_string(), format!("{error:?}"), error.code(), error.trace_id());

    let excerpt = snippet(body, Error::SNIPPET_CHARS);
    assert!(excerpt.chars().count() <= Error::SNIPPET_CHARS);
    let _ = redact_secrets(&String::from_utf8_lossy(body));
}

fn check<T: serde::de::DeserializeOwned + std::fmt::Debug>(status: StatusCode, body: &[u8]) {
    match decode::<T>(status, body) {
        Ok(value) => {
            let _ = format!("{value:?}");
        }
        Err(error) => {
            assert!(matches!(error, Error::Decode { .. }), "decoding fails only with Error::Decode");
            let _ = (error.to_string(), format!("{error:?}"));
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sample_inputs_do_not_panic() {
        for input in [
            &b""[..],
            b"\x00{}",
            b"\x08{\"errors\":[{\"message\":\"m\",\"long_message\":\"l\",\"code\":\"c\"}]}",
            b"\x0b<html>",
            b"\x00{\"secret\":\"\\",
            b"\x01\xff\xfe\"secret_key\" :   \"",
        ] {
            super::decode_response(input);
        }
    }
}
