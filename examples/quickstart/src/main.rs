//! The whole machines + M2M lifecycle in one run:
//!
//! ```sh
//! cargo run -p quickstart                         # against an embedded fake Clerk
//! CLERK_SECRET_KEY=sk_test_... cargo run -p quickstart   # against your Clerk instance
//! ```
//!
//! Creates two machines, lets one call the other, lists them, rotates a
//! secret key, mints an M2M token with one machine's key and verifies it with
//! the other's, mints a JWT and verifies it locally against the instance's
//! JWKS, creates an API key for a machine, verifies and revokes it, then
//! deletes what it created (also when a step fails).

use clerk_machines::m2m::TokenFormat;
use clerk_machines::verify::Verifier;
use clerk_machines::{types, Clerk, SecretString};
use clerk_machines_fake::FakeClerk;
use std::error::Error;
use std::time::Duration;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

#[tokio::main]
async fn main() -> Result<()> {
    // With CLERK_SECRET_KEY, the real API (or CLERK_API_URL); without, a fake on 127.0.0.1.
    let (clerk, _fake) = match std::env::var("CLERK_SECRET_KEY") {
        Ok(_) => {
            let clerk = Clerk::from_env()?;
            println!("CLERK_SECRET_KEY is set: using the Clerk API at {}", clerk.base_url());
            (clerk, None)
        }
        Err(_) => {
            let fake = FakeClerk::start().await?;
            println!("CLERK_SECRET_KEY is not set: using the embedded fake Clerk at {}", fake.url());
            println!("(an in-memory stand-in for api.clerk.com; set CLERK_SECRET_KEY to run against your instance)");
            (fake.clerk().clone(), Some(fake))
        }
    };

    let mut created = Vec::new();
    let outcome = lifecycle(&clerk, &mut created).await;

    println!("\n9. Clean up");
    for id in created.iter().rev() {
        match clerk.machines().delete(id).await {
            Ok(deleted) => println!("   deleted {}", deleted.id),
            Err(e) if e.is_not_found() => {}
            Err(e) => println!("   could not delete {id}: {e}"),
        }
    }
    match &outcome {
        Ok(()) => println!("\nDone: every step worked."),
        Err(e) => println!("\nFailed: {e}"),
    }
    outcome
}

async fn lifecycle(clerk: &Clerk, created: &mut Vec<String>) -> Result<()> {
    let machines = clerk.machines();

    println!("\n1. Create two machines");
    let api = machines.create("quickstart-api", Vec::<String>::new(), None).await?;
    created.push(api.id.clone());
    println!("   {}  {}  (secret key {})", api.id, api.name, masked(&api.secret_key));
    let worker =
        machines.create("quickstart-worker", Vec::<String>::new(), Some(Duration::from_secs(600))).await?;
    created.push(worker.id.clone());
    println!(
        "   {}  {}  (secret key {}, tokens live 600 s)",
        worker.id,
        worker.name,
        masked(&worker.secret_key)
    );

    println!("\n2. Let {} call {}", worker.name, api.name);
    let scope = machines.add_scope(&worker.id, &api.id).await?;
    println!("   scope {} -> {}", scope.from_machine_id, scope.to_machine_id);

    println!("\n3. List machines named quickstart-*");
    let page = machines.list().query("quickstart-").await?;
    for machine in &page.items {
        let scoped: Vec<&str> = machine.scoped_machines.iter().map(|m| m.id.as_str()).collect();
        println!("   {}  {:<18} may call {:?}", machine.id, machine.name, scoped);
    }
    println!("   ({} of {} machines)", page.items.len(), page.total_count);

    println!("\n4. Rotate {}'s secret key (the old one keeps working for 60 s)", worker.name);
    let rotated = machines.rotate_secret_key(&worker.id, Duration::from_secs(60)).await?;
    println!("   new secret key {}", masked(&rotated.secret));

    println!("\n5. Mint an M2M token as {} (with its new key)", worker.name);
    let as_worker = clerk.with_secret_key(rotated.secret.clone())?;
    let token =
        as_worker.m2m().create_token().seconds_until_expiration(Duration::from_secs(300)).send().await?;
    println!("   token {}  id {}", masked(&token.token), token.id);
    let scopes: Vec<String> = token.scopes.iter().map(|s| s.to_string()).collect();
    println!("   subject {}  scopes {:?}  expires in {:.0} s", token.subject, scopes, expires_in(&token));

    println!("\n6. Verify the token as {} (the machine it may call)", api.name);
    let as_api = clerk.with_secret_key(api.secret_key.clone())?;
    let verified = as_api.m2m().verify_token(token.token.expose_secret()).await?;
    println!(
        "   valid: id {}  subject {}  revoked {}  expired {}",
        verified.id, verified.subject, verified.revoked, verified.expired
    );

    println!("\n7. Mint a JWT-format token and verify it locally (no call to Clerk per request)");
    let jwt = as_worker.m2m().create_token().token_format(TokenFormat::Jwt).send().await?;
    let verifier = Verifier::builder(clerk).scoped_to(api.id.as_str()).build()?;
    let verified = verifier.verify(jwt.token.expose_secret()).await?;
    let local = verified.as_m2m().ok_or("not an M2M token")?;
    println!("   valid: machine {}  token {}  scopes {:?}", local.machine_id, local.token_id, local.scopes);

    println!("\n8. Create an API key for {}, verify it, revoke it", worker.name);
    let key = clerk
        .api_keys()
        .create("quickstart-key", worker.id.as_str())
        .scopes(["reports:read"])
        .seconds_until_expiration(Duration::from_secs(3600))
        .await?;
    println!("   {}  {}  (secret {})", key.api_key.id, key.api_key.name, masked(&key.secret));
    let verified = clerk.api_keys().verify(key.secret.expose_secret()).await?;
    println!("   valid: subject {}  scopes {:?}", verified.subject, verified.scopes);
    let revoked = clerk.api_keys().revoke(&key.api_key.id).reason("quickstart done").await?;
    println!("   revoked: {}  ({})", revoked.revoked, revoked.revocation_reason.as_deref().unwrap_or(""));
    match clerk.api_keys().verify(key.secret.expose_secret()).await {
        Err(e) if e.is_not_found() => println!("   verifying it again: refused, as it should be"),
        Err(e) => return Err(e.into()),
        Ok(_) => return Err("a revoked API key still verified".into()),
    }
    clerk.api_keys().delete(&key.api_key.id).await?;
    Ok(())
}

fn expires_in(token: &types::CreateM2mTokenResponse) -> f64 {
    token.expiration.map_or(f64::INFINITY, |at| (at - token.created_at) / 1000.0)
}

/// The first characters of a secret, enough to tell keys apart in the output.
fn masked(secret: &SecretString) -> String {
    let text = secret.expose_secret();
    format!("{}…", text.chars().take(8).collect::<String>())
}
