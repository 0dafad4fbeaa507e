//! render-chunk on real Chromium: frame exactness, seams, determinism, the page runtime, errors.

use std::path::{Path, PathBuf};
use std::process::Command;

use framefan::plan::OutputFormat;
use framefan::render::{render_chunk, ChunkOptions};

pub use crate::page_plan::*;

/// Decode a video file's frames to 8-bit grey (Y) planes with the ffmpeg CLI (tests only).
pub fn decode_gray(path: &Path, w: u32, h: u32) -> Vec<Vec<u8>> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-f", "rawvideo", "-pix_fmt", "gray", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(out.status.success(), "ffmpeg failed: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout.chunks_exact((w * h) as usize).map(|f| f.to_vec()).collect()
}

/// A page whose root timeline paints the frame number as 12 binary squares (white = 1).
pub fn marker_page(fps: i64) -> String {
    format!(
        r#"<!doctype html><html><head><style>
body {{ background: #000; }}
.bit {{ position: absolute; top: 40px; width: 20px; height: 20px; background: #fff; }}
</style></head><body>
<div id="root" data-composition-id="main" data-width="320" data-height="240" data-duration="10">
</div>
<script>
const root = document.getElementById('root');
const bits = [];
for (let i = 0; i < 12; i++) {{
  const b = document.createElement('div'); b.className = 'bit'; b.style.left = (10 + i * 25) + 'px';
  root.appendChild(b); bits.push(b);
}}
let time = 0;
window.__timelines = window.__timelines || {{}};
window.__timelines.main = {{
  totalTime(t) {{ time = t; const f = Math.round(t * {fps});
    bits.forEach((b, i) => b.style.opacity = (f >> i) & 1 ? '1' : '0'); return this; }},
  totalDuration() {{ return 10; }},
  paused() {{ return true; }},
  pause() {{ return this; }},
}};
</script></body></html>"#
    )
}

/// Read the 12-bit marker of a grey frame painted by [`marker_page`].
pub fn read_marker(gray: &[u8], w: u32) -> i64 {
    (0..12)
        .map(|i| {
            let (x, y) = (10 + i * 25 + 10, 50);
            i64::from(gray[(y * w as usize) + x] > 128) << i
        })
        .sum()
}

fn render(plan: &Path, index: i64, out: &Path) -> framefan::Result<framefan::render::ChunkResult> {
    render_chunk(plan, index, out, &ChunkOptions { browsers: Some(1), ..Default::default() })
}

#[test]
fn every_frame_shows_its_absolute_index() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan");
    write_page_plan(&plan, &PagePlan::mp4(&marker_page(30), 30, 10));
    for index in 0..3 {
        let out = dir.path().join(format!("chunk{index}.mp4"));
        let result = render(&plan, index, &out).unwrap();
        assert_eq!(result.frames, 10);
        let frames = decode_gray(&out, 320, 240);
        assert_eq!(frames.len(), 10);
        for (k, f) in frames.iter().enumerate() {
            assert_eq!(read_marker(f, 320), index * 10 + k as i64, "chunk {index} frame {k}");
        }
    }
}

/// GSAP from the package cache `.ci/run` fills (`FRAMEFAN_PACKAGE_CACHE`, else
/// `target/package-cache`); a missing cache is a loud failure, never a skip.
pub fn gsap_source() -> Vec<u8> {
    let cache = std::env::var_os("FRAMEFAN_PACKAGE_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/package-cache"));
    let path = cache.join("node_modules/gsap/dist/gsap.min.js");
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!("{}: {e}; run `npm install --prefix {} gsap@3` (.ci/run does)", path.display(), cache.display())
    })
}

/// Column of the first bright pixel on row `y`, if any.
pub fn left_edge(gray: &[u8], w: u32, y: u32) -> Option<u32> {
    let row = &gray[(y * w) as usize..((y + 1) * w) as usize];
    row.iter().position(|&v| v > 128).map(|x| x as u32)
}

