//! Test harness: generated plans, chunks and soundtracks, and readers for outputs (MP4 box
//! walker, ffprobe, decoded audio).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use framefan::audio::encode::{self, EncodeSettings};
use framefan::audio::fit::{Fitted, PcmSource};
use framefan::av::audio::Pcm;
use framefan::av::video::{FrameFormat, VideoCodec, VideoEncoderConfig};
use framefan::plan::OutputFormat;
use framefan::render::ChunkWriter;
use framefan::time::Fps;

/// A plan to lay out on disk.
#[derive(Clone)]
pub struct PlanSpec {
    pub fps: (i64, i64),
    pub width: u32,
    pub height: u32,
    pub format: OutputFormat,
    pub chunk_frames: Vec<i64>,
    pub has_audio: bool,
    pub hash_schema: &'static str,
    pub with_protocol: bool,
}

impl PlanSpec {
    pub fn mp4(fps: (i64, i64), chunk_frames: Vec<i64>) -> Self {
        PlanSpec {
            fps,
            width: 64,
            height: 48,
            format: OutputFormat::Mp4,
            chunk_frames,
            has_audio: false,
            hash_schema: "framefan-plan-hash-v1",
            with_protocol: true,
        }
    }

    pub fn total(&self) -> i64 {
        self.chunk_frames.iter().sum()
    }

    pub fn fps(&self) -> Fps {
        Fps::new(self.fps.0, self.fps.1).unwrap()
    }
}

pub const PLAN_HASH: &str = "5d41402abc4b2a76b9719d911017c592aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/// Write `plan.json` and `meta/chunks.json` for `spec` under `dir`.
pub fn write_plan(dir: &Path, spec: &PlanSpec) {
    std::fs::create_dir_all(dir.join("meta")).unwrap();
    let mut chunks = Vec::new();
    let mut start = 0;
    for (i, n) in spec.chunk_frames.iter().enumerate() {
        chunks.push(serde_json::json!({"index": i, "startFrame": start, "endFrame": start + n}));
        start += n;
    }
    let total = spec.total();
    let mut plan = serde_json::json!({
        "planHash": PLAN_HASH,
        "producerVersion": "test",
        "ffmpegVersion": framefan::ffmpeg_version(),
        "fontSnapshotSha": "0".repeat(64),
        "dimensions": {"fpsNum": spec.fps.0, "fpsDen": spec.fps.1, "width": spec.width,
                       "height": spec.height, "format": spec.format.as_str()},
        "chunkCount": spec.chunk_frames.len(),
        "totalFrames": total,
        "duration": total as f64 * spec.fps.1 as f64 / spec.fps.0 as f64,
        "hasAudio": spec.has_audio,
    });
    if spec.with_protocol {
        plan["protocol"] = serde_json::json!({"schemaVersion": 1, "artifactLayout": "plan-dir-v1",
                                              "hashSchema": spec.hash_schema});
    }
    std::fs::write(dir.join("plan.json"), serde_json::to_vec_pretty(&plan).unwrap()).unwrap();
    std::fs::write(dir.join("meta/chunks.json"), serde_json::to_vec(&chunks).unwrap()).unwrap();
}

/// A deterministic test frame: a gradient that moves with the frame number, plus a seeded block.
pub fn yuv_frame(w: u32, h: u32, frame: i64, seed: u64) -> Vec<u8> {
    let (w, h) = (w as usize, h as usize);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let mut buf = vec![0u8; w * h + 2 * cw * ch];
    let mut rng = seed ^ (frame as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for y in 0..h {
        for x in 0..w {
            buf[y * w + x] = (16 + ((x + y + frame as usize * 3) % 200)) as u8;
        }
    }
    for _ in 0..8 {
        rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let (bx, by) = ((rng >> 33) as usize % w, (rng >> 45) as usize % h);
        buf[by * w + bx] = 235;
    }
    for v in &mut buf[w * h..] {
        *v = 128;
    }
    buf
}

/// An RGBA test frame.
pub fn rgba_frame(w: u32, h: u32, frame: i64) -> Vec<u8> {
    let mut buf = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            buf.extend_from_slice(&[(x * 4) as u8, (y * 4) as u8, (frame * 10) as u8, 255 - (x as u8)]);
        }
    }
    buf
}

