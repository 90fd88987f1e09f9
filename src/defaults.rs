//! The values the crate uses when you set none.

use std::time::Duration;

/// Clerk's production Backend API ([`ClerkConfig::with_base_url`](crate::ClerkConfig::with_base_url)).
pub const BASE_URL: &str = "https://api.clerk.com/v1";
/// The `User-Agent` sent: `clerk-machines/<crate version>`.
pub const USER_AGENT: &str = concat!("clerk-machines/", env!("CARGO_PKG_VERSION"));
/// Time allowed to open a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for a whole request, from sending to the last byte of the body.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Attempts per call, the first one included ([`RetryConfig`](crate::RetryConfig)).
pub const MAX_ATTEMPTS: u32 = 3;
/// No retry of a call starts later than this after its first attempt began
/// (the attempt then running has its own request timeout).
pub const MAX_TOTAL_TIME: Duration = Duration::from_secs(30);
/// Wait before the first retry (doubled for each further retry).
pub const INITIAL_BACKOFF: Duration = Duration::from_millis(500);
/// Longest computed wait between two attempts (before jitter).
pub const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// Page size of every list's stream ([`List::into_stream`](crate::List::into_stream)),
/// unless the spec's largest page is smaller.
pub const STREAM_PAGE_SIZE: u32 = 100;

/// How long before a token's expiry [`M2mTokenSource`](crate::m2m::M2mTokenSource) mints the next one.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// How long before its expiry [`M2mTokenSource`](crate::m2m::M2mTokenSource)
/// stops handing out a token, so that it is still valid when the called
/// service checks it: the request's transit, the service's own call to Clerk
/// for an opaque token, and the clock skew between this host and Clerk's or
/// the service's. At most a quarter of the refresh margin is taken, so that
/// a short-lived token leaves time to refresh. (The expiry itself is counted
/// on this host's clock from when the mint was sent, which already absorbs
/// the mint's own transit and any skew with Clerk's clock.)
pub const EXPIRY_ALLOWANCE: Duration = Duration::from_secs(5);
/// Wait after the first failed refresh of an [`M2mTokenSource`](crate::m2m::M2mTokenSource)
/// before the next attempt; doubled after each further failure, and drawn
/// at random between half of that and all of it.
pub const REFRESH_INITIAL_BACKOFF: Duration = Duration::from_secs(1);
/// Longest wait between two refresh attempts of an
/// [`M2mTokenSource`](crate::m2m::M2mTokenSource), a `Retry-After` included:
/// with the default refresh margin, at least two attempts fit in the window.
pub const REFRESH_MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Clock skew allowed on a token's `exp`, `nbf` and `iat` (Clerk's own verifier allows 5 s).
pub const LEEWAY: Duration = Duration::from_secs(5);
/// Longest time verification keys are trusted before they are fetched again (Clerk's verifier: 5 minutes).
pub const JWKS_MAX_AGE: Duration = Duration::from_secs(300);
/// Shortest time between two key fetches caused by tokens naming an unknown key.
pub const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(5);
/// Longest token a [`Verifier`](crate::verify::Verifier) reads, in bytes:
/// longer ones are refused unread. Not from Clerk (which states no limit):
/// Clerk's M2M JWTs with a few custom claims are under 1 KB, and common
/// servers cap a whole header block at 8 KB.
pub const MAX_TOKEN_LENGTH: usize = 4096;
/// Verified JWTs a [`Verifier`](crate::verify::Verifier) remembers.
pub const JWT_CACHE_CAPACITY: usize = 10_000;
/// Clerk's refusals of opaque tokens a [`Verifier`](crate::verify::Verifier) remembers.
pub const REFUSAL_CACHE_CAPACITY: usize = 10_000;
/// How long a [`Verifier`](crate::verify::Verifier) remembers Clerk's refusal of an opaque token.
pub const REFUSAL_CACHE_TTL: Duration = Duration::from_secs(10);
