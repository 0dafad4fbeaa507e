//! Stage tests on real files: outputs are decoded back, counted, probed and walked box by box.

#[path = "util.rs"]
mod util;

mod deploy;
mod determinism;
mod engine;
mod facade;
mod formats;
mod fuzz_regressions;
mod gif;
mod h265;
mod layout;
mod page_plan;
mod parity;
mod probe;
mod protocol;
mod render;
mod reuse;
mod sandbox;
mod store;
mod warm;
mod webm;

use std::path::Path;

use framefan::assemble::{assemble, AssembleOptions};
use util::*;

fn run(
    plan: &Path,
    chunks: &[std::path::PathBuf],
    audio: Option<&Path>,
    out: &Path,
) -> framefan::Result<framefan::AssembleResult> {
    assemble(plan, chunks, audio, out, &AssembleOptions::default())
}

fn rate(s: &serde_json::Value, key: &str) -> String {
    s[key].as_str().unwrap().to_string()
}

#[test]
fn two_chunks_of_five_make_exactly_a_third_of_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let spec = PlanSpec::mp4((30, 1), vec![5, 5]);
    let chunks = make_render(dir.path(), &spec);
    let out = dir.path().join("out.mp4");
    let result = run(dir.path(), &chunks, None, &out).unwrap();
    assert_eq!(result.frames_encoded, 10);
    let probe = ffprobe(&out);
    let v = stream(&probe, "video");
    assert_eq!(v["nb_read_frames"], "10");
    assert_eq!(rate(v, "r_frame_rate"), "30/1");
    assert_eq!(rate(v, "avg_frame_rate"), "30/1");
    assert_eq!(v["duration_ts"].as_i64().unwrap() * 3, v["time_base"].as_str().unwrap()[2..].parse::<i64>().unwrap());
    let boxes: Vec<String> = top_level_boxes(&out).into_iter().map(|b| b.0).collect();
    let moov = boxes.iter().position(|b| b == "moov").unwrap();
    let mdat = boxes.iter().position(|b| b == "mdat").unwrap();
    assert!(moov < mdat, "moov must precede mdat: {boxes:?}");
}

/// Assemble `spec` and check frame count, both frame rates and the exact duration with ffprobe.
fn assert_exact_timeline(spec: PlanSpec) {
    let dir = tempfile::tempdir().unwrap();
    let chunks = make_render(dir.path(), &spec);
    let out = dir.path().join("out.mp4");
    let result = run(dir.path(), &chunks, None, &out).unwrap();
    let total = spec.total();
    assert_eq!(result.frames_encoded, total);
    let probe = ffprobe(&out);
    let v = stream(&probe, "video");
    let fps = format!("{}/{}", spec.fps.0, spec.fps.1);
    assert_eq!(v["nb_read_frames"].as_str().unwrap(), total.to_string());
    assert_eq!(rate(v, "r_frame_rate"), fps);
    assert_eq!(rate(v, "avg_frame_rate"), fps);
    // duration_ts / timescale == total·den/num exactly.
    let timescale: i64 = v["time_base"].as_str().unwrap()[2..].parse().unwrap();
    let ticks = v["duration_ts"].as_i64().unwrap();
    assert_eq!(ticks as i128 * spec.fps.0 as i128, total as i128 * spec.fps.1 as i128 * timescale as i128);
}

fn sixteen_by_nineteen(fps: (i64, i64)) -> PlanSpec {
    let mut frames = vec![19; 16];
    frames[15] = 15;
    PlanSpec::mp4(fps, frames)
}

#[test]
fn sixteen_chunks_of_nineteen_are_exactly_ten_seconds_at_30() {
    let spec = sixteen_by_nineteen((30, 1));
    assert_eq!(spec.total(), 300);
    assert_exact_timeline(spec);
}

#[test]
fn sixteen_chunks_of_nineteen_keep_ntsc_rate() {
    assert_exact_timeline(sixteen_by_nineteen((30000, 1001)));
}

#[test]
fn odd_chunkings_keep_24_and_60_fps_exact() {
    assert_exact_timeline(sixteen_by_nineteen((24, 1)));
    assert_exact_timeline(sixteen_by_nineteen((60, 1)));
    assert_exact_timeline(PlanSpec::mp4((7, 1), vec![3, 4, 5]));
}

