//! Checks of caller input made before any request is sent: the rules the
//! spec states for the operation ([`spec`](crate::spec), read from the spec
//! the client was generated from), plus the few rules the crate needs that
//! no spec states, each with the reason it exists.

use crate::error::{Error, Result};
use crate::spec::{self, Field, Operation, Violation};
use std::num::NonZeroU64;
use std::time::Duration;

/// The input rules of one operation. An operation the spec does not have
/// (impossible for a generated call) states no rule.
#[derive(Clone, Copy)]
pub(crate) struct Input {
    operation: Option<&'static Operation>,
}

/// The input rules of the operation `operation_id`.
pub(crate) fn input(operation_id: &str) -> Input {
    Input { operation: spec::operation(operation_id) }
}

impl Input {
    fn field(&self, name: &str) -> Option<&'static Field> {
        self.operation.and_then(|op| op.field(name))
    }

    /// Runs `check` on the spec's field `name`, if the spec has one; the
    /// error names the field as the spec does.
    fn with(
        &self,
        name: &'static str,
        check: impl FnOnce(&'static Field) -> std::result::Result<(), Violation>,
    ) -> Result<()> {
        match self.field(name) {
            Some(field) => {
                check(field).map_err(|violation| Error::invalid(field.name, violation.to_string()))
            }
            None => Ok(()),
        }
    }

    /// A string field or parameter.
    pub(crate) fn text(&self, name: &'static str, value: &str) -> Result<()> {
        self.with(name, |field| field.check_str(value))
    }

    /// An id (of a path segment, or a reference in a body): the crate's
    /// [`id`] rule, then the spec's.
    pub(crate) fn id(&self, name: &'static str, value: &str) -> Result<()> {
        id(name, value)?;
        self.text(name, value)
    }

    /// A list of ids: its length and each item as the spec states them,
    /// and each item by the crate's [`id`] rule.
    pub(crate) fn ids(&self, name: &'static str, values: &[String]) -> Result<()> {
        self.with(name, |field| field.rules.check_strs(values))?;
        values.iter().try_for_each(|value| id(name, value))
    }

    /// A list of strings that are not ids (scopes): its length and each
    /// item as the spec states them.
    pub(crate) fn texts(&self, name: &'static str, values: &[String]) -> Result<()> {
        self.with(name, |field| field.rules.check_strs(values))
    }

    /// A value sent as it is serialized (a flag, an object): the spec's
    /// rules of its JSON value.
    pub(crate) fn json(&self, name: &'static str, value: &serde_json::Value) -> Result<()> {
        self.with(name, |field| field.rules.check_json(value))
    }

    /// Custom claims as a builder holds them (the value, or why it did not
    /// serialize): `None` for no claims (unset or JSON `null`, which Clerk
    /// takes as none); otherwise the value, checked as the spec states the
    /// field `claims`.
    pub(crate) fn claims(
        &self,
        claims: Option<&std::result::Result<serde_json::Value, String>>,
    ) -> Result<Option<serde_json::Value>> {
        match claims {
            Some(Err(reason)) => {
                Err(Error::invalid("claims", format!("cannot be serialized to JSON: {reason}")))
            }
            Some(Ok(serde_json::Value::Null)) | None => Ok(None),
            Some(Ok(claims)) => {
                self.json("claims", claims)?;
                Ok(Some(claims.clone()))
            }
        }
    }

    /// A count or an amount sent as a number.
    pub(crate) fn number(&self, name: &'static str, value: u64) -> Result<()> {
        self.with(name, |field| field.check_number(value as f64))
    }

    /// A duration sent as whole seconds: the crate takes `Duration`s, so a
    /// fraction of a second is refused rather than rounded; then the spec's bounds.
    pub(crate) fn seconds(&self, name: &'static str, value: Duration) -> Result<u64> {
        if value.subsec_nanos() != 0 {
            return Err(Error::invalid(name, format!("{value:?} is not a whole number of seconds")));
        }
        let seconds = value.as_secs();
        self.with(name, |field| field.check_number(seconds as f64)).map_err(|error| match error {
            Error::InvalidInput { field, reason } => Error::invalid(field, format!("{reason} (seconds)")),
            other => other,
        })?;
        Ok(seconds)
    }

    /// A positive duration in whole seconds (the generated type of a field
    /// whose spec states `minimum: 1`), within the spec's bounds.
    pub(crate) fn positive_seconds(&self, name: &'static str, value: Duration) -> Result<NonZeroU64> {
        let seconds = self.seconds(name, value)?;
        NonZeroU64::new(seconds).ok_or_else(|| Error::invalid(name, "must be at least 1 second"))
    }

    /// A page size (the `limit` parameter), within the spec's bounds.
    pub(crate) fn page_size(&self, value: u32) -> Result<NonZeroU64> {
        self.number("limit", u64::from(value))?;
        // The generated parameter type is non-zero (the specs state
        // `minimum: 1`); a spec allowing 0 would still be refused here.
        NonZeroU64::new(u64::from(value)).ok_or_else(|| Error::invalid("limit", "must be at least 1"))
    }

    /// The largest page the spec allows, if it states one.
    pub(crate) fn max_page_size(&self) -> Option<u64> {
        let maximum = self.field("limit")?.rules.maximum?;
        let largest = if maximum.exclusive { maximum.value.ceil() - 1.0 } else { maximum.value.floor() };
        (largest >= 1.0).then_some(largest as u64)
    }
}

