//! The options of `plan`, as given (`PlanConfig`) and as validated (`ValidConfig`).
//!
//! Validation happens once, before anything is created on disk (contracts §4). Every error is
//! `INVALID_CONFIG` naming the field, the value and the allowed range, except HDR
//! (`FORMAT_NOT_SUPPORTED_IN_DISTRIBUTED`) and GPU rendering (`BROWSER_GPU_NOT_SOFTWARE`), which
//! the distributed path cannot do at all. A `ValidConfig` cannot hold an invalid value; the one
//! check that needs the composition (its size) is [`ValidConfig::check_dimensions`], run by
//! `plan` as soon as the root is known and still before any directory exists.

use std::path::{Path, PathBuf};

use crate::error::{Code, Error, Result};
use crate::plan::chunking::Chunking;
pub use crate::plan::chunking::ChunkingConfig;
use crate::plan::fetch::FetchOptions;
use crate::plan::fonts::FontOptions;
use crate::plan::format::{self, Codec, ColorRange, ColorSpace, Encoder, OutputFormat};
use crate::plan::model::{CaptureMode, EncoderConfig};
use crate::time::{Fps, Rational};

/// Default for [`PlanConfig::max_parallel_chunks`].
pub const DEFAULT_MAX_PARALLEL_CHUNKS: i64 = 16;
/// Default for [`PlanConfig::plan_dir_size_limit_bytes`]: 2 GiB.
pub const DEFAULT_PLAN_DIR_SIZE_LIMIT: u64 = 2 << 30;
/// Default for [`PlanConfig::encoder_threads`].
pub const DEFAULT_ENCODER_THREADS: i64 = 2;
/// The environment variable naming a package cache when the config names none.
pub const PACKAGE_CACHE_ENV: &str = "FRAMEFAN_PACKAGE_CACHE";

/// The largest `chunkSize` and `targetChunkFrames` (contracts §4).
pub const MAX_CHUNK_FRAMES: i64 = 3600;
/// The largest `maxParallelChunks` (contracts §4).
pub const MAX_PARALLEL_CHUNKS: i64 = 256;
/// Output width and height bounds, in pixels (contracts §4); both must also be even.
pub const DIMENSION_RANGE: std::ops::RangeInclusive<u32> = 16..=7680;
/// The fastest frame rate accepted, in frames per second. Not in the contract: it keeps 24 h of
/// frames and every frame count far inside the integer types, and no display shows more.
pub const MAX_FPS: i64 = 1000;
/// Bitrate bounds in bits per second (1 kb/s .. 1 Gb/s).
pub const BITRATE_RANGE: std::ops::RangeInclusive<i64> = 1_000..=1_000_000_000;
/// Seconds of a default GOP (see [`default_gop`]).
pub const DEFAULT_GOP_SECONDS: i64 = 2;

/// The GOP length a plan locks when none is given: two seconds of frames, counted at the frame
/// rate rounded up (60 at 30 fps and at 29.97, 48 at 24, 120 at 60).
///
/// Why two seconds: every GOP is encoded on its own (no encoder state crosses it), so a GOP is
/// the smallest unit a chunk can hold, and each one costs an IDR frame. At two seconds the IDRs
/// cost a few percent of the file against x264's default `keyint=250` (measured in
/// benches/README.md), a 10 s composition still splits into five pieces of work, and players
/// and HLS/DASH packagers seek and segment on two-second keyframes.
pub fn default_gop(fps: Fps) -> u32 {
    let (num, den) = (fps.num(), fps.den().max(1));
    let per_second = (num / den + i64::from(num % den != 0)).max(1);
    let frames = per_second.saturating_mul(DEFAULT_GOP_SECONDS);
    u32::try_from(frames.min(MAX_CHUNK_FRAMES)).unwrap_or(1)
}

/// libvpx's `cpu-used` for every WebM plan: HyperFrames' default (`DEFAULT_VP9_CPU_USED`).
pub const VP9_CPU_USED: i32 = 4;

/// Encoder thread bounds.
pub const ENCODER_THREADS_RANGE: std::ops::RangeInclusive<i64> = 1..=64;

