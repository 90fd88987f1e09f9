//! The nine Machines operations against httpmock: request shape, decoded
//! success bodies (every documented error status is in `error_statuses.rs`).
#![cfg(feature = "mock")]

mod common;

use clerk_machines::machines::{MachineOrder, MachineOrderField, SortDirection};
use clerk_machines::mock::MockServerExt;
use clerk_machines::{types, Error};
use common::*;
use futures::{StreamExt, TryStreamExt};
use httpmock::{Method, MockServer};
use serde_json::json;
use std::time::Duration;

/// A generated type from its builder (never a struct literal: a new optional
/// field in the next spec must not break these tests).
fn built<B, T>(builder: B) -> T
where
    B: TryInto<T>,
    B::Error: std::fmt::Debug,
{
    builder.try_into().expect("a complete builder")
}

/// A page of machines as `ListMachines` returns it.
fn list_page(data: Vec<types::Machine>, total_count: i64) -> types::ListMachinesResponse {
    built(types::ListMachinesResponse::builder().data(data).total_count(total_count))
}

#[tokio::test]
async fn create_sends_exactly_the_given_fields() {
    let server = MockServer::start_async().await;
    let mut created = machine_json(MACHINE_ID, "worker");
    created["secret_key"] = json!("ak_created_secret");
    let response: types::CreateMachineResponse = serde_json::from_value(created).unwrap();
    let with_ttl = server.create_machine(|when, then| {
        let when = when.body(
            &types::CreateMachineBody::builder()
                .name("worker")
                .scoped_machines(vec![OTHER_MACHINE_ID.to_owned()])
                .default_token_ttl(Some(std::num::NonZeroU64::new(600).unwrap()))
                .try_into()
                .unwrap(),
        );
        with_headers(when.into_inner().header("content-type", "application/json"));
        then.ok(&response);
    });

    let clerk = client(&server);
    let machine = clerk
        .machines()
        .create("worker", [OTHER_MACHINE_ID], Some(Duration::from_secs(600)))
        .await
        .expect("created");
    with_ttl.assert_async().await;
    assert_eq!(machine.id, MACHINE_ID);
    assert_eq!(machine.name, "worker");
    assert_eq!(machine.secret_key.expose_secret(), "ak_created_secret");
    assert_eq!(machine.scoped_machines[0].id, OTHER_MACHINE_ID);
}

#[tokio::test]
async fn create_without_ttl_or_scopes_leaves_them_to_the_server() {
    let server = MockServer::start_async().await;
    let mut created = machine_json(MACHINE_ID, "bare");
    created["secret_key"] = json!("ak_created_secret");
    // Exact JSON match: no `default_token_ttl`, no `scoped_machines`.
    let mock = server.mock(|when, then| {
        with_headers(when.method(Method::POST).path("/machines").json_body(json!({"name": "bare"})));
        then.status(200).json_body(created.clone());
    });
    let clerk = client(&server);
    clerk.machines().create("bare", Vec::<String>::new(), None).await.expect("created");
    clerk.machines().create("bare", Vec::<String>::new(), None).send().await.expect("created by send()");
    assert_eq!(mock.calls_async().await, 2);
}

#[tokio::test]
async fn create_builder_sends_the_same_request() {
    let server = MockServer::start_async().await;
    let mut created = machine_json(MACHINE_ID, "worker");
    created["secret_key"] = json!("ak_created_secret");
    let mock = server.mock(|when, then| {
        with_headers(when.method(Method::POST).path("/machines").json_body(json!({
            "name": "worker",
            "scoped_machines": [OTHER_MACHINE_ID, MACHINE_ID],
            "default_token_ttl": 60
        })));
        then.status(200).json_body(created.clone());
    });
    let clerk = client(&server);
    clerk
        .machines()
        .create("worker", [OTHER_MACHINE_ID], None)
        .scoped_machine(MACHINE_ID)
        .default_token_ttl(Duration::from_secs(60))
        .send()
        .await
        .expect("created");
    mock.assert_async().await;
}

