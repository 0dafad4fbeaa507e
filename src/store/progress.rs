//! What a transfer reports while it runs: [`TransferProgress`] to a caller's [`TransferSink`].
//! A leaf: `transfer` reports through it and `store` re-exports it, so neither imports the other
//! for it.

use std::sync::Arc;

use serde::Serialize;

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

/// Receives transfer progress; called from transfer tasks, so it must be quick.
pub type TransferSink = Arc<dyn Fn(&TransferProgress) + Send + Sync>;