/// Quality setting: the tiers of contracts §5 (draft = ultrafast/CRF 28, standard = medium/CRF 18,
/// high = slow/CRF 15) and the names `hyperframes render` takes for them: `looks` (its default:
/// the standard tier at CRF 16) and `delivery` (the high tier).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Quality {
    /// Fast previews.
    Draft,
    /// The default, as in `hyperframes render`: the standard tier at CRF 16.
    #[default]
    Looks,
    /// The standard tier.
    Standard,
    /// Final deliverables (`delivery` is another name for it).
    High,
}

/// The x264 tuning HyperFrames' encoder adds to every preset but ultrafast
/// (`buildEncoderArgs` in its engine's `chunkEncoder`): variance AQ with auto-variance and
/// log-dark bias at strength 0.8, and a deblocking filter one step stronger.
const X264_TUNED: &str = "aq-mode=3:aq-strength=0.8:deblock=1,1";
/// What it adds to ultrafast: the same AQ mode at x264's default strength (ultrafast leaves the
/// deblocking filter off).
const X264_TUNED_ULTRAFAST: &str = "aq-mode=3";

impl Quality {
    /// The name given on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Quality::Draft => "draft",
            Quality::Looks => "looks",
            Quality::Standard => "standard",
            Quality::High => "high",
        }
    }

    /// The tier (contracts §5) recorded as `quality` in `meta/encoder.json`.
    pub fn tier(self) -> &'static str {
        match self {
            Quality::Looks => Quality::Standard.as_str(),
            q => q.as_str(),
        }
    }

    /// Parse `draft`, `looks`, `delivery`, `standard` or `high`.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "draft" => Ok(Quality::Draft),
            "looks" => Ok(Quality::Looks),
            "standard" => Ok(Quality::Standard),
            "high" | "delivery" => Ok(Quality::High),
            other => Err(invalid(format!("quality {other:?} is not one of draft, looks, delivery, standard, high"))),
        }
    }

    /// x264 preset of the tier.
    pub fn preset(self) -> &'static str {
        match self {
            Quality::Draft => "ultrafast",
            Quality::Looks | Quality::Standard => "medium",
            Quality::High => "slow",
        }
    }

    /// x264 CRF of the tier.
    pub fn crf(self) -> u32 {
        match self {
            Quality::Draft => 28,
            Quality::Looks => 16,
            Quality::Standard => 18,
            Quality::High => 15,
        }
    }

    /// x264 options on top of the preset, as HyperFrames sets them for the same tier (draft is
    /// the ultrafast one); HyperFrames passes the same string to libx265 as `x265-params`.
    pub fn x264_params(self) -> &'static str {
        match self {
            Quality::Draft => X264_TUNED_ULTRAFAST,
            Quality::Looks | Quality::Standard | Quality::High => X264_TUNED,
        }
    }

    /// libvpx's deadline for the tier, as HyperFrames maps it (`realtime` where x264 would be
    /// `ultrafast`, `good` otherwise).
    pub fn vp9_deadline(self) -> &'static str {
        match self {
            Quality::Draft => "realtime",
            Quality::Looks | Quality::Standard | Quality::High => "good",
        }
    }

    /// JPEG quality of captured frames for opaque formats.
    pub fn jpeg_quality(self) -> u32 {
        match self {
            Quality::Draft => 80,
            Quality::Looks | Quality::Standard => 90,
            Quality::High => 95,
        }
    }
}

/// Parse an output format name: one of [`OutputFormat::ALL`] (`mp4`, `mov`, `png-sequence`,
/// `gif`, `webm`).
pub fn parse_format(text: &str) -> Result<OutputFormat> {
    OutputFormat::parse(text).ok_or_else(|| invalid(format::unknown("format", text, &OutputFormat::choices())))
}

/// Parse a video codec name: one of [`Codec::ALL`] (`h264`, `h265`).
pub fn parse_codec(text: &str) -> Result<Codec> {
    Codec::parse(text).ok_or_else(|| invalid(format::unknown("codec", text, &Codec::choices())))
}

