//! Types handed from compiling a composition to the plan's media steps.
//!
//! Compiling resolves every `<audio>` and `<video>` clip of the composition onto the root timeline;
//! the audio mix and the video frame extraction consume these clips. All times are exact
//! rationals in seconds.

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

#[cfg(doc)]
use crate::plan::format::OutputFormat;
use crate::plan::format::{CaptureFormat, ColorRange, ColorSpace, Encoder, LockedFormat, PixelFormat};
use crate::plan::fx::{Automation, FxChain};
use crate::time::Rational;

/// Moved down to the engine, which plan drives and which must not import plan.
pub use crate::engine::browser::CaptureMode;
/// Moved down to the engine, which paints these frames and must not import plan.
pub use crate::engine::page::ExtractedVideo;

/// What kind of element a media clip came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    /// An `<audio>` element.
    Audio,
    /// A `<video>` element.
    Video,
}

/// One `<audio>` or `<video>` clip, resolved onto the root composition's timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaClip {
    /// The element's `id` (required for media that is rendered or heard).
    pub id: String,
    /// Which element it is.
    pub kind: MediaKind,
    /// The source file, inside the project directory (already checked to stay inside it).
    pub src: PathBuf,
    /// `src` as written in the page, relative to the project root (for `meta/videos.json`).
    pub src_rel: String,
    /// When the clip starts on the root timeline, in seconds, with every ancestor composition's
    /// start added.
    pub start: Rational,
    /// How long the clip is shown or heard, in seconds; `None` = until the source ends (or, for a
    /// looped clip, until the composition ends).
    pub duration: Option<Rational>,
    /// Offset into the source where playback starts (`data-media-start`), in seconds.
    pub media_start: Rational,
    /// Linear gain, 1.0 = 0 dB (`data-volume`). A gain, not a time: float is fine here.
    pub volume: f32,
    /// Whether the source loops (`loop`).
    pub looped: bool,
    /// The constant playback speed (`data-playback-rate`, as HyperFrames reads it: within
    /// 0.1..10, 1 when absent or not a positive number). A `rate` automation lane replaces it.
    pub playback_rate: f64,
    /// Whether the clip is heard: an `<audio>` with an id that is not muted nor under
    /// `data-hidden`, or a `<video data-has-audio="true">`.
    pub audible: bool,
    /// The clip's audio effects (`data-fx-chain`, `data-automation`); empty when it has none.
    pub fx: ClipFx,
    /// The `<hf-audio-group>` bus the clip is mixed into (`data-audio-group`), if any.
    pub group: Option<Arc<AudioGroup>>,
}

/// A clip's or a group's audio effects, checked ([`crate::plan::fx`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClipFx {
    /// `data-fx-chain`.
    pub chain: Option<FxChain>,
    /// `data-automation` (on the clip's clock for a clip, the composition's for a group).
    pub automation: Option<Automation>,
}

impl ClipFx {
    /// Whether the chain has a node to render.
    pub fn renders(&self) -> bool {
        self.chain.as_ref().is_some_and(FxChain::has_enabled)
    }
}

/// An `<hf-audio-group>` bus: its members are summed on the composition clock, then pass its
/// chain and automation, then its gain.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioGroup {
    /// The group element's id (`data-audio-group` on each member).
    pub id: String,
    /// `data-volume` (the gain when no volume lane replaces it).
    pub volume: f32,
    /// The group's chain and automation.
    pub fx: ClipFx,
}

