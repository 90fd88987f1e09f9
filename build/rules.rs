//! The input rules of the selected operations, read from the spec as it
//! states them (before any repair): every parameter and top-level
//! request-body field of each operation, with its constraints.
//!
//! `generate.rs` writes them into `spec_info.rs`, where they become the
//! `clerk_machines::spec::Field`s that the hand-written layer checks input
//! against before sending and that the fake enforces. No limit, pattern or
//! enum is copied by hand anywhere else.
//!
//! What is read, per field: `type` (and `nullable`), `required`, `default`,
//! `minLength`/`maxLength`, `minItems`/`maxItems`, `minimum`/`maximum` with
//! `exclusiveMinimum`/`exclusiveMaximum` (OpenAPI 3.0's booleans and 3.1's
//! numbers), `pattern` (checked here to compile as an ECMAScript regular
//! expression, as the runtime will compile it), `enum`, and the same for an
//! array's `items`. `$ref`s are followed (shared parameters, request bodies,
//! schemas) and `allOf` parts are merged; `oneOf`/`anyOf` state no rule the
//! crate can check on its own, so their branches are not read.

use serde_json::{Map, Value};

/// The constraints of one schema.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Rules {
    /// `type` (`string`, `integer`, `number`, `boolean`, `array`, `object`).
    pub kind: Option<String>,
    /// `nullable: true` (or `null` among 3.1's types).
    pub nullable: bool,
    /// `default`, as JSON text.
    pub default: Option<String>,
    /// `minLength`, in characters.
    pub min_length: Option<u64>,
    /// `maxLength`, in characters.
    pub max_length: Option<u64>,
    /// `minItems`.
    pub min_items: Option<u64>,
    /// `maxItems`.
    pub max_items: Option<u64>,
    /// `minimum` and whether it is exclusive.
    pub minimum: Option<(f64, bool)>,
    /// `maximum` and whether it is exclusive.
    pub maximum: Option<(f64, bool)>,
    /// `pattern`, an ECMAScript regular expression.
    pub pattern: Option<String>,
    /// `enum`: strings as they are, other values as JSON text.
    pub enum_values: Vec<String>,
    /// The rules of an array's items.
    pub items: Option<Box<Rules>>,
}

/// One parameter or request-body field.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldRules {
    /// Its name (the parameter's `name`, or the body property).
    pub name: String,
    /// `path`, `query`, `header`, `cookie` or `body`.
    pub location: String,
    /// Whether the request must carry it.
    pub required: bool,
    /// Its schema's constraints.
    pub rules: Rules,
}

/// The input rules of one operation.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct OperationRules {
    /// Parameters first (in the spec's order), then body fields (by name, as
    /// `serde_json` keeps object keys).
    pub fields: Vec<FieldRules>,
    /// The JSON body's schema has `additionalProperties: false`.
    pub closed_body: bool,
}

/// The input rules of `op`, resolving references against `spec`'s components.
/// `name` names the operation in error messages.
pub fn of_operation<'a>(
    spec: &'a Value,
    path_item: &'a Value,
    op: &'a Value,
    name: &'a str,
) -> Result<OperationRules, String> {
    let resolver = Resolver { spec, name };
    let mut fields = Vec::new();
    // Path-level parameters apply to every operation under the path; the
    // operation's own override those of the same name and location.
    let mut params: Vec<&Value> = Vec::new();
    for list in [path_item.get("parameters"), op.get("parameters")] {
        for param in list.and_then(Value::as_array).into_iter().flatten() {
            let param = resolver.follow(param)?;
            let key = |p: &Value| (p.get("name").cloned(), p.get("in").cloned());
            params.retain(|existing| key(existing) != key(param));
            params.push(param);
        }
    }
    for param in params {
        let field = |key: &str| param.get(key).and_then(Value::as_str);
        let (Some(pname), Some(location)) = (field("name"), field("in")) else {
            return Err(format!("{name}: a parameter without `name` or `in`"));
        };
        let schema = param.get("schema").unwrap_or(&Value::Null);
        fields.push(FieldRules {
            name: pname.to_owned(),
            location: location.to_owned(),
            // Path parameters are always required (OpenAPI).
            required: location == "path" || param.get("required").and_then(Value::as_bool) == Some(true),
            rules: resolver.rules(schema, &format!("parameter {pname}"))?,
        });
    }
    let mut closed_body = false;
    if let Some(body) = op.get("requestBody") {
        let body = resolver.follow(body)?;
        if let Some(schema) = body.pointer("/content/application~1json/schema") {
            let schema = resolver.merged(schema)?;
            closed_body = schema.get("additionalProperties") == Some(&Value::Bool(false));
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let properties = schema.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
            for (prop, prop_schema) in &properties {
                fields.push(FieldRules {
                    name: prop.clone(),
                    location: "body".to_owned(),
                    required: required.contains(&prop.as_str()),
                    rules: resolver.rules(prop_schema, &format!("body field {prop}"))?,
                });
            }
        }
    }
    Ok(OperationRules { fields, closed_body })
}

