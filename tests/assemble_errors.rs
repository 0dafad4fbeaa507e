//! Bad inputs to `assemble` (contracts §6-7): each fails with its stable code, from the library
//! and from the CLI (`--json`: exit 3 or 75, one JSON error line on stderr), and leaves `out`
//! exactly as it was (absent, or a previous deliverable byte for byte) with no staging leftovers.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use framefan::assemble::{assemble, AssembleOptions};
use framefan::av::ff;
use framefan::av::mux::{Muxer, StreamSpec};
use framefan::av::video::{FrameFormat, VideoEncoder, VideoEncoderConfig};
use framefan::plan::OutputFormat;
use tempfile::TempDir;

use crate::util::{self, PlanSpec, PLAN_HASH};

/// A rendered plan in a temporary directory, and where its output goes.
struct Case {
    dir: TempDir,
    spec: PlanSpec,
    chunks: Vec<PathBuf>,
    audio: Option<PathBuf>,
    out: PathBuf,
}

impl Case {
    /// Render `spec` fully; the output goes into its own directory `out/`.
    fn new(spec: PlanSpec) -> Case {
        let dir = tempfile::tempdir().unwrap();
        let chunks = util::make_render(dir.path(), &spec);
        std::fs::create_dir(dir.path().join("out")).unwrap();
        let name = match spec.format {
            OutputFormat::Mp4 => "final.mp4",
            OutputFormat::Mov => "final.mov",
            OutputFormat::PngSequence => "frames",
            OutputFormat::Gif => "final.gif",
            OutputFormat::Webm => "final.webm",
        };
        let out = dir.path().join("out").join(name);
        Case { dir, spec, chunks, audio: None, out }
    }

    fn mp4() -> Case {
        Case::new(PlanSpec::mp4((30, 1), vec![5, 5]))
    }

