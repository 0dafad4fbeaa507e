//! The plan-time probe: `plan` loads every compiled page once in a headless browser, exactly as
//! render-chunk will (the frozen plan's `compiled/` served, HyperFrames' runtime and the engine
//! layer injected, the plan's variables), before it writes the plan. One launch answers three
//! questions:
//!
//! - does the page become ready at all? Failures are deterministic here, so each is final
//!   (exit 3) with its own code: a script that throws or does not load (`PAGE_SCRIPT_ERROR`), one
//!   that never yields (`PAGE_SCRIPT_TIMEOUT`, found by a heartbeat within
//!   [`super::policy::BUSY_LIMIT`], then the browser is killed), an image that fails
//!   (`IMAGE_LOAD_FAILED`), a bounded wait that runs out (`PAGE_NEVER_READY`); messages name the
//!   script or image;
//! - which `@font-face` rules fail to load: HyperFrames renders such a page, its text in the next
//!   family of the stack (a project face for a family keeps its compiler from adding the bundled
//!   one, even a face of `local()` sources the machine lacks), so this is a warning naming family
//!   and sources, recorded by the plan as a dependence on system fonts, and `FONT_LOAD_FAILED`
//!   only when [`ProbeSpec::strict_fonts`] asks for it;
//! - which compositions never register a timeline within [`TIMELINE_GRACE`]: not an error, as in
//!   HyperFrames; the page renders as it stands, and the plan records it so that render-chunk
//!   does not wait for them again;
//! - for a root without `data-duration`, its duration (`window.__hf.duration`, composition.md
//!   §2), read from the same load.

use std::path::Path;
use std::time::Duration;

use super::browser::BrowserBinary;
use super::capture::{broken_fonts_message, Capturer, PageSpec, ShotFormat};
#[cfg(feature = "internals")]
use super::page::served_html;
use super::policy::Policy;
use super::server::{FileServer, Site};
use crate::control::Control;
use crate::error::{Code, Error, Result};
use crate::time::{Fps, Rational};

/// How long the probe waits for a page to become ready (render-chunk's own default).
pub const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// How long the probe waits for a composition's timeline to register (render-chunk's default).
pub const TIMELINE_GRACE: Duration = Duration::from_secs(5);

/// What to probe: a page, its size, rate and inputs.
pub struct ProbeSpec<'a> {
    /// Viewport width in CSS pixels.
    pub width: u32,
    /// Viewport height in CSS pixels.
    pub height: u32,
    /// Frame rate.
    pub fps: Fps,
    /// Variable overrides (`window.__hfVariables`), a JSON object.
    pub variables: &'a serde_json::Value,
    /// Whether to read the page's duration (a root without `data-duration`).
    pub measure: bool,
    /// Whether a font face that fails to load fails the probe (`--strict-fonts`).
    pub strict_fonts: bool,
    /// Ends the browser's launch or the page's load under way (`CANCELLED`).
    pub control: &'a Control,
}

/// What the probe learned.
#[derive(Debug, Clone, PartialEq)]
pub struct Probed {
    /// The page's duration in seconds, to the microsecond, when asked for.
    pub duration: Option<Rational>,
    /// What the page said while getting ready (`page: …`).
    pub warnings: Vec<String>,
    /// Compositions whose timeline never registered within the grace.
    pub unregistered: Vec<String>,
    /// The `@font-face` rules that failed to load (`family (src …)`); their text draws with the
    /// machine's fonts.
    pub broken_fonts: Vec<String>,
}

/// Probe the plan being built, served as `site` (its `compiled/` and page, as render-chunk serves
/// them).
pub fn probe_plan(site: Site, spec: &ProbeSpec<'_>) -> Result<Probed> {
    block_on(|| async { FileServer::start(site).await }, spec)
}

