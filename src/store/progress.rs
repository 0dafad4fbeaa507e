//! What a transfer reports while it runs: [`TransferProgress`] to a caller's [`TransferSink`].
//! The payload types live in [`crate::control`] (they are `Event::Transfer`'s) and are
//! re-exported here so their `store` paths keep working; `transfer` reports through this leaf
//! and `store` re-exports it, so neither imports the other for it.

use std::sync::Arc;

pub use crate::control::{Direction, TransferProgress};

/// Receives transfer progress; called from transfer tasks, so it must be quick.
pub type TransferSink = Arc<dyn Fn(&TransferProgress) + Send + Sync>;
