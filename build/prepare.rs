//! Selects the operations this crate wraps and repairs what progenitor cannot take.
//!
//! Everything here works on the spec as a JSON value so that each repair is a
//! small, explicit edit. The repairs, and why each is needed:
//!
//! 1. **Selection.** Only operations tagged with one of [`SELECTED_TAGS`] are
//!    kept, with every component they reference (transitively).
//! 2. **Inline error bodies → `ClerkErrors`.** The M2M operations declare their
//!    error bodies inline under each status. progenitor would name the error type
//!    after the operation's response and collide with the success type, so error
//!    bodies would not decode. Every error response whose schema is an inline
//!    object with an `errors` array is pointed at the shared `ClerkErrors` schema.
//! 3. **`additionalProperties: false` on responses.** It becomes
//!    `#[serde(deny_unknown_fields)]`: the day Clerk adds a field, every deployed
//!    client would fail to decode. It is removed from every schema a response
//!    reaches (request bodies keep it).
//! 4. **Numbers the client sends.** The M2M operations declare `limit`,
//!    `offset` (query) and `seconds_until_expiration` (body) as `type: number`;
//!    progenitor would send `f64`s (`10.0`, `600.0`), which an integer-parsing
//!    server rejects. Query parameters and request-body properties of type
//!    `number` become `integer` (an integer is still a valid `number`; the
//!    hand-written layer only ever sends whole seconds and counts).
//! 5. **Secrets.** Response and request-body fields that carry secrets
//!    (`secret_key`, `secret`, `token`) are pointed at a `SecretString` schema
//!    that the generator replaces with the crate's redacting `SecretString`
//!    type, so `{:?}` never prints them.
//! 6. **Request defaults.** A `default` on an optional request-body property
//!    makes the generated body type always send that value, so the caller could
//!    not leave the choice to the server. Defaults are removed from request
//!    bodies (the server still applies them); responses keep theirs.
//! 7. **One media type.** A request body or response with several media types
//!    makes progenitor panic; only `application/json` is kept.
//! 8. **String checks are the rules table's.** A string schema with
//!    `pattern`, `minLength` or `maxLength` becomes a checked newtype. In a
//!    response its `Deserialize` copies the string and runs the check (a regex
//!    for `pattern`) on every decode: a cost (7% more CPU to decode a page of
//!    500 machines, see `benches/overhead.rs`) and a risk (a longer name or a
//!    new id format would fail every deployed client, like
//!    `additionalProperties: false` in repair 3). In a request body it makes
//!    the field's type depend on the rules: a next spec that adds a
//!    `maxLength` to a plain string field would turn `String` into a newtype
//!    and break the code that sets it. The constraints are read into the rules
//!    table first ([`read_rules`]), which the hand-written layer and the fake
//!    check, then removed from every schema, so string fields are `String`
//!    whatever the spec bounds. Enums stay enums.
//! 9. **Key sets decode key by key.** `JWKS.keys` is a `oneOf` of seven key
//!    schemas without a discriminator; a key of a kind the spec does not list
//!    (a new `kty` or curve) would make the whole set undecodable, and every
//!    verifier would stop working the day Clerk published one. The items
//!    become plain JSON objects; the verifier picks the RSA signing keys and
//!    skips the rest.

use super::rules::{self, OperationRules};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The spec tags whose operations the crate wraps.
pub const SELECTED_TAGS: &[&str] = &["Machines", "M2M Tokens", "API Keys", "OAuth Access Tokens"];
/// Operations selected by id, outside those tags: the verifier fetches the
/// instance's keys through `GetJWKS` (tag `JWKS`), so that this request takes
/// the same path as every other (headers, retries, errors, tracing).
pub const SELECTED_OPERATIONS: &[&str] = &["GetJWKS"];
/// Name of the schema that stands for a secret string (see repair 5).
pub const SECRET_SCHEMA: &str = "SecretString";
/// Response and request-body properties that hold secrets (see repair 5);
/// the crate redacts the same fields from error snippets. `access_token` is
/// the OAuth access token sent to `verifyOAuthAccessToken`.
pub const SECRET_PROPERTIES: &[&str] = &["secret_key", "secret", "token", "access_token"];
const ERRORS_SCHEMA: &str = "ClerkErrors";
const HTTP_METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// One operation kept for generation.
pub struct SelectedOperation {
    /// `operationId`.
    pub id: String,
    /// HTTP method, upper case.
    pub method: String,
    /// Path template, as in the spec (`/machines/{machine_id}`).
    pub path: String,
    /// The operation's tags.
    pub tags: Vec<String>,
    /// The response statuses the spec documents, in ascending order
    /// (ranges such as `4XX` and `default` are left out).
    pub statuses: Vec<u16>,
    /// Its parameters and request-body fields with their constraints, as
    /// the spec states them (read before any repair).
    pub rules: OperationRules,
}

