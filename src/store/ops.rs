//! The primitives with URL arguments: resolve each input to a local path (downloading into the
//! cache), run the local primitive unchanged, upload its output. These are what the CLI calls.
//!
//! A remote output is built in a scratch folder of the cache and uploaded atomically once the
//! primitive succeeded; a failed run uploads nothing. An argument that ends in `/` is a folder or
//! prefix: `render_chunk_at` writes chunk i there as `chunk-NNN.<ext>` (with its sidecar), and
//! [`ChunkSource::Dir`] takes every chunk of the plan from one.

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
use crate::plan::{OutputFormat, Plan, PlanConfig, PlanResult};
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

/// A primitive's result with what storage cost.
#[derive(Debug, Clone, Serialize)]
pub struct WithStorage<T: Serialize> {
    /// The primitive's own result (its `outputPath` is the URL when the output is remote).
    #[serde(flatten)]
    pub result: T,
    /// Transfer timings.
    pub storage: StorageTimings,
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
fn resolve_plan(arg: &str, sink: Option<&Control>, t: &mut StorageTimings) -> Result<PathBuf> {
    match Location::parse(arg)? {
        Location::Local(p) => Ok(p),
        Location::Remote(r) => {
            let fetched = block_on(remote_plan::fetch(&r, sink))??;
            t.plan_fetch_ms = fetched.fetch_ms;
            t.plan_downloaded = fetched.downloaded;
            Ok(fetched.dir)
        }
    }
}

fn ms(t: Instant) -> u64 {
    t.elapsed().as_millis() as u64
}

/// Where chunk `index` goes for the output argument `out`.
fn chunk_target(out: &str, index: i64, format: OutputFormat) -> Result<Location> {
    let loc = Location::parse(out)?;
    if !super::is_dir_arg(out) {
        return Ok(loc);
    }
    let name = chunk_name(u32::try_from(index).unwrap_or(0), format);
    if let Location::Local(dir) = &loc {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("creating", dir, e))?;
    }
    Ok(loc.join(&name))
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

/// `render_chunk` with a plan and an output that may be URLs; `out` ending in `/` is a folder:
/// a [`ChunksAt`] of one index. `options.control` stops it and receives its `Event::Frames` and
/// `Event::Transfer`.
pub fn render_chunk_at(plan: &str, index: i64, out: &str, options: &ChunkOptions) -> Result<WithStorage<ChunkResult>> {
    let mut chunks = ChunksAt::open(plan, &ChunkIndexes::List(vec![index]), out, options)?;
    chunks.next(&options.control).unwrap_or_else(|| Err(Error::new(Code::ChunkIndexOutOfRange, "no chunk index given")))
}

/// Which chunks a [`ChunksAt`] renders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkIndexes {
    /// These, in this order.
    List(Vec<i64>),
    /// Array-job task `task` of tasks that take `per_task` chunks each: chunks
    /// `task·per_task … task·per_task + per_task − 1`, those the plan has (the last task may get
    /// fewer; a task past the plan's end fails with `CHUNK_INDEX_OUT_OF_RANGE`).
    Task {
        /// The task's index (from the array job's environment).
        task: i64,
        /// Chunks per task, at least 1.
        per_task: i64,
    },
}

impl ChunkIndexes {
    /// Whether this names more than one chunk (or may: a task's run), so that the output must be
    /// a folder or prefix.
    pub fn several(&self) -> bool {
        !matches!(self, ChunkIndexes::List(list) if list.len() == 1)
    }

