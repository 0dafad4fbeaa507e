//! WebM (VP9 with alpha, Opus) from generated chunks: the alpha plane survives the packet-level
//! join (decoded back with libvpx, the only decoder that reads the BlockAdditional alpha),
//! frames, exact duration and Cues before the media, the same bytes for one chunk and many, and
//! the soundtrack padded or trimmed to the frame count, exactly, through Opus' pre-skip.

use std::path::{Path, PathBuf};
use std::process::Command;

use framefan::assemble::{assemble, AssembleOptions};
use framefan::av::video::{FrameFormat, VideoEncoderConfig};
use framefan::plan::OutputFormat;
use framefan::render::ChunkWriter;

use crate::util::{vp9, write_plan, write_sidecar, write_sine_m4a, PlanSpec, PLAN_HASH};

const W: u32 = 64;
const H: u32 = 48;

fn spec(chunk_frames: Vec<i64>) -> PlanSpec {
    PlanSpec { width: W, height: H, format: OutputFormat::Webm, ..PlanSpec::mp4((30, 1), chunk_frames) }
}

/// Frame `f`: the left half fully transparent, the right half opaque and moving, with a
/// half-transparent band along the bottom rows.
fn frame(f: i64) -> Vec<u8> {
    let mut buf = Vec::with_capacity((W * H * 4) as usize);
    for y in 0..H {
        for x in 0..W {
            let alpha = match (x < W / 2, y >= H - 8) {
                (true, _) => 0,
                (false, true) => 128,
                (false, false) => 255,
            };
            let shade = ((x as i64 * 3 + f * 7) % 200) as u8 + 30;
            buf.extend_from_slice(&[shade, 200 - shade / 2, (y * 4) as u8, alpha]);
        }
    }
    buf
}

