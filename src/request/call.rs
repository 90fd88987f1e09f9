//! What `exec` and the facade share about the call running in a task: the
//! task-local [`Call`] that [`send`](super::send) and [`call`](super::call) set
//! and the `exec` hook reports to.

use super::response::ResponseMeta;
use std::cell::RefCell;
use std::future::Future;
use std::time::{Duration, Instant};

tokio::task_local! {
    static CALL: RefCell<Call>;
}

/// One call of the facade, as `exec` reports it.
///
/// A few words only, with what only a retry needs boxed: the task-local
/// slot holding it is swapped in and out on every poll of the call.
#[derive(Debug, Default)]
pub(super) struct Call {
    /// Set by [`call`](super::call): each `exec` makes one attempt, and a
    /// retry is the whole call made again, so no copy of the request is kept.
    pub(super) rebuilds: bool,
    /// The status of the last response, with its headers for an error status.
    pub(super) last: Option<ResponseMeta>,
    /// Set when the policy wants the call made again: after what delay, and
    /// where the call stands for the next attempt's `exec`.
    pub(super) retry: Option<Box<Retry>>,
}

/// A retry that [`call`](super::call) is about to make.
#[derive(Debug)]
pub(super) struct Retry {
    pub(super) delay: Duration,
    pub(super) progress: Progress,
}

/// Where a call that is made again for each attempt stands.
#[derive(Debug)]
pub(super) struct Progress {
    pub(super) span: tracing::Span,
    pub(super) started: Instant,
    pub(super) attempts: u32,
}

/// Runs `body` as the task's current call.
///
/// The body hands its answer out through a variable it captures rather than
/// as its output: a call's answer is large, and the scope would move its
/// `Poll` through each of its layers on every poll, ready or not.
pub(super) async fn scope(call: Call, body: impl Future<Output = ()>) {
    CALL.scope(RefCell::new(call), body).await
}

/// Runs `f` on the current call, or returns `None` outside one (a request
/// made with the raw builders, not through `send`).
pub(super) fn with<R>(f: impl FnOnce(&mut Call) -> R) -> Option<R> {
    CALL.try_with(|call| f(&mut call.borrow_mut())).ok()
}