pub fn h264(preset: &str) -> VideoCodec {
    VideoCodec::H264 { preset: preset.into(), crf: Some(28), bitrate: None, threads: 1, params: String::new() }
}

/// Fast VP9 with alpha for generated WebM chunks.
pub fn vp9() -> VideoCodec {
    VideoCodec::Vp9 { deadline: "realtime".into(), cpu_used: 8, crf: Some(30), bitrate: None, threads: 1 }
}

/// Render one chunk of `spec` (frames `start..start+frames`) to `out` with a sidecar.
pub fn make_chunk(out: &Path, spec: &PlanSpec, start: i64, frames: i64) {
    let codec = match spec.format {
        OutputFormat::Mov => VideoCodec::ProRes4444 { threads: 1 },
        OutputFormat::Webm => vp9(),
        _ => h264("ultrafast"),
    };
    let config =
        VideoEncoderConfig { width: spec.width, height: spec.height, fps: spec.fps(), gop: frames as u32, codec };
    let mut writer = ChunkWriter::create(out, spec.format, config, start).unwrap();
    for f in start..start + frames {
        match spec.format {
            OutputFormat::Mp4 => writer.push(FrameFormat::Yuv420p, &yuv_frame(spec.width, spec.height, f, 7)).unwrap(),
            _ => writer.push(FrameFormat::Rgba, &rgba_frame(spec.width, spec.height, f)).unwrap(),
        }
    }
    let done = writer.finish().unwrap();
    write_sidecar(out, PLAN_HASH, &done.sha256);
}

pub fn write_sidecar(chunk: &Path, plan_hash: &str, sha256: &str) {
    let sidecar = framefan::assemble::check::sidecar_path(chunk);
    let body = serde_json::json!({"planHash": plan_hash, "sha256": sha256, "chunkIndex": 0});
    std::fs::write(sidecar, serde_json::to_vec(&body).unwrap()).unwrap();
}

/// Lay out a plan and render all its chunks; returns the chunk paths.
pub fn make_render(dir: &Path, spec: &PlanSpec) -> Vec<PathBuf> {
    write_plan(dir, spec);
    let ext = spec.format.extension();
    let mut paths = Vec::new();
    let mut start = 0;
    for (i, n) in spec.chunk_frames.iter().enumerate() {
        let path = dir.join(format!("chunk-{i:03}{ext}"));
        make_chunk(&path, spec, start, *n);
        paths.push(path);
        start += n;
    }
    paths
}

/// A continuous sine of `freq` Hz at amplitude `amp` (left) and its inverse (right).
pub struct Sine {
    pub freq: f64,
    pub amp: f32,
    pub next: u64,
    pub len: u64,
}

pub fn sine_value(freq: f64, amp: f32, n: u64) -> f32 {
    amp * (2.0 * std::f64::consts::PI * freq * n as f64 / 48_000.0).sin() as f32
}

impl PcmSource for Sine {
    fn next_block(&mut self) -> framefan::Result<Option<Pcm>> {
        if self.next >= self.len {
            return Ok(None);
        }
        let n = (self.len - self.next).min(4096);
        let left: Vec<f32> = (self.next..self.next + n).map(|i| sine_value(self.freq, self.amp, i)).collect();
        self.next += n;
        Ok(Some(Pcm { right: left.iter().map(|v| -v).collect(), left }))
    }
}

/// Encode `samples` of a sine into an `.m4a` at `path` with framefan's own encoder and muxer.
pub fn write_sine_m4a(path: &Path, samples: u64, freq: f64) {
    let source = Sine { freq, amp: 0.5, next: 0, len: samples };
    let settings = EncodeSettings::default();
    let mut audio = encode::start(Fitted::new(source, samples), samples, settings).unwrap();
    framefan::audio::m4a::write_m4a(path, &mut audio).unwrap();
    audio.finish().unwrap();
}