/// Write `spec`'s plan (with `gopSize` = `gop` in `meta/encoder.json`) and its chunks, each a
/// run of GOPs of `gop` frames; returns the chunk paths.
fn render(dir: &Path, spec: &PlanSpec, gop: u32) -> Vec<PathBuf> {
    write_plan(dir, spec);
    std::fs::write(dir.join("meta/encoder.json"), format!(r#"{{"gopSize":{gop}}}"#)).unwrap();
    let mut paths = Vec::new();
    let mut start = 0;
    for (i, n) in spec.chunk_frames.iter().enumerate() {
        let path = dir.join(format!("chunk-{i:03}.webm"));
        let config = VideoEncoderConfig { width: W, height: H, fps: spec.fps(), gop, codec: vp9() };
        let mut writer = ChunkWriter::create(&path, OutputFormat::Webm, config, start).unwrap();
        for f in start..start + n {
            writer.push(FrameFormat::Rgba, &frame(f)).unwrap();
        }
        let done = writer.finish().unwrap();
        write_sidecar(&path, PLAN_HASH, &done.sha256);
        paths.push(path);
        start += n;
    }
    paths
}

/// Every frame of `file` decoded by libvpx-vp9 (which applies the alpha) as RGBA.
fn decode_rgba(file: &Path) -> Vec<Vec<u8>> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-c:v", "libvpx-vp9", "-i"])
        .arg(file)
        .args(["-f", "rawvideo", "-pix_fmt", "rgba", "-"])
        .output()
        .expect("the ffmpeg CLI (tests only)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out.stdout.chunks_exact((W * H * 4) as usize).map(<[u8]>::to_vec).collect()
}

fn alpha_at(rgba: &[u8], x: u32, y: u32) -> u8 {
    rgba[((y * W + x) * 4 + 3) as usize]
}

#[test]
fn the_alpha_plane_survives_the_join_at_every_chunk_seam() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(vec![5, 5, 5]);
    let chunks = render(dir.path(), &spec, 5);
    let out = dir.path().join("out.webm");
    let result = assemble(dir.path(), &chunks, None, &out, &AssembleOptions::default()).unwrap();
    assert_eq!(result.frames_encoded, 15);

    let frames = decode_rgba(&out);
    assert_eq!(frames.len(), 15);
    for f in [0, 4, 5, 9, 10, 14] {
        let rgba = &frames[f];
        for (x, y) in [(0, 0), (W / 2 - 2, 10), (5, H - 1)] {
            // VP9 codes the alpha plane lossily (here at CRF 30): a few steps off at most.
            assert!(alpha_at(rgba, x, y) <= 3, "frame {f} ({x},{y}) should be transparent");
        }
        for (x, y) in [(W - 1, 0), (W / 2 + 4, 20)] {
            assert!(alpha_at(rgba, x, y) >= 252, "frame {f} ({x},{y}) should be opaque");
        }
        let band = alpha_at(rgba, W - 4, H - 3);
        assert!((118..=138).contains(&band), "frame {f}: half-transparent band at {band}");
    }

    let report = framefan::verify::verify(&out, Some(dir.path())).unwrap();
    assert!(report.consistent, "{:?}", report.problems);
    assert_eq!((report.frames, report.codec.as_str(), report.alpha), (15, "vp9", Some(true)));
    assert!(report.index_first && report.duration_exact, "{report:?}");
    assert_eq!(report.duration_seconds, 0.5);
}

#[test]
fn one_chunk_or_several_assemble_to_the_same_bytes() {
    let mut digests = Vec::new();
    for chunking in [vec![12], vec![4, 4, 4], vec![8, 4]] {
        let dir = tempfile::tempdir().unwrap();
        let chunks = render(dir.path(), &spec(chunking.clone()), 4);
        let out = dir.path().join("out.webm");
        assemble(dir.path(), &chunks, None, &out, &AssembleOptions::default()).unwrap();
        digests.push((chunking, framefan::digest::file(&out).unwrap()));
    }
    for (chunking, digest) in &digests[1..] {
        assert_eq!(digest, &digests[0].1, "chunks {chunking:?} differ from one chunk");
    }
}

/// Samples of the first audio stream, decoded by the ffmpeg CLI (which applies the pre-skip and
/// the end's discard padding).
fn decoded_samples(file: &Path) -> usize {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(file)
        .args(["-map", "0:a", "-f", "s16le", "-ac", "2", "-ar", "48000", "-"])
        .output()
        .expect("the ffmpeg CLI (tests only)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out.stdout.len() / 4
}

#[test]
fn opus_is_padded_or_trimmed_to_exactly_the_frames() {
    // 31 frames at 30 fps: 49 600 samples, not a whole number of Opus frames (960).
    for source_samples in [20_000, 49_600, 90_000] {
        let dir = tempfile::tempdir().unwrap();
        let spec = PlanSpec { has_audio: true, ..spec(vec![16, 15]) };
        let chunks = render(dir.path(), &spec, 16);
        let audio = dir.path().join("audio.m4a");
        write_sine_m4a(&audio, source_samples, 440.0);
        let out = dir.path().join("out.webm");
        let result = assemble(dir.path(), &chunks, Some(&audio), &out, &AssembleOptions::default()).unwrap();
        assert_eq!(result.audio.samples, 49_600, "{source_samples}");
        assert_eq!(decoded_samples(&out), 49_600, "source of {source_samples} samples");

        let probe = crate::util::ffprobe(&out);
        assert_eq!(crate::util::stream(&probe, "audio")["codec_name"], "opus");
        let video = crate::util::stream(&probe, "video");
        assert_eq!(video["start_time"], "0.000000", "the pre-skip must not delay the video");
        let report = framefan::verify::verify(&out, Some(dir.path())).unwrap();
        assert!(report.consistent, "{:?}", report.problems);
        let offset = report.audio_offset_ms.unwrap();
        assert!(offset.abs() < 1e-6, "{offset} ms: {report:?}");
    }
}

#[test]
fn verify_wants_alpha_from_a_webm_plan_and_cues_before_the_clusters() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(vec![6]);
    render(dir.path(), &spec, 6);
    // The same frames by the ffmpeg CLI without alpha, its Cues at the end as it writes them.
    let opaque = dir.path().join("opaque.webm");
    let o = Command::new("ffmpeg")
        .args(["-v", "error", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=30:duration=0.2"])
        .args(["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"])
        .arg(&opaque)
        .output()
        .expect("the ffmpeg CLI (tests only)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report = framefan::verify::verify(&opaque, Some(dir.path())).unwrap();
    assert_eq!(report.alpha, Some(false));
    assert!(!report.index_first);
    assert_eq!(
        report.problems,
        [
            "the Cues (index) do not precede the first Cluster",
            "the plan's format webm keeps alpha, the video carries none"
        ]
    );
}

/// At 30000/1001 no frame but the first falls on a whole millisecond: each is stamped at its own
/// rounded millisecond from its index, so the rate reads back exactly and the last frame ends
/// where `Fps::frame_to_ts` puts it.
#[test]
fn ntsc_frames_are_stamped_from_their_index() {
    let dir = tempfile::tempdir().unwrap();
    let spec = PlanSpec { fps: (30_000, 1001), ..spec(vec![10, 10, 3]) };
    let chunks = render(dir.path(), &spec, 10);
    let out = dir.path().join("out.webm");
    assemble(dir.path(), &chunks, None, &out, &AssembleOptions::default()).unwrap();
    let report = framefan::verify::verify(&out, Some(dir.path())).unwrap();
    assert!(report.consistent, "{:?}", report.problems);
    assert_eq!((report.r_frame_rate.as_str(), report.avg_frame_rate.as_str()), ("30000/1001", "30000/1001"));
    assert_eq!(report.duration_seconds, 0.767, "23 frames end at 767.43 ms, stamped 767");
}
