//! `next-spec`: writes a "next" Clerk spec, derived from the vendored one by
//! the changes Clerk plausibly makes between releases (see [`mutations`]).
//!
//! ```sh
//! cargo run -p next-spec -- openapi/2026-05-12.yml target/next-spec.yml --expect target/next-spec.expect.json
//! CLERK_BAPI_SPEC=$PWD/target/next-spec.yml cargo test --workspace --all-features --locked
//! ```
//!
//! Every mutation must find what it changes: when Clerk's spec moves on and a
//! target disappears, the tool fails naming the mutation instead of silently
//! writing a spec that tests less.

#![forbid(unsafe_code)]

mod mutations;

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

/// Derive a plausible next Clerk BAPI spec from the vendored one.
#[derive(Parser, Debug)]
#[command(name = "next-spec")]
struct Args {
    /// The spec to start from (YAML or JSON).
    input: PathBuf,
    /// Where to write the mutated spec (YAML).
    output: PathBuf,
    /// Also write what the rule mutations expect of the regenerated crate
    /// (JSON), for `tests/spec_rules.rs` (`CLERK_SPEC_EXPECT`).
    #[arg(long)]
    expect: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(applied) => {
            println!("wrote {} with {} mutations:", args.output.display(), applied.len());
            for mutation in applied {
                println!("  {:<28} {:<18} {}", mutation.name, format!("{:?}", mutation.kind), mutation.what);
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("next-spec: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<Vec<&'static mutations::Mutation>, String> {
    let text = std::fs::read_to_string(&args.input)
        .map_err(|e| format!("cannot read {}: {e}", args.input.display()))?;
    let mut spec: serde_json::Value = serde_yaml_ng::from_str(&text)
        .map_err(|e| format!("{} is not valid YAML: {e}", args.input.display()))?;
    let applied = mutations::apply_all(&mut spec)?;
    let out = serde_yaml_ng::to_string(&spec).map_err(|e| format!("cannot serialize the spec: {e}"))?;
    if let Some(dir) = args.output.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(&args.output, out).map_err(|e| format!("cannot write {}: {e}", args.output.display()))?;
    if let Some(path) = &args.expect {
        let expected: Vec<serde_json::Value> =
            applied.iter().filter_map(|m| m.expect.as_ref()).map(|e| e.to_json()).collect();
        let text =
            serde_json::to_string_pretty(&expected).map_err(|e| format!("cannot write expectations: {e}"))?;
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(applied)
}
