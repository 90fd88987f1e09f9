//! Ids are path segments: they are percent-encoded so that no id can reach
//! another endpoint, and `.`/`..`/empty ids are rejected before any request.

mod common;

use clerk_machines::{Clerk, ClerkConfig, Error, RetryConfig};
use httpmock::prelude::*;

const TRICKY: &str = "a/../b?c=1#d%2e e";
const ENCODED: &str = "a%2F..%2Fb%3Fc=1%23d%252e%20e";

fn client(url: String) -> Clerk {
    Clerk::new("sk_test_paths", ClerkConfig::default().with_base_url(url).with_retry(RetryConfig::disabled()))
        .unwrap()
}

#[tokio::test]
async fn tricky_ids_reach_exactly_their_own_path() {
    let server = MockServer::start_async().await;
    let exact = server
        .mock_async(|when, then| {
            when.method(GET).path(format!("/v1/machines/{ENCODED}"));
            then.status(404).json_body(serde_json::json!({"errors": [
                {"message": "not found", "long_message": "Machine not found", "code": "resource_not_found"}
            ]}));
        })
        .await;
    let error = client(server.url("/v1")).machines().get(TRICKY).await.unwrap_err();
    assert!(error.is_not_found(), "{error:?}");
    exact.assert_async().await;
}

#[tokio::test]
async fn the_raw_request_line_carries_the_encoded_segment() {
    // httpmock may normalise what it matches; the scripted server sees the bytes.
    let server = common::Server::start(vec![common::Reply::status(404, &[], ""); 2]).await;
    let clerk = client(server.url.clone());
    let _ = clerk.machines().get(TRICKY).await;
    let _ = clerk.machines().remove_scope(TRICKY, "mch_x/y").await;
    let requests = server.requests();
    assert!(requests[0].starts_with(&format!("GET /v1/machines/{ENCODED} HTTP/1.1\r\n")), "{}", requests[0]);
    assert!(
        requests[1].starts_with(&format!("DELETE /v1/machines/{ENCODED}/scopes/mch_x%2Fy HTTP/1.1\r\n")),
        "{}",
        requests[1]
    );
}

#[tokio::test]
async fn dot_segments_and_empty_ids_send_nothing() {
    let server = MockServer::start_async().await;
    let anything = server
        .mock_async(|_when, then| {
            then.status(200);
        })
        .await;
    let clerk = client(server.url("/v1"));
    let machines = clerk.machines();
    for id in [".", "..", ""] {
        let results = [
            machines.get(id).await.map(drop),
            machines.delete(id).await.map(drop),
            machines.secret_key(id).await.map(drop),
            machines.update(id).name("n").await.map(drop),
            machines.add_scope(id, "mch_other").await.map(drop),
            machines.add_scope("mch_other", id).await.map(drop),
            machines.remove_scope(id, "mch_other").await.map(drop),
            machines.remove_scope("mch_other", id).await.map(drop),
        ];
        for result in results {
            assert!(matches!(result, Err(Error::InvalidInput { .. })), "{id:?}: {result:?}");
        }
    }
    assert_eq!(anything.calls_async().await, 0);
}
