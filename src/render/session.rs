//! [`ChunkSession`]: several chunks of one plan rendered by one set of browsers, launched once
//! instead of once per chunk.
//!
//! Validation keeps the contract's order for every chunk (contracts §5): artifacts and protocol
//! when the session opens; then, per chunk, the index, and the libav version (checked once); the
//! software GL, planHash and font verdicts once, when the first chunk's browsers are ready (a
//! failed verdict stands for every later chunk). Every chunk gets its own artifact and sidecar,
//! byte for byte what a one-chunk `render_chunk` writes: before a later chunk each browser opens
//! the page in a new tab and draws frame 0 ([`crate::engine::capture::Capturer::rewind`]).
//! Seeking a loaded page back is not enough: its DOM state is absolute (`renderSeek`), but
//! Chromium's compositor keeps state across frames (a nested-scenes chunk drawn after the chunk
//! before it came out 1 LSB off against the same chunk drawn fresh); and the page loaded again
//! in the same tab keeps its renderer process, whose state showed too (nested-scenes' outro
//! title drawn with the letter-spacing of an earlier time, 24–26 dB, after the chunk that drew
//! its start). So a warm chunk saves the browser launch and the DevTools connection, not the
//! renderer and the page load (about 0.55 s against 2.1 s for a launch, debug build, loaded
//! machine).
//!
//! A chunk that fails or is cancelled ends the session's browsers, and the next chunk launches
//! new ones: after a failure a frame step may still be in flight, the renderer may have crashed
//! or a script may hold the page, and a chunk rendered by such a browser could differ from a
//! fresh one. Only a path that already failed pays the relaunch. The session's scratch directory
//! (browser profiles, `<first out>.work.<pid>.<random>`) lives until the session ends; ending it
//! (drop) kills and reaps every browser first.

use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::model::{ChunkOptions, ChunkResult, Sidecar, StartTimings, Timings};
use super::pipeline::{self, Browsers, PipelineSpec};
use super::validate::{self, ChunkPlan};
use crate::control::Control;
use crate::engine::browser::BrowserBinary;
use crate::error::{Code, Error, Result};
use crate::plan::model::{EncoderConfig, ExtractedVideo};
use crate::plan::Plan;
use crate::publish::unique_suffix;

/// The verdicts of the slow checks (planHash, fonts), computed on a thread while the first
/// browsers boot.
enum Verdicts {
    NotStarted,
    Pending(JoinHandle<(Result<()>, Result<()>, u64)>),
    Passed,
    Failed(Code, String),
}

/// Renders chunks of one plan with browsers that stay open from one chunk to the next.
pub struct ChunkSession {
    rt: tokio::runtime::Runtime,
    plan: Plan,
    options: ChunkOptions,
    /// The libav check passed and the render configuration was read.
    config: Option<(EncoderConfig, Vec<ExtractedVideo>)>,
    binary: Option<BrowserBinary>,
    verdicts: Verdicts,
    /// The browsers, ready for the next chunk (none before the first chunk and after a failure).
    warm: Option<Browsers>,
    /// Launches so far (each relaunch gets fresh profile names).
    generation: u32,
    scratch: Option<Scratch>,
    /// When the session opened: the first chunk's `durationMs` counts from here, as a one-chunk
    /// render counts its checks.
    opened: Option<Instant>,
}