/// The locked render configuration, written as canonical JSON to `meta/encoder.json` by `plan`
/// and read back by every `render-chunk`. Every knob that changes a chunk's bytes is here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EncoderConfig {
    /// The chunk encoder: the format's, or the one `--codec` chose (see [`OutputFormat::spec`]).
    pub encoder: Encoder,
    /// `draft`, `standard` or `high`.
    pub quality: String,
    /// x264 / x265 preset; libvpx's deadline (`good`, or `realtime` for draft, as HyperFrames maps its
    /// tiers) for `libvpx-vp9`; empty for other encoders.
    pub preset: String,
    /// x264 options on top of the preset (the tier's tuning, as HyperFrames sets it), appended
    /// to the fixed closed-GOP options; empty for other encoders. Plans written before it was
    /// recorded lack the key and keep the preset's own tuning.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub x264_params: String,
    /// x265 options on top of the preset: for `libx265` only, the tier's tuning as HyperFrames
    /// passes it (`x265-params`), appended to the fixed closed-GOP options.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub x265_params: String,
    /// The libx265 version the plan was made with, for `libx265` only: a worker that links
    /// another is refused (`FFMPEG_VERSION_MISMATCH`), as for libvpx.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x265_version: Option<String>,
    /// Constant rate factor, when rate control is by quality.
    pub crf: Option<u32>,
    /// libvpx's `cpu-used` (speed/quality trade-off, -8..=8), locked so chunks do not depend on
    /// libvpx's default; only for `libvpx-vp9`, absent otherwise (so other plans keep their bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vp9_cpu_used: Option<i32>,
    /// The libvpx version the plan was made with, for `libvpx-vp9` only (absent otherwise): a
    /// worker that links another is refused (`FFMPEG_VERSION_MISMATCH`), as for libav and x264
    /// through `ffmpegVersion`, which cannot grow without changing every plan's bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub libvpx_version: Option<String>,
    /// Target bitrate in bits per second, when rate control is by bitrate.
    pub bitrate: Option<u64>,
    /// The largest GOP: the chunk size (each chunk is one closed GOP of its own length).
    pub gop_size: u32,
    /// Always true.
    pub closed_gop: bool,
    /// The pixel format the encoder takes: the format's.
    pub pixel_format: PixelFormat,
    /// Frames per chunk (the last may be shorter).
    pub chunk_size: u32,
    /// Number of chunks.
    pub chunk_count: u32,
    /// How frames are captured.
    pub capture_mode: CaptureMode,
    /// The format's capture format, or `png` for a padded page.
    pub capture_format: CaptureFormat,
    /// JPEG quality of captured frames (1..=100); unused for PNG.
    pub jpeg_quality: u32,
    /// Device scale factor of the page (1).
    pub device_scale_factor: u32,
    /// Encoder thread count (x264 threads / x265 pool threads / ProRes slices / libvpx threads),
    /// fixed so bytes do not depend on the worker's cores.
    pub encoder_threads: u32,
    /// The colour matrix tagged on the video.
    pub color_space: ColorSpace,
    /// The colour range tagged on the video.
    pub color_range: ColorRange,
    /// Composition variables (`window.__hfVariables`), a JSON object.
    pub variables: serde_json::Value,
    /// Whether glyphs may come from the worker's system fonts (`--system-fonts`, an unresolved
    /// family, or text the frozen faces do not cover); only then must the worker's
    /// `fontSnapshotSha` equal the plan's. Plans written before fonts were frozen lack the key and
    /// read as `true`.
    #[serde(default = "system_fonts_default")]
    pub system_fonts: bool,
    /// The page's size when it differs from the output's (an odd side padded to even); the
    /// padding is black and captures are lossless PNG then, so the padding is exact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<(u32, u32)>,
    /// The HyperFrames runtime frozen into the plan (`compiled/.framefan/`); absent in plans of
    /// pages that drive themselves through `window.__hf` (no runtime is injected then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<crate::runtime::record::RuntimeRecord>,
    /// Compositions whose timeline never registered when `plan` probed the page (it waited its
    /// bounded grace): the page renders as it stands, and render-chunk does not wait for them
    /// again. Absent when every timeline registered, so such plans keep their bytes and hash.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unregistered_timelines: Vec<String>,
    /// How many times a GIF plays (its Netscape loop count; 0: for ever). Only GIF plans have it,
    /// so other plans keep their bytes and hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gif_loop: Option<u16>,
    /// The page draws WebGL shader transitions (`HyperShader.init`) and composites them itself,
    /// as HyperFrames has it do: its page-side compositor switched on before the page's scripts
    /// run, each frame's transition drawn after the seek, captured by screenshot
    /// (`captureMode` is `screenshot`). Only such plans have the key, so others keep their
    /// bytes and hash.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub page_side_compositing: bool,
}

impl EncoderConfig {
    /// The format facts this configuration locks, to check against the plan's format.
    pub fn locked_format(&self) -> LockedFormat {
        LockedFormat { encoder: self.encoder, pixel_format: self.pixel_format, capture: self.capture_format }
    }
}

fn system_fonts_default() -> bool {
    true
}

/// What the audio mix produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MixSummary {
    /// Number of clips heard in the mix.
    pub clips: u32,
    /// Samples per channel at 48 kHz in the soundtrack (exactly the composition's duration).
    pub samples: u64,
    /// Whether the limiter had to reduce the gain somewhere.
    pub limited: bool,
}