/// The spec reduced to the selected operations and repaired, ready for progenitor.
pub struct Prepared {
    /// The repaired spec.
    pub spec: openapiv3::OpenAPI,
    /// `info.version`, sent as `Clerk-API-Version`.
    pub version: String,
    /// Every selected operation.
    pub operations: Vec<SelectedOperation>,
    /// One line per repair made, for the build log.
    pub repairs: Vec<String>,
    /// Wall-clock milliseconds of the phases of [`prepare`], for the build log.
    pub timings: Vec<(&'static str, f64)>,
}

/// Selects, repairs and parses the spec.
pub fn prepare(mut spec: Value) -> Result<Prepared, String> {
    let version = spec
        .pointer("/info/version")
        .and_then(Value::as_str)
        .ok_or("the spec has no info.version")?
        .to_owned();
    let mut repairs = Vec::new();
    let mut timings = Vec::new();
    let mut lap = {
        let mut last = std::time::Instant::now();
        move |name: &'static str, timings: &mut Vec<(&'static str, f64)>| {
            let now = std::time::Instant::now();
            timings.push((name, (now - last).as_secs_f64() * 1e3));
            last = now;
        }
    };
    let mut operations = select_operations(&mut spec)?;
    read_rules(&spec, &mut operations)?;
    lap("select", &mut timings);
    repair_media_types(&mut spec, &mut repairs);
    repair_inline_errors(&mut spec, &mut repairs)?;
    repair_query_numbers(&mut spec, &mut repairs)?;
    repair_secrets(&mut spec, &mut repairs)?;
    repair_request_defaults(&mut spec, &mut repairs);
    repair_request_numbers(&mut spec, &mut repairs);
    // Before pruning, so that the seven key schemas it unlinks are dropped.
    repair_key_sets(&mut spec, &mut repairs);
    keep_referenced_components(&mut spec)?;
    repair_closed_responses(&mut spec, &mut repairs)?;
    repair_strings(&mut spec, &mut repairs);
    check_supported(&spec)?;
    lap("repair", &mut timings);
    let spec: openapiv3::OpenAPI = serde_json::from_value(spec)
        .map_err(|e| format!("the selected part of the spec is not valid OpenAPI 3.0: {e}"))?;
    lap("to openapiv3", &mut timings);
    Ok(Prepared { spec, version, operations, repairs, timings })
}

/// Iterates `(path, method, operation)` over the spec's operations, mutably.
fn operations_mut(spec: &mut Value) -> impl Iterator<Item = (String, String, &mut Value)> {
    spec.get_mut("paths")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|paths| paths.iter_mut())
        .flat_map(|(path, item)| {
            item.as_object_mut().into_iter().flat_map(move |item| {
                let path = path.clone();
                item.iter_mut()
                    .filter(|(method, _)| HTTP_METHODS.contains(&method.as_str()))
                    .map(move |(method, op)| (path.clone(), method.clone(), op))
            })
        })
}

fn operation_name(method: &str, path: &str, op: &Value) -> String {
    match op.get("operationId").and_then(Value::as_str) {
        Some(id) => format!("operation {id} ({} {path})", method.to_uppercase()),
        None => format!("operation {} {path}", method.to_uppercase()),
    }
}

