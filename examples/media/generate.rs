//! Generates the media of `examples/media`: `assets/clip.mp4` (a 4 s 640×360 H.264 test
//! pattern: colour bars, a sweeping bar and a binary frame counter) and `assets/tone.m4a` (a 4 s
//! C–E–G–C arpeggio, AAC 48 kHz stereo), with framefan's own encoders (no ffmpeg CLI).
//!
//! `cargo run --example gen-media [DIR]` writes them into DIR (default `examples/media/assets`).
//! The output is the same bytes on every run. The tests include this file as a module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use framefan::audio::encode::{self, EncodeSettings};
use framefan::audio::fit::{Fitted, PcmSource};
use framefan::av::audio::Pcm;
use framefan::av::video::{FrameFormat, VideoCodec, VideoEncoderConfig};
use framefan::plan::OutputFormat;
use framefan::render::ChunkWriter;
use framefan::time::Fps;

/// Source video size and length.
pub const VIDEO_W: u32 = 640;
/// Source video height.
pub const VIDEO_H: u32 = 360;
/// Source video frames (4 s at 30 fps).
pub const VIDEO_FRAMES: i64 = 120;
/// Soundtrack length in 48 kHz samples (4 s).
pub const AUDIO_SAMPLES: u64 = 4 * 48_000;

const BARS: [[u8; 3]; 7] =
    [[235, 235, 235], [235, 235, 16], [16, 235, 235], [16, 235, 16], [235, 16, 235], [235, 16, 16], [16, 16, 235]];

/// One RGBA frame of the pattern.
fn pattern(frame: i64) -> Vec<u8> {
    let (w, h) = (VIDEO_W as usize, VIDEO_H as usize);
    let sweep = (frame as usize * 5) % w;
    let mut rgba = Vec::with_capacity(w * h * 4);
    for y in 0..h {
        for x in 0..w {
            let mut px = BARS[x * BARS.len() / w];
            if y >= h * 2 / 3 {
                px = [24, 24, 40];
                let bit = x / 40;
                if (y - h * 2 / 3) > 30 && (y - h * 2 / 3) < 90 && bit < 12 && x % 40 > 6 {
                    let on = (frame >> (11 - bit)) & 1 == 1;
                    px = if on { [250, 200, 60] } else { [60, 60, 80] };
                }
            }
            if x.abs_diff(sweep) < 6 && y < h * 2 / 3 {
                px = [0, 0, 0];
            }
            rgba.extend_from_slice(&[px[0], px[1], px[2], 255]);
        }
    }
    rgba
}

/// Write the test-pattern video.
pub fn write_clip(path: &Path) -> framefan::Result<()> {
    let fps = Fps::new(30, 1).ok_or_else(|| framefan::Error::new(framefan::Code::InvalidConfig, "fps"))?;
    let codec =
        VideoCodec::H264 { preset: "veryfast".into(), crf: Some(20), bitrate: None, threads: 1, params: String::new() };
    let config = VideoEncoderConfig { width: VIDEO_W, height: VIDEO_H, fps, gop: 30, codec };
    let mut writer = ChunkWriter::create(path, OutputFormat::Mp4, config, 0)?;
    for frame in 0..VIDEO_FRAMES {
        writer.push(FrameFormat::Rgba, &pattern(frame))?;
    }
    writer.finish().map(|_| ())
}

/// A C–E–G–C arpeggio, one note a second, each with a short attack and release.
struct Arpeggio {
    next: u64,
}

fn sample(n: u64) -> f32 {
    const NOTES: [f64; 4] = [261.63, 329.63, 392.0, 523.25];
    let note = (n / 48_000) as usize % NOTES.len();
    let t = (n % 48_000) as f64 / 48_000.0;
    let envelope = (t / 0.02).min(1.0) * ((1.0 - t) / 0.1).min(1.0);
    (0.4 * envelope * (2.0 * std::f64::consts::PI * NOTES[note] * n as f64 / 48_000.0).sin()) as f32
}

impl PcmSource for Arpeggio {
    fn next_block(&mut self) -> framefan::Result<Option<Pcm>> {
        if self.next >= AUDIO_SAMPLES {
            return Ok(None);
        }
        let end = (self.next + 4096).min(AUDIO_SAMPLES);
        let left: Vec<f32> = (self.next..end).map(sample).collect();
        self.next = end;
        Ok(Some(Pcm { right: left.clone(), left }))
    }
}

/// Write the arpeggio as AAC in MP4.
pub fn write_tone(path: &Path) -> framefan::Result<()> {
    let source = Fitted::new(Arpeggio { next: 0 }, AUDIO_SAMPLES);
    let mut audio = encode::start(source, AUDIO_SAMPLES, EncodeSettings::default())?;
    framefan::audio::m4a::write_m4a(path, &mut audio)?;
    audio.finish().map(|_| ())
}

/// Write both assets into `dir` (created if needed).
pub fn generate(dir: &Path) -> framefan::Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| framefan::Error::io("creating", dir, e))?;
    write_clip(&dir.join("clip.mp4"))?;
    write_tone(&dir.join("tone.m4a"))
}

fn main() {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/media/assets"));
    match generate(&dir) {
        Ok(()) => println!("wrote {} and {}", dir.join("clip.mp4").display(), dir.join("tone.m4a").display()),
        Err(err) => {
            eprintln!("gen-media: {err}");
            std::process::exit(1);
        }
    }
}