impl ChunkSession {
    /// Open a session over the plan at `plan_dir`: its artifacts are present and its protocol
    /// understood (steps 1–2). `options` gives the browser, their number and the page waits;
    /// its `control` is ignored here (each chunk is given its own [`Control`]).
    /// No browser starts before the first chunk.
    pub fn open(plan_dir: &Path, options: &ChunkOptions) -> Result<ChunkSession> {
        let opened = Instant::now();
        let plan = validate::load_plan(plan_dir)?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| Error::new(Code::Io, format!("starting the async runtime: {e}")))?;
        Ok(ChunkSession {
            rt,
            plan,
            options: ChunkOptions { control: Control::default(), ..options.clone() },
            config: None,
            binary: None,
            verdicts: Verdicts::NotStarted,
            warm: None,
            generation: 0,
            scratch: None,
            opened: Some(opened),
        })
    }

    /// The plan the session renders.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Step 3 for `index` alone: a caller with several indexes checks them all before it
    /// renders any.
    pub fn check_index(&self, index: i64) -> Result<()> {
        validate::chunk_of(&self.plan, index).map(drop)
    }

    /// Render chunk `index` into `out` (a file for mp4/mov/webm, a directory of PNG frames for
    /// png-sequence) and write its sidecar, as [`super::render_chunk`] does. `control` stops this
    /// chunk early with `CANCELLED` (its browsers are ended) and receives its `Event::Frames`.
    pub fn render(&mut self, index: i64, out: &Path, control: &Control) -> Result<ChunkResult> {
        let started = self.opened.take().unwrap_or_else(Instant::now);
        let chunk = validate::chunk_of(&self.plan, index)?;
        let (encoder, videos) = self.configured()?;
        validate::check_gop(&encoder, &chunk, &self.plan.dir)?;
        let plan = ChunkPlan { plan: self.plan.clone(), chunk, encoder, videos };
        if control.is_cancelled() {
            return Err(Error::new(Code::Cancelled, format!("chunk {index} cancelled")));
        }
        let binary = match &self.binary {
            Some(b) => b.clone(),
            None => self.binary.insert(BrowserBinary::find(self.options.browser.as_deref())?).clone(),
        };
        let scratch = match &self.scratch {
            Some(s) => s.0.clone(),
            None => self.scratch.insert(Scratch::create(out)?).0.clone(),
        };
        // A killed predecessor's leftovers for this output go, as before a one-chunk render.
        crate::publish::sweep_stale(out);
        if let Verdicts::NotStarted = self.verdicts {
            self.verdicts = Verdicts::Pending(spawn_checks(&plan));
        }
        let spec = PipelineSpec {
            out: out.to_path_buf(),
            scratch,
            binary,
            browsers: self.options.browsers.unwrap_or_else(default_browsers),
            ready_timeout: self.options.ready_timeout.unwrap_or(Duration::from_secs(20)).min(Duration::from_secs(25)),
            timeline_grace: timeline_grace(&plan.encoder, self.options.timeline_grace),
            control: control.clone(),
        };
        let result = self.capture(&plan, &spec);
        if result.is_err() {
            self.end_browsers();
        }
        let (run, start, hash_ms, warnings) = result?;
        let timings = Timings {
            plan_hash_ms: hash_ms,
            session_boot_ms: start.launch_ms + start.load_ms,
            capture_stage_ms: run.capture_ms,
            encode_stage_ms: run.encode_ms,
            duration_ms: started.elapsed().as_millis() as u64,
        };
        let sidecar = Sidecar {
            plan_hash: plan.plan.plan_hash.clone(),
            chunk_index: plan.chunk.index,
            start_frame: plan.chunk.start_frame,
            end_frame: plan.chunk.end_frame,
            frames_encoded: run.output.frames,
            sha256: run.output.sha256.clone(),
            output_kind: plan.plan.dimensions.format.as_str().to_string(),
            timings,
            workers: spec.browsers,
            capture_mode: run.capture_mode,
            producer_version: crate::producer::PRODUCER_VERSION.to_string(),
            ffmpeg_version: crate::av::ffmpeg_version(),
        };
        crate::sidecar::write(out, &sidecar)?;
        Ok(ChunkResult {
            index: plan.chunk.index,
            frames: run.output.frames,
            sha256: run.output.sha256,
            output_path: out.to_path_buf(),
            capture_mode: run.capture_mode,
            timings,
            start: StartTimings { first_frame_ms: run.first_frame_ms, ..start },
            reused_frames: run.reused_frames,
            warnings,
        })
    }

    /// Step 4 once, and the render configuration read once.
    fn configured(&mut self) -> Result<(EncoderConfig, Vec<ExtractedVideo>)> {
        if self.config.is_none() {
            validate::check_libav(&self.plan)?;
            self.config = Some(validate::render_config(&self.plan)?);
        }
        self.config.clone().ok_or_else(|| Error::new(Code::Io, "the render configuration was not read"))
    }

    /// Browsers ready for the chunk (booted, or rewound), the verdicts, then the pipeline.
    fn capture(
        &mut self,
        plan: &ChunkPlan,
        spec: &PipelineSpec,
    ) -> Result<(pipeline::PipelineOutput, StartTimings, u64, Vec<String>)> {
        let t = Instant::now();
        let frames = plan.chunk.frames().max(1) as usize;
        let mut start = StartTimings::default();
        match self.warm.as_mut() {
            Some(browsers) => {
                self.rt.block_on(browsers.rewind(frames, &spec.control))?;
                start.warm = true;
                start.load_ms = t.elapsed().as_millis() as u64;
            }
            None => {
                let n = spec.browsers.clamp(1, frames);
                let browsers = self.rt.block_on(Browsers::boot(plan, spec, n, self.generation))?;
                self.generation += 1;
                start.launch_ms = browsers.launch_ms;
                start.load_ms = (t.elapsed().as_millis() as u64).saturating_sub(browsers.launch_ms);
                self.warm = Some(browsers);
            }
        }
        let hash_ms = self.verdicts()?;
        let Some(browsers) = self.warm.as_mut() else {
            return Err(Error::new(Code::BrowserCrashed, "the browsers ended before the chunk"));
        };
        let warnings = browsers.warnings();
        let run = pipeline::run(plan, spec, &self.rt, browsers)?;
        Ok((run, start, hash_ms, warnings))
    }

    /// Steps 5–7 in order, once per session: software GL (the first browser's WebGL renderer),
    /// then the planHash and font verdicts. Returns the planHash time for the chunk that waited
    /// for it, 0 after.
    fn verdicts(&mut self) -> Result<u64> {
        match std::mem::replace(&mut self.verdicts, Verdicts::Passed) {
            Verdicts::Passed => Ok(0),
            Verdicts::Failed(code, message) => {
                self.verdicts = Verdicts::Failed(code, message.clone());
                Err(Error::new(code, message))
            }
            Verdicts::NotStarted => Err(Error::new(Code::PlanHashMismatch, "the planHash was not checked")),
            Verdicts::Pending(hashing) => {
                let gl = self.warm.as_ref().and_then(|b| b.gl_renderer.clone());
                let verdict = validate::check_software_gl(gl.as_deref()).and_then(|()| {
                    let (hash, fonts, ms) =
                        hashing.join().map_err(|_| Error::new(Code::PlanHashMismatch, "planHash thread panicked"))?;
                    hash.and(fonts).map(|()| ms)
                });
                if let Err(e) = &verdict {
                    self.verdicts = Verdicts::Failed(e.kind(), e.message().to_string());
                }
                verdict
            }
        }
    }

    /// End the browsers (a failed or cancelled chunk); the next chunk launches new ones.
    fn end_browsers(&mut self) {
        if let Some(browsers) = self.warm.take() {
            self.rt.block_on(browsers.close());
        }
    }

    /// End the session: every browser killed and reaped, then the scratch directory removed.
    #[cfg(feature = "internals")]
    pub fn close(self) {}
}