#[tokio::test]
async fn list_sends_paging_filters_and_typed_order() {
    let server = MockServer::start_async().await;
    let page = list_page(vec![machine(MACHINE_ID, "a"), machine(OTHER_MACHINE_ID, "b")], 42);
    let mock = server.list_machines(|when, then| {
        let when =
            when.limit(std::num::NonZeroU64::new(2)).offset(4).query("work").order_by("+name").into_inner();
        with_headers(when);
        then.ok(&page);
    });
    let clerk = client(&server);
    let got = clerk
        .machines()
        .list()
        .limit(2)
        .offset(4)
        .query("work")
        .order_by(MachineOrder::new(MachineOrderField::Name, SortDirection::Ascending))
        .await
        .expect("listed");
    mock.assert_async().await;
    assert_eq!(got.total_count, 42);
    assert_eq!(got.items.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), [MACHINE_ID, OTHER_MACHINE_ID]);
}

#[tokio::test]
async fn list_without_params_sends_no_query() {
    let server = MockServer::start_async().await;
    let mock = server.list_machines(|when, then| {
        let when = when.limit(None).offset(None).query(None).order_by(None);
        with_headers(when.into_inner());
        then.ok(&list_page(vec![], 0));
    });
    let got = client(&server).machines().list().await.expect("listed");
    mock.assert_async().await;
    assert!(got.items.is_empty());
}

#[tokio::test]
async fn list_all_pages_until_total_count() {
    let server = MockServer::start_async().await;
    let ids: Vec<String> = (0..5).map(|i| format!("mch_{i:0>27}")).collect();
    let page = |items: &[String]| list_page(items.iter().map(|id| machine(id, "m")).collect(), 5);
    let first = server.list_machines(|when, then| {
        when.limit(std::num::NonZeroU64::new(2)).offset(None).order_by("-created_at");
        then.ok(&page(&ids[0..2]));
    });
    let second = server.list_machines(|when, then| {
        when.limit(std::num::NonZeroU64::new(2)).offset(2).order_by("-created_at");
        then.ok(&page(&ids[2..4]));
    });
    let third = server.list_machines(|when, then| {
        when.limit(std::num::NonZeroU64::new(2)).offset(4).order_by("-created_at");
        then.ok(&page(&ids[4..5]));
    });
    let clerk = client(&server);
    let all: Vec<types::Machine> = clerk
        .machines()
        .list()
        .limit(2)
        .order_by(MachineOrder::default())
        .into_stream()
        .try_collect()
        .await
        .expect("all pages");
    assert_eq!(all.iter().map(|m| m.id.clone()).collect::<Vec<_>>(), ids);
    for mock in [&first, &second, &third] {
        assert_eq!(mock.calls_async().await, 1);
    }
}

#[tokio::test]
async fn list_all_stops_on_the_first_error() {
    let server = MockServer::start_async().await;
    let failing = server.list_machines(|when, then| {
        when.offset(None);
        then.unauthorized(&error_body("authentication_invalid", "trace-list"));
    });
    let clerk = client(&server);
    let results: Vec<_> = clerk.machines().list().into_stream().collect::<Vec<_>>().await;
    assert_eq!(results.len(), 1);
    assert_api_error(results[0].as_ref().unwrap_err(), 401, "authentication_invalid", "trace-list");
    assert_eq!(failing.calls_async().await, 1);
}

#[tokio::test]
async fn get_decodes_the_machine() {
    let server = MockServer::start_async().await;
    let expected = machine(MACHINE_ID, "worker");
    let mock = server.get_machine(|when, then| {
        with_headers(when.machine_id(MACHINE_ID).into_inner());
        then.ok(&expected);
    });
    let got = client(&server).machines().get(MACHINE_ID).await.expect("found");
    mock.assert_async().await;
    assert_eq!(got, expected);
}

