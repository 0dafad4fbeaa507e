//! Driving one browser session through a frame sequence: inject the engine layer, load the page
//! (the server has put HyperFrames' runtime into it), wait until it is ready, then per frame seek
//! (`window.__framefan.seek(f)`, which drives `window.__player.renderSeek`) and capture —
//! `HeadlessExperimental.beginFrame` with a screenshot in chromium-headless-shell, or
//! `Page.captureScreenshot` in regular Chromium.
//!
//! A page is watched for a script that never yields ([`super::watch`]): while probing, from the
//! start; in render-chunk, from a frame step (seek, beginFrame) that has not answered within
//! [`STALL_CHECK`], so that a frame that answers in time costs no extra round trip.
//!
//! beginFrame's `frameTimeTicks` are read against the browser's own clock (`TimeTicks`, which on
//! Linux is `CLOCK_MONOTONIC`): they must keep increasing past it, or Chromium answers with stale
//! images. While the page loads, frames are paced to that clock (`Capturer::paced_tick`): a
//! frame stamped ahead of it that reaches the browser while a navigation commits is held until
//! the clock gets there (seen: +0.9 s on a third of launches with stamps 1 s ahead, +2.9 s with
//! 3 s). From the warm-up on, ticks advance exactly one frame interval per frame. The page never
//! sees these ticks: its clock is the runtime's.

use std::sync::Arc;
use std::time::Duration;

use chromiumoxide::cdp::browser_protocol::dom::Rgba;
use chromiumoxide::cdp::browser_protocol::emulation::SetDefaultBackgroundColorOverrideParams;
use chromiumoxide::cdp::browser_protocol::headless_experimental::{
    BeginFrameParams, ScreenshotParams, ScreenshotParamsFormat,
};
use chromiumoxide::cdp::browser_protocol::page::{
    AddScriptToEvaluateOnNewDocumentParams, CaptureScreenshotFormat, CaptureScreenshotParams, NavigateParams, Viewport,
};

use std::path::PathBuf;

use super::browser::{BrowserBinary, CaptureMode, LaunchOptions, Session};
use super::page::{engine_script, ExtractedVideo, PageConfig};
pub use super::policy::Policy;
#[cfg(feature = "internals")]
pub use super::policy::{BUSY_LIMIT, RENDER_BUSY_LIMIT};
use super::protocol::{Call, ReadyAnswer};
use super::server::FileServer;
use super::watch::Watch;
use crate::control::Control;
use crate::error::{Code, Error, Result};
use crate::time::Fps;

/// Image format of captured frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShotFormat {
    /// JPEG at a quality 1..=100 (opaque outputs).
    Jpeg(u32),
    /// PNG (outputs with alpha).
    Png,
}

/// One captured frame, as the browser sent it.
#[derive(Debug, Clone)]
pub struct Shot {
    /// The image, base64 as the protocol sends it (the protocol's own string, not copied);
    /// shared with the capturer's copy of its last capture.
    pub data: Arc<String>,
    /// `Some(f)`: the image is byte for byte this browser's capture of frame `f`, its previous
    /// one, so the decoder may hand on that frame's picture instead of decoding it again. Only
    /// ever the same browser's previous capture: browsers interleave a chunk's frames, and
    /// their histories are their own.
    pub same_as: Option<i64>,
}

/// Test-only: set (to anything) and no capture is marked [`Shot::same_as`], so every frame is
/// decoded and converted; tests compare such a render with one that reuses pictures.
#[doc(hidden)]
pub const NO_REUSE_ENV: &str = "FRAMEFAN_TEST_NO_REUSE";

/// What a capture page needs: the browser, the composition's size, rate and inputs, and how to
/// capture.
pub struct PageSpec<'a> {
    /// Which browser.
    pub binary: BrowserBinary,
    /// Where the browser's fresh profile directory is made.
    pub scratch: PathBuf,
    /// Frame rate (the runtime's clock and the beginFrame interval).
    pub fps: Fps,
    /// Width in CSS pixels.
    pub width: u32,
    /// Height in CSS pixels.
    pub height: u32,
    /// Variable overrides (`window.__hfVariables`).
    pub variables: &'a serde_json::Value,
    /// Pre-extracted `<video>` frames.
    pub videos: &'a [ExtractedVideo],
    /// Image format of captures.
    pub format: ShotFormat,
    /// An output with alpha: the page's default and own backgrounds are made transparent.
    pub transparent: bool,
    /// Bound on waiting for the page to become ready.
    pub ready_timeout: Duration,
    /// Bound on waiting for a composition's timeline to register; past it the page renders as
    /// it stands, with a warning (as HyperFrames does).
    pub timeline_grace: Duration,
    /// Why the page is loaded: the plan-time probe or a render-chunk capture (what each
    /// decides: [`Policy`]).
    pub policy: Policy,
    /// The page's shader transitions are composited in the page, as HyperFrames' page-side
    /// compositing has them: the compositor switched on before the page's scripts, its browser
    /// launched with `drawElementImage`, each pending transition frame drawn after the seek
    /// ([`Capturer::frame`]). The capture mode is the binary's (HyperFrames takes screenshots then).
    pub page_side_compositing: bool,
}

