//! The only module that touches libav directly, and the only one allowed `unsafe`.
//!
//! Everything here is a safe wrapper: owned handles that free themselves on `Drop`, explicit
//! `finish()` methods that report the last errors a muxer or encoder can raise, and one check
//! ([`check`]) that turns every negative libav return code into an [`AvError`] naming the
//! operation and the file or stream it worked on. Other modules see plain Rust types.
#![allow(unsafe_code)]

pub mod audio;
pub mod demux;
pub mod image;
pub mod jpeg;
pub mod mux;
pub mod png;
pub mod probe;
pub mod video;
pub mod video_decode;

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

fn version_triplet(v: u32) -> String {
    format!("{}.{}.{}", v >> 16, (v >> 8) & 0xff, v & 0xff)
}

/// The linked libav and x264 versions, as recorded in a plan's `ffmpegVersion`.
///
/// The libav part is read from the libraries at run time (so a worker that loads another build
/// reports it), the x264 part is the version the crate was built against.
pub fn ffmpeg_version() -> String {
    // SAFETY: av_version_info returns a pointer to a static NUL-terminated string.
    let info = unsafe { std::ffi::CStr::from_ptr(ff::ffi::av_version_info()) };
    // SAFETY: the *_version functions only return compile-time constants of the loaded library.
    let (codec, format, util, scale, resample) = unsafe {
        (
            ff::ffi::avcodec_version(),
            ff::ffi::avformat_version(),
            ff::ffi::avutil_version(),
            ff::ffi::swscale_version(),
            ff::ffi::swresample_version(),
        )
    };
    format!(
        "ffmpeg {} (lavc {}, lavf {}, lavu {}, sws {}, swr {}); x264 {}",
        info.to_string_lossy(),
        version_triplet(codec),
        version_triplet(format),
        version_triplet(util),
        version_triplet(scale),
        version_triplet(resample),
        env!("FRAMEFAN_X264_VERSION"),
    )
}
