//! The M2M hot paths: `cargo bench --bench verify`.
//!
//! 1. **Local JWT verification**: a few thousand distinct Clerk-shaped M2M
//!    JWTs (RS256, RSA-2048, minted here with a bundled test key) verified by
//!    `Verifier::from_pem(..).verify` on one thread: each seen for the first
//!    time (`jwt_cache(0)`), and seen again (the default cache, warm);
//!    against one bare RSA-2048 signature verification (ring, from the key's
//!    modulus and exponent) on the same signing inputs. Thread CPU time per token,
//!    median of the rounds.
//! 2. **The server layer**: an axum handler called in-process (no sockets)
//!    through `AuthLayer` with a valid JWT seen before (the cache warm),
//!    against the same handler without the layer, and the verification
//!    alone: CPU per request.
//!    Then over HTTP on 127.0.0.1: requests per second with and without the
//!    layer, the same JWT sent either way (clients and server share this
//!    machine's cores).
//! 3. **Cached `M2mTokenSource::token()`**: nanoseconds per call that finds a
//!    fresh cached token, from 1 and 16 tasks.
//!
//! Environment:
//! - `CLERK_PERF_TOKENS=N` (default 2000), `CLERK_PERF_ROUNDS=N` (default 5);
//! - `CLERK_PERF_ONLY=jwt|layer|source`: one part;
//! - `CLERK_PERF_WRITE_TOKENS=DIR`: also write `tokens.json` and `public.pem`
//!   there, for `conformance/verify-bench.mjs` (`benches/verify-vs-clerk.sh`);
//! - `CLERK_PERF_LAYER=plain|verify|guarded` with `CLERK_PERF_ITERS=N`: only
//!   run that variant of the layer measurement N times and exit, for
//!   instruction counts under valgrind (`benches/instructions.sh`).

use axum::routing::get;
use axum::Router;
use clerk_machines::m2m::M2mTokenSource;
use clerk_machines::server::AuthLayer;
use clerk_machines::verify::{VerifiedM2mToken, Verifier};
use clerk_machines::ClerkConfig;
use clerk_machines_fake::{FakeClerk, JwtSigner, M2mClaims};
use rustix::time::{clock_gettime, ClockId};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tower_service::Service;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// CPU time of this thread.
fn thread_cpu() -> Duration {
    let t = clock_gettime(ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// CPU time of the whole process (all threads).
fn process_cpu() -> Duration {
    let t = clock_gettime(ClockId::ProcessCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// `count` distinct tokens, as Clerk mints them: distinct subjects, ids,
/// scopes and a custom claim.
fn mint(signer: &JwtSigner, count: usize) -> Vec<String> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    (0..count)
        .map(|i| {
            let claims =
                M2mClaims::new(format!("mch_{:027}", i), format!("mt_{:032x}", i), now, now + 86_400)
                    .scope("mch_2yGkLpQ7Y3rXSwtU24CzTk9I7Em")
                    .claim("seq", i);
            signer.mint(&claims)
        })
        .collect()
}

fn main() {
    let rounds = env_number("CLERK_PERF_ROUNDS", 5).max(1);
    let count = env_number("CLERK_PERF_TOKENS", 2000).max(1);
    let only = std::env::var("CLERK_PERF_ONLY").ok();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let signer = JwtSigner::bundled(0, "ins_bench").expect("an RSA key");
    let tokens = mint(&signer, count);
    if let Some(dir) = std::env::var_os("CLERK_PERF_WRITE_TOKENS") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::write(dir.join("tokens.json"), serde_json::to_vec(&tokens).unwrap()).unwrap();
        std::fs::write(dir.join("public.pem"), signer.public_key_pem()).unwrap();
    }
    let verifier = Verifier::from_pem(signer.public_key_pem()).build().expect("verifier");
    let uncached = Verifier::from_pem(signer.public_key_pem()).jwt_cache(0).build().expect("verifier");
    if let Ok(variant) = std::env::var("CLERK_PERF_LAYER") {
        let iters = env_number("CLERK_PERF_ITERS", 0);
        return layer_only(&runtime, &verifier, &tokens, &variant, iters);
    }
    println!("clerk-machines M2M hot paths ({count} tokens, {rounds} rounds)");
    if only.as_deref().is_none_or(|o| o == "jwt") {
        runtime.block_on(jwt(&uncached, &verifier, &tokens, rounds));
        bare_rsa(&signer.jwks(), &tokens, rounds);
    }
    if only.as_deref().is_none_or(|o| o == "layer") {
        runtime.block_on(layer(&verifier, &tokens, rounds));
        http(&verifier, &tokens);
    }
    if only.as_deref().is_none_or(|o| o == "source") {
        source(rounds);
    }
}

/// CPU per token, median of `rounds`, of `verify` over every token.
async fn per_token(verifier: &Verifier, tokens: &[String], rounds: usize) -> f64 {
    let mut per_token = Vec::new();
    for _ in 0..rounds {
        let start = thread_cpu();
        for token in tokens {
            let verified = verifier.verify(token).await.expect("a valid token");
            std::hint::black_box(verified);
        }
        per_token.push((thread_cpu() - start).as_secs_f64() / tokens.len() as f64);
    }
    median(per_token) * 1e6
}

async fn jwt(uncached: &Verifier, cached: &Verifier, tokens: &[String], rounds: usize) {
    // Warm-up round, checking every token verifies (and filling the cache).
    for token in tokens {
        uncached.verify(token).await.expect("a valid token");
        cached.verify(token).await.expect("a valid token");
    }
    let first = per_token(uncached, tokens, rounds).await;
    let again = per_token(cached, tokens, rounds).await;
    println!("\n## local JWT verification (Verifier::from_pem, one thread, median CPU per token)");
    println!(
        "rust, first seen (jwt_cache(0)): {} tokens x {rounds} rounds: {:.0} tokens/s, {first:.2} us",
        tokens.len(),
        1e6 / first
    );
    println!(
        "rust, seen again (cache warm):   {} tokens x {rounds} rounds: {:.0} tokens/s, {again:.3} us",
        tokens.len(),
        1e6 / again
    );
}

/// One bare RSA-2048 PKCS#1 v1.5 SHA-256 verification per token (ring, from
/// the modulus and exponent, the signature decoded beforehand): the floor of
/// a first-seen token.
fn bare_rsa(jwks: &serde_json::Value, tokens: &[String], rounds: usize) {
    use base64::Engine as _;
    use ring::signature::{RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256};
    let decode = |name: &str| {
        let text = jwks["keys"][0][name].as_str().expect("a JWK");
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).expect("base64url")
    };
    let key = RsaPublicKeyComponents { n: decode("n"), e: decode("e") };
    let inputs: Vec<(&str, Vec<u8>)> = tokens
        .iter()
        .map(|token| {
            let (input, signature) = token.rsplit_once('.').expect("a JWT");
            (input, base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(signature).expect("base64url"))
        })
        .collect();
    let mut per_token = Vec::new();
    for _ in 0..rounds {
        let start = thread_cpu();
        for (input, signature) in &inputs {
            key.verify(&RSA_PKCS1_2048_8192_SHA256, input.as_bytes(), signature).expect("a valid signature");
        }
        per_token.push((thread_cpu() - start).as_secs_f64() / inputs.len() as f64);
    }
    let us = median(per_token) * 1e6;
    println!(
        "bare RSA-2048 verification (ring):                         {:.0} verifications/s, {us:.2} us",
        1e6 / us
    );
}

async fn whoami(caller: VerifiedM2mToken) -> String {
    caller.machine_id
}

async fn hello() -> &'static str {
    "hello"
}

