//! Client overhead against the floor: `cargo bench --bench overhead`.
//!
//! Three measurements, each side by side in the same run with a hand-written
//! "floor" (plain `reqwest` + `serde` structs doing the same work):
//!
//! 1. request overhead: `clerk.machines().create(..)` then `.get(..)` against a
//!    canned local server, sequentially and with 16 and 64 concurrent tasks on
//!    one client. The server runs in a child process (this binary re-executed
//!    with `CLERK_PERF_SERVER=1`), so the CPU time measured here is the
//!    client's alone: process CPU time (`CLOCK_PROCESS_CPUTIME_ID`, the same
//!    figure as `getrusage` user+sys) per operation, crate / floor.
//! 2. decoding: a `ListMachines` page of 500 machines x 150 scoped machines
//!    through the crate's decode path vs `serde_json` into hand-written structs
//!    (thread CPU time).
//! 3. connection reuse: TCP connections the server accepted for 1,000
//!    sequential requests through one `Clerk`.
//!
//! Environment:
//! - `CLERK_PERF_QUICK=1`: fewer operations and rounds (about 20 s).
//! - `CLERK_PERF_ONLY=requests|decode|reuse`: run one part.
//! - `CLERK_PERF_CONCURRENCY=1,16`: the concurrency levels of the request
//!   part (default 1, 16 and 64); `CLERK_PERF_RETRIES=off`: the crate's
//!   client with `RetryConfig::disabled()` there; `CLERK_PERF_WORKERS=1`:
//!   the client runtime's worker threads (default 2).
//! - `CLERK_PERF_DECODE=crate|floor|none` with `CLERK_PERF_ITERS=N`: only
//!   decode N times and exit, for instruction counts under valgrind (`benches/instructions.sh`).
//! - `CLERK_PERF_REQUESTS=crate|crate-no-retries|floor` with `CLERK_PERF_ITERS=N`: warm both
//!   clients up, then run N operations on one side and exit (the same, for the
//!   request path; N=0 gives the baseline to subtract); `CLERK_PERF_TASKS=16`
//!   splits them over 16 concurrent tasks.
//!
//! Alternating batches (crate, floor, floor, crate, ...) and medians over
//! rounds keep the comparison fair on a shared, noisy machine.

/// The tests' raw HTTP server, whose canned keep-alive routes the benchmark's server process serves.
#[path = "../tests/common/raw_http.rs"]
mod raw_http;

use clerk_machines::{types, Clerk, ClerkConfig};
use raw_http::canned::MACHINE_ID;
use rustix::time::{clock_gettime, ClockId};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SERVER_ENV: &str = "CLERK_PERF_SERVER";
const SECRET_KEY: &str = "sk_test_benchmark_0123456789";

fn main() {
    if std::env::var_os(SERVER_ENV).is_some() {
        return run_server();
    }
    if let Ok(which) = std::env::var("CLERK_PERF_DECODE") {
        return decode_only(&which);
    }
    if let Ok(which) = std::env::var("CLERK_PERF_REQUESTS") {
        return requests_only(&which);
    }
    if std::env::var_os("CLERK_PERF_SIZES").is_some() {
        let clerk = Clerk::new(SECRET_KEY, ClerkConfig::default()).expect("client");
        let floor = floor::Floor::new("http://127.0.0.1:9/v1", SECRET_KEY);
        let machines = clerk.machines();
        println!(
            "future sizes (bytes): crate get {}, create {} (generated get {}, create {}); floor get {}, create {}",
            std::mem::size_of_val(&machines.get(MACHINE_ID)),
            std::mem::size_of_val(&machines.create("x", [MACHINE_ID], None)),
            std::mem::size_of_val(&clerk.raw().get_machine().machine_id(MACHINE_ID).send()),
            std::mem::size_of_val(&clerk.raw().create_machine().body(types::CreateMachineBody::builder().name("x")).send()),
            std::mem::size_of_val(&floor.get(MACHINE_ID)),
            std::mem::size_of_val(&floor.create("x", &[MACHINE_ID]))
        );
        return;
    }
    let quick = std::env::var_os("CLERK_PERF_QUICK").is_some();
    let only = std::env::var("CLERK_PERF_ONLY").ok();
    let wants = |part: &str| only.as_deref().is_none_or(|o| o == part);
    println!("clerk-machines overhead benchmark ({} mode)", if quick { "quick" } else { "full" });

    if wants("requests") || wants("reuse") {
        let server = Server::start();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(worker_threads())
            .enable_all()
            .build()
            .expect("client runtime");
        if wants("requests") {
            requests(&runtime, &server, quick);
        }
        if wants("reuse") {
            reuse(&runtime, &server);
        }
    }
    if wants("decode") {
        decode(quick);
    }
}

