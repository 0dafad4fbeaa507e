//! `render`: the whole pipeline on one machine — plan, a local worker pool, assemble.
//!
//! Contract: [`render()`] plans the project into a work directory beside `out`
//! (`<out>.work.<pid>.<random>`), renders every chunk with a pool of separate browser processes
//! ([`pool`]), assembles the chunks (with the plan's soundtrack when it has one) into `out`
//! atomically, and removes the work directory (kept with [`RenderOptions::keep_work`]).
//!
//! The plan is chunked as `plan` chunks it with the same config (contracts §3: whole GOPs, from
//! the frame count and the chunking fields alone), never from the worker count, and each chunk
//! is captured by one browser. Every GOP is encoded on its own, so the encoder never makes the
//! bytes depend on the chunking; but Chromium can draw a frame a little differently depending
//! on the frames its browser drew before (seen on `examples/nested-scenes`, see README), so the
//! chunking and the browsers per chunk stay fixed, and the same project and options give the
//! same file whatever the workers. The pool schedules those chunks over however many workers it
//! has. On any failure, including cancellation,
//! nothing is written at `out` (a previous file there survives) and the work directory is
//! removed unless kept. Progress and notices go to the caller's [`Control`]'s [`EventSink`];
//! cancelling it stops every stage, `plan` included.

pub mod pool;
pub mod progress;
pub mod sizing;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

pub use pool::RetryPolicy;
#[cfg(feature = "internals")]
pub use pool::{Attempt, FaultHook};
pub use progress::{Event, Stage};
#[cfg(feature = "internals")]
pub use progress::{EventSink, ProgressEvent};

use crate::assemble::{AssembleOptions, AssembleResult};
use crate::control::Control;
use crate::error::{Code, Error, Result};
use crate::plan::{FpsJson, OutputFormat, Plan, PlanConfig, PlanResult};
use crate::publish::unique_suffix;
use progress::Reporter;

/// The most workers a render accepts.
pub const MAX_WORKERS: usize = 256;

/// Options of [`render()`](crate::render()).
#[derive(Clone, Default)]
pub struct RenderOptions {
    /// How to plan (format, quality, fps, chunking, variables, package cache, …); the plan is
    /// the one `plan` makes from this config, whatever the worker count.
    pub plan: PlanConfig,
    /// Worker processes; `None` = one per core, bounded by memory.
    pub workers: Option<usize>,
    /// The browser binary; else `FRAMEFAN_BROWSER`, else the installed headless shell.
    pub browser: Option<PathBuf>,
    /// Keep the work directory (plan and chunks) instead of removing it.
    pub keep_work: bool,
    /// Retries, backoff and straggler handling.
    pub retry: RetryPolicy,
    /// Cancelled to stop (the render then fails with `CANCELLED` and leaves nothing at `out`);
    /// its sink receives `Event::Progress` (overall, monotonic, throttled) and `Event::Notice`.
    pub control: Control,
    /// **For tests only**: a hook run before each chunk render that can make it fail.
    #[cfg(feature = "internals")]
    pub fault: Option<FaultHook>,
}

impl std::fmt::Debug for RenderOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenderOptions")
            .field("plan", &self.plan)
            .field("workers", &self.workers)
            .field("browser", &self.browser)
            .field("keep_work", &self.keep_work)
            .field("retry", &self.retry)
            .field("control", &self.control)
            .finish_non_exhaustive()
    }
}

/// Wall time of each stage, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RenderTimings {
    /// Planning (including the media step).
    pub plan_ms: u64,
    /// Rendering every chunk.
    pub render_ms: u64,
    /// Assembling the output.
    pub assemble_ms: u64,
    /// The whole call.
    pub total_ms: u64,
}

/// What [`render()`](crate::render()) produced (`render.completed`'s `result` on the wire).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RenderResult {
    /// The published output.
    pub output_path: PathBuf,
    /// The plan's content hash.
    pub plan_hash: String,
    /// Frames in the output (counted by assemble).
    pub total_frames: i64,
    /// Chunks the plan was cut into.
    pub chunk_count: u32,
    /// Workers that rendered them.
    pub workers: usize,
    /// Output frame rate.
    pub fps: FpsJson,
    /// Output width.
    pub width: u32,
    /// Output height.
    pub height: u32,
    /// Output format.
    pub format: OutputFormat,
    /// Length in seconds (display value; exactly totalFrames at fps).
    pub duration_seconds: f64,
    /// Bytes of the output.
    pub file_size: u64,
    /// Whether the output carries a soundtrack.
    pub has_audio: bool,
    /// Chunk runs repeated after a retryable failure.
    pub retries: u32,
    /// Straggling chunks started a second time.
    pub duplicates: u32,
    /// Stage timings.
    pub timings: RenderTimings,
    /// The work directory, when it was kept.
    pub work_dir: Option<PathBuf>,
    /// Notes from plan and assemble.
    pub warnings: Vec<String>,
}

