//! The public primitives: every input and output is a [`Location`]. Each resolves its inputs to
//! local paths (downloading into the cache), runs the local primitive unchanged, and uploads its
//! output. The CLI calls these and nothing else of the pipeline.
//!
//! A remote output is built in a scratch folder of the cache and uploaded atomically once the
//! primitive succeeded; a failed run uploads nothing. A location that ends in `/` is a folder or
//! prefix: [`render_chunk`] writes chunk i there as `chunk-NNN.<ext>` (with its sidecar), and
//! [`ChunkSource::Dir`] takes every chunk of the plan from one.
//!
//! They block the calling thread. Called inside a tokio runtime's context they do their work on
//! a thread of their own (their inner runtimes cannot block a runtime's thread), still blocking
//! the caller: from async code, call them through `tokio::task::spawn_blocking`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::cache::Scratch;
use super::chunks::{self, chunk_name};
use super::downloads::ChunkDownloads;
use super::transfer;
use super::{block_on, plan as remote_plan, Location, Remote};
use crate::assemble::{AssembleOptions, AssembleResult};
use crate::control::Control;
use crate::error::{Code, Error, Result};
use crate::plan::{OutputFormat, Plan, PlanOptions, PlanResult};
use crate::render::{ChunkOptions, ChunkResult, ChunkSession};
use crate::run::{RenderOptions, RenderResult};

/// What moving artifacts cost a command, in its JSON result as `storage`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageTimings {
    /// Reading the plan's manifest, downloading and verifying it (0 when local).
    pub plan_fetch_ms: u64,
    /// Whether the plan was downloaded by this command (false: local, or already cached).
    pub plan_downloaded: bool,
    /// Downloading other inputs (chunks, soundtrack, project); for assemble, only what did not
    /// overlap the concat (presence checks, sidecars, soundtrack, waits for chunks).
    pub download_ms: u64,
    /// Uploading the output.
    pub upload_ms: u64,
    /// Bytes uploaded.
    pub upload_bytes: u64,
}

/// A primitive's result with what storage cost; it dereferences to the result.
#[derive(Debug, Clone, Serialize)]
pub struct WithStorage<T: Serialize> {
    /// The primitive's own result (its `outputPath` is the URL when the output is remote).
    #[serde(flatten)]
    pub result: T,
    /// Transfer timings.
    pub storage: StorageTimings,
}

impl<T: Serialize> std::ops::Deref for WithStorage<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.result
    }
}

/// Run a primitive's work on this thread, or, on a thread inside a tokio runtime's context
/// (where the primitive's own runtimes could not block), on a scoped thread of its own while
/// this one waits: a primitive works wherever it is called, and blocks its caller either way.
fn blocking<T: Send>(work: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    if tokio::runtime::Handle::try_current().is_err() {
        return work();
    }
    std::thread::scope(|s| s.spawn(work).join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
}

/// A scratch folder made only when a remote argument needs one (local-only commands write
/// nothing under the cache).
struct Work {
    tag: &'static str,
    dir: Option<Scratch>,
}

impl Work {
    fn new(tag: &'static str) -> Work {
        Work { tag, dir: None }
    }

    fn path(&mut self) -> Result<PathBuf> {
        if let Some(s) = &self.dir {
            return Ok(s.path().to_path_buf());
        }
        let s = Scratch::new(self.tag)?;
        let path = s.path().to_path_buf();
        self.dir = Some(s);
        Ok(path)
    }
}

/// Where the transfers report (`Event::Transfer`): `control`, when it has a sink.
fn transfers(control: &Control) -> Option<Control> {
    control.has_events().then(|| control.clone())
}

/// A plan argument resolved to a local directory.
fn resolve_plan(plan: &Location, sink: Option<&Control>, t: &mut StorageTimings) -> Result<PathBuf> {
    match plan {
        Location::Local(p) => Ok(p.clone()),
        Location::Remote(r) => {
            let fetched = block_on(remote_plan::fetch(r, sink))??;
            t.plan_fetch_ms = fetched.fetch_ms;
            t.plan_downloaded = fetched.downloaded;
            Ok(fetched.dir)
        }
    }
}

fn ms(t: Instant) -> u64 {
    t.elapsed().as_millis() as u64
}

/// Where chunk `index` goes for the output `out`.
fn chunk_target(out: &Location, index: u32, format: OutputFormat) -> Result<Location> {
    if !out.is_folder() {
        return Ok(out.clone());
    }
    if let Location::Local(dir) = out {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("creating", dir, e))?;
    }
    Ok(out.join(&chunk_name(index, format)))
}

