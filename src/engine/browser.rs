//! Finding and launching the browser: Debian's `chromium-headless-shell` (deterministic
//! `HeadlessExperimental.beginFrame` capture) or, as a fallback, `chromium` (screenshots).
//!
//! One browser process captures one sequence of frames: Chromium cannot capture two tabs of one
//! browser at once, so parallelism is separate processes. Every launch gets a fresh profile
//! directory (removed with the session) and flags that make rendering software-only, quiet on the
//! network and stable in colour and font rasterisation.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams;
use chromiumoxide::cdp::browser_protocol::target::CreateTargetParams;
use chromiumoxide::Page;
use futures_util::StreamExt;

use crate::error::{Code, Error, Result};
use crate::plan::model::CaptureMode;

/// Environment variable naming the browser binary.
pub const BROWSER_ENV: &str = "FRAMEFAN_BROWSER";

const SHELL_CANDIDATES: [&str; 2] = ["/usr/lib/chromium/chromium-headless-shell", "/usr/bin/chromium-headless-shell"];
const CHROMIUM_CANDIDATES: [&str; 2] = ["/usr/bin/chromium", "/usr/lib/chromium/chromium"];

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

/// A running browser with one page, its protocol handler task and its profile directory.
pub struct Session {
    browser: Browser,
    handler: tokio::task::JoinHandle<()>,
    /// The page frames are captured from.
    pub page: Page,
    /// How frames are captured.
    pub mode: CaptureMode,
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
}

/// Flags, without the leading `--` (chromiumoxide adds it).
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
    }
    args
}

fn crashed(what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(Code::BrowserCrashed, format!("browser {what}: {e}"))
}

const SETPRIV: &str = "/usr/bin/setpriv";

/// The executable to start: a two-line launcher that runs the browser under
/// `setpriv --pdeathsig KILL`, so that a worker killed outright (SIGKILL, OOM) takes its browser
/// with it instead of leaving an orphan; the browser binary itself when setpriv is missing.
fn reaped_launcher(binary: &Path, dir: &Path) -> Result<PathBuf> {
    if !Path::new(SETPRIV).is_file() {
        return Ok(binary.to_path_buf());
    }
    let path = dir.join("launch-browser");
    let quoted = binary.to_string_lossy().replace('\'', "'\\''");
    let text = format!("#!/bin/sh\nexec {SETPRIV} --pdeathsig KILL -- '{quoted}' \"$@\"\n");
    std::fs::write(&path, text).map_err(|e| Error::io("writing", &path, e))?;
    let mut perms = std::fs::metadata(&path).map_err(|e| Error::io("inspecting", &path, e))?.permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&path, perms).map_err(|e| Error::io("making executable", &path, e))?;
    Ok(path)
}

/// `Browser::launch`, retried while exec reports ETXTBSY ("Text file busy"): the launcher was
/// just written, and a child that another thread of this process forked in the meantime holds
/// the write descriptor until its own exec closes it (a few milliseconds at most).
async fn launch_retrying_busy(config: BrowserConfig) -> Result<(Browser, chromiumoxide::Handler)> {
    let mut attempt = 0;
    loop {
        match Browser::launch(config.clone()).await {
            Ok(launched) => return Ok(launched),
            Err(e) if attempt < 20 && e.to_string().contains("os error 26") => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(10 * attempt)).await;
            }
            Err(e) => return Err(crashed("failed to start", e)),
        }
    }
}

impl Session {
    /// Launch the browser and open the capture page (`about:blank`, begin-frame controlled when
    /// the binary supports it).
    pub async fn launch(opts: &LaunchOptions) -> Result<Session> {
        let profile = opts.scratch.join(format!("profile-{}", std::process::id()));
        std::fs::create_dir_all(&profile).map_err(|e| Error::io("creating", &profile, e))?;
        let executable = reaped_launcher(&opts.binary.path, &profile)?;
        let config = BrowserConfig::builder()
            .chrome_executable(&executable)
            .no_sandbox()
            .user_data_dir(&profile)
            .viewport(None)
            .launch_timeout(Duration::from_secs(20))
            .request_timeout(Duration::from_secs(60))
            .args(flags(opts))
            .build()
            .map_err(|e| Error::new(Code::BrowserNotFound, format!("browser configuration: {e}")))?;
        let (browser, mut handler) = launch_retrying_busy(config).await?;
        let handler = tokio::spawn(async move { while handler.next().await.is_some() {} });
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
            let metrics =
                SetDeviceMetricsOverrideParams::new(i64::from(opts.width), i64::from(opts.height), 1.0, false);
            page.execute(metrics).await.map_err(|e| crashed("sizing the viewport", e))?;
        }
        Ok(Session { browser, handler, page, mode: opts.binary.mode, profile })
    }

    /// Kill the browser outright (SIGKILL; its renderers exit with it) and remove its profile:
    /// for a browser whose profile and state are thrown away, a graceful close only costs time.
    pub async fn kill(mut self) {
        let _killed = self.browser.kill().await;
        let _exited = tokio::time::timeout(Duration::from_secs(5), self.browser.wait()).await;
        self.handler.abort();
        let _removed = std::fs::remove_dir_all(&self.profile);
    }

    /// Close the browser and remove its profile.
    pub async fn close(mut self) {
        // A browser that already died cannot be closed; killing it is the fallback.
        if self.browser.close().await.is_err() {
            let _killed = self.browser.kill().await;
        }
        let _exited = tokio::time::timeout(Duration::from_secs(5), self.browser.wait()).await;
        self.handler.abort();
        let _removed = std::fs::remove_dir_all(&self.profile);
    }
}
