//! A scripted HTTP/1.1 server on 127.0.0.1 for fault-injection tests.
//!
//! Each accepted connection reads one request and plays the next [`Reply`] of
//! the script, then closes. After the last reply, or after [`SERVER_LIFETIME`],
//! the server stops by itself; dropping the [`Server`] stops it at once.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Longest time a test server lives.
pub const SERVER_LIFETIME: Duration = Duration::from_secs(30);

/// A machine as Clerk returns it.
pub const MACHINE_JSON: &str = r#"{"object":"machine","id":"mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk","name":"worker","instance_id":"ins_123","created_at":1700000000000,"updated_at":1700000000000,"default_token_ttl":3600,"scoped_machines":[]}"#;

/// What the server does with one connection, once it has read the request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// Close the connection without answering.
    Close,
    /// Write these bytes, then close.
    Raw(Vec<u8>),
    /// Write these bytes, then reset the connection (RST).
    RawThenReset(Vec<u8>),
    /// Wait, then write these bytes and close.
    Delayed(Duration, Vec<u8>),
}

impl Reply {
    /// A complete response with `Connection: close` and a `Content-Length`.
    pub fn status(status: u16, extra_headers: &[(&str, &str)], body: &str) -> Self {
        Reply::Raw(response(status, extra_headers, body))
    }

    /// A 200 with a JSON body.
    pub fn json(status: u16, body: &str) -> Self {
        Self::status(status, &[("Content-Type", "application/json")], body)
    }
}

/// A complete HTTP/1.1 response.
pub fn response(status: u16, extra_headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut head =
        format!("HTTP/1.1 {status} Scripted\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in extra_headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body.as_bytes());
    bytes
}

/// A running scripted server.
pub struct Server {
    /// Base URL to give the client (`http://127.0.0.1:PORT/v1`).
    pub url: String,
    requests: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Starts a server that plays `script`, one reply per connection.
    pub async fn start(script: Vec<Reply>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let task = tokio::spawn(async move {
            let _ = tokio::time::timeout(SERVER_LIFETIME, async move {
                for reply in script {
                    let Ok((stream, _)) = listener.accept().await else { return };
                    play(stream, reply, &seen).await;
                }
            })
            .await;
        });
        Self { url, requests, task }
    }

    /// How many requests the server has read.
    pub fn attempts(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    /// The request heads (request line and headers) in order.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn play(mut stream: TcpStream, reply: Reply, seen: &Mutex<Vec<String>>) {
    let Some(head) = read_request(&mut stream).await else { return };
    seen.lock().unwrap().push(head);
    match reply {
        Reply::Close => {}
        Reply::Raw(bytes) => {
            let _ = stream.write_all(&bytes).await;
            let _ = stream.shutdown().await;
        }
        Reply::RawThenReset(bytes) => {
            let _ = stream.write_all(&bytes).await;
            let _ = stream.flush().await;
            // Let the client read what was sent before the reset.
            tokio::time::sleep(Duration::from_millis(50)).await;
            let _ = stream.set_zero_linger();
        }
        Reply::Delayed(delay, bytes) => {
            tokio::time::sleep(delay).await;
            let _ = stream.write_all(&bytes).await;
            let _ = stream.shutdown().await;
        }
    }
}

/// Reads one request (head and `Content-Length` body); returns its head.
async fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        if buffer.len() > 64 * 1024 {
            return None;
        }
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let length = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .unwrap_or(0);
    while buffer.len() < head_end + length.min(1024 * 1024) {
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
    Some(head)
}

/// Short backoffs so that retried cases stay fast.
pub fn fast_retries() -> clerk_machines::RetryConfig {
    clerk_machines::RetryConfig::default()
        .with_initial_backoff(Duration::from_millis(10))
        .with_max_backoff(Duration::from_millis(40))
        .with_jitter(false)
}
