//! Reading a composition's duration from the page itself (`window.__hf.duration`), for roots
//! without `data-duration` (composition.md §2): the compiled page is served over the project
//! directory, loaded with HyperFrames' runtime and the engine layer in a headless browser, and
//! asked once it is ready (the runtime's `__player.getDuration()`).

use std::path::Path;
use std::time::Duration;

use super::browser::BrowserBinary;
use super::capture::{Capturer, PageSpec, ShotFormat};
use super::server::FileServer;
use crate::error::{Code, Error, Result};
use crate::time::{Fps, Rational};

/// Load `html` (the compiled page of the project at `project`) and return its duration in
/// seconds, rounded to the microsecond.
pub fn page_duration(
    project: &Path,
    html: &str,
    width: u32,
    height: u32,
    fps: Fps,
    runtime: Option<&str>,
) -> Result<Rational> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::new(Code::Io, format!("starting the async runtime: {e}")))?;
    let scratch = scratch_dir()?;
    let seconds = rt.block_on(probe(project, html, (width, height), fps, runtime, &scratch));
    let _removed = std::fs::remove_dir_all(&scratch);
    let seconds = seconds?;
    if !seconds.is_finite() || seconds <= 0.0 {
        return Err(Error::new(
            Code::DistributedDurationOutOfRange,
            format!("the page reports window.__hf.duration = {seconds}; it must be a positive number of seconds"),
        ));
    }
    // The page's number is a double; a microsecond is far below a frame at any rate we accept.
    let micros = (seconds * 1e6).round() as i64;
    Rational::new(micros, 1_000_000).ok_or_else(|| Error::new(Code::DistributedDurationOutOfRange, "duration overflow"))
}

/// A fresh directory for the probe browser's profile (never inside the project: it is served).
fn scratch_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!(".framefan-probe.{}", crate::publish::unique_suffix()));
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("creating", &dir, e))?;
    Ok(dir)
}

async fn probe(
    project: &Path,
    html: &str,
    (width, height): (u32, u32),
    fps: Fps,
    runtime: Option<&str>,
    scratch: &Path,
) -> Result<f64> {
    let server = FileServer::project(project, html, runtime).await?;
    let page = PageSpec {
        binary: BrowserBinary::find(None)?,
        scratch: scratch.to_path_buf(),
        fps,
        width,
        height,
        variables: &serde_json::json!({}),
        videos: &[],
        format: ShotFormat::Jpeg(80),
        transparent: false,
        ready_timeout: Duration::from_secs(20),
        timeline_grace: Duration::from_secs(5),
    };
    let cap = Capturer::launch(&server, &page).await?;
    let value = cap.ready_duration();
    cap.close().await;
    value.ok_or_else(|| Error::new(Code::PageScriptError, "the page reported no duration when it became ready"))
}
