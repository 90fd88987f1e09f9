//! Typed [`httpmock`] helpers generated from the spec (cargo feature `mock`).
//!
//! `MockServerExt` adds one method per operation to `httpmock::MockServer`,
//! with `When`/`Then` wrappers that take the spec's types:
//!
//! ```no_run
//! use clerk_machines::mock::MockServerExt;
//! use clerk_machines::types;
//!
//! let server = httpmock::MockServer::start();
//! let mock = server.get_machine(|when, then| {
//!     let errors = types::ClerkErrors::builder()
//!         .errors(vec![])
//!         .try_into()
//!         .expect("valid ClerkErrors");
//!     when.machine_id("mch_missing");
//!     then.not_found(&errors);
//! });
//! # let _ = mock;
//! ```
//!
//! The helpers match paths from the root: point the client at
//! `server.base_url()` (no `/v1`).
#![allow(missing_docs, clippy::all)]

include!(concat!(env!("OUT_DIR"), "/mock.rs"));