/// Render the composition project at `project` into `out` on this machine.
pub fn render(project: &Path, options: &RenderOptions, out: &Path) -> Result<RenderResult> {
    let started = Instant::now();
    let workers = worker_count(options.workers)?;
    check_output_dir(out)?;
    let reporter = Arc::new(Reporter::new(options.control.clone()));
    let config = &options.plan;
    peek(project, config, &reporter)?;
    let work = WorkDir::create(out, options.keep_work)?;
    reporter.report(Stage::Plan, 0, 0.0, true);
    check_cancel(options)?;
    let plan_dir = work.path.join("plan");
    let planned = crate::plan::plan_with(project, config, &plan_dir, &options.control)?;
    reporter.set_total(planned.total_frames);
    reporter.report(Stage::Plan, 0, 1.0, true);
    let plan_ms = started.elapsed().as_millis() as u64;
    check_cancel(options)?;

    let rendering = Instant::now();
    let outcome = render_chunks(&planned, &work.path, workers, options, &reporter)?;
    let render_ms = rendering.elapsed().as_millis() as u64;

    let assembling = Instant::now();
    let assembled = assemble(&planned, &outcome.chunks, out, options, &reporter)?;
    let assemble_ms = assembling.elapsed().as_millis() as u64;
    let work_dir = work.finish()?;
    let mut warnings = planned.warnings.clone();
    warnings.extend(assembled.warnings.iter().cloned());
    Ok(RenderResult {
        output_path: assembled.output_path,
        plan_hash: planned.plan_hash,
        total_frames: assembled.frames_encoded,
        chunk_count: planned.chunk_count,
        workers: workers.min(planned.chunk_count as usize).max(1),
        fps: planned.fps,
        width: planned.width,
        height: planned.height,
        format: planned.format,
        duration_seconds: planned.duration_seconds,
        file_size: assembled.file_size,
        has_audio: assembled.audio.present,
        retries: outcome.retries,
        duplicates: outcome.duplicates,
        timings: RenderTimings { plan_ms, render_ms, assemble_ms, total_ms: started.elapsed().as_millis() as u64 },
        work_dir,
        warnings,
    })
}

fn worker_count(requested: Option<usize>) -> Result<usize> {
    match requested {
        None => Ok(sizing::auto_workers().min(MAX_WORKERS)),
        Some(n) if (1..=MAX_WORKERS).contains(&n) => Ok(n),
        Some(n) => Err(Error::new(Code::InvalidConfig, format!("workers {n} is outside 1..={MAX_WORKERS}"))),
    }
}

fn check_cancel(options: &RenderOptions) -> Result<()> {
    match options.control.is_cancelled() {
        true => Err(Error::new(Code::Cancelled, "render cancelled")),
        false => Ok(()),
    }
}

/// Fail before any work when `out` cannot be published: its directory must exist.
fn check_output_dir(out: &Path) -> Result<()> {
    if out.file_name().is_none() {
        return Err(Error::new(Code::InvalidConfig, format!("output {} has no file name", out.display())));
    }
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(Error::new(Code::InvalidConfig, format!("output directory {} does not exist", dir.display())));
    }
    Ok(())
}