fn gsap_page() -> String {
    r#"<!doctype html><html><head><script src="gsap.min.js"></script><style>
body { background: #000; }
.box { position: absolute; width: 20px; height: 20px; background: #fff; }
</style></head><body>
<div id="root" data-composition-id="main" data-width="320" data-height="240" data-duration="3">
  <div id="mover" class="box" style="left:0; top:10px"></div>
  <div id="clip" class="box" style="left:0; top:60px" data-start="1" data-duration="0.5"></div>
  <div id="host" data-composition-id="child" data-start="1" data-duration="2">
    <div id="inner" class="box" style="left:0; top:110px"></div>
    <script>
      window.__timelines.child = gsap.timeline({ paused: true }).to('#inner', { x: 100, duration: 1, ease: 'none' });
    </script>
  </div>
</div>
<script>
  window.__timelines.main = gsap.timeline({ paused: true }).to('#mover', { x: 200, duration: 2, ease: 'none' });
</script></body></html>"#
        .to_string()
}

#[test]
fn gsap_timelines_clips_and_nested_compositions() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan");
    let mut p = PagePlan::mp4(&gsap_page(), 90, 90);
    p.files.push(("compiled/gsap.min.js".into(), gsap_source()));
    write_page_plan(&plan, &p);
    let out = dir.path().join("c.mp4");
    render(&plan, 0, &out).unwrap();
    let frames = decode_gray(&out, 320, 240);
    assert_eq!(frames.len(), 90);
    let at = |f: usize, y: u32| left_edge(&frames[f], 320, y);
    // The root tween: x = 100·t px for t in [0, 2], then held.
    for (f, x) in [(0, 0), (15, 50), (30, 100), (45, 150), (60, 200), (89, 200)] {
        let edge = at(f, 20).unwrap_or(999);
        assert!(edge.abs_diff(x) <= 1, "mover at frame {f}: {edge}, want {x}");
    }
    // The clip is visible for frames [30, 45) only.
    for f in 0..90 {
        assert_eq!(at(f, 70).is_some(), (30..45).contains(&f), "clip visibility at frame {f}");
    }
    // The child timeline runs at the host's offset: local time t − 1, clamped to [0, 1].
    for (f, x) in [(30, 0), (45, 50), (60, 100), (75, 100)] {
        let edge = at(f, 120).unwrap_or(999);
        assert!(edge.abs_diff(x) <= 1, "nested box at frame {f}: {edge}, want {x}");
    }
    assert_eq!(at(29, 120), None, "the child composition is hidden before its start");
}

/// A page with GSAP, a CSS animation, a rAF-driven canvas with seeded randomness and a clock.
fn rich_page() -> String {
    r#"<!doctype html><html><head><script src="gsap.min.js"></script><style>
body { background: #102030; font-family: DejaVu Sans, sans-serif; }
.box { position: absolute; width: 30px; height: 30px; background: #f80; }
@keyframes slide { from { transform: translateX(0); } to { transform: translateX(200px); } }
#css { top: 100px; left: 0; animation: slide 2s linear infinite; background: #0f8; }
#count { position: absolute; top: 150px; left: 10px; color: #fff; font-size: 20px; }
</style></head><body>
<div id="root" data-composition-id="main" data-width="320" data-height="240" data-duration="2">
  <div id="gs" class="box" style="top:10px;left:0"></div>
  <div id="css" class="box"></div>
  <canvas id="cv" width="60" height="40" style="position:absolute;top:190px;left:250px"></canvas>
  <div id="count"></div>
</div>
<script>
  window.__timelines.main = gsap.timeline({ paused: true })
    .to('#gs', { x: 250, rotation: 90, duration: 2, ease: 'power2.inOut' });
  const cv = document.getElementById('cv').getContext('2d');
  let ticks = 0;
  function draw() {
    ticks++;
    cv.fillStyle = `hsl(${Math.floor(Math.random() * 360)}, 80%, 50%)`;
    cv.fillRect(0, 0, 60, 40);
    document.getElementById('count').textContent = `${ticks} ${Date.now() % 100000}`;
    requestAnimationFrame(draw);
  }
  requestAnimationFrame(draw);
</script></body></html>"#
        .to_string()
}

fn rich_plan(format: OutputFormat, total: i64, chunk: i64) -> PagePlan {
    let mut p = PagePlan::mp4(&rich_page(), total, chunk);
    p.format = format;
    p.files.push(("compiled/gsap.min.js".into(), gsap_source()));
    p
}

fn list(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn three_chunks_look_exactly_like_one_at_the_seams() {
    let dir = tempfile::tempdir().unwrap();
    let (three, one) = (dir.path().join("three"), dir.path().join("one"));
    write_page_plan(&three, &rich_plan(OutputFormat::PngSequence, 24, 8));
    write_page_plan(&one, &rich_plan(OutputFormat::PngSequence, 24, 24));
    let whole = dir.path().join("whole");
    render(&one, 0, &whole).unwrap();
    let mut pieces = Vec::new();
    for i in 0..3 {
        let out = dir.path().join(format!("part{i}"));
        assert_eq!(render(&three, i, &out).unwrap().frames, 8);
        pieces.extend(list(&out));
    }
    let whole = list(&whole);
    assert_eq!(whole.len(), 24);
    let names: Vec<_> = pieces.iter().map(|p| p.0.clone()).collect();
    assert_eq!(names, whole.iter().map(|p| p.0.clone()).collect::<Vec<_>>());
    // The rAF counter text differs by design (it counts this browser's seeks); everything else
    // must match, so compare with the counter row blanked out.
    for ((name, a), (_, b)) in pieces.iter().zip(&whole) {
        let (pa, pb) = (blank_rows(a, 145..180), blank_rows(b, 145..180));
        assert!(pa == pb, "{name} differs between the 3-chunk and 1-chunk renders");
    }
}

/// Decode a PNG to RGBA with the ffmpeg CLI and zero the given rows.
fn blank_rows(png: &[u8], rows: std::ops::Range<usize>) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.png");
    std::fs::write(&path, png).unwrap();
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&path)
        .args(["-f", "rawvideo", "-pix_fmt", "rgba", "-"])
        .output()
        .unwrap();
    let mut px = out.stdout;
    assert_eq!(px.len(), 320 * 240 * 4);
    for y in rows {
        px[y * 320 * 4..(y + 1) * 320 * 4].fill(0);
    }
    px
}

#[test]
fn retries_and_browser_counts_give_identical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan");
    let mut p = rich_plan(OutputFormat::Mp4, 20, 20);
    // The rAF counter depends on how frames are split between browsers; drop it here.
    p.html = p.html.replace("document.getElementById('count').textContent =", "void");
    write_page_plan(&plan, &p);
    let shas: Vec<String> = [1usize, 1, 2]
        .iter()
        .enumerate()
        .map(|(i, &browsers)| {
            let out = dir.path().join(format!("c{i}.mp4"));
            let opts = ChunkOptions { browsers: Some(browsers), ..Default::default() };
            let r = render_chunk(&plan, 0, &out, &opts).unwrap();
            assert_eq!(r.sha256, framefan::digest::file(&out).unwrap());
            r.sha256
        })
        .collect();
    assert_eq!(shas[0], shas[1], "a retry must be byte-identical");
    assert_eq!(shas[0], shas[2], "two browsers must give the bytes of one");
}

#[test]
fn css_keyframes_and_raf_counter_render_the_same_on_every_retry() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan");
    write_page_plan(&plan, &rich_plan(OutputFormat::Mp4, 30, 30));
    let a = dir.path().join("a.mp4");
    let b = dir.path().join("b.mp4");
    let ra = render(&plan, 0, &a).unwrap();
    let rb = render(&plan, 0, &b).unwrap();
    assert_eq!(ra.sha256, rb.sha256);
    let frames = decode_gray(&a, 320, 240);
    // The CSS box slides 100 px/s from x = 0, seeked exactly.
    for (f, x) in [(0usize, 0u32), (15, 50), (29, 97)] {
        let edge = left_edge(&frames[f], 320, 115).unwrap_or(999);
        assert!(edge.abs_diff(x) <= 1, "CSS box at frame {f}: {edge}, want {x}");
    }
    let sidecar: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("a.mp4.perf.json")).unwrap()).unwrap();
    assert_eq!(sidecar["sha256"], ra.sha256.as_str());
    assert_eq!(sidecar["framesEncoded"], 30);
    assert_eq!(sidecar["captureMode"], "beginFrame");
    assert_eq!(sidecar["outputKind"], "mp4");
    for key in ["planHashMs", "sessionBootMs", "captureStageMs", "encodeStageMs", "durationMs"] {
        assert!(sidecar["timings"][key].is_u64(), "timings.{key}");
    }
}