/// Load `html` (the compiled page of the project at `project`, served over the project itself)
/// and return its duration in seconds, rounded to the microsecond. `plan` probes the frozen plan
/// instead ([`probe_plan`]); this serves callers that have no plan.
#[cfg(feature = "internals")]
pub fn page_duration(
    project: &Path,
    html: &str,
    width: u32,
    height: u32,
    fps: Fps,
    runtime: Option<&str>,
) -> Result<Rational> {
    let variables = serde_json::json!({});
    let control = Control::default();
    let spec =
        ProbeSpec { width, height, fps, variables: &variables, measure: true, strict_fonts: false, control: &control };
    let site = Site {
        root: project.to_path_buf(),
        video_frames: project.join(".framefan-no-video-frames"),
        index_html: served_html(html.to_string(), runtime).into_bytes(),
    };
    let probed = block_on(|| async { FileServer::start(site).await }, &spec)?;
    probed.duration.ok_or_else(|| Error::new(Code::DistributedDurationOutOfRange, "the page reported no duration"))
}

/// Run one probe on a fresh single-threaded runtime: `serve` starts the file server (it needs
/// the runtime), the browser's profile lives in a scratch directory removed afterwards.
fn block_on<S, F>(serve: S, spec: &ProbeSpec<'_>) -> Result<Probed>
where
    S: FnOnce() -> F,
    F: std::future::Future<Output = Result<FileServer>>,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::new(Code::Io, format!("starting the async runtime: {e}")))?;
    let scratch = scratch_dir()?;
    let probed = rt.block_on(async {
        let server = serve().await?;
        probe(&server, spec, &scratch).await
    });
    let _removed = std::fs::remove_dir_all(&scratch);
    probed
}

/// A fresh directory for the probe browser's profile (never inside the plan: it is served).
fn scratch_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!(".framefan-probe.{}", crate::publish::unique_suffix()));
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("creating", &dir, e))?;
    Ok(dir)
}

async fn probe(server: &FileServer, spec: &ProbeSpec<'_>, scratch: &Path) -> Result<Probed> {
    let page = PageSpec {
        binary: BrowserBinary::find(None)?,
        scratch: scratch.to_path_buf(),
        fps: spec.fps,
        width: spec.width,
        height: spec.height,
        variables: spec.variables,
        videos: &[],
        format: ShotFormat::Jpeg(80),
        transparent: false,
        ready_timeout: READY_TIMEOUT,
        timeline_grace: TIMELINE_GRACE,
        policy: Policy::Probe,
        page_side_compositing: false,
    };
    let cap = Capturer::launch(server, &page, spec.control).await?;
    // The duration the page reported when it became ready, before any seek (see
    // `Capturer::ready_duration`).
    let seconds = match spec.measure {
        true => Some(
            cap.ready_duration()
                .ok_or_else(|| Error::new(Code::PageScriptError, "the page reported no duration when it became ready")),
        ),
        false => None,
    };
    let mut warnings = cap.warnings().to_vec();
    let unregistered = cap.unregistered().to_vec();
    let broken_fonts = cap.broken_fonts().to_vec();
    cap.close().await;
    if !broken_fonts.is_empty() {
        let message = broken_fonts_message(&broken_fonts);
        if spec.strict_fonts {
            return Err(Error::new(Code::FontLoadFailed, format!("page index.html: {message}")));
        }
        warnings.push(format!(
            "page: {message}; its text draws with the next family of its stack from the machine's fonts, as \
             HyperFrames draws it, so the plan depends on system fonts (--strict-fonts makes this an error)"
        ));
    }
    let duration = seconds.transpose()?.map(exact_duration).transpose()?;
    Ok(Probed { duration, warnings, unregistered, broken_fonts })
}

/// The page's duration (a double) as an exact rational, to the microsecond — far below a frame
/// at any rate we accept.
fn exact_duration(seconds: f64) -> Result<Rational> {
    if !seconds.is_finite() || seconds <= 0.0 {
        return Err(Error::new(
            Code::DistributedDurationOutOfRange,
            format!("the page reports window.__hf.duration = {seconds}; it must be a positive number of seconds"),
        ));
    }
    let micros = (seconds * 1e6).round() as i64;
    Rational::new(micros, 1_000_000).ok_or_else(|| Error::new(Code::DistributedDurationOutOfRange, "duration overflow"))
}
