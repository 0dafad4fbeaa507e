//! Finding and launching the browser: Debian's `chromium-headless-shell` (deterministic
//! `HeadlessExperimental.beginFrame` capture) or, as a fallback, `chromium` (screenshots).
//!
//! One browser process captures one sequence of frames: Chromium cannot capture two tabs of one
//! browser at once, so parallelism is separate processes. Every launch gets a fresh profile
//! directory (removed with the session) and flags that make rendering software-only, quiet on the
//! network and stable in colour and font rasterisation. framefan starts the process itself (in a
//! process group of its own, [`super::process`]) and connects chromiumoxide to its DevTools
//! endpoint; [`Session::close`] kills and reaps the whole group before the profile is removed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chromiumoxide::browser::Browser;
use chromiumoxide::cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams;
use chromiumoxide::cdp::browser_protocol::target::CreateTargetParams;
use chromiumoxide::handler::HandlerConfig;
use chromiumoxide::Page;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::process::BrowserProcess;
use crate::control::Control;
use crate::error::{Code, Error, Result};

/// Environment variable naming the browser binary.
pub const BROWSER_ENV: &str = "FRAMEFAN_BROWSER";

const SHELL_CANDIDATES: [&str; 2] = ["/usr/lib/chromium/chromium-headless-shell", "/usr/bin/chromium-headless-shell"];
const CHROMIUM_CANDIDATES: [&str; 2] = ["/usr/bin/chromium", "/usr/lib/chromium/chromium"];

/// How frames are captured from the browser (recorded in `meta/encoder.json`, so its spelling
/// is in every plan's bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CaptureMode {
    /// `HeadlessExperimental.beginFrame` in chromium-headless-shell (deterministic, fast).
    BeginFrame,
    /// `Page.captureScreenshot` in regular Chromium (fallback).
    Screenshot,
}

/// A browser binary and the capture mode it supports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserBinary {
    /// Path of the executable.
    pub path: PathBuf,
    /// `BeginFrame` for chromium-headless-shell, `Screenshot` for regular Chromium.
    pub mode: CaptureMode,
}

impl BrowserBinary {
    /// The binary named by `explicit`, else by `FRAMEFAN_BROWSER`, else the first installed of
    /// chromium-headless-shell and chromium.
    pub fn find(explicit: Option<&Path>) -> Result<Self> {
        let named = explicit.map(Path::to_path_buf).or_else(|| std::env::var_os(BROWSER_ENV).map(PathBuf::from));
        if let Some(path) = named {
            if !path.is_file() {
                return Err(Error::new(
                    Code::BrowserNotFound,
                    format!("browser binary {} does not exist", path.display()),
                ));
            }
            return Ok(Self::classify(path));
        }
        let found = SHELL_CANDIDATES.iter().chain(CHROMIUM_CANDIDATES.iter()).map(PathBuf::from).find(|p| p.is_file());
        found.map(Self::classify).ok_or_else(|| {
            Error::new(
                Code::BrowserNotFound,
                format!(
                    "no browser found (looked for {} and {}); install the Debian package chromium-headless-shell \
                     or name a binary with --browser or {BROWSER_ENV}",
                    SHELL_CANDIDATES.join(", "),
                    CHROMIUM_CANDIDATES.join(", ")
                ),
            )
        })
    }

    fn classify(path: PathBuf) -> Self {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let mode = if name.contains("headless-shell") { CaptureMode::BeginFrame } else { CaptureMode::Screenshot };
        BrowserBinary { path, mode }
    }
}

/// A running browser with one page, its protocol handler task, its process group and its
/// profile directory.
pub struct Session {
    browser: Browser,
    /// How the capture page is opened (again, by [`Session::renew_page`]).
    opts: LaunchOptions,
    handler: tokio::task::JoinHandle<()>,
    /// The page frames are captured from.
    pub page: Page,
    /// How frames are captured.
    pub mode: CaptureMode,
    process: BrowserProcess,
    profile: PathBuf,
}

/// Everything a launch needs.
#[derive(Debug, Clone)]
pub struct LaunchOptions {
    /// Which binary.
    pub binary: BrowserBinary,
    /// Viewport width in CSS pixels.
    pub width: u32,
    /// Viewport height in CSS pixels.
    pub height: u32,
    /// Where the fresh profile directory is made (the chunk's scratch directory).
    pub scratch: PathBuf,
    /// Which loopback port the page may reach; every other host is refused.
    pub server_port: u16,
    /// Chromium's HTML-in-canvas (`drawElementImage`, the `CanvasDrawElement` feature), which
    /// shader transitions composited in the page read their scenes with. HyperFrames launches
    /// every browser with it; framefan only those that need it, so other pages keep their pixels.
    pub draw_element: bool,
}

