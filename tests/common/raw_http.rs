//! The one raw HTTP/1.1 server of the tests and benchmarks, on 127.0.0.1, for
//! what httpmock (request shapes) and the fake (lifecycles) cannot do: answer
//! with broken bytes, reset, stall, or answer fast enough to measure a client.
//!
//! One accept loop and one request reader serve two behaviours:
//! - **scripted** ([`Server::start`]): each accepted connection gets the next
//!   [`Reply`] of the script, one request, then the connection closes.
//!   Connections are served one after another, so a [`Reply::Delayed`] also
//!   holds the next connection back. After the last reply, or after
//!   [`SERVER_LIFETIME`], the server stops by itself.
//! - **canned** ([`Server::canned`], [`serve_canned`]): every request on a
//!   kept-alive connection is answered from bytes computed once ([`canned`]'s
//!   routes), and accepted connections are counted.
//!
//! Dropping a [`Server`] stops it at once. The benchmarks include this file by
//! path, so it uses only tokio, httparse and std.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Longest time a scripted server lives.
pub const SERVER_LIFETIME: Duration = Duration::from_secs(30);

/// What a scripted server does with one connection, once it has read the request.
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

    /// A response with a JSON body.
    pub fn json(status: u16, body: &str) -> Self {
        Self::status(status, &[("Content-Type", "application/json")], body)
    }
}

/// A complete HTTP/1.1 response that closes its connection.
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