/// Upload a finished local output (file or folder) to `dest`.
fn upload_output(local: &Path, dest: &Remote, sink: Option<&Control>, t: &mut StorageTimings) -> Result<()> {
    let started = Instant::now();
    t.upload_bytes = if local.is_dir() {
        block_on(transfer::upload_dir(local, dest, sink, 8))??
    } else {
        block_on(transfer::upload_file(local, dest, sink))??
    };
    t.upload_ms = ms(started);
    Ok(())
}

/// Render chunk `index` of `plan` into `out`: one closed-GOP chunk file (mp4, mov, webm, gif's
/// lossless intermediate) or a folder of PNG frames, with its `.perf.json` sidecar. An `out`
/// that is a folder ([`Location::is_folder`]) receives `chunk-NNN.<ext>`. `options.control`
/// stops it and receives its `Event::Frames` and `Event::Transfer`.
///
/// ```
/// use framefan::{ChunkOptions, Location};
/// # let dir = tempfile::tempdir()?;
/// # let cache = std::env::var_os("FRAMEFAN_PACKAGE_CACHE").map_or("target/package-cache".into(), std::path::PathBuf::from);
/// # let mut planning = framefan::PlanOptions::default();
/// # planning.config.quality = framefan::Quality::Draft;
/// # planning.config.package_cache = Some(cache);
/// # let project = Location::from(std::path::Path::new("examples/title-card"));
/// # let plan = Location::from(dir.path().join("plan"));
/// # framefan::plan(&project, &plan, &planning)?;
/// // `plan` is a plan folder (or `s3://renders/job-7/plan/`); `chunks` a folder or prefix.
/// let chunks = Location::parse(&format!("{}/", dir.path().join("chunks").display()))?;
/// let done = framefan::render_chunk(&plan, 0, &chunks, &ChunkOptions::default())?;
/// assert!(done.frames > 0 && done.output_path.ends_with("chunk-000.mp4"));
/// println!("{} frames, sha256 {}", done.frames, done.sha256);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn render_chunk(plan: &Location, index: u32, out: &Location, options: &ChunkOptions) -> Result<WithStorage<ChunkResult>> {
    let mut chunks = render_chunks(plan, &ChunkIndexes::List(vec![index]), out, options)?;
    chunks.next(&options.control).unwrap_or_else(|| Err(Error::new(Code::ChunkIndexOutOfRange, "no chunk index given")))
}

/// Several chunks of one plan in one process, by the same browsers (an engine that hands a task
/// a range of chunks): see [`ChunksAt`]. `out` must be a folder or prefix.
///
/// ```
/// use framefan::{ChunkIndexes, ChunkOptions, Location};
/// # let dir = tempfile::tempdir()?;
/// # let cache = std::env::var_os("FRAMEFAN_PACKAGE_CACHE").map_or("target/package-cache".into(), std::path::PathBuf::from);
/// # let mut planning = framefan::PlanOptions::default();
/// # planning.config.quality = framefan::Quality::Draft;
/// # planning.config.package_cache = Some(cache);
/// # let project = Location::from(std::path::Path::new("examples/title-card"));
/// # let plan = Location::from(dir.path().join("plan"));
/// # framefan::plan(&project, &plan, &planning)?;
/// // Task 0 of an engine that gives each task 2 chunks: chunks 0 and 1 (those that exist).
/// let which = ChunkIndexes::Task { task: 0, per_task: 2 };
/// let chunks = Location::parse(&format!("{}/", dir.path().join("chunks").display()))?;
/// let options = ChunkOptions::default();
/// let mut run = framefan::render_chunks(&plan, &which, &chunks, &options)?;
/// while let Some(done) = run.next(&options.control) {
///     let done = done?;
///     println!("chunk {}: {} frames", done.index, done.frames);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn render_chunks(plan: &Location, which: &ChunkIndexes, out: &Location, options: &ChunkOptions) -> Result<ChunksAt> {
    blocking(|| render_chunks_here(plan, which, out, options))
}

