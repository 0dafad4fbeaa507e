//! The output depends on the project and the options alone: `framefan render` with 1, 2 or 3
//! workers, any chunking of the same GOPs, and `plan` + `render-chunk` × N + `assemble` by hand
//! give the same bytes (sha256), for mp4 (H.264 and H.265), mov, png-sequence, webm and gif. Every GOP is encoded on its own,
//! so the chunking (which `framefan render` sizes from its worker count) never shows in the bytes.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::framefan_bin;

/// One second of a tiny CSS-animated page at 30 fps: 30 frames (three GOPs with `--gop-size 10`).
const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><style>
  #root { background: #203040; overflow: hidden; }
  #box { position: absolute; left: 0; top: 8px; width: 24px; height: 24px; background: #e9c46a;
    animation: slide 1s linear both; }
  @keyframes slide { from { transform: translateX(0); } to { transform: translateX(60px) rotate(90deg); } }
</style></head><body>
<div id="root" data-composition-id="main" data-width="96" data-height="64" data-duration="1" data-fps="30"
     data-no-timeline><div id="box"></div></div>
</body></html>"#;

fn project(dir: &Path) -> PathBuf {
    let project = dir.join("project");
    std::fs::create_dir(&project).unwrap();
    std::fs::write(project.join("index.html"), PAGE).unwrap();
    project
}

