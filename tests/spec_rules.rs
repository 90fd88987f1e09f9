//! The rules table (`clerk_machines::spec`) against the spec it was read
//! from, and the rules at work: what the spec allows is sent and accepted by
//! the fake, what it forbids is refused before sending. Every limit here is
//! read from the table, so the same tests hold for any spec; `.ci/run` also
//! runs them on the next spec `conformance/next-spec` writes, with the
//! expectations it writes (`CLERK_SPEC_EXPECT`).

#[path = "../build/spec_file.rs"]
#[allow(dead_code)]
mod spec_file;

mod common;

use clerk_machines::spec::{self, Field, Kind, Location};
use clerk_machines::{Clerk, ClerkConfig, Error};
use clerk_machines_fake::FakeClerk;
use common::{largest, max_items, max_length, MACHINE_ID, SECRET_KEY};
use httpmock::MockServer;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// The spec the crate was generated from, as JSON, located as `build.rs` does.
fn generated_spec() -> Value {
    let path = spec_file::locate(Path::new(env!("CARGO_MANIFEST_DIR"))).expect("a spec");
    assert_eq!(path.file_name().and_then(|n| n.to_str()), Some(spec::FILE));
    spec_file::read(&path).expect("readable")
}

/// `value`, or what its `$ref` points at.
fn deref<'a>(spec: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => deref(spec, spec.pointer(&reference[1..]).expect("a resolvable $ref")),
        None => value,
    }
}

/// A schema's keywords with its `$ref` followed and its `allOf` parts laid over each other.
fn flatten(spec: &Value, schema: &Value) -> serde_json::Map<String, Value> {
    let schema = deref(spec, schema);
    let mut out = serde_json::Map::new();
    for part in schema.get("allOf").and_then(Value::as_array).into_iter().flatten() {
        for (key, value) in flatten(spec, part) {
            match (out.get_mut(&key), value) {
                (Some(Value::Object(have)), Value::Object(more)) => have.extend(more),
                (Some(Value::Array(have)), Value::Array(more)) => have.extend(more),
                (_, value) => {
                    out.insert(key, value);
                }
            }
        }
    }
    out.extend(
        schema
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| *k != "allOf")
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    out
}

/// Compares one schema's stated constraints with the table's rules;
/// returns how many constraints it compared.
fn compare(spec: &Value, what: &str, schema: &Value, rules: &spec::Rules) -> usize {
    let schema = flatten(spec, schema);
    let mut compared = 0;
    let mut same = |keyword: &str, stated: Option<Value>, table: Option<Value>| {
        assert_eq!(stated, table, "{what}: `{keyword}` in the spec and in the table");
        compared += usize::from(stated.is_some());
    };
    let number = |key: &str| schema.get(key).and_then(Value::as_f64).map(Value::from);
    same("minLength", number("minLength"), rules.min_length.map(|v| (v as f64).into()));
    same("maxLength", number("maxLength"), rules.max_length.map(|v| (v as f64).into()));
    same("minItems", number("minItems"), rules.min_items.map(|v| (v as f64).into()));
    same("maxItems", number("maxItems"), rules.max_items.map(|v| (v as f64).into()));
    same("minimum", number("minimum"), rules.minimum.map(|b| b.value.into()));
    same("maximum", number("maximum"), rules.maximum.map(|b| b.value.into()));
    let exclusive = |key: &str| schema.get(key).and_then(Value::as_bool).filter(|e| *e).map(Value::from);
    same(
        "exclusiveMinimum",
        exclusive("exclusiveMinimum"),
        rules.minimum.filter(|b| b.exclusive).map(|_| true.into()),
    );
    same(
        "exclusiveMaximum",
        exclusive("exclusiveMaximum"),
        rules.maximum.filter(|b| b.exclusive).map(|_| true.into()),
    );
    same("pattern", schema.get("pattern").cloned(), rules.pattern.map(|p| p.as_str().into()));
    let stated_enum = schema.get("enum").and_then(Value::as_array).map(|values| {
        values.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned)).collect::<Vec<_>>()
    });
    let table_enum =
        (!rules.enum_values.is_empty()).then(|| rules.enum_values.iter().map(|v| (*v).to_owned()).collect());
    same("enum", stated_enum.map(|v: Vec<String>| v.into()), table_enum.map(|v: Vec<String>| v.into()));
    same(
        "nullable",
        schema.get("nullable").filter(|n| **n == Value::Bool(true)).cloned(),
        rules.nullable.then(|| true.into()),
    );
    let kind = rules.kind.map(|kind| match kind {
        Kind::String => "string",
        Kind::Integer => "integer",
        Kind::Number => "number",
        Kind::Boolean => "boolean",
        Kind::Array => "array",
        Kind::Object => "object",
        _ => "other",
    });
    same("type", schema.get("type").cloned(), kind.map(Value::from));
    same("default", schema.get("default").map(|d| d.to_string().into()), rules.default.map(Value::from));
    match (schema.get("items"), rules.items) {
        (Some(items), Some(item_rules)) => {
            compared += compare(spec, &format!("{what} items"), items, item_rules)
        }
        (None, None) => {}
        (stated, table) => panic!("{what}: items in the spec {stated:?}, in the table {table:?}"),
    }
    compared
}

