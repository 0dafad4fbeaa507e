//! What `framefan version` reports: this crate's version, the libav it runs with (versions,
//! configure line, static or shared), the x264 it was built against and the browser a render
//! would launch.
//!
//! Everything comes from the places the pipeline itself uses: `av::libav_info` (what
//! `ffmpegVersion` is made of), build.rs's recorded x264 version and
//! `BrowserBinary::find`, so the report says what a render on this machine would use.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::av;
pub use crate::av::{LibavInfo, Linkage};
pub use crate::builtin::{licence_list, write_licences, BuiltinReport, FamilyReport, FontSetReport};
use crate::engine::browser::BrowserBinary;
use crate::plan::model::CaptureMode;
pub use crate::runtime::record::RuntimeRecord;

/// The full version report (`framefan version --json`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionReport {
    /// `framefan <version>`, as recorded in plans (`producerVersion`).
    pub producer_version: &'static str,
    /// The crate version alone (`0.1.0`).
    pub version: &'static str,
    /// The string plans record and workers compare (`ffmpegVersion`).
    pub ffmpeg_version: String,
    /// The linked libav.
    pub libav: LibavInfo,
    /// The x264 version the crate was built against.
    pub x264: &'static str,
    /// The libvpx version the crate was built against (webm's VP9 encoder).
    pub libvpx: &'static str,
    /// The libopus version the crate was built against (webm's Opus encoder).
    pub libopus: &'static str,
    /// The libx265 version the crate was built against (mp4's H.265 encoder).
    pub libx265: &'static str,
    /// The browser `render-chunk` would launch.
    pub browser: BrowserReport,
    /// What is built into the binary: HyperFrames' runtime and the bundled font set.
    pub builtin: crate::builtin::BuiltinReport,
}

/// The browser `render-chunk` would pick, or why there is none.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BrowserReport {
    /// The executable, when one is found.
    pub path: Option<PathBuf>,
    /// How it would capture frames.
    pub capture_mode: Option<CaptureMode>,
    /// Why none was found (`BROWSER_NOT_FOUND`'s message).
    pub error: Option<String>,
}

/// Collect the report; `browser` is what `--browser` would name (else `FRAMEFAN_BROWSER`, else
/// the installed chromium-headless-shell or chromium).
pub fn report(browser: Option<&Path>) -> VersionReport {
    let browser = match BrowserBinary::find(browser) {
        Ok(found) => BrowserReport { path: Some(found.path), capture_mode: Some(found.mode), error: None },
        Err(err) => BrowserReport { path: None, capture_mode: None, error: Some(err.to_string()) },
    };
    VersionReport {
        producer_version: crate::producer::PRODUCER_VERSION,
        version: env!("CARGO_PKG_VERSION"),
        ffmpeg_version: av::ffmpeg_version(),
        libav: av::libav_info(),
        x264: av::X264_VERSION,
        libvpx: av::VPX_VERSION,
        libopus: av::OPUS_VERSION,
        libx265: av::X265_VERSION,
        browser,
        builtin: crate::builtin::report(),
    }
}
