//! Finding and parsing the spec file the client is generated from.

use std::path::{Path, PathBuf};

/// Environment variable naming a spec file to generate from instead of the vendored one.
pub const SPEC_ENV: &str = "CLERK_BAPI_SPEC";
/// Directory (relative to the manifest) holding the vendored spec.
pub const SPEC_DIR: &str = "openapi";

/// The spec named by `CLERK_BAPI_SPEC`, else the newest `openapi/*.yml`.
///
/// Clerk names its spec files by release date (`2026-05-12.yml`), so the
/// greatest file name is the newest spec.
pub fn locate(manifest_dir: &Path) -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os(SPEC_ENV).filter(|v| !v.is_empty()) {
        let path = PathBuf::from(path);
        // Cargo runs build scripts in the package directory, so a relative
        // path is taken from there.
        let path = if path.is_relative() { manifest_dir.join(&path) } else { path };
        if !path.is_file() {
            return Err(format!("{SPEC_ENV}={} is not a readable file", path.display()));
        }
        return Ok(path);
    }
    let dir = manifest_dir.join(SPEC_DIR);
    let entries = std::fs::read_dir(&dir)
        .map_err(|e| format!("cannot read the spec directory {}: {e}", dir.display()))?;
    entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml")))
        .max()
        .ok_or_else(|| format!("no *.yml spec in {} (or set {SPEC_ENV})", dir.display()))
}

/// Reads a YAML (or JSON, a subset of YAML) spec into a JSON value.
pub fn read(path: &Path) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_yaml_ng::from_str(&text).map_err(|e| format!("{} is not valid YAML: {e}", path.display()))
}