fn render_chunks_here(plan: &Location, which: &ChunkIndexes, out: &Location, options: &ChunkOptions) -> Result<ChunksAt> {
    ChunksAt::open(plan, which, out, options)
}

/// Which chunks [`render_chunks`] renders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkIndexes {
    /// These, in this order.
    List(Vec<u32>),
    /// Array-job task `task` of tasks that take `per_task` chunks each: chunks
    /// `task·per_task … task·per_task + per_task − 1`, those the plan has (the last task may get
    /// fewer; a task past the plan's end fails with `CHUNK_INDEX_OUT_OF_RANGE`).
    Task {
        /// The task's index (from the array job's environment).
        task: u32,
        /// Chunks per task, at least 1.
        per_task: u32,
    },
}

impl ChunkIndexes {
    /// Whether this names more than one chunk (or may: a task's run), so that the output must be
    /// a folder or prefix.
    pub fn several(&self) -> bool {
        !matches!(self, ChunkIndexes::List(list) if list.len() == 1)
    }

    /// The indexes for a plan of `chunks` chunks.
    fn resolve(&self, chunks: usize) -> Vec<i64> {
        match self {
            ChunkIndexes::List(list) => list.iter().map(|&i| i64::from(i)).collect(),
            ChunkIndexes::Task { task, per_task } => {
                let per_task = i64::from((*per_task).max(1));
                let first = i64::from(*task).saturating_mul(per_task);
                let end = first.saturating_add(per_task).min(chunks as i64);
                if first >= end {
                    // Past the plan: checked (and refused) like any other index.
                    vec![first]
                } else {
                    (first..end).collect()
                }
            }
        }
    }
}

/// Several chunks of one plan rendered in one process, from [`render_chunks`]: one session, so
/// the browsers launch and load the page once.
/// `out` must be a folder or prefix (ending in `/`): chunk i goes there as `chunk-NNN.<ext>`
/// with its sidecar, exactly as a one-index run writes it. Every index is checked against the
/// plan before the first chunk renders; [`ChunksAt::next`] then renders (and uploads) one chunk
/// at a time, in the order given.
pub struct ChunksAt {
    session: ChunkSession,
    indexes: std::vec::IntoIter<i64>,
    out: Location,
    format: OutputFormat,
    sink: Option<Control>,
    /// The plan's fetch, reported with the first chunk.
    fetch: Option<StorageTimings>,
    /// Where chunks for a remote `out` are made before their upload, made with the first one
    /// (one folder for the whole run: the session's browser profiles live beside its first
    /// chunk).
    local: Option<Scratch>,
}

impl std::fmt::Debug for ChunksAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunksAt")
            .field("plan", &self.session.plan().dir)
            .field("remaining", &self.indexes.as_slice())
            .field("out", &self.out)
            .finish_non_exhaustive()
    }
}

