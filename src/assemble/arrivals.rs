//! Container chunks handed to the concat as they become local: [`Arrivals`] over a
//! [`ChunkFeed`], each chunk checked before its first packet is read.
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

use super::check;
use super::feed::{named, ChunkFeed};
use crate::av::demux::VideoParams;
use crate::control::Control;
use crate::error::{Error, Result};
use crate::plan::{ChunkSpec, Plan};

/// Container chunks handed to the concat as they become local, each checked (step 2 of the
/// module docs) before its first packet is read.
pub struct Arrivals<'a> {
    feed: &'a mut dyn ChunkFeed,
    plan: &'a Plan,
    expected: Vec<Option<String>>,
    probe: bool,
    reference: Option<VideoParams>,
    control: Control,
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
        control: Control,
    ) -> Self {
        Arrivals { feed, plan, expected, probe, reference: None, control, next: 0 }
    }

    /// How many chunks there are.
    pub fn len(&self) -> usize {
        self.plan.chunks.len()
    }

    /// Whether there are none.
    #[cfg(feature = "internals")]
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
        let got = self.feed.ready(i, &self.control)?;
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