/// A request to `/`, with the token as a bearer header when given.
fn request(token: Option<&String>) -> http::Request<axum::body::Body> {
    let mut builder = http::Request::builder().uri("/");
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    builder.body(axum::body::Body::empty()).unwrap()
}

/// One variant of the layer measurement, `iters` requests, after a warm-up
/// pass over every path. valgrind counts only `layer_measured` (see
/// `benches/instructions.sh`), so key generation and minting are left out.
fn layer_only(
    runtime: &tokio::runtime::Runtime,
    verifier: &Verifier,
    tokens: &[String],
    variant: &str,
    iters: usize,
) {
    let plain: Router = Router::new().route("/", get(hello));
    let guarded: Router = Router::new().route("/", get(whoami)).layer(AuthLayer::new(verifier.clone()));
    runtime.block_on(async {
        for token in tokens {
            plain.clone().call(request(None)).await.unwrap();
            guarded.clone().call(request(Some(token))).await.unwrap();
            verifier.verify(token).await.unwrap();
        }
    });
    layer_measured(runtime, verifier, &plain, &guarded, tokens, variant, iters);
}

/// The measured requests (a plain function, so that valgrind can count
/// exactly what runs inside it).
#[inline(never)]
fn layer_measured(
    runtime: &tokio::runtime::Runtime,
    verifier: &Verifier,
    plain: &Router,
    guarded: &Router,
    tokens: &[String],
    variant: &str,
    iters: usize,
) {
    runtime.block_on(async {
        for token in tokens.iter().cycle().take(iters) {
            match variant {
                "plain" => assert_eq!(plain.clone().call(request(None)).await.unwrap().status(), 200),
                "verify" => {
                    // The request the other variant builds, so that only the layer differs.
                    std::hint::black_box(request(Some(token)));
                    std::hint::black_box(verifier.verify(token).await.unwrap());
                }
                _ => assert_eq!(guarded.clone().call(request(Some(token))).await.unwrap().status(), 200),
            }
        }
    });
}

