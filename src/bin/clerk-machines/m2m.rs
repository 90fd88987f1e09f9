//! M2M token calls for the CLI, on the generated builders.
//!
//! These are small on purpose: when the library's `clerk.m2m()` layer lands,
//! each body becomes one call to it.

use crate::Failure;
use clerk_machines::{types, Clerk};

type Raw<T> = Result<progenitor_client::ResponseValue<T>, progenitor_client::Error<types::ClerkErrors>>;

/// Converts a generated client's result into the CLI's.
async fn done<T>(result: Raw<T>) -> Result<T, Failure> {
    use progenitor_client::Error as Gen;
    match result {
        Ok(value) => Ok(value.into_inner()),
        Err(Gen::ErrorResponse(value)) => {
            let status = value.status().as_u16();
            let header_trace = trace_header(value.headers());
            let body = value.into_inner();
            Err(Failure::api(status, &body, header_trace))
        }
        Err(Gen::UnexpectedResponse(response)) => {
            // Statuses the spec does not list for M2M operations (401, 403, 5xx).
            let status = response.status().as_u16();
            let header_trace = trace_header(response.headers());
            let bytes = response.bytes().await.unwrap_or_default();
            let body: types::ClerkErrors = serde_json::from_slice(&bytes).unwrap_or(types::ClerkErrors {
                clerk_trace_id: None,
                errors: Vec::new(),
                meta: Default::default(),
            });
            Err(Failure::api(status, &body, header_trace))
        }
        Err(Gen::InvalidRequest(reason)) => Err(Failure::Usage(reason)),
        Err(other) => Err(Failure::Unreachable(other.to_string())),
    }
}

fn trace_header(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers.get("clerk-trace-id").and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// Mints a token (the client must hold a machine secret key).
pub async fn create(
    clerk: &Clerk,
    jwt: bool,
    seconds: Option<f64>,
    claims: Option<serde_json::Value>,
) -> Result<types::CreateM2mTokenResponse, Failure> {
    let format = if jwt {
        types::CreateM2mTokenBodyTokenFormat::Jwt
    } else {
        types::CreateM2mTokenBodyTokenFormat::Opaque
    };
    let body = types::CreateM2mTokenBody::builder()
        .token_format(Some(format))
        .seconds_until_expiration(seconds)
        .claims(claims);
    done(clerk.raw().create_m2m_token().body(body).send().await).await
}

/// One page of a machine's tokens.
pub async fn list(
    clerk: &Clerk,
    subject: &str,
    revoked: bool,
    expired: bool,
    limit: u64,
    offset: u64,
) -> Result<types::GetM2mTokensResponse, Failure> {
    let subject = types::GetM2mTokensSubject::try_from(subject.to_owned())
        .map_err(|e| Failure::Usage(format!("invalid subject: {e}")))?;
    let limit = std::num::NonZeroU64::new(limit)
        .ok_or_else(|| Failure::Usage("--limit must be at least 1".into()))?;
    let call = clerk
        .raw()
        .get_m2m_tokens()
        .subject(subject)
        .revoked(revoked)
        .expired(expired)
        .limit(limit)
        .offset(offset);
    done(call.send().await).await
}

/// Revokes a token by id.
pub async fn revoke(
    clerk: &Clerk,
    token_id: &str,
    reason: Option<String>,
) -> Result<types::RevokeM2mTokenResponse, Failure> {
    let id = types::RevokeM2mTokenM2mTokenId::try_from(token_id.to_owned())
        .map_err(|e| Failure::Usage(format!("invalid token id: {e}")))?;
    let body = types::RevokeM2mTokenBody::builder().revocation_reason(reason);
    done(clerk.raw().revoke_m2m_token().m2m_token_id(id).body(body).send().await).await
}

/// Asks Clerk whether a token is valid.
pub async fn verify(clerk: &Clerk, token: &str) -> Result<types::VerifyM2mTokenResponse, Failure> {
    let body = types::VerifyM2mTokenBody::builder().token(token.to_owned());
    done(clerk.raw().verify_m2m_token().body(body).send().await).await
}
