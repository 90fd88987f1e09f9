//! The TLS of every HTTP client the crate builds: rustls with ring's
//! cryptography, verifying servers against the platform's CA certificates.
//!
//! The crate turns on reqwest's `rustls-no-provider` rather than its
//! `rustls` feature, whose aws-lc-rs provider is a C library that takes most
//! of a cold build; so it hands reqwest a finished rustls configuration.

use crate::error::{Error, Result};
use rustls_platform_verifier::BuilderVerifierExt as _;
use std::sync::Arc;

/// A [`reqwest::ClientBuilder`] with the TLS this crate's own client uses
/// (rustls, ring, the platform's CA certificates, HTTP/1.1).
///
/// Start from it to pass a tuned client to
/// [`ClerkConfig::with_http_client`](crate::ClerkConfig::with_http_client).
/// A program whose reqwest has no TLS provider of its own (it depends on
/// reqwest without the `rustls` or `native-tls` features) needs it for every
/// client it builds: there `reqwest::Client::new()` panics, since reqwest has
/// TLS code (this crate's) but no cryptography to run it with.
///
/// ```
/// # fn main() -> clerk_machines::Result<()> {
/// let http = clerk_machines::http_client_builder()?
///     .pool_max_idle_per_host(4)
///     .build()
///     .map_err(clerk_machines::Error::Transport)?;
/// let config = clerk_machines::ClerkConfig::default().with_http_client(http);
/// # let _ = config;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// [`Error::Tls`] when the platform's CA certificates cannot be loaded.
pub fn http_client_builder() -> Result<reqwest::ClientBuilder> {
    Ok(reqwest::Client::builder().tls_backend_preconfigured(client_config()?))
}

/// rustls' client configuration: ring's provider with its safe defaults (TLS
/// 1.2 and 1.3), the platform verifier, no client certificate, and ALPN
/// offering HTTP/1.1 only (the crate's reqwest speaks no HTTP/2).
fn client_config() -> Result<rustls::ClientConfig> {
    let failed = |e: rustls::Error| Error::Tls(Box::new(e));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(failed)?
        .with_platform_verifier()
        .map_err(failed)?
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_is_rings_offering_http1() {
        let config = client_config().expect("this system has CA certificates");
        assert_eq!(config.alpn_protocols, [b"http/1.1".to_vec()]);
        let ring = rustls::crypto::ring::default_provider();
        let suites = |p: &rustls::crypto::CryptoProvider| {
            p.cipher_suites.iter().map(|s| s.suite()).collect::<Vec<_>>()
        };
        assert_eq!(suites(config.crypto_provider()), suites(&ring));
        assert!(http_client_builder().is_ok_and(|b| b.build().is_ok()));
    }
}