/// In render-chunk: how long a frame's seek or beginFrame may go unanswered before the page is
/// watched ([`Watch`]). A step that answers sooner costs one timer and no round trip.
pub const STALL_CHECK: Duration = Duration::from_secs(1);

/// How long a browser's first captured frame may take to come with an image, from the first
/// attempt. A new renderer answers beginFrame without one until its compositor surface exists
/// (Chromium sends no event for that): well under a second on a quiet machine, several seconds
/// under load, and a loaded machine must not fail a chunk.
pub const FIRST_IMAGE_LIMIT: Duration = Duration::from_secs(30);

/// How long a first captured frame may go without an image before the page is loaded again (once)
/// and the frame drawn anew, within [`FIRST_IMAGE_LIMIT`]. Seen once in CI, on a browser launched
/// after a cancelled chunk: no image for the whole limit, where a loaded machine otherwise gets
/// one within seconds. The page is opened again in a new tab, with a renderer of its own, as
/// between warm chunks ([`Capturer::rewind`]): its frames are those of a fresh page.
pub const FIRST_IMAGE_RELOAD: Duration = Duration::from_secs(10);

/// A loaded, ready page that captures frames.
pub struct Capturer {
    session: Session,
    format: ShotFormat,
    transparent: bool,
    ticks: f64,
    interval: f64,
    /// This browser's last captured frame and its image.
    last: Option<(i64, Arc<String>)>,
    /// [`NO_REUSE_ENV`] was set.
    no_reuse: bool,
    warnings: Vec<String>,
    ready_duration: Option<f64>,
    unregistered: Vec<String>,
    broken_fonts: Vec<String>,
    /// Why the page is loaded ([`PageSpec::policy`]).
    policy: Policy,
    /// The heartbeat that finds a script that never yields, set up before the page loads:
    /// beating all along while probing; in render-chunk, only while a frame step has stalled
    /// ([`STALL_CHECK`]).
    watch: Option<Watch>,
    /// While probing: the beginFrame the browser has not answered yet.
    frame_in_flight: Option<tokio::task::JoinHandle<Result<()>>>,
    /// How long starting the browser took (the rest of [`Capturer::launch`] is the page load).
    launch_ms: u64,
    /// What [`Capturer::load`] opens, at launch and again in each new tab ([`Capturer::rewind`]).
    target: LoadTarget,
}

/// The page a capturer loads and how long it waits for it.
struct LoadTarget {
    /// `/index.html` on the plan's file server.
    url: String,
    /// The engine layer injected before the page's scripts.
    layer: String,
    /// The bound on the page becoming ready.
    ready_timeout: Duration,
    /// How long a timeline that never registers is waited for.
    grace: Duration,
}

/// The browser's clock in milliseconds (Chromium's `TimeTicks::Now` is `CLOCK_MONOTONIC` on
/// Linux; `/proc/uptime` also counts time suspended, which would put every stamp ahead of it).
fn monotonic_ms() -> f64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    t.tv_sec as f64 * 1000.0 + t.tv_nsec as f64 / 1e6
}

/// "font face A (src …), B (src …) failed to load", bounded.
pub fn broken_fonts_message(fonts: &[String]) -> String {
    let text: String = fonts.join(", ").chars().take(400).collect();
    format!("font face {text} failed to load")
}

fn crashed(what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(Code::BrowserCrashed, format!("{what}: {e}"))
}