    /// The indexes for a plan of `chunks` chunks.
    pub fn resolve(&self, chunks: usize) -> Vec<i64> {
        match self {
            ChunkIndexes::List(list) => list.clone(),
            ChunkIndexes::Task { task, per_task } => {
                let first = task.saturating_mul((*per_task).max(1));
                let end = first.saturating_add((*per_task).max(1)).min(chunks as i64);
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

/// `render_chunk_at` for several indexes of one plan in one process (an engine that hands a
/// task a range of chunks): one [`ChunkSession`], so the browsers launch and load the page once.
/// `out` must be a folder or prefix (ending in `/`): chunk i goes there as `chunk-NNN.<ext>`
/// with its sidecar, exactly as a one-index run writes it. Every index is checked against the
/// plan before the first chunk renders; [`ChunksAt::next`] then renders (and uploads) one chunk
/// at a time, in the order given.
pub struct ChunksAt {
    session: ChunkSession,
    indexes: std::vec::IntoIter<i64>,
    out: String,
    format: OutputFormat,
    sink: Option<Control>,
    /// The plan's fetch, reported with the first chunk.
    fetch: Option<StorageTimings>,
    /// Where chunks for a remote `out` are made before their upload, made with the first one
    /// (one folder for the whole run: the session's browser profiles live beside its first
    /// chunk).
    local: Option<Scratch>,
}

impl ChunksAt {
    /// Resolve the plan (downloading it once), open the session and check every index. Every
    /// transfer (the plan's download, each chunk's upload) reports to `options.control` as
    /// `Event::Transfer`; each chunk is stopped by, and reports its frames to, the control
    /// given to [`ChunksAt::next`].
    pub fn open(plan: &str, which: &ChunkIndexes, out: &str, options: &ChunkOptions) -> Result<ChunksAt> {
        let sink = transfers(&options.control);
        if which.several() && !super::is_dir_arg(out) {
            return Err(Error::new(
                Code::InvalidConfig,
                format!("several chunk indexes need an output folder or prefix ending in '/', not {out:?}"),
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
            out: out.to_string(),
            format,
            sink,
            fetch: Some(t),
            local: None,
        })
    }

    /// The indexes still to render.
    pub fn remaining(&self) -> &[i64] {
        self.indexes.as_slice()
    }

    /// Render the next chunk (then upload it when `out` is remote); `None` once all are done.
    pub fn next(&mut self, control: &Control) -> Option<Result<WithStorage<ChunkResult>>> {
        let index = self.indexes.next()?;
        Some(self.render(index, control))
    }

    fn render(&mut self, index: i64, control: &Control) -> Result<WithStorage<ChunkResult>> {
        let mut t = self.fetch.take().unwrap_or_default();
        let result = match chunk_target(&self.out, index, self.format)? {
            Location::Local(path) => self.session.render(index, &path, control)?,
            Location::Remote(dest) => {
                let folder = match &self.local {
                    Some(s) => s.path().to_path_buf(),
                    None => self.local.insert(Scratch::new("chunk")?).path().to_path_buf(),
                };
                let local = folder.join(chunk_name(u32::try_from(index).unwrap_or(0), self.format));
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
    /// One path or URL per chunk, in index order.
    List(Vec<String>),
    /// A folder or prefix holding `chunk-NNN.<ext>` for every chunk of the plan.
    Dir(String),
}

/// Which soundtrack assemble muxes.
#[derive(Debug, Clone)]
pub enum AudioSource {
    /// None.
    None,
    /// This file or URL.
    Given(String),
    /// The plan's own `audio.m4a` when the plan has audio, else none.
    Plan,
}

fn chunk_locations(source: &ChunkSource, plan: &Plan) -> Result<Vec<Location>> {
    match source {
        ChunkSource::List(list) => list.iter().map(|s| Location::parse(s)).collect(),
        ChunkSource::Dir(dir) => {
            let dir = Location::parse(dir)?;
            let format = plan.dimensions.format;
            Ok((0..plan.chunks.len() as u32).map(|i| dir.join(&chunk_name(i, format))).collect())
        }
    }
}

fn resolve_audio(audio: &AudioSource, plan: &Plan, work: &mut Work) -> Result<Option<PathBuf>> {
    match audio {
        AudioSource::None => Ok(None),
        AudioSource::Plan => Ok(if plan.has_audio { plan.audio_path() } else { None }),
        AudioSource::Given(arg) => match Location::parse(arg)? {
            Location::Local(p) => Ok(Some(p)),
            Location::Remote(r) => {
                let dest = work.path()?.join("audio").with_extension(Path::new(arg).extension().unwrap_or_default());
                block_on(transfer::download_file(&r, &dest, Code::AudioMissing, None))??;
                Ok(Some(dest))
            }
        },
    }
}

/// `assemble` with a plan, chunks, soundtrack and output that may be URLs; its transfers report
/// to `options.control` as `Event::Transfer`.
pub fn assemble_at(
    plan: &str,
    chunks: &ChunkSource,
    audio: &AudioSource,
    out: &str,
    options: &AssembleOptions,
) -> Result<WithStorage<AssembleResult>> {
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
    let assembled = match Location::parse(out)? {
        Location::Local(path) => crate::assemble::assemble_from(&plan_dir, &mut feed, audio.as_deref(), &path, options),
        Location::Remote(dest) => {
            let local = work.path()?.join(output_name(loaded.dimensions.format));
            crate::assemble::assemble_from(&plan_dir, &mut feed, audio.as_deref(), &local, options).and_then(
                |mut result| {
                    upload_output(&local, &dest, sink.as_ref(), &mut t)?;
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
fn resolve_project(arg: &str, work: &mut Work, t: &mut StorageTimings) -> Result<PathBuf> {
    match Location::parse(arg)? {
        Location::Local(p) => Ok(p),
        Location::Remote(r) => {
            let started = Instant::now();
            let dir = work.path()?.join("project");
            block_on(transfer::download_dir(&r, &dir, Code::CompositionInvalid, None))??;
            t.download_ms = ms(started);
            Ok(dir)
        }
    }
}

/// `plan` with a project and a plan directory that may be URLs; a remote plan is uploaded with
/// its manifest last. `control` stops it ([`crate::plan::plan_with`]) and receives the upload's
/// `Event::Transfer`.
pub fn plan_at(
    project: &str,
    config: &PlanConfig,
    plan_out: &str,
    control: &Control,
) -> Result<WithStorage<PlanResult>> {
    let sink = transfers(control);
    let mut t = StorageTimings::default();
    let mut work = Work::new("plan");
    let project = resolve_project(project, &mut work, &mut t)?;
    let result = match Location::parse(plan_out)? {
        Location::Local(dir) => crate::plan::plan_with(&project, config, &dir, control)?,
        Location::Remote(dest) => {
            let local = work.path()?.join("plan");
            let mut result = crate::plan::plan_with(&project, config, &local, control)?;
            let started = Instant::now();
            let manifest = block_on(remote_plan::upload(&local, &dest, sink.as_ref()))??;
            t.upload_ms = ms(started);
            t.upload_bytes = manifest.total_bytes;
            result.plan_dir = PathBuf::from(dest.url());
            result
        }
    };
    Ok(WithStorage { result, storage: t })
}

/// `render` with a project and an output that may be URLs; the output's upload reports to
/// `options.control` as `Event::Transfer`.
pub fn render_at(project: &str, options: &RenderOptions, out: &str) -> Result<WithStorage<RenderResult>> {
    let sink = transfers(&options.control);
    let mut t = StorageTimings::default();
    let mut work = Work::new("render");
    let project = resolve_project(project, &mut work, &mut t)?;
    let result = match Location::parse(out)? {
        Location::Local(path) => crate::run::render(&project, options, &path)?,
        Location::Remote(dest) => {
            let local = work.path()?.join(output_name(options.plan.format));
            let mut result = crate::run::render(&project, options, &local)?;
            upload_output(&local, &dest, sink.as_ref(), &mut t)?;
            result.output_path = PathBuf::from(dest.url());
            result
        }
    };
    Ok(WithStorage { result, storage: t })
}

/// `verify` with a file and a plan that may be URLs (both are downloaded first).
pub fn verify_at(file: &str, plan: Option<&str>) -> Result<crate::verify::VerifyReport> {
    let mut t = StorageTimings::default();
    let plan_dir = plan.map(|p| resolve_plan(p, None, &mut t)).transpose()?;
    let mut work = Work::new("verify");
    let path = match Location::parse(file)? {
        Location::Local(p) => p,
        Location::Remote(r) => {
            let ext = r.key().extension().unwrap_or("mp4").to_string();
            let dest = work.path()?.join("output").with_extension(ext);
            block_on(transfer::download_file(&r, &dest, Code::Io, None))??;
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
