#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod api;
mod client;
mod config;
mod error;
mod m2m;
mod machines;
mod pagination;
mod retry;
mod secret;
pub mod spec;
mod transport;
mod validate;

#[cfg(feature = "mock")]
pub mod mock;

/// Entry points for the fuzz targets in `fuzz/`; not part of the public API.
#[doc(hidden)]
#[path = "fuzz_hook.rs"]
pub mod __fuzz;

pub use api::types;
pub use client::{Clerk, KeyKind, API_URL_ENV, SECRET_KEY_ENV};
pub use config::{
    ClerkConfig, DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, DEFAULT_USER_AGENT,
};
pub use error::{ApiError, Error, Result};
#[cfg(feature = "jwt")]
pub use m2m::{
    bearer_token, M2mVerifier, M2mVerifierBuilder, VerifiedM2mToken, VerifyError,
    DEFAULT_JWKS_REFETCH_INTERVAL, DEFAULT_LEEWAY,
};
pub use m2m::{
    Clock, CreateM2mTokenRequest, ListM2mTokensParams, M2m, M2mTokenSource, M2mTokenSourceBuilder,
    SystemClock, TokenFormat, DEFAULT_REFRESH_MARGIN, MAX_M2M_TOKENS_PAGE,
};
pub use machines::{
    CreateMachineRequest, ListMachinesParams, MachineOrder, MachineOrderField, MachineUpdate, Machines,
    SortDirection, DEFAULT_LIST_ALL_PAGE_SIZE,
};
pub use pagination::Page;
pub use retry::{
    RetryConfig, DEFAULT_INITIAL_BACKOFF, DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_BACKOFF, DEFAULT_MAX_TOTAL_TIME,
};
pub use secret::SecretString;
pub use transport::{send, ErrorBody};
pub use validate::{
    MAX_DEFAULT_TOKEN_TTL, MAX_MACHINES_PAGE, MAX_NAME_CHARS, MAX_PREVIOUS_KEY_TTL, MAX_SCOPED_MACHINES,
};

#[cfg(feature = "fake")]
pub mod fake;
