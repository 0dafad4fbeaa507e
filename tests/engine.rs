//! The engine around HyperFrames' published runtime: the runtime pinned, frozen and re-checked;
//! odd sizes padded; a timeline that never registers; a page that drives itself.

use std::path::{Path, PathBuf};
use std::process::Command;

use framefan::plan::{plan, PlanConfig};
use framefan::render::{render_chunk, ChunkOptions};
use framefan::runtime::{builtin_record, PACKAGE, PLAN_PATH};

use crate::page_plan::{rehash, write_page_plan, PagePlan};
use crate::render::{decode_gray, read_marker};
use crate::util::framefan_bin;

fn sha256_file(path: &Path) -> String {
    use sha2::Digest;
    let bytes = std::fs::read(path).unwrap();
    framefan::digest::hex(&sha2::Sha256::digest(bytes))
}

fn project(dir: &Path, width: u32, height: u32) -> PathBuf {
    let p = dir.join("project");
    std::fs::create_dir_all(&p).unwrap();
    let html = format!(
        r#"<!doctype html><html><head><style>body {{ margin: 0; background: #fff; }}</style></head><body>
<div data-composition-id="main" data-width="{width}" data-height="{height}" data-duration="0.2" data-no-timeline></div>
</body></html>"#
    );
    std::fs::write(p.join("index.html"), html).unwrap();
    p
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn plan_freezes_and_records_the_pinned_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let plan_dir = dir.path().join("plan");
    plan(&project(dir.path(), 320, 240), &PlanConfig::default(), &plan_dir).unwrap();
    let pinned = builtin_record();
    let want = serde_json::json!({"package": PACKAGE, "version": "0.8.170", "sha256": pinned.sha256});
    assert_eq!(json(&plan_dir.join("plan.json"))["runtime"], want);
    assert_eq!(json(&plan_dir.join("meta/encoder.json"))["runtime"], want);
    assert_eq!(sha256_file(&plan_dir.join(PLAN_PATH)), pinned.sha256);
}

#[test]
fn a_package_cache_never_replaces_the_built_in_runtime() {
    // A cache holding another file under the pinned package name (what an older framefan would
    // have loaded, or refused): the plan freezes the built-in runtime all the same.
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let pkg = cache.join("node_modules/hyperframes");
    std::fs::create_dir_all(pkg.join("dist")).unwrap();
    std::fs::write(pkg.join("package.json"), r#"{"name":"hyperframes","version":"0.8.170"}"#).unwrap();
    std::fs::write(pkg.join("dist/hyperframe.runtime.iife.js"), "window.__player = null;").unwrap();
    let plan_dir = dir.path().join("plan");
    let config = PlanConfig { package_cache: Some(cache), ..Default::default() };
    plan(&project(dir.path(), 320, 240), &config, &plan_dir).unwrap();
    assert_eq!(sha256_file(&plan_dir.join(PLAN_PATH)), builtin_record().sha256);
}

#[test]
fn a_runtime_file_is_recorded_and_render_chunk_rechecks_the_frozen_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let pinned = crate::page_plan::pinned_runtime();
    let file = dir.path().join("my-runtime.js");
    std::fs::write(&file, format!("{}\n/* patched locally */\n", pinned.source)).unwrap();
    let plan_dir = dir.path().join("plan");
    let config = PlanConfig { runtime: Some(file.clone()), ..Default::default() };
    plan(&project(dir.path(), 320, 240), &config, &plan_dir).unwrap();
    let record = &json(&plan_dir.join("plan.json"))["runtime"];
    assert_eq!(record["package"], "file");
    assert_eq!(record["version"], "my-runtime.js");
    assert_eq!(record["sha256"], sha256_file(&file));

    // A plan whose frozen runtime changed (and whose hash was made to agree) is refused.
    let page = PagePlan::mp4(&crate::render::marker_page(30), 3, 3);
    let tampered = dir.path().join("tampered");
    write_page_plan(&tampered, &page);
    std::fs::write(tampered.join(PLAN_PATH), "window.__player = null;").unwrap();
    rehash(&tampered, &page);
    let out = dir.path().join("c.mp4");
    let err = render_chunk(&tampered, 0, &out, &ChunkOptions { browsers: Some(1), ..Default::default() }).unwrap_err();
    assert_eq!(err.code(), "RUNTIME_MISMATCH", "{err}");
    assert!(!out.exists());
}

