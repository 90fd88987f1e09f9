//! The client, builders and types progenitor generates from the spec,
//! published as [`raw`](crate::raw) (client and builders) and
//! [`types`](crate::types).
//!
//! This module is generated in `build.rs`; never edit it. Repairs to what the
//! generator cannot take live in the build script's spec-preparation step.
#![allow(missing_docs, clippy::all, unused_imports, unreachable_pub, rustdoc::all)]

include!(concat!(env!("OUT_DIR"), "/codegen.rs"));
