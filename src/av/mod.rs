//! The only module that touches libav directly, and the only one allowed `unsafe`.
//!
//! Everything here is a safe wrapper: owned handles that free themselves on `Drop`, explicit
//! `finish()` methods that report the last errors a muxer or encoder can raise, and one check
//! ([`check`]) that turns every negative libav return code into an [`AvError`] naming the
//! operation and the file or stream it worked on. Other modules see plain Rust types.
#![allow(unsafe_code)]

pub mod audio;
pub mod audio_filter;
pub mod demux;
pub mod gif;
pub mod image;
pub mod jpeg;
pub mod mux;
pub mod opus;
pub mod png;
pub mod probe;
pub mod video;
pub mod video_decode;
mod yuv2rgb;

pub use ffmpeg_next as ff;

use std::sync::Once;

use crate::error::AvError;

/// Initialise libav once per process and keep its logging quiet (errors surface as values).
pub fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // `ffmpeg_next::init` only registers devices on old libav; on 5.1 it cannot fail.
        let _registered = ff::init();
        ff::util::log::set_level(ff::util::log::Level::Fatal);
    });
}

/// Turn a libav return code into a result: negative codes become an [`AvError`] naming `op` and
/// `subject`, non-negative codes pass through.
pub fn check(ret: i32, op: &'static str, subject: &dyn std::fmt::Display) -> Result<i32, AvError> {
    if ret >= 0 {
        return Ok(ret);
    }
    Err(AvError { op, subject: subject.to_string(), code: ret, message: ff::Error::from(ret).to_string() })
}

/// Wrap an `ffmpeg_next` error with the operation and subject it came from.
pub fn wrap(err: ff::Error, op: &'static str, subject: &dyn std::fmt::Display) -> AvError {
    AvError { op, subject: subject.to_string(), code: i32::from(err), message: err.to_string() }
}

/// Extension for results of `ffmpeg_next` calls: attach operation and subject.
pub trait Context<T> {
    /// Map the error into an [`AvError`] naming `op` and `subject`.
    fn ctx(self, op: &'static str, subject: &dyn std::fmt::Display) -> Result<T, AvError>;
}

impl<T> Context<T> for Result<T, ff::Error> {
    fn ctx(self, op: &'static str, subject: &dyn std::fmt::Display) -> Result<T, AvError> {
        self.map_err(|e| wrap(e, op, subject))
    }
}

/// The linked libavfilter's filter `name`, or an error naming the one missing (a build without it).
fn find_filter(name: &str) -> Result<ff::filter::Filter, AvError> {
    ff::filter::find(name).ok_or_else(|| AvError {
        op: "avfilter_get_by_name",
        subject: name.into(),
        code: ff::ffi::AVERROR_FILTER_NOT_FOUND,
        message: format!("the linked libavfilter has no {name} filter"),
    })
}

fn version_triplet(v: u32) -> String {
    format!("{}.{}.{}", v >> 16, (v >> 8) & 0xff, v & 0xff)
}

/// How libav is linked into this binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Linkage {
    /// The system's shared libraries (the default build).
    Shared,
    /// The minimal static build from `vendor/ffmpeg` (`--features static`).
    Static,
}

impl Linkage {
    /// `shared` or `static`, as in the JSON report.
    pub fn as_str(self) -> &'static str {
        match self {
            Linkage::Shared => "shared",
            Linkage::Static => "static",
        }
    }
}

/// What the linked libav reports about itself at run time, and how it is linked.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LibavInfo {
    /// `av_version_info()`: the FFmpeg release with its packaging suffix (`5.1.9-0+deb12u1`).
    pub version: String,
    /// libavcodec's version (`59.37.100`).
    pub libavcodec: String,
    /// libavformat's version.
    pub libavformat: String,
    /// libavutil's version.
    pub libavutil: String,
    /// libswscale's version.
    pub libswscale: String,
    /// libswresample's version.
    pub libswresample: String,
    /// `avcodec_configuration()`: the `./configure` line libavcodec was built with.
    pub configuration: String,
    /// Shared or static, fixed when the crate is built.
    pub linkage: Linkage,
}

/// The x264 version the crate was built against (build.rs records it; libav does not expose it).
pub const X264_VERSION: &str = env!("FRAMEFAN_X264_VERSION");

/// The libvpx version the crate was built against (build.rs records it from pkg-config; libav
/// calls libvpx for webm's VP9 and does not expose its version).
pub const VPX_VERSION: &str = env!("FRAMEFAN_VPX_VERSION");

/// The libopus version the crate was built against (webm's soundtrack encoder), as for libvpx.
pub const OPUS_VERSION: &str = env!("FRAMEFAN_OPUS_VERSION");

/// The libx265 version the crate was built against (mp4 with `--codec h265`), as for libvpx.
pub const X265_VERSION: &str = env!("FRAMEFAN_X265_VERSION");

/// Read the linked libav's versions and configuration.
pub fn libav_info() -> LibavInfo {
    // SAFETY: av_version_info and avcodec_configuration return pointers to static NUL-terminated
    // strings of the loaded library; the *_version functions return its compile-time constants.
    let (info, configuration, codec, format, util, scale, resample) = unsafe {
        (
            std::ffi::CStr::from_ptr(ff::ffi::av_version_info()),
            std::ffi::CStr::from_ptr(ff::ffi::avcodec_configuration()),
            ff::ffi::avcodec_version(),
            ff::ffi::avformat_version(),
            ff::ffi::avutil_version(),
            ff::ffi::swscale_version(),
            ff::ffi::swresample_version(),
        )
    };
    LibavInfo {
        version: info.to_string_lossy().into_owned(),
        libavcodec: version_triplet(codec),
        libavformat: version_triplet(format),
        libavutil: version_triplet(util),
        libswscale: version_triplet(scale),
        libswresample: version_triplet(resample),
        configuration: configuration.to_string_lossy().trim().to_owned(),
        linkage: if cfg!(feature = "static") { Linkage::Static } else { Linkage::Shared },
    }
}

/// The linked libav and x264 versions, as recorded in a plan's `ffmpegVersion`.
///
/// The libav part is read from the libraries at run time (so a worker that loads another build
/// reports it), the x264 part is the version the crate was built against. Neither the linkage nor
/// the configuration is part of it: a static and a shared build of the same libav and x264 write
/// the same chunks, so they must accept each other's plans.
pub fn ffmpeg_version() -> String {
    let info = libav_info();
    format!(
        "ffmpeg {} (lavc {}, lavf {}, lavu {}, sws {}, swr {}); x264 {}",
        info.version,
        info.libavcodec,
        info.libavformat,
        info.libavutil,
        info.libswscale,
        info.libswresample,
        X264_VERSION,
    )
}
