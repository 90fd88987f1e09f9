//! Every request carries the client's headers (`Authorization`,
//! `Clerk-API-Version`, `User-Agent`) exactly once, and never progenitor's
//! generic `api-version`: whether the crate built the HTTP client (which
//! then carries them as its default headers) or the caller brought one, and
//! for a second key (`with_secret_key`), whose `Authorization` replaces the
//! instance key's rather than joining it. Seen as raw bytes by the scripted
//! server, which, unlike a matcher, also sees duplicates.

mod common;

use clerk_machines::{spec, Clerk, ClerkConfig};
use common::{Reply, Server};

const INSTANCE_KEY: &str = "sk_test_headers_instance";
const MACHINE_KEY: &str = "ak_test_headers_machine";

/// The values of header `name` (case-insensitive) in a raw request.
fn header_values(request: &str, name: &str) -> Vec<String> {
    request
        .split("\r\n")
        .skip(1)
        .take_while(|line| !line.is_empty())
        .filter_map(|line| line.split_once(':'))
        .filter(|(key, _)| key.trim().eq_ignore_ascii_case(name))
        .map(|(_, value)| value.trim().to_owned())
        .collect()
}

/// Sends one `get` through `clerk` and returns the raw request.
async fn one_request(clerk: &Clerk, server: &Server) -> String {
    let before = server.requests().len();
    let _ = clerk.machines().get("mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk").await;
    let requests = server.requests();
    assert_eq!(requests.len(), before + 1, "one request sent");
    requests[before].clone()
}

fn assert_headers(request: &str, key: &str, user_agent: &str) {
    assert_eq!(header_values(request, "authorization"), [format!("Bearer {key}")], "{request}");
    assert_eq!(header_values(request, "clerk-api-version"), [spec::VERSION], "{request}");
    assert_eq!(header_values(request, "user-agent"), [user_agent], "{request}");
    assert!(header_values(request, "api-version").is_empty(), "{request}");
}

#[tokio::test]
async fn a_client_the_crate_built_sends_each_header_once() {
    let server = Server::start(vec![Reply::status(404, &[], ""); 2]).await;
    let config = ClerkConfig::default().with_base_url(server.url.clone()).with_user_agent("built/1");
    let clerk = Clerk::new(INSTANCE_KEY, config).unwrap();
    assert_headers(&one_request(&clerk, &server).await, INSTANCE_KEY, "built/1");
    let machine = clerk.with_secret_key(MACHINE_KEY).unwrap();
    assert_headers(&one_request(&machine, &server).await, MACHINE_KEY, "built/1");
}

#[tokio::test]
async fn a_callers_own_client_gets_the_headers_per_request() {
    let server = Server::start(vec![Reply::status(404, &[], ""); 2]).await;
    let config = ClerkConfig::default()
        .with_base_url(server.url.clone())
        .with_user_agent("custom/1")
        .with_http_client(common::http_client());
    let clerk = Clerk::new(INSTANCE_KEY, config).unwrap();
    assert_headers(&one_request(&clerk, &server).await, INSTANCE_KEY, "custom/1");
    let machine = clerk.with_secret_key(MACHINE_KEY).unwrap();
    assert_headers(&one_request(&machine, &server).await, MACHINE_KEY, "custom/1");
}
