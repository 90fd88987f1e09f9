//! How the CLI prints: aligned tables and `key: value` blocks for people,
//! JSON for scripts. Secrets appear only in the outputs whose point they are.

use clerk_machines::types;
use serde::Serialize;
use std::io::Write;

/// Milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| ms.to_string())
}

fn time_f(ms: f64) -> String {
    time(ms as i64)
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

/// Prints a value as pretty JSON.
pub fn json<T: Serialize>(out: &mut impl Write, value: &T) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
    writeln!(out, "{text}")
}

/// Prints rows under a header, columns padded to the widest cell.
pub fn table(out: &mut impl Write, header: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let last = cells.len().saturating_sub(1);
        let mut text = String::new();
        for (i, cell) in cells.into_iter().enumerate() {
            text.push_str(cell);
            if i < last {
                let pad = widths[i].saturating_sub(cell.chars().count()) + 2;
                text.push_str(&" ".repeat(pad));
            }
        }
        text
    };
    writeln!(out, "{}", line(header.to_vec()))?;
    for row in rows {
        writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

/// `key: value` lines, keys padded.
pub fn fields(out: &mut impl Write, pairs: &[(&str, String)]) -> std::io::Result<()> {
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    for (key, value) in pairs {
        writeln!(out, "{:<width$} {value}", format!("{key}:"))?;
    }
    Ok(())
}

/// Columns of the machine table.
pub const MACHINE_HEADER: [&str; 5] = ["ID", "NAME", "TOKEN TTL", "SCOPES", "CREATED"];

/// One machine as a table row.
pub fn machine_row(m: &types::Machine) -> Vec<String> {
    vec![
        m.id.clone(),
        m.name.to_string(),
        seconds(m.default_token_ttl.get()),
        m.scoped_machines.len().to_string(),
        time(m.created_at),
    ]
}

fn scopes_text(scoped: &[types::MachineWithoutScopedMachines]) -> String {
    if scoped.is_empty() {
        return "(none)".into();
    }
    scoped.iter().map(|s| format!("{} ({})", s.id, s.name)).collect::<Vec<_>>().join(", ")
}

/// A machine's details.
pub fn machine(out: &mut impl Write, m: &types::Machine) -> std::io::Result<()> {
    fields(
        out,
        &[
            ("id", m.id.clone()),
            ("name", m.name.to_string()),
            ("instance", m.instance_id.clone()),
            ("token ttl", seconds(m.default_token_ttl.get())),
            ("scoped to", scopes_text(&m.scoped_machines)),
            ("created", time(m.created_at)),
            ("updated", time(m.updated_at)),
        ],
    )
}

/// A machine-table row with fixed column widths, for rows printed as pages
/// arrive (before the widest cell is known); longer cells push the rest right.
pub fn streamed_row(cells: &[String]) -> String {
    const WIDTHS: [usize; 4] = [31, 24, 12, 6];
    let mut text = String::new();
    for (i, cell) in cells.iter().enumerate() {
        match WIDTHS.get(i) {
            Some(width) if i + 1 < cells.len() => text.push_str(&format!("{cell:<width$}  ")),
            _ => text.push_str(cell),
        }
    }
    text
}

/// A newly created machine, with its secret key (Clerk shows it only once).
pub fn created_machine(out: &mut impl Write, m: &types::CreateMachineResponse) -> std::io::Result<()> {
    fields(
        out,
        &[
            ("id", m.id.clone()),
            ("name", m.name.to_string()),
            ("instance", m.instance_id.clone()),
            ("token ttl", seconds(m.default_token_ttl.get())),
            ("scoped to", scopes_text(&m.scoped_machines)),
            ("created", time(m.created_at)),
            ("secret key", m.secret_key.expose_secret().to_owned()),
        ],
    )?;
    writeln!(out, "\nStore the secret key now: Clerk shows it only here (or via `machines secret-key`).")
}

/// The fields every M2M token response has.
pub struct TokenFields<'a> {
    pub id: &'a str,
    pub subject: &'a str,
    pub scopes: Vec<String>,
    pub claims: Option<&'a serde_json::Value>,
    pub revoked: bool,
    pub revocation_reason: Option<&'a str>,
    pub expired: bool,
    pub expiration: Option<f64>,
    pub last_used_at: Option<f64>,
    pub created_at: f64,
}

fn status(revoked: bool, expired: bool) -> &'static str {
    match (revoked, expired) {
        (true, _) => "revoked",
        (false, true) => "expired",
        (false, false) => "active",
    }
}

/// A token's details; `secret` is the token itself, printed only when minted.
pub fn token(out: &mut impl Write, t: &TokenFields<'_>, secret: Option<&str>) -> std::io::Result<()> {
    let mut pairs = vec![
        ("id", t.id.to_owned()),
        ("subject", t.subject.to_owned()),
        ("scopes", if t.scopes.is_empty() { "(none)".into() } else { t.scopes.join(", ") }),
        ("status", status(t.revoked, t.expired).to_owned()),
        ("expires", t.expiration.map(time_f).unwrap_or_else(|| "never".into())),
        ("last used", t.last_used_at.map(time_f).unwrap_or_else(|| "never".into())),
        ("created", time_f(t.created_at)),
    ];
    if let Some(reason) = t.revocation_reason {
        pairs.push(("revocation reason", reason.to_owned()));
    }
    if let Some(claims) = t.claims {
        pairs.push(("claims", claims.to_string()));
    }
    if let Some(secret) = secret {
        pairs.push(("token", secret.to_owned()));
    }
    fields(out, &pairs)
}

/// Columns of the token table.
pub const TOKEN_HEADER: [&str; 4] = ["ID", "STATUS", "EXPIRES", "CREATED"];

/// One listed token as a table row.
pub fn token_row(t: &types::GetM2mTokensResponseM2mTokensItem) -> Vec<String> {
    vec![
        t.id.to_string(),
        status(t.revoked, t.expired).to_owned(),
        t.expiration.map(time_f).unwrap_or_else(|| "never".into()),
        time_f(t.created_at),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns() {
        let mut out = Vec::new();
        table(&mut out, &["A", "LONG"], &[vec!["xyz".into(), "1".into()], vec!["q".into(), "22".into()]])
            .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "A    LONG\nxyz  1\nq    22\n");
    }

    #[test]
    fn durations_and_times() {
        assert_eq!(seconds(3600), "3600s (1h)");
        assert_eq!(seconds(61), "61s");
        assert_eq!(time(0), "1970-01-01 00:00:00 UTC");
    }
}