/// The number in environment variable `name`, or `default` when unset or not a number.
fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The client runtime's worker threads: `CLERK_PERF_WORKERS`, 2 by default.
fn worker_threads() -> usize {
    env_number("CLERK_PERF_WORKERS", 2).max(1)
}

// ---------------------------------------------------------------------------
// CPU time

fn process_cpu() -> Duration {
    timespec(clock_gettime(ClockId::ProcessCPUTime))
}

fn thread_cpu() -> Duration {
    timespec(clock_gettime(ClockId::ThreadCPUTime))
}

fn timespec(t: rustix::time::Timespec) -> Duration {
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

// ---------------------------------------------------------------------------
// The canned server, in a child process

struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start() -> Self {
        let exe = std::env::current_exe().expect("current exe");
        let mut child = Command::new(exe)
            .env(SERVER_ENV, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the canned server");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().expect("server stdout"))
            .read_line(&mut line)
            .expect("server address");
        let url = format!("http://{}", line.trim());
        Self { child, url }
    }

    /// Connections the server has accepted (this query's own connection excluded).
    fn accepts(&self) -> usize {
        let address = self.url.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(address).expect("connect to the server");
        stream
            .write_all(b"GET /__accepts HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .expect("query accepts");
        let mut answer = Vec::new();
        // The server keeps the connection open: read until the body is complete.
        let mut chunk = [0u8; 512];
        loop {
            let n = stream.read(&mut chunk).expect("read accepts");
            answer.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&answer);
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if body.len() >= length {
                    return body.trim().parse::<usize>().expect("a count") - 1;
                }
            }
            if n == 0 {
                panic!("server closed the stats connection early");
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Closing its stdin stops the server.
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

fn run_server() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("server runtime");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    listener.set_nonblocking(true).expect("nonblocking");
    println!("{}", listener.local_addr().expect("address"));
    std::io::stdout().flush().expect("flush");
    // Stop when the benchmark closes our stdin (or dies), and in any case after 20 minutes.
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
        let accepts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        tokio::select! {
            _ = raw_http::serve_canned(listener, accepts) => {}
            _ = tokio::time::sleep(Duration::from_secs(20 * 60)) => {}
        }
    });
}

// ---------------------------------------------------------------------------
// The floor: what a careful hand-written client does for the same two requests

mod floor {
    use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, USER_AGENT};
    use serde::{Deserialize, Serialize};

    #[derive(Serialize)]
    pub struct CreateMachine<'a> {
        pub name: &'a str,
        pub scoped_machines: &'a [&'a str],
    }

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    pub struct CreatedMachine {
        pub object: MachineObject,
        pub id: String,
        pub name: String,
        pub instance_id: String,
        pub created_at: i64,
        pub updated_at: i64,
        pub default_token_ttl: u64,
        pub scoped_machines: Vec<ScopedMachine>,
        pub secret_key: String,
    }

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    pub struct Machine {
        pub object: MachineObject,
        pub id: String,
        pub name: String,
        pub instance_id: String,
        pub created_at: i64,
        pub updated_at: i64,
        pub default_token_ttl: u64,
        pub scoped_machines: Vec<ScopedMachine>,
    }

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    pub struct ScopedMachine {
        pub object: MachineObject,
        pub id: String,
        pub name: String,
        pub instance_id: String,
        pub created_at: i64,
        pub updated_at: i64,
        pub default_token_ttl: u64,
    }

    #[derive(Deserialize, Debug, Clone, Copy)]
    #[serde(rename_all = "snake_case")]
    pub enum MachineObject {
        Machine,
    }

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    pub struct ListMachines {
        pub data: Vec<Machine>,
        pub total_count: i64,
    }

    pub struct Floor {
        http: reqwest::Client,
        base: String,
    }

    impl Floor {
        /// The same reqwest configuration and headers the crate uses by default.
        pub fn new(base: &str, key: &str) -> Self {
            let mut headers = HeaderMap::new();
            let mut auth = HeaderValue::try_from(format!("Bearer {key}")).unwrap();
            auth.set_sensitive(true);
            headers.insert(AUTHORIZATION, auth);
            headers.insert("clerk-api-version", HeaderValue::from_static(clerk_machines::spec::VERSION));
            headers.insert(USER_AGENT, HeaderValue::from_static(clerk_machines::defaults::USER_AGENT));
            headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
            let http = clerk_machines::http_client_builder()
                .unwrap()
                .default_headers(headers)
                .connect_timeout(clerk_machines::defaults::CONNECT_TIMEOUT)
                .timeout(clerk_machines::defaults::REQUEST_TIMEOUT)
                .build()
                .unwrap();
            Self { http, base: base.to_owned() }
        }

        pub async fn create(&self, name: &str, scoped: &[&str]) -> reqwest::Result<CreatedMachine> {
            let body = CreateMachine { name, scoped_machines: scoped };
            self.http
                .post(format!("{}/machines", self.base))
                .json(&body)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await
        }

        pub async fn get(&self, id: &str) -> reqwest::Result<Machine> {
            self.http
                .get(format!("{}/machines/{id}", self.base))
                .send()
                .await?
                .error_for_status()?
                .json()
                .await
        }
    }
}

