//! Plans for hand-written compiled pages, laid out exactly as `plan` lays them out (used by the
//! render-chunk tests and the render bench).

use std::path::Path;

use framefan::engine::browser::BrowserBinary;
use framefan::engine::capture::{PageSpec, ShotFormat};
use framefan::plan::format::{CaptureFormat, Codec, ColorRange, ColorSpace, Encoder, PixelFormat};
use framefan::plan::hash::{plan_hash, HashInputs};
use framefan::plan::manifest::{Dimensions, HashSchema};
use framefan::plan::model::{CaptureMode, EncoderConfig};
use framefan::plan::OutputFormat;
use framefan::time::Fps;

/// A plan for a hand-written compiled page.
pub struct PagePlan {
    pub html: String,
    pub fps: (i64, i64),
    pub width: u32,
    pub height: u32,
    pub format: OutputFormat,
    /// `--codec` (an mp4's H.265).
    pub codec: Option<Codec>,
    pub chunks: Vec<(i64, i64)>,
    pub files: Vec<(String, Vec<u8>)>,
    pub variables: serde_json::Value,
    /// A fingerprint to record instead of this machine's fonts.
    pub font_sha: Option<String>,
    /// x264 preset (the draft tier's `ultrafast` unless set).
    pub preset: &'static str,
    /// Freeze HyperFrames' pinned runtime into the plan (as `plan` does); off for pages that
    /// drive themselves through `window.__hf`.
    pub runtime: bool,
}

impl PagePlan {
    pub fn mp4(html: &str, total: i64, chunk: i64) -> Self {
        let chunks = (0..total).step_by(chunk as usize).map(|s| (s, (s + chunk).min(total))).collect();
        PagePlan {
            html: html.to_string(),
            fps: (30, 1),
            width: 320,
            height: 240,
            format: OutputFormat::Mp4,
            codec: None,
            chunks,
            files: Vec::new(),
            variables: serde_json::json!({}),
            font_sha: None,
            preset: "ultrafast",
            runtime: true,
        }
    }

    pub fn total(&self) -> i64 {
        self.chunks.last().map(|c| c.1).unwrap_or(0)
    }
}

pub fn encoder_config(p: &PagePlan) -> EncoderConfig {
    let (encoder, pixel, capture) = match p.format {
        OutputFormat::Mp4 if p.codec == Some(Codec::H265) => {
            (Encoder::Libx265, PixelFormat::Yuv420p, CaptureFormat::Jpeg)
        }
        OutputFormat::Mp4 => (Encoder::Libx264, PixelFormat::Yuv420p, CaptureFormat::Jpeg),
        OutputFormat::Mov => (Encoder::ProresKs, PixelFormat::Yuva444p10le, CaptureFormat::Png),
        OutputFormat::PngSequence | OutputFormat::Gif => (Encoder::Png, PixelFormat::Rgba, CaptureFormat::Png),
        OutputFormat::Webm => (Encoder::LibvpxVp9, PixelFormat::Yuva420p, CaptureFormat::Png),
    };
    let size = p.chunks.iter().map(|c| c.1 - c.0).max().unwrap_or(1) as u32;
    EncoderConfig {
        encoder,
        quality: "draft".into(),
        preset: p.preset.into(),
        x264_params: String::new(),
        x265_params: String::new(),
        x265_version: (encoder == Encoder::Libx265).then(|| framefan::av::X265_VERSION.to_string()),
        crf: Some(18),
        vp9_cpu_used: None,
        libvpx_version: (p.format == OutputFormat::Webm).then(|| framefan::av::VPX_VERSION.to_string()),
        bitrate: None,
        gop_size: size,
        closed_gop: true,
        pixel_format: pixel,
        chunk_size: size,
        chunk_count: p.chunks.len() as u32,
        capture_mode: CaptureMode::BeginFrame,
        capture_format: capture,
        jpeg_quality: 95,
        device_scale_factor: 1,
        encoder_threads: 2,
        color_space: ColorSpace::Bt709,
        color_range: ColorRange::Tv,
        variables: p.variables.clone(),
        system_fonts: true,
        runtime: p.runtime.then(|| pinned_runtime().record),
        page_size: None,
        unregistered_timelines: Vec::new(),
        gif_loop: (p.format == OutputFormat::Gif).then_some(0),
        page_side_compositing: false,
    }
}

