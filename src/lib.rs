//! A typed Rust client for [Clerk](https://clerk.com)'s machine
//! authentication: **machines**, **machine-to-machine (M2M) tokens**, **API
//! keys** and **OAuth access tokens**, generated at build time from
//! Clerk's OpenAPI spec, with a thin hand-written layer on top.
//!
//! # How the layers fit
//!
//! 1. **Generated client** ([`raw`], [`types`]): `build.rs` selects the
//!    Machines, M2M Tokens, API Keys and OAuth Access Tokens operations of
//!    the vendored spec (plus `GetJWKS`), reads the rules of their input, repairs what the generator
//!    cannot take (`build/README.md`), and runs progenitor: one builder per
//!    operation, the spec's types, and [`spec`]: what was generated, with
//!    every limit, pattern and enum of each operation's input.
//! 2. **Request hooks**: every generated call passes through the crate's hooks:
//!    `pre` sets the headers ([`RequestSettings`](raw::RequestSettings)),
//!    `exec` sends the request in one `tracing` span and retries what may
//!    pass ([`RetryConfig`]).
//! 3. **One `send` path** ([`raw::send`]): turns a generated call's result
//!    into a value or a typed [`Error`] carrying Clerk's codes and trace id.
//! 4. **Facades**: [`Clerk::machines`], [`Clerk::m2m`], [`Clerk::api_keys`]
//!    and [`Clerk::oauth_access_tokens`] check input against
//!    the [`spec`]'s rules before anything is sent, then go through `send`;
//!    lists are one [`List`] builder and stream; [`m2m::M2mTokenSource`]
//!    (caller) and `verify::Verifier` (callee, feature `jwt`: M2M tokens,
//!    API keys and OAuth access tokens) build on them.
//!
//! Anything the facades do not wrap is one [`Clerk::raw`] call away, on the
//! same path.
//!
//! ```no_run
//! # async fn demo() -> Result<(), clerk_machines::Error> {
//! use clerk_machines::Clerk;
//! use std::time::Duration;
//!
//! let clerk = Clerk::from_env()?; // CLERK_SECRET_KEY, and CLERK_API_URL if set
//! let api = clerk.machines().create("api", Vec::<String>::new(), None).await?;
//! let worker = clerk.machines().create("worker", [api.id.as_str()], Some(Duration::from_secs(600))).await?;
//! println!("{} may call {}", worker.id, api.id);
//! # Ok(()) }
//! ```
//!
//! Secrets (the instance key, machine secret keys, M2M tokens, API key
//! secrets, OAuth access tokens) are held in
//! [`SecretString`] and never appear in `Debug`, `Display`, errors or logs.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// Makes a request builder awaitable: `.await` runs its `send()`.
///
/// The builder's future is boxed (its type cannot be named); builders box
/// the generated call inside `send()` too, so that this box stays small
/// (moving a generated future, several KB, costs more than allocating it).
macro_rules! await_via_send {
    ($builder:ident => $output:ty) => {
        impl<'a> ::std::future::IntoFuture for $builder<'a> {
            type Output = $crate::Result<$output>;
            type IntoFuture = ::futures::future::BoxFuture<'a, Self::Output>;

            fn into_future(self) -> Self::IntoFuture {
                ::std::boxed::Box::pin(self.send())
            }
        }
    };
}
pub(crate) use await_via_send;

mod api;
pub mod api_keys;
mod client;
pub mod clock;
mod config;
pub mod defaults;
mod error;
pub mod ids;
pub mod m2m;
pub mod machines;
#[cfg(feature = "mock")]
pub mod mock;
pub mod oauth;
mod pagination;
pub mod raw;
mod request;
mod retry;
mod secret;
#[cfg(feature = "tower")]
pub mod server;
pub mod spec;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;
mod tls;
mod validate;
#[cfg(feature = "jwt")]
pub mod verify;

/// Entry points for the fuzz targets in `fuzz/` (built only by cargo-fuzz).
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;

pub use api::types;
pub use client::{Clerk, KeyKind};
pub use config::ClerkConfig;
pub use error::{ApiError, Error, Result};
pub use pagination::{List, Page};
pub use retry::RetryConfig;
pub use secret::SecretString;
pub use tls::http_client_builder;

// The README's examples are compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
