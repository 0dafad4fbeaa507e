//! The capture → decode → encode pipeline of one chunk.
//!
//! Capture runs in `browsers` separate browser processes ([`Browsers`], booted once and kept by a
//! session across chunks), browser `i` taking frames `start + i, start + i + browsers, …`; a
//! decode thread (`super::decode`) puts frames back in order and turns the captured JPEG/PNG
//! into yuv420p or RGBA; an encode thread feeds the chunk writer and hands the frame buffers
//! back. Bounded channels and a window on how far capture may run ahead of the encoder keep
//! memory flat, and since each stage has its own thread, the CPU is never idle waiting on
//! Chromium.

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use super::decode::{decode_loop, Captured, DecodeSpec, Decoded, Pixels};
use super::encode::{ChunkEncoding, ChunkOutput, ChunkWriter};
use super::halt::Halt;
use super::validate::ChunkPlan;
use crate::av::image::ImageCodec;
use crate::av::video::{VideoCodec, VideoEncoderConfig};
use crate::control::{Control, Event, Stage};
use crate::engine::browser::BrowserBinary;
use crate::engine::capture::{Capturer, PageSpec, ShotFormat};
use crate::engine::policy::Policy;
use crate::engine::server::FileServer;
use crate::error::{Code, Error, Result};
use crate::plan::format::{CaptureFormat, Encoder, PixelFormat};
use crate::plan::layout::PlanLayout;
use crate::plan::model::CaptureMode;
use crate::runtime::Runtime as PageRuntime;
use crate::time::FrameRange;
use tokio::runtime::Runtime;
use tokio::sync::Notify;

/// How far (in frames) capture may run ahead of the encoder, per browser.
const AHEAD_PER_BROWSER: i64 = 4;

/// Everything the pipeline needs besides the plan.
pub struct PipelineSpec {
    /// Where the chunk goes.
    pub out: PathBuf,
    /// Scratch directory (browser profiles).
    pub scratch: PathBuf,
    /// The browser binary.
    pub binary: BrowserBinary,
    /// Browser processes sharing the chunk.
    pub browsers: usize,
    /// Bound on waiting for the page to become ready.
    pub ready_timeout: Duration,
    /// Bound on waiting for a composition timeline that may never register.
    pub timeline_grace: Duration,
    /// Cancelled to stop early with `CANCELLED`; receives `Event::Frames` (stage `Render`) as
    /// frames are encoded.
    pub control: Control,
}

/// What the pipeline produced and how long its stages took.
#[derive(Debug, Clone)]
pub struct PipelineOutput {
    /// The published chunk.
    pub output: ChunkOutput,
    /// How frames were captured.
    pub capture_mode: CaptureMode,
    /// From the start of capture until the last frame was captured, in ms.
    pub capture_ms: u64,
    /// From the start of capture until the chunk's first frame was captured, in ms.
    pub first_frame_ms: u64,
    /// Time the encoder thread spent encoding, in ms.
    pub encode_ms: u64,
    /// Frames captured byte for byte as their browser's previous one: that picture was reused.
    pub reused_frames: u64,
}

/// The browsers of a render and the file server their page comes from, each page loaded and
/// ready. They capture one chunk after another ([`run`]); between two chunks each page is
/// loaded again in its running browser ([`Browsers::rewind`]) rather than a browser launched.
pub struct Browsers {
    /// Keeps serving the page (and its fonts, images, video frames) while the browsers live.
    _server: FileServer,
    capturers: Vec<Capturer>,
    /// The WebGL renderer the first browser reported.
    pub gl_renderer: Option<String>,
    /// The slowest browser's start (process and DevTools connection), in ms.
    pub launch_ms: u64,
}

impl Browsers {
    /// Start the file server and `n` browsers (profiles under `spec.scratch`, named with
    /// `generation` so that a relaunch never meets an earlier profile), and load the page in
    /// each. A browser that fails ends the others before the error returns.
    pub async fn boot(plan: &ChunkPlan, spec: &PipelineSpec, n: usize, generation: u32) -> Result<Browsers> {
        let runtime = match &plan.encoder.runtime {
            Some(record) => Some(PageRuntime::from_plan(&plan.plan.dir, record)?),
            None => None,
        };
        let site = PlanLayout::new(&plan.plan.dir).site(runtime.as_ref().map(|r| r.source.as_str()))?;
        let server = FileServer::start(site).await?;
        let opens = (0..n.max(1)).map(|i| open_one(plan, spec, &server, i, generation));
        let mut capturers = Vec::with_capacity(n);
        let mut first_err = None;
        for r in futures_util::future::join_all(opens).await {
            match r {
                Ok(c) => capturers.push(c),
                Err(e) => first_err = first_err.or(Some(e)),
            }
        }
        if let Some(e) = first_err {
            close_all(capturers).await;
            return Err(e);
        }
        let gl_renderer = match capturers.first_mut() {
            Some(c) => c.webgl_renderer().await,
            None => None,
        };
        let launch_ms = capturers.iter().map(Capturer::launch_ms).max().unwrap_or(0);
        Ok(Browsers { _server: server, capturers, gl_renderer, launch_ms })
    }