    fn plan(&self) -> &Path {
        self.dir.path()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Rewrite `plan.json` through `edit`.
    fn edit_plan(&self, edit: impl FnOnce(&mut serde_json::Value)) {
        let file = self.path("plan.json");
        let mut plan: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        edit(&mut plan);
        std::fs::write(&file, serde_json::to_vec(&plan).unwrap()).unwrap();
    }

    fn run(&self) -> framefan::Result<framefan::AssembleResult> {
        let options = AssembleOptions::default();
        assemble(self.plan(), &self.chunks, self.audio.as_deref(), &self.out, &options)
    }

    fn cli(&self) -> std::process::Output {
        let mut cmd = Command::new(util::framefan_bin());
        cmd.arg("assemble").arg(self.plan()).arg(&self.out);
        cmd.arg("--chunks").args(&self.chunks);
        if let Some(audio) = &self.audio {
            cmd.arg("--audio").arg(audio);
        }
        cmd.arg("--json").output().unwrap()
    }
}

/// What sits at a path: nothing, a file's bytes, or a directory's files.
#[derive(Debug, PartialEq)]
enum Snapshot {
    Absent,
    File(Vec<u8>),
    Dir(BTreeMap<String, Vec<u8>>),
}

fn snapshot(path: &Path) -> Snapshot {
    match std::fs::symlink_metadata(path) {
        Err(_) => Snapshot::Absent,
        Ok(m) if m.is_dir() => Snapshot::Dir(
            std::fs::read_dir(path)
                .unwrap()
                .map(|e| e.unwrap().path())
                .map(|p| (file_name(&p), std::fs::read(&p).unwrap()))
                .collect(),
        ),
        Ok(_) => Snapshot::File(std::fs::read(path).unwrap()),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// Put a previous deliverable at `out`: a file, or for frame directories a directory.
fn previous_output(case: &Case) {
    let bytes = b"previous deliverable, must survive a failed assemble".to_vec();
    match case.spec.format {
        OutputFormat::PngSequence => {
            std::fs::create_dir(&case.out).unwrap();
            std::fs::write(case.out.join("frame_000001.png"), bytes).unwrap();
        }
        _ => std::fs::write(&case.out, bytes).unwrap(),
    }
}

/// Staging files (`.<name>.tmp.<pid>.<random>`) left beside `out`.
fn leftovers(out: &Path) -> Vec<String> {
    std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .map(|e| file_name(&e.unwrap().path()))
        .filter(|n| n.starts_with('.') && n.contains(".tmp."))
        .collect()
}

/// `case` fails with `code` through the library and the CLI, with `out` absent and with a
/// previous output there; either way `out` is left as it was and no staging file remains.
fn assert_fails(case: &Case, code: &str) {
    let retryable = code == "MISSING_PLAN_ARTIFACT";
    for previous in [false, true] {
        if previous {
            previous_output(case);
        }
        let before = snapshot(&case.out);
        let err = case.run().expect_err("assemble should fail");
        assert_eq!(err.code(), code, "library error: {err}");
        assert_eq!(err.is_retryable(), retryable, "retryable of {err}");
        assert_eq!(snapshot(&case.out), before, "library touched out ({code})");
        assert_eq!(leftovers(&case.out), Vec::<String>::new(), "after {code}");

        let output = case.cli();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let want_exit = if retryable { 75 } else { 3 };
        assert_eq!(output.status.code(), Some(want_exit), "CLI stderr: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "stderr must be one JSON line: {stderr}");
        let json: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(json["error"]["code"], code, "{stderr}");
        assert_eq!(json["error"]["retryable"], retryable, "{stderr}");
        assert!(json["error"]["message"].is_string(), "{stderr}");
        assert_eq!(snapshot(&case.out), before, "CLI touched out ({code})");
        assert_eq!(leftovers(&case.out), Vec::<String>::new(), "CLI {code}");
    }
}

/// Cut a chunk to half its length.
fn truncate_half(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    std::fs::write(path, &bytes[..bytes.len() / 2]).unwrap();
}

#[test]
fn wrong_chunk_count() {
    let mut case = Case::mp4();
    case.chunks.truncate(1);
    assert_fails(&case, "CHUNK_COUNT_MISMATCH");
    let mut case = Case::mp4();
    case.chunks.push(case.chunks[1].clone());
    assert_fails(&case, "CHUNK_COUNT_MISMATCH");
}

#[test]
fn missing_chunk() {
    let mut case = Case::mp4();
    case.chunks[1] = case.path("chunk-009.mp4");
    assert_fails(&case, "MISSING_CHUNK");
}

#[test]
fn truncated_chunk_without_sidecar() {
    let case = Case::mp4();
    truncate_half(&case.chunks[1]);
    std::fs::remove_file(framefan::assemble::check::sidecar_path(&case.chunks[1])).unwrap();
    assert_fails(&case, "CORRUPT_CHUNK");
}

#[test]
fn truncated_chunk_with_its_original_sidecar() {
    let case = Case::mp4();
    truncate_half(&case.chunks[1]);
    assert_fails(&case, "CORRUPT_CHUNK");
}

#[test]
fn chunk_of_another_size() {
    let case = Case::mp4();
    let other = PlanSpec { width: 32, height: 32, ..case.spec.clone() };
    util::make_chunk(&case.chunks[1], &other, 5, 5);
    assert_fails(&case, "INCOMPATIBLE_CHUNK");
}

#[test]
fn prores_chunk_in_an_mp4_plan() {
    let mut case = Case::mp4();
    let mov = PlanSpec { format: OutputFormat::Mov, ..case.spec.clone() };
    case.chunks[1] = case.path("chunk-001.mov");
    util::make_chunk(&case.chunks[1], &mov, 5, 5);
    assert_fails(&case, "INCOMPATIBLE_CHUNK");
}

#[test]
fn h264_chunks_in_a_webm_plan() {
    let mut case = Case::new(PlanSpec { format: OutputFormat::Webm, ..PlanSpec::mp4((30, 1), vec![5, 5]) });
    let mp4 = PlanSpec::mp4((30, 1), vec![5, 5]);
    for (i, start) in [(0, 0), (1, 5)] {
        case.chunks[i] = case.path(&format!("chunk-00{i}.mp4"));
        util::make_chunk(&case.chunks[i], &mp4, start, 5);
    }
    assert_fails(&case, "INCOMPATIBLE_CHUNK");
    let err = case.run().unwrap_err();
    assert!(err.message().contains("chunk 0") && err.message().contains("holds h264 video"), "{err}");
}

/// Write an H.264 chunk of `frames` frames whose first packet is not a keyframe: encode
/// `frames + 1` frames with the usual GOP of `frames` (keyframes at 0 and `frames`, same codec
/// setup as the other chunks), drop the first packet and restamp the rest from 0.
fn write_open_gop_chunk(path: &Path, spec: &PlanSpec, start: i64, frames: i64) {
    let fps = spec.fps();
    let mut encoder = VideoEncoder::open(VideoEncoderConfig {
        width: spec.width,
        height: spec.height,
        fps,
        gop: frames as u32,
        codec: util::h264("ultrafast"),
    })
    .unwrap();
    let mut packets = Vec::new();
    for f in start..start + frames + 1 {
        let pixels = util::yuv_frame(spec.width, spec.height, f, 7);
        encoder.push(FrameFormat::Yuv420p, &pixels, &mut packets).unwrap();
    }
    encoder.finish(&mut packets).unwrap();
    assert!(packets[0].is_key() && !packets[1].is_key());
    assert!(packets[frames as usize].is_key(), "a later keyframe keeps stss written");
    let mut muxer = Muxer::create(path, "mp4").unwrap();
    let enc_tb = encoder.time_base();
    muxer
        .add_stream(StreamSpec { parameters: encoder.parameters(), time_base: enc_tb, frame_rate: Some(fps.rate()) })
        .unwrap();
    muxer.write_header(&[]).unwrap();
    let mux_tb = muxer.time_base(0);
    let rational = |r: framefan::time::Rational| ff::Rational(r.num as i32, r.den as i32);
    for (k, mut packet) in packets.into_iter().skip(1).enumerate() {
        let ts = fps.frame_to_ts(k as i64, enc_tb);
        packet.set_pts(Some(ts));
        packet.set_dts(Some(ts));
        packet.rescale_ts(rational(enc_tb), rational(mux_tb));
        packet.set_stream(0);
        muxer.write(&packet).unwrap();
    }
    muxer.finish().unwrap();
}

#[test]
fn chunk_starting_on_a_non_keyframe() {
    let case = Case::mp4();
    std::fs::remove_file(framefan::assemble::check::sidecar_path(&case.chunks[1])).unwrap();
    write_open_gop_chunk(&case.chunks[1], &case.spec, 5, 5);
    let probe = util::ffprobe(&case.chunks[1]);
    assert_eq!(util::stream(&probe, "video")["nb_frames"], "5");
    assert_fails(&case, "CHUNK_NOT_CLOSED_GOP");
}

#[test]
fn chunk_with_a_frame_too_few() {
    let case = Case::mp4();
    util::make_chunk(&case.chunks[1], &case.spec, 5, 4);
    assert_fails(&case, "FRAME_COUNT_MISMATCH");
}

#[test]
fn sidecar_of_another_plan() {
    let case = Case::mp4();
    let sha = framefan::digest::file(&case.chunks[1]).unwrap();
    util::write_sidecar(&case.chunks[1], &"ab".repeat(32), &sha);
    assert_fails(&case, "STALE_CHUNK");
}

#[test]
fn sidecar_sha256_mismatch() {
    let case = Case::mp4();
    util::write_sidecar(&case.chunks[1], PLAN_HASH, &"0".repeat(64));
    assert_fails(&case, "CORRUPT_CHUNK");
}

#[test]
fn plan_with_audio_and_none_given() {
    let mut spec = PlanSpec::mp4((30, 1), vec![5, 5]);
    spec.has_audio = true;
    let case = Case::new(spec);
    assert_fails(&case, "AUDIO_MISSING");
}

#[test]
fn audio_path_that_does_not_exist() {
    let mut spec = PlanSpec::mp4((30, 1), vec![5, 5]);
    spec.has_audio = true;
    let mut case = Case::new(spec);
    case.audio = Some(case.path("audio.m4a"));
    assert_fails(&case, "AUDIO_MISSING");
    // Never a silent skip, even for a plan without audio.
    let mut case = Case::mp4();
    case.audio = Some(case.path("audio.m4a"));
    assert_fails(&case, "AUDIO_MISSING");
}

#[test]
fn corrupt_plan_json() {
    let case = Case::mp4();
    std::fs::write(case.path("plan.json"), b"{\"planHash\": \"5d41, not json").unwrap();
    assert_fails(&case, "PLAN_INVALID");
}

#[test]
fn missing_plan_json_is_retryable() {
    let case = Case::mp4();
    std::fs::remove_file(case.path("plan.json")).unwrap();
    assert_fails(&case, "MISSING_PLAN_ARTIFACT");
}

#[test]
fn unknown_protocol() {
    let case = Case::mp4();
    case.edit_plan(|p| p["protocol"]["schemaVersion"] = 2.into());
    assert_fails(&case, "PLAN_PROTOCOL_UNSUPPORTED");
    let mut spec = PlanSpec::mp4((30, 1), vec![5, 5]);
    spec.hash_schema = "something-else";
    assert_fails(&Case::new(spec), "PLAN_PROTOCOL_UNSUPPORTED");
}

#[test]
fn png_sequence_with_an_empty_chunk_directory() {
    let mut spec = PlanSpec::mp4((30, 1), vec![3, 3]);
    spec.format = OutputFormat::PngSequence;
    let case = Case::new(spec);
    assert!(case.chunks[1].join("frame_000004.png").is_file());
    std::fs::remove_dir_all(&case.chunks[1]).unwrap();
    std::fs::create_dir(&case.chunks[1]).unwrap();
    std::fs::remove_file(framefan::assemble::check::sidecar_path(&case.chunks[1])).unwrap();
    assert_fails(&case, "FRAME_COUNT_MISMATCH");
}

#[test]
fn audio_for_a_silent_plan_is_dropped_with_a_warning() {
    let mut case = Case::mp4();
    let audio = case.path("audio.m4a");
    util::write_sine_m4a(&audio, 48_000 / 3, 440.0);
    case.audio = Some(audio);
    let result = case.run().unwrap();
    assert!(!result.warnings.is_empty(), "no warning for ignored audio");
    assert!(!result.audio.present);
    assert_eq!(result.frames_encoded, 10);
    let probe = util::ffprobe(&case.out);
    let streams = probe["streams"].as_array().unwrap();
    assert!(streams.iter().all(|s| s["codec_type"] != "audio"), "{probe}");
    assert_eq!(util::stream(&probe, "video")["nb_read_frames"], "10");
    assert_eq!(leftovers(&case.out), Vec::<String>::new());

    std::fs::remove_file(&case.out).unwrap();
    let output = case.cli();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let warned =
        stderr.lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()).any(|v| v["level"] == "warn");
    assert!(warned, "CLI printed no warning: {stderr}");
    let probe = util::ffprobe(&case.out);
    assert!(probe["streams"].as_array().unwrap().len() == 1, "{probe}");
    assert_eq!(leftovers(&case.out), Vec::<String>::new());
}