/// Not from the spec (most ids have no pattern there): an id must not be
/// empty, `.` or `..` (as a path segment, those would change the path the
/// request goes to) and must hold no control characters. Everything else is
/// percent-encoded by the generated client.
pub(crate) fn id(field: &'static str, id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if id == "." || id == ".." {
        return Err(Error::invalid(field, format!("`{id}` is not an id")));
    }
    // ASCII ids (all real ones) are checked byte by byte; the char scan is
    // for the rest (it also finds the C1 controls, U+0080 to U+009F).
    let control = if id.is_ascii() {
        id.bytes().any(|b| b.is_ascii_control())
    } else {
        id.chars().any(char::is_control)
    };
    if control {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    Ok(())
}

/// Not from the spec: a lifetime the crate sends must be at most
/// [`MAX_TOKEN_LIFETIME`](crate::m2m::MAX_TOKEN_LIFETIME) (the spec states no
/// maximum for token lifetimes; see there).
pub(crate) fn at_most_token_lifetime(field: &'static str, seconds: u64) -> Result<()> {
    let max = crate::m2m::MAX_TOKEN_LIFETIME.as_secs();
    if seconds > max {
        return Err(Error::invalid(
            field,
            format!("{seconds}s is more than the longest lifetime sent, {max}s"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_refuse_dot_segments_empty_and_controls() {
        for bad in ["", ".", "..", "a\nb", "a\u{85}b"] {
            assert!(id("machine_id", bad).is_err(), "{bad:?}");
        }
        assert!(id("machine_id", "mch_a/b?c#d").is_ok());
    }

    /// The checks at the vendored spec's boundaries, read from the table
    /// (so they hold for any spec that states these rules).
    #[test]
    fn checks_stop_exactly_at_the_spec_bounds() {
        let create = input("CreateMachine");
        let name = create.field("name").expect("CreateMachine states name");
        let max = name.rules.max_length.expect("a maximum length") as usize;
        assert!(create.text("name", &"é".repeat(max)).is_ok(), "characters, not bytes");
        let error = create.text("name", &"é".repeat(max + 1)).unwrap_err();
        assert!(error.to_string().contains(&format!("at most {max}")), "{error}");
        assert!(create.text("name", "").is_err());

        let ttl = create.field("default_token_ttl").and_then(|f| f.rules.maximum).expect("a maximum");
        let top = Duration::from_secs(ttl.value as u64);
        assert_eq!(create.seconds("default_token_ttl", top).unwrap(), top.as_secs());
        assert!(create.seconds("default_token_ttl", top + Duration::from_secs(1)).is_err());
        assert!(create.positive_seconds("default_token_ttl", Duration::ZERO).is_err());
        assert!(create.seconds("default_token_ttl", Duration::from_millis(1500)).is_err());

        let scoped = create.field("scoped_machines").and_then(|f| f.rules.max_items).expect("max items");
        let many: Vec<String> = (0..=scoped).map(|i| format!("mch_{i}")).collect();
        assert!(create.ids("scoped_machines", &many[..scoped as usize]).is_ok());
        assert!(create.ids("scoped_machines", &many).is_err());
        assert!(create.ids("scoped_machines", &[String::new()]).is_err(), "the crate's id rule");

        let list = input("ListMachines");
        let largest = list.max_page_size().expect("ListMachines states a maximum");
        assert_eq!(list.page_size(largest as u32).unwrap().get(), largest);
        assert!(list.page_size(largest as u32 + 1).is_err());
        assert!(list.page_size(0).is_err());
    }

    #[test]
    fn an_operation_the_spec_lacks_states_no_rule() {
        let none = input("NoSuchOperation");
        assert!(none.text("name", "").is_ok());
        assert_eq!(none.max_page_size(), None);
    }
}
