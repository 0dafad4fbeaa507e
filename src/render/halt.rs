//! [`Halt`]: whether a chunk is still wanted. A leaf that the pipeline's stages (capture tasks in
//! `pipeline`, the decode thread in `decode`, the encoder) all look at, so none of them imports
//! another for it.

use crate::control::Control;

/// Whether the chunk is still wanted: not when the caller cancelled, nor once a capture task
/// failed. Every stage looks at it per frame, so that a stopped chunk does not first capture,
/// decode and encode the frames already under way (at the standard tier, encoding the queued
/// frames alone took 0.7 s after a SIGTERM) and the other browsers do not wait for frames that
/// will never come. Async stages await [`Halt::halted`], which wakes at once either way.
#[derive(Clone, Default)]
pub(super) struct Halt {
    /// The caller's token.
    caller: Control,
    /// A child of the caller's token: cancelled with it, or by [`Halt::fail`].
    stop: Control,
}

impl Halt {
    pub(super) fn new(caller: &Control) -> Halt {
        Halt { caller: caller.clone(), stop: caller.child_with_events(None) }
    }

    /// The caller cancelled.
    pub(super) fn cancelled(&self) -> bool {
        self.caller.is_cancelled()
    }

    /// Either the caller cancelled or a capture task failed (its own error is the one
    /// reported): the chunk will not be published.
    pub(super) fn is_set(&self) -> bool {
        self.stop.is_cancelled()
    }

    pub(super) fn fail(&self) {
        self.stop.cancel();
    }

    /// Return once the chunk is halted.
    pub(super) async fn halted(&self) {
        self.stop.cancelled().await;
    }
}
