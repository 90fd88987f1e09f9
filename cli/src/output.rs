//! How the CLI prints, one path for every command: a command returns a
//! value that implements [`Render`], and [`print`] writes it either as JSON
//! (`--json`: the value's serde form, Clerk's shapes) or for people, as a
//! table or a block of `key: value` lines drawn by `comfy-table`. No command
//! prints its result by itself. Secrets appear only in the views whose point
//! they are (a new machine or API key, `secret-key`, `api-keys secret`, a
//! minted token); see `views`.

use comfy_table::{presets, Table};
use serde_json::Value;
use std::io::Write;

/// What people see of a command's result.
pub enum Human {
    /// `key: value` lines, then an optional note after a blank line.
    Fields { pairs: Vec<(&'static str, String)>, note: Option<&'static str> },
    /// Rows under a header, then a summary line (`(2 of 5 machines)`).
    Table { header: Vec<&'static str>, rows: Vec<Vec<String>>, summary: String },
    /// Plain lines (a key, a confirmation).
    Lines(Vec<String>),
}

/// A command's result: its JSON and its human view.
pub trait Render {
    /// What `--json` prints.
    fn json(&self) -> serde_json::Result<Value>;
    /// What people see.
    fn human(&self) -> Human;
}

/// Writes `value` as pretty JSON (`json`) or for people.
pub fn print(out: &mut impl Write, json: bool, value: &dyn Render) -> std::io::Result<()> {
    if json {
        let value = value.json().map_err(std::io::Error::other)?;
        let text = serde_json::to_string_pretty(&value).map_err(std::io::Error::other)?;
        return writeln!(out, "{text}");
    }
    match value.human() {
        Human::Fields { pairs, note } => {
            let rows = pairs.into_iter().map(|(key, value)| vec![format!("{key}:"), value]).collect();
            writeln!(out, "{}", table(None, rows, 1))?;
            if let Some(note) = note {
                writeln!(out, "\n{note}")?;
            }
            Ok(())
        }
        Human::Table { header, rows, summary } => {
            writeln!(out, "{}", table(Some(header), rows, 2))?;
            writeln!(out, "{summary}")
        }
        Human::Lines(lines) => lines.iter().try_for_each(|line| writeln!(out, "{line}")),
    }
}

/// A borderless table: columns `gap` spaces apart, no trailing spaces.
fn table(header: Option<Vec<&'static str>>, rows: Vec<Vec<String>>, gap: u16) -> String {
    let mut table = Table::new();
    table.load_style(presets::NOTHING);
    if let Some(header) = header {
        table.set_header(header);
    }
    table.add_rows(rows);
    let last = table.column_count().saturating_sub(1);
    for column in table.column_iter_mut() {
        let right = if column.index == last { 0 } else { gap };
        column.set_padding((0, right));
    }
    table.trim_fmt()
}

/// Milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| ms.to_string())
}

/// A time Clerk sends as a JSON number of milliseconds.
pub fn time_f(ms: f64) -> String {
    time(ms as i64)
}

/// An optional time; `never` when absent.
pub fn time_or_never(ms: Option<f64>) -> String {
    ms.map(time_f).unwrap_or_else(|| "never".into())
}

/// Seconds as a short duration (`3600s (1h)`).
pub fn seconds(s: u64) -> String {
    let human = if s.is_multiple_of(86_400) {
        format!("{}d", s / 86_400)
    } else if s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        return format!("{s}s");
    };
    format!("{s}s ({human})")
}

/// A list for a field: comma-separated, `(none)` when empty.
pub fn list(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".into()
    } else {
        items.join(", ")
    }
}

/// A credential's state.
pub fn status(revoked: bool, expired: bool) -> &'static str {
    match (revoked, expired) {
        (true, _) => "revoked",
        (false, true) => "expired",
        (false, false) => "active",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Sample;

    impl Render for Sample {
        fn json(&self) -> serde_json::Result<Value> {
            Ok(serde_json::json!({"a": 1}))
        }
        fn human(&self) -> Human {
            Human::Table {
                header: vec!["A", "LONG"],
                rows: vec![vec!["xyz".into(), "1".into()], vec!["q".into(), "22".into()]],
                summary: "(2)".into(),
            }
        }
    }

    fn printed(json: bool, value: &dyn Render) -> String {
        let mut out = Vec::new();
        print(&mut out, json, value).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn tables_align_columns_without_borders_or_trailing_spaces() {
        assert_eq!(printed(false, &Sample), "A    LONG\nxyz  1\nq    22\n(2)\n");
        assert_eq!(printed(true, &Sample), "{\n  \"a\": 1\n}\n");
    }

    #[test]
    fn fields_align_values() {
        struct Fields;
        impl Render for Fields {
            fn json(&self) -> serde_json::Result<Value> {
                Ok(Value::Null)
            }
            fn human(&self) -> Human {
                Human::Fields {
                    pairs: vec![("id", "x".into()), ("last used", "never".into())],
                    note: Some("Note."),
                }
            }
        }
        assert_eq!(printed(false, &Fields), "id:        x\nlast used: never\n\nNote.\n");
    }

    #[test]
    fn durations_and_times() {
        assert_eq!(seconds(3600), "3600s (1h)");
        assert_eq!(seconds(61), "61s");
        assert_eq!(time(0), "1970-01-01 00:00:00 UTC");
    }
}
