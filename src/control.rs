//! [`Control`]: what a caller holds over a running primitive: a cancellation token that wakes
//! whoever waits on it, and the one [`Event`] stream every primitive reports through.
//!
//! A leaf: it imports no pipeline stage, and the stages' event payloads ([`Stage`],
//! [`ProgressEvent`], [`TransferProgress`], [`Direction`]) live here so that `run` and `store`
//! re-export them rather than the stages importing one another.
//!
//! Cancellation is a flag set once. Async code awaits [`Control::cancelled`] (a
//! `tokio::sync::Notify`), threads block in [`Control::wait_timeout`] (a `Condvar`), and loops
//! that do work anyway call [`Control::check`] between steps: nothing sleeps in a loop to notice
//! it. A [`Control::child`] is cancelled with its parent or on its own (the pool's second copy of
//! a straggling chunk is stopped alone when the first copy wins).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::{Code, Error, Result};

/// The stages of a render, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Freezing the project into a plan.
    Plan,
    /// Rendering the chunks (one chunk for `render_chunk`).
    Render,
    /// Concatenating the chunks and the soundtrack into the output.
    Assemble,
}

impl Stage {
    /// The stage's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Plan => "plan",
            Stage::Render => "render",
            Stage::Assemble => "assemble",
        }
    }
}

/// One overall progress report of `render` (`render.progress` on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgressEvent {
    /// The stage running.
    pub stage: Stage,
    /// Frames encoded into chunks so far (all of them once rendering is over).
    pub frames_rendered: i64,
    /// Frames in the render.
    pub total_frames: i64,
    /// Overall progress, 0–1, never decreasing.
    pub progress: f64,
}

/// Which way bytes move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From this machine to the store.
    Upload,
    /// From the store to this machine.
    Download,
}

/// Progress of one transfer (`transfer.progress` on the wire).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferProgress {
    /// Upload or download.
    pub direction: Direction,
    /// The object's URL.
    pub url: String,
    /// Bytes moved so far.
    pub bytes: u64,
    /// Bytes in the object.
    pub total_bytes: u64,
    /// Whether this is the transfer's last report.
    pub done: bool,
}

/// What a primitive reports while it runs. More kinds may come: match with a `_` arm.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// `render`'s overall progress: monotonic and throttled (see `run::progress`).
    Progress(ProgressEvent),
    /// Frames of one stage done so far: `render_chunk` (stage `Render`: frames encoded into the
    /// chunk) and `assemble` (stage `Assemble`: frames copied into the output).
    Frames {
        /// The stage reporting.
        stage: Stage,
        /// Frames done so far.
        done: i64,
        /// Frames the stage does in all.
        total: i64,
    },
    /// Bytes moved by an upload or download (the `store` primitives).
    Transfer(TransferProgress),
    /// Something worth a log line that does not stop the work: a chunk retried after a
    /// retryable failure, a straggling chunk started a second time.
    Notice(String),
}

/// Receives events; called from the primitives' threads and tasks, so it must be quick.
pub type EventSink = Arc<dyn Fn(&Event) + Send + Sync>;

/// A cancellation token and an event sink, cheap to clone (clones share both). The default has
/// no sink and is never cancelled unless [`Control::cancel`] is called.
#[derive(Clone, Default)]
pub struct Control(Arc<Inner>);

#[derive(Default)]
struct Inner {
    cancelled: AtomicBool,
    /// Wakes async waiters.
    notify: tokio::sync::Notify,
    /// Guards the moment of cancelling: the children to cancel with this one, and the lock
    /// `woken` waits under, so a thread cannot miss the wake-up.
    children: Mutex<Vec<Weak<Inner>>>,
    woken: Condvar,
    events: Option<EventSink>,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control")
            .field("cancelled", &self.is_cancelled())
            .field("events", &self.0.events.is_some())
            .finish()
    }
}

impl Control {
    /// A token nobody has cancelled, with no event sink.
    pub fn new() -> Control {
        Control::default()
    }

    /// A token whose events go to `sink`.
    pub fn with_events(sink: EventSink) -> Control {
        Control(Arc::new(Inner { events: Some(sink), ..Inner::default() }))
    }

    /// A token cancelled with this one (at once if this one already is) or on its own, sending
    /// its events to this one's sink.
    pub fn child(&self) -> Control {
        self.child_inner(self.0.events.clone())
    }

    /// As [`Control::child`], with its own event sink (`None`: its events are dropped).
    pub fn child_with_events(&self, sink: Option<EventSink>) -> Control {
        self.child_inner(sink)
    }

