//! Fixtures shared by the integration tests: httpmock helpers here, the raw
//! HTTP server (scripted replies for fault injection) in [`raw_http`].
#![allow(dead_code)]

pub mod answers;
pub mod raw_http;
#[cfg(feature = "mock")]
pub mod token_source;
#[allow(unused_imports)]
pub use raw_http::{response, Reply, Server, SERVER_LIFETIME};

use clerk_machines::{types, Clerk, ClerkConfig};
use serde_json::{json, Value};

/// The instance key every test client uses.
pub const SECRET_KEY: &str = "sk_test_integration_0123456789";
/// A well-formed machine id.
pub const MACHINE_ID: &str = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk";
/// Another well-formed machine id.
pub const OTHER_MACHINE_ID: &str = "mch_2yGkLpQ7Y3rXSwtU24CzTk9I7Em";

/// A client pointed at the mock server.
pub fn client(server: &httpmock::MockServer) -> Clerk {
    Clerk::new(SECRET_KEY, ClerkConfig::default().with_base_url(server.base_url()))
        .expect("valid test client")
}

/// Adds the headers every request must carry, and the one it must not.
pub fn with_headers(when: httpmock::When) -> httpmock::When {
    when.header("authorization", format!("Bearer {SECRET_KEY}"))
        .header("clerk-api-version", clerk_machines::spec::VERSION)
        .header("user-agent", clerk_machines::defaults::USER_AGENT)
        .header_missing("api-version")
}

/// A machine as Clerk returns it.
pub fn machine_json(id: &str, name: &str) -> Value {
    json!({
        "object": "machine",
        "id": id,
        "name": name,
        "instance_id": "ins_2xhFjEI5X2qWRvtV13BzSj8H6Dk",
        "created_at": 1_716_883_200_000_i64,
        "updated_at": 1_716_883_200_000_i64,
        "default_token_ttl": 3600,
        "scoped_machines": [{
            "object": "machine",
            "id": OTHER_MACHINE_ID,
            "name": "other",
            "instance_id": "ins_2xhFjEI5X2qWRvtV13BzSj8H6Dk",
            "created_at": 1_716_883_200_000_i64,
            "updated_at": 1_716_883_200_000_i64,
            "default_token_ttl": 3600
        }]
    })
}

/// A machine as the generated type.
pub fn machine(id: &str, name: &str) -> types::Machine {
    serde_json::from_value(machine_json(id, name)).expect("fixture matches the spec")
}

/// Clerk's error body with one entry and a trace id.
pub fn error_body(code: &str, trace_id: &str) -> types::ClerkErrors {
    serde_json::from_value(json!({
        "errors": [{
            "code": code,
            "message": format!("{code} message"),
            "long_message": format!("{code} long message"),
            "meta": {"param_name": "name"}
        }],
        "clerk_trace_id": trace_id
    }))
    .expect("fixture matches the spec")
}

/// Asserts `error` is `Error::Api` with this status, code and trace id.
pub fn assert_api_error(error: &clerk_machines::Error, status: u16, code: &str, trace_id: &str) {
    match error {
        clerk_machines::Error::Api { status: got, errors, trace_id: got_trace, .. } => {
            assert_eq!(got.as_u16(), status, "{error:?}");
            assert_eq!(errors.len(), 1, "{error:?}");
            assert_eq!(errors[0].code, code);
            assert_eq!(errors[0].long_message, format!("{code} long message"));
            assert_eq!(errors[0].meta.get("param_name"), Some(&json!("name")));
            assert_eq!(got_trace.as_deref(), Some(trace_id));
        }
        other => panic!("expected Error::Api({status}), got {other:?}"),
    }
}

/// The spec's field `name` of `operation`, from the table the client was
/// generated with (tests read limits from here, never copy them).
pub fn spec_field(operation: &str, name: &str) -> &'static clerk_machines::spec::Field {
    clerk_machines::spec::operation(operation)
        .and_then(|op| op.field(name))
        .unwrap_or_else(|| panic!("the spec states no {operation}.{name}"))
}

/// The spec's `maxLength` of a field.
pub fn max_length(operation: &str, name: &str) -> usize {
    let max = spec_field(operation, name).rules.max_length;
    max.unwrap_or_else(|| panic!("{operation}.{name} has no maxLength")) as usize
}

/// The spec's `maxItems` of a field.
pub fn max_items(operation: &str, name: &str) -> usize {
    let max = spec_field(operation, name).rules.max_items;
    max.unwrap_or_else(|| panic!("{operation}.{name} has no maxItems")) as usize
}

/// The largest whole number the spec allows for a field.
pub fn largest(operation: &str, name: &str) -> u64 {
    let bound = spec_field(operation, name).rules.maximum;
    let bound = bound.unwrap_or_else(|| panic!("{operation}.{name} has no maximum"));
    if bound.exclusive {
        bound.value.ceil() as u64 - 1
    } else {
        bound.value.floor() as u64
    }
}

/// The smallest whole number the spec allows for a field.
pub fn smallest(operation: &str, name: &str) -> u64 {
    let bound = spec_field(operation, name).rules.minimum;
    let bound = bound.unwrap_or_else(|| panic!("{operation}.{name} has no minimum"));
    if bound.exclusive {
        bound.value.floor() as u64 + 1
    } else {
        bound.value.ceil() as u64
    }
}

/// A machine as Clerk returns it, as JSON text.
pub const MACHINE_JSON: &str = r#"{"object":"machine","id":"mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk","name":"worker","instance_id":"ins_123","created_at":1700000000000,"updated_at":1700000000000,"default_token_ttl":3600,"scoped_machines":[]}"#;

/// Short backoffs so that retried cases stay fast.
pub fn fast_retries() -> clerk_machines::RetryConfig {
    clerk_machines::RetryConfig::default()
        .with_initial_backoff(std::time::Duration::from_millis(10))
        .with_max_backoff(std::time::Duration::from_millis(40))
        .with_jitter(false)
}

/// A plain reqwest client with the crate's TLS set-up, for requests the tests
/// make themselves (reqwest has no TLS provider of its own here).
pub fn http_client() -> reqwest::Client {
    clerk_machines::http_client_builder().expect("TLS set-up").build().expect("reqwest client")
}
