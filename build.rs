//! Generates the typed client from Clerk's Backend API spec.
//!
//! Steps: find the spec (`CLERK_BAPI_SPEC`, else the newest `openapi/*.yml`),
//! select the Machines and M2M Tokens operations with every component they
//! reference, repair what progenitor cannot take (see `build/prepare.rs`), and
//! run progenitor into `OUT_DIR`. Any failure is reported as one readable
//! build error naming the file and what is wrong, never a panic backtrace.

#[path = "build/generate.rs"]
mod generate;
#[path = "build/prepare.rs"]
mod prepare;
#[path = "build/spec_file.rs"]
mod spec_file;

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: clerk-machines could not generate its client\n  {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
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
