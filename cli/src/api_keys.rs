//! `clerk-machines api-keys ...` and `oauth verify`: the commands and their
//! calls on the library's `clerk.api_keys()` and `clerk.oauth_access_tokens()`.

use crate::output::Render;
use crate::views::{ApiKeySecret, ApiKeys, RevokedApiKey};
use crate::{arg_or_stdin, json_arg, Failure, Global};
use clap::Subcommand;
use futures::TryStreamExt;
use std::time::Duration;

#[derive(Subcommand, Debug)]
pub enum ApiKeysCmd {
    /// Create an API key for a user, an organization or a machine; prints its secret.
    Create {
        /// Name (at least 3 characters).
        name: String,
        /// Owner: user_..., org_... or mch_...
        subject: String,
        /// Description.
        #[arg(long)]
        description: Option<String>,
        /// A scope (repeatable).
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// Custom claims, as JSON.
        #[arg(long, value_name = "JSON")]
        claims: Option<String>,
        /// Lifetime in seconds (default: never expires).
        #[arg(long, value_name = "SECONDS")]
        expires_in: Option<u64>,
        /// The user creating it (user_...).
        #[arg(long, value_name = "USER_ID")]
        created_by: Option<String>,
    },
    /// List a subject's API keys (valid ones unless --include-invalid).
    List {
        /// Owner: user_..., org_... or mch_...
        subject: String,
        /// Also list revoked and expired keys.
        #[arg(long)]
        include_invalid: bool,
        /// Search text (a key's id, or part of its name).
        #[arg(long)]
        query: Option<String>,
        /// Page size (1-100).
        #[arg(long)]
        limit: Option<u32>,
        /// Keys to skip.
        #[arg(long, default_value_t = 0)]
        offset: u64,
        /// Fetch every page.
        #[arg(long)]
        all: bool,
    },
    /// Show an API key (never its secret).
    Get { api_key_id: String },
    /// Change an API key's description, scopes, claims, owner or expiry.
    Update {
        api_key_id: String,
        /// New description.
        #[arg(long)]
        description: Option<String>,
        /// New scopes, replacing the old (repeatable).
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// New custom claims, as JSON.
        #[arg(long, value_name = "JSON")]
        claims: Option<String>,
        /// New owner: user_..., org_... or mch_...
        #[arg(long)]
        subject: Option<String>,
        /// Expire this many seconds from now.
        #[arg(long, value_name = "SECONDS")]
        expires_in: Option<u64>,
    },
    /// Delete an API key.
    Delete { api_key_id: String },
    /// Print an API key's secret.
    Secret { api_key_id: String },
    /// Revoke an API key at once.
    Revoke {
        api_key_id: String,
        /// Why (kept with the key).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Ask Clerk whether a secret is a valid API key, and whose (exit 1 if not).
    Verify {
        /// The secret; `-` reads it from stdin (keeps it out of the process list).
        secret: String,
    },
}

pub async fn run(global: &Global, cmd: ApiKeysCmd) -> Result<Box<dyn Render>, Failure> {
    let clerk = global.instance()?;
    let keys = clerk.api_keys();
    Ok(match cmd {
        ApiKeysCmd::Create { name, subject, description, scopes, claims, expires_in, created_by } => {
            let mut request = keys.create(name, subject).scopes(scopes);
            if let Some(description) = description {
                request = request.description(description);
            }
            if let Some(claims) = json_arg("--claims", claims)? {
                request = request.claims(claims);
            }
            if let Some(seconds) = expires_in {
                request = request.seconds_until_expiration(Duration::from_secs(seconds));
            }
            if let Some(user) = created_by {
                request = request.created_by(user);
            }
            Box::new(request.await?)
        }
        ApiKeysCmd::List { subject, include_invalid, query, limit, offset, all } => {
            let mut request = keys.list(subject).offset(offset);
            if include_invalid {
                request = request.include_invalid(true);
            }
            if let Some(query) = query {
                request = request.query(query);
            }
            if let Some(limit) = limit {
                request = request.limit(limit);
            }
            if all {
                let items: Vec<_> = request.into_stream().try_collect().await?;
                let total = items.len() as u64;
                Box::new(ApiKeys(clerk_machines::Page::new(items, total)))
            } else {
                Box::new(ApiKeys(request.await?))
            }
        }
        ApiKeysCmd::Get { api_key_id } => Box::new(keys.get(&api_key_id).await?),
        ApiKeysCmd::Update { api_key_id, description, scopes, claims, subject, expires_in } => {
            let mut request = keys.update(api_key_id);
            if let Some(description) = description {
                request = request.description(description);
            }
            if !scopes.is_empty() {
                request = request.scopes(scopes);
            }
            if let Some(claims) = json_arg("--claims", claims)? {
                request = request.claims(claims);
            }
            if let Some(subject) = subject {
                request = request.subject(subject);
            }
            if let Some(seconds) = expires_in {
                request = request.seconds_until_expiration(Duration::from_secs(seconds));
            }
            Box::new(request.await?)
        }
        ApiKeysCmd::Delete { api_key_id } => Box::new(keys.delete(&api_key_id).await?),
        ApiKeysCmd::Secret { api_key_id } => Box::new(ApiKeySecret(keys.secret(&api_key_id).await?)),
        ApiKeysCmd::Revoke { api_key_id, reason } => {
            let mut request = keys.revoke(api_key_id);
            if let Some(reason) = reason {
                request = request.reason(reason);
            }
            Box::new(RevokedApiKey(request.await?))
        }
        ApiKeysCmd::Verify { secret } => Box::new(keys.verify(&arg_or_stdin(secret)?).await?),
    })
}

#[derive(Subcommand, Debug)]
pub enum OauthCmd {
    /// Ask Clerk about an OAuth access token (opaque oat_... or JWT): its
    /// record, or `status: inactive` for an expired JWT (exit 1 if unknown).
    Verify {
        /// The token; `-` reads it from stdin (keeps it out of the process list).
        token: String,
    },
}

pub async fn oauth(global: &Global, cmd: OauthCmd) -> Result<Box<dyn Render>, Failure> {
    let clerk = global.instance()?;
    match cmd {
        OauthCmd::Verify { token } => {
            Ok(Box::new(clerk.oauth_access_tokens().verify(&arg_or_stdin(token)?).await?))
        }
    }
}