impl ChunksAt {
    /// Resolve the plan (downloading it once), open the session and check every index. Every
    /// transfer (the plan's download, each chunk's upload) reports to `options.control` as
    /// `Event::Transfer`; each chunk is stopped by, and reports its frames to, the control
    /// given to [`ChunksAt::next`].
    fn open(plan: &Location, which: &ChunkIndexes, out: &Location, options: &ChunkOptions) -> Result<ChunksAt> {
        let sink = transfers(&options.control);
        if which.several() && !out.is_folder() {
            return Err(Error::new(
                Code::InvalidConfig,
                format!("several chunk indexes need an output folder or prefix ending in '/', not {:?}", out.display()),
            ));
        }
        let mut t = StorageTimings::default();
        let plan_dir = resolve_plan(plan, sink.as_ref(), &mut t)?;
        let session = ChunkSession::open(&plan_dir, options)?;
        let indexes = which.resolve(session.plan().chunks.len());
        for &index in &indexes {
            session.check_index(index)?;
        }
        let format = session.plan().dimensions.format;
        Ok(ChunksAt {
            session,
            indexes: indexes.into_iter(),
            out: out.clone(),
            format,
            sink,
            fetch: Some(t),
            local: None,
        })
    }

    /// The next index to render, if any.
    pub fn peek(&self) -> Option<u32> {
        self.indexes.as_slice().first().and_then(|&i| u32::try_from(i).ok())
    }

    /// Render the next chunk (then upload it when `out` is remote); `None` once all are done.
    pub fn next(&mut self, control: &Control) -> Option<Result<WithStorage<ChunkResult>>> {
        let index = self.indexes.next()?;
        Some(blocking(|| self.render(index, control)))
    }

    fn render(&mut self, index: i64, control: &Control) -> Result<WithStorage<ChunkResult>> {
        let mut t = self.fetch.take().unwrap_or_default();
        // Checked against the plan when opened: a chunk index is never negative.
        let number = u32::try_from(index).unwrap_or(0);
        let result = match chunk_target(&self.out, number, self.format)? {
            Location::Local(path) => self.session.render(index, &path, control)?,
            Location::Remote(dest) => {
                let folder = match &self.local {
                    Some(s) => s.path().to_path_buf(),
                    None => self.local.insert(Scratch::new("chunk")?).path().to_path_buf(),
                };
                let local = folder.join(chunk_name(number, self.format));
                let mut result = self.session.render(index, &local, control)?;
                let started = Instant::now();
                let sent = block_on(chunks::upload(&local, &dest, self.sink.as_ref()))?;
                // The chunk is uploaded (or failed to be): its local copy is not needed again.
                let _removed =
                    if local.is_dir() { std::fs::remove_dir_all(&local) } else { std::fs::remove_file(&local) };
                let _removed = std::fs::remove_file(crate::sidecar::path(&local));
                t.upload_bytes = sent?;
                t.upload_ms = ms(started);
                result.output_path = PathBuf::from(dest.url());
                result
            }
        };
        Ok(WithStorage { result, storage: t })
    }
}

/// Where assemble takes the chunks from.
#[derive(Debug, Clone)]
pub enum ChunkSource {
    /// One chunk per index, in index order.
    List(Vec<Location>),
    /// A folder or prefix holding `chunk-NNN.<ext>` for every chunk of the plan.
    Dir(Location),
}

/// Which soundtrack assemble muxes.
#[derive(Debug, Clone)]
pub enum AudioSource {
    /// None.
    None,
    /// This file or object.
    Given(Location),
    /// The plan's own `audio.m4a` when the plan has audio, else none.
    Plan,
}

fn chunk_locations(source: &ChunkSource, plan: &Plan) -> Result<Vec<Location>> {
    match source {
        ChunkSource::List(list) => Ok(list.clone()),
        ChunkSource::Dir(dir) => {
            let format = plan.dimensions.format;
            Ok((0..plan.chunks.len() as u32).map(|i| dir.join(&chunk_name(i, format))).collect())
        }
    }
}