/// Repair 1: keep only operations tagged with a selected tag.
fn select_operations(spec: &mut Value) -> Result<Vec<SelectedOperation>, String> {
    let paths = spec.get_mut("paths").and_then(Value::as_object_mut).ok_or("the spec has no paths object")?;
    let mut selected = Vec::new();
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        item.retain(|key, op| {
            if !HTTP_METHODS.contains(&key.as_str()) {
                return true;
            }
            let tagged = op.get("tags").and_then(Value::as_array).is_some_and(|tags| {
                tags.iter().any(|t| t.as_str().is_some_and(|t| SELECTED_TAGS.contains(&t)))
            });
            let named = op
                .get("operationId")
                .and_then(Value::as_str)
                .is_some_and(|id| SELECTED_OPERATIONS.contains(&id));
            if tagged || named {
                selected.push(describe(key, path, op));
            }
            tagged || named
        });
    }
    paths.retain(|_, item| {
        item.as_object().is_some_and(|item| item.keys().any(|k| HTTP_METHODS.contains(&k.as_str())))
    });
    if selected.is_empty() {
        return Err(format!("no operation is tagged with any of {SELECTED_TAGS:?}"));
    }
    if let Some(op) = selected.iter().find(|op| op.id.is_empty()) {
        return Err(format!("operation {} {} has no operationId", op.method, op.path));
    }
    if let Some(tags) = spec.get_mut("tags").and_then(Value::as_array_mut) {
        tags.retain(|t| t.get("name").and_then(Value::as_str).is_some_and(|n| SELECTED_TAGS.contains(&n)));
    }
    Ok(selected)
}

/// What the build records of a selected operation.
fn describe(method: &str, path: &str, op: &Value) -> SelectedOperation {
    let strings = |value: Option<&Value>| -> Vec<String> {
        value
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    let mut statuses: Vec<u16> = op
        .get("responses")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|responses| responses.keys())
        .filter_map(|status| status.parse().ok())
        .collect();
    statuses.sort_unstable();
    SelectedOperation {
        id: op.get("operationId").and_then(Value::as_str).unwrap_or_default().to_owned(),
        method: method.to_uppercase(),
        path: path.to_owned(),
        tags: strings(op.get("tags")),
        statuses,
        rules: OperationRules::default(),
    }
}

/// Reads each selected operation's input rules, before any repair changes
/// them (repair 4 retypes numbers, 5 replaces secret fields, 6 drops defaults).
fn read_rules(spec: &Value, operations: &mut [SelectedOperation]) -> Result<(), String> {
    for selected in operations {
        let item = spec.pointer(&format!("/paths/{}", selected.path.replace('~', "~0").replace('/', "~1")));
        let item = item.ok_or_else(|| format!("path {} vanished", selected.path))?;
        let op = item
            .get(selected.method.to_lowercase())
            .ok_or_else(|| format!("{} {} vanished", selected.method, selected.path))?;
        let name = operation_name(&selected.method.to_lowercase(), &selected.path, op);
        selected.rules = rules::of_operation(spec, item, op, &name)?;
    }
    Ok(())
}

/// Repair 7: keep only `application/json` where several media types are offered.
fn repair_media_types(spec: &mut Value, repairs: &mut Vec<String>) {
    for (path, method, op) in operations_mut(spec) {
        let name = operation_name(&method, &path, op);
        let mut contents: Vec<&mut Value> = Vec::new();
        if let Some(body) = op.pointer_mut("/requestBody/content") {
            contents.push(body);
        }
        for content in contents {
            if let Some(map) =
                content.as_object_mut().filter(|m| m.len() > 1 && m.contains_key("application/json"))
            {
                map.retain(|k, _| k == "application/json");
                repairs.push(format!("{name}: kept only the application/json request body"));
            }
        }
        if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
            for (status, response) in responses.iter_mut() {
                if let Some(map) = response
                    .get_mut("content")
                    .and_then(Value::as_object_mut)
                    .filter(|m| m.len() > 1 && m.contains_key("application/json"))
                {
                    map.retain(|k, _| k == "application/json");
                    repairs.push(format!("{name}: kept only the application/json {status} response"));
                }
            }
        }
    }
}

/// Repair 2: inline error bodies become `$ref: ClerkErrors`.
fn repair_inline_errors(spec: &mut Value, repairs: &mut Vec<String>) -> Result<(), String> {
    let has_errors_schema = spec.pointer(&format!("/components/schemas/{ERRORS_SCHEMA}")).is_some();
    for (path, method, op) in operations_mut(spec) {
        let name = operation_name(&method, &path, op);
        let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
            continue;
        };
        for (status, response) in responses.iter_mut() {
            if !is_error_status(status) {
                continue;
            }
            let Some(schema) = response.pointer_mut("/content/application~1json/schema") else {
                continue;
            };
            let inline_errors = schema.get("$ref").is_none()
                && schema.pointer("/properties/errors/type").and_then(Value::as_str) == Some("array");
            if inline_errors {
                if !has_errors_schema {
                    return Err(format!(
                        "{name}: the {status} error body is inline and the spec has no components.schemas.{ERRORS_SCHEMA} to point it at"
                    ));
                }
                *schema = json!({ "$ref": format!("#/components/schemas/{ERRORS_SCHEMA}") });
                repairs.push(format!("{name}: {status} error body now uses {ERRORS_SCHEMA}"));
            }
        }
    }
    Ok(())
}

