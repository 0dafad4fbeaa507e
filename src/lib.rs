//! framefan: a distributed renderer for HTML video compositions.
//!
//! A render is three steps, each a pure function of its inputs:
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
//! Every input and output is a [`Location`]: a local path, or an object (or prefix) in an object
//! store, either named by a URL (`s3://`, `gs://`, `az://`, configured from the environment) or
//! in a store the caller built ([`Location::with_store`]). Every primitive takes its inputs
//! first, then its output, then its options; the options carry a [`Control`]: cancel it from any
//! thread to stop the work with `CANCELLED`, leaving nothing at the output, and give it an
//! [`EventSink`] to receive the one [`Event`] type (frames done, overall progress, transfers,
//! notices). Failures are one [`Error`] with a stable [`Code`] that says whether a retry can
//! help.
//!
//! # Blocking and async
//!
//! The primitives block the calling thread (they drive their own runtimes, browsers and
//! encoders). From async code, run them on tokio's blocking pool so that the runtime's workers
//! stay free; called straight from an async task they still work (on a thread of their own),
//! but hold that task's worker until they return:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use framefan::{Location, PlanOptions};
//! let out = tempfile::tempdir()?;
//! let project = Location::from(std::path::Path::new("examples/title-card"));
//! let plan_dir = Location::from(out.path().join("plan"));
//! # let cache = std::env::var_os("FRAMEFAN_PACKAGE_CACHE").map_or("target/package-cache".into(), std::path::PathBuf::from);
//! let mut options = PlanOptions::default();
//! options.config.package_cache = Some(cache); // GSAP, which the page loads from a CDN
//! let (p, o, opts) = (project.clone(), plan_dir.clone(), options.clone());
//! let plan = tokio::task::spawn_blocking(move || framefan::plan(&p, &o, &opts)).await??;
//!
//! // Cancelling from the async side: the plan stops with CANCELLED and keeps the previous one.
//! options.control.cancel();
//! let (p, o, opts) = (project.clone(), plan_dir.clone(), options.clone());
//! let err = tokio::task::spawn_blocking(move || framefan::plan(&p, &o, &opts)).await?.unwrap_err();
//! assert_eq!(err.kind(), framefan::Code::Cancelled);
//! assert!(out.path().join("plan/plan.json").is_file());
//! println!("planned {} frames", plan.total_frames);
//! # Ok(()) }
//! ```
//!
//! # A distributed render through a store of your own
//!
//! Plan into an object store, render each chunk from it (on any machine that can reach the
//! store), assemble from it. Here the store is in memory; in production it is the caller's S3,
//! GCS or Azure client, with its own credentials and retries:
//!
//! ```
//! use std::sync::Arc;
//! use framefan::{AssembleOptions, AudioSource, ChunkOptions, ChunkSource, Location, PlanOptions};
//!
//! let store = Arc::new(object_store::memory::InMemory::new());
//! let at = |url: &str| Location::with_store(url, store.clone());
//! let (plan_dir, chunks) = (at("mem://renders/job-7/plan/")?, at("mem://renders/job-7/chunks/")?);
//!
//! let project = Location::from(std::path::Path::new("examples/title-card"));
//! # let cache = std::env::var_os("FRAMEFAN_PACKAGE_CACHE").map_or("target/package-cache".into(), std::path::PathBuf::from);
//! let mut options = PlanOptions::default();
//! options.config.quality = framefan::Quality::Draft;
//! options.config.package_cache = Some(cache); // GSAP, which the page loads from a CDN
//! let plan = framefan::plan(&project, &plan_dir, &options)?;
//! for index in 0..plan.chunk_count {
//!     framefan::render_chunk(&plan_dir, index, &chunks, &ChunkOptions::default())?;
//! }
//! let video = at("mem://renders/job-7/title-card.mp4")?;
//! let done = framefan::assemble(&plan_dir, &ChunkSource::Dir(chunks), &AudioSource::Plan, &video,
//!                               &AssembleOptions::default())?;
//! assert_eq!(done.frames_encoded, plan.total_frames);
//! assert!(framefan::verify(&video, Some(&plan_dir))?.consistent);
//! # Ok::<(), framefan::Error>(())
//! ```
//!
//! # The whole pipeline on this machine, with progress
//!
//! ```
//! use std::sync::Arc;
//! use framefan::{Control, Event, Location, RenderOptions};
//! # let dir = tempfile::tempdir()?;
//!
//! let control = Control::with_events(Arc::new(|e: &Event| {
//!     if let Event::Progress(p) = e {
//!         eprintln!("{:.0} %", p.progress * 100.0);
//!     }
//! }));
//! // Another thread (a signal handler, a UI) may call `control.cancel()`: the render then
//! // fails with `CANCELLED` and leaves nothing at the output.
//! let mut options = RenderOptions { control: control.clone(), ..Default::default() };
//! # options.plan.quality = framefan::Quality::Draft;
//! # options.plan.package_cache = Some(std::env::var_os("FRAMEFAN_PACKAGE_CACHE").map_or("target/package-cache".into(), std::path::PathBuf::from));
//! let project = Location::from(std::path::Path::new("examples/title-card"));
//! let out = Location::from(dir.path().join("title-card.mp4"));
//! framefan::render(&project, &out, &options)?;
//! assert!(framefan::verify(&out, None)?.consistent);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Media work is libav linked in-process; no libav type is part of this API.
#![deny(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

/// The crate's inner modules: public (and hidden from the docs) with the `internals` feature,
/// which framefan's own tests, benches and fuzz targets turn on; private otherwise. The public
/// API is what this file re-exports.
macro_rules! inner_modules {
    ($($name:ident),* $(,)?) => {$(
        #[cfg(feature = "internals")]
        #[doc(hidden)]
        pub mod $name;
        #[cfg(not(feature = "internals"))]
        mod $name;
    )*};
}

inner_modules!(
    assemble, audio, av, builtin, control, digest, engine, error, fonts, plan, publish, render, run, runtime, sidecar,
    store, time, verify,
);
#[cfg(feature = "internals")]
#[doc(hidden)]
pub mod fuzzing;
mod producer;
pub mod version;

pub use assemble::{AssembleOptions, AssembleResult, AudioSummary};
pub use audio::EncodeSettings;
pub use av::probe::ColorTags;
pub use control::{Control, Direction, Event, EventSink, ProgressEvent, Stage, TransferProgress};
pub use error::{Code, Error, Result};
pub use plan::fetch::FetchOptions;
pub use plan::fonts::FontOptions;
pub use plan::format::Codec;
pub use plan::model::CaptureMode;
pub use plan::{FpsJson, OutputFormat, PlanConfig, PlanOptions, PlanResult, PlanTimings, Quality};
pub use producer::PRODUCER_VERSION;
pub use render::{ChunkOptions, ChunkResult, StartTimings, Timings};
pub use run::{RenderOptions, RenderResult, RenderTimings, RetryPolicy, MAX_WORKERS};
pub use store::ops::{
    assemble, plan, render, render_chunk, render_chunks, verify, AudioSource, ChunkIndexes, ChunkSource, ChunksAt,
    StorageTimings, WithStorage,
};
pub use store::{Location, Remote};
pub use time::{Fps, Rational};
pub use verify::{PlanComparison, VerifyReport};

/// The linked libav and x264 versions (a plan's `ffmpegVersion`).
pub fn ffmpeg_version() -> String {
    av::ffmpeg_version()
}