fn resolve_audio(audio: &AudioSource, plan: &Plan, work: &mut Work) -> Result<Option<PathBuf>> {
    match audio {
        AudioSource::None => Ok(None),
        AudioSource::Plan => Ok(if plan.has_audio { plan.audio_path() } else { None }),
        AudioSource::Given(given) => match given {
            Location::Local(p) => Ok(Some(p.clone())),
            Location::Remote(r) => {
                let dest = work.path()?.join("audio").with_extension(r.key().extension().unwrap_or_default());
                block_on(transfer::download_file(r, &dest, Code::AudioMissing, None))??;
                Ok(Some(dest))
            }
        },
    }
}

/// Join the chunks of `plan` at the packet level into the deliverable `out`, fit the soundtrack
/// to the exact frame count and mux it, and publish `out` atomically (index first). Remote
/// chunks are downloaded while the earlier ones are joined. Its transfers report to
/// `options.control` as `Event::Transfer`, its frames as `Event::Frames`.
///
/// ```
/// use framefan::{AssembleOptions, AudioSource, ChunkIndexes, ChunkOptions, ChunkSource, Location};
/// # let dir = tempfile::tempdir()?;
/// # let cache = std::env::var_os("FRAMEFAN_PACKAGE_CACHE").map_or("target/package-cache".into(), std::path::PathBuf::from);
/// # let mut planning = framefan::PlanOptions::default();
/// # planning.config.quality = framefan::Quality::Draft;
/// # planning.config.package_cache = Some(cache);
/// # let project = Location::from(std::path::Path::new("examples/title-card"));
/// # let plan = Location::from(dir.path().join("plan"));
/// # framefan::plan(&project, &plan, &planning)?;
/// # let folder = Location::parse(&format!("{}/", dir.path().join("chunks").display()))?;
/// # let options = ChunkOptions::default();
/// # let all = ChunkIndexes::Task { task: 0, per_task: u32::MAX };
/// # let mut run = framefan::render_chunks(&plan, &all, &folder, &options)?;
/// # while let Some(done) = run.next(&options.control) { done?; }
/// // Every chunk of `plan` rendered into one folder (or prefix, as `s3://renders/job-7/chunks/`).
/// let chunks = ChunkSource::Dir(Location::from(dir.path().join("chunks")));
/// let out = Location::from(dir.path().join("video.mp4"));
/// let done = framefan::assemble(&plan, &chunks, &AudioSource::Plan, &out, &AssembleOptions::default())?;
/// println!("{} frames, {} bytes", done.frames_encoded, done.file_size);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn assemble(
    plan: &Location,
    chunks: &ChunkSource,
    audio: &AudioSource,
    out: &Location,
    options: &AssembleOptions,
) -> Result<WithStorage<AssembleResult>> {
    blocking(|| assemble_here(plan, chunks, audio, out, options))
}

fn assemble_here(plan: &Location, chunks: &ChunkSource, audio: &AudioSource, out: &Location, options: &AssembleOptions) -> Result<WithStorage<AssembleResult>> {
    let sink = transfers(&options.control);
    let mut t = StorageTimings::default();
    let plan_dir = resolve_plan(plan, sink.as_ref(), &mut t)?;
    let loaded = Plan::load(&plan_dir)?;
    let mut work = Work::new("assemble");
    let locations = chunk_locations(chunks, &loaded)?;
    let scratch = if locations.iter().any(|l| l.local().is_none()) { work.path()? } else { PathBuf::new() };
    let started = Instant::now();
    let audio = resolve_audio(audio, &loaded, &mut work)?;
    t.download_ms = ms(started);
    // Declared after `work`, so it is dropped first: its downloads stop before the scratch goes.
    let mut feed = ChunkDownloads::new(locations, loaded.dimensions.format, &scratch, sink.clone())?;
    let assembled = match out {
        Location::Local(path) => crate::assemble::assemble_from(&plan_dir, &mut feed, audio.as_deref(), path, options),
        Location::Remote(dest) => {
            let local = work.path()?.join(output_name(loaded.dimensions.format));
            crate::assemble::assemble_from(&plan_dir, &mut feed, audio.as_deref(), &local, options).and_then(
                |mut result| {
                    upload_output(&local, dest, sink.as_ref(), &mut t)?;
                    result.output_path = PathBuf::from(dest.url());
                    Ok(result)
                },
            )
        }
    };
    t.download_ms += feed.waited().as_millis() as u64;
    Ok(WithStorage { result: assembled?, storage: t })
}

