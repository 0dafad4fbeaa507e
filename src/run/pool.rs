//! The local worker pool: every chunk of a plan rendered by a few separate browser processes.
//!
//! Contract: `run_pool` returns one finished chunk path per plan chunk, in index order, or
//! the first error that stopped it. Each worker is a thread that takes the next chunk from a
//! shared queue and renders it with one browser of its own, kept warm across the chunks it
//! renders (a [`ChunkSession`]: the page loads once per worker, not once per chunk; a failed or
//! cancelled chunk ends that browser and the worker's next chunk launches a new one). A retryable failure puts
//! the chunk back on the queue after an exponential backoff, up to `max_attempts` runs; a
//! non-retryable one (or the caller's cancel) stops the pool at once: every running chunk is
//! cancelled through its own child [`Control`] and the workers are joined before returning. A chunk
//! that runs far behind the others (longer than `straggler_factor` × the median chunk time, once
//! half the chunks are done and a worker has nothing else to do) is started a second time into
//! another path; the first copy to finish wins and the other is cancelled. The copies are
//! byte-identical by design, so which one wins does not matter.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::progress::{FrameCounter, Reporter, Stage};
use crate::control::{Control, Event};
use crate::error::{Code, Error, Result};
use crate::plan::ChunkSpec;
use crate::render::{ChunkOptions, ChunkSession};

/// Which run of a chunk a worker is about to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg(feature = "internals")]
pub struct Attempt {
    /// The chunk index.
    pub index: u32,
    /// 0 for the first run, 1 for the first retry, …
    pub attempt: u32,
    /// Whether this is the second copy of a straggling chunk.
    pub duplicate: bool,
}

/// A fault-injection hook **for tests**: called by a worker before it renders; returning an
/// error makes that run fail with it, as if `render_chunk` had.
#[cfg(feature = "internals")]
pub type FaultHook = Arc<dyn Fn(&Attempt) -> Option<Error> + Send + Sync>;

/// How failures and stragglers are handled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Runs of one chunk before a retryable error stops the render (at least 1).
    pub max_attempts: u32,
    /// Wait before the first retry; doubled for each further one, at most 8 s.
    pub backoff: Duration,
    /// A chunk running longer than this many median chunk times is started a second time.
    pub straggler_factor: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_attempts: 3, backoff: Duration::from_millis(250), straggler_factor: 2.0 }
    }
}

/// Longest wait before a retry.
pub const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// How long the thread that carries the caller's cancel to the pool waits between its checks
/// that the pool is still running (it is woken at once by a cancel, and by the pool's end).
const WATCH: Duration = Duration::from_secs(3600);

/// What the pool needs.
pub(crate) struct PoolSpec<'a> {
    pub plan_dir: &'a Path,
    pub chunks: &'a [ChunkSpec],
    pub chunk_dir: &'a Path,
    /// `.mp4`, `.mov`, or empty for frame directories.
    pub extension: &'static str,
    pub workers: usize,
    pub browser: Option<PathBuf>,
    pub policy: RetryPolicy,
    #[cfg(feature = "internals")]
    pub fault: Option<FaultHook>,
    /// The caller's token: every chunk copy runs under a child of it.
    pub control: Control,
    pub reporter: Arc<Reporter>,
    pub total_frames: i64,
}

/// What the pool produced.
#[derive(Debug)]
pub(crate) struct PoolOutcome {
    pub chunks: Vec<PathBuf>,
    pub retries: u32,
    pub duplicates: u32,
}

#[derive(Debug, Clone, Copy)]
struct Task {
    index: usize,
    attempt: u32,
    duplicate: bool,
    not_before: Instant,
}

struct Copy {
    duplicate: bool,
    attempt: u32,
    started: Instant,
    /// Cancels this copy alone (the other copy won, or the pool stopped).
    control: Control,
}

#[derive(Default)]
struct Slot {
    running: Vec<Copy>,
    done: Option<PathBuf>,
    duplicated: bool,
}

struct State {
    tasks: Vec<Task>,
    slots: Vec<Slot>,
    done: usize,
    idle: usize,
    times: Vec<Duration>,
    failure: Option<Error>,
    stop: bool,
    retries: u32,
    duplicates: u32,
}

