//! A minimal HTTP/1.1 server for the benchmarks and the connection-reuse test.
//!
//! It answers every request from bytes computed once at start-up (status line,
//! headers and a spec-shaped JSON body), keeps connections alive, and counts
//! the TCP connections it accepts. Routes (any prefix such as `/v1`):
//! - `POST .../machines` -> 200, a `CreateMachine` response (with `secret_key`);
//! - `GET .../machines/{id}` -> 200, a `Machine`;
//! - `GET /__accepts` -> 200, the number of connections accepted so far (plain text);
//! - anything else -> 404, Clerk's error body.
//!
//! It binds 127.0.0.1 only. Callers bound its life: the benchmark runs it in a
//! child process that exits when its standard input closes, the test stops it
//! with [`ServerHandle`]'s drop or after a deadline.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The id the canned machine answers with (27 word characters after `mch_`).
pub const MACHINE_ID: &str = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk";

/// One machine without `scoped_machines`, as the spec's `MachineWithoutScopedMachines`.
pub fn scoped_machine_json(i: usize) -> String {
    format!(
        r#"{{"object":"machine","id":"mch_{i:0>27}","name":"scoped-worker-{i}","instance_id":"ins_2xhFjEI5X2qWRvtV13BzSj8H6Dk","created_at":1767225600000,"updated_at":1767225600000,"default_token_ttl":3600}}"#
    )
}

/// One machine with `scoped` scoped machines, as the spec's `Machine`;
/// `secret_key` adds the field the `CreateMachine` response carries.
pub fn machine_json(i: usize, scoped: usize, secret_key: Option<&str>) -> String {
    let scoped: Vec<String> = (0..scoped).map(|j| scoped_machine_json(i * 1000 + j)).collect();
    let secret = secret_key.map(|k| format!(r#","secret_key":"{k}""#)).unwrap_or_default();
    format!(
        r#"{{"object":"machine","id":"mch_{i:0>27}","name":"billing-worker-{i}","instance_id":"ins_2xhFjEI5X2qWRvtV13BzSj8H6Dk","created_at":1767225600000,"updated_at":1767225600000,"default_token_ttl":600,"scoped_machines":[{}]{secret}}}"#,
        scoped.join(",")
    )
}

/// A `ListMachines` page: `machines` machines with `scoped` scoped machines each.
pub fn list_json(machines: usize, scoped: usize) -> String {
    let data: Vec<String> = (0..machines).map(|i| machine_json(i, scoped, None)).collect();
    format!(r#"{{"data":[{}],"total_count":{}}}"#, data.join(","), machines * 3)
}

const NOT_FOUND: &str = r#"{"errors":[{"message":"not found","long_message":"Resource not found","code":"resource_not_found"}],"clerk_trace_id":"trace_canned"}"#;

fn response(status: &str, content_type: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

struct Canned {
    create: Vec<u8>,
    get: Vec<u8>,
    not_found: Vec<u8>,
}

/// Serves on `listener` until the task is dropped, counting accepted connections in `accepts`.
pub async fn serve(listener: TcpListener, accepts: Arc<AtomicUsize>) {
    let canned = Arc::new(Canned {
        create: response(
            "200 OK",
            "application/json",
            &machine_json(7, 2, Some("ak_live_0123456789abcdefghijklmnopqrstuv")),
        ),
        get: response("200 OK", "application/json", &machine_json(7, 2, None)),
        not_found: response("404 Not Found", "application/json", NOT_FOUND),
    });
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        accepts.fetch_add(1, Ordering::SeqCst);
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(stream, canned.clone(), accepts.clone()));
    }
}

async fn connection(mut stream: TcpStream, canned: Arc<Canned>, accepts: Arc<AtomicUsize>) {
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    let mut chunk = [0u8; 8192];
    loop {
        // Parse a complete request head, then wait for its body.
        let (head_len, body_len, route) = loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut request = httparse::Request::new(&mut headers);
            match request.parse(&buf) {
                Ok(httparse::Status::Complete(head_len)) => {
                    let body_len = request
                        .headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                        .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    let route = route(request.method.unwrap_or(""), request.path.unwrap_or(""));
                    break (head_len, body_len, route);
                }
                Ok(httparse::Status::Partial) => {}
                Err(_) => return,
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        while buf.len() < head_len + body_len {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        buf.drain(..head_len + body_len);
        let written = match route {
            Route::Create => stream.write_all(&canned.create).await,
            Route::Get => stream.write_all(&canned.get).await,
            Route::Accepts => {
                let count = accepts.load(Ordering::SeqCst).to_string();
                stream.write_all(&response("200 OK", "text/plain", &count)).await
            }
            Route::NotFound => stream.write_all(&canned.not_found).await,
        };
        if written.is_err() {
            return;
        }
    }
}

enum Route {
    Create,
    Get,
    Accepts,
    NotFound,
}

fn route(method: &str, path: &str) -> Route {
    let path = path.split('?').next().unwrap_or("");
    match method {
        "POST" if path.ends_with("/machines") => Route::Create,
        "GET" if path == "/__accepts" => Route::Accepts,
        "GET"
            if path.rsplit_once("/machines/").is_some_and(|(_, id)| !id.is_empty() && !id.contains('/')) =>
        {
            Route::Get
        }
        _ => Route::NotFound,
    }
}

/// A server running on its own thread and runtime, for tests. Dropping the
/// handle stops it; so does `deadline` passing.
pub struct ServerHandle {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    accepts: Arc<AtomicUsize>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ServerHandle {
    /// Starts a server on 127.0.0.1 (a free port) that stops itself after `deadline`.
    pub fn start(deadline: std::time::Duration) -> Self {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        std_listener.set_nonblocking(true).expect("nonblocking listener");
        let url = format!("http://{}", std_listener.local_addr().expect("local addr"));
        let accepts = Arc::new(AtomicUsize::new(0));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let counter = accepts.clone();
        let thread = std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().expect("server runtime");
            runtime.block_on(async move {
                let listener = TcpListener::from_std(std_listener).expect("tokio listener");
                tokio::select! {
                    _ = serve(listener, counter) => {}
                    _ = stopped => {}
                    _ = tokio::time::sleep(deadline) => {}
                }
            });
        });
        Self { url, accepts, stop: Some(stop), thread: Some(thread) }
    }

    /// Connections accepted so far.
    pub fn accepts(&self) -> usize {
        self.accepts.load(Ordering::SeqCst)
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