impl Capturer {
    /// Launch a browser for `page`, load `/index.html` from `server` with the runtime injected and
    /// wait until the page is ready. Cancelling `control` ends the launch or the load under way:
    /// `CANCELLED`, with the browser ended.
    pub async fn launch(server: &FileServer, page: &PageSpec<'_>, control: &Control) -> Result<Capturer> {
        let opts = LaunchOptions {
            binary: page.binary.clone(),
            width: page.width,
            height: page.height,
            scratch: page.scratch.clone(),
            server_port: server.port(),
            draw_element: page.page_side_compositing,
        };
        let started = std::time::Instant::now();
        let session = Session::launch(&opts, control).await?;
        let launch_ms = started.elapsed().as_millis() as u64;
        let config = PageConfig {
            page_side_compositing: page.page_side_compositing,
            ..PageConfig::new(page.fps, page.variables, page.videos)
        };
        let layer = engine_script(&config);
        let interval = 1000.0 * page.fps.den() as f64 / page.fps.num() as f64;
        let url = server.url("/index.html");
        let mut cap = Capturer {
            session,
            format: page.format,
            transparent: page.transparent,
            ticks: monotonic_ms(),
            interval,
            last: None,
            no_reuse: std::env::var_os(NO_REUSE_ENV).is_some(),
            warnings: Vec::new(),
            ready_duration: None,
            unregistered: Vec::new(),
            broken_fonts: Vec::new(),
            policy: page.policy,
            watch: None,
            frame_in_flight: None,
            launch_ms,
            target: LoadTarget { url, layer, ready_timeout: page.ready_timeout, grace: page.timeline_grace },
        };
        match control.race(cap.load()).await {
            Ok(()) => Ok(cap),
            Err(e) => {
                // Shut the browser down before the caller removes its scratch directory.
                cap.close().await;
                Err(e)
            }
        }
    }

    /// Inject the engine layer into the session's page, open the target's URL and wait (at most
    /// its `ready_timeout`) until the page is ready.
    async fn load(&mut self) -> Result<()> {
        let page = self.session.page.clone();
        page.execute(AddScriptToEvaluateOnNewDocumentParams::new(self.target.layer.clone()))
            .await
            .map_err(|e| crashed("injecting the engine layer", e))?;
        if self.transparent {
            // Formats with alpha: the page's default background is transparent, not white.
            let clear =
                SetDefaultBackgroundColorOverrideParams { color: Some(Rgba { r: 0, g: 0, b: 0, a: Some(0.0) }) };
            page.execute(clear).await.map_err(|e| crashed("clearing the page background", e))?;
        }
        // The debugger must be on before the page's scripts run: it cannot be enabled while a
        // script holds the page (the command waits for the main thread, as an evaluation does).
        self.watch = Some(Watch::start(page.clone(), self.policy.busy_limit()).await?);
        let LoadTarget { ref url, ready_timeout, grace, .. } = self.target;
        let url = url.clone();
        let navigate = page.execute(NavigateParams::new(url.as_str()));
        self.pump_until(navigate, ready_timeout).await?.map_err(|e| crashed(&format!("loading {url}"), e))?;
        let ready = page.execute(Call::Ready { timeout: ready_timeout, grace }.params());
        let answer = self.pump_until(ready, ready_timeout + Duration::from_secs(5)).await?;
        let answer = answer.map_err(|e| crashed("waiting for the page", e))?;
        if let Some(ex) = &answer.exception_details {
            return Err(Error::new(Code::PageScriptError, format!("page index.html: {}", exception_text(ex))));
        }
        let value = answer.result.result.value.clone().unwrap_or_default();
        let ready = ReadyAnswer::from_value(&value)
            .map_err(|e| Error::new(Code::PageScriptError, format!("page index.html: {e}")))?;
        self.read_ready(ready)?;
        if self.transparent {
            let shown = page.execute(Call::Transparent.params()).await;
            shown.map_err(|e| crashed("clearing the page background", e))?;
        }
        match self.policy {
            // The probe captures nothing: a watched seek to frame 0 is all it still checks.
            Policy::Probe => self.probe_seek().await,
            Policy::Capture => self.warm_up().await,
        }
    }

