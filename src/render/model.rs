//! What `render_chunk` is given and reports: [`ChunkOptions`], [`ChunkResult`] with its
//! [`Timings`], the [`Sidecar`]. A leaf that `render` re-exports and `session` and `pipeline`
//! use, so neither imports `render`'s mod.rs.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::control::Control;
use crate::plan::model::CaptureMode;

/// Options of one chunk render.
#[derive(Debug, Clone, Default)]
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
    /// Cancelled to stop early with `CANCELLED`; receives `Event::Frames` (stage `Render`, frames
    /// encoded into the chunk so far).
    pub control: Control,
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