fn is_error_status(status: &str) -> bool {
    matches!(status.as_bytes().first(), Some(b'4' | b'5'))
}

/// Repair 4: numeric query parameters become integers.
fn repair_query_numbers(spec: &mut Value, repairs: &mut Vec<String>) -> Result<(), String> {
    let parameters = spec.pointer("/components/parameters").cloned().unwrap_or(Value::Null);
    for (path, method, op) in operations_mut(spec) {
        let name = operation_name(&method, &path, op);
        let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
            continue;
        };
        for param in params.iter_mut() {
            if let Some(reference) = param.get("$ref").and_then(Value::as_str) {
                // A shared parameter is inlined before it is edited so that the
                // edit does not leak into other operations.
                let target = reference
                    .strip_prefix("#/components/parameters/")
                    .and_then(|n| parameters.get(n))
                    .ok_or_else(|| format!("{name}: unresolvable parameter {reference}"))?;
                if target.pointer("/schema/type").and_then(Value::as_str) != Some("number") {
                    continue;
                }
                *param = target.clone();
            }
            let is_query = param.get("in").and_then(Value::as_str) == Some("query");
            let Some(kind) = param.pointer_mut("/schema/type") else { continue };
            if is_query && kind.as_str() == Some("number") {
                *kind = json!("integer");
                let pname = param.get("name").and_then(Value::as_str).unwrap_or("?");
                repairs.push(format!("{name}: query parameter {pname} is now an integer"));
            }
        }
    }
    Ok(())
}

/// Calls `edit(operation name, property name, property schema)` for every
/// property of every JSON request body.
fn for_each_request_property(spec: &mut Value, mut edit: impl FnMut(&str, &str, &mut Value)) {
    for (path, method, op) in operations_mut(spec) {
        let name = operation_name(&method, &path, op);
        let props = op
            .pointer_mut("/requestBody/content/application~1json/schema/properties")
            .and_then(Value::as_object_mut);
        for (prop, schema) in props.into_iter().flatten() {
            edit(&name, prop, schema);
        }
    }
}

/// Repair 6: optional request-body properties lose their `default`.
fn repair_request_defaults(spec: &mut Value, repairs: &mut Vec<String>) {
    for_each_request_property(spec, |name, prop, schema| {
        if schema.as_object_mut().and_then(|s| s.remove("default")).is_some() {
            repairs.push(format!("{name}: request property {prop} no longer has a client-side default"));
        }
    });
}

/// Repair 4, second half: numeric request-body properties become integers.
fn repair_request_numbers(spec: &mut Value, repairs: &mut Vec<String>) {
    for_each_request_property(spec, |name, prop, schema| {
        if let Some(kind) = schema.get_mut("type").filter(|k| k.as_str() == Some("number")) {
            *kind = json!("integer");
            repairs.push(format!("{name}: request property {prop} is now an integer"));
        }
    });
}

/// Repair 5: secret response and request-body properties point at [`SECRET_SCHEMA`].
fn repair_secrets(spec: &mut Value, repairs: &mut Vec<String>) -> Result<(), String> {
    let mut found = false;
    for (path, method, op) in operations_mut(spec) {
        let name = operation_name(&method, &path, op);
        // Request bodies too (the token given to verifyM2MToken).
        if let Some(schema) = op.pointer_mut("/requestBody/content/application~1json/schema") {
            let count = mark_secrets(schema);
            if count > 0 {
                found = true;
                repairs.push(format!("{name}: {count} secret field(s) in the request body are redacted"));
            }
        }
        let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
            continue;
        };
        for (status, response) in responses.iter_mut() {
            if let Some(schema) = response.pointer_mut("/content/application~1json/schema") {
                let count = mark_secrets(schema);
                if count > 0 {
                    found = true;
                    repairs.push(format!(
                        "{name}: {count} secret field(s) in the {status} response are redacted"
                    ));
                }
            }
        }
    }
    let responses = spec.pointer_mut("/components/responses").and_then(Value::as_object_mut);
    for (rname, response) in responses.into_iter().flatten() {
        if let Some(schema) = response.pointer_mut("/content/application~1json/schema") {
            let count = mark_secrets(schema);
            if count > 0 {
                found = true;
                repairs.push(format!("response {rname}: {count} secret field(s) are redacted"));
            }
        }
    }
    if found {
        let schemas = spec
            .pointer_mut("/components")
            .and_then(Value::as_object_mut)
            .ok_or("the spec has no components object")?
            .entry("schemas")
            .or_insert_with(|| json!({}));
        let schemas = schemas.as_object_mut().ok_or("components.schemas is not an object")?;
        schemas.insert(
            SECRET_SCHEMA.to_owned(),
            json!({"type": "string", "description": "A secret value; `Debug` and `Display` never show it."}),
        );
    }
    Ok(())
}