    /// How many browsers there are.
    pub fn len(&self) -> usize {
        self.capturers.len()
    }

    /// Whether there are none (never, once booted).
    #[cfg(feature = "internals")]
    pub fn is_empty(&self) -> bool {
        self.capturers.is_empty()
    }

    /// How frames are captured.
    pub fn mode(&self) -> CaptureMode {
        self.capturers.first().map(Capturer::mode).unwrap_or(CaptureMode::BeginFrame)
    }

    /// What the page said while getting ready. Every browser loads the same page; the first
    /// one's notes stand for all.
    pub fn warnings(&self) -> Vec<String> {
        self.capturers.first().map(|c| c.warnings().to_vec()).unwrap_or_default()
    }

    /// Make the first `n` pages ready for another chunk ([`Capturer::rewind`]), all at once;
    /// `CANCELLED` as soon as `control` is cancelled.
    pub async fn rewind(&mut self, n: usize, control: &Control) -> Result<()> {
        let rewinds = self.capturers.iter_mut().take(n).map(Capturer::rewind);
        tokio::select! {
            results = futures_util::future::join_all(rewinds) => {
                results.into_iter().collect::<Result<Vec<()>>>().map(drop)
            }
            () = control.cancelled() => Err(Error::new(Code::Cancelled, "render cancelled")),
        }
    }

    /// End every browser: each process group killed and reaped, each profile removed.
    pub async fn close(self) {
        close_all(self.capturers).await;
    }
}

/// Render `plan.chunk` into `spec.out` with `browsers`, all ready (freshly booted, or rewound).
/// The first `min(browsers, frames)` of them capture, browser `i` taking frames `start + i`,
/// `start + i + n`, …; they stay open for the next chunk. After a failure their state is
/// unknown (a frame step may still be in flight), so the caller ends them.
pub fn run(plan: &ChunkPlan, spec: &PipelineSpec, rt: &Runtime, browsers: &mut Browsers) -> Result<PipelineOutput> {
    let n = browsers.len().clamp(1, plan.chunk.frames().max(1) as usize);
    let (raw_tx, raw_rx) = tokio::sync::mpsc::channel::<Captured>(n * 2 + 2);
    let (frame_tx, frame_rx) = sync_channel::<Decoded>(3);
    let (recycle_tx, recycle_rx) = channel::<Pixels>();
    let next = Arc::new(AtomicI64::new(plan.chunk.start_frame));
    let advanced = Arc::new(Notify::new());
    let halt = Halt::new(&spec.control);
    let d = plan.plan.dimensions;
    let decode = DecodeSpec {
        codec: match plan.encoder.capture_format {
            CaptureFormat::Png => ImageCodec::Png,
            CaptureFormat::Jpeg => ImageCodec::Jpeg,
        },
        width: d.width,
        height: d.height,
        page: plan.encoder.page_size.unwrap_or((d.width, d.height)),
        // yuv420p encoders get their frames converted here, beside the encoder rather than in
        // front of it.
        to_yuv: match plan.encoder.pixel_format {
            PixelFormat::Yuv420p => true,
            PixelFormat::Yuva444p10le | PixelFormat::Rgba | PixelFormat::Yuva420p => false,
        },
        first: plan.chunk.start_frame,
        browsers: n,
        halt: halt.clone(),
    };
    let decoder = std::thread::spawn(move || decode_loop(raw_rx, frame_tx, recycle_rx, decode));
    let sink = Sink {
        recycle: recycle_tx,
        out: spec.out.clone(),
        encoding: chunk_encoding(plan),
        range: plan.chunk.range(),
        next: Arc::clone(&next),
        advanced: Arc::clone(&advanced),
        control: spec.control.clone(),
        halt: halt.clone(),
    };
    let encoder = std::thread::spawn(move || encode_loop(sink, frame_rx));
    let flow = Flow { tx: raw_tx, next, advanced, halt: halt.clone(), first_at: Arc::default() };
    let started = Instant::now();
    let captured = rt.block_on(capture_all(plan, &mut browsers.capturers[..n], flow.clone()));
    drop(flow.tx);
    if captured.is_err() {
        halt.fail();
    }
    let decoded = decoder.join().unwrap_or_else(|_| Err(Error::new(Code::MediaFailed, "frame decoder panicked")));
    let encoded = encoder.join().unwrap_or_else(|_| Err(Error::new(Code::MediaFailed, "chunk encoder panicked")));
    // A cancelled chunk is CANCELLED whichever stage stopped first: a frame in flight when the
    // flag was set may still come back as a capture error (its browser is being ended).
    if halt.cancelled() && (captured.is_err() || decoded.is_err() || encoded.is_err()) {
        return Err(Error::new(Code::Cancelled, "render cancelled"));
    }
    let capture_ms = captured?;
    let reused_frames = decoded?;
    let (output, encode_ms) = encoded?;
    let first_frame_ms = flow.first_at.get().map_or(0, |t| t.duration_since(started).as_millis() as u64);
    Ok(PipelineOutput { output, capture_mode: browsers.mode(), capture_ms, first_frame_ms, encode_ms, reused_frames })
}