    /// What `window.__framefan.ready` answered: a failure is the error (its code by
    /// [`Policy::failure_code`]); failed font faces are kept for the probe to judge and are a
    /// warning in a render ([`Policy::warns_of_broken_fonts`]); the page's warnings and
    /// unregistered timelines are kept.
    fn read_ready(&mut self, answer: ReadyAnswer) -> Result<()> {
        let ready = match answer {
            ReadyAnswer::Ready(ready) => ready,
            ReadyAnswer::Failed(failed) => {
                let text: String = failed.message.chars().take(400).collect();
                return Err(Error::new(self.policy.failure_code(failed.kind), format!("page index.html: {text}")));
            }
        };
        self.broken_fonts = ready.broken_fonts;
        if !self.broken_fonts.is_empty() && self.policy.warns_of_broken_fonts() {
            // The page passed plan's probe with these faces: the text draws with the fallback.
            let message = broken_fonts_message(&self.broken_fonts);
            self.warnings.push(format!("page: {message}; its text draws with the next family"));
        }
        self.warnings.extend(ready.warnings.into_iter().map(|w| format!("page: {w}")));
        self.unregistered = ready.unregistered;
        self.ready_duration = ready.duration;
        Ok(())
    }

    /// Draw frame 0 once before the first captured frame. Chromium rasterises an element that
    /// moves between two drawn frames differently from one drawn first where it stands (seen: a
    /// GSAP-tweened box a fraction of a pixel apart); with every browser's history starting at
    /// a drawn frame 0, a frame is the same pixels whichever browser, chunk or retry draws it.
    async fn warm_up(&mut self) -> Result<()> {
        self.seek(0).await?;
        if self.session.mode == CaptureMode::BeginFrame {
            self.begin_frame(false).await?;
        }
        Ok(())
    }

    /// Make a page that captured another chunk ready for the next one, as if it had just
    /// launched: the last capture is forgotten (it is no stand-in for an undamaged first frame of
    /// another chunk) and the page is loaded in a new tab of the running browser (the old one
    /// closed), then frame 0 drawn, so that the next [`Capturer::frame`] starts from the state a
    /// fresh browser's page has. The new tab's frames are stamped from the clock again.
    ///
    /// Seeking alone is not enough: the page's DOM state is absolute (`renderSeek`), but
    /// Chromium's compositor keeps state from frame to frame (seen: chunk 6 of nested-scenes drawn
    /// right after chunk 5 came out 1 LSB off, PSNR 61 dB, against the same chunk drawn fresh).
    /// Loading the page again in the same tab is not enough either: it keeps the renderer
    /// process (seen: nested-scenes' outro title drawn with an earlier letter-spacing after the
    /// chunk that drew its start, 24–26 dB). What a new tab saves is the browser launch.
    pub async fn rewind(&mut self) -> Result<()> {
        self.last = None;
        self.warnings.clear();
        self.session.renew_page().await?;
        self.ticks = monotonic_ms();
        self.load().await
    }

    /// The probe's last check: the first seek, watched as the load is (a script may loop in it).
    /// Nothing is drawn: the probe's browser is killed next, and a raster (30–60 ms for the
    /// examples) would only delay that.
    async fn probe_seek(&mut self) -> Result<()> {
        let page = self.session.page.clone();
        let seek = page.execute(Call::Seek(0).params());
        let res = self.pump_until(seek, Duration::from_secs(20)).await?;
        self.watch = None;
        let res = res.map_err(|e| crashed("seeking to frame 0", e))?;
        match &res.result.exception_details {
            Some(ex) => Err(Error::new(Code::PageScriptError, format!("frame 0: {}", exception_text(ex)))),
            None => Ok(()),
        }
    }

    /// The composition's duration in seconds as the page reported it when it became ready,
    /// before any seek (HyperFrames reads it there too; a seek can change what the runtime
    /// infers).
    pub fn ready_duration(&self) -> Option<f64> {
        self.ready_duration
    }

    /// How far (ms) the next beginFrame's stamp is ahead of the browser's clock (a page that
    /// captured faster than real time is ahead), for error reports.
    fn clock_lead_ms(&self) -> f64 {
        self.ticks + self.interval - monotonic_ms()
    }

    /// How long starting the browser took, in ms (until its page was open, before the load).
    pub fn launch_ms(&self) -> u64 {
        self.launch_ms
    }

    /// What the page said while getting ready (e.g. a timeline that never registered).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The `@font-face` rules that failed to load, each as `family (src …)`: the browser draws
    /// their text with the next family of its stack, as HyperFrames' browser does.
    pub fn broken_fonts(&self) -> &[String] {
        &self.broken_fonts
    }

    /// The compositions whose timeline had not registered when the page became ready (the page
    /// renders as it stands).
    pub fn unregistered(&self) -> &[String] {
        &self.unregistered
    }

