//! [`Halt`]: whether a chunk is still wanted. A leaf that the pipeline's stages (capture tasks in
//! `pipeline`, the decode thread in `decode`, the encoder) all look at, so none of them imports
//! another for it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Whether the chunk is still wanted: not when the caller cancelled, nor once a capture task
/// failed. Every stage looks at it per frame, so that a stopped chunk does not first capture,
/// decode and encode the frames already under way (at the standard tier, encoding the queued
/// frames alone took 0.7 s after a SIGTERM) and the other browsers do not wait for frames that
/// will never come.
#[derive(Clone, Default)]
pub(super) struct Halt {
    failed: Arc<AtomicBool>,
    cancel: Option<Arc<AtomicBool>>,
}

impl Halt {
    pub(super) fn new(cancel: Option<Arc<AtomicBool>>) -> Halt {
        Halt { failed: Arc::default(), cancel }
    }

    /// The caller cancelled.
    pub(super) fn cancelled(&self) -> bool {
        self.cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed))
    }

    /// A capture task failed (its own error is the one reported).
    pub(super) fn failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }

    /// Either: the chunk will not be published.
    pub(super) fn is_set(&self) -> bool {
        self.failed() || self.cancelled()
    }

    pub(super) fn fail(&self) {
        self.failed.store(true, Ordering::Relaxed);
    }
}
