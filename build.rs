//! Generates the typed client from Clerk's Backend API spec; the steps live
//! in `build/` (see `build/README.md`).

#[path = "build/mod.rs"]
mod codegen;

use std::process::ExitCode;

fn main() -> ExitCode {
    match codegen::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: clerk-machines could not generate its client\n  {message}");
            ExitCode::FAILURE
        }
    }
}
