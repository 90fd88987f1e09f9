//! The token source's tracing events: each failed refresh and the recovery,
//! with Clerk's answer and never the token.
//!
//! This test is alone in its binary on purpose. It captures events with a
//! thread-scoped subscriber (`with_default`); `tracing` caches each
//! callsite's interest when the callsite is first hit, so a test on another
//! thread hitting the token source's callsites while this one installs its
//! subscriber can cache "no one listens" and the events are lost (seen: 3 of
//! 20 runs of the shared binary). With no other test in the process there is
//! no such race.
#![cfg(feature = "mock")]

mod common;

use clerk_machines::mock::MockServerExt;
use common::token_source::*;
use httpmock::MockServer;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One event: its level and fields.
type Event = (tracing::Level, BTreeMap<String, String>);

/// The token source's events.
#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<Event>>>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Events {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() == "clerk_machines::token_source" {
            let mut fields = BTreeMap::new();
            event.record(&mut Fields(&mut fields));
            self.0.lock().unwrap().push((*event.metadata().level(), fields));
        }
    }
}

#[test]
fn failed_refreshes_and_the_recovery_are_traced_without_the_token() {
    use tracing_subscriber::layer::SubscriberExt;
    let events = Events::default();
    let subscriber = tracing_subscriber::registry().with(events.clone());
    let server = MockServer::start();
    let (tokens, clock, _) = minted_source(&server);
    // One thread, whose subscriber sees the events of the refreshes it runs.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    tracing::subscriber::with_default(subscriber, || {
        rt.block_on(async {
            let mut outage = failing(&server, 503, None);
            clock.advance(Duration::from_secs(3301));
            for _ in 0..2 {
                tokens.token().await.unwrap();
                let wait = settled(&tokens).await.next_attempt_in.unwrap();
                clock.advance(wait);
            }
            outage.delete();
            server.create_m2m_token(|_, then| {
                then.created(&created("mt_secret_two", Duration::from_secs(3600)));
            });
            tokens.token().await.unwrap();
            settled(&tokens).await;
        })
    });
    let events = events.0.lock().unwrap().clone();
    assert_eq!(events.len(), 3, "{events:?}");
    for (level, fields) in &events[..2] {
        assert_eq!(*level, tracing::Level::WARN);
        assert_eq!(fields["status"], "503");
        assert_eq!(fields["code"], "\"service_unavailable\"");
        assert_eq!(fields["trace_id"], "\"trace-outage\"");
        let valid_for_ms: u64 = fields["valid_for_ms"].parse().unwrap();
        assert!(valid_for_ms > 280_000 && valid_for_ms < 295_000, "{fields:?}");
        assert!(fields["next_attempt_in_ms"].parse::<u64>().unwrap() >= 500);
        assert!(fields["message"].contains("still handed out"), "{fields:?}");
    }
    assert_eq!(events[0].1["consecutive_failures"], "1");
    assert_eq!(events[1].1["consecutive_failures"], "2");
    let (level, fields) = &events[2];
    assert_eq!(*level, tracing::Level::INFO);
    assert_eq!(fields["failures"], "2");
    let shown = format!("{events:?}");
    assert!(!shown.contains("mt_secret") && !shown.contains(MACHINE_KEY), "{shown}");
}