/// Follows `$ref`s within one spec.
struct Resolver<'a> {
    spec: &'a Value,
    name: &'a str,
}

impl<'a> Resolver<'a> {
    /// `value`, or what its `$ref` points at (transitively).
    fn follow(&self, mut value: &'a Value) -> Result<&'a Value, String> {
        for _ in 0..32 {
            let Some(reference) = value.get("$ref").and_then(Value::as_str) else { return Ok(value) };
            let pointer = reference.strip_prefix('#').ok_or_else(|| {
                format!("{}: only local references are supported, not {reference}", self.name)
            })?;
            value = self
                .spec
                .pointer(pointer)
                .ok_or_else(|| format!("{}: unresolvable reference {reference}", self.name))?;
        }
        Err(format!("{}: a reference cycle", self.name))
    }

    /// A schema with its `$ref` followed and its `allOf` parts merged into
    /// one object (properties and `required` united, other keywords: the
    /// last part that states them wins).
    fn merged(&self, schema: &'a Value) -> Result<Map<String, Value>, String> {
        let schema = self.follow(schema)?;
        let Some(object) = schema.as_object() else { return Ok(Map::new()) };
        let mut merged = Map::new();
        for part in object.get("allOf").and_then(Value::as_array).into_iter().flatten() {
            for (key, value) in self.merged(part)? {
                match (key.as_str(), merged.get_mut(&key)) {
                    ("properties", Some(Value::Object(existing))) => {
                        if let Value::Object(more) = value {
                            existing.extend(more);
                        }
                    }
                    ("required", Some(Value::Array(existing))) => {
                        if let Value::Array(more) = value {
                            existing.extend(more);
                        }
                    }
                    _ => {
                        merged.insert(key, value);
                    }
                }
            }
        }
        for (key, value) in object {
            if key != "allOf" {
                merged.insert(key.clone(), value.clone());
            }
        }
        Ok(merged)
    }

    fn rules(&self, schema: &'a Value, what: &str) -> Result<Rules, String> {
        let schema = self.merged(schema)?;
        let unsigned = |key: &str| -> Result<Option<u64>, String> {
            match schema.get(key) {
                None => Ok(None),
                Some(value) => value
                    .as_u64()
                    .or_else(|| value.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0).map(|f| f as u64))
                    .map(Some)
                    .ok_or_else(|| format!("{}: {what}: `{key}` is not a non-negative integer", self.name)),
            }
        };
        let bound = |key: &str, exclusive_key: &str| -> Result<Option<(f64, bool)>, String> {
            let stated = match schema.get(key) {
                None => None,
                Some(value) => Some(
                    value
                        .as_f64()
                        .ok_or_else(|| format!("{}: {what}: `{key}` is not a number", self.name))?,
                ),
            };
            Ok(match (stated, schema.get(exclusive_key)) {
                // OpenAPI 3.0: a boolean modifying the bound.
                (Some(value), Some(Value::Bool(exclusive))) => Some((value, *exclusive)),
                // OpenAPI 3.1 / JSON Schema 2019+: the exclusive bound itself.
                (_, Some(exclusive)) if exclusive.is_number() => {
                    exclusive.as_f64().map(|value| (value, true))
                }
                (Some(value), _) => Some((value, false)),
                (None, _) => None,
            })
        };
        let (kind, null_in_types) = match schema.get("type") {
            Some(Value::String(kind)) => (Some(kind.clone()), false),
            Some(Value::Array(kinds)) => {
                let kinds: Vec<&str> = kinds.iter().filter_map(Value::as_str).collect();
                (kinds.iter().find(|k| **k != "null").map(|k| (*k).to_owned()), kinds.contains(&"null"))
            }
            _ => (None, false),
        };
        let pattern = match schema.get("pattern") {
            None => None,
            Some(Value::String(pattern)) => {
                regress::Regex::new(pattern).map_err(|e| {
                    format!(
                        "{}: {what}: the pattern `{pattern}` is not an ECMAScript regular expression: {e}",
                        self.name
                    )
                })?;
                Some(pattern.clone())
            }
            Some(_) => return Err(format!("{}: {what}: `pattern` is not a string", self.name)),
        };
        let enum_values = schema
            .get("enum")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|value| match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            })
            .collect();
        let items = match schema.get("items") {
            Some(items) => Some(Box::new(self.rules(items, &format!("{what} items"))?)),
            None => None,
        };
        Ok(Rules {
            kind,
            nullable: null_in_types || schema.get("nullable") == Some(&Value::Bool(true)),
            default: schema.get("default").map(Value::to_string),
            min_length: unsigned("minLength")?,
            max_length: unsigned("maxLength")?,
            min_items: unsigned("minItems")?,
            max_items: unsigned("maxItems")?,
            minimum: bound("minimum", "exclusiveMinimum")?,
            maximum: bound("maximum", "exclusiveMaximum")?,
            pattern,
            enum_values,
            items,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_and_bounds_are_read_as_stated() {
        let spec = json!({
            "components": {
                "parameters": {"Limit": {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 10}}},
                "schemas": {"Name": {"type": "string", "minLength": 1, "maxLength": 255}}
            }
        });
        let op = json!({
            "parameters": [{"$ref": "#/components/parameters/Limit"}, {"name": "id", "in": "path", "schema": {"type": "string", "pattern": "^mch_\\w{27}$"}}],
            "requestBody": {"content": {"application/json": {"schema": {
                "type": "object", "required": ["name"], "additionalProperties": false,
                "properties": {
                    "name": {"$ref": "#/components/schemas/Name"},
                    "ttl": {"type": "number", "nullable": true, "minimum": 0, "exclusiveMinimum": true},
                    "ids": {"type": "array", "maxItems": 150, "items": {"type": "string", "enum": ["a", 1]}}
                }
            }}}}
        });
        let rules = of_operation(&spec, &json!({}), &op, "op").unwrap();
        assert!(rules.closed_body);
        let names: Vec<&str> = rules.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["limit", "id", "ids", "name", "ttl"], "parameters, then body fields by name");
        let limit = &rules.fields[0];
        assert_eq!((limit.location.as_str(), limit.required), ("query", false));
        assert_eq!(limit.rules.maximum, Some((500.0, false)));
        assert_eq!(limit.rules.default.as_deref(), Some("10"));
        assert!(rules.fields[1].required, "path parameters are required");
        assert_eq!(rules.fields[3].rules.max_length, Some(255));
        assert!(rules.fields[3].required);
        assert_eq!(rules.fields[4].rules.minimum, Some((0.0, true)));
        assert!(rules.fields[4].rules.nullable);
        let ids = &rules.fields[2].rules;
        assert_eq!(ids.max_items, Some(150));
        assert_eq!(
            ids.items.as_ref().map(|i| i.enum_values.clone()),
            Some(vec!["a".to_owned(), "1".to_owned()])
        );
    }

    #[test]
    fn a_pattern_that_does_not_compile_is_refused() {
        let op = json!({"parameters": [{"name": "x", "in": "query", "schema": {"type": "string", "pattern": "(unclosed"}}]});
        let error = of_operation(&json!({}), &json!({}), &op, "op X").unwrap_err();
        assert!(error.contains("op X: parameter x: the pattern"), "{error}");
    }
}