#[test]
fn the_table_holds_every_constraint_the_spec_states() {
    let spec = generated_spec();
    let mut constraints = 0;
    for op in spec::OPERATIONS {
        let item = spec["paths"].get(op.path).expect("the operation's path");
        let raw = &item[op.method.to_lowercase()];
        let mut stated: Vec<(String, Location, bool, Value)> = Vec::new();
        for param in [item.get("parameters"), raw.get("parameters")]
            .into_iter()
            .flatten()
            .flat_map(|p| p.as_array().into_iter().flatten())
        {
            let param = deref(&spec, param);
            let name = param["name"].as_str().expect("a name").to_owned();
            let location = match param["in"].as_str() {
                Some("path") => Location::Path,
                Some("query") => Location::Query,
                Some("header") => Location::Header,
                _ => Location::Cookie,
            };
            let required = location == Location::Path || param["required"] == Value::Bool(true);
            stated.retain(|(n, l, _, _)| !(*n == name && *l == location));
            stated.push((name, location, required, param["schema"].clone()));
        }
        if let Some(body) = raw.get("requestBody") {
            let schema = &deref(&spec, body)["content"]["application/json"]["schema"];
            let schema = flatten(&spec, schema);
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
            assert_eq!(op.closed_body, closed, "{}: additionalProperties", op.id);
            let properties = schema.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
            for (name, property) in properties {
                stated.push((name.clone(), Location::Body, required.contains(&name.as_str()), property));
            }
        }
        assert_eq!(op.fields.len(), stated.len(), "{}: the table's fields are the spec's", op.id);
        for (name, location, required, schema) in stated {
            let field: &Field =
                op.field(&name).unwrap_or_else(|| panic!("{}: no field {name} in the table", op.id));
            assert_eq!((field.location, field.required), (location, required), "{}.{name}", op.id);
            constraints +=
                usize::from(required) + compare(&spec, &format!("{}.{name}", op.id), &schema, &field.rules);
        }
    }
    println!("{constraints} constraints of {} operations compared", spec::OPERATIONS.len());
    assert!(constraints > 20, "the comparison compared nothing much: {constraints}");
}

fn refusing_client(server: &MockServer) -> Clerk {
    Clerk::new(SECRET_KEY, ClerkConfig::default().with_base_url(server.base_url())).expect("client")
}

fn assert_refused<T: std::fmt::Debug>(case: &str, result: Result<T, Error>, field: &str) {
    match result {
        Err(Error::InvalidInput { field: got, .. }) => assert_eq!(got, field, "{case}"),
        other => panic!("{case}: expected InvalidInput({field}), got {other:?}"),
    }
}

