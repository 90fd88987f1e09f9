//! The changes between two Clerk spec releases that the crate must survive.
//!
//! Each [`Mutation`] is one change of a [`Kind`] Clerk makes in practice,
//! applied to the operations and schemas the crate wraps. A mutation fails
//! (naming itself) when its target is missing, so the list cannot quietly
//! stop testing something.

use serde_json::{json, Value};

/// What kind of spec change a mutation stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An optional property added to a response schema.
    ResponseProperty,
    /// An optional property added to a request body.
    RequestProperty,
    /// A value added to an enum a response carries.
    ResponseEnumValue,
    /// A value added to an enum a request sends.
    RequestEnumValue,
    /// A new operation under a tag the crate selects, with its own inline error schema.
    NewOperation,
    /// A new documented error status on an existing operation.
    NewErrorStatus,
    /// A response schema made stricter (`additionalProperties: false`).
    StricterResponse,
    /// A response schema made looser.
    LooserResponse,
    /// Operations under other tags that the generator could not take.
    ForeignOperations,
    /// A limit of an operation's input raised (`maxLength`, `maxItems`, `maximum`).
    LimitRaised,
    /// A limit of an operation's input lowered.
    LimitLowered,
    /// A `pattern` of an operation's input changed.
    PatternChanged,
    /// A rule stated for an input that had none (a new `maxLength`).
    RuleAdded,
    /// A new `info.version`.
    Version,
}

/// Every kind, for the test that checks each is exercised.
#[cfg(test)]
pub const ALL_KINDS: &[Kind] = &[
    Kind::ResponseProperty,
    Kind::RequestProperty,
    Kind::ResponseEnumValue,
    Kind::RequestEnumValue,
    Kind::NewOperation,
    Kind::NewErrorStatus,
    Kind::StricterResponse,
    Kind::LooserResponse,
    Kind::ForeignOperations,
    Kind::LimitRaised,
    Kind::LimitLowered,
    Kind::PatternChanged,
    Kind::RuleAdded,
    Kind::Version,
];

/// One change to the spec.
pub struct Mutation {
    /// Short name, printed by the tool.
    pub name: &'static str,
    /// The kind of change.
    pub kind: Kind,
    /// What it changes, in a sentence.
    pub what: &'static str,
    apply: fn(&mut Value) -> Result<(), String>,
    /// For a changed rule: what the client and the fake must now do.
    pub expect: Option<Expectation>,
}

/// What a rule mutation makes true of the regenerated crate: the table
/// (`clerk_machines::spec`) states `rule` = `value` for `operation.field`,
/// and the samples in `accepts` are sent (and pass the fake's checks) while
/// those in `refuses` are refused before sending. Samples are JSON: a string
/// for a pattern, a number for a bound, a count for a length or an item count.
#[derive(Clone, Copy, Debug)]
pub struct Expectation {
    /// The `operationId`.
    pub operation: &'static str,
    /// The parameter or body field.
    pub field: &'static str,
    /// `maxLength`, `maxItems`, `maximum` or `pattern`.
    pub rule: &'static str,
    /// The new value, as JSON text (`300`, `"^mch_...$"`).
    pub value: &'static str,
    /// Samples the new rule allows (and the previous one may not), as JSON text.
    pub accepts: &'static [&'static str],
    /// Samples the new rule forbids (and the previous one may allow), as JSON text.
    pub refuses: &'static [&'static str],
}

/// JSON text written in this file (a typo shows as `null` in the expectations, and fails the test reading them).
fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

impl Expectation {
    /// As JSON, for the file `next-spec --expect` writes.
    pub fn to_json(self) -> Value {
        json!({
            "operation": self.operation,
            "field": self.field,
            "rule": self.rule,
            "value": parse(self.value),
            "accepts": self.accepts.iter().map(|s| parse(s)).collect::<Vec<_>>(),
            "refuses": self.refuses.iter().map(|s| parse(s)).collect::<Vec<_>>(),
        })
    }
}