// ---------------------------------------------------------------------------
// 1. Request overhead

#[derive(Clone, Copy, PartialEq)]
enum Side {
    Crate,
    Floor,
}

struct Clients {
    clerk: Arc<Clerk>,
    floor: Arc<floor::Floor>,
}

/// One operation: create a machine (scoped to one other), then get it.
async fn op_crate(clerk: &Clerk) {
    let created = clerk.machines().create("billing-worker", [MACHINE_ID], None).await.expect("create");
    let machine = clerk.machines().get(&created.id).await.expect("get");
    std::hint::black_box(machine);
}

async fn op_floor(floor: &floor::Floor) {
    let created = floor.create("billing-worker", &[MACHINE_ID]).await.expect("create");
    let machine = floor.get(&created.id).await.expect("get");
    std::hint::black_box(machine);
}

/// Runs `ops` operations split over `concurrency` tasks; returns (CPU, wall).
fn batch(
    runtime: &tokio::runtime::Runtime,
    clients: &Clients,
    side: Side,
    ops: usize,
    concurrency: usize,
) -> (Duration, Duration) {
    let cpu = process_cpu();
    let wall = Instant::now();
    run_ops(runtime, clients, side, ops, concurrency);
    (process_cpu() - cpu, wall.elapsed())
}

/// Runs `ops` operations split over `concurrency` tasks on one client.
fn run_ops(runtime: &tokio::runtime::Runtime, clients: &Clients, side: Side, ops: usize, concurrency: usize) {
    let per_task = ops / concurrency;
    runtime.block_on(async {
        let mut tasks = Vec::with_capacity(concurrency);
        for _ in 0..concurrency {
            let clerk = clients.clerk.clone();
            let floor = clients.floor.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..per_task {
                    match side {
                        Side::Crate => op_crate(&clerk).await,
                        Side::Floor => op_floor(&floor).await,
                    }
                }
            }));
        }
        for task in tasks {
            task.await.expect("task");
        }
    });
}

