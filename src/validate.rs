//! Checks of caller input against the limits the spec states, made before any request.

use crate::error::{Error, Result};
use crate::limits::{MAX_DEFAULT_TOKEN_TTL, MAX_NAME_CHARS};
use std::time::Duration;

/// A machine name: 1 to 255 characters (not bytes).
pub(crate) fn name(field: &'static str, name: &str) -> Result<()> {
    let chars = name.chars().count();
    if chars == 0 {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if chars > MAX_NAME_CHARS {
        return Err(Error::invalid(
            field,
            format!("is {chars} characters long; at most {MAX_NAME_CHARS} are allowed"),
        ));
    }
    Ok(())
}

/// An id used as a path segment or a reference: non-empty, not `.` or `..`
/// (which would change the path), no control characters. Everything else is
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

/// A duration in whole seconds within `min..=max`, converted to seconds.
pub(crate) fn seconds(field: &'static str, value: Duration, min: Duration, max: Duration) -> Result<u64> {
    if value.subsec_nanos() != 0 {
        return Err(Error::invalid(field, format!("{value:?} is not a whole number of seconds")));
    }
    if value < min || value > max {
        return Err(Error::invalid(
            field,
            format!("{}s is outside {}s..={}s", value.as_secs(), min.as_secs(), max.as_secs()),
        ));
    }
    Ok(value.as_secs())
}

/// A page size within `1..=max`.
pub(crate) fn limit(value: u32, max: u32) -> Result<std::num::NonZeroU64> {
    match std::num::NonZeroU64::new(u64::from(value)) {
        Some(limit) if value <= max => Ok(limit),
        _ => Err(Error::invalid("limit", format!("{value} is outside 1..={max}"))),
    }
}

/// A list of machine ids: each a valid id, at most `max` of them.
pub(crate) fn ids(field: &'static str, ids: &[String], max: usize) -> Result<()> {
    if ids.len() > max {
        return Err(Error::invalid(field, format!("has {} ids; at most {max} are allowed", ids.len())));
    }
    ids.iter().try_for_each(|value| id(field, value))
}

/// A lifetime in whole seconds within `1s..=max`, as the generated
/// non-zero type.
pub(crate) fn lifetime(field: &'static str, value: Duration, max: Duration) -> Result<std::num::NonZeroU64> {
    let secs = seconds(field, value, Duration::from_secs(1), max)?;
    // `seconds` has already refused zero; this branch only keeps the type honest.
    std::num::NonZeroU64::new(secs).ok_or_else(|| Error::invalid(field, "must be at least 1 second"))
}

/// A token lifetime for a machine (`default_token_ttl`): whole seconds,
/// 1 s to ten years.
pub(crate) fn token_ttl(ttl: Duration) -> Result<std::num::NonZeroU64> {
    lifetime("default_token_ttl", ttl, MAX_DEFAULT_TOKEN_TTL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_count_characters_not_bytes() {
        assert!(name("name", &"é".repeat(255)).is_ok());
        assert!(name("name", &"é".repeat(256)).is_err());
        assert!(name("name", "").is_err());
    }

    #[test]
    fn ids_reject_dot_segments_and_empty() {
        for bad in ["", ".", "..", "a\nb"] {
            assert!(id("machine_id", bad).is_err(), "{bad:?}");
        }
        assert!(id("machine_id", "mch_a/b?c#d").is_ok());
    }

    #[test]
    fn seconds_checks_range_and_whole_seconds() {
        let (min, max) = (Duration::from_secs(1), Duration::from_secs(10));
        assert_eq!(seconds("ttl", Duration::from_secs(10), min, max).unwrap(), 10);
        assert!(seconds("ttl", Duration::from_secs(11), min, max).is_err());
        assert!(seconds("ttl", Duration::ZERO, min, max).is_err());
        assert!(seconds("ttl", Duration::from_millis(1500), min, max).is_err());
    }

    #[test]
    fn limits_and_id_lists() {
        assert!(limit(0, 500).is_err());
        assert!(limit(501, 500).is_err());
        assert_eq!(limit(500, 500).unwrap().get(), 500);
        let many: Vec<String> = (0..151).map(|i| format!("mch_{i}")).collect();
        assert!(ids("scoped_machines", &many, 150).is_err());
        assert!(ids("scoped_machines", &many[..150], 150).is_ok());
    }
}