fn output_name(format: OutputFormat) -> String {
    format!("output{}", format.spec().output.extension())
}

/// A project argument resolved to a local directory (a remote prefix is downloaded into `scratch`).
fn resolve_project(project: &Location, work: &mut Work, t: &mut StorageTimings) -> Result<PathBuf> {
    match project {
        Location::Local(p) => Ok(p.clone()),
        Location::Remote(r) => {
            let started = Instant::now();
            let dir = work.path()?.join("project");
            block_on(transfer::download_dir(r, &dir, Code::CompositionInvalid, None))??;
            t.download_ms = ms(started);
            Ok(dir)
        }
    }
}

/// Freeze the composition `project` (a folder with `index.html`) into the plan directory `out`:
/// fonts, remote assets, the page runtime, video frames and the mixed soundtrack, split into
/// chunks. A previous plan at `out` is replaced only once the new one is whole; a remote plan is
/// uploaded file by file with its manifest last. `options.control` stops it and receives the
/// upload's `Event::Transfer`.
///
/// ```
/// use framefan::{Location, PlanOptions};
/// let out = tempfile::tempdir()?;
/// let project = Location::from(std::path::Path::new("examples/title-card"));
/// # let cache = std::env::var_os("FRAMEFAN_PACKAGE_CACHE").map_or("target/package-cache".into(), std::path::PathBuf::from);
/// let mut options = PlanOptions::default();
/// options.config.package_cache = Some(cache); // GSAP, which the page loads from a CDN
/// let plan = framefan::plan(&project, &out.path().join("plan").into(), &options)?;
/// assert!(plan.total_frames > 0 && plan.chunk_count > 0);
/// println!("{} frames in {} chunks, planHash {}", plan.total_frames, plan.chunk_count, plan.plan_hash);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn plan(project: &Location, out: &Location, options: &PlanOptions) -> Result<WithStorage<PlanResult>> {
    blocking(|| plan_here(project, out, options))
}

fn plan_here(project: &Location, out: &Location, options: &PlanOptions) -> Result<WithStorage<PlanResult>> {
    let (config, control) = (&options.config, &options.control);
    let sink = transfers(control);
    let mut t = StorageTimings::default();
    let mut work = Work::new("plan");
    let project = resolve_project(project, &mut work, &mut t)?;
    let result = match out {
        Location::Local(dir) => crate::plan::plan_with(&project, config, dir, control)?,
        Location::Remote(dest) => {
            let local = work.path()?.join("plan");
            let mut result = crate::plan::plan_with(&project, config, &local, control)?;
            let started = Instant::now();
            let manifest = block_on(remote_plan::upload(&local, dest, sink.as_ref()))??;
            t.upload_ms = ms(started);
            t.upload_bytes = manifest.total_bytes;
            result.plan_dir = PathBuf::from(dest.url());
            result
        }
    };
    Ok(WithStorage { result, storage: t })
}