fn framefan(args: &[&std::ffi::OsStr]) -> String {
    let output = Command::new(framefan_bin()).args(args).output().unwrap();
    assert!(output.status.success(), "framefan {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// `framefan render` with `workers` workers; the result line as JSON.
fn render(project: &Path, out: &Path, format: &str, workers: u32) -> serde_json::Value {
    let w = workers.to_string();
    let args: [&std::ffi::OsStr; 6] = [
        "--quality".as_ref(),
        "draft".as_ref(),
        "--workers".as_ref(),
        w.as_ref(),
        "--gop-size".as_ref(),
        "10".as_ref(),
    ];
    render_with(project, out, format, &args)
}

/// `framefan render PROJECT -o OUT --format FORMAT --json` plus `extra`; the result line as JSON.
/// `h265` is `--format mp4 --codec h265`.
fn render_with(project: &Path, out: &Path, format: &str, extra: &[&std::ffi::OsStr]) -> serde_json::Value {
    let mut args: Vec<&std::ffi::OsStr> = vec!["render".as_ref(), project.as_os_str(), "-o".as_ref(), out.as_os_str()];
    match format {
        "h265" => args.extend(["--format", "mp4", "--codec", "h265"].map(std::ffi::OsStr::new)),
        _ => args.extend(["--format", format].map(std::ffi::OsStr::new)),
    }
    args.extend_from_slice(extra);
    args.push("--json".as_ref());
    serde_json::from_str(framefan(&args).trim()).unwrap()
}

fn sha256(path: &Path) -> String {
    framefan::digest::artifact(path).unwrap()
}

fn same_bytes_for_any_worker_count(format: &str, ext: &str) {
    let dir = tempfile::tempdir().unwrap();
    let project = project(dir.path());
    let mut digests = Vec::new();
    for workers in [1, 2, 3] {
        let out = dir.path().join(format!("w{workers}{ext}"));
        let result = render(&project, &out, format, workers);
        assert_eq!(result["totalFrames"], 30, "{result}");
        digests.push(sha256(&out));
    }
    assert_eq!(digests[0], digests[1], "{format}: 1 and 2 workers differ");
    assert_eq!(digests[0], digests[2], "{format}: 1 and 3 workers differ");
}

#[test]
fn mp4_is_byte_identical_on_one_two_and_three_workers() {
    same_bytes_for_any_worker_count("mp4", ".mp4");
}

#[test]
fn h265_is_byte_identical_on_one_two_and_three_workers() {
    same_bytes_for_any_worker_count("h265", ".mp4");
}

#[test]
fn mov_is_byte_identical_on_one_two_and_three_workers() {
    same_bytes_for_any_worker_count("mov", ".mov");
}

#[test]
fn png_sequence_is_byte_identical_on_one_two_and_three_workers() {
    same_bytes_for_any_worker_count("png-sequence", "");
}

#[test]
fn webm_is_byte_identical_on_one_two_and_three_workers() {
    same_bytes_for_any_worker_count("webm", ".webm");
}

#[test]
fn gif_is_byte_identical_on_one_two_and_three_workers() {
    same_bytes_for_any_worker_count("gif", ".gif");
}

/// The same GOPs cut into 1, 2, 3 or 6 chunks give the same file, at the default quality (x264's
/// lookahead, mbtree and rate control all at work) for mp4, and for mov and png-sequence.
fn same_bytes_for_any_chunking(format: &str, ext: &str) {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    std::fs::create_dir(&project).unwrap();
    let two_seconds = PAGE.replace(r#"data-duration="1""#, r#"data-duration="2""#).replace("1s linear", "2s linear");
    std::fs::write(project.join("index.html"), two_seconds).unwrap();
    let mut digests = Vec::new();
    for (size, chunks) in [("60", 1), ("30", 2), ("20", 3), ("10", 6)] {
        let out = dir.path().join(format!("c{size}{ext}"));
        let extra: [&std::ffi::OsStr; 6] = [
            "--gop-size".as_ref(),
            "10".as_ref(),
            "--chunk-size".as_ref(),
            size.as_ref(),
            "--workers".as_ref(),
            "2".as_ref(),
        ];
        let result = render_with(&project, &out, format, &extra);
        assert_eq!(
            (result["totalFrames"].as_u64(), result["chunkCount"].as_u64()),
            (Some(60), Some(chunks)),
            "{result}"
        );
        digests.push((size, sha256(&out)));
    }
    for (size, digest) in &digests[1..] {
        assert_eq!(digest, &digests[0].1, "{format}: chunks of {size} frames differ from one chunk");
    }
}

#[test]
fn mp4_is_byte_identical_for_one_chunk_and_many() {
    same_bytes_for_any_chunking("mp4", ".mp4");
}

/// x265 carries lookahead and rate-control state as x264 does, and runs a pool of two threads
/// with wavefront rows: a fresh encoder per GOP keeps the chunking out of the bytes.
#[test]
fn h265_is_byte_identical_for_one_chunk_and_many() {
    same_bytes_for_any_chunking("h265", ".mp4");
}

#[test]
fn mov_is_byte_identical_for_one_chunk_and_many() {
    same_bytes_for_any_chunking("mov", ".mov");
}

#[test]
fn png_sequence_is_byte_identical_for_one_chunk_and_many() {
    same_bytes_for_any_chunking("png-sequence", "");
}

/// libvpx carries state from frame to frame as x264 does (and runs two threads with row-based
/// multithreading here): a fresh encoder per GOP keeps the chunking out of the bytes.
#[test]
fn webm_is_byte_identical_for_one_chunk_and_many() {
    same_bytes_for_any_chunking("webm", ".webm");
}

#[test]
fn gif_is_byte_identical_for_one_chunk_and_many() {
    same_bytes_for_any_chunking("gif", ".gif");
}

/// A page with shader transitions (the `shader-transitions` parity case: a glitch and an iris
/// between three scenes) composites them in the page, captured by screenshot: its mp4 is the same
/// bytes in one chunk and in six (chunks starting inside both transitions, two browsers each),
/// and so is its gif in one chunk and in nine. GSAP and `@hyperframes/shader-transitions` come
/// from the HyperFrames reference's `node_modules`, as in the parity suite.
#[test]
fn shader_transitions_are_byte_identical_for_one_chunk_and_many() {
    let dir = tempfile::tempdir().unwrap();
    let project = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/parity/shader-transitions");
    let cache = crate::util::hf_reference().join("node_modules");
    assert!(cache.join("@hyperframes/shader-transitions").is_dir(), "run .ci/install-deps: {}", cache.display());
    for (format, ext, gop, sizes) in
        [("mp4", ".mp4", "15", [("90", 1), ("15", 6)]), ("gif", ".gif", "10", [("90", 1), ("10", 9)])]
    {
        let mut digests = Vec::new();
        for (size, chunks) in sizes {
            let out = dir.path().join(format!("c{size}{ext}"));
            let extra: [&std::ffi::OsStr; 8] = [
                "--gop-size".as_ref(),
                gop.as_ref(),
                "--chunk-size".as_ref(),
                size.as_ref(),
                "--workers".as_ref(),
                "2".as_ref(),
                "--package-cache".as_ref(),
                cache.as_os_str(),
            ];
            let result = render_with(&project, &out, format, &extra);
            assert_eq!(
                (result["totalFrames"].as_u64(), result["chunkCount"].as_u64()),
                (Some(90), Some(chunks)),
                "{result}"
            );
            digests.push(sha256(&out));
        }
        assert_eq!(digests[0], digests[1], "{format}: shader transitions in {} chunks differ from one", sizes[1].1);
    }
    // The plan records the compositing and the screenshot capture.
    let plan = dir.path().join("plan");
    framefan(&["plan".as_ref(), project.as_os_str(), plan.as_os_str(), "--package-cache".as_ref(), cache.as_os_str()]);
    let encoder: serde_json::Value =
        serde_json::from_slice(&std::fs::read(plan.join("meta/encoder.json")).unwrap()).unwrap();
    assert_eq!(
        (&encoder["pageSideCompositing"], &encoder["captureMode"]),
        (&serde_json::json!(true), &serde_json::json!("screenshot"))
    );
}

/// What a farm does: `plan`, every chunk by `render-chunk` on its own, `assemble`.
#[test]
fn plan_render_chunk_and_assemble_by_hand_give_the_bytes_of_render() {
    let dir = tempfile::tempdir().unwrap();
    let project = project(dir.path());
    let rendered = dir.path().join("render.mp4");
    render(&project, &rendered, "mp4", 2);

    let plan = dir.path().join("plan");
    let draft: &std::ffi::OsStr = "draft".as_ref();
    let planned = framefan(&[
        "plan".as_ref(),
        project.as_os_str(),
        plan.as_os_str(),
        "--quality".as_ref(),
        draft,
        "--gop-size".as_ref(),
        "10".as_ref(),
        "--json".as_ref(),
    ]);
    let planned: serde_json::Value = serde_json::from_str(planned.trim()).unwrap();
    let count = planned["chunkCount"].as_u64().unwrap();
    assert_eq!(count, 3);
    let chunks: Vec<PathBuf> = (0..count).map(|i| dir.path().join(format!("chunk-{i:03}.mp4"))).collect();
    // In reverse order, as independent workers may finish them.
    for (i, chunk) in chunks.iter().enumerate().rev() {
        let index = i.to_string();
        framefan(&["render-chunk".as_ref(), plan.as_os_str(), chunk.as_os_str(), "--index".as_ref(), index.as_ref()]);
    }
    let by_hand = dir.path().join("by-hand.mp4");
    let mut args: Vec<&std::ffi::OsStr> =
        vec!["assemble".as_ref(), plan.as_os_str(), by_hand.as_os_str(), "--chunks".as_ref()];
    args.extend(chunks.iter().map(|c| c.as_os_str()));
    framefan(&args);
    assert_eq!(sha256(&by_hand), sha256(&rendered), "plan + render-chunk + assemble differs from render");
}

/// GSAP moving an SVG circle and turning a rect: two seconds, 60 frames.
const SVG_PAGE: &str = r##"<!doctype html>
<html><head><meta charset="utf-8"><style>body { margin: 0; background: #101820; }</style></head><body>
<div id="root" data-composition-id="main" data-width="160" data-height="120" data-duration="2">
  <svg width="160" height="120" viewBox="0 0 160 120">
    <circle id="c" cx="40" cy="60" r="20" fill="#f4a261"/>
    <rect id="r" x="90" y="40" width="40" height="40" fill="#2a9d8f"/>
    <path d="M10 110 L150 10" stroke="#e76f51" stroke-width="3"/>
  </svg>
</div>
<script src="https://cdn.jsdelivr.net/npm/gsap@3.15.0/dist/gsap.min.js"></script>
<script>
  window.__timelines = window.__timelines || {};
  const tl = gsap.timeline({ paused: true });
  tl.to("#c", { attr: { cx: 120 }, duration: 2 }, 0);
  tl.to("#r", { rotation: 45, transformOrigin: "50% 50%", duration: 2 }, 0);
  window.__timelines["main"] = tl;
</script>
</body></html>"##;

/// A frame is drawn the same whichever frame its browser drew before: one chunk of 60 and six of
/// 10 give the same png files. (With Chromium's partial raster, the SVG's anti-aliasing followed
/// each browser's history: 42 dB apart at chunk starts.)
#[test]
fn a_frame_does_not_depend_on_the_chunking() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("svg");
    std::fs::create_dir(&project).unwrap();
    std::fs::write(project.join("index.html"), SVG_PAGE).unwrap();
    let cache = std::env::var_os("FRAMEFAN_PACKAGE_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/package-cache"));
    let mut digests = Vec::new();
    for size in ["60", "10"] {
        let out = dir.path().join(format!("chunks-{size}"));
        let extra: [&std::ffi::OsStr; 6] = [
            "--gop-size".as_ref(),
            "10".as_ref(),
            "--chunk-size".as_ref(),
            size.as_ref(),
            "--package-cache".as_ref(),
            cache.as_os_str(),
        ];
        let result = render_with(&project, &out, "png-sequence", &extra);
        assert_eq!(result["totalFrames"], 60, "{result}");
        assert_eq!(result["chunkCount"], if size == "60" { 1 } else { 6 }, "{result}");
        digests.push(sha256(&out));
    }
    assert_eq!(digests[0], digests[1], "1 chunk and 6 chunks give different frames");
}
