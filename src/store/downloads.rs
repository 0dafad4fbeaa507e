//! Chunks for assemble that download while the concat runs: the [`ChunkFeed`] of `assemble_at`.
//!
//! - [`ChunkFeed::prepare`] checks, for every chunk in index order, that its object exists (a
//!   HEAD, or a listing for a PNG frame prefix: `MISSING_CHUNK`) and fetches its sidecar (small,
//!   optional), so count, presence and planHash are checked for all chunks before any output.
//! - One private runtime serves the feed (the presence checks and the bodies share its
//!   connection pool). The first [`ChunkFeed::ready`] starts the bodies downloading from a
//!   background thread: they start in index order, at most [`DOWNLOADS_IN_FLIGHT`] at once,
//!   each a spawned task that streams to a staging file beside its scratch path (sha256 computed
//!   on the way, renamed into place when whole; see [`transfer`]). Finished chunks are handed
//!   over in index order through a rendezvous channel, and [`ChunkFeed::release`] deletes a
//!   downloaded chunk once it was copied, so local disk holds at most `DOWNLOADS_IN_FLIGHT + 1`
//!   chunks: the one being copied, the next one waiting to be handed over, and the others
//!   started (the in-order buffer refills only when the next chunk is taken).
//! - Dropping the feed (assemble failed, was cancelled, or is done) stops the thread, then drops
//!   the runtime, which cancels the downloads still running and waits for the file operations in
//!   progress, so once it returns nothing more is written into the feed's scratch folder, which
//!   is then removed whole. Local chunks are read in place and never deleted.
//!
//! Errors keep their codes (`MISSING_CHUNK`, retryable `STORAGE_UNAVAILABLE`, ...) and are
//! prefixed with the chunk's index; the message names the URL.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use futures_util::{StreamExt, TryStreamExt};
use tokio::runtime::{Handle, Runtime};
use tokio::sync::oneshot;

use super::cache::Scratch;
use super::chunks::DOWNLOADS_IN_FLIGHT;
use super::transfer;
use super::{Location, Remote};
use crate::assemble::check::sidecar_path;
use crate::assemble::feed::ChunkFeed;
use crate::control::Control;
use crate::error::{Code, Error, Result};
use crate::plan::format::Container;
use crate::plan::OutputFormat;

/// Chunk presence checks and sidecar fetches in flight at once (small requests).
const PREPARE_IN_FLIGHT: usize = 8;

/// One body to fetch.
#[derive(Clone)]
struct Job {
    index: usize,
    src: Remote,
    dest: PathBuf,
    dir: bool,
    sink: Option<Control>,
}

/// A finished download: the chunk index and the sha256 of its bytes (`None` for a frame folder).
type Arrival = (usize, Result<Option<String>>);

/// The background downloader: dropped, it stops and waits until nothing more is written.
struct Worker {
    arrivals: Option<Receiver<Arrival>>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Wake the thread whether it waits on the network (stop) or on a hand-over (arrivals).
        drop(self.stop.take());
        drop(self.arrivals.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The chunks of one assemble: local paths as they are, remote objects downloaded into a
/// scratch folder as the concat reaches them.
pub struct ChunkDownloads {
    sources: Vec<Location>,
    paths: Vec<PathBuf>,
    format: OutputFormat,
    sink: Option<Control>,
    waited: Duration,
    // Dropped in this order: the thread stops, the runtime cancels what still runs and waits for
    // its file operations, then the folder goes.
    worker: Option<Worker>,
    runtime: Option<Runtime>,
    #[cfg_attr(not(feature = "internals"), allow(dead_code))]
    scratch: Option<Scratch>,
}

fn runtime() -> Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("chunk-store")
        .enable_all()
        .build()
        .map_err(|e| Error::io("starting the transfer runtime for", Path::new("chunk downloads"), e))
}

impl ChunkDownloads {
    /// Chunks at `sources` (one per plan chunk, in index order), remote ones to be downloaded
    /// into a scratch folder of their own under `parent` (made only when a chunk is remote, and
    /// removed with everything in it when the feed is dropped), under index-prefixed names (two
    /// chunks with one base name in different prefixes never collide).
    pub fn new(sources: Vec<Location>, format: OutputFormat, parent: &Path, sink: Option<Control>) -> Result<Self> {
        let any_remote = sources.iter().any(|s| s.local().is_none());
        let scratch = if any_remote { Some(Scratch::under(parent, "chunks")?) } else { None };
        let runtime = if any_remote { Some(runtime()?) } else { None };
        let dir = scratch.as_ref().map_or(parent, Scratch::path);
        let paths = sources
            .iter()
            .enumerate()
            .map(|(i, source)| match source {
                Location::Local(p) => p.clone(),
                Location::Remote(r) => {
                    let name = r.key().filename().map(str::to_string).unwrap_or_else(|| format!("chunk-{i:03}"));
                    dir.join(format!("{i:05}-{name}"))
                }
            })
            .collect();
        Ok(ChunkDownloads { sources, paths, format, sink, waited: Duration::ZERO, worker: None, runtime, scratch })
    }

