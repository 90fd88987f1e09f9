//! What the client was generated from: the spec's version, file and operations.
//!
//! `build.rs` writes these from the spec it generated the client from (the
//! newest `openapi/*.yml`, or the file named by `CLERK_BAPI_SPEC`), so they
//! always describe the code in [`api`](crate::api).
//!
//! ```
//! use clerk_machines::spec;
//!
//! let get = spec::operation("GetMachine").expect("generated");
//! assert_eq!((get.method, get.path), ("GET", "/machines/{machine_id}"));
//! assert!(get.error_statuses().any(|status| status == 404));
//! ```

/// One operation of the generated client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Operation {
    /// The spec's `operationId` (`CreateMachine`, `createM2MToken`, ...).
    pub id: &'static str,
    /// HTTP method, upper case.
    pub method: &'static str,
    /// Path template relative to the base URL, as in the spec (`/machines/{machine_id}`).
    pub path: &'static str,
    /// The spec's tags of the operation.
    pub tags: &'static [&'static str],
    /// Every response status the spec documents for it, ascending.
    pub statuses: &'static [u16],
}

impl Operation {
    /// The documented error statuses (400 and above).
    pub fn error_statuses(&self) -> impl Iterator<Item = u16> + 'static {
        self.statuses.iter().copied().filter(|status| *status >= 400)
    }
}

include!(concat!(env!("OUT_DIR"), "/spec_info.rs"));

/// The generated operation with this `operationId`.
pub fn operation(id: &str) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|op| op.id == id)
}