/// The decoded output's left channel against the ideal sine: max error over `range`.
fn max_error(pcm: &framefan::av::audio::Pcm, range: std::ops::Range<usize>, freq: f64) -> f32 {
    range.map(|n| (pcm.left[n] - sine_value(freq, 0.5, n as u64)).abs()).fold(0.0, f32::max)
}

/// libav's decoder ignores the end of the edit list (players honour it; ffprobe's duration checks
/// it above) and runs on to the end of the last AAC frame; `AudioReader` cuts MP4 audio at the
/// stated length, so within one AAC frame is the loosest this needs to be.
fn assert_decoded_len(pcm: &framefan::av::audio::Pcm, samples: usize) {
    assert!(pcm.len() >= samples && pcm.len() < samples + 1024, "decoded {} samples, expected {samples}", pcm.len());
}

fn assemble_with_sine(source_samples: u64) -> (tempfile::TempDir, std::path::PathBuf, framefan::AssembleResult) {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = PlanSpec::mp4((30, 1), vec![30, 30, 30]);
    spec.has_audio = true;
    let chunks = make_render(dir.path(), &spec);
    let audio = dir.path().join("audio.m4a");
    write_sine_m4a(&audio, source_samples, 440.0);
    let out = dir.path().join("out.mp4");
    let result = run(dir.path(), &chunks, Some(&audio), &out).unwrap();
    (dir, out, result)
}

fn assert_audio_matches_video(out: &Path) {
    let probe = ffprobe(out);
    let v: f64 = stream(&probe, "video")["duration"].as_str().unwrap().parse().unwrap();
    let a = stream(&probe, "audio");
    let ad: f64 = a["duration"].as_str().unwrap().parse().unwrap();
    assert!((v - ad).abs() < 0.001, "audio {ad} s vs video {v} s");
    assert_eq!(a["start_time"], "0.000000");
    assert_eq!(a["sample_rate"], "48000");
    assert_eq!(a["profile"], "LC");
    assert_eq!(a["channels"], 2);
}

#[test]
fn long_soundtrack_is_trimmed_to_the_video_and_starts_at_zero() {
    // 3 s of video, 3.5 s of sine.
    let (_dir, out, result) = assemble_with_sine(48_000 * 7 / 2);
    assert_eq!(result.audio.samples, 144_000);
    assert_audio_matches_video(&out);
    let pcm = decode_audio(&out);
    assert_decoded_len(&pcm, 144_000);
    // Sample-accurate alignment: the decoded sine is in phase at lag 0 throughout.
    let err = max_error(&pcm, 2048..140_000, 440.0);
    assert!(err < 0.02, "max deviation from the source sine {err}");
}

#[test]
fn short_soundtrack_is_padded_with_silence_and_keeps_its_phase() {
    // 3 s of video, 2.8 s of sine: 0.2 s of silence is added.
    let source = 48_000 * 28 / 10;
    let (_dir, out, result) = assemble_with_sine(source);
    assert_eq!(result.audio.samples, 144_000);
    assert_audio_matches_video(&out);
    let pcm = decode_audio(&out);
    assert_decoded_len(&pcm, 144_000);
    let boundary = source as usize;
    let err = max_error(&pcm, 2048..boundary - 2048, 440.0);
    assert!(err < 0.02, "sine before the pad boundary deviates by {err}");
    let tail = pcm.left[boundary + 2048..].iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(tail < 1e-3, "padding is not silent: {tail}");
}

#[test]
fn spliced_parallel_segments_decode_seamlessly() {
    use framefan::audio::encode::{self, EncodeSettings};
    use framefan::audio::fit::Fitted;
    let dir = tempfile::tempdir().unwrap();
    let samples = 48_000 * 20;
    let settings = EncodeSettings { lanes: 3, segment_frames: 64, ..EncodeSettings::default() };
    let source = Sine { freq: 997.0, amp: 0.5, next: 0, len: samples };
    let mut audio = encode::start(Fitted::new(source, samples), samples, settings).unwrap();
    let path = dir.path().join("spliced.m4a");
    framefan::audio::m4a::write_m4a(&path, &mut audio).unwrap();
    let summary = audio.finish().unwrap();
    assert!(summary.segments >= 14, "{summary:?}");
    let pcm = decode_audio(&path);
    assert_decoded_len(&pcm, samples as usize);
    let span = 64 * 1024;
    let overall = max_error(&pcm, 2048..samples as usize - 2048, 997.0);
    assert!(overall < 0.02, "max deviation {overall}");
    // Around every splice the error is no worse than the codec's error elsewhere.
    let inner = max_error(&pcm, span / 2..span / 2 + 8192, 997.0);
    for k in 1..summary.segments {
        let at = k * span;
        let seam = max_error(&pcm, at - 2048..(at + 2048).min(samples as usize), 997.0);
        assert!(seam <= inner * 2.0 + 1e-3, "splice {k} at {at}: {seam} vs {inner} inside a segment");
    }
}