fn code_of(r: framefan::Result<framefan::render::ChunkResult>) -> &'static str {
    r.map(|_| ()).expect_err("the render must fail").code()
}

fn marker_plan(dir: &Path) -> PathBuf {
    let plan = dir.join("plan");
    write_page_plan(&plan, &PagePlan::mp4(&marker_page(30), 20, 10));
    plan
}

fn set_plan_field(plan: &Path, key: &str, value: serde_json::Value) {
    let path = plan.join("plan.json");
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    v[key] = value;
    std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
}

#[test]
fn bad_plans_and_workers_fail_with_their_codes_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("chunk.mp4");
    let check = |code: &str, r: framefan::Result<framefan::render::ChunkResult>| {
        assert_eq!(code_of(r), code);
        assert!(!out.exists(), "{code} left a file at out");
        assert!(!framefan::assemble::check::sidecar_path(&out).exists(), "{code} left a sidecar");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("chunk.mp4"))
            .collect();
        assert!(leftovers.is_empty(), "{code} left {leftovers:?}");
    };
    let plan = marker_plan(dir.path());
    check("CHUNK_INDEX_OUT_OF_RANGE", render(&plan, 2, &out));
    check("CHUNK_INDEX_OUT_OF_RANGE", render(&plan, -1, &out));
    let missing = ChunkOptions { browser: Some(dir.path().join("no-such-browser")), ..Default::default() };
    check("BROWSER_NOT_FOUND", render_chunk(&plan, 0, &out, &missing));

    std::fs::remove_file(plan.join("meta/encoder.json")).unwrap();
    let err = render(&plan, 0, &out).map(|_| ()).unwrap_err();
    assert!(err.is_retryable(), "a missing artifact may heal");
    check("MISSING_PLAN_ARTIFACT", Err(err));

    let plan = marker_plan(&dir.path().join("b"));
    std::fs::write(plan.join("compiled/asset.css"), "body{}").unwrap();
    check("PLAN_HASH_MISMATCH", render(&plan, 0, &out));

    let plan = marker_plan(&dir.path().join("c"));
    set_plan_field(&plan, "ffmpegVersion", serde_json::json!("ffmpeg 4.4.2; x264 0.163"));
    check("FFMPEG_VERSION_MISMATCH", render(&plan, 0, &out));

    let plan = dir.path().join("d");
    let mut p = PagePlan::mp4(&marker_page(30), 20, 10);
    p.font_sha = Some("0".repeat(64));
    write_page_plan(&plan, &p);
    check("FONT_SNAPSHOT_MISMATCH", render(&plan, 0, &out));

    let plan = marker_plan(&dir.path().join("e"));
    set_plan_field(
        &plan,
        "protocol",
        serde_json::json!({"schemaVersion": 2, "artifactLayout": "plan-dir-v1",
        "hashSchema": "framefan-plan-hash-v1"}),
    );
    check("PLAN_PROTOCOL_UNSUPPORTED", render(&plan, 0, &out));

    let plan = dir.path().join("f");
    write_page_plan(&plan, &PagePlan::mp4("<html><body><script>throw new Error('boom')</script></body></html>", 5, 5));
    check("PAGE_SCRIPT_ERROR", render(&plan, 0, &out));
}

