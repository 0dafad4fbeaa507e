//! render-chunk on real Chromium: frame exactness, seams, determinism, the page runtime, errors.

use std::path::Path;
use std::process::Command;

use framefan::plan::hash::{plan_hash, HashInputs};
use framefan::plan::manifest::{Dimensions, HashSchema};
use framefan::plan::model::{CaptureMode, EncoderConfig};
use framefan::plan::OutputFormat;
use framefan::render::{render_chunk, ChunkOptions};
use framefan::time::Fps;

/// A plan for a hand-written compiled page.
pub struct PagePlan {
    pub html: String,
    pub fps: (i64, i64),
    pub width: u32,
    pub height: u32,
    pub format: OutputFormat,
    pub chunks: Vec<(i64, i64)>,
    pub files: Vec<(String, Vec<u8>)>,
    pub variables: serde_json::Value,
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
            chunks,
            files: Vec::new(),
            variables: serde_json::json!({}),
        }
    }

    pub fn total(&self) -> i64 {
        self.chunks.last().map(|c| c.1).unwrap_or(0)
    }
}

fn encoder_config(p: &PagePlan) -> EncoderConfig {
    let (encoder, pixel, capture) = match p.format {
        OutputFormat::Mp4 => ("libx264", "yuv420p", "jpeg"),
        OutputFormat::Mov => ("prores_ks", "yuva444p10le", "png"),
        OutputFormat::PngSequence => ("png", "rgba", "png"),
    };
    let size = p.chunks.iter().map(|c| c.1 - c.0).max().unwrap_or(1) as u32;
    EncoderConfig {
        encoder: encoder.into(),
        quality: "draft".into(),
        preset: "ultrafast".into(),
        crf: Some(18),
        bitrate: None,
        gop_size: size,
        closed_gop: true,
        pixel_format: pixel.into(),
        chunk_size: size,
        chunk_count: p.chunks.len() as u32,
        capture_mode: CaptureMode::BeginFrame,
        capture_format: capture.into(),
        jpeg_quality: 95,
        device_scale_factor: 1,
        encoder_threads: 2,
        color_space: "bt709".into(),
        color_range: "tv".into(),
        variables: p.variables.clone(),
    }
}

/// Lay out a complete framefan plan for `p` under `dir` (hash computed like `plan` does).
pub fn write_page_plan(dir: &Path, p: &PagePlan) {
    std::fs::create_dir_all(dir.join("meta")).unwrap();
    std::fs::create_dir_all(dir.join("compiled")).unwrap();
    std::fs::write(dir.join("compiled/index.html"), &p.html).unwrap();
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
    let fonts = framefan::fonts::snapshot_sha().unwrap();
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

/// Decode a video file's frames to 8-bit grey (Y) planes with the ffmpeg CLI (tests only).
pub fn decode_gray(path: &Path, w: u32, h: u32) -> Vec<Vec<u8>> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-f", "rawvideo", "-pix_fmt", "gray", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(out.status.success(), "ffmpeg failed: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout.chunks_exact((w * h) as usize).map(|f| f.to_vec()).collect()
}

/// A page whose root timeline paints the frame number as 12 binary squares (white = 1).
pub fn marker_page(fps: i64) -> String {
    format!(
        r#"<!doctype html><html><head><style>
body {{ background: #000; }}
.bit {{ position: absolute; top: 40px; width: 20px; height: 20px; background: #fff; }}
</style></head><body>
<div id="root" data-composition-id="main" data-width="320" data-height="240" data-duration="10">
</div>
<script>
const root = document.getElementById('root');
const bits = [];
for (let i = 0; i < 12; i++) {{
  const b = document.createElement('div'); b.className = 'bit'; b.style.left = (10 + i * 25) + 'px';
  root.appendChild(b); bits.push(b);
}}
let time = 0;
window.__timelines = window.__timelines || {{}};
window.__timelines.main = {{
  totalTime(t) {{ time = t; const f = Math.round(t * {fps});
    bits.forEach((b, i) => b.style.opacity = (f >> i) & 1 ? '1' : '0'); return this; }},
  totalDuration() {{ return 10; }},
  paused() {{ return true; }},
  pause() {{ return this; }},
}};
</script></body></html>"#
    )
}

/// Read the 12-bit marker of a grey frame painted by [`marker_page`].
pub fn read_marker(gray: &[u8], w: u32) -> i64 {
    (0..12)
        .map(|i| {
            let (x, y) = (10 + i * 25 + 10, 50);
            i64::from(gray[(y * w as usize) + x] > 128) << i
        })
        .sum()
}

fn render(plan: &Path, index: i64, out: &Path) -> framefan::Result<framefan::render::ChunkResult> {
    render_chunk(plan, index, out, &ChunkOptions { browsers: Some(1), ..Default::default() })
}

#[test]
fn every_frame_shows_its_absolute_index() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan");
    write_page_plan(&plan, &PagePlan::mp4(&marker_page(30), 30, 10));
    for index in 0..3 {
        let out = dir.path().join(format!("chunk{index}.mp4"));
        let result = render(&plan, index, &out).unwrap();
        assert_eq!(result.frames, 10);
        let frames = decode_gray(&out, 320, 240);
        assert_eq!(frames.len(), 10);
        for (k, f) in frames.iter().enumerate() {
            assert_eq!(read_marker(f, 320), index * 10 + k as i64, "chunk {index} frame {k}");
        }
    }
}

