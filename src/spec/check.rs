//! Checking a value against the spec's [`Rules`]: one implementation, used
//! by the client before it sends anything and by the fake Clerk on what it
//! receives.

use super::{Bound, Field, Kind, Rules};
use serde_json::Value;

/// How a value breaks the spec's rules. Its `Display` states the rule and
/// the spec's limit, never the value itself (which may be a secret).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Violation {
    /// A required field is absent.
    #[error("is required")]
    Missing,
    /// `null` where the spec does not allow it.
    #[error("must not be null")]
    Null,
    /// A value of another JSON type.
    #[error("must be {}", kind_name(*.expected))]
    WrongType {
        /// The type the spec states.
        expected: Kind,
    },
    /// Fewer characters than `minLength`.
    #[error("{}", too_short(*.length, *.min))]
    TooShort {
        /// The value's length, in characters.
        length: usize,
        /// The spec's `minLength`.
        min: u64,
    },
    /// More characters than `maxLength`.
    #[error("is {length} characters long; the spec allows at most {max}")]
    TooLong {
        /// The value's length, in characters.
        length: usize,
        /// The spec's `maxLength`.
        max: u64,
    },
    /// Fewer items than `minItems`.
    #[error("has {count} items; the spec requires at least {min}")]
    TooFewItems {
        /// How many items the value has.
        count: usize,
        /// The spec's `minItems`.
        min: u64,
    },
    /// More items than `maxItems`.
    #[error("has {count} items; the spec allows at most {max}")]
    TooManyItems {
        /// How many items the value has.
        count: usize,
        /// The spec's `maxItems`.
        max: u64,
    },
    /// A number below `minimum` (or not above an exclusive one).
    #[error("is {value}; the spec requires {} {}", if minimum.exclusive { "more than" } else { "at least" }, minimum.value)]
    BelowMinimum {
        /// The value.
        value: f64,
        /// The spec's `minimum`.
        minimum: Bound,
    },
    /// A number above `maximum` (or not below an exclusive one).
    #[error("is {value}; the spec requires {} {}", if maximum.exclusive { "less than" } else { "at most" }, maximum.value)]
    AboveMaximum {
        /// The value.
        value: f64,
        /// The spec's `maximum`.
        maximum: Bound,
    },
    /// A string that does not match `pattern`.
    #[error("does not match the spec's pattern `{pattern}`")]
    NoMatch {
        /// The spec's pattern.
        pattern: &'static str,
    },
    /// A value outside `enum`.
    #[error("must be one of {}", allowed.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", "))]
    NotAllowed {
        /// The values the spec allows.
        allowed: &'static [&'static str],
    },
    /// An item of an array breaks the items' rules.
    #[error("item {index} {violation}")]
    Item {
        /// The item's position, from 0.
        index: usize,
        /// What is wrong with it.
        violation: Box<Violation>,
    },
}

fn too_short(length: usize, min: u64) -> String {
    if length == 0 && min == 1 {
        "must not be empty".to_owned()
    } else if length == 0 {
        format!("must not be empty (the spec requires at least {min} characters)")
    } else {
        format!("is {length} characters long; the spec requires at least {min}")
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::String => "a string",
        Kind::Integer => "an integer",
        Kind::Number => "a number",
        Kind::Boolean => "a boolean",
        Kind::Array => "an array",
        Kind::Object => "an object",
    }
}

impl Rules {
    /// Checks a string against `minLength`, `maxLength`, `pattern` and `enum`.
    pub fn check_str(&self, value: &str) -> Result<(), Violation> {
        if self.min_length.is_some() || self.max_length.is_some() {
            let length = value.chars().count();
            if let Some(min) = self.min_length.filter(|min| (length as u64) < *min) {
                return Err(Violation::TooShort { length, min });
            }
            if let Some(max) = self.max_length.filter(|max| length as u64 > *max) {
                return Err(Violation::TooLong { length, max });
            }
        }
        if let Some(pattern) = self.pattern.filter(|pattern| !pattern.is_match(value)) {
            return Err(Violation::NoMatch { pattern: pattern.as_str() });
        }
        self.check_enum(value)
    }

    /// Checks a number against `minimum` and `maximum`.
    pub fn check_number(&self, value: f64) -> Result<(), Violation> {
        if let Some(minimum) = self.minimum {
            let below = if minimum.exclusive { value <= minimum.value } else { value < minimum.value };
            if below {
                return Err(Violation::BelowMinimum { value, minimum });
            }
        }
        if let Some(maximum) = self.maximum {
            let above = if maximum.exclusive { value >= maximum.value } else { value > maximum.value };
            if above {
                return Err(Violation::AboveMaximum { value, maximum });
            }
        }
        Ok(())
    }

    /// Checks an array's length against `minItems` and `maxItems`.
    pub fn check_count(&self, count: usize) -> Result<(), Violation> {
        if let Some(min) = self.min_items.filter(|min| (count as u64) < *min) {
            return Err(Violation::TooFewItems { count, min });
        }
        if let Some(max) = self.max_items.filter(|max| count as u64 > *max) {
            return Err(Violation::TooManyItems { count, max });
        }
        Ok(())
    }

    /// Checks the strings of an array: their count, then each against the items' rules.
    pub fn check_strs<S: AsRef<str>>(&self, items: &[S]) -> Result<(), Violation> {
        self.check_count(items.len())?;
        let Some(item_rules) = self.items else { return Ok(()) };
        items.iter().enumerate().try_for_each(|(index, item)| {
            item_rules
                .check_str(item.as_ref())
                .map_err(|violation| Violation::Item { index, violation: Box::new(violation) })
        })
    }