/// The `info.version` the mutated spec carries.
pub const NEXT_VERSION: &str = "2026-12-01";

/// The mutations, in the order they are applied.
pub const MUTATIONS: &[Mutation] = &[
    Mutation {
        name: "machine-object-property",
        kind: Kind::ResponseProperty,
        expect: None,
        what: "MachineWithoutScopedMachines gains an optional object `metadata`",
        apply: |spec| {
            add_property(
                spec,
                "/components/schemas/MachineWithoutScopedMachines",
                "metadata",
                json!({"type": "object", "additionalProperties": true, "description": "Arbitrary metadata."}),
            )
        },
    },
    Mutation {
        name: "machine-nullable-integer",
        kind: Kind::ResponseProperty,
        expect: None,
        what: "MachineWithoutScopedMachines gains an optional nullable integer `last_used_at`",
        apply: |spec| {
            add_property(
                spec,
                "/components/schemas/MachineWithoutScopedMachines",
                "last_used_at",
                json!({"type": "integer", "format": "int64", "nullable": true}),
            )
        },
    },
    Mutation {
        name: "machine-array-property",
        kind: Kind::ResponseProperty,
        expect: None,
        what: "Machine (its allOf extension) gains an optional array of strings `labels`",
        apply: |spec| {
            add_property(
                spec,
                "/components/schemas/Machine/allOf/1",
                "labels",
                json!({"type": "array", "items": {"type": "string"}}),
            )
        },
    },
    Mutation {
        name: "token-scalar-property",
        kind: Kind::ResponseProperty,
        expect: None,
        what: "the inline createM2MToken 201 body gains an optional string `token_format`",
        apply: |spec| {
            add_property(
                spec,
                &format!("{CREATE_TOKEN}/responses/201/content/application~1json/schema"),
                "token_format",
                json!({"type": "string", "example": "opaque"}),
            )
        },
    },
    Mutation {
        name: "create-machine-description",
        kind: Kind::RequestProperty,
        expect: None,
        what: "the CreateMachine request body gains an optional string `description`",
        apply: |spec| {
            add_property(
                spec,
                "/paths/~1machines/post/requestBody/content/application~1json/schema",
                "description",
                json!({"type": "string", "maxLength": 500}),
            )
        },
    },
    Mutation {
        name: "create-token-audience",
        kind: Kind::RequestProperty,
        expect: None,
        what: "the createM2MToken request body (additionalProperties: false) gains an optional array `audience`",
        apply: |spec| {
            add_property(
                spec,
                &format!("{CREATE_TOKEN}/requestBody/content/application~1json/schema"),
                "audience",
                json!({"type": "array", "items": {"type": "string"}, "nullable": true}),
            )
        },
    },
    Mutation {
        name: "machine-object-enum",
        kind: Kind::ResponseEnumValue,
        expect: None,
        what: "the `object` enum of MachineWithoutScopedMachines gains `machine_v2`",
        apply: |spec| {
            add_enum_value(spec, "/components/schemas/MachineWithoutScopedMachines/properties/object", "machine_v2")
        },
    },
    Mutation {
        name: "token-object-enum",
        kind: Kind::ResponseEnumValue,
        expect: None,
        what: "the `object` enum of the createM2MToken 201 body gains `machine_to_machine_token_v2`",
        apply: |spec| {
            add_enum_value(
                spec,
                &format!("{CREATE_TOKEN}/responses/201/content/application~1json/schema/properties/object"),
                "machine_to_machine_token_v2",
            )
        },
    },
    Mutation {
        name: "token-format-enum",
        kind: Kind::RequestEnumValue,
        expect: None,
        what: "the createM2MToken `token_format` enum gains `paseto`",
        apply: |spec| {
            add_enum_value(
                spec,
                &format!(
                    "{CREATE_TOKEN}/requestBody/content/application~1json/schema/properties/token_format"
                ),
                "paseto",
            )
        },
    },
    Mutation {
        name: "new-machines-operation",
        kind: Kind::NewOperation,
        expect: None,
        what: "GET /machines/{machine_id}/usage (GetMachineUsage, tag Machines) with an inline 404 error schema",
        apply: |spec| {
            let paths = object_at(spec, "/paths")?;
            if paths.contains_key(USAGE_PATH) {
                return Err(format!("{USAGE_PATH} exists already"));
            }
            paths.insert(
                USAGE_PATH.to_owned(),
                json!({
                    "get": {
                        "operationId": "GetMachineUsage",
                        "summary": "Retrieve a machine's token usage",
                        "tags": ["Machines"],
                        "parameters": [{
                            "name": "machine_id", "in": "path", "required": true,
                            "schema": {"type": "string"}
                        }],
                        "responses": {
                            "200": {
                                "description": "200 OK",
                                "content": {"application/json": {"schema": {
                                    "type": "object",
                                    "properties": {
                                        "object": {"type": "string", "enum": ["machine_usage"]},
                                        "machine_id": {"type": "string"},
                                        "tokens_created": {"type": "integer", "format": "int64"},
                                        "last_token_at": {"type": "integer", "format": "int64", "nullable": true}
                                    },
                                    "required": ["object", "machine_id", "tokens_created"]
                                }}}
                            },
                            "404": inline_error_response("404 Not Found"),
                        }
                    }
                }),
            );
            Ok(())
        },
    },
    Mutation {
        name: "new-error-statuses",
        kind: Kind::NewErrorStatus,
        expect: None,
        what: "GetMachine documents 429 (shared ClerkErrors response); revokeM2MToken documents 409 (inline error schema)",
        apply: |spec| {
            let get = object_at(spec, "/paths/~1machines~1{machine_id}/get/responses")?;
            insert_new(get, "429", json!({"$ref": "#/components/responses/ClerkErrors"}))?;
            let revoke = object_at(spec, "/paths/~1m2m_tokens~1{m2m_token_id}~1revoke/post/responses")?;
            insert_new(revoke, "409", inline_error_response("409 Conflict"))
        },
    },
    Mutation {
        name: "stricter-machine",
        kind: Kind::StricterResponse,
        expect: None,
        what: "MachineWithoutScopedMachines and MachineScope get additionalProperties: false",
        apply: |spec| {
            for pointer in ["/components/schemas/MachineWithoutScopedMachines", "/components/schemas/MachineScope"] {
                insert_new(object_at(spec, pointer)?, "additionalProperties", json!(false))?;
            }
            Ok(())
        },
    },
    Mutation {
        name: "looser-token-response",
        kind: Kind::LooserResponse,
        expect: None,
        what: "the createM2MToken 201 body drops additionalProperties: false; DeleteMachine's body allows any",
        apply: |spec| {
            let created = object_at(spec, &format!("{CREATE_TOKEN}/responses/201/content/application~1json/schema"))?;
            created
                .remove("additionalProperties")
                .ok_or("the createM2MToken 201 body has no additionalProperties to drop")?;
            let deleted = object_at(spec, "/components/responses/Machine.Deleted/content/application~1json/schema")?;
            insert_new(deleted, "additionalProperties", json!(true))
        },
    },
    Mutation {
        name: "foreign-operations",
        kind: Kind::ForeignOperations,
        expect: None,
        what: "operations under a new tag that progenitor cannot take (two success schemas, two media types, no operationId)",
        apply: |spec| {
            let paths = object_at(spec, "/paths")?;
            let path = "/experimental/widgets";
            if paths.contains_key(path) {
                return Err(format!("{path} exists already"));
            }
            paths.insert(
                path.to_owned(),
                json!({
                    "get": {
                        "tags": ["Experimental"],
                        "responses": {"200": {"description": "no operationId", "content": {"text/plain": {"schema": {"type": "string"}}}}}
                    },
                    "post": {
                        "operationId": "CreateWidget",
                        "tags": ["Experimental"],
                        "requestBody": {"content": {
                            "multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}},
                            "application/x-www-form-urlencoded": {"schema": {"type": "object"}}
                        }},
                        "responses": {
                            "200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object", "properties": {"a": {"type": "string"}}}}}},
                            "201": {"description": "created", "content": {"application/json": {"schema": {"type": "array", "items": {"type": "integer"}}}}}
                        }
                    }
                }),
            );
            Ok(())
        },
    },
    Mutation {
        name: "longer-machine-names",
        kind: Kind::LimitRaised,
        expect: Some(Expectation {
            operation: "CreateMachine",
            field: "name",
            rule: "maxLength",
            value: "300",
            accepts: &["300"],
            refuses: &["301"],
        }),
        what: "CreateMachine's `name` takes 300 characters (was 255); UpdateMachine's keeps its own limit",
        apply: |spec| set_limit(spec, &format!("{CREATE_MACHINE}/properties/name"), "maxLength", 300, Change::Raise),
    },
    Mutation {
        name: "more-scoped-machines",
        kind: Kind::LimitRaised,
        expect: Some(Expectation {
            operation: "CreateMachine",
            field: "scoped_machines",
            rule: "maxItems",
            value: "200",
            accepts: &["200"],
            refuses: &["201"],
        }),
        what: "CreateMachine's `scoped_machines` takes 200 ids (was 150)",
        apply: |spec| {
            set_limit(spec, &format!("{CREATE_MACHINE}/properties/scoped_machines"), "maxItems", 200, Change::Raise)
        },
    },
    Mutation {
        name: "shorter-key-grace",
        kind: Kind::LimitLowered,
        expect: Some(Expectation {
            operation: "RotateMachineSecretKey",
            field: "previous_token_ttl",
            rule: "maximum",
            value: "3600",
            accepts: &["3600"],
            refuses: &["3601", "28800"],
        }),
        what: "RotateMachineSecretKey's `previous_token_ttl` is at most 3600 s (was 28800)",
        apply: |spec| {
            set_limit(
                spec,
                "/paths/~1machines~1{machine_id}~1secret_key~1rotate/post/requestBody/content/application~1json/schema/properties/previous_token_ttl",
                "maximum",
                3600,
                Change::Lower,
            )
        },
    },
    Mutation {
        name: "smaller-shared-page",
        kind: Kind::LimitLowered,
        expect: Some(Expectation {
            operation: "ListMachines",
            field: "limit",
            rule: "maximum",
            value: "250",
            accepts: &["250"],
            refuses: &["251", "500"],
        }),
        what: "the shared `LimitParameter` (ListMachines' `limit`, through a $ref) is at most 250 (was 500)",
        apply: |spec| set_limit(spec, "/components/parameters/LimitParameter/schema", "maximum", 250, Change::Lower),
    },
    Mutation {
        name: "stricter-token-subject",
        kind: Kind::PatternChanged,
        expect: Some(Expectation {
            operation: "getM2MTokens",
            field: "subject",
            rule: "pattern",
            value: "\"^mch_[A-Za-z0-9]{27}$\"",
            accepts: &["\"mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk\""],
            refuses: &["\"mch_2xhFjEI5X2qWRvtV13Bz_j8H6Dk\""],
        }),
        what: "getM2MTokens' `subject` pattern no longer allows `_` after `mch_` (was `^mch_\\w{27}$`)",
        apply: |spec| {
            let subject = spec
                .pointer_mut("/paths/~1m2m_tokens/get/parameters")
                .and_then(Value::as_array_mut)
                .and_then(|params| params.iter_mut().find(|p| p.get("name") == Some(&json!("subject"))))
                .and_then(|param| param.get_mut("schema"))
                .and_then(Value::as_object_mut)
                .ok_or("getM2MTokens has no `subject` parameter schema")?;
            let new = json!("^mch_[A-Za-z0-9]{27}$");
            match subject.get("pattern") {
                Some(old) if *old == new => Err("the pattern is changed already".to_owned()),
                Some(_) => {
                    subject.insert("pattern".into(), new);
                    Ok(())
                }
                None => Err("`subject` has no pattern to change".to_owned()),
            }
        },
    },
    Mutation {
        name: "bounded-revocation-reason",
        kind: Kind::RuleAdded,
        expect: Some(Expectation {
            operation: "revokeM2MToken",
            field: "revocation_reason",
            rule: "maxLength",
            value: "512",
            accepts: &["512"],
            refuses: &["513"],
        }),
        what: "revokeM2MToken's `revocation_reason` takes at most 512 characters (the spec stated no limit)",
        apply: |spec| {
            let reason = object_at(
                spec,
                "/paths/~1m2m_tokens~1{m2m_token_id}~1revoke/post/requestBody/content/application~1json/schema/properties/revocation_reason",
            )?;
            insert_new(reason, "maxLength", json!(512))
        },
    },
    Mutation {
        name: "version",
        kind: Kind::Version,
        expect: None,
        what: "info.version becomes the next release's date",
        apply: |spec| {
            let version = spec.pointer_mut("/info/version").ok_or("the spec has no info.version")?;
            if version == NEXT_VERSION {
                return Err(format!("info.version is {NEXT_VERSION} already"));
            }
            *version = json!(NEXT_VERSION);
            Ok(())
        },
    },
];