/// Parse a frame rate written as `N`, `N/D` or a decimal such as `29.97`; `field` names where
/// it came from in the error. Allowed: a positive rational of at most [`MAX_FPS`].
pub fn parse_fps_as(text: &str, field: &str, code: Code) -> Result<Fps> {
    let t = text.trim();
    let rate = match t.split_once('/') {
        Some((n, d)) => match (n.trim().parse::<i64>(), d.trim().parse::<i64>()) {
            (Ok(n), Ok(d)) if d != 0 => Rational::new(n, d),
            _ => None,
        },
        None => Rational::parse_decimal(t),
    };
    let bad = || {
        Error::new(code, format!("{field} {t:?} is not a positive frame rate (N, N/D or a decimal, at most {MAX_FPS})"))
    };
    let rate = rate.ok_or_else(bad)?;
    if rate.num <= 0 || rate > Rational::int(MAX_FPS) || rate.den > 1_000_000 {
        return Err(bad());
    }
    Fps::new(rate.num, rate.den).ok_or_else(bad)
}

/// Parse the `--fps` option (`INVALID_CONFIG` on a bad value).
pub fn parse_fps(text: &str) -> Result<Fps> {
    parse_fps_as(text, "fps", Code::InvalidConfig)
}

/// Parse a bitrate: bits per second, optionally with a `k` or `M` suffix (`8M`, `2500k`).
pub fn parse_bitrate(text: &str) -> Result<i64> {
    let t = text.trim();
    let (digits, scale) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1_000),
        Some((i, 'm' | 'M')) => (&t[..i], 1_000_000),
        _ => (t, 1),
    };
    let scaled = Rational::parse_decimal(digits).and_then(|r| r.checked_mul(Rational::int(scale)));
    match scaled {
        Some(r) if r.den == 1 => Ok(r.num),
        _ => Err(invalid(format!("bitrate {t:?} is not a whole number of bits per second (e.g. 8M, 2500k)"))),
    }
}

impl std::str::FromStr for OutputFormat {
    type Err = Error;
    /// One of `mp4`, `mov`, `png-sequence`, `gif`, `webm`.
    fn from_str(text: &str) -> Result<OutputFormat> {
        parse_format(text)
    }
}

impl std::str::FromStr for Codec {
    type Err = Error;
    /// `h264` or `h265`.
    fn from_str(text: &str) -> Result<Codec> {
        parse_codec(text)
    }
}

impl std::str::FromStr for Quality {
    type Err = Error;
    /// `draft`, `looks`, `standard` or `high`.
    fn from_str(text: &str) -> Result<Quality> {
        Quality::parse(text)
    }
}

impl std::str::FromStr for Fps {
    type Err = Error;
    /// `N`, `N/D` or a decimal such as `29.97`.
    fn from_str(text: &str) -> Result<Fps> {
        parse_fps(text)
    }
}

impl PlanConfig {
    /// A bitrate for [`PlanConfig::bitrate`]: bits per second, optionally with a `k` or `M`
    /// suffix (`8M`, `2500k`).
    pub fn parse_bitrate(text: &str) -> Result<i64> {
        parse_bitrate(text)
    }
}