struct Shared<'a> {
    spec: &'a PoolSpec<'a>,
    state: Mutex<State>,
    wake: Condvar,
    frames: Arc<FrameCounter>,
}

fn lock<'m>(m: &'m Mutex<State>) -> MutexGuard<'m, State> {
    // A panicking worker cannot leave the state half-updated in a way that matters more than
    // stopping the render, which the poisoned state still allows.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Render every chunk of the plan with `spec.workers` workers.
pub(crate) fn run_pool(spec: &PoolSpec<'_>) -> Result<PoolOutcome> {
    let n = spec.chunks.len();
    let now = Instant::now();
    let state = State {
        tasks: (0..n).map(|index| Task { index, attempt: 0, duplicate: false, not_before: now }).collect(),
        slots: (0..n).map(|_| Slot::default()).collect(),
        done: 0,
        idle: 0,
        times: Vec::new(),
        failure: None,
        stop: false,
        retries: 0,
        duplicates: 0,
    };
    let shared =
        Shared { spec, state: Mutex::new(state), wake: Condvar::new(), frames: Arc::new(FrameCounter::new(n)) };
    spec.reporter.report(Stage::Render, 0, 0.0, true);
    // Cancelled by the caller's cancel, or by the coordinator once the pool ends.
    let running = spec.control.child();
    std::thread::scope(|scope| {
        scope.spawn(|| watch_cancel(&shared, &running));
        for _ in 0..spec.workers.clamp(1, n.max(1)) {
            scope.spawn(|| worker(&shared));
        }
        coordinate(&shared);
        running.cancel();
    });
    let mut state = lock(&shared.state);
    if let Some(err) = state.failure.take() {
        return Err(err);
    }
    let chunks = state.slots.iter_mut().filter_map(|s| s.done.take()).collect::<Vec<_>>();
    if chunks.len() != n {
        return Err(Error::new(Code::Cancelled, "the worker pool stopped before every chunk was rendered"));
    }
    spec.reporter.report(Stage::Render, spec.total_frames, 1.0, true);
    Ok(PoolOutcome { chunks, retries: state.retries, duplicates: state.duplicates })
}

/// Wake the coordinator when the caller cancels (`running`, a child of the caller's control,
/// is also cancelled when the pool ends, which ends this thread).
fn watch_cancel(shared: &Shared<'_>, running: &Control) {
    while !running.wait_timeout(WATCH) {}
    let _state = lock(&shared.state);
    shared.wake.notify_all();
}

/// The calling thread's loop: stop on the caller's cancel and start second copies of
/// stragglers until every chunk is done or the pool stops. It sleeps until something changes
/// (a chunk ends, a worker goes idle, a cancel) or the next running chunk would become a
/// straggler.
fn coordinate(shared: &Shared<'_>) {
    let mut state = lock(&shared.state);
    loop {
        if shared.spec.control.is_cancelled() {
            fail(&mut state, Error::new(Code::Cancelled, "render cancelled"));
        }
        if state.stop || state.done == state.slots.len() {
            break;
        }
        let due = schedule_duplicates(shared, &mut state);
        state = wait(&shared.wake, state, due);
    }
    // Losing copies of finished chunks are cancelled; idle workers wake up and leave.
    stop(&mut state);
    shared.wake.notify_all();
}

/// Stop the pool with `err` unless it already stopped.
fn fail(state: &mut State, err: Error) {
    if state.failure.is_none() && !state.stop {
        state.failure = Some(err);
    }
    stop(state);
}

fn stop(state: &mut State) {
    state.stop = true;
    for copy in state.slots.iter().flat_map(|s| s.running.iter()) {
        copy.control.cancel();
    }
}

/// Wait on `wake` until notified, or `due` has passed when given.
fn wait<'a>(wake: &Condvar, state: MutexGuard<'a, State>, due: Option<Duration>) -> MutexGuard<'a, State> {
    match due {
        Some(due) => wake.wait_timeout(state, due).map(|(guard, _)| guard).unwrap_or_else(|p| p.into_inner().0),
        None => wake.wait(state).unwrap_or_else(PoisonError::into_inner),
    }
}

fn median(times: &[Duration]) -> Option<Duration> {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted.get(sorted.len() / 2).copied()
}