    /// Keep the compositor running (beginFrame mode) until `fut` completes; when probing, also
    /// check that the page still answers (its [`Watch`]).
    async fn pump_until<F: std::future::Future>(&mut self, fut: F, limit: Duration) -> Result<F::Output> {
        let deadline = tokio::time::Instant::now() + limit;
        tokio::pin!(fut);
        loop {
            tokio::select! {
                out = &mut fut => return Ok(out),
                () = tokio::time::sleep(Duration::from_millis(16)) => {
                    if tokio::time::Instant::now() > deadline {
                        let code = self.policy.load_timeout_code();
                        return Err(Error::new(code, format!("page index.html did not load within {limit:?}")));
                    }
                    if let Some(watch) = self.watch.as_mut().filter(|_| self.policy.watches_load()) {
                        watch.check().await?;
                    }
                    self.pump_once().await?;
                }
            }
        }
    }

    /// One compositor frame in beginFrame mode. When probing it runs beside the wait: a page
    /// whose main thread is stuck holds the frame back, and the heartbeat must still get its
    /// turn; the next frame is sent once the browser has answered the last.
    async fn pump_once(&mut self) -> Result<()> {
        let beside = self.policy.frames_beside_wait();
        if self.session.mode != CaptureMode::BeginFrame || (beside && self.frame_pending().await?) {
            return Ok(());
        }
        let Some(tick) = self.paced_tick() else { return Ok(()) };
        let params = self.frame_params(tick, false);
        if !beside {
            return self.send_frame(params).await;
        }
        let page = self.session.page.clone();
        self.frame_in_flight =
            Some(tokio::spawn(
                async move { page.execute(params).await.map(drop).map_err(|e| crashed("beginFrame", e)) },
            ));
        Ok(())
    }

    /// While probing: whether the last frame is still unanswered; once it is answered, its
    /// error if it had one (a task that was cancelled is no failure of the page).
    async fn frame_pending(&mut self) -> Result<bool> {
        match self.frame_in_flight.take() {
            Some(task) if !task.is_finished() => {
                self.frame_in_flight = Some(task);
                Ok(true)
            }
            Some(task) => task.await.unwrap_or(Ok(())).map(|()| false),
            None => Ok(false),
        }
    }

    /// The stamp of the next frame while the page loads: the browser's clock, once a frame
    /// interval has passed since the last frame (`None` before), so that no frame is ahead of it.
    fn paced_tick(&mut self) -> Option<f64> {
        let now = monotonic_ms();
        if now < self.ticks + self.interval {
            return None;
        }
        self.ticks = now;
        Some(now)
    }

    /// One frame one interval after the last (warm-up and captures), watched.
    async fn begin_frame(&mut self, screenshot: bool) -> Result<Option<String>> {
        Ok(self.begin_frame_answer(screenshot).await?.1)
    }

    /// [`Capturer::begin_frame`] with whether the browser reported damage.
    async fn begin_frame_answer(&mut self, screenshot: bool) -> Result<(bool, Option<String>)> {
        self.ticks += self.interval;
        let params = self.frame_params(self.ticks, screenshot);
        let page = self.session.page.clone();
        let res = self.watched(page.execute(params)).await?.map_err(|e| crashed("beginFrame", e))?;
        Ok((res.result.has_damage, res.result.screenshot_data.map(String::from)))
    }

    /// A frame step (seek, beginFrame) in render-chunk. One that answers within [`STALL_CHECK`]
    /// costs one timer; past it the page is watched, so that a script that never yields is
    /// `PAGE_SCRIPT_TIMEOUT` naming its `file:line` after [`RENDER_BUSY_LIMIT`], rather than a
    /// DevTools timeout a minute later that the pool would retry twice more.
    async fn watched<F: std::future::Future>(&mut self, step: F) -> Result<F::Output> {
        tokio::pin!(step);
        tokio::select! {
            out = &mut step => return Ok(out),
            () = tokio::time::sleep(STALL_CHECK) => {}
        }
        let Some(watch) = self.watch.as_mut() else { return Ok(step.await) };
        let out = loop {
            tokio::select! {
                out = &mut step => break out,
                () = tokio::time::sleep(Duration::from_millis(100)) => watch.check().await?,
            }
        };
        // The page answered: a beat still in flight says nothing about the next step.
        watch.rest();
        Ok(out)
    }