/// Points every string property named in [`SECRET_PROPERTIES`] inside `schema`
/// (inline only; `$ref`s are handled where they are defined) at [`SECRET_SCHEMA`].
fn mark_secrets(schema: &mut Value) -> usize {
    let mut count = 0;
    if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        for (prop, prop_schema) in props.iter_mut() {
            let is_string = prop_schema.get("type").and_then(Value::as_str) == Some("string");
            if SECRET_PROPERTIES.contains(&prop.as_str()) && is_string {
                let mut replacement = Map::new();
                replacement.insert("$ref".into(), json!(format!("#/components/schemas/{SECRET_SCHEMA}")));
                *prop_schema = Value::Object(replacement);
                count += 1;
            } else {
                count += mark_secrets(prop_schema);
            }
        }
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        if let Some(parts) = schema.get_mut(key).and_then(Value::as_array_mut) {
            count += parts.iter_mut().map(mark_secrets).sum::<usize>();
        }
    }
    if let Some(items) = schema.get_mut("items") {
        count += mark_secrets(items);
    }
    count
}

/// Repair 1, second half: drop components the selected operations never reach.
fn keep_referenced_components(spec: &mut Value) -> Result<(), String> {
    let components = spec.get("components").cloned().unwrap_or_else(|| json!({}));
    let mut reached: BTreeSet<String> = BTreeSet::new();
    let mut pending: Vec<String> = Vec::new();
    collect_refs(spec.get("paths").unwrap_or(&Value::Null), &mut pending);
    while let Some(reference) = pending.pop() {
        if !reached.insert(reference.clone()) {
            continue;
        }
        let target =
            resolve(&components, &reference).ok_or_else(|| format!("unresolvable reference {reference}"))?;
        collect_refs(target, &mut pending);
    }
    let mut kept: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for reference in &reached {
        if let Some((section, name)) = split_ref(reference) {
            if let Some(target) = resolve(&components, reference) {
                kept.entry(section.to_owned()).or_default().insert(name.to_owned(), target.clone());
            }
        }
    }
    let mut new_components: Map<String, Value> =
        kept.into_iter().map(|(k, v)| (k, Value::Object(v))).collect();
    if let Some(schemes) = components.get("securitySchemes") {
        new_components.insert("securitySchemes".into(), schemes.clone());
    }
    if let Some(root) = spec.as_object_mut() {
        root.insert("components".into(), Value::Object(new_components));
    }
    Ok(())
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r.clone());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

fn split_ref(reference: &str) -> Option<(&str, &str)> {
    reference.strip_prefix("#/components/")?.split_once('/')
}

fn resolve<'a>(components: &'a Value, reference: &str) -> Option<&'a Value> {
    let (section, name) = split_ref(reference)?;
    components.get(section)?.get(name)
}

/// Repair 3: no `additionalProperties: false` anywhere a response reaches.
fn repair_closed_responses(spec: &mut Value, repairs: &mut Vec<String>) -> Result<(), String> {
    let components = spec.get("components").cloned().unwrap_or_else(|| json!({}));
    let mut response_refs = Vec::new();
    for (_, _, op) in operations_mut(spec) {
        if let Some(responses) = op.get("responses") {
            collect_refs(responses, &mut response_refs);
        }
    }
    let reached = reachable(&components, response_refs);
    let count = edit_responses(spec, &reached, open_schemas);
    if count > 0 {
        repairs.push(format!("removed additionalProperties: false from {count} response schema(s)"));
    }
    Ok(())
}

/// Every component reference reachable from `refs`, following the references
/// inside components (unresolvable ones were rejected when selecting).
fn reachable(components: &Value, mut refs: Vec<String>) -> BTreeSet<String> {
    let mut reached = BTreeSet::new();
    while let Some(reference) = refs.pop() {
        if reached.insert(reference.clone()) {
            if let Some(target) = resolve(components, &reference) {
                collect_refs(target, &mut refs);
            }
        }
    }
    reached
}