const CREATE_TOKEN: &str = "/paths/~1m2m_tokens/post";
const CREATE_MACHINE: &str = "/paths/~1machines/post/requestBody/content/application~1json/schema";
const USAGE_PATH: &str = "/machines/{machine_id}/usage";

/// Applies every mutation in order; fails on the first that cannot apply.
pub fn apply_all(spec: &mut Value) -> Result<Vec<&'static Mutation>, String> {
    MUTATIONS
        .iter()
        .map(|mutation| {
            (mutation.apply)(spec).map_err(|e| format!("mutation {}: {e}", mutation.name))?;
            Ok(mutation)
        })
        .collect()
}

/// The JSON object at `pointer` (RFC 6901), or an error naming the pointer.
fn object_at<'a>(
    spec: &'a mut Value,
    pointer: &str,
) -> Result<&'a mut serde_json::Map<String, Value>, String> {
    spec.pointer_mut(pointer)
        .ok_or_else(|| format!("nothing at {pointer}"))?
        .as_object_mut()
        .ok_or_else(|| format!("{pointer} is not an object"))
}

/// Inserts `key`, which must not exist yet (a mutation adds, never overwrites).
fn insert_new(map: &mut serde_json::Map<String, Value>, key: &str, value: Value) -> Result<(), String> {
    if map.contains_key(key) {
        return Err(format!("`{key}` exists already"));
    }
    map.insert(key.to_owned(), value);
    Ok(())
}

