//! `--format gif`: chunks are RGBA PNG frames, assemble builds one palette for the whole video and
//! encodes the GIF (HyperFrames' two ffmpeg passes, in-process). Checked by walking the file's
//! blocks, decoding it back with ffmpeg, and through `framefan verify`; byte equality for any
//! chunking and worker count is in `determinism.rs`, equality with the HyperFrames CLI in the
//! parity suite (`gif` cases).

use std::path::{Path, PathBuf};
use std::process::Command;

use framefan::verify::gif::{expected_delays, parse};

use crate::util::framefan_bin;

/// One second at 30 fps on a transparent page: a turning opaque square and a half-transparent bar.
const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><style>
  #box { position: absolute; left: 10px; top: 10px; width: 30px; height: 30px; background: #e63946;
    animation: turn 1s linear both; }
  #bar { position: absolute; left: 0; bottom: 0; width: 120px; height: 12px; background: rgba(0, 80, 200, 0.5); }
  @keyframes turn { from { transform: rotate(0); } to { transform: translateX(60px) rotate(180deg); } }
</style></head><body>
<div id="root" data-composition-id="main" data-width="120" data-height="80" data-duration="1" data-fps="30"
     data-no-timeline><div id="box"></div><div id="bar"></div></div>
</body></html>"#;

fn project(dir: &Path, html: &str) -> PathBuf {
    let project = dir.join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(project.join("index.html"), html).unwrap();
    project
}

fn framefan(args: &[&str]) -> std::process::Output {
    Command::new(framefan_bin()).args(args).output().unwrap()
}