#[tokio::test]
async fn update_sends_only_the_given_fields() {
    let server = MockServer::start_async().await;
    let renamed = machine(MACHINE_ID, "renamed");
    let name_only = server.update_machine(|when, then| {
        let when = when.machine_id(MACHINE_ID).into_inner().json_body(json!({"name": "renamed"}));
        with_headers(when.method(Method::PATCH));
        then.ok(&renamed);
    });
    let ttl_only = server.update_machine(|when, then| {
        when.machine_id(MACHINE_ID).into_inner().json_body(json!({"default_token_ttl": 120}));
        then.ok(&renamed);
    });
    let clerk = client(&server);
    let got = clerk.machines().update(MACHINE_ID).name("renamed").await.expect("updated");
    assert_eq!(got.name, "renamed");
    clerk.machines().update(MACHINE_ID).default_token_ttl(Duration::from_secs(120)).await.expect("updated");
    name_only.assert_async().await;
    ttl_only.assert_async().await;
}

#[tokio::test]
async fn delete_decodes_the_confirmation() {
    let server = MockServer::start_async().await;
    let mock = server.delete_machine(|when, then| {
        with_headers(when.machine_id(MACHINE_ID).into_inner());
        then.ok(
            &serde_json::from_value(json!({"object": "machine", "id": MACHINE_ID, "deleted": true})).unwrap()
        );
    });
    let deleted = client(&server).machines().delete(MACHINE_ID).await.expect("deleted");
    mock.assert_async().await;
    assert_eq!(deleted.id, MACHINE_ID);
    assert!(deleted.deleted);
}

#[tokio::test]
async fn secret_key_decodes_into_a_redacted_secret() {
    let server = MockServer::start_async().await;
    let mock = server.get_machine_secret_key(|when, then| {
        with_headers(when.machine_id(MACHINE_ID).into_inner());
        then.ok(
            &serde_json::from_value(json!({"object": "machine_secret_key", "secret": "ak_current"})).unwrap()
        );
    });
    let key = client(&server).machines().secret_key(MACHINE_ID).await.expect("key");
    mock.assert_async().await;
    assert_eq!(key.secret.expose_secret(), "ak_current");
    assert!(!format!("{key:?}").contains("ak_current"));
}

#[tokio::test]
async fn rotate_sends_the_previous_key_ttl() {
    let server = MockServer::start_async().await;
    let mock = server.rotate_machine_secret_key(|when, then| {
        let when = when
            .machine_id(MACHINE_ID)
            .body(&built(types::RotateMachineSecretKeyBody::builder().previous_token_ttl(3600)));
        with_headers(when.into_inner());
        then.ok(
                &serde_json::from_value(json!({"object": "machine_secret_key", "secret": "ak_new"})).unwrap()
            );
    });
    let rotated = client(&server)
        .machines()
        .rotate_secret_key(MACHINE_ID, Duration::from_secs(3600))
        .await
        .expect("rotated");
    mock.assert_async().await;
    assert_eq!(rotated.secret.expose_secret(), "ak_new");
}

#[tokio::test]
async fn add_scope_sends_the_target_machine() {
    let server = MockServer::start_async().await;
    let scope: types::MachineScope = built(
        types::MachineScope::builder()
            .created_at(1_716_883_200_000_i64)
            .from_machine_id(MACHINE_ID)
            .to_machine_id(OTHER_MACHINE_ID)
            .object("machine_scope"),
    );
    let mock = server.create_machine_scope(|when, then| {
        let when = when
            .machine_id(MACHINE_ID)
            .body(&built(types::CreateMachineScopeBody::builder().to_machine_id(OTHER_MACHINE_ID)));
        with_headers(when.into_inner());
        then.ok(&scope);
    });
    let got = client(&server).machines().add_scope(MACHINE_ID, OTHER_MACHINE_ID).await.expect("scoped");
    mock.assert_async().await;
    assert_eq!(got, scope);
}

#[tokio::test]
async fn remove_scope_names_both_machines_in_the_path() {
    let server = MockServer::start_async().await;
    let mock = server.delete_machine_scope(|when, then| {
        with_headers(when.machine_id(MACHINE_ID).other_machine_id(OTHER_MACHINE_ID).into_inner());
        then.ok(&serde_json::from_value(json!({
            "object": "machine_scope",
            "from_machine_id": MACHINE_ID,
            "to_machine_id": OTHER_MACHINE_ID,
            "deleted": true
        }))
        .unwrap());
    });
    let got = client(&server).machines().remove_scope(MACHINE_ID, OTHER_MACHINE_ID).await.expect("removed");
    mock.assert_async().await;
    assert_eq!(got.to_machine_id, OTHER_MACHINE_ID);
}

