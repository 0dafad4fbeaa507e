//! `render_chunk`: capture a chunk's frames in headless Chromium and encode them as one
//! closed-GOP chunk (contracts §5); [`ChunkSession`]: several chunks of one plan with the same
//! browsers.
//!
//! Order of work: the cheap checks (artifacts, protocol, index, libav version) → scratch
//! directory `<out>.work.<pid>.<random>` → browsers boot while the planHash and font fingerprint
//! are computed on another thread → those verdicts, in the contract's order → capture, decode
//! and encode as a pipeline ([`pipeline`]) → the chunk renamed into place → the sidecar
//! `<out>.perf.json` → scratch removed. Any failure leaves nothing at `out`. In a session the
//! launch and the verdicts happen once; a later chunk reloads the page in the running browsers
//! ([`session`]).

pub mod color;
mod decode;
pub mod encode;
pub mod pipeline;
pub mod session;
pub mod validate;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use encode::{ChunkEncoding, ChunkOutput, ChunkWriter};
pub use pipeline::Progress;
pub use session::{render_chunks, ChunkControl, ChunkSession};

use crate::error::{Error, Result};
use crate::plan::model::CaptureMode;
use crate::publish::unique_suffix;

/// Options of one chunk render.
#[derive(Clone, Default)]
pub struct ChunkOptions {
    /// The browser binary; else `FRAMEFAN_BROWSER`, else the installed headless shell.
    pub browser: Option<PathBuf>,
    /// Browser processes sharing the chunk; `None` = one per two cores, at least two.
    pub browsers: Option<usize>,
    /// Bound on waiting for the page to become ready (default 20 s, at most 25 s: one DevTools
    /// command may last 30 s).
    pub ready_timeout: Option<Duration>,
    /// Bound on waiting for a composition timeline to register before rendering the page as it
    /// stands, with a warning (default 5 s).
    pub timeline_grace: Option<Duration>,
    /// Called with the number of frames encoded so far.
    pub progress: Option<Progress>,
    /// Set to stop early with `CANCELLED`.
    pub cancel: Option<Arc<AtomicBool>>,
}

/// Stage timings of a chunk render, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Timings {
    /// Recomputing the planHash (concurrent with the browser boot). A session computes it once:
    /// the chunk that waited for it carries the time, later chunks of the session 0.
    pub plan_hash_ms: u64,
    /// Getting the browsers ready for this chunk: launching them and loading the page for a
    /// chunk that started them (a session's first chunk, or the first after a failure); for a
    /// chunk rendered by browsers that rendered another one before, only loading the page again
    /// in the running browsers (no launch).
    pub session_boot_ms: u64,
    /// Capturing the frames.
    pub capture_stage_ms: u64,
    /// Time the encoder was busy.
    pub encode_stage_ms: u64,
    /// The whole call.
    pub duration_ms: u64,
}

/// Where a chunk's start-up time went, in milliseconds: in [`ChunkResult`] (the CLI's JSON
/// result), not in the sidecar.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartTimings {
    /// Whether browsers that had rendered another chunk rendered this one (rewound, not launched).
    pub warm: bool,
    /// Starting the browser processes until their page was open (the slowest one); 0 when warm.
    pub launch_ms: u64,
    /// Loading the page until it was ready (after the launch); when warm, loading it again.
    pub load_ms: u64,
    /// From the start of capture until the chunk's first frame was captured.
    pub first_frame_ms: u64,
}