/// Which way a limit moves.
#[derive(Clone, Copy)]
enum Change {
    Raise,
    Lower,
}

/// Sets the numeric `key` of the schema at `pointer` to `to`, which must
/// move it the way `change` says (so that a second pass refuses).
fn set_limit(spec: &mut Value, pointer: &str, key: &str, to: u64, change: Change) -> Result<(), String> {
    let schema = object_at(spec, pointer)?;
    let from =
        schema.get(key).and_then(Value::as_u64).ok_or_else(|| format!("{pointer} has no whole `{key}`"))?;
    let moves = match change {
        Change::Raise => to > from,
        Change::Lower => to < from,
    };
    if !moves {
        return Err(format!("`{key}` is {from} already; {to} would not change it the intended way"));
    }
    schema.insert(key.to_owned(), json!(to));
    Ok(())
}

/// Adds an optional property to the object schema at `pointer`.
fn add_property(spec: &mut Value, pointer: &str, name: &str, schema: Value) -> Result<(), String> {
    let properties = object_at(spec, pointer)?
        .get_mut("properties")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| format!("{pointer} has no properties"))?;
    insert_new(properties, name, schema)
}

/// Adds `value` to the string enum at `pointer`.
fn add_enum_value(spec: &mut Value, pointer: &str, value: &str) -> Result<(), String> {
    let values = object_at(spec, pointer)?
        .get_mut("enum")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| format!("{pointer} is not an enum"))?;
    if values.iter().any(|v| v == value) {
        return Err(format!("{pointer} has `{value}` already"));
    }
    values.push(json!(value));
    Ok(())
}