#[test]
fn a_killed_render_leaves_nothing_at_out() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, _stderr, out) = worker_mid_chunk(dir.path());
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!out.exists(), "a killed render must not leave a chunk at out");
    // The browser dies with its worker (no orphan keeps rendering into a removed profile).
    assert_no_process_mentions(dir.path());
    assert!(!framefan::assemble::check::sidecar_path(&out).exists());
}

/// A `render-chunk --progress --json` worker on a 300-frame plan in `dir`, writing
/// `dir/out/chunk.mp4`, once it has encoded its first frame; with its stderr and that path.
fn worker_mid_chunk(
    dir: &std::path::Path,
) -> (std::process::Child, std::io::BufReader<std::process::ChildStderr>, PathBuf) {
    let plan = dir.join("plan");
    write_page_plan(&plan, &PagePlan::mp4(&marker_page(30), 300, 300));
    std::fs::create_dir(dir.join("out")).unwrap();
    let out = dir.join("out/chunk.mp4");
    // In a session of its own: the session finds whatever it leaves behind.
    let mut child = crate::util::framefan_in_session()
        .arg("render-chunk")
        .arg(&plan)
        .arg(&out)
        .args(["--index", "0", "--progress", "--json"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut line).unwrap();
    assert!(line.contains("chunk.progress"), "unexpected first line {line:?}");
    (child, stderr, out)
}

/// Poll until every process whose command line mentions `dir` is gone (the browsers die by
/// `PR_SET_PDEATHSIG` once their worker is reaped). The 60 s deadline only bounds a failure; a
/// loaded machine may take a while to reap them, which must not fail the test.
fn assert_no_process_mentions(dir: &std::path::Path) {
    let needle = dir.to_string_lossy().into_owned();
    let alive = || {
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
            .filter(|c| String::from_utf8_lossy(c).contains(&needle))
            .count()
    };
    let mut left = alive();
    for _ in 0..600 {
        if left == 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        left = alive();
    }
    assert_eq!(left, 0, "browser processes outlived their worker");
}

#[test]
fn sigterm_stops_a_chunk_removes_its_scratch_and_exits_143() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, mut stderr, out) = worker_mid_chunk(dir.path());
    let term = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(term.success());
    let sent = std::time::Instant::now();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let status = child.wait().unwrap();
    let took = sent.elapsed();
    eprintln!("render-chunk exited {took:?} after SIGTERM");
    assert_eq!(status.code(), Some(143), "stderr after SIGTERM: {rest}");
    // The target is 2 s; the bound allows a loaded CI machine twice that (as tests/run.rs).
    assert!(took <= std::time::Duration::from_secs(4), "exit {took:?} after SIGTERM");
    // Every browser process was reaped before render-chunk exited.
    crate::util::assert_session_empty(child.id(), "a stopped render-chunk");
    assert!(rest.contains(r#""code":"CANCELLED""#), "{rest}");
    // Nothing at out, no sidecar, no scratch directory: the output folder is as it was.
    let out_dir = out.parent().unwrap();
    let left: Vec<_> = std::fs::read_dir(out_dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    assert_no_process_mentions(dir.path());
}

#[test]
fn cli_takes_the_index_from_the_array_job_environment() {
    let dir = tempfile::tempdir().unwrap();
    let plan = marker_plan(dir.path());
    let out = dir.path().join("c1.mp4");
    let run = Command::new(crate::util::framefan_bin())
        .arg("render-chunk")
        .arg(&plan)
        .arg(&out)
        .arg("--json")
        .env("JOB_COMPLETION_INDEX", "1")
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let result: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(result["index"], 1);
    assert_eq!(result["frames"], 10);
    let frames = decode_gray(&out, 320, 240);
    assert_eq!(read_marker(&frames[0], 320), 10);

    let bad = Command::new(crate::util::framefan_bin())
        .arg("render-chunk")
        .arg(&plan)
        .arg(dir.path().join("c9.mp4"))
        .args(["--index", "9", "--json"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(3));
    let err: serde_json::Value = serde_json::from_slice(&bad.stderr).unwrap();
    assert_eq!(err["error"]["code"], "CHUNK_INDEX_OUT_OF_RANGE");
    let none = Command::new(crate::util::framefan_bin()).arg("render-chunk").arg(&plan).arg(&out).output().unwrap();
    assert_eq!(none.status.code(), Some(2), "no index anywhere is a usage error");
}

#[test]
fn mov_chunks_carry_the_page_alpha() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan");
    let html = r#"<!doctype html><html><body style="margin:0">
<div id="root" data-composition-id="main" data-width="320" data-height="240" data-duration="1" data-no-timeline>
  <div style="position:absolute;left:100px;top:80px;width:60px;height:40px;background:#fff"></div>
</div></body></html>"#;
    let mut p = PagePlan::mp4(html, 4, 4);
    p.format = OutputFormat::Mov;
    write_page_plan(&plan, &p);
    let out = dir.path().join("c.mov");
    assert_eq!(render(&plan, 0, &out).unwrap().frames, 4);
    let probe = crate::util::ffprobe(&out);
    let v = crate::util::stream(&probe, "video");
    assert_eq!(v["codec_name"].as_str(), Some("prores"));
    // libav's ProRes decoder reports 4444 as 12-bit; what matters is the alpha plane.
    assert!(v["pix_fmt"].as_str().unwrap_or("").starts_with("yuva444p"), "{}", v["pix_fmt"]);
    let alpha = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&out)
        .args(["-vf", "alphaextract", "-f", "rawvideo", "-pix_fmt", "gray", "-"])
        .output()
        .unwrap();
    assert!(alpha.status.success(), "{}", String::from_utf8_lossy(&alpha.stderr));
    let frame = &alpha.stdout[..320 * 240];
    assert_eq!(frame[10 * 320 + 10], 0, "the page background is transparent");
    assert_eq!(frame[100 * 320 + 130], 255, "the box is opaque");
}

#[test]
fn jpeg_captures_convert_directly_and_agree_with_swscale() {
    use base64::Engine as _;
    use framefan::av::image::{DecodedImage, ImageCodec, ImageDecoder};
    use framefan::av::video::Yuv420Converter;
    use framefan::engine::capture::{Capturer, ShotFormat};
    use framefan::engine::server::FileServer;
    use framefan::render::color::{Jfif420ToBt709, Planes};

    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan");
    write_page_plan(&plan, &rich_plan(OutputFormat::Mp4, 2, 2));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let jpeg = rt.block_on(async {
        let runtime = framefan::runtime::Runtime::of_plan(&plan).unwrap();
        let server = FileServer::start(
            framefan::plan::layout::PlanLayout::new(&plan).site(runtime.as_ref().map(|r| r.source.as_str())).unwrap(),
        )
        .await
        .unwrap();
        let page = capture_spec(dir.path(), 320, 240, ShotFormat::Jpeg(90));
        let mut cap = Capturer::launch(&server, &page, &framefan::Control::default()).await.unwrap();
        let shot = cap.frame(10).await.unwrap();
        cap.close().await;
        base64::engine::general_purpose::STANDARD.decode(&*shot.data).unwrap()
    });
    let mut dec = ImageDecoder::open(ImageCodec::Jpeg).unwrap();
    let DecodedImage::Jfif420 { y, cb, cr, .. } = dec.decode(&jpeg).unwrap() else {
        panic!("Chromium's JPEG captures are expected to be JFIF 4:2:0");
    };
    let planes = Planes { y: y.data, y_stride: y.stride, cb: cb.data, cr: cr.data, c_stride: cb.stride };
    let mut direct = Vec::new();
    Jfif420ToBt709::new(320, 240).unwrap().convert(&planes, &mut direct).unwrap();
    let (_, _, rgba) = dec.decode_rgba(&jpeg).unwrap();
    let via_rgba = Yuv420Converter::new(320, 240).unwrap().convert(&rgba).unwrap();
    assert_eq!(direct.len(), via_rgba.len());
    // Both upsample chroma, with different filters: luma agrees within a few levels at hard
    // colour edges, chroma on average.
    let luma = 320 * 240;
    let worst = direct[..luma].iter().zip(&via_rgba[..luma]).map(|(a, b)| a.abs_diff(*b)).max().unwrap();
    assert!(worst <= 5, "luma differs by up to {worst}");
    let luma_mean: f64 =
        direct[..luma].iter().zip(&via_rgba[..luma]).map(|(a, b)| f64::from(a.abs_diff(*b))).sum::<f64>() / luma as f64;
    assert!(luma_mean < 0.5, "luma differs by {luma_mean} on average");
    let mean: f64 = direct[luma..].iter().zip(&via_rgba[luma..]).map(|(a, b)| f64::from(a.abs_diff(*b))).sum::<f64>()
        / (direct.len() - luma) as f64;
    assert!(mean < 1.5, "chroma differs by {mean} on average");
}

#[test]
fn regular_chromium_is_the_screenshot_fallback() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan");
    write_page_plan(&plan, &PagePlan::mp4(&marker_page(30), 16, 8));
    let out = dir.path().join("c1.mp4");
    let opts = ChunkOptions { browser: Some("/usr/bin/chromium".into()), browsers: Some(1), ..Default::default() };
    let result = render_chunk(&plan, 1, &out, &opts).unwrap();
    assert_eq!(result.capture_mode, framefan::plan::model::CaptureMode::Screenshot);
    let frames = decode_gray(&out, 320, 240);
    for (k, f) in frames.iter().enumerate() {
        assert_eq!(read_marker(f, 320), 8 + k as i64, "frame {k}");
    }
    let sidecar: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("c1.mp4.perf.json")).unwrap()).unwrap();
    assert_eq!(sidecar["captureMode"], "screenshot");
}