fn requests(runtime: &tokio::runtime::Runtime, server: &Server, quick: bool) {
    let base = format!("{}/v1", server.url);
    let mut config = ClerkConfig::default().with_base_url(&base);
    if std::env::var("CLERK_PERF_RETRIES").as_deref() == Ok("off") {
        // What the request copy kept for a retry costs under load.
        config = config.with_retry(clerk_machines::RetryConfig::disabled());
    }
    let clerk = Clerk::new(SECRET_KEY, config).expect("client");
    let clients = Clients { clerk: Arc::new(clerk), floor: Arc::new(floor::Floor::new(&base, SECRET_KEY)) };
    let (ops, rounds) = if quick { (640, 3) } else { (6_400, 9) };
    println!("\n## request overhead: create + get = 1 op, {ops} ops per batch, {rounds} rounds per side");
    println!("   CPU = client process CPU time (the server runs in another process)");
    println!(
        "{:>11} | {:>14} | {:>14} | {:>11} | {:>17} | {:>15}",
        "concurrency", "crate CPU/op", "floor CPU/op", "crate/floor", "round ratios", "wall/op c / f"
    );
    let levels: Vec<usize> = match std::env::var("CLERK_PERF_CONCURRENCY") {
        Ok(list) => list.split(',').filter_map(|n| n.trim().parse().ok()).collect(),
        Err(_) => vec![1, 16, 64],
    };
    for concurrency in levels {
        // Warm up: connections, allocator, caches.
        batch(runtime, &clients, Side::Crate, ops / 4, concurrency);
        batch(runtime, &clients, Side::Floor, ops / 4, concurrency);
        let (mut crate_cpu, mut floor_cpu, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        let (mut crate_wall, mut floor_wall) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            let order = if round % 2 == 0 { [Side::Crate, Side::Floor] } else { [Side::Floor, Side::Crate] };
            let mut this = [0.0; 2];
            for side in order {
                let (cpu, wall) = batch(runtime, &clients, side, ops, concurrency);
                let cpu_us = cpu.as_secs_f64() * 1e6 / ops as f64;
                let wall_us = wall.as_secs_f64() * 1e6 / ops as f64;
                match side {
                    Side::Crate => {
                        crate_cpu.push(cpu_us);
                        crate_wall.push(wall_us);
                        this[0] = cpu_us;
                    }
                    Side::Floor => {
                        floor_cpu.push(cpu_us);
                        floor_wall.push(wall_us);
                        this[1] = cpu_us;
                    }
                }
            }
            ratios.push(this[0] / this[1]);
        }
        let c = median(&mut crate_cpu);
        let f = median(&mut floor_cpu);
        let (lo, hi) =
            (ratios.iter().cloned().fold(f64::MAX, f64::min), ratios.iter().cloned().fold(0.0, f64::max));
        println!(
            "{concurrency:>11} | {c:>11.1} us | {f:>11.1} us | {:>10.3}x | {lo:>6.3}..{hi:>6.3}x | {:>6.1} / {:>6.1} us",
            c / f,
            median(&mut crate_wall),
            median(&mut floor_wall),
        );
    }
}

// ---------------------------------------------------------------------------
// 3. Connection reuse

fn reuse(runtime: &tokio::runtime::Runtime, server: &Server) {
    let base = format!("{}/v1", server.url);
    let clerk = Clerk::new(SECRET_KEY, ClerkConfig::default().with_base_url(&base)).expect("client");
    let before = server.accepts();
    runtime.block_on(async {
        for _ in 0..1_000 {
            clerk.machines().get(MACHINE_ID).await.expect("get");
        }
    });
    let opened = server.accepts() - before;
    let floor = floor::Floor::new(&base, SECRET_KEY);
    let before = server.accepts();
    runtime.block_on(async {
        for _ in 0..1_000 {
            floor.get(MACHINE_ID).await.expect("get");
        }
    });
    let floor_opened = server.accepts() - before;
    println!(
        "\n## connection reuse: 1000 sequential requests opened {opened} TCP connection(s) through one Clerk, {floor_opened} through the floor's reqwest::Client"
    );
}

// ---------------------------------------------------------------------------
// 2. Decoding

const PAGE_MACHINES: usize = 500;
const PAGE_SCOPED: usize = 150;

fn as_response(body: &bytes::Bytes) -> reqwest::Response {
    let mut response = http::Response::new(body.clone());
    response.headers_mut().insert("content-type", http::HeaderValue::from_static("application/json"));
    reqwest::Response::from(response)
}