/// Plan `project`, render every chunk on a local worker pool (retries, straggler copies), and
/// assemble the deliverable `out`: the three steps on this machine. `options.control` stops it
/// (leaving nothing at `out`) and receives every `Event`; the output's upload reports as
/// `Event::Transfer`.
///
/// ```
/// use framefan::{Location, Quality, RenderOptions};
/// let dir = tempfile::tempdir()?;
/// let project = Location::from(std::path::Path::new("examples/title-card"));
/// let out = Location::from(dir.path().join("title-card.mp4"));
/// # let cache = std::env::var_os("FRAMEFAN_PACKAGE_CACHE").map_or("target/package-cache".into(), std::path::PathBuf::from);
/// let mut options = RenderOptions::default();
/// options.plan.quality = Quality::Draft;
/// options.plan.package_cache = Some(cache); // GSAP, which the page loads from a CDN
/// let done = framefan::render(&project, &out, &options)?;
/// let report = framefan::verify(&out, None)?;
/// assert!(report.consistent && report.frames == done.total_frames);
/// println!("{} frames on {} workers in {} ms", done.total_frames, done.workers, done.timings.total_ms);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn render(project: &Location, out: &Location, options: &RenderOptions) -> Result<WithStorage<RenderResult>> {
    blocking(|| render_here(project, out, options))
}

fn render_here(project: &Location, out: &Location, options: &RenderOptions) -> Result<WithStorage<RenderResult>> {
    let sink = transfers(&options.control);
    let mut t = StorageTimings::default();
    let mut work = Work::new("render");
    let project = resolve_project(project, &mut work, &mut t)?;
    let result = match out {
        Location::Local(path) => crate::run::render(&project, options, path)?,
        Location::Remote(dest) => {
            let local = work.path()?.join(output_name(options.plan.format));
            let mut result = crate::run::render(&project, options, &local)?;
            upload_output(&local, dest, sink.as_ref(), &mut t)?;
            result.output_path = PathBuf::from(dest.url());
            result
        }
    };
    Ok(WithStorage { result, storage: t })
}

/// Read the deliverable `file` back and check it: frames, durations, the index before the media,
/// colour tags, alpha, Cues; against `plan` too when given (frame count, rate, size). Remote
/// inputs are downloaded first.
///
/// ```
/// # use framefan::Location;
/// # let dir = tempfile::tempdir()?;
/// # let cache = std::env::var_os("FRAMEFAN_PACKAGE_CACHE").map_or("target/package-cache".into(), std::path::PathBuf::from);
/// # let mut options = framefan::RenderOptions::default();
/// # options.plan.quality = framefan::Quality::Draft;
/// # options.plan.package_cache = Some(cache);
/// # let out = Location::from(dir.path().join("out.mp4"));
/// # framefan::render(&Location::from(std::path::Path::new("examples/title-card")), &out, &options)?;
/// let report = framefan::verify(&out, None)?;
/// assert!(report.consistent, "{:?}", report.problems);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn verify(file: &Location, plan: Option<&Location>) -> Result<crate::verify::VerifyReport> {
    blocking(|| verify_here(file, plan))
}

fn verify_here(file: &Location, plan: Option<&Location>) -> Result<crate::verify::VerifyReport> {
    let mut t = StorageTimings::default();
    let plan_dir = plan.map(|p| resolve_plan(p, None, &mut t)).transpose()?;
    let mut work = Work::new("verify");
    let path = match file {
        Location::Local(p) => p.clone(),
        Location::Remote(r) => {
            let ext = r.key().extension().unwrap_or("mp4").to_string();
            let dest = work.path()?.join("output").with_extension(ext);
            block_on(transfer::download_file(r, &dest, Code::Io, None))??;
            dest
        }
    };
    crate::verify::verify(&path, plan_dir.as_deref())
}

#[cfg(test)]
mod tests {
    use super::ChunkIndexes;

    #[test]
    fn a_task_takes_its_run_of_chunks_and_the_last_one_fewer() {
        let task = |task, per_task| ChunkIndexes::Task { task, per_task }.resolve(10);
        assert_eq!(task(0, 4), vec![0, 1, 2, 3]);
        assert_eq!(task(2, 4), vec![8, 9]);
        assert_eq!(task(3, 4), vec![12], "past the plan: refused as an index");
        assert_eq!(task(5, 1), vec![5]);
        assert_eq!(ChunkIndexes::List(vec![3, 1]).resolve(10), vec![3, 1]);
    }
}