/// Start a second copy of a straggler when a worker is idle; how long until a running chunk
/// becomes one (`None`: no chunk can until something else changes).
fn schedule_duplicates(shared: &Shared<'_>, state: &mut State) -> Option<Duration> {
    let n = state.slots.len();
    if !state.tasks.is_empty() || state.idle == 0 || state.done * 2 < n {
        return None;
    }
    let median = median(&state.times)?;
    let threshold = median.mul_f64(shared.spec.policy.straggler_factor.max(1.0));
    let now = Instant::now();
    let candidate = |s: &Slot| s.done.is_none() && !s.duplicated && s.running.len() == 1 && !s.running[0].duplicate;
    let straggler =
        state.slots.iter().position(|s| candidate(s) && now.duration_since(s.running[0].started) > threshold);
    let Some(index) = straggler else {
        // The first candidate to cross the threshold, just after it does.
        return state
            .slots
            .iter()
            .filter(|s| candidate(s))
            .map(|s| (s.running[0].started + threshold).saturating_duration_since(now) + Duration::from_millis(1))
            .min();
    };
    let attempt = state.slots[index].running.first().map_or(0, |c| c.attempt);
    state.slots[index].duplicated = true;
    state.duplicates += 1;
    state.tasks.push(Task { index, attempt, duplicate: true, not_before: now });
    shared.spec.reporter.notice(format!(
        "chunk {index} has run {:.1} s, more than {:.1}× the median chunk ({:.1} s); starting a second copy",
        now.duration_since(state.slots[index].running[0].started).as_secs_f64(),
        shared.spec.policy.straggler_factor,
        median.as_secs_f64()
    ));
    shared.wake.notify_all();
    None
}

/// A worker: its session (opened with its first chunk, kept across the next ones) renders
/// every task it takes; the session ends, browsers reaped, when the pool stops.
fn worker(shared: &Shared<'_>) {
    let mut session: Option<ChunkSession> = None;
    while let Some((task, control)) = next_task(shared) {
        let started = Instant::now();
        let result = run_task(shared, &mut session, &task, &control);
        finish_task(shared, task, &control, started.elapsed(), result);
    }
}

/// Wait for a task that is due; `None` once the pool stops or every chunk is done.
fn next_task(shared: &Shared<'_>) -> Option<(Task, Control)> {
    let mut state = lock(&shared.state);
    let mut told_idle = false;
    loop {
        if state.stop || state.done == state.slots.len() {
            return None;
        }
        // A queued second copy whose chunk has finished meanwhile is dropped.
        let State { tasks, slots, .. } = &mut *state;
        tasks.retain(|t| slots[t.index].done.is_none());
        let now = Instant::now();
        let earliest = state.tasks.iter().enumerate().min_by_key(|(_, t)| t.not_before).map(|(i, t)| (i, *t));
        let due = match earliest {
            Some((i, task)) if task.not_before <= now => {
                state.tasks.swap_remove(i);
                let control = shared.spec.control.child_with_events(None);
                let copy =
                    Copy { duplicate: task.duplicate, attempt: task.attempt, started: now, control: control.clone() };
                state.slots[task.index].running.push(copy);
                return Some((task, control));
            }
            Some((_, task)) => Some(task.not_before - now),
            None => None,
        };
        state.idle += 1;
        if !told_idle {
            // An idle worker is what a straggler's second copy waits for: the coordinator looks.
            told_idle = true;
            shared.wake.notify_all();
        }
        state = wait(&shared.wake, state, due);
        state.idle -= 1;
    }
}

fn chunk_path(spec: &PoolSpec<'_>, index: usize, duplicate: bool) -> PathBuf {
    let copy = if duplicate { ".dup" } else { "" };
    spec.chunk_dir.join(format!("chunk-{index:03}{copy}{}", spec.extension))
}