async fn layer(verifier: &Verifier, tokens: &[String], rounds: usize) {
    let plain: Router = Router::new().route("/", get(hello));
    let guarded: Router = Router::new().route("/", get(whoami)).layer(AuthLayer::new(verifier.clone()));
    let mut results: [Vec<f64>; 3] = Default::default();
    for _ in 0..rounds {
        let start = thread_cpu();
        for _ in tokens {
            let response = plain.clone().call(request(None)).await.unwrap();
            assert_eq!(response.status(), 200);
        }
        results[0].push((thread_cpu() - start).as_secs_f64() / tokens.len() as f64);
        let start = thread_cpu();
        for token in tokens {
            std::hint::black_box(verifier.verify(token).await.unwrap());
        }
        results[1].push((thread_cpu() - start).as_secs_f64() / tokens.len() as f64);
        let start = thread_cpu();
        for token in tokens {
            let response = guarded.clone().call(request(Some(token))).await.unwrap();
            assert_eq!(response.status(), 200);
        }
        results[2].push((thread_cpu() - start).as_secs_f64() / tokens.len() as f64);
    }
    let [plain, verify, guarded] = results.map(|r| median(r) * 1e6);
    println!("\n## the server layer, in-process (CPU per request, median)");
    println!("handler without the layer: {plain:.2} us");
    println!("verification alone:        {verify:.2} us");
    println!("handler behind the layer:  {guarded:.2} us");
    println!("layer cost beyond verification: {:.2} us", guarded - plain - verify);
}

/// Requests per second over HTTP on 127.0.0.1, with and without the layer.
fn http(verifier: &Verifier, tokens: &[String]) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let plain: Router = Router::new().route("/", get(hello));
        let guarded: Router =
            Router::new().route("/", get(whoami)).layer(AuthLayer::new(verifier.clone()));
        println!("\n## over HTTP/1.1 on 127.0.0.1 (16 keep-alive clients in this process, 3 s each, the same JWTs sent)");
        for (name, app) in [("without the layer", plain), ("behind the layer", guarded)] {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}/", listener.local_addr().unwrap());
            let server = tokio::spawn(async move { axum::serve(listener, app).await });
            let deadline = Instant::now() + Duration::from_secs(3);
            let cpu = process_cpu();
            let clients: Vec<_> = (0..16)
                .map(|c| {
                    let (url, tokens) = (url.clone(), tokens.to_vec());
                    tokio::spawn(async move {
                        let http = clerk_machines::http_client_builder().unwrap().build().unwrap();
                        let mut done = 0u64;
                        while Instant::now() < deadline {
                            let token = &tokens[(c * 131 + done as usize) % tokens.len()];
                            let response = http.get(&url).bearer_auth(token).send().await.unwrap();
                            assert_eq!(response.status(), 200);
                            response.bytes().await.unwrap();
                            done += 1;
                        }
                        done
                    })
                })
                .collect();
            let mut total = 0;
            for client in clients {
                total += client.await.unwrap();
            }
            let cpu = (process_cpu() - cpu).as_secs_f64();
            server.abort();
            println!(
                "{name:>18}: {:.0} requests/s, {:.1} us process CPU per request (clients included)",
                total as f64 / 3.0,
                cpu * 1e6 / total as f64
            );
        }
    });
}

/// `M2mTokenSource::token()` finding a fresh cached token.
fn source(rounds: usize) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let fake = FakeClerk::start().await.unwrap();
        let machine = fake.clerk().machines().create("bench", Vec::<String>::new(), None).await.unwrap();
        let config = ClerkConfig::default().with_base_url(fake.url());
        let tokens = M2mTokenSource::builder(machine.secret_key.clone(), config).build().unwrap();
        tokens.token().await.unwrap(); // minted once; every call below is a cache hit
        println!("\n## cached M2mTokenSource::token() (a fresh token in the cache)");
        for tasks in [1usize, 16] {
            let calls_per_task = 200_000 / tasks;
            let mut per_call = Vec::new();
            for _ in 0..rounds {
                let start = Instant::now();
                let cpu = process_cpu();
                let handles: Vec<_> = (0..tasks)
                    .map(|_| {
                        let tokens = tokens.clone();
                        tokio::spawn(async move {
                            for _ in 0..calls_per_task {
                                std::hint::black_box(tokens.token().await.unwrap());
                            }
                        })
                    })
                    .collect();
                for handle in handles {
                    handle.await.unwrap();
                }
                let calls = (calls_per_task * tasks) as f64;
                per_call.push((
                    (process_cpu() - cpu).as_secs_f64() / calls,
                    start.elapsed().as_secs_f64() / calls,
                ));
            }
            let cpu = median(per_call.iter().map(|p| p.0).collect()) * 1e9;
            let wall = median(per_call.iter().map(|p| p.1).collect()) * 1e9;
            println!(
                "{tasks:>2} task(s): {cpu:.0} ns CPU per call, {wall:.0} ns wall per call (2 worker threads)"
            );
        }
    });
    // What a shared reference count costs when two cores clone it at once.
    let shared = std::sync::Arc::new(String::from("mt_shared_token"));
    for threads in [1usize, 2] {
        let calls = 2_000_000;
        let start = Instant::now();
        std::thread::scope(|scope| {
            for _ in 0..threads {
                let shared = &shared;
                scope.spawn(move || (0..calls).for_each(|_| drop(std::hint::black_box(shared.clone()))));
            }
        });
        let per_thread = start.elapsed().as_secs_f64() * 1e9 / calls as f64;
        println!(
            "a bare Arc clone + drop, {threads} thread(s) at once: {per_thread:.0} ns per call per thread"
        );
    }
}