/// The chunk encoder `meta/encoder.json` locks (checked against the plan's format when read).
fn chunk_encoding(plan: &ChunkPlan) -> ChunkEncoding {
    let e = &plan.encoder;
    let d = plan.plan.dimensions;
    let video = |codec| {
        let config = VideoEncoderConfig { width: d.width, height: d.height, fps: d.fps, gop: e.gop_size, codec };
        ChunkEncoding::Video(d.format.spec().container, config)
    };
    match e.encoder {
        Encoder::Libx264 => video(VideoCodec::H264 {
            preset: e.preset.clone(),
            crf: e.crf,
            bitrate: e.bitrate,
            threads: e.encoder_threads,
            params: e.x264_params.clone(),
        }),
        Encoder::Libx265 => video(VideoCodec::H265 {
            preset: e.preset.clone(),
            crf: e.crf,
            bitrate: e.bitrate,
            threads: e.encoder_threads,
            params: e.x265_params.clone(),
        }),
        Encoder::ProresKs => video(VideoCodec::ProRes4444 { threads: e.encoder_threads }),
        Encoder::LibvpxVp9 => video(VideoCodec::Vp9 {
            deadline: e.preset.clone(),
            cpu_used: e.vp9_cpu_used.unwrap_or(crate::plan::config::VP9_CPU_USED),
            crf: e.crf,
            bitrate: e.bitrate,
            threads: e.encoder_threads,
        }),
        Encoder::Png => ChunkEncoding::Png { width: d.width, height: d.height },
    }
}

/// Where captured frames go, and what the capture tasks share.
#[derive(Clone)]
struct Flow {
    /// To the decode thread.
    tx: tokio::sync::mpsc::Sender<Captured>,
    /// The next frame the encoder takes (capture runs at most a window ahead of it).
    next: Arc<AtomicI64>,
    /// Notified each time `next` moves on.
    advanced: Arc<Notify>,
    halt: Halt,
    /// When the first frame was captured (the chunk's first-frame latency).
    first_at: Arc<OnceLock<Instant>>,
}

/// Capture the chunk's frames with `capturers`; returns the capture time in ms.
async fn capture_all(plan: &ChunkPlan, capturers: &mut [Capturer], flow: Flow) -> Result<u64> {
    let started = Instant::now();
    let n = capturers.len();
    let window = AHEAD_PER_BROWSER * n as i64;
    let tasks = capturers.iter_mut().enumerate().map(|(i, c)| {
        let frames: Vec<i64> = (plan.chunk.start_frame + i as i64..plan.chunk.end_frame).step_by(n).collect();
        capture_frames(c, frames, flow.clone(), window)
    });
    let results = futures_util::future::join_all(tasks).await;
    drop(flow);
    results.into_iter().collect::<Result<Vec<()>>>()?;
    Ok(started.elapsed().as_millis() as u64)
}