/// One run of one chunk: the fault hook, then the worker's session renders it.
fn run_task(
    shared: &Shared<'_>,
    session: &mut Option<ChunkSession>,
    task: &Task,
    control: &Control,
) -> Result<PathBuf> {
    let spec = shared.spec;
    let index = u32::try_from(task.index).unwrap_or(u32::MAX);
    #[cfg(feature = "internals")]
    if let Some(hook) = &spec.fault {
        if let Some(err) = hook(&Attempt { index, attempt: task.attempt, duplicate: task.duplicate }) {
            return Err(err);
        }
    }
    if control.is_cancelled() {
        return Err(Error::new(Code::Cancelled, format!("chunk {index} cancelled")));
    }
    let out = chunk_path(spec, task.index, task.duplicate);
    let (frames, reporter) = (Arc::clone(&shared.frames), Arc::clone(&spec.reporter));
    let (slot, total) = (task.index, spec.total_frames.max(1));
    let progress = Arc::new(move |event: &Event| {
        if let Event::Frames { done: encoded, .. } = event {
            let done = frames.update(slot, *encoded);
            reporter.report(Stage::Render, done, done as f64 / total as f64, false);
        }
    });
    let session = match session {
        Some(s) => s,
        None => {
            let options = ChunkOptions { browser: spec.browser.clone(), browsers: Some(1), ..Default::default() };
            session.insert(ChunkSession::open(spec.plan_dir, &options)?)
        }
    };
    // Cancelled with the copy; its frame counts go into the render's overall progress.
    let control = control.child_with_events(Some(progress));
    session.render(i64::from(index), &out, &control).map(|r| r.output_path)
}

/// Record how a run ended: a first finish wins its chunk; a failure is retried, left to the
/// chunk's other copy, ignored (cancelled by us), or stops the pool.
fn finish_task(shared: &Shared<'_>, task: Task, control: &Control, took: Duration, result: Result<PathBuf>) {
    let spec = shared.spec;
    let mut state = lock(&shared.state);
    let slot = &mut state.slots[task.index];
    slot.running.retain(|c| !c.control.is_same(control));
    let already_done = slot.done.is_some();
    let others_running = !slot.running.is_empty();
    match result {
        Ok(path) if already_done => remove_artifact(&path),
        Ok(path) => {
            for other in &slot.running {
                other.control.cancel();
            }
            if slot.duplicated {
                let which = if task.duplicate { "second" } else { "first" };
                spec.reporter.notice(format!("chunk {}: the {which} copy finished first and wins", task.index));
            }
            slot.done = Some(path);
            state.done += 1;
            state.times.push(took);
            let frames = spec.chunks.get(task.index).map_or(0, |c| c.end_frame - c.start_frame);
            let done = shared.frames.update(task.index, frames);
            spec.reporter.report(Stage::Render, done, done as f64 / spec.total_frames.max(1) as f64, false);
        }
        Err(_) if state.stop || already_done || control.is_cancelled() => {}
        Err(err) if !err.is_retryable() => fail(&mut state, err),
        Err(err) if others_running => {
            spec.reporter.notice(format!("a copy of chunk {} failed ({err}); its other copy carries on", task.index));
        }
        Err(err) => retry_or_fail(spec, &mut state, task, err),
    }
    shared.wake.notify_all();
}

/// A retryable failure of a chunk's only copy: back on the queue after the backoff while runs
/// remain, else the render fails with it.
fn retry_or_fail(spec: &PoolSpec<'_>, state: &mut State, task: Task, err: Error) {
    let runs = task.attempt + 1;
    if runs >= spec.policy.max_attempts.max(1) {
        fail(state, err.prefixed(&format!("chunk {} failed {runs} time(s)", task.index)));
        return;
    }
    let delay = spec.policy.backoff.saturating_mul(1 << task.attempt.min(16)).min(MAX_BACKOFF);
    spec.reporter.notice(format!(
        "chunk {} failed with a retryable error ({err}); retrying in {} ms (run {} of {})",
        task.index,
        delay.as_millis(),
        runs + 1,
        spec.policy.max_attempts
    ));
    state.retries += 1;
    state.tasks.push(Task { attempt: runs, not_before: Instant::now() + delay, ..task });
}

/// Remove a losing copy's chunk and its sidecar (best effort: the work directory goes anyway).
fn remove_artifact(path: &Path) {
    let _ = if path.is_dir() { std::fs::remove_dir_all(path) } else { std::fs::remove_file(path) };
    let _ = std::fs::remove_file(crate::sidecar::path(path));
}
