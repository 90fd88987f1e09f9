//! A called service behind `AuthLayer` accepting M2M tokens and API keys,
//! and callers using it.
//!
//! ```sh
//! cargo run --example callee
//! ```
//!
//! Without `CLERK_SECRET_KEY` it runs against the embedded fake Clerk. It
//! creates two machines (`reports-api`, the service, and `reports-client`,
//! which may call it), serves two axum routes behind the layer on 127.0.0.1
//! (`/report` for either kind, `/scripts` for API keys only), calls them with
//! tokens from an `M2mTokenSource` (a JWT, verified locally, and an opaque
//! token, verified by Clerk with the service's own machine key) and with an
//! API key created for the client machine (verified by Clerk with the instance
//! key), then shows rejected calls, and deletes what it created.

use axum::routing::get;
use axum::Router;
use clerk_machines::m2m::{M2mTokenSource, TokenFormat};
use clerk_machines::server::AuthLayer;
use clerk_machines::verify::{TokenKind, Verified, VerifiedApiKey, Verifier};
use clerk_machines::Clerk;
use clerk_machines_fake::FakeClerk;
use std::error::Error;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// Who is calling, and with what: an M2M token or an API key.
async fn report(caller: Verified) -> String {
    match &caller {
        Verified::M2m(token) => {
            format!("report for machine {} (token {}, {})", token.machine_id, token.token_id, token.format)
        }
        Verified::ApiKey(key) => {
            format!("report for {} (API key {:?}, scopes {:?})", key.subject, key.name, key.scopes)
        }
        other => format!("report for {} ({})", other.subject(), other.kind()),
    }
}

/// API keys only: an M2M token gets 401 here.
async fn scripts(key: VerifiedApiKey) -> String {
    format!("scripts of {} (API key {:?})", key.subject, key.name)
}

#[tokio::main]
async fn main() -> Result<()> {
    let fake;
    let clerk = match std::env::var_os("CLERK_SECRET_KEY") {
        Some(_) => Clerk::from_env()?,
        None => {
            fake = FakeClerk::start().await?;
            println!("CLERK_SECRET_KEY is not set: using the embedded fake Clerk at {}", fake.url());
            fake.clerk().clone()
        }
    };
    let machines = clerk.machines();
    let api = machines.create("reports-api", Vec::<String>::new(), None).await?;
    let client = machines.create("reports-client", [api.id.as_str()], None).await?;
    let result = run(&clerk, &api, &client).await;
    machines.delete(&client.id).await?;
    machines.delete(&api.id).await?;
    result
}

async fn run(
    clerk: &Clerk,
    api: &clerk_machines::types::CreateMachineResponse,
    client: &clerk_machines::types::CreateMachineResponse,
) -> Result<()> {
    // The called service accepts two kinds: M2M tokens (JWTs checked locally
    // against the instance's keys, opaque tokens by Clerk with the service's
    // own machine key, so that Clerk also checks the token was granted access
    // to this machine) and API keys (checked by Clerk with the instance key).
    let own_key = clerk.with_secret_key(api.secret_key.clone())?;
    let verifier = Verifier::builder(clerk)
        .accept([TokenKind::M2m, TokenKind::ApiKey])
        .m2m_opaque_via(&own_key)
        .scoped_to(api.id.as_str())
        .build()?;
    verifier.refresh_keys().await?;
    let app = Router::new()
        .route("/report", get(report))
        .route("/scripts", get(scripts))
        .layer(AuthLayer::new(verifier));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let url = format!("{base}/report");
    tokio::spawn(async move { axum::serve(listener, app).await });
    println!("\nreports-api ({}) serves {base}/report and /scripts behind AuthLayer", api.id);

    // The calling side: a token source with the client's machine key.
    let http = clerk_machines::http_client_builder()?.build()?;
    for format in [TokenFormat::Jwt, TokenFormat::Opaque] {
        let tokens = M2mTokenSource::from_clerk(&clerk.with_secret_key(client.secret_key.clone())?)
            .token_format(format)
            .build()?;
        let token = tokens.token().await?;
        let response = http.get(&url).bearer_auth(token.expose_secret()).send().await?;
        let kind = if format == TokenFormat::Jwt { "a JWT" } else { "an opaque token" };
        println!("\nGET /report with {kind} from reports-client");
        println!("   {} {}", response.status(), response.text().await?);
    }

    api_key_calls(clerk, client, &http, &base).await?;

    println!("\nGET /report without a token");
    let response = http.get(&url).send().await?;
    print_rejection(response).await?;

    println!("\nGET /report with a token of a machine not allowed to call reports-api");
    let stranger = clerk.machines().create("reports-stranger", Vec::<String>::new(), None).await?;
    let as_stranger = clerk.with_secret_key(stranger.secret_key.clone())?;
    let token = as_stranger.m2m().create_token().token_format(TokenFormat::Jwt).await?;
    let response = http.get(&url).bearer_auth(token.token.expose_secret()).send().await?;
    print_rejection(response).await?;
    clerk.machines().delete(&stranger.id).await?;
    Ok(())
}

/// An API key for the client machine, sent to both routes; then an M2M token
/// to the API-key-only route.
async fn api_key_calls(
    clerk: &Clerk,
    client: &clerk_machines::types::CreateMachineResponse,
    http: &reqwest::Client,
    base: &str,
) -> Result<()> {
    let created = clerk
        .api_keys()
        .create("reports-nightly-script", client.id.as_str())
        .scopes(["reports:read"])
        .await?;
    for path in ["/report", "/scripts"] {
        let response =
            http.get(format!("{base}{path}")).bearer_auth(created.secret.expose_secret()).send().await?;
        println!("\nGET {path} with an API key of reports-client");
        println!("   {} {}", response.status(), response.text().await?);
    }
    println!("\nGET /scripts with an M2M token (API keys only there)");
    let as_client = clerk.with_secret_key(client.secret_key.clone())?;
    let token = as_client.m2m().create_token().token_format(TokenFormat::Jwt).await?;
    let response =
        http.get(format!("{base}/scripts")).bearer_auth(token.token.expose_secret()).send().await?;
    print_rejection(response).await?;
    clerk.api_keys().delete(&created.api_key.id).await?;
    Ok(())
}

async fn print_rejection(response: reqwest::Response) -> Result<()> {
    let status = response.status();
    let challenge =
        response.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or("-").to_owned();
    println!("   {status}  WWW-Authenticate: {challenge}");
    println!("   {}", response.text().await?);
    Ok(())
}
