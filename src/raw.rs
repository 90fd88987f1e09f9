//! The client progenitor generates from the spec, for calls the crate's
//! facades do not wrap (an operation a newer spec added, say), on the same
//! request path as every other call: the client's headers, retries and
//! tracing.
//!
//! Get the client with [`Clerk::raw`](crate::Clerk::raw); its builders
//! (one per operation, [`builder`]) take the spec's [`types`](crate::types).
//! [`send`] turns a call into the crate's value-or-[`Error`](crate::Error):
//!
//! ```no_run
//! # async fn demo(clerk: clerk_machines::Clerk) -> Result<(), clerk_machines::Error> {
//! // `get_machine` stands for any generated builder, such as one a newer spec adds.
//! let call = clerk.raw().get_machine().machine_id("mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk").send();
//! let machine = clerk_machines::raw::send(call).await?; // Clerk's errors as `Error::Api`
//! println!("{}", machine.name);
//! # Ok(()) }
//! ```
//!
//! Nothing here checks input against the spec's rules before sending (the
//! facades do; [`spec`](crate::spec) has the rules).

pub use crate::api::{builder, Client};
pub use crate::request::{send, ErrorBody, RequestSettings};