/// The crate's decode path for a success response: what the generated
/// `list_machines().send()` runs on the body (`ResponseValue::from_response`).
fn decode_crate(body: &bytes::Bytes) -> usize {
    let page = futures::executor::block_on(
        progenitor_client::ResponseValue::<types::ListMachinesResponse>::from_response::<types::ClerkErrors>(
            as_response(body),
        ),
    )
    .expect("crate decode")
    .into_inner();
    let n = page.data.len();
    std::hint::black_box(page);
    n
}

/// The floor: `reqwest::Response::json` into hand-written structs.
fn decode_floor(body: &bytes::Bytes) -> usize {
    let page: floor::ListMachines =
        futures::executor::block_on(as_response(body).json()).expect("floor decode");
    let n = page.data.len();
    std::hint::black_box(page);
    n
}

fn page_body() -> bytes::Bytes {
    bytes::Bytes::from(raw_http::canned::list_json(PAGE_MACHINES, PAGE_SCOPED))
}

fn decode(quick: bool) {
    let body = page_body();
    let (iters, rounds) = if quick { (2, 3) } else { (4, 9) };
    println!(
        "\n## decoding: ListMachines page, {PAGE_MACHINES} machines x {PAGE_SCOPED} scoped ({:.1} MB), {iters} decodes per batch, {rounds} rounds",
        body.len() as f64 / 1e6
    );
    assert_eq!(decode_crate(&body), PAGE_MACHINES);
    assert_eq!(decode_floor(&body), PAGE_MACHINES);
    let (mut c, mut f, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let mut this = [0.0; 2];
        let order = if round % 2 == 0 { [Side::Crate, Side::Floor] } else { [Side::Floor, Side::Crate] };
        for side in order {
            let start = thread_cpu();
            for _ in 0..iters {
                match side {
                    Side::Crate => decode_crate(&body),
                    Side::Floor => decode_floor(&body),
                };
            }
            let ms = (thread_cpu() - start).as_secs_f64() * 1e3 / iters as f64;
            match side {
                Side::Crate => {
                    c.push(ms);
                    this[0] = ms;
                }
                Side::Floor => {
                    f.push(ms);
                    this[1] = ms;
                }
            }
        }
        ratios.push(this[0] / this[1]);
    }
    let (cm, fm) = (median(&mut c), median(&mut f));
    let (lo, hi) =
        (ratios.iter().cloned().fold(f64::MAX, f64::min), ratios.iter().cloned().fold(0.0, f64::max));
    println!("   thread CPU per page (decode + drop): crate {cm:.1} ms, floor {fm:.1} ms");
    println!("   crate/floor {:.3}x (round ratios {lo:.3}..{hi:.3}x)", cm / fm);
}

fn decode_only(which: &str) {
    let iters = env_number("CLERK_PERF_ITERS", 1);
    let body = page_body();
    for _ in 0..iters {
        match which {
            "crate" => decode_crate(&body),
            "floor" => decode_floor(&body),
            _ => 0,
        };
    }
}

fn requests_only(which: &str) {
    let iters = env_number("CLERK_PERF_ITERS", 0);
    let server = Server::start();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(worker_threads())
        .enable_all()
        .build()
        .expect("client runtime");
    let base = format!("{}/v1", server.url);
    let mut config = ClerkConfig::default().with_base_url(&base);
    if which == "crate-no-retries" {
        // What the request copy kept for a retry costs: the same path, sent once.
        config = config.with_retry(clerk_machines::RetryConfig::disabled());
    }
    let clerk = Clerk::new(SECRET_KEY, config).expect("client");
    let floor = floor::Floor::new(&base, SECRET_KEY);
    let tasks = env_number("CLERK_PERF_TASKS", 1).max(1);
    let side = if which.starts_with("crate") { Side::Crate } else { Side::Floor };
    let clients = Clients { clerk: Arc::new(clerk), floor: Arc::new(floor) };
    // Warm up both sides at the same concurrency (connections, allocator, caches).
    // No CPU clock here: valgrind cannot run rustix's vDSO lookup.
    run_ops(&runtime, &clients, Side::Crate, 20 * tasks, tasks);
    run_ops(&runtime, &clients, Side::Floor, 20 * tasks, tasks);
    run_ops(&runtime, &clients, side, iters, tasks);
}
