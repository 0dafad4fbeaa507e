//! Checks of the chunks handed to assemble, before any output is written.
//!
//! Order (contracts §6): one path per chunk (`CHUNK_COUNT_MISMATCH`), each present
//! (`MISSING_CHUNK`), each sidecar's planHash equal to the plan's (`STALE_CHUNK`); then, for
//! container chunks, each opens (`CORRUPT_CHUNK`), holds one video stream whose parameters equal
//! chunk 0's and the plan's size (`INCOMPATIBLE_CHUNK`), starts on a keyframe
//! (`CHUNK_NOT_CLOSED_GOP`), and indexes exactly its frame count (`FRAME_COUNT_MISMATCH`).
//! Sidecar sha256 checks (`CORRUPT_CHUNK`) read every byte and so run beside the copy
//! ([`Verifier`]), or on the way in for a downloaded chunk (see [`super::arrivals`], which also says
//! when the per-chunk probe runs as each chunk arrives rather than all before the copy).

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;

use super::feed::{self, ChunkFeed};
use crate::av::demux::{Demuxer, VideoParams};
use crate::av::ff;
use crate::error::{Code, Error, Result};
use crate::plan::{ChunkSpec, Plan};

pub use crate::sidecar::{path as sidecar_path, read as read_sidecar};
#[cfg(feature = "internals")]
pub use crate::sidecar::Checked as Sidecar;

/// Check chunk count, presence and sidecar plan hashes; return each chunk's expected sha256.
/// Presence (and the sidecars' arrival on local disk) is the feed's [`ChunkFeed::prepare`].
pub fn chunk_list(plan: &Plan, feed: &mut dyn ChunkFeed) -> Result<Vec<Option<String>>> {
    let count = feed.paths().len();
    if count != plan.chunks.len() {
        return Err(Error::new(
            Code::ChunkCountMismatch,
            format!("{count} chunk paths given, plan {} has {} chunks", plan.dir.display(), plan.chunks.len()),
        ));
    }
    feed.prepare()?;
    let mut expected = Vec::with_capacity(count);
    for (i, path) in feed.paths().iter().enumerate() {
        let sidecar = read_sidecar(path).map_err(|e| feed::named(&*feed, i, e))?;
        if let Some(hash) = sidecar.as_ref().and_then(|s| s.plan_hash.as_deref()) {
            if hash != plan.plan_hash {
                let msg =
                    format!("chunk {i} ({}) was rendered from plan {hash}, not {}", path.display(), plan.plan_hash);
                return Err(feed::named(&*feed, i, Error::new(Code::StaleChunk, msg)));
            }
        }
        expected.push(sidecar.and_then(|s| s.sha256));
    }
    Ok(expected)
}

fn corrupt(i: usize, path: &Path, what: impl std::fmt::Display) -> Error {
    Error::new(Code::CorruptChunk, format!("chunk {i} ({}): {what}", path.display()))
}

/// Open every container chunk and check it against chunk 0 and the plan.
pub fn probe_chunks(plan: &Plan, chunks: &[PathBuf]) -> Result<()> {
    let mut reference: Option<VideoParams> = None;
    for (i, path) in chunks.iter().enumerate() {
        let params = probe_chunk(plan, i, path, reference.as_ref())?;
        reference.get_or_insert(params);
    }
    Ok(())
}

/// Open container chunk `i` at `path` and check it against the plan and `reference` (chunk 0's
/// parameters; `None` for chunk 0 itself); returns its parameters.
pub fn probe_chunk(plan: &Plan, i: usize, path: &Path, reference: Option<&VideoParams>) -> Result<VideoParams> {
    let mut demuxer = Demuxer::open(path).map_err(|e| corrupt(i, path, e))?;
    let params = match (demuxer.video_stream_count(), demuxer.params()) {
        (1, Some(p)) => p,
        (n, _) => {
            let msg = format!("chunk {i} ({}) holds {n} video streams, expected 1", path.display());
            return Err(Error::new(Code::IncompatibleChunk, msg));
        }
    };
    check_params(plan, i, path, &params, reference)?;
    check_first_packet(&mut demuxer, i, path)?;
    check_indexed_frames(&demuxer, i, path, &plan.chunks[i])?;
    Ok(params)
}

