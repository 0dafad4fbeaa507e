//! Bench fixtures, generated once into `target/bench-fixtures/` and reused: 1080p30 H.264 chunks
//! of 240 frames (and, for the store bench, of 120 frames), a sine soundtrack, and plan
//! directories over a prefix of the chunks.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use framefan::audio::encode::{self, EncodeSettings};
use framefan::audio::fit::{Fitted, PcmSource};
use framefan::av::audio::Pcm;
use framefan::av::video::{FrameFormat, VideoCodec, VideoEncoderConfig};
use framefan::plan::OutputFormat;
use framefan::render::ChunkWriter;
use framefan::time::Fps;

pub const WIDTH: u32 = 1920;
pub const HEIGHT: u32 = 1080;
pub const CHUNK_FRAMES: i64 = 240;
pub const PLAN_HASH: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

pub fn root() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("target"));
    target.join("bench-fixtures")
}

/// A moving gradient with seeded noise blocks: busy enough for a realistic bitrate.
fn frame(f: i64, buf: &mut Vec<u8>) {
    let (w, h) = (WIDTH as usize, HEIGHT as usize);
    buf.clear();
    buf.resize(w * h * 3 / 2, 128);
    let mut rng = (f as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    for y in 0..h {
        let row = &mut buf[y * w..(y + 1) * w];
        for (x, px) in row.iter_mut().enumerate() {
            *px = (16 + (x / 4 + y / 3 + f as usize * 2) % 200) as u8;
        }
        if y % 8 == 0 {
            for _ in 0..24 {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let x = (rng % (w as u64 - 8)) as usize;
                row[x..x + 8].fill((rng >> 56) as u8);
            }
        }
    }
    for (i, px) in buf[w * h..].iter_mut().enumerate() {
        *px = (96 + ((i + f as usize) % 64)) as u8;
    }
}

/// The folder of chunks of `frames` frames (`chunks/` for the shared 240-frame ones).
fn chunks_dir(frames: i64) -> PathBuf {
    if frames == CHUNK_FRAMES {
        root().join("chunks")
    } else {
        root().join(format!("chunks-{frames}"))
    }
}

pub fn chunk_path(i: usize) -> PathBuf {
    chunks_dir(CHUNK_FRAMES).join(format!("chunk-{i:03}.mp4"))
}

/// Make sure chunks `0..count` exist (each 240 frames of 1080p30, CRF 23 ultrafast).
pub fn ensure_chunks(count: usize) -> Vec<PathBuf> {
    ensure_chunks_of(count, CHUNK_FRAMES)
}

/// Make sure chunks `0..count` of `frames` frames each exist (1080p30, CRF 23 ultrafast); chunk
/// i holds frames `i·frames ..` of the same moving picture.
pub fn ensure_chunks_of(count: usize, frames: i64) -> Vec<PathBuf> {
    std::fs::create_dir_all(chunks_dir(frames)).unwrap();
    let fps = Fps::new(30, 1).unwrap();
    let mut buf = Vec::new();
    (0..count)
        .map(|i| {
            let path = chunks_dir(frames).join(format!("chunk-{i:03}.mp4"));
            if !path.exists() {
                eprintln!("generating bench chunk {i} ({frames} frames)");
                let codec = VideoCodec::H264 {
                    preset: "ultrafast".into(),
                    crf: Some(23),
                    bitrate: None,
                    threads: 2,
                    params: String::new(),
                };
                let config = VideoEncoderConfig { width: WIDTH, height: HEIGHT, fps, gop: frames as u32, codec };
                let start = i as i64 * frames;
                let mut w = ChunkWriter::create(&path, OutputFormat::Mp4, config, start).unwrap();
                for f in start..start + frames {
                    frame(f, &mut buf);
                    w.push(FrameFormat::Yuv420p, &buf).unwrap();
                }
                w.finish().unwrap();
            }
            path
        })
        .collect()
}

struct Sine(u64, u64);

impl PcmSource for Sine {
    fn next_block(&mut self) -> framefan::Result<Option<Pcm>> {
        if self.0 >= self.1 {
            return Ok(None);
        }
        let n = (self.1 - self.0).min(8192);
        let left: Vec<f32> =
            (self.0..self.0 + n).map(|i| 0.3 * (i as f32 * 440.0 * std::f32::consts::TAU / 48_000.0).sin()).collect();
        self.0 += n;
        Ok(Some(Pcm { right: left.clone(), left }))
    }
}

/// A soundtrack 2 s longer than `seconds` (so assemble must trim it).
pub fn ensure_audio(seconds: u64) -> PathBuf {
    let path = root().join(format!("audio-{seconds}s.m4a"));
    if !path.exists() {
        let samples = (seconds + 2) * 48_000;
        let mut audio =
            encode::start(Fitted::new(Sine(0, samples), samples), samples, EncodeSettings::default()).unwrap();
        framefan::audio::m4a::write_m4a(&path, &mut audio).unwrap();
        audio.finish().unwrap();
    }
    path
}

/// A plan directory over the first `count` chunks.
pub fn ensure_plan(count: usize, has_audio: bool) -> PathBuf {
    ensure_plan_of(count, CHUNK_FRAMES, has_audio)
}

/// A plan directory over the first `count` chunks of `frames` frames.
pub fn ensure_plan_of(count: usize, frames: i64, has_audio: bool) -> PathBuf {
    let sound = if has_audio { "audio" } else { "silent" };
    let name =
        if frames == CHUNK_FRAMES { format!("plan-{count}-{sound}") } else { format!("plan-{count}x{frames}-{sound}") };
    let dir = root().join(name);
    std::fs::create_dir_all(dir.join("meta")).unwrap();
    let total = count as i64 * frames;
    let chunks: Vec<_> = (0..count as i64)
        .map(|i| serde_json::json!({"index": i, "startFrame": i * frames, "endFrame": (i + 1) * frames}))
        .collect();
    let plan = serde_json::json!({
        "protocol": {"schemaVersion": 1, "artifactLayout": "plan-dir-v1", "hashSchema": "framefan-plan-hash-v1"},
        "planHash": PLAN_HASH, "producerVersion": "bench", "ffmpegVersion": framefan::ffmpeg_version(),
        "fontSnapshotSha": "0".repeat(64),
        "dimensions": {"fpsNum": 30, "fpsDen": 1, "width": WIDTH, "height": HEIGHT, "format": "mp4"},
        "chunkCount": count, "totalFrames": total, "duration": total as f64 / 30.0, "hasAudio": has_audio,
    });
    std::fs::write(dir.join("plan.json"), serde_json::to_vec(&plan).unwrap()).unwrap();
    std::fs::write(dir.join("meta/chunks.json"), serde_json::to_vec(&chunks).unwrap()).unwrap();
    dir
}

pub fn seconds(count: usize) -> u64 {
    count as u64 * CHUNK_FRAMES as u64 / 30
}

pub fn total_bytes(paths: &[PathBuf]) -> u64 {
    paths.iter().map(|p| std::fs::metadata(p).unwrap().len()).sum()
}

pub fn scratch(name: &str) -> PathBuf {
    let dir = root().join("out");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

pub fn exists(p: &Path) -> bool {
    p.exists()
}