    /// A beginFrame stamped `tick`, with a screenshot in the capture format when asked for.
    fn frame_params(&self, tick: f64, screenshot: bool) -> BeginFrameParams {
        let params = BeginFrameParams::builder().frame_time_ticks(tick).interval(self.interval);
        if !screenshot {
            return params.build();
        }
        // `optimizeForSpeed`, as HyperFrames asks too: Chromium then compresses PNG captures
        // less (the pixels are the same, so are the chunks: a 720p mov took 40 % less CPU per
        // frame, same sha256); JPEG chunks came out the same, at the same cost.
        let shot = match self.format {
            ShotFormat::Jpeg(q) => {
                ScreenshotParams::builder().format(ScreenshotParamsFormat::Jpeg).quality(i64::from(q))
            }
            ShotFormat::Png => ScreenshotParams::builder().format(ScreenshotParamsFormat::Png),
        };
        let shot = shot.optimize_for_speed(true).build();
        params.screenshot(shot).build()
    }

    /// A beginFrame while the page loads (unwatched: the probe caught scripts that never yield
    /// while loading, and the bounded ready wait stands for the rest).
    async fn send_frame(&self, params: BeginFrameParams) -> Result<()> {
        self.session.page.execute(params).await.map(drop).map_err(|e| crashed("beginFrame", e))
    }

    /// Seek the page to absolute frame `frame` and capture it.
    ///
    /// A browser's first capture is preceded by a drawn, uncaptured `frame - 1`, so that the
    /// page's history matches a render from frame 0: a CSS animation whose element first shows
    /// on the previous frame then exists before the captured seek, as it does in a one-chunk
    /// render. Capturing straight after frame 0 painted such an animation at its start on a
    /// chunk's first frame now and then (seen: 18 dB against `hyperframes render`), and 1–2 LSB
    /// off otherwise.
    ///
    /// A capture equal byte for byte to this browser's previous one is marked
    /// [`Shot::same_as`]. Chromium cannot say so itself: a beginFrame that asks for a screenshot
    /// always reports `hasDamage` and sends an image, and the frame after one always reports
    /// damage too (seen with chromium-headless-shell 156), so the image is what is compared.
    /// Its encoder is deterministic, so a page that did not change gives the same bytes.
    pub async fn frame(&mut self, frame: i64) -> Result<Shot> {
        self.pre_roll(frame).await?;
        self.seek(frame).await?;
        let data = match self.session.mode {
            CaptureMode::BeginFrame => self.begin_frame_shot(frame).await?,
            CaptureMode::Screenshot => self.screenshot().await?,
        };
        let shot = match self.last.take() {
            Some((prev, last)) if !self.no_reuse && *last == *data => Shot { data: last, same_as: Some(prev) },
            _ => Shot { data: Arc::new(data), same_as: None },
        };
        self.last = Some((frame, Arc::clone(&shot.data)));
        Ok(shot)
    }

    /// Before a browser's first captured frame (other than 0 and 1): the frame before it drawn
    /// uncaptured, so that its history ends as it would in a browser that drew from the start.
    async fn pre_roll(&mut self, frame: i64) -> Result<()> {
        if self.last.is_none() && frame > 1 {
            self.seek(frame - 1).await?;
            if self.session.mode == CaptureMode::BeginFrame {
                self.begin_frame(false).await?;
            }
        }
        Ok(())
    }

    async fn seek(&mut self, frame: i64) -> Result<()> {
        let page = self.session.page.clone();
        let seek = page.execute(Call::Seek(frame).params());
        let res = self.watched(seek).await.map_err(|e| e.prefixed(&format!("frame {frame}")))?;
        let res = res.map_err(|e| crashed(&format!("seeking to frame {frame}"), e))?;
        if let Some(ex) = &res.result.exception_details {
            return Err(Error::new(Code::PageScriptError, format!("frame {frame}: {}", exception_text(ex))));
        }
        if res.result.result.value == Some(serde_json::Value::Bool(true)) {
            self.composite(frame).await?;
        }
        Ok(())
    }