/// `plan`'s options, as given. Build with [`PlanConfig::default`] and set fields; everything is
/// checked by [`PlanConfig::validate`]. Integers are wide on purpose so that an out-of-range value
/// reaches validation and is reported with its field instead of failing to parse.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanConfig {
    /// Frame-rate override; `None` = the root's `data-fps` (default 30).
    pub fps: Option<Fps>,
    /// Deliverable format.
    pub format: OutputFormat,
    /// The video codec (`--codec`): a choice for mp4 only (h264, the default, or h265); `None` =
    /// the format's own.
    pub codec: Option<Codec>,
    /// Quality tier (preset, CRF, capture JPEG quality).
    pub quality: Quality,
    /// Constant rate factor override (0..=51); exclusive with `bitrate`.
    pub crf: Option<i64>,
    /// Target bitrate in bits per second; exclusive with `crf`.
    pub bitrate: Option<i64>,
    /// Frames per chunk (1..=3600), rounded up to whole GOPs; `None` = derived (contracts §3).
    pub chunk_size: Option<i64>,
    /// Frames per GOP (1..=3600), the unit the encoder sees; `None` = two seconds of the
    /// composition's frame rate (two seconds).
    pub gop_size: Option<i64>,
    /// Upper bound on the number of chunks (1..=256, default 16).
    pub max_parallel_chunks: i64,
    /// Desired frames per chunk when `chunk_size` is not given (1..=3600).
    pub target_chunk_frames: Option<i64>,
    /// Composition variables (`window.__hfVariables`): a JSON object.
    pub variables: serde_json::Value,
    /// Where CDN packages are looked up; `None` = `$FRAMEFAN_PACKAGE_CACHE` if set. The project's
    /// own `node_modules` is always searched too.
    pub package_cache: Option<PathBuf>,
    /// Largest plan directory in bytes (default 2 GiB).
    pub plan_dir_size_limit_bytes: u64,
    /// HDR output; always rejected in the distributed path.
    pub hdr: bool,
    /// GPU rendering; always rejected (workers render in software for identical pixels).
    pub gpu: bool,
    /// Encoder threads, locked into the plan (1..=64, default 2).
    pub encoder_threads: i64,
    /// A GIF's loop count (`--gif-loop`, 0..=65535, 0 = for ever, the default); only for
    /// `format` gif.
    pub gif_loop: Option<i64>,
    /// How text is given its fonts (`--system-fonts`, `--fonts-dir`).
    pub fonts: FontOptions,
    /// Whether a project `@font-face` that fails to load when the page is probed fails the plan
    /// (`FONT_LOAD_FAILED`, `--strict-fonts`); otherwise it is a warning, and its text draws with
    /// the next family of its stack, as in HyperFrames.
    pub strict_fonts: bool,
    /// How remote resources are fetched (`--offline`, `--strict-resources`,
    /// `--allow-private-network`, bounds).
    pub fetch: FetchOptions,
    /// A HyperFrames runtime file to use instead of the pinned package's (`--runtime`); `None` =
    /// `$FRAMEFAN_RUNTIME` if set, else the pinned one from the package cache.
    pub runtime: Option<PathBuf>,
}

impl Default for PlanConfig {
    fn default() -> Self {
        PlanConfig {
            fps: None,
            format: OutputFormat::Mp4,
            codec: None,
            quality: Quality::Looks,
            crf: None,
            bitrate: None,
            chunk_size: None,
            gop_size: None,
            max_parallel_chunks: DEFAULT_MAX_PARALLEL_CHUNKS,
            target_chunk_frames: None,
            variables: serde_json::Value::Object(serde_json::Map::new()),
            package_cache: None,
            plan_dir_size_limit_bytes: DEFAULT_PLAN_DIR_SIZE_LIMIT,
            hdr: false,
            gpu: false,
            encoder_threads: DEFAULT_ENCODER_THREADS,
            gif_loop: None,
            fonts: FontOptions::default(),
            strict_fonts: false,
            fetch: FetchOptions::default(),
            runtime: None,
        }
    }
}

/// How the encoder controls its rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateControl {
    /// Constant rate factor.
    Crf(u32),
    /// Target bits per second.
    Bitrate(u64),
}

/// A checked [`PlanConfig`]: every value is within its range.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidConfig {
    /// Frame-rate override.
    pub fps: Option<Fps>,
    /// Deliverable format.
    pub format: OutputFormat,
    /// The chunk encoder: the format's own, or the one `--codec` chose.
    pub encoder: Encoder,
    /// Quality tier.
    pub quality: Quality,
    /// Rate control for libx264 (the tier's CRF unless overridden).
    pub rate: RateControl,
    /// Chunking inputs.
    pub chunking: ChunkingConfig,
    /// Composition variables, a JSON object.
    pub variables: serde_json::Map<String, serde_json::Value>,
    /// Package caches to search, in order (the project's `node_modules` is added by compile).
    pub package_caches: Vec<PathBuf>,
    /// Largest plan directory in bytes.
    pub size_limit: u64,
    /// Encoder threads.
    pub encoder_threads: u32,
    /// A GIF's loop count (`Some` exactly for GIF plans).
    pub gif_loop: Option<u16>,
    /// How text is given its fonts.
    pub fonts: FontOptions,
    /// Whether a font face that fails to load fails the plan.
    pub strict_fonts: bool,
    /// How remote resources are fetched.
    pub fetch: FetchOptions,
    /// Notes for the caller (e.g. an option the format ignores).
    pub warnings: Vec<String>,
    /// The HyperFrames runtime the plan freezes (found and checked against its pin).
    pub runtime: crate::runtime::Runtime,
}

fn invalid(message: String) -> Error {
    Error::new(Code::InvalidConfig, message)
}