    fn child_inner(&self, events: Option<EventSink>) -> Control {
        let child = Arc::new(Inner { events, ..Inner::default() });
        let mut children = lock(&self.0.children);
        if self.0.cancelled.load(Ordering::SeqCst) {
            child.cancelled.store(true, Ordering::SeqCst);
        } else {
            children.retain(|c| c.strong_count() > 0);
            children.push(Arc::downgrade(&child));
        }
        Control(child)
    }

    /// Cancel: every waiter wakes, every live child is cancelled too. Idempotent.
    pub fn cancel(&self) {
        self.0.cancel();
    }

    /// Whether this token (or a parent) was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::SeqCst)
    }

    /// `CANCELLED` once cancelled, else `Ok`: for loops between their steps.
    pub fn check(&self) -> Result<()> {
        match self.is_cancelled() {
            true => Err(cancelled()),
            false => Ok(()),
        }
    }

    /// Return once cancelled (at once if already).
    pub async fn cancelled(&self) {
        loop {
            let notified = self.0.notify.notified();
            tokio::pin!(notified);
            // Registered before the flag is read, so a cancel in between still wakes us.
            notified.as_mut().enable();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }

    /// `work`, unless this token is cancelled first: then `work` is dropped where it stands and
    /// the answer is `CANCELLED`. A caller that owns something `work` was building (a browser
    /// half launched) ends it when it sees that error.
    pub async fn race<T>(&self, work: impl std::future::Future<Output = Result<T>>) -> Result<T> {
        tokio::select! {
            done = work => done,
            () = self.cancelled() => Err(cancelled()),
        }
    }

    /// Block the thread until cancelled or `timeout` has passed; whether it was cancelled.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut guard = lock(&self.0.children);
        loop {
            if self.is_cancelled() {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            guard = self.0.woken.wait_timeout(guard, left).unwrap_or_else(PoisonError::into_inner).0;
        }
    }

    /// Send `event` to the sink, if there is one.
    pub fn emit(&self, event: Event) {
        if let Some(sink) = &self.0.events {
            sink(&event);
        }
    }

    /// Whether `other` is this very token (a clone of it), not another one.
    pub(crate) fn is_same(&self, other: &Control) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// Whether events go anywhere (so that a caller can skip building them).
    pub fn has_events(&self) -> bool {
        self.0.events.is_some()
    }
}

fn cancelled() -> Error {
    Error::new(Code::Cancelled, "cancelled")
}

impl Inner {
    fn cancel(&self) {
        let children = {
            let mut children = lock(&self.children);
            if self.cancelled.swap(true, Ordering::SeqCst) {
                return;
            }
            std::mem::take(&mut *children)
        };
        self.notify.notify_waiters();
        self.woken.notify_all();
        for child in children.iter().filter_map(Weak::upgrade) {
            child.cancel();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_is_cancelled_with_its_parent_but_not_the_other_way() {
        let parent = Control::new();
        let a = parent.child();
        let b = parent.child();
        a.cancel();
        assert!(a.is_cancelled() && !b.is_cancelled() && !parent.is_cancelled());
        parent.cancel();
        assert!(b.is_cancelled());
        assert!(parent.child().is_cancelled(), "a child made after the cancel starts cancelled");
        assert_eq!(parent.check().map_err(|e| e.kind()), Err(Code::Cancelled));
    }

    #[test]
    fn a_waiting_thread_wakes_on_cancel_not_at_its_timeout() {
        let control = Control::new();
        let child = control.child();
        let waiter = std::thread::spawn(move || {
            let t = Instant::now();
            (child.wait_timeout(Duration::from_secs(30)), t.elapsed())
        });
        std::thread::sleep(Duration::from_millis(20));
        control.cancel();
        let (cancelled, took) = waiter.join().expect("waiter");
        assert!(cancelled && took < Duration::from_secs(10));
        assert!(!Control::new().wait_timeout(Duration::from_millis(1)));
    }

    #[test]
    fn an_async_waiter_wakes_on_cancel() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let control = Control::new();
        let child = control.child();
        rt.block_on(async {
            let waiting = tokio::spawn(async move { child.cancelled().await });
            tokio::task::yield_now().await;
            control.cancel();
            tokio::time::timeout(Duration::from_secs(10), waiting).await.expect("woken").expect("task");
            control.cancelled().await;
        });
    }

    #[test]
    fn events_go_to_the_sink_children_share_it() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = Arc::clone(&seen);
        let control = Control::with_events(Arc::new(move |e: &Event| s.lock().expect("lock").push(e.clone())));
        control.child().emit(Event::Notice("n".into()));
        control.child_with_events(None).emit(Event::Notice("dropped".into()));
        Control::new().emit(Event::Notice("nowhere".into()));
        assert_eq!(*seen.lock().expect("lock"), vec![Event::Notice("n".into())]);
    }
}
