//! M2M token calls for the CLI, on the library's `clerk.m2m()` layer.

use crate::Failure;
use clerk_machines::m2m::TokenFormat;
use clerk_machines::{types, Clerk};
use std::time::Duration;

/// Mints a token (the client must hold a machine secret key).
pub async fn create(
    clerk: &Clerk,
    jwt: bool,
    expires_in: Option<u64>,
    claims: Option<serde_json::Value>,
) -> Result<types::CreateM2mTokenResponse, Failure> {
    let mut request = clerk.m2m().create_token();
    if jwt {
        request = request.token_format(TokenFormat::Jwt);
    }
    if let Some(seconds) = expires_in {
        request = request.seconds_until_expiration(Duration::from_secs(seconds));
    }
    if let Some(claims) = claims {
        request = request.claims(claims);
    }
    Ok(request.await?)
}

/// One page of a machine's tokens.
pub async fn list(
    clerk: &Clerk,
    subject: &str,
    revoked: bool,
    expired: bool,
    limit: u32,
    offset: u64,
) -> Result<clerk_machines::Page<types::GetM2mTokensResponseM2mTokensItem>, Failure> {
    Ok(clerk.m2m().list_tokens(subject).revoked(revoked).expired(expired).limit(limit).offset(offset).await?)
}

/// Revokes a token by id.
pub async fn revoke(
    clerk: &Clerk,
    token_id: &str,
    reason: Option<String>,
) -> Result<types::RevokeM2mTokenResponse, Failure> {
    let mut request = clerk.m2m().revoke_token(token_id);
    if let Some(reason) = reason {
        request = request.reason(reason);
    }
    Ok(request.await?)
}

/// Asks Clerk whether a token is valid.
pub async fn verify(clerk: &Clerk, token: &str) -> Result<types::VerifyM2mTokenResponse, Failure> {
    Ok(clerk.m2m().verify_token(token).await?)
}
