//! Where assemble's chunk bodies come from: already on local disk, or arriving one by one while
//! the concat runs (downloads, see `store::downloads`).
//!
//! A [`ChunkFeed`] names every chunk's local path up front and makes each body local on
//! [`ChunkFeed::ready`], called in index order; [`ChunkFeed::release`] says a chunk was consumed,
//! so a downloaded copy can be deleted at once and local disk holds a bounded window of chunks.
//!
//! The checks a chunk gets as it arrives, and in which order, are [`super::arrivals`]'s.

use std::path::PathBuf;

use crate::control::Control;
use crate::error::{Code, Error, Result};

/// The chunks of one assemble, one per plan chunk, in index order.
pub trait ChunkFeed {
    /// Where each chunk is, or will be once [`ChunkFeed::ready`] returned for it.
    fn paths(&self) -> &[PathBuf];

    /// Check that every chunk exists (`MISSING_CHUNK` naming the first absent one, in index
    /// order) and make every sidecar that exists readable beside its chunk's path.
    fn prepare(&mut self) -> Result<()>;

    /// Whether every chunk body is on local disk already.
    fn all_local(&self) -> bool;

    /// Where chunk `i` was downloaded from (its URL), or `None` for a local chunk.
    fn origin(&self, i: usize) -> Option<String>;

    /// Block until chunk `i` is whole on local disk; called once per chunk, in index order.
    /// Returns the sha256 of its bytes when it was computed on the way in. `CANCELLED` once
    /// `control` is cancelled, waking a wait under way.
    fn ready(&mut self, i: usize, control: &Control) -> Result<Option<String>>;

    /// Chunk `i` was consumed: a downloaded copy is deleted; a local chunk is never touched.
    fn release(&mut self, i: usize);
}

/// `err` about chunk `i`, with the URL it was downloaded from in front when it was.
pub fn named(feed: &dyn ChunkFeed, i: usize, err: Error) -> Error {
    match feed.origin(i) {
        Some(url) => err.prefixed(&url),
        None => err,
    }
}

/// Chunks already on local disk (the paths `assemble` was given).
pub struct LocalChunks(pub Vec<PathBuf>);

impl ChunkFeed for LocalChunks {
    fn paths(&self) -> &[PathBuf] {
        &self.0
    }

    fn prepare(&mut self) -> Result<()> {
        present(&self.0)
    }

    fn all_local(&self) -> bool {
        true
    }

    fn origin(&self, _: usize) -> Option<String> {
        None
    }

    fn ready(&mut self, _: usize, _: &Control) -> Result<Option<String>> {
        Ok(None)
    }

    fn release(&mut self, _: usize) {}
}

/// Whether each of `chunks` exists on local disk, in index order (`MISSING_CHUNK` names the first
/// that does not).
pub fn present(chunks: &[PathBuf]) -> Result<()> {
    for (i, path) in chunks.iter().enumerate() {
        if std::fs::symlink_metadata(path).is_err() {
            return Err(Error::new(Code::MissingChunk, format!("chunk {i} not found at {}", path.display())));
        }
    }
    Ok(())
}
