//! Asking Clerk about an opaque token or an API key, through the crate's one
//! request path, and reading the answer into the verifier's contract: a
//! verified value, a [`Reason`] when the answer is about the token, or
//! [`Unavailable`] when it is not.

use super::error::{Reason, Unavailable, VerifyError};
use super::verified::{VerifiedApiKey, VerifiedM2mToken, VerifiedOAuthToken};
use crate::client::Clerk;
use crate::error::Error;
use crate::m2m::TokenFormat;
use crate::oauth::OAuthTokenVerification;
use serde_json::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// When an answer is read: the time and the leeway on expiries.
#[derive(Clone, Copy)]
pub(super) struct At {
    pub(super) now: SystemTime,
    pub(super) leeway: Duration,
}

impl At {
    /// Refuses what Clerk reports revoked or expired, or whose expiry (in
    /// milliseconds) has passed beyond the leeway.
    fn check(
        self,
        revoked: bool,
        expired: bool,
        expiration: Option<f64>,
    ) -> Result<Option<SystemTime>, Reason> {
        if revoked {
            return Err(Reason::Revoked);
        }
        let expires_at = expiration.and_then(millis_to_time);
        // A leeway too large to add to the expiry is never reached.
        let past = |at: SystemTime| at.checked_add(self.leeway).is_some_and(|limit| self.now >= limit);
        if expired || expires_at.is_some_and(past) {
            return Err(Reason::Expired);
        }
        Ok(expires_at)
    }
}

/// `verifyM2MToken`.
pub(super) async fn m2m_token(
    clerk: &Clerk,
    token: &str,
    at: impl FnOnce() -> At,
) -> Result<VerifiedM2mToken, VerifyError> {
    let response = clerk.m2m().verify_token(token).await.map_err(classify)?;
    let expires_at = at().check(response.revoked, response.expired, response.expiration)?;
    Ok(VerifiedM2mToken {
        machine_id: response.subject,
        token_id: response.id,
        scopes: response.scopes,
        claims: response.claims.unwrap_or(Value::Null),
        issued_at: millis_to_time(response.created_at),
        expires_at,
        format: TokenFormat::Opaque,
    })
}

/// `verifyApiKey`, through [`Clerk::api_keys`].
pub(super) async fn api_key(
    clerk: &Clerk,
    secret: &str,
    at: impl FnOnce() -> At,
) -> Result<VerifiedApiKey, VerifyError> {
    let key = clerk.api_keys().verify(secret).await.map_err(classify)?;
    let expires_at = at().check(key.revoked, key.expired, key.expiration)?;
    let of = |prefix: &str| key.subject.starts_with(prefix).then(|| key.subject.clone());
    Ok(VerifiedApiKey {
        user_id: of("user_"),
        org_id: of("org_"),
        id: key.id,
        name: key.name,
        subject: key.subject,
        key_type: key.key_type,
        scopes: key.scopes,
        claims: key.claims,
        created_at: millis_to_time(key.created_at),
        expires_at,
    })
}

/// `verifyOAuthAccessToken`, through [`Clerk::oauth_access_tokens`].
pub(super) async fn oauth_token(
    clerk: &Clerk,
    token: &str,
    at: impl FnOnce() -> At,
) -> Result<VerifiedOAuthToken, VerifyError> {
    match clerk.oauth_access_tokens().verify(token).await.map_err(classify)? {
        OAuthTokenVerification::Token(record) => {
            let expires_at = at().check(record.revoked, record.expired, record.expiration)?;
            Ok(VerifiedOAuthToken {
                token_id: record.id,
                user_id: record.subject,
                client_id: record.client_id,
                scopes: record.scopes,
                audience: Vec::new(),
                issued_at: millis_to_time(record.created_at),
                expires_at,
                format: TokenFormat::Opaque,
            })
        }
        // `{"active": false}`: "a JWT access token is not active (expired)".
        OAuthTokenVerification::Inactive => Err(Reason::Expired.into()),
    }
}

/// Clerk's failure as the verifier's contract: a 4xx about the token
/// (400, 404, 410, 422) is a refusal; anything else (this service's key
/// refused with 401/403, a 429, a 5xx, no answer, an answer that does not
/// decode) is not the token's fault.
pub(super) fn classify(error: Error) -> VerifyError {
    match &error {
        Error::Api { status, .. } if matches!(status.as_u16(), 400 | 404 | 410 | 422) => {
            let reason = match (status.as_u16(), error.code()) {
                (_, Some("token_revoked" | "api_key_revoked")) => Reason::Revoked,
                (_, Some("token_expired" | "api_key_expired")) => Reason::Expired,
                (404, _) => Reason::NotFound,
                (status, code) => {
                    Reason::RefusedByClerk { status, code: code.unwrap_or_default().to_owned() }
                }
            };
            VerifyError::Refused(reason)
        }
        // The facades check the token's text first (empty, too long for the spec).
        Error::InvalidInput { reason, .. } => VerifyError::Refused(Reason::malformed(reason.clone())),
        _ => VerifyError::Unavailable(Unavailable::from(error)),
    }
}

/// A timestamp in milliseconds since the epoch (as Clerk sends them, `f64`) as a time.
pub(super) fn millis_to_time(millis: f64) -> Option<SystemTime> {
    if !millis.is_finite() || !(0.0..=1e17).contains(&millis) {
        return None;
    }
    UNIX_EPOCH.checked_add(Duration::from_millis(millis as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;
    use reqwest::StatusCode;

    #[test]
    fn timestamps_convert_safely() {
        assert_eq!(millis_to_time(1500.0), Some(UNIX_EPOCH + Duration::from_millis(1500)));
        assert_eq!(millis_to_time(f64::NAN), None);
        assert_eq!(millis_to_time(-1.0), None);
        assert_eq!(millis_to_time(1e18), None);
    }

    fn api(status: u16, code: &str) -> Error {
        Error::Api {
            status: StatusCode::from_u16(status).unwrap(),
            errors: vec![ApiError::new(code, "m", "l")],
            trace_id: None,
            retry_after: None,
        }
    }

    #[test]
    fn clerks_answers_are_classified_once() {
        let refused = |status, code| classify(api(status, code)).reason().cloned();
        assert_eq!(refused(404, "resource_not_found"), Some(Reason::NotFound));
        assert_eq!(refused(400, "token_revoked"), Some(Reason::Revoked));
        assert_eq!(refused(400, "token_expired"), Some(Reason::Expired));
        assert_eq!(
            refused(422, "form_param_invalid"),
            Some(Reason::RefusedByClerk { status: 422, code: "form_param_invalid".into() })
        );
        for status in [401, 403, 429, 500, 502, 503] {
            assert!(classify(api(status, "x")).is_unavailable(), "{status}");
        }
    }

    #[test]
    fn revoked_and_expired_answers_are_refusals() {
        let at = At { now: UNIX_EPOCH + Duration::from_secs(100), leeway: Duration::from_secs(5) };
        assert_eq!(at.check(true, false, None), Err(Reason::Revoked));
        assert_eq!(at.check(false, true, None), Err(Reason::Expired));
        assert_eq!(at.check(false, false, Some(94_000.0)), Err(Reason::Expired));
        assert!(at.check(false, false, Some(96_000.0)).is_ok(), "within the leeway");
        assert_eq!(at.check(false, false, None), Ok(None));
    }
}