/// `value` as a `u32` within `range`, or an error naming `field`.
fn in_range(field: &str, value: i64, range: std::ops::RangeInclusive<i64>) -> Result<u32> {
    if range.contains(&value) {
        u32::try_from(value).map_err(|_| invalid(format!("{field} {value} is outside {range:?}")))
    } else {
        Err(invalid(format!("{field} {value} is outside {}..={}", range.start(), range.end())))
    }
}

impl PlanConfig {
    /// Check every option once; nothing is created on disk.
    pub fn validate(&self) -> Result<ValidConfig> {
        if self.hdr {
            return Err(Error::new(
                Code::FormatNotSupportedInDistributed,
                "hdr: HDR output is not supported by distributed rendering (allowed: false)",
            ));
        }
        if self.gpu {
            return Err(Error::new(
                Code::BrowserGpuNotSoftware,
                "gpu: distributed workers render in software for identical pixels (allowed: false)",
            ));
        }
        let rate = self.rate_control()?;
        let encoder = self.format.encoder_for(self.codec).map_err(invalid)?;
        let chunking = ChunkingConfig {
            chunk_size: self.chunk_size.map(|v| in_range("chunkSize", v, 1..=MAX_CHUNK_FRAMES)).transpose()?,
            gop_size: self.gop_size.map(|v| in_range("gopSize", v, 1..=MAX_CHUNK_FRAMES)).transpose()?,
            max_parallel_chunks: in_range("maxParallelChunks", self.max_parallel_chunks, 1..=MAX_PARALLEL_CHUNKS)?,
            target_chunk_frames: self
                .target_chunk_frames
                .map(|v| in_range("targetChunkFrames", v, 1..=MAX_CHUNK_FRAMES))
                .transpose()?,
        };
        let variables = match &self.variables {
            serde_json::Value::Object(map) => map.clone(),
            other => return Err(invalid(format!("variables must be a JSON object, got {}", json_kind(other)))),
        };
        if let Some(fps) = self.fps {
            parse_fps(&fps.to_string())?;
        }
        if self.plan_dir_size_limit_bytes == 0 {
            return Err(invalid("planDirSizeLimitBytes 0 is outside 1..".to_string()));
        }
        let package_caches = self.package_caches()?;
        let runtime = crate::runtime::Runtime::locate(self.runtime.as_deref())?;
        Ok(ValidConfig {
            runtime,
            fps: self.fps,
            format: self.format,
            encoder,
            quality: self.quality,
            rate,
            chunking,
            variables,
            package_caches,
            size_limit: self.plan_dir_size_limit_bytes,
            encoder_threads: in_range("encoderThreads", self.encoder_threads, ENCODER_THREADS_RANGE)?,
            gif_loop: self.gif_loop()?,
            fonts: self.fonts_options()?,
            strict_fonts: self.strict_fonts,
            fetch: self.fetch.clone(),
            warnings: self.ignored_options(encoder),
        })
    }

    /// The loop count a GIF plan locks: `--gif-loop` or 0 (for ever), as HyperFrames defaults
    /// it; refused for other formats, where it would do nothing.
    fn gif_loop(&self) -> Result<Option<u16>> {
        match (self.format, self.gif_loop) {
            (OutputFormat::Gif, n) => {
                let n = in_range("gifLoop", n.unwrap_or(0), 0..=i64::from(u16::MAX))?;
                Ok(Some(u16::try_from(n).unwrap_or(u16::MAX)))
            }
            (_, None) => Ok(None),
            (format, Some(n)) => {
                Err(invalid(format!("gifLoop {n} applies to format gif only, not {}", format.as_str())))
            }
        }
    }

    fn rate_control(&self) -> Result<RateControl> {
        match (self.crf, self.bitrate) {
            (Some(c), Some(b)) => Err(invalid(format!("crf {c} and bitrate {b} were both given; use one of them"))),
            (Some(c), None) => Ok(RateControl::Crf(in_range("crf", c, 0..=51)?)),
            (None, Some(b)) => {
                if BITRATE_RANGE.contains(&b) {
                    Ok(RateControl::Bitrate(b.unsigned_abs()))
                } else {
                    Err(invalid(format!(
                        "bitrate {b} is outside {}..={} bits per second",
                        BITRATE_RANGE.start(),
                        BITRATE_RANGE.end()
                    )))
                }
            }
            (None, None) => Ok(RateControl::Crf(self.quality.crf())),
        }
    }