/// At each limit of the wrapped operations: the limit itself is sent and
/// the fake accepts it; one past it is refused before anything is sent.
#[tokio::test]
async fn the_limits_hold_at_their_boundaries_through_the_client_and_the_fake() {
    let fake = FakeClerk::start().await.expect("fake");
    let clerk = fake.clerk();
    let server = MockServer::start_async().await;
    let anything = server
        .mock_async(|_, then| {
            then.status(500);
        })
        .await;
    let refusing = refusing_client(&server);
    let (machines, refused) = (clerk.machines(), refusing.machines());

    let longest = "é".repeat(max_length("CreateMachine", "name"));
    let machine =
        machines.create(longest.as_str(), Vec::<String>::new(), None).await.expect("the longest name");
    assert_eq!(machine.name.chars().count(), longest.chars().count());
    assert_refused(
        "name + 1",
        refused.create(format!("{longest}x"), Vec::<String>::new(), None).await,
        "name",
    );

    let longest_update = "u".repeat(max_length("UpdateMachine", "name"));
    machines.update(&machine.id).name(longest_update.as_str()).await.expect("the longest new name");
    assert_refused(
        "update name + 1",
        refused.update(MACHINE_ID).name(format!("{longest_update}u")).await,
        "name",
    );

    let most = max_items("CreateMachine", "scoped_machines");
    let mut targets = Vec::new();
    for i in 0..most {
        targets
            .push(machines.create(format!("t{i}"), Vec::<String>::new(), None).await.expect("a target").id);
    }
    let full = machines.create("full", targets.clone(), None).await.expect("the most scoped machines");
    assert_eq!(full.scoped_machines.len(), most);
    targets.push(MACHINE_ID.to_owned());
    assert_refused("scopes + 1", refused.create("x", targets, None).await, "scoped_machines");

    let ttl = largest("CreateMachine", "default_token_ttl");
    let long_lived = machines
        .create("ttl", Vec::<String>::new(), Some(Duration::from_secs(ttl)))
        .await
        .expect("the longest ttl");
    assert_eq!(long_lived.default_token_ttl.get(), ttl);
    let past = Some(Duration::from_secs(ttl + 1));
    assert_refused("ttl + 1", refused.create("x", Vec::<String>::new(), past).await, "default_token_ttl");

    let grace = largest("RotateMachineSecretKey", "previous_token_ttl");
    machines.rotate_secret_key(&machine.id, Duration::from_secs(grace)).await.expect("the longest grace");
    assert_refused(
        "grace + 1",
        refused.rotate_secret_key(MACHINE_ID, Duration::from_secs(grace + 1)).await,
        "previous_token_ttl",
    );

    let page = largest("ListMachines", "limit") as u32;
    machines.list().limit(page).await.expect("the largest page");
    assert_refused("page + 1", refused.list().limit(page + 1).await, "limit");

    let token_page = largest("getM2MTokens", "limit") as u32;
    clerk.m2m().list_tokens(machine.id.as_str()).limit(token_page).await.expect("the largest token page");
    assert_refused(
        "token page + 1",
        refusing.m2m().list_tokens(MACHINE_ID).limit(token_page + 1).await,
        "limit",
    );

    assert_eq!(anything.calls_async().await, 0, "nothing refused may reach a server");
}

/// With the next spec: the table states what the mutations changed, and the
/// values they name are sent or refused accordingly.
#[tokio::test]
#[ignore = "needs CLERK_SPEC_EXPECT (written by `next-spec --expect`) and the matching CLERK_BAPI_SPEC; .ci/run runs it"]
async fn the_next_specs_rules_are_in_effect() {
    let path = std::env::var("CLERK_SPEC_EXPECT").expect("CLERK_SPEC_EXPECT names the expectations file");
    let text = std::fs::read_to_string(&path).expect("the expectations file");
    let expectations: Vec<Value> = serde_json::from_str(&text).expect("JSON");
    assert!(!expectations.is_empty(), "no expectations in {path}");
    let fake = FakeClerk::start().await.expect("fake");
    for expected in &expectations {
        let (op, name, rule) = (
            expected["operation"].as_str().expect("operation"),
            expected["field"].as_str().expect("field"),
            expected["rule"].as_str().expect("rule"),
        );
        let rules = &common::spec_field(op, name).rules;
        let value = &expected["value"];
        let table = match rule {
            "maxLength" => rules.max_length.map(Value::from),
            "maxItems" => rules.max_items.map(Value::from),
            "maximum" => rules.maximum.map(|b| Value::from(b.value as u64)),
            "pattern" => rules.pattern.map(|p| Value::from(p.as_str())),
            other => panic!("no check for rule {other}"),
        };
        assert_eq!(table.as_ref(), Some(value), "{op}.{name} {rule}");
        println!("{op}.{name}: {rule} {value} in effect");
        for (list, allowed) in [("accepts", true), ("refuses", false)] {
            for sample in expected[list].as_array().into_iter().flatten() {
                check_sample(&fake, op, name, sample, allowed).await;
            }
        }
    }
}