/// The pinned HyperFrames runtime from the checkout's package cache (`.ci/install-deps`).
pub fn pinned_runtime() -> framefan::runtime::Runtime {
    framefan::runtime::Runtime::builtin().expect("the built-in HyperFrames runtime")
}

/// Lay out a complete framefan plan for `p` under `dir` (hash computed like `plan` does).
pub fn write_page_plan(dir: &Path, p: &PagePlan) {
    std::fs::create_dir_all(dir.join("meta")).unwrap();
    std::fs::create_dir_all(dir.join("compiled")).unwrap();
    std::fs::write(dir.join("compiled/index.html"), &p.html).unwrap();
    if p.runtime {
        pinned_runtime().freeze(dir).unwrap();
    }
    for (rel, bytes) in &p.files {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    let chunks: Vec<_> = p
        .chunks
        .iter()
        .enumerate()
        .map(|(i, c)| serde_json::json!({"index": i, "startFrame": c.0, "endFrame": c.1}))
        .collect();
    std::fs::write(dir.join("meta/chunks.json"), serde_json::to_vec(&chunks).unwrap()).unwrap();
    std::fs::write(dir.join("meta/videos.json"), br#"{"videos":[],"extracted":[]}"#).unwrap();
    let enc = serde_json::to_vec(&encoder_config(p)).unwrap();
    std::fs::write(dir.join("meta/encoder.json"), enc).unwrap();
    rehash(dir, p);
}

/// (Re)write `plan.json` with the hash of the directory as it is now.
pub fn rehash(dir: &Path, p: &PagePlan) {
    let fonts = p.font_sha.clone().unwrap_or_else(|| framefan::fonts::snapshot_sha().unwrap());
    let ffmpeg = framefan::ffmpeg_version();
    let dims =
        Dimensions { fps: Fps::new(p.fps.0, p.fps.1).unwrap(), width: p.width, height: p.height, format: p.format };
    let inputs = HashInputs {
        schema: HashSchema::Framefan,
        font_snapshot_sha: &fonts,
        producer_version: framefan::PRODUCER_VERSION,
        ffmpeg_version: &ffmpeg,
        dimensions: dims,
    };
    let hash = plan_hash(dir, &inputs).unwrap();
    let total = p.total();
    let plan = serde_json::json!({
        "protocol": {"schemaVersion": 1, "artifactLayout": "plan-dir-v1", "hashSchema": "framefan-plan-hash-v1"},
        "planHash": hash,
        "producerVersion": framefan::PRODUCER_VERSION,
        "ffmpegVersion": ffmpeg,
        "fontSnapshotSha": fonts,
        "dimensions": {"fpsNum": p.fps.0, "fpsDen": p.fps.1, "width": p.width, "height": p.height,
                       "format": p.format.as_str()},
        "chunkCount": p.chunks.len(),
        "totalFrames": total,
        "duration": total as f64 * p.fps.1 as f64 / p.fps.0 as f64,
        "hasAudio": false,
    });
    std::fs::write(dir.join("plan.json"), serde_json::to_vec_pretty(&plan).unwrap()).unwrap();
}

static NO_VARIABLES: serde_json::Value = serde_json::Value::Null;

/// A capture page at 30 fps for the installed browser, without variables or videos.
pub fn capture_spec(scratch: &Path, width: u32, height: u32, format: ShotFormat) -> PageSpec<'static> {
    PageSpec {
        binary: BrowserBinary::find(None).unwrap(),
        scratch: scratch.to_path_buf(),
        fps: Fps::new(30, 1).unwrap(),
        width,
        height,
        variables: &NO_VARIABLES,
        videos: &[],
        format,
        transparent: format == ShotFormat::Png,
        ready_timeout: std::time::Duration::from_secs(20),
        timeline_grace: std::time::Duration::from_secs(2),
        policy: framefan::engine::policy::Policy::Capture,
        page_side_compositing: false,
    }
}