impl Drop for ChunkSession {
    fn drop(&mut self) {
        self.end_browsers();
        self.scratch.take();
    }
}

/// The planHash and font fingerprint, computed on a thread while the browsers boot.
fn spawn_checks(plan: &ChunkPlan) -> JoinHandle<(Result<()>, Result<()>, u64)> {
    let hash_plan = plan.plan.clone();
    let system_fonts = plan.encoder.system_fonts;
    std::thread::spawn(move || {
        let t = Instant::now();
        let hash = validate::check_hash(&hash_plan);
        let fonts = validate::check_fonts(&hash_plan, system_fonts);
        (hash, fonts, t.elapsed().as_millis() as u64)
    })
}

/// Render chunks `jobs` (index, output) of the plan at `plan_dir` in the order given, with one
/// session: every index is checked before the first chunk renders; the first failure stops
/// the rest. `options.control` stops them and receives each chunk's `Event::Frames` (counted
/// per chunk).
#[cfg(feature = "internals")]
pub fn render_chunks(plan_dir: &Path, jobs: &[(i64, PathBuf)], options: &ChunkOptions) -> Result<Vec<ChunkResult>> {
    let mut session = ChunkSession::open(plan_dir, options)?;
    for (index, _) in jobs {
        session.check_index(*index)?;
    }
    jobs.iter().map(|(index, out)| session.render(*index, out, &options.control)).collect()
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
