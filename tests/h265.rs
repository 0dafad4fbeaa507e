//! mp4 with `--codec h265`: `plan` + `render-chunk` × N + `assemble` by hand give `render`'s
//! bytes; the output is HEVC in an `hvc1` sample entry (the one Apple's players open), every GOP
//! opens with a keyframe at its multiple of `gopSize` and holds no B-frame, the colour tags are
//! BT.709 TV range, `verify` checks it against the plan, and its frames are the H.264 render's
//! frames (both encode the same captures). `--codec` with a format that has no choice, or an
//! unknown codec, is refused before anything is written.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{ffprobe, framefan_bin, stream, top_level_boxes};

/// Two seconds of a small GSAP-free page at 30 fps: 60 frames, six GOPs with `--gop-size 10`.
const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><style>
  #root { background: #1d3557; overflow: hidden; }
  #box { position: absolute; left: 0; top: 20px; width: 40px; height: 40px; background: #f1c40f;
    border-radius: 8px; animation: slide 2s linear both; }
  #bar { position: absolute; left: 0; bottom: 10px; height: 12px; background: #e63946;
    animation: grow 2s ease-in-out both; }
  @keyframes slide { from { transform: translateX(0); } to { transform: translateX(140px) rotate(180deg); } }
  @keyframes grow { from { width: 0; } to { width: 192px; } }
</style></head><body>
<div id="root" data-composition-id="main" data-width="192" data-height="108" data-duration="2" data-fps="30"
     data-no-timeline><div id="box"></div><div id="bar"></div></div>
</body></html>"#;

const W: usize = 192;
const H: usize = 108;

fn project(dir: &Path) -> PathBuf {
    let project = dir.join("project");
    std::fs::create_dir(&project).unwrap();
    std::fs::write(project.join("index.html"), PAGE).unwrap();
    project
}

fn framefan(args: &[&OsStr]) -> std::process::Output {
    Command::new(framefan_bin()).args(args).output().unwrap()
}