/// What `render_chunk` returns (and the CLI prints as one JSON line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChunkResult {
    /// The chunk index.
    pub index: u32,
    /// Frames encoded.
    pub frames: i64,
    /// sha256 of the artifact (as in the sidecar).
    pub sha256: String,
    /// Where the chunk was written.
    pub output_path: PathBuf,
    /// How frames were captured.
    pub capture_mode: CaptureMode,
    /// Stage timings.
    pub timings: Timings,
    /// Frames captured byte for byte as their browser's previous one (held frames): decoded once.
    #[serde(default)]
    pub reused_frames: u64,
    /// Where the chunk's start-up went (not in the sidecar).
    #[serde(default)]
    pub start: StartTimings,
    /// What the page said while getting ready (e.g. a timeline that never registered, so the
    /// page rendered as it stands).
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// The `<out>.perf.json` sidecar.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sidecar {
    /// The plan the chunk belongs to.
    pub plan_hash: String,
    /// The chunk index.
    pub chunk_index: u32,
    /// First frame, inclusive.
    pub start_frame: i64,
    /// One past the last frame.
    pub end_frame: i64,
    /// Frames encoded.
    pub frames_encoded: i64,
    /// sha256 of the artifact.
    pub sha256: String,
    /// `mp4`, `mov` or `png-sequence`.
    pub output_kind: String,
    /// Stage timings.
    pub timings: Timings,
    /// Browser processes used.
    pub workers: usize,
    /// How frames were captured.
    pub capture_mode: CaptureMode,
    /// The producer that rendered the chunk.
    pub producer_version: String,
    /// The libav/x264 versions linked.
    pub ffmpeg_version: String,
}

/// Render chunk `index` of the plan at `plan_dir` into `out` (a file for mp4/mov/webm, a directory of
/// PNG frames for png-sequence) and write its sidecar: a [`ChunkSession`] of one chunk, its
/// browsers ended before this returns. To render several chunks of one plan, keep a session
/// ([`ChunkSession`], [`render_chunks`]): its browsers load the page once.
pub fn render_chunk(plan_dir: &Path, index: i64, out: &Path, options: &ChunkOptions) -> Result<ChunkResult> {
    let mut session = ChunkSession::open(plan_dir, options)?;
    let control = ChunkControl { progress: options.progress.clone(), cancel: options.cancel.clone() };
    let result = session.render(index, out, &control);
    session.close();
    result
}

/// How long render-chunk waits for a composition timeline to register: none at all when `plan`
/// found that one never registers (it waited its grace then and recorded it), else `given` or 5 s.
pub fn timeline_grace(encoder: &crate::plan::model::EncoderConfig, given: Option<Duration>) -> Duration {
    if encoder.unregistered_timelines.is_empty() {
        given.unwrap_or(Duration::from_secs(5))
    } else {
        Duration::ZERO
    }
}

/// One browser per two cores, and at least two: a browser waits on its own round trips between
/// frames, and a second one fills those gaps (measured on 2 cores: 18.3 frames/s with two
/// browsers against 14.1 with one, at the draft tier; see benches/README.md).
fn default_browsers() -> usize {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    (cores / 2).max(2)
}

/// The chunk's scratch directory `<out>.work.<pid>.<random>`, claimed while in use and removed
/// on drop; those of killed predecessors for the same `out` are swept first.
struct Scratch(PathBuf, #[allow(dead_code)] crate::publish::Claim);

impl Scratch {
    fn create(out: &Path) -> Result<Scratch> {
        crate::publish::sweep_stale(out);
        let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let dir = out.with_file_name(format!("{name}.work.{}", unique_suffix()));
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("creating scratch directory", &dir, e))?;
        let claim = crate::publish::claim(&dir);
        Ok(Scratch(dir, claim))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Scratch holds only browser profiles, never results. A browser child that is still
        // exiting may write one last file, so try a few times.
        for _ in 0..5 {
            if std::fs::remove_dir_all(&self.0).is_ok() || !self.0.exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[cfg(test)]
mod grace_tests {
    use super::*;

    #[test]
    fn a_timeline_plan_found_missing_is_not_waited_for_again() {
        let config = crate::plan::PlanConfig::default();
        let valid = config.validate().expect("a default config (the pinned runtime in the package cache)");
        let config = crate::plan::config::ChunkingConfig {
            chunk_size: Some(10),
            gop_size: None,
            max_parallel_chunks: 1,
            target_chunk_frames: None,
        };
        let mut encoder = valid.encoder_config(&crate::plan::chunking::split(10, &config, 10).expect("chunks"));
        assert_eq!(timeline_grace(&encoder, None), Duration::from_secs(5));
        assert_eq!(timeline_grace(&encoder, Some(Duration::from_millis(300))), Duration::from_millis(300));
        encoder.unregistered_timelines = vec!["main".to_string()];
        assert_eq!(timeline_grace(&encoder, None), Duration::ZERO);
        assert_eq!(timeline_grace(&encoder, Some(Duration::from_secs(9))), Duration::ZERO);
    }
}