    /// The folder downloads go to (`None` when every chunk is local).
    #[cfg(feature = "internals")]
    pub fn scratch(&self) -> Option<&Path> {
        self.scratch.as_ref().map(Scratch::path)
    }

    /// Time spent before the copy could go on: presence checks, sidecars, and waits for bodies
    /// not yet downloaded (the rest of the downloading overlapped the copy).
    pub fn waited(&self) -> Duration {
        self.waited
    }

    fn remote(&self, i: usize) -> Option<&Remote> {
        match &self.sources[i] {
            Location::Remote(r) => Some(r),
            Location::Local(_) => None,
        }
    }

    /// Start the download thread; it hands over `CANCELLED` (instead of the next chunk) once
    /// `control` is cancelled, so a wait for a chunk wakes at once.
    fn start(&mut self, runtime: Handle, control: Control) -> Worker {
        let dir = self.format.spec().container == Container::FrameDir;
        let jobs: Vec<Job> = (0..self.sources.len())
            .filter_map(|index| {
                let src = self.remote(index)?.clone();
                Some(Job { index, src, dest: self.paths[index].clone(), dir, sink: self.sink.clone() })
            })
            .collect();
        let (hand, arrivals) = mpsc::sync_channel(0);
        let (stop, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("chunk-downloads".into())
            .spawn(move || download_all(&runtime, jobs, hand, stopped, &control))
            .ok();
        Worker { arrivals: Some(arrivals), stop: Some(stop), thread }
    }

    fn wait(&mut self, i: usize, control: &Control) -> Result<Option<String>> {
        if control.is_cancelled() {
            return Err(cancelled());
        }
        if self.worker.is_none() {
            let handle = self.runtime.as_ref().map(|r| r.handle().clone()).ok_or_else(|| no_runtime(i))?;
            self.worker = Some(self.start(handle, control.clone()));
        }
        let ended = || Error::new(Code::MediaFailed, format!("chunk {i}: the download thread ended early"));
        let arrivals = self.worker.as_ref().and_then(|w| w.arrivals.as_ref()).ok_or_else(ended)?;
        match arrivals.recv() {
            Ok((_, Err(e))) if e.kind() == Code::Cancelled => Err(e),
            Ok((index, result)) if index == i => result,
            Ok((index, _)) => {
                let msg = format!("chunk {index} arrived while chunk {i} was awaited");
                Err(Error::new(Code::MediaFailed, msg))
            }
            Err(_) => Err(ended()),
        }
    }
}

impl ChunkFeed for ChunkDownloads {
    fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    fn prepare(&mut self) -> Result<()> {
        let started = Instant::now();
        let dir = self.format.spec().container == Container::FrameDir;
        let checks = self.sources.iter().zip(&self.paths).enumerate().map(|(i, (source, path))| async move {
            match source {
                Location::Local(p) if std::fs::symlink_metadata(p).is_ok() => Ok(()),
                Location::Local(p) => {
                    Err(Error::new(Code::MissingChunk, format!("chunk {i} not found at {}", p.display())))
                }
                Location::Remote(r) => prepare_one(i, r, path, dir).await,
            }
        });
        // In index order: the first failing chunk is the one reported.
        let all = futures_util::stream::iter(checks).buffered(PREPARE_IN_FLIGHT).try_collect::<Vec<()>>();
        let checked = match &self.runtime {
            Some(runtime) => runtime.block_on(all).map(|_| ()),
            // Every chunk is local: nothing in `all` awaits anything.
            None => crate::assemble::feed::present(&self.paths),
        };
        self.waited += started.elapsed();
        checked
    }

