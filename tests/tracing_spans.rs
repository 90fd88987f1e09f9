//! Every call runs in one `clerk.request` span carrying the operation, method,
//! final status (or error kind), attempts and elapsed time, and never a URL,
//! a query, a header value or a body.

mod common;

use clerk_machines::{Clerk, ClerkConfig};
use common::{fast_retries, Reply, Server, MACHINE_JSON};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::Subscriber;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

const KEY: &str = "sk_test_span_secret_key_0123";
const QUERY_SECRET: &str = "query-value-that-must-not-appear";

/// The fields of one span, as recorded by the time it closed.
#[derive(Clone, Debug, Default)]
struct SpanFields {
    name: String,
    target: String,
    fields: BTreeMap<String, String>,
}

/// A layer that keeps every closed span's fields.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<SpanFields>>>);

struct Collect<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Collect<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = SpanFields {
            name: attrs.metadata().name().to_owned(),
            target: attrs.metadata().target().to_owned(),
            ..SpanFields::default()
        };
        attrs.record(&mut Collect(&mut fields.fields));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(fields) = span.extensions_mut().get_mut::<SpanFields>() {
                values.record(&mut Collect(&mut fields.fields));
            }
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if let Some(fields) = ctx.span(&id).and_then(|span| span.extensions().get::<SpanFields>().cloned()) {
            self.0.lock().unwrap().push(fields);
        }
    }
}

impl Capture {
    fn request_spans(&self) -> Vec<SpanFields> {
        self.0.lock().unwrap().iter().filter(|s| s.name == "clerk.request").cloned().collect()
    }
}

/// Runs `body` with `capture` as the only subscriber (current-thread runtime).
fn capturing<F: std::future::Future>(capture: &Capture, body: F) -> F::Output {
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    let _guard = tracing::subscriber::set_default(subscriber);
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(body)
}

fn assert_clean(span: &SpanFields) {
    let text = format!("{span:?}");
    for secret in [KEY, QUERY_SECRET, "127.0.0.1", "http://", "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk", "worker"] {
        assert!(!text.contains(secret), "the span shows `{secret}`: {text}");
    }
}

#[test]
fn one_span_per_call_with_operation_method_status_attempts_and_time() {
    let capture = Capture::default();
    capturing(&capture, async {
        let server =
            Server::start(vec![Reply::json(200, MACHINE_JSON), Reply::json(200, MACHINE_JSON)]).await;
        let clerk = Clerk::new(KEY, ClerkConfig::default().with_base_url(&server.url)).unwrap();
        clerk.machines().get("mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk").await.unwrap();
        let body = r#"{"data":[],"total_count":0}"#;
        let server = Server::start(vec![Reply::json(200, body)]).await;
        let clerk = Clerk::new(KEY, ClerkConfig::default().with_base_url(&server.url)).unwrap();
        clerk.machines().list().query(QUERY_SECRET).await.unwrap();
    });
    let spans = capture.request_spans();
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let expected = [("get_machine", "GET"), ("list_machines", "GET")];
    for (span, (operation, method)) in spans.iter().zip(expected) {
        assert_eq!(span.target, "clerk_machines::request");
        assert_eq!(span.fields.get("operation").map(String::as_str), Some(operation), "{span:?}");
        assert_eq!(span.fields.get("method").map(String::as_str), Some(method), "{span:?}");
        assert_eq!(span.fields.get("status").map(String::as_str), Some("200"), "{span:?}");
        assert_eq!(span.fields.get("attempts").map(String::as_str), Some("1"), "{span:?}");
        let elapsed: u64 = span.fields.get("elapsed_ms").expect("elapsed_ms").parse().expect("a number");
        assert!(elapsed < 60_000, "{elapsed}");
        assert!(!span.fields.contains_key("error"), "{span:?}");
        assert_clean(span);
    }
}

/// A call whose first attempt lost its connection and whose second succeeded
/// ends with the second's status, and no error field from the first.
#[test]
fn a_call_that_recovers_records_how_it_ended() {
    let capture = Capture::default();
    capturing(&capture, async {
        let server = Server::start(vec![Reply::Close, Reply::json(200, MACHINE_JSON)]).await;
        let config = ClerkConfig::default().with_base_url(&server.url).with_retry(fast_retries());
        let clerk = Clerk::new(KEY, config).unwrap();
        clerk.machines().get("mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk").await.unwrap();
        assert_eq!(server.attempts(), 2);
    });
    let spans = capture.request_spans();
    assert_eq!(spans.len(), 1, "{spans:#?}");
    assert_eq!(spans[0].fields.get("status").map(String::as_str), Some("200"), "{spans:?}");
    assert_eq!(spans[0].fields.get("attempts").map(String::as_str), Some("2"), "{spans:?}");
    assert!(!spans[0].fields.contains_key("error"), "{spans:?}");
}

#[test]
fn retries_stay_in_the_one_span_and_failures_name_their_kind() {
    let capture = Capture::default();
    capturing(&capture, async {
        let unavailable = Reply::status(503, &[], "");
        let server = Server::start(vec![unavailable.clone(), unavailable.clone(), unavailable]).await;
        let config = ClerkConfig::default().with_base_url(&server.url).with_retry(fast_retries());
        let clerk = Clerk::new(KEY, config).unwrap();
        let error = clerk.machines().get("mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk").await.unwrap_err();
        assert_eq!(error.status().map(|s| s.as_u16()), Some(503));
        // Nothing listens here: the connection is refused, three times.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let config = ClerkConfig::default()
            .with_base_url(format!("http://127.0.0.1:{port}/v1"))
            .with_retry(fast_retries());
        let clerk = Clerk::new(KEY, config).unwrap();
        clerk.machines().create("worker", Vec::<String>::new(), None).await.unwrap_err();
    });
    let spans = capture.request_spans();
    assert_eq!(spans.len(), 2, "one span per call, retries included: {spans:#?}");
    assert_eq!(spans[0].fields.get("status").map(String::as_str), Some("503"));
    assert_eq!(spans[0].fields.get("attempts").map(String::as_str), Some("3"));
    assert_eq!(spans[1].fields.get("operation").map(String::as_str), Some("create_machine"));
    assert_eq!(spans[1].fields.get("method").map(String::as_str), Some("POST"));
    assert_eq!(spans[1].fields.get("error").map(String::as_str), Some("connect"));
    assert_eq!(spans[1].fields.get("attempts").map(String::as_str), Some("3"));
    assert!(!spans[1].fields.contains_key("status"));
    spans.iter().for_each(assert_clean);
}