fn ok_json(args: &[&str]) -> serde_json::Value {
    let o = framefan(args);
    assert!(o.status.success(), "framefan {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_str(String::from_utf8_lossy(&o.stdout).trim()).unwrap()
}

/// `framefan verify … --json` of an inconsistent file: exit 3 and the report.
fn inconsistent(args: &[&str]) -> serde_json::Value {
    let o = framefan(args);
    assert_eq!(o.status.code(), Some(3), "framefan {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_str(String::from_utf8_lossy(&o.stdout).trim()).unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Every frame of a GIF as RGBA, decoded by ffmpeg.
fn frames(gif: &Path, w: usize, h: usize) -> Vec<Vec<u8>> {
    let o = Command::new("ffmpeg")
        .args(["-v", "error", "-i", s(gif), "-f", "rawvideo", "-pix_fmt", "rgba", "-"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o.stdout.chunks(w * h * 4).map(<[u8]>::to_vec).collect()
}

#[test]
fn a_gif_holds_every_frame_with_exact_delays_its_loop_count_and_transparency() {
    let dir = tempfile::tempdir().unwrap();
    let project = project(dir.path(), PAGE);
    let out = dir.path().join("out.gif");
    let result = ok_json(&["render", s(&project), "-o", s(&out), "--format", "gif", "--gif-loop", "3", "--json"]);
    assert_eq!((result["totalFrames"].as_u64(), result["format"].as_str()), (Some(30), Some("gif")), "{result}");

    let info = parse(&std::fs::read(&out).unwrap()).unwrap();
    assert!(info.complete);
    assert_eq!((info.width, info.height, info.loops), (120, 80, Some(3)));
    assert_eq!(info.delays, expected_delays(30, framefan::time::Fps::new(30, 1).unwrap()));
    // Frame 29 starts at 97 cs and keeps its predecessor's 4 cs (the muxer's last delay).
    assert_eq!(info.delays.iter().map(|&d| u32::from(d)).sum::<u32>(), 101, "{:?}", info.delays);

    let decoded = frames(&out, 120, 80);
    assert_eq!(decoded.len(), 30);
    let px = |f: &[u8], x: usize, y: usize| f[(y * 120 + x) * 4..][..4].to_vec();
    for (i, f) in decoded.iter().enumerate() {
        assert_eq!(px(f, 110, 30)[3], 0, "frame {i}: the page's background is transparent");
        assert_eq!(px(f, 60, 75)[3], 255, "frame {i}: a half-transparent bar is opaque in a GIF (threshold 128)");
    }
    let red = px(&decoded[0], 25, 25);
    assert!(red[0] > 200 && red[1] < 90 && red[3] == 255, "the square at frame 0: {red:?}");
    assert_ne!(decoded[0], decoded[29], "the square moves");

    let report = ok_json(&["verify", s(&out), "--json"]);
    assert_eq!((report["frames"].as_u64(), report["consistent"].as_bool()), (Some(30), Some(true)), "{report}");
}

#[test]
fn verify_compares_a_gif_with_its_plan() {
    let dir = tempfile::tempdir().unwrap();
    let project = project(dir.path(), PAGE);
    let plan = dir.path().join("plan");
    ok_json(&["plan", s(&project), s(&plan), "--format", "gif", "--json"]);
    let encoder = std::fs::read_to_string(plan.join("meta/encoder.json")).unwrap();
    assert!(encoder.contains(r#""gifLoop":0"#) && encoder.contains(r#""encoder":"png""#), "{encoder}");
    let chunk = dir.path().join("chunk-000");
    ok_json(&["render-chunk", s(&plan), s(&chunk), "--index", "0", "--json"]);
    let out = dir.path().join("out.gif");
    ok_json(&["assemble", s(&plan), s(&out), "--chunks", s(&chunk), "--json"]);
    let report = ok_json(&["verify", s(&out), "--plan", s(&plan), "--json"]);
    assert_eq!(report["consistent"], true, "{report}");
    assert_eq!((report["durationExact"].as_bool(), report["rFrameRate"].as_str()), (Some(true), Some("30/1")));
    assert_eq!(report["plan"]["matches"], true, "{report}");

    // Another plan's frame rate: the delays and the rate no longer match.
    let other = dir.path().join("plan25");
    ok_json(&["plan", s(&project), s(&other), "--format", "gif", "--fps", "25", "--json"]);
    let report = inconsistent(&["verify", s(&out), "--plan", s(&other), "--json"]);
    assert_eq!(report["consistent"], false, "{report}");
    let problems = report["problems"].to_string();
    assert!(problems.contains("30 frames, the plan has 25"), "{problems}");

    // A GIF cut short is not consistent.
    let bytes = std::fs::read(&out).unwrap();
    let cut = dir.path().join("cut.gif");
    std::fs::write(&cut, &bytes[..bytes.len() - 1]).unwrap();
    let report = inconsistent(&["verify", s(&cut), "--json"]);
    assert!(report["problems"].to_string().contains("no trailer"), "{report}");
}

#[test]
fn a_gif_leaves_the_soundtrack_out_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let tone = dir.path().join("project/tone.wav");
    std::fs::create_dir_all(tone.parent().unwrap()).unwrap();
    let o = Command::new("ffmpeg")
        .args(["-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=1", s(&tone)])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = PAGE.replace(
        r#"<div id="bar"></div>"#,
        r#"<div id="bar"></div><audio id="a" src="tone.wav" data-start="0" data-duration="1" data-track-index="1"></audio>"#,
    );
    let project = project(dir.path(), &html);
    let out = dir.path().join("out.gif");
    let result = ok_json(&["render", s(&project), "-o", s(&out), "--format", "gif", "--json"]);
    assert_eq!(result["hasAudio"], false, "the output has no sound: {result}");
    assert!(result["warnings"].to_string().contains("AUDIO_IGNORED: format gif has no sound"), "{result}");
    assert_eq!(parse(&std::fs::read(&out).unwrap()).unwrap().delays.len(), 30);
}

#[test]
fn gif_loop_is_refused_outside_its_range_and_for_other_formats() {
    let dir = tempfile::tempdir().unwrap();
    let project = project(dir.path(), PAGE);
    for (args, needle) in [
        (vec!["--format", "mp4", "--gif-loop", "2"], "gifLoop 2 applies to format gif only, not mp4"),
        (vec!["--format", "gif", "--gif-loop", "65536"], "gifLoop 65536 is outside 0..=65535"),
        (vec!["--format", "gif", "--gif-loop", "-1"], "gifLoop -1 is outside 0..=65535"),
    ] {
        let plan = dir.path().join("plan");
        let mut all = vec!["plan", s(&project), s(&plan)];
        all.extend(&args);
        let o = framefan(&all);
        assert_eq!(o.status.code(), Some(3), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("INVALID_CONFIG") && err.contains(needle), "{args:?}: {err}");
        assert!(!plan.exists(), "{args:?}: nothing is written");
    }
}