/// Check the config and compile the composition once up front for its length (a few
/// milliseconds, no browser and no network: remote resources are `plan`'s to fetch, once; a root
/// without `data-duration` gets its total once plan has measured it), so that progress carries the total from the first event and a bad project fails
/// with `plan`'s own error before anything is created. Its size and length never choose the chunking here: `plan` does that.
fn peek(project: &Path, config: &PlanConfig, reporter: &Reporter) -> Result<()> {
    let valid = config.validate()?;
    let canonical = std::fs::canonicalize(project).map_err(|_| {
        Error::new(Code::CompositionInvalid, format!("project {} is not a directory", project.display()))
    })?;
    if !canonical.is_dir() {
        return Err(Error::new(Code::CompositionInvalid, format!("project {} is not a directory", project.display())));
    }
    // No browser here: plan's probe loads the page once, and measures a root without
    // data-duration in the same launch (its total is set once plan is done).
    let mut valid = valid;
    (valid.fetch.offline, valid.fetch.strict) = (true, false);
    let (compiled, data_duration) = crate::plan::compile::compile_page(&canonical, &valid, &Control::default())?;
    if let Some(text) = data_duration {
        let duration = crate::plan::compile::parse_duration(&compiled.root_id, &text)?;
        reporter.set_total(compiled.fps.frames_for(duration).max(0));
    }
    Ok(())
}

fn render_chunks(
    planned: &PlanResult,
    work: &Path,
    workers: usize,
    options: &RenderOptions,
    reporter: &Arc<Reporter>,
) -> Result<pool::PoolOutcome> {
    let plan = Plan::load(&planned.plan_dir)?;
    let chunk_dir = work.join("chunks");
    std::fs::create_dir_all(&chunk_dir).map_err(|e| Error::io("creating", &chunk_dir, e))?;
    let spec = pool::PoolSpec {
        plan_dir: &planned.plan_dir,
        chunks: &plan.chunks,
        chunk_dir: &chunk_dir,
        extension: plan.dimensions.format.spec().container.extension(),
        workers,
        browser: options.browser.clone(),
        policy: options.retry,
        #[cfg(feature = "internals")]
        fault: options.fault.clone(),
        control: options.control.clone(),
        reporter: Arc::clone(reporter),
        total_frames: planned.total_frames,
    };
    pool::run_pool(&spec)
}

fn assemble(
    planned: &PlanResult,
    chunks: &[PathBuf],
    out: &Path,
    options: &RenderOptions,
    reporter: &Arc<Reporter>,
) -> Result<AssembleResult> {
    check_cancel(options)?;
    let total = planned.total_frames;
    reporter.report(Stage::Assemble, total, 0.0, true);
    let sink = Arc::clone(reporter);
    let progress = Arc::new(move |event: &Event| {
        if let Event::Frames { done, total: frames, .. } = event {
            sink.report(Stage::Assemble, total, *done as f64 / (*frames).max(1) as f64, false);
        }
    });
    let assemble_options =
        AssembleOptions { control: options.control.child_with_events(Some(progress)), ..Default::default() };
    let audio = planned.has_audio.then(|| crate::plan::layout::PlanLayout::new(&planned.plan_dir).audio());
    let result = crate::assemble::assemble(&planned.plan_dir, chunks, audio.as_deref(), out, &assemble_options)?;
    reporter.report(Stage::Assemble, total, 1.0, true);
    Ok(result)
}

/// The work directory `<out>.work.<pid>.<random>`: claimed while in use, removed on drop unless
/// kept. Work directories of killed predecessors for the same `out` are swept first; a kept one
/// is marked ([`crate::publish::KEEP_MARKER`]) so that no later run sweeps it.
struct WorkDir {
    path: PathBuf,
    keep: bool,
    _claim: crate::publish::Claim,
}

impl WorkDir {
    fn create(out: &Path, keep: bool) -> Result<WorkDir> {
        crate::publish::sweep_stale(out);
        let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let path = out.with_file_name(format!("{name}.work.{}", unique_suffix()));
        std::fs::create_dir(&path).map_err(|e| Error::io("creating work directory", &path, e))?;
        let path = std::fs::canonicalize(&path).map_err(|e| Error::io("resolving", &path, e))?;
        if keep {
            let marker = path.join(crate::publish::KEEP_MARKER);
            std::fs::write(&marker, b"").map_err(|e| Error::io("writing", &marker, e))?;
        }
        let claim = crate::publish::claim(&path);
        Ok(WorkDir { path, keep, _claim: claim })
    }

    /// After success: remove the directory, or hand back its path when it is kept.
    fn finish(mut self) -> Result<Option<PathBuf>> {
        if self.keep {
            return Ok(Some(std::mem::take(&mut self.path)));
        }
        let path = std::mem::take(&mut self.path);
        std::fs::remove_dir_all(&path).map_err(|e| Error::io("removing work directory", &path, e))?;
        Ok(None)
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if !self.keep && !self.path.as_os_str().is_empty() {
            // Best effort on the failure path: scratch never holds a result.
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}
