//! The build script's code generation, in three steps:
//!
//! 1. [`spec_file`]: find the spec (`CLERK_BAPI_SPEC`, else the newest
//!    `openapi/*.yml`) and parse it;
//! 2. [`prepare`]: select the operations the crate wraps, with every component
//!    they reach, read their input rules ([`rules`]) as the spec states them,
//!    and repair what progenitor cannot take (each repair is documented there
//!    and listed in `build/README.md`);
//! 3. [`generate`]: run progenitor into `OUT_DIR` (client, types, httpmock
//!    helpers, the `spec` constants) and write `generation.log`.
//!
//! Any failure is one readable message naming the file and what is wrong.

pub mod generate;
pub mod prepare;
pub mod rules;
pub mod spec_file;

use std::path::PathBuf;

/// Generates everything into `OUT_DIR`, telling cargo when to run again.
pub fn run() -> Result<(), String> {
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(env("OUT_DIR")?);

    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=build");
    println!("cargo:rerun-if-env-changed={}", spec_file::SPEC_ENV);
    let spec_path = spec_file::locate(&manifest_dir)?;
    println!("cargo:rerun-if-changed={}", spec_path.display());
    // A new spec dropped into `openapi/` changes the directory, so the
    // script reruns and picks the newest file.
    println!("cargo:rerun-if-changed={}", manifest_dir.join(spec_file::SPEC_DIR).display());

    let mut timer = generate::Timer::start();
    let raw = spec_file::read(&spec_path)?;
    timer.lap("read+parse yaml");
    let prepared = prepare::prepare(raw).map_err(|e| format!("{}: {e}", spec_path.display()))?;
    timer.add_laps(&prepared.timings);
    let features = generate::Features::from_env();
    generate::write_all(&prepared, &features, &out_dir, &spec_path, timer)
        .map_err(|e| format!("{}: {e}", spec_path.display()))
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("cargo did not set {name}"))
}