fn ok(args: &[&OsStr]) -> String {
    let o = framefan(args);
    assert!(o.status.success(), "framefan {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

fn os(s: &str) -> &OsStr {
    s.as_ref()
}

/// Every frame of `file` decoded to RGB by the ffmpeg CLI (tests only).
fn decode(file: &Path) -> Vec<Vec<u8>> {
    let out = Command::new("ffmpeg")
        .args([os("-v"), os("error"), os("-i"), file.as_os_str()])
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .expect("the ffmpeg CLI (tests only)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out.stdout.chunks_exact(W * H * 3).map(<[u8]>::to_vec).collect()
}

fn psnr(a: &[u8], b: &[u8]) -> f64 {
    let se: u64 = a.iter().zip(b).map(|(x, y)| (i64::from(*x) - i64::from(*y)).pow(2) as u64).sum();
    if se == 0 {
        return 99.0;
    }
    (10.0 * (255.0f64 * 255.0 / (se as f64 / a.len() as f64)).log10()).min(99.0)
}

/// (key frame, picture type) of every frame, in presentation order.
fn frame_types(file: &Path) -> Vec<(bool, String)> {
    let out = Command::new("ffprobe")
        .args([os("-v"), os("error"), os("-select_streams"), os("v:0"), os("-show_frames")])
        .args([os("-show_entries"), os("frame=key_frame,pict_type"), os("-of"), os("csv=p=0"), file.as_os_str()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (key, kind) = l.split_once(',').unwrap();
            (key == "1", kind.trim_end_matches(',').to_string())
        })
        .collect()
}

/// Whether the `moov` box holds an `hvc1` sample entry with its `hvcC` configuration.
fn has_hvc1_entry(file: &Path) -> bool {
    let data = std::fs::read(file).unwrap();
    let (_, at, size) = top_level_boxes(file).into_iter().find(|b| b.0 == "moov").expect("a moov box");
    let moov = &data[at as usize..(at + size) as usize];
    let find = |tag: &[u8]| moov.windows(4).position(|w| w == tag);
    matches!((find(b"hvc1"), find(b"hvcC"), find(b"hev1")), (Some(e), Some(c), None) if c > e)
}

#[test]
fn an_h265_mp4_made_by_hand_is_render_s_hvc1_with_closed_gops() {
    let dir = tempfile::tempdir().unwrap();
    let project = project(dir.path());
    let codec = [os("--codec"), os("h265"), os("--gop-size"), os("10"), os("--quality"), os("draft")];

    let rendered = dir.path().join("rendered.mp4");
    let mut args = vec![os("render"), project.as_os_str(), os("-o"), rendered.as_os_str()];
    args.extend(codec);
    ok(&args);

    let plan = dir.path().join("plan");
    let mut args = vec![os("plan"), project.as_os_str(), plan.as_os_str(), os("--chunk-size"), os("20"), os("--json")];
    args.extend(codec);
    let planned: serde_json::Value = serde_json::from_str(ok(&args).trim()).unwrap();
    assert_eq!(planned["chunkCount"], 3, "{planned}");
    let chunks: Vec<PathBuf> = (0..3).map(|i| dir.path().join(format!("chunk-{i:03}.mp4"))).collect();
    for (i, chunk) in chunks.iter().enumerate().rev() {
        let index = i.to_string();
        ok(&[os("render-chunk"), plan.as_os_str(), chunk.as_os_str(), os("--index"), os(&index)]);
        assert!(has_hvc1_entry(chunk), "chunk {i} is not hvc1");
    }
    let by_hand = dir.path().join("by-hand.mp4");
    let mut args = vec![os("assemble"), plan.as_os_str(), by_hand.as_os_str(), os("--chunks")];
    args.extend(chunks.iter().map(|c| c.as_os_str()));
    ok(&args);
    let digest = |p: &Path| framefan::digest::artifact(p).unwrap();
    assert_eq!(digest(&by_hand), digest(&rendered), "plan + render-chunk × 3 + assemble differs from render");

    assert!(has_hvc1_entry(&by_hand), "the output's sample entry is not hvc1");
    let probe = ffprobe(&by_hand);
    let video = stream(&probe, "video");
    for (key, want) in [
        ("codec_name", "hevc"),
        ("codec_tag_string", "hvc1"),
        ("pix_fmt", "yuv420p"),
        ("color_space", "bt709"),
        ("color_range", "tv"),
        ("color_primaries", "bt709"),
        ("color_transfer", "bt709"),
        ("nb_read_frames", "60"),
        ("r_frame_rate", "30/1"),
    ] {
        assert_eq!(video[key], want, "{key}: {video}");
    }
    let types = frame_types(&by_hand);
    assert_eq!(types.len(), 60);
    for (f, (key, kind)) in types.iter().enumerate() {
        assert_eq!(*key, f % 10 == 0, "frame {f}: key frame {key}, GOPs are 10 frames");
        assert_ne!(kind, "B", "frame {f} is a B-frame");
    }
    let report = framefan::verify::verify(&by_hand, Some(&plan)).unwrap();
    assert!(report.consistent && report.codec == "hevc", "{:?}", report.problems);
}

/// The H.265 and H.264 renders encode the same captures: their frames agree closely, so the
/// codec changes nothing but the compression (HyperFrames' CLI, which has no codec choice, is
/// compared with the H.265 render in tests/parity).
#[test]
fn h265_frames_are_the_h264_render_s_frames() {
    let dir = tempfile::tempdir().unwrap();
    let project = project(dir.path());
    let mut outputs = Vec::new();
    for codec in ["h264", "h265"] {
        let out = dir.path().join(format!("{codec}.mp4"));
        ok(&[os("render"), project.as_os_str(), os("-o"), out.as_os_str(), os("--codec"), os(codec)]);
        outputs.push(decode(&out));
    }
    assert_eq!(outputs[0].len(), 60);
    assert_eq!(outputs[1].len(), 60);
    let scores: Vec<f64> = outputs[0].iter().zip(&outputs[1]).map(|(a, b)| psnr(a, b)).collect();
    let mean = scores.iter().sum::<f64>() / scores.len() as f64;
    let worst = scores.iter().copied().fold(f64::MAX, f64::min);
    assert!(mean >= 40.0 && worst >= 35.0, "h265 vs h264: mean {mean:.2} dB, worst {worst:.2} dB");
}

#[test]
fn a_codec_the_format_cannot_take_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let project = project(dir.path());
    for (extra, said) in [
        (
            &["--format", "webm", "--codec", "h265"][..],
            "codec h265 applies to mp4 only; format webm is always libvpx-vp9",
        ),
        (&["--format", "mov", "--codec", "h264"][..], "codec h264 applies to mp4 only; format mov is always prores_ks"),
        (&["--codec", "hevc"][..], r#"codec "hevc" is not one of h264, h265"#),
    ] {
        let plan = dir.path().join("plan");
        let mut args = vec![os("plan"), project.as_os_str(), plan.as_os_str()];
        args.extend(extra.iter().map(|a| os(a)));
        let o = framefan(&args);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(3), "{extra:?}: {stderr}");
        assert!(stderr.contains("INVALID_CONFIG") && stderr.contains(said), "{extra:?}: {stderr}");
        assert!(!plan.exists(), "{extra:?} left a plan directory");
    }
}

/// `verify --plan` reads the colour tags back: the render's are the plan's BT.709 TV range; a
/// file of the same frames tagged otherwise is named tag by tag.
#[test]
fn verify_checks_the_colour_tags_against_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let project = project(dir.path());
    let plan = dir.path().join("plan");
    ok(&[os("plan"), project.as_os_str(), plan.as_os_str(), os("--codec"), os("h265"), os("--quality"), os("draft")]);
    let other = dir.path().join("other.mp4");
    let made = Command::new("ffmpeg")
        .args(["-v", "error", "-f", "lavfi", "-i", "testsrc=s=192x108:r=30:d=2", "-c:v", "libx265"])
        .args(["-x265-params", "log-level=error", "-pix_fmt", "yuv420p", "-colorspace", "bt470bg"])
        .args(["-color_range", "pc", "-color_primaries", "bt709", "-color_trc", "bt709", "-tag:v", "hvc1"])
        .args(["-movflags", "+faststart"])
        .arg(&other)
        .status()
        .expect("the ffmpeg CLI (tests only)");
    assert!(made.success());
    let report = framefan::verify::verify(&other, Some(&plan)).unwrap();
    assert!(!report.consistent);
    assert_eq!((report.color.matrix.as_str(), report.color.range.as_str()), ("bt470bg", "pc"));
    assert_eq!(
        report.problems,
        ["colour matrix bt470bg, the plan's encoder writes bt709", "colour range pc, the plan's encoder writes tv"]
    );
}
