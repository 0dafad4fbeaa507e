//! A capture equal byte for byte to its browser's previous one is decoded and converted once:
//! the decoder hands the earlier picture to the encoder again. The output must be the bytes of a
//! render that decodes every capture ([`NO_REUSE_ENV`]), on a composition with held stretches
//! between ones where only a 2D canvas, a WebGL canvas or a DOM box changes, with one browser
//! and with three interleaving frames (a picture taken from the wrong earlier frame would show),
//! for mp4 (JPEG captures) and png-sequence and mov (PNG captures, alpha).

use std::path::Path;
use std::process::Command;

use framefan::engine::capture::NO_REUSE_ENV;
use framefan::plan::OutputFormat;

use crate::page_plan::{write_page_plan, PagePlan};

/// 60 frames: a box moves (0–7), holds (8–19), only a 2D canvas changes (20–27), holds
/// (28–35), only a WebGL canvas changes (36–43), holds (44–59). Every change is a function of
/// the frame alone, drawn at the seek; a canvas is drawn only when its content changes.
const HOLD_PAGE: &str = r#"<!doctype html><html><head><style>
body { background: #203040; }
#box { position: absolute; top: 20px; left: 0; width: 30px; height: 30px; background: #e9c46a; }
canvas { position: absolute; top: 120px; }
</style></head><body>
<div id="root" data-composition-id="main" data-width="320" data-height="240" data-duration="2">
  <div id="box"></div>
  <canvas id="c2" width="80" height="60" style="left:20px"></canvas>
  <canvas id="c3" width="80" height="60" style="left:160px"></canvas>
</div>
<script>
const box = document.getElementById('box');
const c2 = document.getElementById('c2').getContext('2d');
const gl = document.getElementById('c3').getContext('webgl', { preserveDrawingBuffer: true });
let drawn2 = -1, drawn3 = -1;
function paint(f) {
  box.style.transform = `translateX(${Math.min(f, 8) * 12}px)`;
  const k = Math.max(20, Math.min(f, 28));
  if (k !== drawn2) { c2.fillStyle = `rgb(${k * 8}, ${255 - k * 6}, 90)`; c2.fillRect(0, 0, 80, 60); drawn2 = k; }
  const g = Math.max(36, Math.min(f, 44));
  if (gl && g !== drawn3) { gl.clearColor((g - 30) / 16, 0.3, 0.6, 1); gl.clear(gl.COLOR_BUFFER_BIT); drawn3 = g; }
}
window.__timelines = window.__timelines || {};
window.__timelines.main = {
  totalTime(t) { paint(Math.round(t * 30)); return this; },
  totalDuration() { return 2; }, paused() { return true; }, pause() { return this; },
};
</script></body></html>"#;

/// `render-chunk` of chunk 0 with `browsers` browsers; the result line, and the chunk's sha256.
fn render_chunk(plan: &Path, out: &Path, browsers: usize, no_reuse: bool) -> (serde_json::Value, String) {
    let mut cmd = Command::new(crate::util::framefan_bin());
    cmd.arg("render-chunk").arg(plan).arg(out).args(["--index", "0", "--json", "--browsers"]);
    cmd.arg(browsers.to_string());
    if no_reuse {
        cmd.env(NO_REUSE_ENV, "1");
    } else {
        cmd.env_remove(NO_REUSE_ENV);
    }
    let run = cmd.output().unwrap();
    assert!(run.status.success(), "render-chunk: {}", String::from_utf8_lossy(&run.stderr));
    let result: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    (result, framefan::digest::artifact(out).unwrap())
}

fn reuse_matches_decoding_each(format: OutputFormat, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan");
    let mut p = PagePlan::mp4(HOLD_PAGE, 60, 60);
    p.format = format;
    write_page_plan(&plan, &p);
    let (each, each_sha) = render_chunk(&plan, &dir.path().join(format!("each-{name}")), 1, true);
    assert_eq!(each["reusedFrames"], 0, "reuse switched off reuses nothing: {each}");
    for browsers in [1usize, 3] {
        let out = dir.path().join(format!("reuse{browsers}-{name}"));
        let (result, sha) = render_chunk(&plan, &out, browsers, false);
        assert_eq!(result["frames"], 60, "{result}");
        // Held stretches of 12, 8 and 16 frames: each browser's unchanged frames are all but its
        // first of a stretch (33 with one browser, 27 with three).
        let reused = result["reusedFrames"].as_u64().unwrap();
        let least = if browsers == 1 { 30 } else { 20 };
        assert!(reused >= least, "{name}, {browsers} browsers: only {reused} frames reused: {result}");
        assert_eq!(sha, each_sha, "{name}, {browsers} browsers: reuse changed the bytes");
    }
}

#[test]
fn mp4_reusing_unchanged_frames_equals_decoding_each() {
    reuse_matches_decoding_each(OutputFormat::Mp4, "c.mp4");
}

#[test]
fn png_sequence_and_mov_reusing_unchanged_frames_equal_decoding_each() {
    reuse_matches_decoding_each(OutputFormat::PngSequence, "frames");
    reuse_matches_decoding_each(OutputFormat::Mov, "c.mov");
}