/// The processes whose command line names `needle` (a browser's profile directory).
fn processes_naming(needle: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|e| {
            let e = e.ok()?;
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            String::from_utf8_lossy(&cmdline).contains(needle).then(|| e.file_name().to_string_lossy().into_owned())
        })
        .collect()
}

#[test]
fn a_cancelled_launch_ends_its_browser_and_leaves_no_profile() {
    use framefan::engine::capture::{Capturer, ShotFormat};
    use framefan::engine::server::FileServer;
    use framefan::Control;

    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan");
    write_page_plan(&plan, &rich_plan(OutputFormat::Mp4, 2, 2));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let runtime = framefan::runtime::Runtime::of_plan(&plan).unwrap();
        let site = framefan::plan::layout::PlanLayout::new(&plan).site(runtime.as_ref().map(|r| r.source.as_str()));
        let server = FileServer::start(site.unwrap()).await.unwrap();
        for case in ["before it listens", "once it listens"] {
            let scratch = dir.path().join(case.replace(' ', "-"));
            std::fs::create_dir_all(&scratch).unwrap();
            let page = capture_spec(&scratch, 320, 240, ShotFormat::Jpeg(90));
            let control = Control::new();
            let canceller = match case {
                // Already cancelled: the browser is started, then ended while it starts up.
                "before it listens" => {
                    control.cancel();
                    None
                }
                // Cancelled once the browser has written its DevTools port: the DevTools
                // connection or the page's load is under way.
                _ => Some(tokio::spawn({
                    let (control, scratch) = (control.clone(), scratch.clone());
                    async move {
                        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
                        let listening = || {
                            std::fs::read_dir(&scratch)
                                .unwrap()
                                .flatten()
                                .any(|p| p.path().join("DevToolsActivePort").exists())
                        };
                        while !listening() {
                            assert!(std::time::Instant::now() < deadline, "the browser never listened");
                            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                        }
                        control.cancel();
                    }
                })),
            };
            let err = Capturer::launch(&server, &page, &control).await.err().expect("a cancelled launch fails");
            if let Some(c) = canceller {
                c.await.unwrap();
            }
            assert_eq!(err.code(), "CANCELLED", "{case}: {err}");
            let left: Vec<_> = std::fs::read_dir(&scratch).unwrap().flatten().map(|e| e.file_name()).collect();
            assert!(left.is_empty(), "{case}: the profile was left: {left:?}");
            let alive = processes_naming(&scratch.display().to_string());
            assert!(alive.is_empty(), "{case}: browser processes still running: {alive:?}");
        }
    });
}
