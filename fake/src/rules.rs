//! The spec's input rules, enforced: every request is checked against the
//! rules of its operation in `clerk_machines::spec`, the same table the
//! client checks before sending (read from the spec the library was
//! generated from), so the fake accepts exactly what the spec accepts.
//!
//! A request that breaks a rule gets Clerk's answer: 422
//! (`form_param_value_invalid`, `form_param_missing`) for the operations
//! whose spec documents a 422 (Machines), otherwise 400 (`bad_request`),
//! with the parameter in `meta.param_name`.

use super::errors::{Failure, Outcome};
use clerk_machines::spec::{self, Field, Kind, Location, Operation, Violation};
use serde_json::{Map, Number, Value};
use std::collections::HashMap;

/// What a request carries, for the checks.
#[derive(Default)]
pub(crate) struct Request<'a> {
    /// Path parameters by name.
    pub(crate) path: &'a [(&'static str, &'a str)],
    /// Query parameters (the last value of a repeated one).
    pub(crate) query: Option<&'a HashMap<String, String>>,
    /// The JSON body (an empty body is an empty object).
    pub(crate) body: Option<&'a Map<String, Value>>,
}

/// The operation with this id; a fake route for an operation the spec does
/// not have is the fake's own error.
pub(crate) fn operation(id: &str) -> Outcome<&'static Operation> {
    spec::operation(id).ok_or_else(|| Failure::internal(format!("the spec has no operation {id}")))
}

/// Checks `request` against every rule of `operation_id`.
pub(crate) fn check(operation_id: &str, request: &Request<'_>) -> Outcome<()> {
    let op = operation(operation_id)?;
    for field in op.fields {
        let value = match field.location {
            Location::Path => request
                .path
                .iter()
                .find(|(name, _)| *name == field.name)
                .map(|(_, value)| Value::String((*value).to_owned())),
            Location::Query => match request.query.and_then(|query| query.get(field.name)) {
                // Clerk's SDKs send an unset nullable parameter as `null` or empty.
                Some(text) if field.rules.nullable && matches!(text.as_str(), "" | "null") => None,
                Some(text) => {
                    Some(query_value(field, text).map_err(|violation| failure(op, field, violation))?)
                }
                None => None,
            },
            Location::Body => request.body.and_then(|body| body.get(field.name)).cloned(),
            // No selected operation reads headers or cookies as parameters.
            _ => continue,
        };
        field.check_json(value.as_ref()).map_err(|violation| failure(op, field, violation))?;
    }
    if op.closed_body {
        let known = |name: &str| op.fields.iter().any(|f| f.location == Location::Body && f.name == name);
        if let Some(unknown) = request.body.into_iter().flat_map(Map::keys).find(|name| !known(name)) {
            return Err(Failure::bad_request(
                unknown,
                format!("{unknown} is not a valid parameter for this request."),
            ));
        }
    }
    Ok(())
}

/// A query parameter's text as the JSON value of the field's type.
fn query_value(field: &Field, text: &str) -> Result<Value, Violation> {
    let wrong = |expected| Violation::WrongType { expected };
    Ok(match field.rules.kind {
        Some(Kind::Integer) => {
            let number =
                text.parse::<i64>().map(Number::from).ok().or_else(|| {
                    text.parse::<f64>().ok().filter(|f| f.fract() == 0.0).and_then(Number::from_f64)
                });
            Value::Number(number.ok_or(wrong(Kind::Integer))?)
        }
        Some(Kind::Number) => {
            Value::Number(text.parse::<f64>().ok().and_then(Number::from_f64).ok_or(wrong(Kind::Number))?)
        }
        Some(Kind::Boolean) => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(wrong(Kind::Boolean)),
        },
        _ => Value::String(text.to_owned()),
    })
}

/// Clerk's answer to `violation` of `field`.
fn failure(op: &Operation, field: &Field, violation: Violation) -> Failure {
    let name = field.name;
    let unprocessable = op.statuses.contains(&422);
    match violation {
        Violation::Missing if unprocessable => Failure::missing(name),
        Violation::Missing => Failure::bad_request(name, format!("{name} is required.")),
        other if unprocessable => Failure::unprocessable(name, format!("{name} {other}.")),
        other => Failure::bad_request(name, format!("{name} {other}.")),
    }
}

/// The spec's default for `field` of `operation_id`, as a whole number.
pub(crate) fn default_u64(operation_id: &str, field: &str) -> Option<u64> {
    let default = spec::operation(operation_id)?.field(field)?.rules.default?;
    default
        .parse::<u64>()
        .ok()
        .or_else(|| default.parse::<f64>().ok().filter(|f| f.fract() == 0.0).map(|f| f as u64))
}

/// The spec's `maxItems` for `field` of `operation_id`.
pub(crate) fn max_items(operation_id: &str, field: &str) -> Option<usize> {
    let max = spec::operation(operation_id)?.field(field)?.rules.max_items?;
    usize::try_from(max).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_take_the_fields_type() {
        let op = operation("ListMachines").unwrap();
        let limit = op.field("limit").unwrap();
        assert_eq!(query_value(limit, "10"), Ok(serde_json::json!(10)));
        assert!(query_value(limit, "10.0").is_ok(), "a whole number");
        assert!(query_value(limit, "ten").is_err());
        let query: HashMap<String, String> = [("limit".to_owned(), "0".to_owned())].into();
        let refused =
            check("ListMachines", &Request { query: Some(&query), ..Request::default() }).unwrap_err();
        assert_eq!(refused.status.as_u16(), 422, "Machines operations answer 422");
        let query: HashMap<String, String> = [("limit".to_owned(), "0".to_owned())].into();
        let refused =
            check("getM2MTokens", &Request { query: Some(&query), ..Request::default() }).unwrap_err();
        assert_eq!(refused.status.as_u16(), 400, "the others 400 (and subject is required)");
    }

    #[test]
    fn closed_bodies_refuse_unknown_fields() {
        let body: Map<String, Value> = serde_json::from_str(r#"{"token": "x", "extra": 1}"#).unwrap();
        let refused =
            check("verifyM2MToken", &Request { body: Some(&body), ..Request::default() }).unwrap_err();
        assert_eq!(refused.meta.get("param_name"), Some(&Value::String("extra".into())));
    }
}