async fn open_one(
    plan: &ChunkPlan,
    spec: &PipelineSpec,
    server: &FileServer,
    i: usize,
    generation: u32,
) -> Result<Capturer> {
    let d = plan.plan.dimensions;
    let format = match plan.encoder.capture_format {
        CaptureFormat::Png => ShotFormat::Png,
        CaptureFormat::Jpeg => ShotFormat::Jpeg(plan.encoder.jpeg_quality),
    };
    let (width, height) = plan.encoder.page_size.unwrap_or((d.width, d.height));
    let profile = match generation {
        0 => format!("browser-{i}"),
        g => format!("browser-{i}.{g}"),
    };
    // A plan that captures by screenshot (a page compositing its shader transitions) does so
    // in any browser; beginFrame is the headless shell's own.
    let mut binary = spec.binary.clone();
    if plan.encoder.capture_mode == CaptureMode::Screenshot {
        binary.mode = CaptureMode::Screenshot;
    }
    let page = PageSpec {
        binary,
        scratch: spec.scratch.join(profile),
        fps: d.fps,
        width,
        height,
        transparent: d.format.spec().alpha,
        variables: &plan.encoder.variables,
        videos: &plan.videos,
        format,
        ready_timeout: spec.ready_timeout,
        timeline_grace: spec.timeline_grace,
        policy: Policy::Capture,
        page_side_compositing: plan.encoder.page_side_compositing,
    };
    Capturer::launch(server, &page, &spec.control).await
}

async fn close_all(capturers: Vec<Capturer>) {
    futures_util::future::join_all(capturers.into_iter().map(Capturer::close)).await;
}

/// Capture `frames` with one browser (which stays open). A failure stops the other tasks too
/// ([`Halt`]); a task stopped that way returns `Ok`, so that the failure is the error reported.
async fn capture_frames(cap: &mut Capturer, frames: Vec<i64>, flow: Flow, window: i64) -> Result<()> {
    let result = async {
        for frame in frames {
            wait_turn(frame, &flow, window).await;
            // A frame in flight may take long (a first image, a stalled step being watched):
            // a halt does not wait for it, the browser is killed next anyway.
            let shot = tokio::select! {
                shot = cap.frame(frame), if !flow.halt.is_set() => shot?,
                () = flow.halt.halted() => {
                    return match flow.halt.cancelled() {
                        true => Err(Error::new(Code::Cancelled, "render cancelled")),
                        false => Ok(()),
                    };
                }
            };
            flow.first_at.get_or_init(Instant::now);
            if flow.tx.send(Captured { frame, shot }).await.is_err() {
                // The decoder stopped: its own error is the one to report.
                return Ok(());
            }
        }
        Ok(())
    }
    .await;
    if result.is_err() {
        flow.halt.fail();
    }
    result
}

/// Wait until `frame` is within `window` frames of the encoder, or the chunk is halted: woken
/// by the encoder as it takes each frame, or by the halt.
async fn wait_turn(frame: i64, flow: &Flow, window: i64) {
    loop {
        let advanced = flow.advanced.notified();
        tokio::pin!(advanced);
        // Registered before `next` is read, so a frame encoded in between still wakes us.
        advanced.as_mut().enable();
        if frame < flow.next.load(Ordering::Acquire) + window || flow.halt.is_set() {
            return;
        }
        tokio::select! {
            () = advanced => {}
            () = flow.halt.halted() => return,
        }
    }
}

/// The encoder thread's inputs (libav contexts are not `Send`, so the writer is made there).
struct Sink {
    /// Where frame buffers go back to the decoder once encoded.
    recycle: Sender<Pixels>,
    out: PathBuf,
    encoding: ChunkEncoding,
    range: FrameRange,
    next: Arc<AtomicI64>,
    advanced: Arc<Notify>,
    control: Control,
    halt: Halt,
}

/// Encode frames as they come; publish the chunk only when every frame of the range arrived (a
/// short stream means capture failed or was cancelled, and its error is the one reported).
fn encode_loop(sink: Sink, rx: Receiver<Decoded>) -> Result<(ChunkOutput, u64)> {
    let mut writer = ChunkWriter::open(&sink.out, sink.encoding, sink.range.start)?;
    let mut busy = Duration::ZERO;
    let mut done = 0i64;
    while let Ok(Decoded(format, pixels)) = rx.recv() {
        if sink.halt.is_set() {
            // Capture's error, when it failed, is reported before this one.
            return Err(Error::new(Code::Cancelled, "render cancelled"));
        }
        let t = Instant::now();
        writer.push(format, &pixels)?;
        busy += t.elapsed();
        // A decoder that has stopped needs no more buffers.
        sink.recycle.send(pixels).ok();
        done += 1;
        sink.next.fetch_add(1, Ordering::AcqRel);
        sink.advanced.notify_waiters();
        sink.control.emit(Event::Frames { stage: Stage::Render, done, total: sink.range.len() });
    }
    if done != sink.range.len() {
        return Err(Error::new(
            Code::CaptureFailed,
            format!("only {done} of {} frames reached the encoder", sink.range.len()),
        ));
    }
    let t = Instant::now();
    let output = writer.finish()?;
    busy += t.elapsed();
    Ok((output, busy.as_millis() as u64))
}