/// framefan's flags, without the leading `--` ([`command_line`] adds it).
fn flags(opts: &LaunchOptions) -> Vec<String> {
    let mut args: Vec<String> = [
        "disable-gpu",
        "disable-background-networking",
        "disable-component-update",
        "disable-sync",
        "no-first-run",
        "disable-dev-shm-usage",
        "hide-scrollbars",
        "mute-audio",
        "font-render-hinting=none",
        "force-color-profile=srgb",
        "disable-quic",
        "disable-extensions",
        "autoplay-policy=no-user-gesture-required",
        // HyperFrames' software GL: ANGLE over SwiftShader (pixels of WebGL content match it).
        "use-gl=angle",
        "use-angle=swiftshader",
        "enable-unsafe-swiftshader",
        "force-device-scale-factor=1",
        // A frame's raster must not depend on the frame that browser drew before it (partial
        // raster paints only a tile's damaged part over its old content): chunk starts and the
        // browsers sharing a chunk would draw the same frame differently.
        "disable-partial-raster",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(format!("window-size={},{}", opts.width, opts.height));
    // The page reaches nothing but our loopback server: all other hosts resolve to nothing and any
    // connection that skips DNS (HTTP, WebSocket) goes to a proxy port where nothing listens.
    // Chromium never proxies loopback by default, which would let a page reach any local port:
    // `<-loopback>` withdraws that, so only our server's own port bypasses the dead proxy. WebRTC
    // may not send UDP around the proxy.
    args.push("host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1".to_string());
    args.push("proxy-server=http://127.0.0.1:9".to_string());
    args.push(format!("proxy-bypass-list=<-loopback>;127.0.0.1:{}", opts.server_port));
    args.push("force-webrtc-ip-handling-policy=disable_non_proxied_udp".to_string());
    if opts.binary.mode == CaptureMode::BeginFrame {
        args.push("deterministic-mode".to_string());
        args.push("enable-begin-frame-control".to_string());
        args.push("run-all-compositor-stages-before-draw".to_string());
        // HyperFrames' other beginFrame switches. Without `disable-threaded-animation` a CSS
        // animation of transform or opacity runs on the compositor, timed by the beginFrame
        // stamps, and the main-thread properties of the same animation could be drawn at another
        // stage: nested-scenes' outro (scale, opacity and letter-spacing in one keyframes rule)
        // drawn by a browser that started at frame 47 had the letter-spacing of an earlier time
        // on frames 48–50 (25–33 dB against the same frames drawn from frame 0); with it, the two
        // are identical, and the frames drawn from 0 are unchanged.
        args.extend(
            [
                "disable-new-content-rendering-timeout",
                "disable-threaded-animation",
                "disable-threaded-scrolling",
                "disable-checker-imaging",
                "disable-image-animation-resync",
                "enable-surface-synchronization",
            ]
            .map(str::to_string),
        );
    }
    args
}

fn crashed(what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(Code::BrowserCrashed, format!("browser {what}: {e}"))
}

/// How long a browser may take to announce its DevTools endpoint.
const LAUNCH_TIMEOUT: Duration = Duration::from_secs(20);

/// How long one DevTools command may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The switches chromiumoxide's own launcher passed (its defaults, and those of a headless,
/// sandbox-less browser with a DevTools port) before framefan started the browser itself: kept
/// as they were, since every render so far was made with them.
const BASE_SWITCHES: [&str; 25] = [
    "disable-background-networking",
    ENABLE_FEATURES,
    "disable-background-timer-throttling",
    "disable-backgrounding-occluded-windows",
    "disable-breakpad",
    "disable-client-side-phishing-detection",
    "disable-component-extensions-with-background-pages",
    "disable-default-apps",
    "disable-dev-shm-usage",
    "disable-features=TranslateUI",
    "disable-hang-monitor",
    "disable-ipc-flooding-protection",
    "disable-popup-blocking",
    "disable-prompt-on-repost",
    "disable-renderer-backgrounding",
    "metrics-recording-only",
    "enable-automation",
    "password-store=basic",
    "use-mock-keychain",
    "enable-blink-features=IdleDetection",
    "lang=en_US",
    "remote-debugging-port=0",
    "no-sandbox",
    "disable-setuid-sandbox",
    "headless",
];

/// The base switch that enables features.
const ENABLE_FEATURES: &str = "enable-features=NetworkService,NetworkServiceInProcess";

/// The feature behind `CanvasRenderingContext2D.drawElementImage` ([`LaunchOptions::draw_element`]).
const DRAW_ELEMENT_FEATURE: &str = "CanvasDrawElement";

/// The whole command line after the binary: the base switches, then framefan's flags, then the
/// profile directory.
fn command_line(opts: &LaunchOptions, profile: &Path) -> Vec<String> {
    // Chromium reads one `--enable-features` (the last): a feature joins the base switch's list.
    let base = BASE_SWITCHES.iter().map(|s| match (*s, opts.draw_element) {
        (ENABLE_FEATURES, true) => format!("{s},{DRAW_ELEMENT_FEATURE}"),
        _ => s.to_string(),
    });
    let ours = base.chain(flags(opts)).chain([format!("user-data-dir={}", profile.display())]);
    ours.map(|s| format!("--{s}")).collect()
}

/// The DevTools client's settings: no viewport emulation (the window is the composition's size).
fn handler_config() -> HandlerConfig {
    HandlerConfig { viewport: None, request_timeout: REQUEST_TIMEOUT, ..HandlerConfig::default() }
}

impl Session {
    /// Launch the browser (in a process group of its own, [`BrowserProcess`]) and open the
    /// capture page (`about:blank`, begin-frame controlled when the binary supports it).
    /// Cancelling `control` ends a launch under way: `CANCELLED`, with the browser ended.
    pub async fn launch(opts: &LaunchOptions, control: &Control) -> Result<Session> {
        let profile = opts.scratch.join(format!("profile-{}", std::process::id()));
        std::fs::create_dir_all(&profile).map_err(|e| Error::io("creating", &profile, e))?;
        let args = command_line(opts, &profile);
        let (process, url) = match BrowserProcess::spawn(&opts.binary.path, &args, LAUNCH_TIMEOUT, control).await {
            Ok(started) => started,
            Err(e) => {
                let _removed = std::fs::remove_dir_all(&profile);
                return Err(e);
            }
        };
        match control.race(attach(&url, opts)).await {
            Ok((browser, handler, page)) => {
                Ok(Session { browser, opts: opts.clone(), handler, page, mode: opts.binary.mode, process, profile })
            }
            Err(e) => {
                process.end().await;
                let _removed = std::fs::remove_dir_all(&profile);
                Err(e)
            }
        }
    }

    /// Replace the capture page by a new one (a new tab, so a new renderer process: a page
    /// loaded again in the same tab keeps its renderer's caches, and a frame drawn after them
    /// could differ from the same frame drawn by a fresh browser), then close the old one.
    pub async fn renew_page(&mut self) -> Result<()> {
        let page = open_page(&self.browser, &self.opts).await?;
        let old = std::mem::replace(&mut self.page, page);
        old.close().await.map_err(|e| crashed("could not close the previous page", e))
    }

    /// Open another tab at `url`, not begin-frame controlled: for pages that draw nothing (the
    /// audio-effects host page, [`super::audio_fx`]).
    pub async fn open_tab(&self, url: &str) -> Result<Page> {
        self.browser.new_page(url).await.map_err(|e| crashed("could not open a page", e))
    }

    /// End the browser: kill its whole process group and wait for every member (no graceful
    /// close: the profile and all state are thrown away, and a close only costs time), then
    /// remove its profile, which no process writes to any more.
    pub async fn close(self) {
        let Session { browser, handler, page, process, profile, .. } = self;
        process.end().await;
        drop((page, browser));
        handler.abort();
        let _removed = std::fs::remove_dir_all(&profile);
    }
}

/// Connect to the browser at `url` and open the capture page.
async fn attach(url: &str, opts: &LaunchOptions) -> Result<(Browser, tokio::task::JoinHandle<()>, Page)> {
    let (browser, mut handler) =
        Browser::connect_with_config(url, handler_config()).await.map_err(|e| crashed("could not be reached", e))?;
    let handler = tokio::spawn(async move { while handler.next().await.is_some() {} });
    match open_page(&browser, opts).await {
        Ok(page) => Ok((browser, handler, page)),
        Err(e) => {
            handler.abort();
            Err(e)
        }
    }
}

/// Open the capture page (`about:blank`, begin-frame controlled when the binary supports it).
async fn open_page(browser: &Browser, opts: &LaunchOptions) -> Result<Page> {
    let mut target = CreateTargetParams::new("about:blank");
    if opts.binary.mode == CaptureMode::BeginFrame {
        // The headless shell sizes a new target itself; regular Chromium takes the size from
        // --window-size and refuses a position or size for a tab.
        target.width = Some(i64::from(opts.width));
        target.height = Some(i64::from(opts.height));
        target.enable_begin_frame_control = Some(true);
    }
    let page = browser.new_page(target).await.map_err(|e| crashed("could not open a page", e))?;
    if opts.binary.mode == CaptureMode::Screenshot {
        // Regular Chromium's viewport is the window minus its (invisible) frame: pin it.
        let metrics = SetDeviceMetricsOverrideParams::new(i64::from(opts.width), i64::from(opts.height), 1.0, false);
        page.execute(metrics).await.map_err(|e| crashed("sizing the viewport", e))?;
    }
    Ok(page)
}
