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
mod halt;
pub mod model;
pub mod pipeline;
pub mod session;
pub mod validate;

#[cfg(feature = "internals")]
use std::path::Path;

pub use model::{ChunkOptions, ChunkResult, StartTimings, Timings};
pub use session::ChunkSession;
#[cfg(feature = "internals")]
pub use {
    encode::{ChunkEncoding, ChunkOutput, ChunkWriter},
    model::Sidecar,
    session::{render_chunks, timeline_grace},
};

#[cfg(feature = "internals")]
use crate::error::Result;

/// Render chunk `index` of the plan at `plan_dir` into `out` (a file for mp4/mov/webm, a directory of
/// PNG frames for png-sequence) and write its sidecar: a [`ChunkSession`] of one chunk, its
/// browsers ended before this returns. To render several chunks of one plan, keep a session
/// ([`ChunkSession`], [`render_chunks`]): its browsers load the page once.
#[cfg(feature = "internals")]
pub fn render_chunk(plan_dir: &Path, index: i64, out: &Path, options: &ChunkOptions) -> Result<ChunkResult> {
    let mut session = ChunkSession::open(plan_dir, options)?;
    let result = session.render(index, out, &options.control);
    session.close();
    result
}