/// A running server. Dropping it stops it.
pub struct Server {
    /// The base URL to give a client: `http://127.0.0.1:PORT/v1`.
    pub url: String,
    state: Arc<State>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Starts a scripted server on the current runtime: one reply per connection.
    pub async fn start(script: Vec<Reply>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1");
        let url = format!("http://{}/v1", listener.local_addr().expect("local address"));
        let state = Arc::new(State::new(Behaviour::Script(Mutex::new(script.into())), Arc::default()));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = state.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = serve(listener, serving) => {}
                _ = stopped => {}
                _ = tokio::time::sleep(SERVER_LIFETIME) => {}
            }
        });
        Self { url, state, stop: Some(stop), thread: None }
    }

    /// Starts a canned keep-alive server on a thread and runtime of its own,
    /// which stops after `deadline` if not dropped before.
    pub fn canned(deadline: Duration) -> Self {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        std_listener.set_nonblocking(true).expect("nonblocking listener");
        let url = format!("http://{}/v1", std_listener.local_addr().expect("local address"));
        let state = Arc::new(State::new(Behaviour::Canned(canned::Answers::new()), Arc::default()));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = state.clone();
        let thread = std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().expect("server runtime");
            runtime.block_on(async move {
                let listener = TcpListener::from_std(std_listener).expect("tokio listener");
                tokio::select! {
                    _ = serve(listener, serving) => {}
                    _ = stopped => {}
                    _ = tokio::time::sleep(deadline) => {}
                }
            });
        });
        Self { url, state, stop: Some(stop), thread: Some(thread) }
    }

    /// How many requests a scripted server has read.
    pub fn attempts(&self) -> usize {
        self.state.requests.lock().expect("request log").len()
    }

    /// The request heads (request line and headers) a scripted server read, in order.
    pub fn requests(&self) -> Vec<String> {
        self.state.requests.lock().expect("request log").iter().map(|(head, _)| head.clone()).collect()
    }

    /// The request bodies a scripted server read, in order.
    #[allow(dead_code)] // not every test binary that includes this module reads bodies
    pub fn bodies(&self) -> Vec<Vec<u8>> {
        self.state.requests.lock().expect("request log").iter().map(|(_, body)| body.clone()).collect()
    }

    /// TCP connections accepted so far.
    pub fn accepts(&self) -> usize {
        self.state.accepts.load(Ordering::SeqCst)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Serves the canned routes on `listener` until the future is dropped (the
/// benchmark's server process), counting accepted connections in `accepts`.
pub async fn serve_canned(listener: TcpListener, accepts: Arc<AtomicUsize>) {
    serve(listener, Arc::new(State::new(Behaviour::Canned(canned::Answers::new()), accepts))).await
}

enum Behaviour {
    Script(Mutex<VecDeque<Reply>>),
    Canned(canned::Answers),
}

struct State {
    behaviour: Behaviour,
    accepts: Arc<AtomicUsize>,
    /// Each request a scripted server read: its head and its body.
    requests: Mutex<Vec<(String, Vec<u8>)>>,
}

impl State {
    fn new(behaviour: Behaviour, accepts: Arc<AtomicUsize>) -> Self {
        Self { behaviour, accepts, requests: Mutex::new(Vec::new()) }
    }
}

async fn serve(listener: TcpListener, state: Arc<State>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        state.accepts.fetch_add(1, Ordering::SeqCst);
        let _ = stream.set_nodelay(true);
        match &state.behaviour {
            Behaviour::Script(script) => {
                let Some(reply) = script.lock().expect("script").pop_front() else { return };
                play(stream, reply, &state.requests).await;
                if script.lock().expect("script").is_empty() {
                    return; // the listener closes: later connections are refused
                }
            }
            Behaviour::Canned(_) => {
                tokio::spawn(keep_alive(stream, state.clone()));
            }
        }
    }
}

async fn play(mut stream: TcpStream, reply: Reply, log: &Mutex<Vec<(String, Vec<u8>)>>) {
    let mut reader = RequestReader::default();
    let head = |_: &httparse::Request<'_, '_>, bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    let mut body = Vec::new();
    let Some(head) = reader.next(&mut stream, head, Some(&mut body)).await else { return };
    log.lock().expect("request log").push((head, body));
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

async fn keep_alive(mut stream: TcpStream, state: Arc<State>) {
    let Behaviour::Canned(answers) = &state.behaviour else { return };
    let mut reader = RequestReader::default();
    let route = |request: &httparse::Request<'_, '_>, _: &[u8]| {
        answers.route(request.method.unwrap_or(""), request.path.unwrap_or(""))
    };
    while let Some(route) = reader.next(&mut stream, route, None).await {
        let written = match route {
            canned::Route::Accepts => {
                let count = state.accepts.load(Ordering::SeqCst).to_string();
                stream.write_all(&canned::keep_alive_response("200 OK", "text/plain", &count)).await
            }
            route => stream.write_all(answers.bytes(route)).await,
        };
        if written.is_err() {
            return;
        }
    }
}

/// Reads requests (head, then a `Content-Length` body) one after another off one connection.
#[derive(Default)]
struct RequestReader {
    buffer: Vec<u8>,
}

impl RequestReader {
    /// Reads the next request and returns what `inspect` takes from its parsed
    /// head (and the head's bytes), with the body copied into `body` when one
    /// is given; `None` when the peer closed or sent something unparsable.
    /// The canned routes answer without allocating.
    async fn next<T>(
        &mut self,
        stream: &mut TcpStream,
        inspect: impl FnOnce(&httparse::Request<'_, '_>, &[u8]) -> T,
        body: Option<&mut Vec<u8>>,
    ) -> Option<T> {
        let mut chunk = [0u8; 8192];
        let (head_len, body_len, taken) = loop {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut request = httparse::Request::new(&mut headers);
            match request.parse(&self.buffer) {
                Ok(httparse::Status::Complete(head_len)) => {
                    let body_len = request
                        .headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                        .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    let taken = inspect(&request, &self.buffer[..head_len]);
                    break (head_len, body_len, taken);
                }
                Ok(httparse::Status::Partial) if self.buffer.len() <= 64 * 1024 => {}
                Ok(httparse::Status::Partial) | Err(_) => return None,
            }
            self.fill(stream, &mut chunk).await?;
        };
        // A body larger than 1 MiB is read only up to there (a test of a huge
        // request needs the request head, not the bytes).
        let wanted = head_len + body_len.min(1024 * 1024);
        while self.buffer.len() < wanted {
            // A peer that closes mid-body still sent its head, which a test may check.
            if self.fill(stream, &mut chunk).await.is_none() {
                break;
            }
        }
        let end = wanted.min(self.buffer.len());
        if let Some(body) = body {
            body.extend_from_slice(&self.buffer[head_len.min(end)..end]);
        }
        self.buffer.drain(..end);
        Some(taken)
    }

    async fn fill(&mut self, stream: &mut TcpStream, chunk: &mut [u8]) -> Option<()> {
        match stream.read(chunk).await {
            Ok(0) | Err(_) => None,
            Ok(read) => {
                self.buffer.extend_from_slice(&chunk[..read]);
                Some(())
            }
        }
    }
}

/// The canned server's routes and spec-shaped bodies. Routes (under any prefix such as `/v1`):
/// - `POST .../machines` -> 200, a `CreateMachine` response (with `secret_key`);
/// - `GET .../machines/{id}` -> 200, a `Machine`;
/// - `GET /__accepts` -> 200, the number of connections accepted so far (plain text);
/// - anything else -> 404, Clerk's error body.
pub mod canned {
    /// The id the canned machine answers with (27 word characters after `mch_`).
    pub const MACHINE_ID: &str = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk";

    const NOT_FOUND: &str = r#"{"errors":[{"message":"not found","long_message":"Resource not found","code":"resource_not_found"}],"clerk_trace_id":"trace_canned"}"#;

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

    /// A complete response that keeps its connection open.
    pub(super) fn keep_alive_response(status: &str, content_type: &str, body: &str) -> Vec<u8> {
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    #[derive(Clone, Copy)]
    pub(super) enum Route {
        Create,
        Get,
        Accepts,
        NotFound,
    }

    /// The answers, computed once.
    pub(super) struct Answers {
        create: Vec<u8>,
        get: Vec<u8>,
        not_found: Vec<u8>,
    }

    impl Answers {
        pub(super) fn new() -> Self {
            let secret = Some("ak_live_0123456789abcdefghijklmnopqrstuv");
            Self {
                create: keep_alive_response("200 OK", "application/json", &machine_json(7, 2, secret)),
                get: keep_alive_response("200 OK", "application/json", &machine_json(7, 2, None)),
                not_found: keep_alive_response("404 Not Found", "application/json", NOT_FOUND),
            }
        }

        pub(super) fn route(&self, method: &str, path: &str) -> Route {
            let path = path.split('?').next().unwrap_or("");
            match method {
                "POST" if path.ends_with("/machines") => Route::Create,
                "GET" if path == "/__accepts" => Route::Accepts,
                "GET"
                    if path
                        .rsplit_once("/machines/")
                        .is_some_and(|(_, id)| !id.is_empty() && !id.contains('/')) =>
                {
                    Route::Get
                }
                _ => Route::NotFound,
            }
        }

        /// The bytes of a route other than `Accepts` (whose body changes).
        pub(super) fn bytes(&self, route: Route) -> &[u8] {
            match route {
                Route::Create => &self.create,
                Route::Get => &self.get,
                Route::Accepts | Route::NotFound => &self.not_found,
            }
        }
    }
}