/// Sends `sample` as `op.name` through the facade (a string for a
/// pattern, a number for a bound, a count for a length or an item count):
/// allowed, the client sends it and the fake's rules pass it; refused,
/// nothing is sent.
async fn check_sample(fake: &FakeClerk, op: &str, name: &str, sample: &Value, allowed: bool) {
    let server = MockServer::start_async().await;
    let anything = server
        .mock_async(|_, then| {
            then.status(404).json_body(serde_json::json!({"errors": []}));
        })
        .await;
    let refusing = refusing_client(&server);
    let clerk = fake.clerk();
    let text = sample.as_str().unwrap_or_default();
    let number = sample.as_u64().unwrap_or_default();
    let (to_mock, to_fake) = match (op, name) {
        ("getM2MTokens", "subject") => {
            (refusing.m2m().list_tokens(text).await.map(drop), clerk.m2m().list_tokens(text).await.map(drop))
        }
        ("CreateMachine", "name") => {
            let name = "n".repeat(number as usize);
            (
                refusing.machines().create(name.as_str(), Vec::<String>::new(), None).await.map(drop),
                clerk.machines().create(name.as_str(), Vec::<String>::new(), None).await.map(drop),
            )
        }
        ("CreateMachine", "scoped_machines") => {
            let mut ids = Vec::new();
            for i in 0..number {
                ids.push(
                    clerk
                        .machines()
                        .create(format!("s{i}"), Vec::<String>::new(), None)
                        .await
                        .expect("target")
                        .id,
                );
            }
            (
                refusing.machines().create("scoped", ids.clone(), None).await.map(drop),
                clerk.machines().create("scoped", ids, None).await.map(drop),
            )
        }
        ("RotateMachineSecretKey", "previous_token_ttl") => {
            let machine =
                clerk.machines().create("rotating", Vec::<String>::new(), None).await.expect("machine");
            let grace = Duration::from_secs(number);
            (
                refusing.machines().rotate_secret_key(MACHINE_ID, grace).await.map(drop),
                clerk.machines().rotate_secret_key(&machine.id, grace).await.map(drop),
            )
        }
        ("revokeM2MToken", "revocation_reason") => {
            let reason = "r".repeat(number as usize);
            const UNKNOWN_TOKEN: &str = "mt_0123456789abcdef0123456789abcdef";
            (
                refusing.m2m().revoke_token(UNKNOWN_TOKEN).reason(reason.as_str()).await.map(drop),
                clerk.m2m().revoke_token(UNKNOWN_TOKEN).reason(reason.as_str()).await.map(drop),
            )
        }
        ("ListMachines", "limit") => (
            refusing.machines().list().limit(number as u32).await.map(drop),
            clerk.machines().list().limit(number as u32).await.map(drop),
        ),
        other => panic!("no facade call for {other:?} in this test: add one"),
    };
    if allowed {
        assert!(!matches!(to_mock, Err(Error::InvalidInput { .. })), "{op}.{name} = {sample}: {to_mock:?}");
        assert_eq!(anything.calls_async().await, 1, "{op}.{name} = {sample} is sent");
        // The fake's rules pass it (an unknown machine is a 404, not a 400 or 422).
        let status = to_fake.err().and_then(|e| e.status()).map(|s| s.as_u16());
        assert!(status.is_none_or(|s| s == 404), "{op}.{name} = {sample}: the fake answered {status:?}");
    } else {
        assert_refused(&format!("{op}.{name} = {sample}"), to_mock, name);
        assert_eq!(anything.calls_async().await, 0, "{op}.{name} = {sample} is refused before sending");
    }
}
