//! Where assemble's chunk bodies come from: already on local disk, or arriving one by one while
//! the concat runs (downloads, see `store::downloads`).
//!
//! A [`ChunkFeed`] names every chunk's local path up front and makes each body local on
//! [`ChunkFeed::ready`], called in index order; [`ChunkFeed::release`] says a chunk was consumed,
//! so a downloaded copy can be deleted at once and local disk holds a bounded window of chunks.
//!
//! Validation order (contracts §6) with chunks that arrive during the copy:
//!
//! 1. before any output is staged, for **every** chunk: the count (`CHUNK_COUNT_MISMATCH`),
//!    presence (`MISSING_CHUNK`, a HEAD or listing for a remote chunk) and the sidecar's planHash
//!    (`STALE_CHUNK`; sidecars are small and are fetched first, by [`ChunkFeed::prepare`]). These
//!    are the failures of a distributed render (a worker that did not finish, a chunk left by an
//!    earlier render), and they fail before a byte of the bodies is downloaded;
//! 2. the checks that need a chunk's body — it opens, matches chunk 0 and the plan, starts on a
//!    keyframe, indexes its frame count, and its sha256 equals its sidecar's — run **before any
//!    packet of that chunk** reaches the staging file: for chunks all on local disk, every chunk
//!    is probed before the copy starts (as ever); otherwise each chunk is probed as it arrives
//!    ([`Arrivals`]), and a downloaded file's sha256 is the one computed while it downloaded.
//!
//! Every failure still leaves nothing at the output path (the staging file is removed) and names
//! the chunk. The error for any single bad chunk is the same either way; only when several
//! chunks are bad in different ways may the report differ (with arrivals, the lowest-index bad
//! chunk is named first, whatever its kind of fault). Probing every body first would mean
//! downloading every chunk before writing, which is exactly the wait this overlap removes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::check;
use crate::av::demux::VideoParams;
use crate::error::{Code, Error, Result};
use crate::plan::{ChunkSpec, Plan};

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
    /// Returns the sha256 of its bytes when it was computed on the way in. `cancelled` is polled
    /// while waiting.
    fn ready(&mut self, i: usize, cancelled: &dyn Fn() -> Result<()>) -> Result<Option<String>>;

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
        check::present(&self.0)
    }

    fn all_local(&self) -> bool {
        true
    }

    fn origin(&self, _: usize) -> Option<String> {
        None
    }

    fn ready(&mut self, _: usize, _: &dyn Fn() -> Result<()>) -> Result<Option<String>> {
        Ok(None)
    }

    fn release(&mut self, _: usize) {}
}

/// Container chunks handed to the concat as they become local, each checked (step 2 of the
/// module docs) before its first packet is read.
pub struct Arrivals<'a> {
    feed: &'a mut dyn ChunkFeed,
    plan: &'a Plan,
    expected: Vec<Option<String>>,
    probe: bool,
    reference: Option<VideoParams>,
    cancel: Option<Arc<AtomicBool>>,
    next: usize,
}

impl<'a> Arrivals<'a> {
    /// Chunks of `feed` for `plan`, with the sidecars' `expected` digests; `probe` when they
    /// were not all probed before the copy.
    pub fn new(
        feed: &'a mut dyn ChunkFeed,
        plan: &'a Plan,
        expected: Vec<Option<String>>,
        probe: bool,
        cancel: Option<Arc<AtomicBool>>,
    ) -> Self {
        Arrivals { feed, plan, expected, probe, reference: None, cancel, next: 0 }
    }

    /// How many chunks there are.
    pub fn len(&self) -> usize {
        self.plan.chunks.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Chunk `i`'s plan spec.
    pub fn spec(&self, i: usize) -> ChunkSpec {
        self.plan.chunks[i]
    }

    /// Make chunk `i` local and checked (at most once; chunks come in index order); its path.
    pub fn open(&mut self, i: usize) -> Result<PathBuf> {
        let path = self.feed.paths()[i].clone();
        if i < self.next {
            return Ok(path);
        }
        let cancel = self.cancel.clone();
        let cancelled = move || match &cancel {
            Some(flag) if flag.load(Ordering::Relaxed) => Err(Error::new(Code::Cancelled, "assemble cancelled")),
            _ => Ok(()),
        };
        let got = self.feed.ready(i, &cancelled)?;
        self.check(i, &path, got.as_deref()).map_err(|e| named(&*self.feed, i, e))?;
        self.next = i + 1;
        Ok(path)
    }

    fn check(&mut self, i: usize, path: &Path, got: Option<&str>) -> Result<()> {
        match (got, self.expected[i].as_deref()) {
            (Some(got), Some(want)) => check::compare_digest(i, path, got, want)?,
            // Arrived without a digest: nobody else reads it (the verifier hashes local chunks).
            (None, Some(want)) if self.feed.origin(i).is_some() => check::verify_digest(i, path, want)?,
            _ => {}
        }
        if self.probe {
            let params = check::probe_chunk(self.plan, i, path, self.reference.as_ref())?;
            self.reference.get_or_insert(params);
        }
        Ok(())
    }

    /// Chunk `i` was copied whole: its downloaded copy may go.
    pub fn done(&mut self, i: usize) {
        self.feed.release(i);
    }

    /// `err` about chunk `i`, naming the URL it came from.
    pub fn named(&self, i: usize, err: Error) -> Error {
        named(&*self.feed, i, err)
    }
}