#[test]
fn odd_pages_render_and_mp4_pads_them_to_even_with_black() {
    let dir = tempfile::tempdir().unwrap();
    let project = project(dir.path(), 321, 241);
    let out = dir.path().join("odd.mp4");
    let o = Command::new(framefan_bin())
        .arg("render")
        .arg(&project)
        .arg("-o")
        .arg(&out)
        .args(["--progress", "none", "--quality", "high"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let probe = crate::util::ffprobe(&out);
    assert_eq!((probe["streams"][0]["width"].as_u64(), probe["streams"][0]["height"].as_u64()), (Some(322), Some(242)));
    let frames = decode_gray(&out, 322, 242);
    assert_eq!(frames.len(), 6);
    let at = |x: usize, y: usize| frames[3][y * 322 + x];
    assert!(at(300, 120) > 230 && at(319, 239) > 200, "the page is white: {} {}", at(300, 120), at(319, 239));
    assert!(at(321, 120) < 30 && at(160, 241) < 30, "the padding is black: {} {}", at(321, 120), at(160, 241));

    let frames_dir = dir.path().join("odd-frames");
    let o = Command::new(framefan_bin())
        .arg("render")
        .arg(&project)
        .arg("-o")
        .arg(&frames_dir)
        .args(["--progress", "none", "--format", "png-sequence"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let probe = crate::util::ffprobe(&frames_dir.join("frame_000001.png"));
    assert_eq!((probe["streams"][0]["width"].as_u64(), probe["streams"][0]["height"].as_u64()), (Some(321), Some(241)));
}

#[test]
fn a_timeline_that_never_registers_renders_the_page_as_it_stands_with_a_warning() {
    let html = r#"<!doctype html><html><head><style>body { margin: 0; background: #000; }
#box { position: absolute; left: 100px; top: 100px; width: 40px; height: 40px; background: #fff; }</style></head>
<body><div data-composition-id="main" data-width="320" data-height="240" data-duration="1"><div id="box"></div></div></body></html>"#;
    let dir = tempfile::tempdir().unwrap();
    let plan_dir = dir.path().join("plan");
    write_page_plan(&plan_dir, &PagePlan::mp4(html, 4, 4));
    let out = dir.path().join("c.mp4");
    let options = ChunkOptions {
        browsers: Some(1),
        timeline_grace: Some(std::time::Duration::from_millis(300)),
        ..Default::default()
    };
    let result = render_chunk(&plan_dir, 0, &out, &options).unwrap();
    assert!(
        result.warnings.iter().any(|w| w.contains("no timeline registered for composition main")),
        "{:?}",
        result.warnings
    );
    let frames = decode_gray(&out, 320, 240);
    assert_eq!(frames.len(), 4);
    assert!(frames.iter().all(|f| f[120 * 320 + 120] > 200 && f[20 * 320 + 20] < 30), "the page as it stands");
}

#[test]
fn a_page_without_a_root_drives_itself_through_window_hf() {
    let html = r#"<!doctype html><html><head><style>body { margin: 0; background: #000; }
.bit { position: absolute; top: 40px; width: 20px; height: 20px; background: #fff; }</style></head><body>
<script>
const bits = [];
for (let i = 0; i < 12; i++) {
  const b = document.createElement('div'); b.className = 'bit'; b.style.left = (10 + i * 25) + 'px';
  document.body.appendChild(b); bits.push(b);
}
window.__hf = { duration: 1, seek(t) { const f = Math.round(t * 30); bits.forEach((b, i) => b.style.opacity = (f >> i) & 1 ? '1' : '0'); } };
</script></body></html>"#;
    let dir = tempfile::tempdir().unwrap();
    let plan_dir = dir.path().join("plan");
    let mut p = PagePlan::mp4(html, 12, 6);
    p.runtime = false;
    write_page_plan(&plan_dir, &p);
    assert!(!plan_dir.join(PLAN_PATH).exists());
    let out = dir.path().join("c.mp4");
    render_chunk(&plan_dir, 1, &out, &ChunkOptions { browsers: Some(1), ..Default::default() }).unwrap();
    let marks: Vec<i64> = decode_gray(&out, 320, 240).iter().map(|f| read_marker(f, 320)).collect();
    assert_eq!(marks, (6..12).collect::<Vec<_>>());
}
