//! Entry points for the fuzz targets in `fuzz/` (cargo-fuzz), **not** a stable API.
//!
//! Each function feeds arbitrary bytes to one parser the way the product does, through the
//! same files and the same functions, and returns whatever that parser returned. A panic, an
//! abort or a hang is the finding; an `Err` is the expected answer to bad input. Files are
//! written under one scratch directory per process (`$TMPDIR/framefan-fuzz.<pid>`), reused by
//! every call, so the targets need no setup of their own.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::error::Result;
use crate::plan::{Plan, PlanConfig};

/// The per-process scratch directory, created on first use.
fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("framefan-fuzz.{}", std::process::id()));
        // A failure here surfaces as an I/O error of the first write, which the target reports.
        let _ = std::fs::create_dir_all(&dir);
        dir
    })
}

/// A fresh directory `name` under the scratch directory (emptied if it exists).
fn fresh(name: &str) -> PathBuf {
    let dir = scratch().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::create_dir_all(dir.join("meta"));
    dir
}

fn write(path: &Path, bytes: &[u8]) {
    // Best effort: a failed write shows as a missing file, an answer the reader must handle too.
    let _ = std::fs::write(path, bytes);
}

/// `bytes` as `plan.json` beside `chunks` as `meta/chunks.json`, read by [`Plan::load`].
pub fn plan_json(bytes: &[u8], chunks: &[u8]) -> Result<Plan> {
    let dir = fresh("plan-json");
    write(&dir.join(crate::plan::layout::PLAN_JSON), bytes);
    write(&dir.join(crate::plan::layout::CHUNKS_JSON), chunks);
    Plan::load(&dir)
}

/// A valid one-chunk plan.json (`frames` frames of 64×48 mp4 at 30 fps), for targets that need
/// a plan around the input.
pub fn plan_json_text(frames: i64) -> (String, String) {
    let plan = serde_json::json!({
        "protocol": {"schemaVersion": 1, "artifactLayout": "plan-dir-v1", "hashSchema": "framefan-plan-hash-v1"},
        "planHash": "0".repeat(64),
        "dimensions": {"fpsNum": 30, "fpsDen": 1, "width": 64, "height": 48, "format": "mp4"},
        "chunkCount": 1, "totalFrames": frames, "duration": frames as f64 / 30.0, "hasAudio": false,
    });
    let chunks = serde_json::json!([{"index": 0, "startFrame": 0, "endFrame": frames}]);
    (plan.to_string(), chunks.to_string())
}

/// `bytes` as a chunk's `<chunk>.perf.json` sidecar, read as assemble reads it.
pub fn sidecar(bytes: &[u8]) -> Result<Option<crate::assemble::check::Sidecar>> {
    let dir = fresh("sidecar");
    let chunk = dir.join("chunk-000.mp4");
    write(&crate::assemble::check::sidecar_path(&chunk), bytes);
    crate::assemble::check::read_sidecar(&chunk)
}

/// `bytes` as the one chunk (5 frames) of a 64×48 mp4 plan, through assemble's checks (count,
/// sidecar, probe: streams, parameters, first keyframe, indexed frames); a chunk that passes
/// them is assembled too.
pub fn chunk_probe(bytes: &[u8]) -> Result<()> {
    let dir = fresh("chunk");
    let (plan, chunks) = plan_json_text(5);
    write(&dir.join(crate::plan::layout::PLAN_JSON), plan.as_bytes());
    write(&dir.join(crate::plan::layout::CHUNKS_JSON), chunks.as_bytes());
    let chunk = dir.join("chunk-000.mp4");
    write(&chunk, bytes);
    let plan = Plan::load(&dir)?;
    let list = [chunk];
    crate::assemble::check::chunk_list(&plan, &mut crate::assemble::feed::LocalChunks(list.to_vec()))?;
    crate::assemble::check::probe_chunks(&plan, &list)?;
    let out = dir.join("out.mp4");
    crate::assemble::assemble(&dir, &list, None, &out, &crate::assemble::AssembleOptions::default()).map(|_| ())
}

/// `bytes` as a project's `index.html`, compiled as `plan` compiles it (short of measuring a
/// page without `data-duration` in the browser).
pub fn compile_index(bytes: &[u8]) -> Result<()> {
    let dir = fresh("index");
    write(&dir.join("index.html"), bytes);
    compile(&dir)
}

/// `bytes` as a sub-composition (`sub.html`) of a fixed host page, compiled.
pub fn compile_subcomposition(bytes: &[u8]) -> Result<()> {
    let dir = fresh("subcomp");
    let host = r#"<!doctype html><html><body><div data-composition-id="main" data-width="64" data-height="48" data-duration="1"><div id="s" data-composition-id="sub" data-composition-src="sub.html" data-start="0" data-duration="1"></div></div></body></html>"#;
    write(&dir.join("index.html"), host.as_bytes());
    write(&dir.join("sub.html"), bytes);
    compile(&dir)
}

fn compile(dir: &Path) -> Result<()> {
    // Offline: arbitrary markup names arbitrary URLs, and a fuzz run must never reach a network.
    let mut config = PlanConfig::default();
    config.fetch.offline = true;
    let config = config.validate()?;
    let dir = std::fs::canonicalize(dir).map_err(|e| crate::error::Error::io("resolving", dir, e))?;
    crate::plan::compile::compile_page(&dir, &config, &crate::control::Control::default()).map(|_| ())
}

/// `text` through the CSS scanner: scoped to a composition, and its URLs listed.
pub fn css(text: &str) -> (String, Vec<String>) {
    (crate::plan::compile::css::scope(text, "[data-composition-id=\"x\"]"), crate::plan::compile::css::urls(text))
}

/// `expr` as the `data-start` of one clip among a few with ids, resolved as `plan` does.
pub fn data_start(expr: &str) -> Result<String> {
    use kuchikiki::traits::TendrilSink;
    let page = r#"<div data-composition-id="main"><div id="a" data-start="1.5" data-duration="2"></div><div id="b-1" data-start="a + 0.25"></div><div id="c"></div></div>"#;
    let doc = kuchikiki::parse_html().one(page).document_node;
    let target = doc
        .select_first("#c")
        .map_err(|()| crate::error::Error::new(crate::error::Code::CompositionInvalid, "no #c"))?;
    target.attributes.borrow_mut().insert("data-start", expr.to_string());
    crate::plan::compile::timing::resolve(&doc)?;
    let start = target.attributes.borrow().get("data-start").unwrap_or_default().to_string();
    Ok(start)
}