#[test]
fn prores_mov_chunks_concatenate() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = PlanSpec::mp4((25, 1), vec![4, 4, 3]);
    spec.format = framefan::plan::OutputFormat::Mov;
    let chunks = make_render(dir.path(), &spec);
    let out = dir.path().join("out.mov");
    assert_eq!(run(dir.path(), &chunks, None, &out).unwrap().frames_encoded, 11);
    let probe = ffprobe(&out);
    let v = stream(&probe, "video");
    assert_eq!(v["codec_name"], "prores");
    assert_eq!(v["profile"], "4444");
    assert_eq!(v["nb_read_frames"], "11");
    assert_eq!(rate(v, "avg_frame_rate"), "25/1");
    assert_eq!(probe["format"]["duration"], "0.440000");
}

#[test]
fn png_chunks_merge_into_one_numbering_with_the_soundtrack() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = PlanSpec::mp4((30, 1), vec![3, 4]);
    spec.format = framefan::plan::OutputFormat::PngSequence;
    spec.has_audio = true;
    let chunks = make_render(dir.path(), &spec);
    let audio = dir.path().join("audio.m4a");
    write_sine_m4a(&audio, 48_000, 440.0);
    let out = dir.path().join("frames");
    let result = run(dir.path(), &chunks, Some(&audio), &out).unwrap();
    assert_eq!(result.frames_encoded, 7);
    let mut names: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    let mut want: Vec<String> = (1..=7).map(|i| format!("frame_{i:06}.png")).collect();
    want.push("audio.m4a".into());
    want.sort();
    assert_eq!(names, want);
    // Frame 4 of the output is the first frame of chunk 1, byte for byte.
    let first_of_chunk1 = std::fs::read(chunks[1].join("frame_000004.png")).unwrap();
    assert_eq!(std::fs::read(out.join("frame_000004.png")).unwrap(), first_of_chunk1);
    let a = ffprobe(&out.join("audio.m4a"));
    assert_eq!(stream(&a, "audio")["duration"], "0.233333");
}

/// A plan directory as the HyperFrames distributed renderer lays it out.
fn hyperframes_plan(with_protocol: bool) {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = PlanSpec::mp4((30, 1), vec![10, 10]);
    spec.hash_schema = "hyperframes-plan-hash-v1";
    spec.with_protocol = with_protocol;
    spec.has_audio = true;
    let chunks = make_render(dir.path(), &spec);
    assert!(framefan::assemble::check::sidecar_path(&chunks[0]).ends_with("chunk-000.mp4.perf.json"));
    write_sine_m4a(&dir.path().join("audio.m4a"), 48_000, 440.0);
    let plan = framefan::plan::Plan::load(dir.path()).unwrap();
    let audio = plan.audio_path().unwrap();
    let out = dir.path().join("final.mp4");
    let result = run(dir.path(), &chunks, Some(&audio), &out).unwrap();
    assert_eq!(result.frames_encoded, 20);
    assert_audio_matches_video(&out);
}

#[test]
fn hyperframes_plan_layout_is_assembled() {
    hyperframes_plan(true);
    hyperframes_plan(false);
}

#[test]
fn cli_prints_one_json_result_line() {
    let dir = tempfile::tempdir().unwrap();
    let chunks = make_render(dir.path(), &PlanSpec::mp4((30, 1), vec![5, 5]));
    let out = dir.path().join("out.mp4");
    let output = std::process::Command::new(framefan_bin())
        .arg("assemble")
        .arg(dir.path())
        .arg(&out)
        .arg("--chunks")
        .args(&chunks)
        .arg("--json")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1);
    let result: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(result["framesEncoded"], 10);
    assert_eq!(result["fileSize"], std::fs::metadata(&out).unwrap().len());
}

#[path = "assemble_errors.rs"]
mod assemble_errors;

#[path = "audio_fx.rs"]
mod audio_fx;