    fn all_local(&self) -> bool {
        self.sources.iter().all(|s| s.local().is_some())
    }

    fn origin(&self, i: usize) -> Option<String> {
        self.remote(i).map(Remote::url)
    }

    fn ready(&mut self, i: usize, control: &Control) -> Result<Option<String>> {
        if self.remote(i).is_none() {
            return Ok(None);
        }
        let started = Instant::now();
        let got = self.wait(i, control);
        self.waited += started.elapsed();
        got
    }

    fn release(&mut self, i: usize) {
        if self.remote(i).is_none() {
            return;
        }
        let path = &self.paths[i];
        // Best effort: the scratch folder is removed whole when the command ends.
        let _ = if path.is_dir() { std::fs::remove_dir_all(path) } else { std::fs::remove_file(path) };
        let _ = std::fs::remove_file(sidecar_path(path));
    }
}

/// Chunk `i`'s object exists at `src`, and its sidecar (if any) is at `path`'s sidecar path.
async fn prepare_one(i: usize, src: &Remote, path: &Path, dir: bool) -> Result<()> {
    let present = if dir {
        !transfer::list(src).await?.is_empty()
    } else {
        transfer::with_retries(|| transfer::exists(src)).await?
    };
    if !present {
        return Err(Error::new(Code::MissingChunk, format!("chunk {i} not found at {}", src.url())));
    }
    let sidecar = src.with_suffix(".perf.json");
    // The sidecar is optional (contracts §6): absent, the chunk is checked without it.
    match transfer::download_file(&sidecar, &sidecar_path(path), Code::MissingChunk, None).await {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == Code::MissingChunk => Ok(()),
        Err(e) => Err(e.prefixed(&format!("chunk {i} sidecar"))),
    }
}

/// Download one chunk body; its index and the sha256 of a file's bytes.
async fn fetch(job: Job) -> Arrival {
    let sink = job.sink.as_ref();
    let got = if job.dir {
        transfer::download_dir(&job.src, &job.dest, Code::MissingChunk, sink).await.map(|_| None)
    } else {
        transfer::download_file(&job.src, &job.dest, Code::MissingChunk, sink).await.map(|d| Some(d.sha256))
    };
    (job.index, got.map_err(|e| e.prefixed(&format!("chunk {}", job.index))))
}

/// The background thread: download `jobs` (spawned tasks, bounded, started in index order) and
/// hand each over in order, until all are handed over, the receiver is gone, or `stop` fires.
/// Once `control` is cancelled it hands over `CANCELLED` instead and ends.
fn download_all(
    runtime: &Handle,
    jobs: Vec<Job>,
    hand: SyncSender<Arrival>,
    mut stop: oneshot::Receiver<()>,
    control: &Control,
) {
    let tasks = futures_util::stream::iter(jobs).map(|job| {
        let index = job.index;
        let task = tokio::spawn(fetch(job));
        async move {
            task.await.unwrap_or_else(|e| (index, Err(Error::new(Code::MediaFailed, format!("chunk {index}: {e}")))))
        }
    });
    let mut tasks = Box::pin(tasks.buffered(DOWNLOADS_IN_FLIGHT));
    loop {
        let next = runtime.block_on(async {
            tokio::select! {
                arrival = tasks.next() => arrival,
                _ = &mut stop => None,
                () = control.cancelled() => Some((usize::MAX, Err(cancelled()))),
            }
        });
        let Some(arrival) = next else { break };
        let failed = arrival.1.is_err();
        // Blocks until the concat asks for this chunk; spawned downloads go on meanwhile.
        if hand.send(arrival).is_err() || failed {
            break;
        }
    }
    // Downloads still running are cancelled when the feed drops the runtime.
    drop(tasks);
}

fn cancelled() -> Error {
    Error::new(Code::Cancelled, "assemble cancelled")
}

fn no_runtime(i: usize) -> Error {
    Error::new(Code::MediaFailed, format!("chunk {i}: no transfer runtime for a remote chunk"))
}
