//! framefan: a distributed renderer for HTML video compositions.
//!
//! A render is three pure steps over local paths:
//!
//! 1. [`plan()`] freezes a composition into a content-hashed plan directory and splits its frames
//!    into chunks;
//! 2. [`render_chunk()`] captures one chunk's frames in headless Chromium and encodes them as one
//!    closed-GOP chunk;
//! 3. [`assemble()`] concatenates the chunks at the packet level, fits the soundtrack to the exact
//!    frame count, and publishes the result atomically with its index first.
//!
//! On one machine, [`render()`] runs all three with a local worker pool (retries, straggler
//! copies, progress events, cancellation), and [`verify()`] reads an output back and checks it.
//!
//! Every primitive takes a [`Control`] (in its options; [`plan_with`] as an argument): cancel it
//! from any thread to stop the work with `CANCELLED`, leaving nothing at the output, and give it
//! an [`EventSink`] to receive the one [`Event`] type (frames done, overall progress, transfers,
//! notices).
//!
//! Media work is libav linked in-process; [`av`] is the one module exempt from `deny(unsafe_code)`.
//!
//! ```no_run
//! use std::path::{Path, PathBuf};
//! use framefan::assemble::{assemble, AssembleOptions};
//!
//! let plan = Path::new("plan");
//! let chunks: Vec<PathBuf> = (0..4).map(|i| PathBuf::from(format!("chunks/chunk-{i:03}.mp4"))).collect();
//! let result = assemble(plan, &chunks, Some(&plan.join("audio.m4a")), Path::new("out.mp4"),
//!                       &AssembleOptions::default())?;
//! println!("{} frames, {} bytes", result.frames_encoded, result.file_size);
//! # Ok::<(), framefan::Error>(())
//! ```
//!
//! The whole pipeline on this machine, with progress:
//!
//! ```no_run
//! use std::path::Path;
//! use std::sync::Arc;
//! use framefan::run::{render, RenderOptions};
//! use framefan::{Control, Event};
//!
//! let control = Control::with_events(Arc::new(|e: &Event| {
//!     if let Event::Progress(p) = e {
//!         eprintln!("{:.0} %", p.progress * 100.0);
//!     }
//! }));
//! // Another thread (a signal handler, a UI) may call `control.cancel()`: the render then
//! // fails with `CANCELLED` and leaves nothing at the output.
//! let options = RenderOptions { control: control.clone(), ..Default::default() };
//! let result = render(Path::new("examples/title-card"), &options, Path::new("title-card.mp4"))?;
//! assert!(framefan::verify(&result.output_path, None)?.consistent);
//! # Ok::<(), framefan::Error>(())
//! ```
#![deny(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod assemble;
pub mod audio;
pub mod av;
pub mod builtin;
pub mod control;
pub mod digest;
pub mod engine;
pub mod error;
pub mod fonts;
#[doc(hidden)]
pub mod fuzzing;
pub mod plan;
mod producer;
pub mod publish;
pub mod render;
pub mod run;
pub mod runtime;
pub mod sidecar;
pub mod store;
pub mod time;
pub mod verify;
pub mod version;

pub use assemble::{assemble, AssembleOptions, AssembleResult};
pub use control::{Control, Event, EventSink};
pub use error::{Code, Error, Result};
pub use plan::{plan, plan_with, PlanConfig, PlanResult};
pub use producer::PRODUCER_VERSION;
pub use render::{render_chunk, ChunkOptions, ChunkResult};
pub use run::{render, RenderOptions, RenderResult};
pub use verify::{verify, VerifyReport};

/// The linked libav and x264 versions (a plan's `ffmpegVersion`).
pub fn ffmpeg_version() -> String {
    av::ffmpeg_version()
}