/// An error response declared inline, as the M2M operations do.
fn inline_error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {
            "type": "object",
            "properties": {"errors": {"type": "array", "items": {
                "type": "object",
                "properties": {
                    "message": {"type": "string"},
                    "long_message": {"type": "string"},
                    "code": {"type": "string"}
                },
                "required": ["message", "long_message", "code"]
            }}},
            "required": ["errors"]
        }}}
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    fn vendored_spec() -> (PathBuf, Value) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../openapi");
        let path = std::fs::read_dir(&dir)
            .expect("the vendored spec directory")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "yml"))
            .max()
            .expect("a vendored spec");
        let text = std::fs::read_to_string(&path).expect("readable");
        let spec = serde_yaml_ng::from_str(&text).expect("valid YAML");
        (path, spec)
    }

    #[test]
    fn every_mutation_applies_to_the_vendored_spec() {
        let (path, mut spec) = vendored_spec();
        let before = spec.clone();
        let applied = apply_all(&mut spec).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(applied.len(), MUTATIONS.len());
        assert!(MUTATIONS.len() >= 8, "the issue asks for at least eight mutations");
        assert_ne!(spec, before);
        assert_eq!(spec.pointer("/info/version"), Some(&json!(NEXT_VERSION)));
        assert!(spec.pointer("/paths/~1machines~1{machine_id}~1usage/get").is_some());
    }

    #[test]
    fn every_kind_is_exercised() {
        for kind in ALL_KINDS {
            assert!(MUTATIONS.iter().any(|m| m.kind == *kind), "no mutation of kind {kind:?}");
        }
    }

    #[test]
    fn a_missing_target_names_the_mutation() {
        let mut spec = json!({"info": {"version": "1"}, "paths": {}, "components": {"schemas": {}}});
        let error = apply_all(&mut spec).err().expect("nothing to mutate");
        assert!(error.starts_with("mutation machine-object-property: nothing at"), "{error}");
    }

    #[test]
    fn mutations_add_and_never_overwrite() {
        let (_, mut spec) = vendored_spec();
        apply_all(&mut spec).expect("first pass");
        let error = apply_all(&mut spec).err().expect("second pass must refuse");
        assert!(error.contains("exists already") || error.contains("already"), "{error}");
    }

    #[test]
    fn rule_mutations_say_what_they_expect() {
        let rules: Vec<&Mutation> = MUTATIONS.iter().filter(|m| m.expect.is_some()).collect();
        let count = |kind| rules.iter().filter(|m| m.kind == kind).count();
        assert!(
            count(Kind::LimitRaised) >= 2
                && count(Kind::LimitLowered) >= 2
                && count(Kind::PatternChanged) >= 1
                && count(Kind::RuleAdded) >= 1
        );
        let (_, mut spec) = vendored_spec();
        apply_all(&mut spec).expect("applies");
        let page = spec.pointer("/components/parameters/LimitParameter/schema/maximum");
        assert_eq!(page, Some(&json!(250)), "one limit moves through the shared $ref");
    }
}