    /// A shader transition frame the seek staged (its two scenes cloned into canvases), drawn as
    /// HyperFrames' engine draws it: a 1×1 JPEG screenshot makes the browser paint the clones,
    /// then the page reads them (`drawElementImage`) and draws the shader over the page.
    async fn composite(&mut self, frame: i64) -> Result<()> {
        let page = self.session.page.clone();
        let clip = Viewport { x: 0.0, y: 0.0, width: 1.0, height: 1.0, scale: 1.0 };
        let paint = CaptureScreenshotParams::builder().format(CaptureScreenshotFormat::Jpeg).quality(1).clip(clip);
        let painted = self.watched(page.execute(paint.build())).await?;
        painted.map_err(|e| Error::new(Code::CaptureFailed, format!("frame {frame}: painting the transition: {e}")))?;
        let drawn = self.watched(page.execute(Call::Composite.params())).await?;
        let drawn = drawn.map_err(|e| crashed(&format!("compositing frame {frame}"), e))?;
        match &drawn.result.exception_details {
            Some(ex) => Err(Error::new(Code::PageScriptError, format!("frame {frame}: {}", exception_text(ex)))),
            None => Ok(()),
        }
    }

    async fn begin_frame_shot(&mut self, frame: i64) -> Result<String> {
        // No damage means the page looks exactly as the previous frame; a first frame without an
        // image is the renderer still initialising its surface, which more frames settle (seen
        // under load: 60 attempts, 2.5 s, were not always enough), so they get a deadline.
        let started = tokio::time::Instant::now();
        let deadline = started + FIRST_IMAGE_LIMIT;
        let mut reloaded = false;
        let mut attempt: u64 = 0;
        let mut damaged: u64 = 0;
        loop {
            let (damage, image) = self.begin_frame_answer(true).await?;
            if let Some(data) = image {
                return Ok(data);
            }
            if let Some((_, prev)) = &self.last {
                return Ok(prev.to_string());
            }
            damaged += u64::from(damage);
            if tokio::time::Instant::now() >= deadline {
                // What the browser answered, for the report: damage without an image is a
                // surface that could not be read back; no damage is nothing drawn.
                let lead = self.clock_lead_ms().round();
                return Err(Error::new(
                    Code::CaptureFailed,
                    format!(
                        "frame {frame}: the browser returned no image within {FIRST_IMAGE_LIMIT:?} \
                         ({} frames, {damaged} with damage, the page reloaded {}; stamps {lead} ms \
                         ahead of its clock)",
                        attempt + 1,
                        if reloaded { "once" } else { "never" }
                    ),
                ));
            }
            if !reloaded && started.elapsed() >= FIRST_IMAGE_RELOAD {
                reloaded = true;
                self.rewind().await.map_err(|e| e.prefixed(&format!("frame {frame}: reloading for a first image")))?;
                self.pre_roll(frame).await?;
                self.seek(frame).await?;
                continue;
            }
            // Nothing new was drawn: repaint an invisible pixel so the next frame has damage.
            let _nudged = self.session.page.execute(Call::Damage.params()).await;
            tokio::time::sleep(Duration::from_millis(5 * attempt.min(10))).await;
            attempt += 1;
        }
    }

    async fn screenshot(&mut self) -> Result<String> {
        let params = match self.format {
            ShotFormat::Jpeg(q) => {
                CaptureScreenshotParams::builder().format(CaptureScreenshotFormat::Jpeg).quality(i64::from(q))
            }
            ShotFormat::Png => CaptureScreenshotParams::builder().format(CaptureScreenshotFormat::Png),
        };
        let res = self
            .session
            .page
            .execute(params.from_surface(true).optimize_for_speed(true).build())
            .await
            .map_err(|e| Error::new(Code::CaptureFailed, format!("captureScreenshot: {e}")))?;
        Ok(String::from(res.result.data))
    }

    /// How this capturer takes frames.
    pub fn mode(&self) -> CaptureMode {
        self.session.mode
    }

    /// The WebGL renderer the page would get (`None` without WebGL): software or GPU.
    pub async fn webgl_renderer(&mut self) -> Option<String> {
        let res = self.session.page.execute(Call::WebglRenderer.params()).await.ok()?;
        res.result.result.value.as_ref().and_then(|v| v.as_str()).map(str::to_string)
    }

    /// End the browser: its whole process group is killed and reaped, its profile removed.
    pub async fn close(self) {
        self.session.close().await;
    }
}

fn exception_text(ex: &chromiumoxide::cdp::js_protocol::runtime::ExceptionDetails) -> String {
    let detail = ex.exception.as_ref().and_then(|o| o.description.clone());
    let text = detail.unwrap_or_else(|| ex.text.clone());
    // Keep the first line: a stack trace from an untrusted page does not belong in an error.
    let first = text.lines().next().unwrap_or("").trim();
    first.chars().take(300).collect()
}