#[path = "fonts.rs"]
mod fonts;
#[path = "media.rs"]
mod media;
#[path = "plan.rs"]
mod plan;

#[test]
fn chunks_and_outputs_are_byte_identical_on_retry() {
    use framefan::audio::EncodeSettings;
    let dir = tempfile::tempdir().unwrap();
    let mut spec = PlanSpec::mp4((30, 1), vec![20, 20]);
    spec.has_audio = true;
    let chunks = make_render(dir.path(), &spec);
    let again = dir.path().join("again.mp4");
    make_chunk(&again, &spec, 0, 20);
    assert_eq!(std::fs::read(&again).unwrap(), std::fs::read(&chunks[0]).unwrap());
    let audio = dir.path().join("audio.m4a");
    write_sine_m4a(&audio, 48_000 * 3, 330.0);
    // Retries give the same bytes; lanes are fixed by the settings, not by the machine.
    let outputs: Vec<Vec<u8>> = [3usize, 3]
        .iter()
        .enumerate()
        .map(|(run, &lanes)| {
            let out = dir.path().join(format!("out-{run}.mp4"));
            let settings = EncodeSettings { lanes, segment_frames: 16, ..EncodeSettings::default() };
            let options = AssembleOptions { audio: Some(settings), ..AssembleOptions::default() };
            assemble(dir.path(), &chunks, Some(&audio), &out, &options).unwrap();
            std::fs::read(&out).unwrap()
        })
        .collect();
    assert!(outputs[0] == outputs[1], "two assembles of the same inputs differ");
}

#[test]
fn an_earlier_output_is_replaced_only_by_a_complete_one() {
    let dir = tempfile::tempdir().unwrap();
    let chunks = make_render(dir.path(), &PlanSpec::mp4((30, 1), vec![5, 5]));
    let out = dir.path().join("out.mp4");
    std::fs::write(&out, b"previous render").unwrap();
    run(dir.path(), &chunks, None, &out).unwrap();
    assert_eq!(ffprobe(&out)["streams"][0]["nb_read_frames"], "10");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "staging files left behind: {leftovers:?}");
}
#[path = "remote.rs"]
mod remote;
#[path = "run.rs"]
mod run;
#[path = "version.rs"]
mod version;

/// The same GOPs as one chunk and as two give the same file, even when chunk 0 alone is much
/// denser than the whole: libav reads a chunk's own bit rate from its `btrt`, and the output
/// track must not declare it (it would make the MP4's bytes depend on the chunking).
#[test]
fn a_dense_first_chunk_does_not_set_the_output_bit_rate() {
    use framefan::av::video::{FrameFormat, VideoEncoderConfig};
    use framefan::render::ChunkWriter;
    let (w, h) = (64, 48);
    // Ten noisy frames, then ten flat ones.
    let frame = |f: i64| match f < 10 {
        true => (0..w * h * 3 / 2).map(|i| ((i as i64 * 7919 + f * 104_729) % 251) as u8).collect::<Vec<u8>>(),
        false => vec![128u8; (w * h * 3 / 2) as usize],
    };
    let mut outputs = Vec::new();
    for chunk_frames in [vec![20], vec![10, 10]] {
        let dir = tempfile::tempdir().unwrap();
        let spec = PlanSpec { width: w, height: h, ..PlanSpec::mp4((30, 1), chunk_frames.clone()) };
        write_plan(dir.path(), &spec);
        std::fs::write(dir.path().join("meta/encoder.json"), r#"{"gopSize":10}"#).unwrap();
        let mut chunks = Vec::new();
        let mut start = 0;
        for (i, n) in chunk_frames.iter().enumerate() {
            let path = dir.path().join(format!("chunk-{i:03}.mp4"));
            let config = VideoEncoderConfig { width: w, height: h, fps: spec.fps(), gop: 10, codec: h264("ultrafast") };
            let mut writer = ChunkWriter::create(&path, spec.format, config, start).unwrap();
            for f in start..start + n {
                writer.push(FrameFormat::Yuv420p, &frame(f)).unwrap();
            }
            write_sidecar(&path, PLAN_HASH, &writer.finish().unwrap().sha256);
            chunks.push(path);
            start += n;
        }
        let out = dir.path().join("out.mp4");
        run(dir.path(), &chunks, None, &out).unwrap();
        outputs.push(std::fs::read(&out).unwrap());
    }
    assert!(outputs[0] == outputs[1], "one chunk and two chunks of the same GOPs differ");
}
