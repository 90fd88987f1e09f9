//! The crate's own HTTP client speaks TLS to an `https` base URL (rustls with
//! ring, configured by the crate), and a server it cannot verify is a
//! transport error, never a panic.

use clerk_machines::{Clerk, ClerkConfig, Error};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

#[tokio::test]
async fn an_https_base_url_gets_a_tls_client_hello_offering_http1() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut hello = vec![0; 4096];
        let mut read = 0;
        // A TLS record header (5 bytes), then the handshake it announces.
        while read < 5 || read < 5 + usize::from(u16::from_be_bytes([hello[3], hello[4]])) {
            let n = stream.read(&mut hello[read..]).await.unwrap();
            assert!(n > 0, "the client closed before its ClientHello was whole");
            read += n;
        }
        hello.truncate(read);
        hello
        // Dropping the stream ends the handshake: the client sees no ServerHello.
    });
    let config = ClerkConfig::default().with_base_url(format!("https://localhost:{port}"));
    let clerk = Clerk::new("sk_test_tls", config).unwrap();
    let error = clerk.machines().get("mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk").await.unwrap_err();
    assert!(matches!(error, Error::Transport(_)), "{error:?}");

    let hello = server.await.unwrap();
    assert_eq!(hello[0], 0x16, "a TLS handshake record");
    assert_eq!(hello[5], 0x01, "a ClientHello");
    let contains = |needle: &[u8]| hello.windows(needle.len()).any(|w| w == needle);
    assert!(contains(b"localhost"), "the server name is sent (SNI)");
    assert!(contains(b"\x08http/1.1"), "ALPN offers HTTP/1.1");
    assert!(!contains(b"\x02h2"), "and not HTTP/2");
}