    /// Checks a JSON value: `null` against `nullable`, then the type, then
    /// the rules of that type (the items' rules for an array).
    pub fn check_json(&self, value: &Value) -> Result<(), Violation> {
        if value.is_null() {
            // A schema without a type (`claims`) allows any value.
            return if self.nullable || self.kind.is_none() { Ok(()) } else { Err(Violation::Null) };
        }
        if let Some(expected) = self.kind.filter(|kind| !is_of_kind(value, *kind)) {
            return Err(Violation::WrongType { expected });
        }
        match value {
            Value::String(text) => self.check_str(text),
            Value::Number(number) => {
                let number = number.as_f64().unwrap_or(f64::NAN);
                self.check_number(number)?;
                self.check_enum(&value.to_string())
            }
            Value::Array(items) => {
                self.check_count(items.len())?;
                let Some(item_rules) = self.items else { return Ok(()) };
                items.iter().enumerate().try_for_each(|(index, item)| {
                    item_rules
                        .check_json(item)
                        .map_err(|violation| Violation::Item { index, violation: Box::new(violation) })
                })
            }
            other => self.check_enum(&other.to_string()),
        }
    }

    fn check_enum(&self, value: &str) -> Result<(), Violation> {
        if self.enum_values.is_empty() || self.enum_values.contains(&value) {
            Ok(())
        } else {
            Err(Violation::NotAllowed { allowed: self.enum_values })
        }
    }
}

fn is_of_kind(value: &Value, kind: Kind) -> bool {
    match kind {
        Kind::String => value.is_string(),
        Kind::Integer => {
            value.is_i64()
                || value.is_u64()
                || value.as_f64().is_some_and(|f| f.is_finite() && f.fract() == 0.0)
        }
        Kind::Number => value.is_number(),
        Kind::Boolean => value.is_boolean(),
        Kind::Array => value.is_array(),
        Kind::Object => value.is_object(),
    }
}

impl Field {
    /// Checks a string value (a path or query parameter, or a string field).
    pub fn check_str(&self, value: &str) -> Result<(), Violation> {
        self.rules.check_str(value)
    }

    /// Checks a number against the field's bounds.
    pub fn check_number(&self, value: f64) -> Result<(), Violation> {
        self.rules.check_number(value)
    }

    /// Checks a body field as it would be sent: absent (`None`) is refused
    /// when the field is required; otherwise as [`Rules::check_json`].
    pub fn check_json(&self, value: Option<&Value>) -> Result<(), Violation> {
        match value {
            None if self.required => Err(Violation::Missing),
            None => Ok(()),
            Some(value) => self.rules.check_json(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NONE: Rules = Rules {
        kind: None,
        nullable: false,
        default: None,
        min_length: None,
        max_length: None,
        min_items: None,
        max_items: None,
        minimum: None,
        maximum: None,
        pattern: None,
        enum_values: &[],
        items: None,
    };

    #[test]
    fn lengths_count_characters_and_stop_at_the_bounds() {
        let rules = Rules { min_length: Some(1), max_length: Some(3), ..NONE };
        assert_eq!(rules.check_str("ééé"), Ok(()));
        assert_eq!(rules.check_str("éééé"), Err(Violation::TooLong { length: 4, max: 3 }));
        assert_eq!(rules.check_str(""), Err(Violation::TooShort { length: 0, min: 1 }));
        assert_eq!(
            Violation::TooLong { length: 4, max: 3 }.to_string(),
            "is 4 characters long; the spec allows at most 3"
        );
    }

    #[test]
    fn bounds_honour_exclusiveness() {
        let inclusive = Rules {
            minimum: Some(Bound { value: 1.0, exclusive: false }),
            maximum: Some(Bound { value: 500.0, exclusive: false }),
            ..NONE
        };
        assert!(inclusive.check_number(1.0).is_ok() && inclusive.check_number(500.0).is_ok());
        assert!(inclusive.check_number(0.0).is_err() && inclusive.check_number(501.0).is_err());
        let exclusive = Rules { minimum: Some(Bound { value: 0.0, exclusive: true }), ..NONE };
        assert!(exclusive.check_number(0.0).is_err() && exclusive.check_number(0.5).is_ok());
        assert_eq!(
            exclusive.check_number(0.0).unwrap_err().to_string(),
            "is 0; the spec requires more than 0"
        );
    }

    #[test]
    fn items_types_and_enums() {
        static ITEM: Rules = Rules { kind: Some(Kind::String), enum_values: &["a", "b"], ..NONE };
        let list = Rules { kind: Some(Kind::Array), max_items: Some(2), items: Some(&ITEM), ..NONE };
        assert!(list.check_strs(&["a", "b"]).is_ok());
        assert_eq!(list.check_strs(&["a", "b", "a"]), Err(Violation::TooManyItems { count: 3, max: 2 }));
        let error = list.check_json(&json!(["a", "c"])).unwrap_err();
        assert_eq!(error.to_string(), "item 1 must be one of `a`, `b`");
        assert_eq!(list.check_json(&json!("a")), Err(Violation::WrongType { expected: Kind::Array }));
        assert_eq!(list.check_json(&json!(null)), Err(Violation::Null));
        let integer = Rules { kind: Some(Kind::Integer), ..NONE };
        assert!(integer.check_json(&json!(3)).is_ok() && integer.check_json(&json!(3.0)).is_ok());
        assert!(integer.check_json(&json!(3.5)).is_err());
        assert!(NONE.check_json(&json!(null)).is_ok(), "an untyped schema allows anything");
    }
}