/// Applies `edit` to every inline response and to the `components` named in
/// `reached`; returns the total count `edit` reports.
fn edit_responses(spec: &mut Value, reached: &BTreeSet<String>, edit: fn(&mut Value) -> usize) -> usize {
    let mut count = 0;
    for (_, _, op) in operations_mut(spec) {
        if let Some(responses) = op.get_mut("responses") {
            count += edit(responses);
        }
    }
    for reference in reached {
        if let Some((section, name)) = split_ref(reference) {
            if let Some(target) = spec.pointer_mut(&format!("/components/{section}/{name}")) {
                count += edit(target);
            }
        }
    }
    count
}

fn open_schemas(value: &mut Value) -> usize {
    match value {
        Value::Object(map) => {
            let mut count = 0;
            if map.get("additionalProperties") == Some(&Value::Bool(false)) {
                map.remove("additionalProperties");
                count += 1;
            }
            count + map.values_mut().map(open_schemas).sum::<usize>()
        }
        Value::Array(items) => items.iter_mut().map(open_schemas).sum(),
        _ => 0,
    }
}

/// Repair 8: no string checks in the schemas the generator sees (the rules
/// table, read before the repairs, holds them).
fn repair_strings(spec: &mut Value, repairs: &mut Vec<String>) {
    let mut count = 0;
    for key in ["paths", "components"] {
        count += spec.get_mut(key).map_or(0, unchecked_strings);
    }
    if count > 0 {
        repairs.push(format!(
            "removed pattern/minLength/maxLength from {count} string schema(s) (the rules table checks them)"
        ));
    }
}

fn unchecked_strings(value: &mut Value) -> usize {
    match value {
        Value::Object(map) => {
            let mut count = 0;
            if map.get("type").and_then(Value::as_str) == Some("string") {
                let removed =
                    ["pattern", "minLength", "maxLength"].iter().filter(|k| map.remove(**k).is_some());
                if removed.count() > 0 {
                    count += 1;
                }
            }
            count + map.values_mut().map(unchecked_strings).sum::<usize>()
        }
        Value::Array(items) => items.iter_mut().map(unchecked_strings).sum(),
        _ => 0,
    }
}

/// Repair 9: the keys of the `JWKS` schema decode as JSON objects.
fn repair_key_sets(spec: &mut Value, repairs: &mut Vec<String>) {
    let Some(items) = spec.pointer_mut("/components/schemas/JWKS/properties/keys/items") else { return };
    if items.get("oneOf").is_some() {
        *items = json!({ "type": "object", "additionalProperties": true });
        repairs.push(
            "JWKS.keys: each key decodes as a JSON object (unknown key kinds are skipped, not fatal)".into(),
        );
    }
}

/// Rejects, with a readable message, the shapes that make progenitor panic:
/// more than one success schema, or more than one error schema, per operation.
fn check_supported(spec: &Value) -> Result<(), String> {
    let components = spec.get("components").cloned().unwrap_or_else(|| json!({}));
    let mut spec = spec.clone();
    for (path, method, op) in operations_mut(&mut spec) {
        let name = operation_name(&method, &path, op);
        let Some(responses) = op.get("responses").and_then(Value::as_object) else {
            return Err(format!("{name} has no responses"));
        };
        for (kind, wanted) in [("success", '2'), ("4xx error", '4'), ("5xx error", '5')] {
            let schemas: BTreeSet<String> = responses
                .iter()
                .filter(|(status, _)| status.starts_with(wanted))
                .filter_map(|(_, response)| response_schema(&components, response))
                .collect();
            if schemas.len() > 1 {
                return Err(format!(
                    "{name} has {} different {kind} response schemas ({}); progenitor supports one per status range",
                    schemas.len(),
                    schemas.into_iter().collect::<Vec<_>>().join(" / ")
                ));
            }
        }
    }
    Ok(())
}

/// The JSON schema of a response (following a shared-response `$ref`), as text.
fn response_schema(components: &Value, response: &Value) -> Option<String> {
    let response = match response.get("$ref").and_then(Value::as_str) {
        Some(reference) => resolve(components, reference)?,
        None => response,
    };
    response.pointer("/content/application~1json/schema").map(Value::to_string)
}