fn check_params(
    plan: &Plan,
    i: usize,
    path: &Path,
    params: &VideoParams,
    reference: Option<&VideoParams>,
) -> Result<()> {
    let incompatible =
        |what: String| Error::new(Code::IncompatibleChunk, format!("chunk {i} ({}): {what}", path.display()));
    let d = &plan.dimensions;
    if params.width != d.width as i32 || params.height != d.height as i32 {
        return Err(incompatible(format!(
            "frame size {}x{} differs from the plan's {}x{}",
            params.width, params.height, d.width, d.height
        )));
    }
    // A format's chunks hold its encoders' codecs only (WebM's muxer refuses H.264, and an mp4
    // of ProRes is no deliverable); say which chunk brought what.
    let format = d.format;
    let codecs = format.spec().chunk_codecs();
    if !codecs.contains(&params.codec.as_str()) {
        let want = codecs.join(" or ");
        return Err(incompatible(format!("holds {} video; chunks of a {format} plan are {want}", params.codec)));
    }
    if params.video_delay != 0 {
        return Err(incompatible("has B-frames (reordered frames); chunks must be encoded without".into()));
    }
    if let Some(diff) = reference.and_then(|r| r.difference(params)) {
        return Err(incompatible(format!("{diff} (chunk 0)")));
    }
    Ok(())
}

fn check_first_packet(demuxer: &mut Demuxer, i: usize, path: &Path) -> Result<()> {
    let mut packet = ff::Packet::empty();
    match demuxer.read_video(&mut packet) {
        Ok(true) if packet.is_key() => Ok(()),
        Ok(true) => Err(Error::new(
            Code::ChunkNotClosedGop,
            format!("chunk {i} ({}) does not start with a keyframe", path.display()),
        )),
        Ok(false) => {
            Err(Error::new(Code::FrameCountMismatch, format!("chunk {i} ({}) holds no frame", path.display())))
        }
        Err(e) => Err(corrupt(i, path, e)),
    }
}

fn check_indexed_frames(demuxer: &Demuxer, i: usize, path: &Path, spec: &ChunkSpec) -> Result<()> {
    let indexed = demuxer.indexed_frames();
    if indexed != 0 && indexed != spec.frames() {
        return Err(Error::new(
            Code::FrameCountMismatch,
            format!(
                "chunk {i} ({}) holds {indexed} frames, plan says {} (frames {}..{})",
                path.display(),
                spec.frames(),
                spec.start_frame,
                spec.end_frame
            ),
        ));
    }
    Ok(())
}

/// Check chunk `i`'s digest (file or frame directory) against its sidecar's `want`.
pub fn verify_digest(i: usize, path: &Path, want: &str) -> Result<()> {
    compare_digest(i, path, &crate::digest::artifact(path)?, want)
}

/// Check chunk `i`'s digest `got` (computed elsewhere, e.g. while it downloaded) against `want`.
pub fn compare_digest(i: usize, path: &Path, got: &str, want: &str) -> Result<()> {
    if got.eq_ignore_ascii_case(want) {
        Ok(())
    } else {
        Err(corrupt(i, path, format_args!("sha256 {got} differs from its sidecar's {want}")))
    }
}

/// Checks chunk digests against their sidecars on a background thread while the copy runs.
pub struct Verifier {
    handle: Option<JoinHandle<Result<()>>>,
    stop: mpsc::Sender<()>,
}

impl Verifier {
    /// Start hashing every chunk that has an expected sha256.
    pub fn spawn(chunks: &[PathBuf], expected: Vec<Option<String>>) -> Self {
        let chunks = chunks.to_vec();
        let (stop, stopped) = mpsc::channel();
        let handle = std::thread::spawn(move || {
            for (i, (path, want)) in chunks.iter().zip(expected).enumerate() {
                if stopped.try_recv().is_ok() {
                    return Ok(());
                }
                if let Some(want) = want {
                    verify_digest(i, path, &want)?;
                }
            }
            Ok(())
        });
        Verifier { handle: Some(handle), stop }
    }

    /// Wait for every digest; the first mismatch is the error.
    pub fn wait(mut self) -> Result<()> {
        match self.handle.take().map(|h| h.join()) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(Error::new(Code::MediaFailed, "chunk digest thread panicked")),
            None => Ok(()),
        }
    }

    /// Prefer a digest mismatch over `err` when both happened: a chunk whose bytes differ from
    /// its sidecar explains any later read failure.
    pub fn explain(self, err: Error) -> Error {
        match self.wait() {
            Err(mismatch) if mismatch.kind() == Code::CorruptChunk => mismatch,
            _ => err,
        }
    }
}

impl Drop for Verifier {
    fn drop(&mut self) {
        let _ = self.stop.send(());
    }
}
