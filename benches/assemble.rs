//! Assemble throughput on 60 chunks × 240 frames of 1080p30 (8 minutes), against the physical
//! reference (`cat` of the same bytes) and the peer (the ffmpeg CLI sequence the HyperFrames
//! assembler runs: concat demuxer copy, then audio encode + mux with +faststart). Method and
//! figures: benches/README.md.

#[path = "fixtures.rs"]
mod fixtures;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use framefan::assemble::{assemble, AssembleOptions};

const CHUNKS: usize = 60;

fn run(cmd: &mut Command) {
    let status = cmd.stdout(Stdio::null()).stderr(Stdio::null()).status().expect("spawn");
    assert!(status.success(), "{cmd:?} failed");
}

fn cat_reference(chunks: &[PathBuf], out: &Path) {
    let file = std::fs::File::create(out).unwrap();
    let status = Command::new("cat").args(chunks).stdout(file).status().unwrap();
    assert!(status.success());
}

/// The HyperFrames sequence: concat demuxer stream copy, then (with audio) encode AAC 192k,
/// pad/trim to the video, mux, and faststart (a second full copy inside the same command).
fn ffmpeg_reference(chunks: &[PathBuf], audio: Option<&Path>, seconds: u64) {
    let list = fixtures::scratch("concat.txt");
    let body: String =
        chunks.iter().map(|c| format!("file '{}'\n", std::fs::canonicalize(c).unwrap().display())).collect();
    std::fs::write(&list, body).unwrap();
    let video = fixtures::scratch("ffmpeg-video.mp4");
    let final_out = fixtures::scratch("ffmpeg-final.mp4");
    let mut concat = Command::new("ffmpeg");
    concat.args(["-y", "-v", "error", "-f", "concat", "-safe", "0", "-i"]).arg(&list).args(["-c", "copy"]);
    match audio {
        None => {
            run(concat.args(["-movflags", "+faststart"]).arg(&final_out));
        }
        Some(audio) => {
            run(concat.arg(&video));
            run(Command::new("ffmpeg")
                .args(["-y", "-v", "error", "-i"])
                .arg(&video)
                .arg("-i")
                .arg(audio)
                .args(["-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-b:a", "192k", "-af", "apad"])
                .args(["-t", &seconds.to_string(), "-movflags", "+faststart"])
                .arg(&final_out));
        }
    }
}

fn bench(c: &mut Criterion) {
    let chunks = fixtures::ensure_chunks(CHUNKS);
    let bytes = fixtures::total_bytes(&chunks);
    let seconds = fixtures::seconds(CHUNKS);
    let audio = fixtures::ensure_audio(seconds);
    let silent = fixtures::ensure_plan(CHUNKS, false);
    let voiced = fixtures::ensure_plan(CHUNKS, true);
    let out = fixtures::scratch("framefan.mp4");
    let mut g = c.benchmark_group("assemble_60x240_1080p");
    g.sample_size(10).throughput(Throughput::Bytes(bytes));
    g.bench_function("cat_reference", |b| b.iter(|| cat_reference(&chunks, &out)));
    g.bench_function("framefan_no_audio", |b| {
        b.iter(|| assemble(&silent, &chunks, None, &out, &AssembleOptions::default()).unwrap())
    });
    g.bench_function("ffmpeg_cli_no_audio", |b| b.iter(|| ffmpeg_reference(&chunks, None, seconds)));
    g.bench_function("framefan_with_audio", |b| {
        b.iter(|| assemble(&voiced, &chunks, Some(&audio), &out, &AssembleOptions::default()).unwrap())
    });
    g.bench_function("ffmpeg_cli_with_audio", |b| b.iter(|| ffmpeg_reference(&chunks, Some(&audio), seconds)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