    /// The font options, with `--fonts-dir` checked to be a directory (made absolute).
    fn fonts_options(&self) -> Result<FontOptions> {
        let fonts_dir = match &self.fonts.fonts_dir {
            Some(dir) if dir.is_dir() => Some(std::path::absolute(dir).unwrap_or_else(|_| dir.clone())),
            Some(dir) => return Err(invalid(format!("fontsDir {} is not a directory", dir.display()))),
            None => None,
        };
        Ok(FontOptions { system_fonts: self.fonts.system_fonts, fonts_dir })
    }

    /// The configured cache, else `$FRAMEFAN_PACKAGE_CACHE`; it must be a directory.
    fn package_caches(&self) -> Result<Vec<PathBuf>> {
        let dir = match &self.package_cache {
            Some(dir) => Some(dir.clone()),
            None => std::env::var_os(PACKAGE_CACHE_ENV).filter(|v| !v.is_empty()).map(PathBuf::from),
        };
        match dir {
            Some(dir) if !dir.is_dir() => Err(invalid(format!("packageCache {} is not a directory", dir.display()))),
            Some(dir) => Ok(vec![dir]),
            None => Ok(Vec::new()),
        }
    }

    fn ignored_options(&self, encoder: Encoder) -> Vec<String> {
        let mut warnings = Vec::new();
        if !encoder.has_rate_control() && (self.crf.is_some() || self.bitrate.is_some()) {
            warnings.push(format!("crf/bitrate apply to mp4 and webm only; ignored for {}", self.format.as_str()));
        }
        warnings
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

impl ValidConfig {
    /// Check the composition's output size: each side within 16..=7680 and even.
    pub fn check_dimensions(&self, width: u32, height: u32) -> Result<()> {
        for (field, value) in [("width", width), ("height", height)] {
            // Odd sizes render (HyperFrames pads 4:2:0 outputs to even; see `even_output`).
            if !DIMENSION_RANGE.contains(&value) {
                return Err(invalid(format!(
                    "{field} {value} must be within {}..={} pixels",
                    DIMENSION_RANGE.start(),
                    DIMENSION_RANGE.end()
                )));
            }
        }
        Ok(())
    }

    /// The output size for a page of `width`×`height`: as it is, except that 4:2:0 outputs (mp4)
    /// round odd sides up to even, as HyperFrames' encoder does (`pad`: the page at the top left,
    /// black beyond it).
    pub fn output_size(&self, width: u32, height: u32) -> (u32, u32) {
        match self.format.spec().pixel_format.needs_even_sides() {
            true => (width.next_multiple_of(2), height.next_multiple_of(2)),
            false => (width, height),
        }
    }

    /// The locked render configuration for `meta/encoder.json`, given the chunking's outcome.
    pub fn encoder_config(&self, chunking: &Chunking) -> EncoderConfig {
        let chunk_size = chunking.size;
        let chunk_count = u32::try_from(chunking.chunks.len()).unwrap_or(u32::MAX);
        let spec = self.format.spec();
        let encoder = self.encoder;
        let x26x = encoder.is_x26x();
        let vp9 = encoder == Encoder::LibvpxVp9;
        let x265 = encoder == Encoder::Libx265;
        let tuning = |on: bool| if on { self.quality.x264_params().to_string() } else { String::new() };
        let (crf, bitrate) = match (encoder.has_rate_control(), self.rate) {
            (true, RateControl::Crf(c)) => (Some(c), None),
            (true, RateControl::Bitrate(b)) => (None, Some(b)),
            (false, _) => (None, None),
        };
        EncoderConfig {
            encoder,
            quality: self.quality.tier().to_string(),
            preset: match (x26x, vp9) {
                (true, _) => self.quality.preset().to_string(),
                (_, true) => self.quality.vp9_deadline().to_string(),
                _ => String::new(),
            },
            x264_params: tuning(encoder == Encoder::Libx264),
            x265_params: tuning(x265),
            x265_version: x265.then(|| crate::av::X265_VERSION.to_string()),
            crf,
            vp9_cpu_used: vp9.then_some(VP9_CPU_USED),
            libvpx_version: vp9.then(|| crate::av::VPX_VERSION.to_string()),
            bitrate,
            gop_size: chunking.gop,
            closed_gop: true,
            pixel_format: spec.pixel_format,
            chunk_size,
            chunk_count,
            capture_mode: CaptureMode::BeginFrame,
            capture_format: spec.capture,
            jpeg_quality: self.quality.jpeg_quality(),
            device_scale_factor: 1,
            encoder_threads: self.encoder_threads,
            color_space: ColorSpace::Bt709,
            color_range: ColorRange::Tv,
            variables: serde_json::Value::Object(self.variables.clone()),
            system_fonts: true,
            runtime: Some(self.runtime.record.clone()),
            page_size: None,
            unregistered_timelines: Vec::new(),
            gif_loop: self.gif_loop,
            page_side_compositing: false,
        }
    }

    /// The package caches to search for a project at `project`: the configured cache first,
    /// then the project's own `node_modules`.
    pub fn caches_for(&self, project: &Path) -> Vec<PathBuf> {
        let mut dirs = self.package_caches.clone();
        dirs.push(project.join("node_modules"));
        dirs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(r: Result<ValidConfig>) -> &'static str {
        r.err().map(|e| e.code()).unwrap_or("ok")
    }

    #[test]
    fn defaults_are_valid() {
        let v = PlanConfig::default().validate().unwrap();
        assert_eq!(v.rate, RateControl::Crf(16));
        assert_eq!(v.chunking.max_parallel_chunks, 16);
        assert_eq!(v.encoder_threads, 2);
    }

    #[test]
    fn each_bad_option_names_its_field() {
        let cases: Vec<(PlanConfig, &str, &str)> = vec![
            (PlanConfig { crf: Some(20), bitrate: Some(5_000_000), ..Default::default() }, "INVALID_CONFIG", "crf"),
            (PlanConfig { crf: Some(52), ..Default::default() }, "INVALID_CONFIG", "crf 52"),
            (PlanConfig { crf: Some(-1), ..Default::default() }, "INVALID_CONFIG", "crf -1"),
            (PlanConfig { chunk_size: Some(3601), ..Default::default() }, "INVALID_CONFIG", "chunkSize 3601"),
            (PlanConfig { chunk_size: Some(0), ..Default::default() }, "INVALID_CONFIG", "chunkSize 0"),
            (PlanConfig { target_chunk_frames: Some(4000), ..Default::default() }, "INVALID_CONFIG", "targetChunk"),
            (PlanConfig { max_parallel_chunks: 257, ..Default::default() }, "INVALID_CONFIG", "maxParallelChunks"),
            (PlanConfig { variables: serde_json::json!([1]), ..Default::default() }, "INVALID_CONFIG", "variables"),
            (PlanConfig { hdr: true, ..Default::default() }, "FORMAT_NOT_SUPPORTED_IN_DISTRIBUTED", "hdr"),
            (PlanConfig { gpu: true, ..Default::default() }, "BROWSER_GPU_NOT_SOFTWARE", "gpu"),
            (PlanConfig { encoder_threads: 0, ..Default::default() }, "INVALID_CONFIG", "encoderThreads"),
        ];
        for (config, want, field) in cases {
            let err = config.validate().unwrap_err();
            assert_eq!(err.code(), want, "{config:?}");
            assert!(err.message().contains(field), "{} should name {field}", err.message());
        }
        assert_eq!(code(PlanConfig { bitrate: Some(8_000_000), ..Default::default() }.validate()), "ok");
    }

    #[test]
    fn fps_parses_integers_fractions_and_decimals() {
        assert_eq!(parse_fps("30").unwrap(), Fps::new(30, 1).unwrap());
        assert_eq!(parse_fps("30000/1001").unwrap(), Fps::new(30000, 1001).unwrap());
        assert_eq!(parse_fps("29.97").unwrap(), Fps::new(2997, 100).unwrap());
        for bad in ["0", "-30", "30/0", "abc", "1/-2", "5000", ""] {
            let err = parse_fps(bad).unwrap_err();
            assert_eq!(err.code(), "INVALID_CONFIG");
            assert!(err.message().starts_with("fps"), "{}", err.message());
        }
    }

    #[test]
    fn dimensions_must_be_in_range_and_odd_ones_pad_to_even_for_mp4_only() {
        let v = PlanConfig::default().validate().unwrap();
        assert!(v.check_dimensions(1920, 1080).is_ok());
        assert!(v.check_dimensions(16, 7680).is_ok());
        assert!(v.check_dimensions(321, 241).is_ok());
        for (w, h) in [(15, 100), (1920, 8000), (8, 8)] {
            assert_eq!(v.check_dimensions(w, h).unwrap_err().code(), "INVALID_CONFIG");
        }
        assert_eq!(v.output_size(321, 241), (322, 242));
        assert_eq!(v.output_size(320, 240), (320, 240));
        let png = PlanConfig { format: OutputFormat::PngSequence, ..Default::default() }.validate().unwrap();
        assert_eq!(png.output_size(321, 241), (321, 241));
    }

    #[test]
    fn bitrates_take_suffixes() {
        assert_eq!(parse_bitrate("8M").unwrap(), 8_000_000);
        assert_eq!(parse_bitrate("2500k").unwrap(), 2_500_000);
        assert_eq!(parse_bitrate("1.5M").unwrap(), 1_500_000);
        assert!(parse_bitrate("fast").is_err());
    }

    /// `count` chunks of `size` frames, each one GOP.
    fn chunked(size: u32, count: u32) -> crate::plan::chunking::Chunking {
        let config = ChunkingConfig {
            chunk_size: Some(size),
            gop_size: None,
            max_parallel_chunks: count,
            target_chunk_frames: None,
        };
        crate::plan::chunking::split(i64::from(size * count), &config, size).expect("a chunking")
    }

    #[test]
    fn the_default_gop_is_two_seconds_of_frames() {
        let fps = |n, d| Fps::new(n, d).expect("fps");
        assert_eq!(default_gop(fps(30, 1)), 60);
        assert_eq!(default_gop(fps(30000, 1001)), 60);
        assert_eq!(default_gop(fps(24, 1)), 48);
        assert_eq!(default_gop(fps(60, 1)), 120);
        assert_eq!(default_gop(fps(1, 2)), 2);
        let e = PlanConfig::default().validate().unwrap().encoder_config(&chunked(60, 3));
        assert_eq!((e.gop_size, e.chunk_size, e.chunk_count), (60, 60, 3));
        let given = PlanConfig { gop_size: Some(0), ..Default::default() }.validate().unwrap_err();
        assert!(given.message().contains("gopSize 0"), "{}", given.message());
    }

    #[test]
    fn tiers_lock_preset_crf_and_capture() {
        let v = PlanConfig { quality: Quality::Draft, ..Default::default() }.validate().unwrap();
        let e = v.encoder_config(&chunked(42, 16));
        assert_eq!((e.preset.as_str(), e.crf, e.jpeg_quality, e.gop_size), ("ultrafast", Some(28), 80, 42));
        assert_eq!(e.x264_params, "aq-mode=3");
        // The default is `hyperframes render`'s: the standard tier at CRF 16, with its tuning.
        let e = PlanConfig::default().validate().unwrap().encoder_config(&chunked(42, 16));
        assert_eq!((e.quality.as_str(), e.preset.as_str(), e.crf), ("standard", "medium", Some(16)));
        assert_eq!(e.x264_params, "aq-mode=3:aq-strength=0.8:deblock=1,1");
        let high = Quality::parse("delivery").unwrap();
        let e = PlanConfig { quality: high, ..Default::default() }.validate().unwrap().encoder_config(&chunked(42, 16));
        assert_eq!((e.quality.as_str(), e.preset.as_str(), e.crf), ("high", "slow", Some(15)));
        let e = PlanConfig { quality: high, bitrate: Some(8_000_000), ..Default::default() }.validate().unwrap();
        assert_eq!(e.rate, RateControl::Bitrate(8_000_000));
        let v = PlanConfig { format: OutputFormat::Mov, ..Default::default() }.validate().unwrap();
        let e = v.encoder_config(&chunked(10, 1));
        assert_eq!(
            (e.encoder.as_str(), e.pixel_format.as_str(), e.capture_format.as_str()),
            ("prores_ks", "yuva444p10le", "png")
        );
    }
}
