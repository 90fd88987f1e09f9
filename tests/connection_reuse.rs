//! One `Clerk` reuses its connections: 1,000 sequential requests open at most
//! a handful of TCP connections (counted by the server, not timed).

/// The raw HTTP server (its canned keep-alive routes count accepted connections).
#[path = "common/raw_http.rs"]
mod raw_http;

use clerk_machines::{Clerk, ClerkConfig};
use raw_http::{canned::MACHINE_ID, Server};
use std::time::Duration;

/// Far fewer than the requests: keep-alive needs one connection, but hyper
/// hands a connection back to its pool only after the response's end has
/// been seen by the connection's task, and a request that starts first opens
/// another. On a loaded machine that race was seen to open 6; a client that
/// did not reuse connections would open one per request.
const MAX_CONNECTIONS: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_sequential_requests_reuse_connections() {
    let server = Server::canned(Duration::from_secs(120));
    let clerk = Clerk::new("sk_test_reuse", ClerkConfig::default().with_base_url(&server.url)).unwrap();
    for i in 0..1_000 {
        if i % 2 == 0 {
            let machine = clerk.machines().get(MACHINE_ID).await.unwrap();
            assert_eq!(machine.scoped_machines.len(), 2);
        } else {
            let created = clerk.machines().create("worker", [MACHINE_ID], None).await.unwrap();
            assert!(created.secret_key.expose_secret().starts_with("ak_"));
        }
    }
    let accepted = server.accepts();
    eprintln!("1,000 sequential requests: {accepted} connection(s)");
    assert!(
        (1..=MAX_CONNECTIONS).contains(&accepted),
        "1,000 sequential requests opened {accepted} connections (at most {MAX_CONNECTIONS} expected)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clones_share_one_pool() {
    let server = Server::canned(Duration::from_secs(120));
    let clerk = Clerk::new("sk_test_reuse", ClerkConfig::default().with_base_url(&server.url)).unwrap();
    for _ in 0..100 {
        let clone = clerk.clone();
        clone.machines().get(MACHINE_ID).await.unwrap();
    }
    let accepted = server.accepts();
    assert!((1..=MAX_CONNECTIONS).contains(&accepted), "100 requests through clones opened {accepted}");
}