#[tokio::test]
async fn trace_id_falls_back_to_the_header() {
    let server = MockServer::start_async().await;
    server.get_machine(|when, then| {
        when.machine_id(MACHINE_ID);
        then.into_inner()
            .status(404)
            .header("content-type", "application/json")
            .header("clerk-trace-id", "trace-from-header")
            .json_body(
                json!({"errors": [{"code": "resource_not_found", "message": "m", "long_message": "l"}]}),
            );
    });
    let error = client(&server).machines().get(MACHINE_ID).await.unwrap_err();
    assert!(error.is_not_found());
    assert_eq!(error.trace_id(), Some("trace-from-header"));
}

#[tokio::test]
async fn undocumented_statuses_and_foreign_bodies_are_api_errors() {
    let server = MockServer::start_async().await;
    server.get_machine(|when, then| {
        when.machine_id(MACHINE_ID);
        then.into_inner().status(500).header("content-type", "text/html").body("<h1>oops</h1>");
    });
    server.get_machine(|when, then| {
        when.machine_id(OTHER_MACHINE_ID);
        then.into_inner().status(400).body("not json at all");
    });
    let clerk = client(&server);
    for (id, status) in [(MACHINE_ID, 500), (OTHER_MACHINE_ID, 400)] {
        match clerk.machines().get(id).await.unwrap_err() {
            Error::Api { status: got, errors, .. } => {
                assert_eq!(got.as_u16(), status);
                assert!(errors.is_empty());
            }
            other => panic!("expected Error::Api, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn unknown_fields_still_decode() {
    let server = MockServer::start_async().await;
    let mut body = machine_json(MACHINE_ID, "worker");
    body["brand_new_field"] = json!({"nested": [1, 2, 3]});
    body["scoped_machines"][0]["another_new_field"] = json!(true);
    server.get_machine(|when, then| {
        when.machine_id(MACHINE_ID);
        then.into_inner().status(200).header("content-type", "application/json").json_body(body.clone());
    });
    let got = client(&server).machines().get(MACHINE_ID).await.expect("decodes despite new fields");
    assert_eq!(got, machine(MACHINE_ID, "worker"));
}

#[tokio::test]
async fn a_malformed_success_body_names_the_field() {
    let server = MockServer::start_async().await;
    let mut body = machine_json(MACHINE_ID, "worker");
    body["scoped_machines"][0]["created_at"] = json!("yesterday");
    server.get_machine(|when, then| {
        when.machine_id(MACHINE_ID);
        then.into_inner().status(200).header("content-type", "application/json").json_body(body.clone());
    });
    match client(&server).machines().get(MACHINE_ID).await.unwrap_err() {
        Error::Decode { status, path, snippet, .. } => {
            assert_eq!(status.as_u16(), 200);
            assert_eq!(path, "scoped_machines[0].created_at");
            assert!(snippet.len() <= Error::SNIPPET_CHARS * 4 && !snippet.is_empty());
        }
        other => panic!("expected Error::Decode, got {other:?}"),
    }
}

#[tokio::test]
async fn invalid_input_sends_nothing() {
    let server = MockServer::start_async().await;
    let anything = server.mock(|_, then| {
        then.status(500);
    });
    let clerk = client(&server);
    let machines = clerk.machines();
    // Every limit from the spec's table, one past it.
    let name_max = max_length("CreateMachine", "name");
    let too_many: Vec<String> =
        (0..=max_items("CreateMachine", "scoped_machines")).map(|i| format!("mch_{i:0>27}")).collect();
    let ttl_max = largest("CreateMachine", "default_token_ttl");
    let page_max = largest("ListMachines", "limit") as u32;
    let update_name_max = max_length("UpdateMachine", "name");
    let grace_max = largest("RotateMachineSecretKey", "previous_token_ttl");
    let results: Vec<(&str, Result<(), Error>)> = vec![
        ("empty name", machines.create("", Vec::<String>::new(), None).await.map(drop)),
        (
            "name too long",
            machines.create("é".repeat(name_max + 1), Vec::<String>::new(), None).await.map(drop),
        ),
        ("too many scopes", machines.create("m", too_many.clone(), None).await.map(drop)),
        ("empty scope id", machines.create("m", [""], None).await.map(drop)),
        ("ttl zero", machines.create("m", Vec::<String>::new(), Some(Duration::ZERO)).await.map(drop)),
        (
            "ttl too long",
            machines
                .create("m", Vec::<String>::new(), Some(Duration::from_secs(ttl_max + 1)))
                .await
                .map(drop),
        ),
        (
            "ttl fractional",
            machines.create("m", Vec::<String>::new(), Some(Duration::from_millis(1500))).await.map(drop),
        ),
        ("limit 0", machines.list().limit(0).await.map(drop)),
        ("limit past the maximum", machines.list().limit(page_max + 1).await.map(drop)),
        ("get empty id", machines.get("").await.map(drop)),
        ("get dot", machines.get(".").await.map(drop)),
        ("delete dotdot", machines.delete("..").await.map(drop)),
        ("empty update", machines.update(MACHINE_ID).await.map(drop)),
        (
            "update long name",
            machines.update(MACHINE_ID).name("x".repeat(update_name_max + 1)).await.map(drop),
        ),
        (
            "rotate past the grace maximum",
            machines.rotate_secret_key(MACHINE_ID, Duration::from_secs(grace_max + 1)).await.map(drop),
        ),
        ("scope to ..", machines.add_scope(MACHINE_ID, "..").await.map(drop)),
        ("unscope from empty", machines.remove_scope("", MACHINE_ID).await.map(drop)),
        ("secret key of .", machines.secret_key(".").await.map(drop)),
    ];
    for (case, result) in results {
        assert!(matches!(result, Err(Error::InvalidInput { .. })), "{case}: {result:?}");
    }
    let all: Vec<_> = machines.list().limit(0).into_stream().collect::<Vec<_>>().await;
    assert!(matches!(all.as_slice(), [Err(Error::InvalidInput { field: "limit", .. })]));
    assert_eq!(anything.calls_async().await, 0, "no request may reach the server");
}

#[tokio::test]
async fn names_are_counted_in_characters() {
    let server = MockServer::start_async().await;
    // The spec's longest name, in two-byte characters: allowed.
    let name = "é".repeat(max_length("CreateMachine", "name"));
    let mut created = machine_json(MACHINE_ID, &name);
    created["secret_key"] = json!("ak_x");
    let mock = server.mock(|when, then| {
        when.method(Method::POST).path("/machines").json_body(json!({"name": name}));
        then.status(200).json_body(created.clone());
    });
    client(&server)
        .machines()
        .create(&name, Vec::<String>::new(), None)
        .await
        .expect("the longest name in characters is fine");
    mock.assert_async().await;
}

#[tokio::test]
async fn raw_calls_through_send_get_the_same_typed_results() {
    // How an operation the crate does not wrap yet is called: the generated
    // builder, then `clerk_machines::send` for the typed error.
    let server = MockServer::start_async().await;
    let found = server.get_machine(|when, then| {
        with_headers(when.machine_id(MACHINE_ID).into_inner());
        then.ok(&machine(MACHINE_ID, "raw"));
    });
    let missing = server.get_machine(|when, then| {
        when.machine_id(OTHER_MACHINE_ID);
        then.not_found(&error_body("resource_not_found", "trace-raw"));
    });
    let clerk = client(&server);
    let got =
        clerk_machines::raw::send(clerk.raw().get_machine().machine_id(MACHINE_ID).send()).await.unwrap();
    assert_eq!(got.name, "raw");
    let error = clerk_machines::raw::send(clerk.raw().get_machine().machine_id(OTHER_MACHINE_ID).send())
        .await
        .expect_err("404");
    assert!(error.is_not_found());
    assert_eq!((error.code(), error.trace_id()), (Some("resource_not_found"), Some("trace-raw")));
    found.assert_async().await;
    missing.assert_async().await;
}