/// Decode the first audio stream of `path` fully.
pub fn decode_audio(path: &Path) -> Pcm {
    let mut reader = framefan::av::audio::AudioReader::open(path).unwrap();
    let mut all = Pcm::default();
    while let Some(block) = reader.read().unwrap() {
        all.left.extend_from_slice(&block.left);
        all.right.extend_from_slice(&block.right);
    }
    all
}

/// Top-level MP4 boxes: (type, offset, size).
pub fn top_level_boxes(path: &Path) -> Vec<(String, u64, u64)> {
    let data = std::fs::read(path).unwrap();
    let mut boxes = Vec::new();
    let mut at = 0usize;
    while at + 8 <= data.len() {
        let mut size = u32::from_be_bytes(data[at..at + 4].try_into().unwrap()) as u64;
        let kind = String::from_utf8_lossy(&data[at + 4..at + 8]).into_owned();
        if size == 1 {
            size = u64::from_be_bytes(data[at + 8..at + 16].try_into().unwrap());
        } else if size == 0 {
            size = (data.len() - at) as u64;
        }
        assert!(size >= 8, "box {kind} at {at} has size {size}");
        boxes.push((kind, at as u64, size));
        at += size as usize;
    }
    assert_eq!(at, data.len(), "boxes do not tile the file");
    boxes
}

/// ffprobe's view of a file's streams (JSON), with frames counted.
pub fn ffprobe(path: &Path) -> serde_json::Value {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-show_streams", "-show_format", "-of", "json"])
        .arg(path)
        .output()
        .expect("ffprobe (apt package ffmpeg) is needed by the tests");
    assert!(out.status.success(), "ffprobe failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

pub fn stream<'a>(probe: &'a serde_json::Value, kind: &str) -> &'a serde_json::Value {
    probe["streams"].as_array().unwrap().iter().find(|s| s["codec_type"] == kind).unwrap()
}

/// The HyperFrames reference CLI's install (`.ci/deps/40-hf-reference.sh` fills it):
/// `$FRAMEFAN_HF_REFERENCE`, else `target/hf-reference`.
pub fn hf_reference() -> PathBuf {
    std::env::var_os("FRAMEFAN_HF_REFERENCE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/hf-reference"))
}

/// The reference's `env.sh` (it sets `$HF`); a missing install is a failure, never a skip.
pub fn hf_reference_env() -> PathBuf {
    let env = hf_reference().join("env.sh");
    assert!(env.is_file(), "the HyperFrames reference is not installed at {} (run .ci/install-deps)", env.display());
    env
}

/// The built `framefan` binary.
pub fn framefan_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_framefan"))
}

/// `framefan` started as the leader of a new session, through util-linux's `setsid` (which execs
/// in place: a spawned child is no process-group leader, so the child's pid is the session's
/// id). Whatever framefan starts stays in that session, whichever process group it is in (each
/// browser has its own) and whoever adopts it once its parent is gone (PID 1 for an orphan), so
/// the session finds every process framefan left behind, zombies included.
pub fn framefan_in_session() -> Command {
    let mut command = Command::new("setsid");
    command.arg(framefan_bin());
    command
}

/// The processes of session `sid`, alive or zombie, as `pid comm state ppid`.
pub fn session_members(sid: u32) -> Vec<String> {
    let mut members = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        // A process that exits between the listing and the read is no member any more.
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // `pid (comm) state ppid pgrp session …`; comm may hold spaces and parentheses.
        let Some((head, rest)) = stat.rsplit_once(')') else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.get(3).and_then(|s| s.parse::<u32>().ok()) == Some(sid) {
            members.push(format!("{} {} {}", head.replace(" (", " "), fields[0], fields[1]));
        }
    }
    members
}

/// Nothing framefan started outlives it: once `framefan` (the leader of session `sid`, already
/// waited for) has exited, no process of its session exists, not even a zombie. Looked at once,
/// at once: a poll would pass for zombies that PID 1 reaps later, which is what this catches.
pub fn assert_session_empty(sid: u32, what: &str) {
    let left = session_members(sid);
    assert!(left.is_empty(), "{what}: processes outlived framefan (pid comm state ppid): {left:?}");
}
