//! `plan` on generated projects (contracts §2-4, composition.md): the layout it writes, its
//! reproducibility, the size cap, every bad project with its code and no directory left behind,
//! what compile does to the page, and the CLI.

use std::path::{Path, PathBuf};
use std::process::Command;

use framefan::plan::chunking;
use framefan::plan::compile;
use framefan::plan::config::{parse_fps, ChunkingConfig, PlanConfig};
use framefan::plan::fetch::FetchOptions;
use framefan::plan::hash::{plan_hash, HashInputs};
use framefan::plan::manifest::HashSchema;
use framefan::plan::model::MediaKind;
use framefan::plan::{plan, Plan};
use framefan::time::Rational;
use tempfile::TempDir;

use crate::util::framefan_bin;

/// A root composition page with `attrs` on the root and `body` inside it, whose root registers a
/// minimal timeline unless the body did (plan's browser probe waits for one otherwise).
fn page(attrs: &str, body: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=utf-8><style>body {{ margin: 0 }}</style></head><body>\n\
         <div id=\"stage\" data-composition-id=\"main\" {attrs}>\n{body}\n</div>\n\
         <script>window.__timelines = window.__timelines || {{}};\n{MINIMAL_TIMELINE}</script>\n</body></html>\n"
    )
}

/// HyperFrames' runtime binds any object with this shape as a root timeline; a root with
/// data-no-timeline registers none.
const MINIMAL_TIMELINE: &str = "if (!document.getElementById('stage').hasAttribute('data-no-timeline')) \
    window.__timelines.main = window.__timelines.main || { duration() { return 0; }, \
    totalDuration() { return 0; }, time() { return 0; }, totalTime() { return this; }, pause() { return this; }, \
    paused() { return true; } };";

const ROOT: &str = "data-width=\"320\" data-height=\"240\" data-duration=\"2\"";

/// A project in a temporary directory: `files` are (relative path, content).
fn project(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (rel, content) in files {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    dir
}

/// A 1×1 GIF whose bytes are all ASCII (it fits a `&str`); the browser sniffs it whatever its
/// name, and plan's probe refuses an `<img>` that does not load.
const TINY_IMAGE: &str = "GIF89a\x01\x00\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";

fn simple_project() -> TempDir {
    project(&[
        ("index.html", &page(ROOT, "<div id=intro data-start=0 data-duration=1>hi</div><img src=\"assets/a.png\">")),
        ("assets/a.png", TINY_IMAGE),
    ])
}

/// A config that fetches nothing and fails on any remote resource (so no test reaches the internet).
fn offline_strict() -> PlanConfig {
    let fetch = FetchOptions { offline: true, strict: true, ..FetchOptions::default() };
    PlanConfig { fetch, ..PlanConfig::default() }
}

/// Plan `proj` into `<out>/plan` with `config`.
fn plan_into(proj: &Path, out: &Path, config: &PlanConfig) -> framefan::Result<framefan::PlanResult> {
    plan(proj, config, &out.join("plan"))
}

/// Assert that planning failed with `code` and left nothing in `out` (no plan, no staging).
fn assert_fails_cleanly(proj: &Path, config: &PlanConfig, code: &str) -> String {
    let out = tempfile::tempdir().unwrap();
    let err = plan_into(proj, out.path(), config).expect_err("plan should fail");
    assert_eq!(err.code(), code, "{err}");
    let left: Vec<_> = std::fs::read_dir(out.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "a failed plan left {left:?}");
    err.message().to_string()
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

fn compiled_page(plan_dir: &Path) -> String {
    String::from_utf8(read(&plan_dir.join("compiled/index.html"))).unwrap()
}

#[test]
fn plan_writes_the_layout_that_manifest_reads() {
    let proj = simple_project();
    let out = tempfile::tempdir().unwrap();
    let result = plan_into(proj.path(), out.path(), &PlanConfig::default()).unwrap();
    // 2 s at 30 fps is one two-second GOP, so one chunk.
    assert_eq!((result.total_frames, result.chunk_count, result.width, result.height), (60, 1, 320, 240));
    assert_eq!((result.fps.num, result.fps.den, result.has_audio), (30, 1, false));
    let dir = out.path().join("plan");
    let loaded = Plan::load(&dir).unwrap();
    assert_eq!(loaded.plan_hash, result.plan_hash);
    assert_eq!(loaded.total_frames, 60);
    assert_eq!(loaded.chunks.len(), 1);
    let composition: serde_json::Value = serde_json::from_slice(&read(&dir.join("meta/composition.json"))).unwrap();
    assert_eq!(composition["imageCount"], 1);
    assert_eq!(composition["durationSeconds"], 2.0);
    let encoder = read(&dir.join("meta/encoder.json"));
    assert!(!encoder.ends_with(b"\n") && !encoder.contains(&b' '), "encoder.json is not canonical");
    let parsed: framefan::plan::model::EncoderConfig = serde_json::from_slice(&encoder).unwrap();
    assert_eq!((parsed.crf, parsed.gop_size, parsed.chunk_size, parsed.chunk_count), (Some(16), 60, 60, 1));
    // The default is `hyperframes render`'s (`looks`): the standard tier at CRF 16, with its x264
    // tuning locked into the plan.
    assert_eq!((parsed.quality.as_str(), parsed.preset.as_str()), ("standard", "medium"));
    assert_eq!(parsed.x264_params, "aq-mode=3:aq-strength=0.8:deblock=1,1");
    let videos: serde_json::Value = serde_json::from_slice(&read(&dir.join("meta/videos.json"))).unwrap();
    assert_eq!(videos, serde_json::json!({"videos": [], "extracted": []}));
    assert!(dir.join("compiled/assets/a.png").is_file());
    assert_eq!(result.size_bytes, dir_size(&dir));
    let siblings: Vec<_> = std::fs::read_dir(out.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(siblings, vec![std::ffi::OsString::from("plan")], "staging left behind");
}

fn dir_size(dir: &Path) -> u64 {
    framefan::plan::hash::regular_files(dir)
        .unwrap()
        .iter()
        .map(|r| std::fs::metadata(dir.join(r)).unwrap().len())
        .sum()
}

// ---- chunking ----------------------------------------------------------------------------

#[test]
fn chunking_contract_examples() {
    let split = |total, size, max, target| {
        let c =
            ChunkingConfig { chunk_size: size, gop_size: None, max_parallel_chunks: max, target_chunk_frames: target };
        let c = chunking::split(total, &c, 1).unwrap();
        (c.size, c.chunks.len(), c.chunks.last().unwrap().end_frame)
    };
    assert_eq!(split(660, None, 16, None), (42, 16, 660));
    assert_eq!(split(121, Some(10), 12, None), (11, 11, 121));
    assert_eq!(split(50, None, 16, None), (10, 5, 50));
    assert_eq!(split(216_000, None, 64, Some(1600)).1, 64);
}

#[test]
fn chunking_sweep_is_contiguous_non_empty_and_capped() {
    // A seeded pseudo-random sweep (xorshift) over totals, sizes, targets and caps.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |m: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % m
    };
    for _ in 0..20_000 {
        let big = next(4) == 0;
        let total = 1 + next(if big { 3_000_000 } else { 5000 }) as i64;
        let size = (next(3) == 0).then(|| 1 + next(3600) as u32);
        let target = (next(3) == 0).then(|| 1 + next(3600) as u32);
        let max = 1 + next(256) as u32;
        let gop = [1, 1 + next(120) as u32, 60][next(3) as usize];
        let c =
            ChunkingConfig { chunk_size: size, gop_size: None, max_parallel_chunks: max, target_chunk_frames: target };
        let got = chunking::split(total, &c, gop).unwrap();
        assert!(!got.chunks.is_empty() && got.chunks.len() <= max as usize);
        let mut at = 0;
        for (i, ch) in got.chunks.iter().enumerate() {
            assert_eq!((ch.index as usize, ch.start_frame), (i, at), "{total} {c:?}");
            assert_eq!(ch.start_frame % i64::from(gop), 0, "{total} {c:?} gop {gop}");
            assert!(ch.end_frame > ch.start_frame);
            at = ch.end_frame;
        }
        assert_eq!(at, total, "{total} {c:?}");
    }
}

#[test]
fn plan_chunks_660_frames_into_16() {
    let proj = project(&[("index.html", &page("data-width=\"64\" data-height=\"64\" data-duration=\"22\"", ""))]);
    let out = tempfile::tempdir().unwrap();
    // One-frame GOPs: upstream's rule, 16 chunks of 42.
    let config = PlanConfig { gop_size: Some(1), ..Default::default() };
    let result = plan_into(proj.path(), out.path(), &config).unwrap();
    assert_eq!((result.total_frames, result.chunk_count), (660, 16));
    let chunks: Vec<framefan::plan::ChunkSpec> =
        serde_json::from_slice(&read(&out.path().join("plan/meta/chunks.json"))).unwrap();
    assert_eq!(chunks[15].start_frame, 630);
    assert_eq!(chunks[15].end_frame, 660);
    // The default two-second GOPs: 42 rounds up to 60, so 11 chunks.
    let out = tempfile::tempdir().unwrap();
    let result = plan_into(proj.path(), out.path(), &PlanConfig::default()).unwrap();
    assert_eq!((result.total_frames, result.chunk_count), (660, 11));
    let chunks: Vec<framefan::plan::ChunkSpec> =
        serde_json::from_slice(&read(&out.path().join("plan/meta/chunks.json"))).unwrap();
    assert_eq!((chunks[10].start_frame, chunks[10].end_frame), (600, 660));
}

// ---- reproducibility ---------------------------------------------------------------------

#[test]
fn the_same_project_plans_to_the_same_hash() {
    let proj = simple_project();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let config = PlanConfig { variables: serde_json::json!({"title": "x", "n": 1.5}), ..Default::default() };
    let ra = plan_into(proj.path(), a.path(), &config).unwrap();
    let rb = plan_into(proj.path(), b.path(), &config).unwrap();
    assert_eq!(ra.plan_hash, rb.plan_hash);
    let enc = |d: &TempDir| read(&d.path().join("plan/meta/encoder.json"));
    assert_eq!(enc(&a), enc(&b));
    assert_eq!(compiled_page(&a.path().join("plan")), compiled_page(&b.path().join("plan")));
    assert_eq!(recomputed_hash(&a.path().join("plan")), ra.plan_hash);

    // One asset byte, a variable or the fps each change the hash.
    let changed = |config: &PlanConfig, edit: &dyn Fn(&Path)| {
        let p = simple_project();
        edit(p.path());
        let out = tempfile::tempdir().unwrap();
        plan_into(p.path(), out.path(), config).unwrap().plan_hash
    };
    assert_eq!(changed(&config, &|_| {}), ra.plan_hash);
    assert_ne!(
        changed(&config, &|p| std::fs::write(p.join("assets/a.png"), TINY_IMAGE.replacen("\x01", "\x02", 1)).unwrap()),
        ra.plan_hash
    );
    let other_vars = PlanConfig { variables: serde_json::json!({"title": "y", "n": 1.5}), ..config.clone() };
    assert_ne!(changed(&other_vars, &|_| {}), ra.plan_hash);
    let other_fps = PlanConfig { fps: Some(parse_fps("25").unwrap()), ..config.clone() };
    assert_ne!(changed(&other_fps, &|_| {}), ra.plan_hash);
}

/// The planHash recomputed from the directory alone, with the inputs plan.json records.
fn recomputed_hash(dir: &Path) -> String {
    let loaded = Plan::load(dir).unwrap();
    let inputs = HashInputs {
        schema: HashSchema::Framefan,
        font_snapshot_sha: loaded.font_snapshot_sha.as_deref().unwrap(),
        producer_version: loaded.producer_version.as_deref().unwrap(),
        ffmpeg_version: loaded.ffmpeg_version.as_deref().unwrap(),
        dimensions: loaded.dimensions,
    };
    plan_hash(dir, &inputs).unwrap()
}

#[test]
fn planning_again_replaces_a_previous_plan() {
    let proj = simple_project();
    let out = tempfile::tempdir().unwrap();
    let first = plan_into(proj.path(), out.path(), &PlanConfig::default()).unwrap();
    std::fs::write(proj.path().join("assets/b.png"), "new").unwrap();
    let second = plan_into(proj.path(), out.path(), &PlanConfig::default()).unwrap();
    assert_ne!(first.plan_hash, second.plan_hash);
    assert!(out.path().join("plan/compiled/assets/b.png").is_file());
    assert_eq!(recomputed_hash(&out.path().join("plan")), second.plan_hash);
}

/// A thread that cancels `control` once `out` holds `entries` entries (the plan has staged its
/// directory there), `after` later.
fn cancel_once_staged(
    control: &framefan::Control,
    out: &Path,
    entries: usize,
    after: std::time::Duration,
) -> std::thread::JoinHandle<()> {
    let (control, out) = (control.clone(), out.to_path_buf());
    std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::fs::read_dir(&out).unwrap().count() < entries {
            assert!(std::time::Instant::now() < deadline, "the plan never staged its directory");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        std::thread::sleep(after);
        control.cancel();
    })
}

#[test]
fn a_cancelled_plan_is_cancelled_and_leaves_the_previous_plan() {
    let proj = simple_project();
    let out = tempfile::tempdir().unwrap();
    let first = plan_into(proj.path(), out.path(), &offline_strict()).unwrap();
    std::fs::write(proj.path().join("assets/b.png"), "new").unwrap();
    // Cancelled before it starts: nothing is compiled.
    let control = framefan::Control::new();
    control.cancel();
    let err =
        framefan::plan::plan_with(proj.path(), &offline_strict(), &out.path().join("plan"), &control).unwrap_err();
    assert_eq!(err.code(), "CANCELLED", "{err}");
    // Cancelled from another thread while it runs: once its staging directory exists beside
    // the previous plan (it then still has its browser probe ahead), it stops at its next step,
    // the staging directory removed.
    let control = framefan::Control::new();
    let canceller = cancel_once_staged(&control, out.path(), 2, std::time::Duration::ZERO);
    let err =
        framefan::plan::plan_with(proj.path(), &offline_strict(), &out.path().join("plan"), &control).unwrap_err();
    canceller.join().unwrap();
    assert_eq!(err.code(), "CANCELLED", "{err}");
    let left: Vec<_> = std::fs::read_dir(out.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, vec![std::ffi::OsString::from("plan")], "a cancelled plan left staging behind");
    assert_eq!(recomputed_hash(&out.path().join("plan")), first.plan_hash, "the previous plan was touched");
}

#[test]
fn a_plan_cancelled_while_its_probe_loads_the_page_stops_there() {
    // The page never becomes ready: its script holds the main thread (the probe would end it
    // as hung after its busy limit, with that page error). A cancel that arrives while the
    // browser starts or the page loads ends the probe there, with CANCELLED, its browser ended.
    let busy = page(ROOT, "<div id=intro data-start=0 data-duration=1>hi</div><script>for (;;) {}</script>");
    let proj = project(&[("index.html", &busy)]);
    let out = tempfile::tempdir().unwrap();
    let control = framefan::Control::new();
    // A second after staging: past the plan's last look before the probe (the staged copy takes
    // milliseconds), well inside the probe's wait on the busy page.
    let canceller = cancel_once_staged(&control, out.path(), 1, std::time::Duration::from_secs(1));
    let err =
        framefan::plan::plan_with(proj.path(), &offline_strict(), &out.path().join("plan"), &control).unwrap_err();
    canceller.join().unwrap();
    assert_eq!(err.code(), "CANCELLED", "{err}");
    let left: Vec<_> = std::fs::read_dir(out.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "a cancelled plan left {left:?}");
}

// ---- refusals ----------------------------------------------------------------------------

#[test]
fn a_tiny_size_limit_is_plan_too_large_with_sizes() {
    let proj = simple_project();
    let config = PlanConfig { plan_dir_size_limit_bytes: 100, ..Default::default() };
    let message = assert_fails_cleanly(proj.path(), &config, "PLAN_TOO_LARGE");
    assert!(message.contains("limitBytes 100") && message.contains("sizeBytes"), "{message}");
    assert!(message.contains("compiled") && message.contains("video-frames") && message.contains("meta"), "{message}");
    // A limit the frozen project fits but the metadata does not is caught after writing meta.
    let out = tempfile::tempdir().unwrap();
    plan_into(proj.path(), out.path(), &PlanConfig::default()).unwrap();
    let compiled = dir_size(&out.path().join("plan/compiled"));
    let config = PlanConfig { plan_dir_size_limit_bytes: compiled + 10, ..Default::default() };
    let message = assert_fails_cleanly(proj.path(), &config, "PLAN_TOO_LARGE");
    assert!(message.contains(&format!("compiled {compiled} bytes")), "{message}");
}

#[test]
fn hdr_gpu_and_bad_options_create_nothing() {
    let proj = simple_project();
    assert_fails_cleanly(
        proj.path(),
        &PlanConfig { hdr: true, ..Default::default() },
        "FORMAT_NOT_SUPPORTED_IN_DISTRIBUTED",
    );
    assert_fails_cleanly(proj.path(), &PlanConfig { gpu: true, ..Default::default() }, "BROWSER_GPU_NOT_SOFTWARE");
    let both = PlanConfig { crf: Some(20), bitrate: Some(1_000_000), ..Default::default() };
    assert_fails_cleanly(proj.path(), &both, "INVALID_CONFIG");
    // Odd sizes render (padded to even for mp4, as HyperFrames does): tests/engine.rs.
    let huge = project(&[("index.html", &page("data-width=\"8000\" data-height=\"240\" data-duration=\"1\"", ""))]);
    assert_fails_cleanly(huge.path(), &PlanConfig::default(), "INVALID_CONFIG");
}

#[test]
fn a_plan_dir_that_is_not_a_plan_is_not_replaced() {
    let proj = simple_project();
    let out = tempfile::tempdir().unwrap();
    std::fs::create_dir(out.path().join("plan")).unwrap();
    std::fs::write(out.path().join("plan/precious.txt"), "keep").unwrap();
    let err = plan_into(proj.path(), out.path(), &PlanConfig::default()).unwrap_err();
    assert_eq!(err.code(), "INVALID_CONFIG");
    assert!(out.path().join("plan/precious.txt").is_file());
    let err = plan(proj.path(), &PlanConfig::default(), proj.path()).unwrap_err();
    assert_eq!(err.code(), "INVALID_CONFIG");
    assert!(proj.path().join("index.html").is_file());
}

/// Each bad project fails with its code, and no plan directory appears.
#[test]
fn bad_projects_fail_with_their_code() {
    let d = offline_strict();
    let p = |body: &str| page(ROOT, body);
    let cases: Vec<(&str, TempDir, &str)> = vec![
        ("no index.html", project(&[("other.html", "x")]), "COMPOSITION_INVALID"),
        ("no root", project(&[("index.html", "<html><body><div>hi</div></body></html>")]), "COMPOSITION_INVALID"),
        (
            "no width",
            project(&[("index.html", &page("data-height=\"240\" data-duration=\"1\"", ""))]),
            "COMPOSITION_INVALID",
        ),
        (
            "no height",
            project(&[("index.html", &page("data-width=\"320\" data-duration=\"1\"", ""))]),
            "COMPOSITION_INVALID",
        ),
        (
            "zero duration",
            project(&[("index.html", &page("data-width=\"320\" data-height=\"240\" data-duration=\"0\"", ""))]),
            "DISTRIBUTED_DURATION_OUT_OF_RANGE",
        ),
        (
            "negative duration",
            project(&[("index.html", &page("data-width=\"320\" data-height=\"240\" data-duration=\"-3\"", ""))]),
            "DISTRIBUTED_DURATION_OUT_OF_RANGE",
        ),
        (
            "infinite duration",
            project(&[("index.html", &page("data-width=\"320\" data-height=\"240\" data-duration=\"Infinity\"", ""))]),
            "DISTRIBUTED_DURATION_OUT_OF_RANGE",
        ),
        (
            "over 24 h",
            project(&[("index.html", &page("data-width=\"320\" data-height=\"240\" data-duration=\"86400.01\"", ""))]),
            "DISTRIBUTED_DURATION_OUT_OF_RANGE",
        ),
        (
            "reference cycle",
            project(&[(
                "index.html",
                &p("<div id=a data-start='b' data-duration=1></div><div id=b data-start='a' data-duration=1></div>"),
            )]),
            "COMPOSITION_INVALID",
        ),
        (
            "unknown reference",
            project(&[("index.html", &p("<div id=a data-start='ghost + 1'></div>"))]),
            "COMPOSITION_INVALID",
        ),
        ("../ asset", project(&[("index.html", &p("<img src=\"../secret.png\">"))]), "UNSAFE_PROJECT_PATH"),
        ("absolute asset", project(&[("index.html", &p("<img src=\"/etc/hosts\">"))]), "UNSAFE_PROJECT_PATH"),
        (
            "missing sub-composition",
            project(&[(
                "index.html",
                &p("<div data-composition-id=x data-composition-src=\"compositions/x.html\"></div>"),
            )]),
            "SUB_COMPOSITION_MISSING",
        ),
        (
            "unresolvable CDN script",
            project(&[(
                "index.html",
                &p("<script src=\"https://cdn.jsdelivr.net/npm/gsap@3.12.5/dist/gsap.min.js\"></script>"),
            )]),
            "EXTERNAL_RESOURCE_UNAVAILABLE",
        ),
        (
            "external image",
            project(&[("index.html", &p("<img src=\"https://example.com/a.png\">"))]),
            "EXTERNAL_RESOURCE_UNAVAILABLE",
        ),
        (
            "external stylesheet",
            project(&[("index.html", &p("<link rel=stylesheet href=\"https://fonts.example/css\">"))]),
            "EXTERNAL_RESOURCE_UNAVAILABLE",
        ),
        (
            "external font in a style",
            project(&[(
                "index.html",
                &p("<style>@font-face { font-family: F; src: url(https://f.example/f.woff2) }</style>"),
            )]),
            "EXTERNAL_RESOURCE_UNAVAILABLE",
        ),
    ];
    for (what, proj, code) in cases {
        let message = assert_fails_cleanly(proj.path(), &d, code);
        assert!(!message.is_empty(), "{what}");
    }
}

#[test]
fn messages_name_what_is_at_fault() {
    let d = offline_strict();
    // Without data-duration the page is measured in the browser; an empty one lasts 0 s.
    let attrs = "data-width=\"320\" data-height=\"240\" data-no-timeline";
    let no_duration = project(&[("index.html", &page(attrs, ""))]);
    let m = assert_fails_cleanly(no_duration.path(), &d, "DISTRIBUTED_DURATION_OUT_OF_RANGE");
    assert!(m.contains("root main has no data-duration") && m.contains("window.__hf.duration"), "{m}");
    let cycle = project(&[(
        "index.html",
        &page(
            ROOT,
            "<div id=a data-start='b' data-duration=1></div><div id=b data-start='a + 1' data-duration=1></div>",
        ),
    )]);
    let m = assert_fails_cleanly(cycle.path(), &d, "COMPOSITION_INVALID");
    assert!(m.contains("id=\"a\"") && m.contains("cycle"), "{m}");
    let cdn =
        project(&[("index.html", &page(ROOT, "<script src=\"https://unpkg.com/gsap@3/dist/gsap.js\"></script>"))]);
    let m = assert_fails_cleanly(cdn.path(), &d, "EXTERNAL_RESOURCE_UNAVAILABLE");
    assert!(m.contains("https://unpkg.com/gsap@3/dist/gsap.js"), "{m}");
    let sub =
        project(&[("index.html", &page(ROOT, "<div data-composition-id=x data-composition-src=\"c/x.html\"></div>"))]);
    let m = assert_fails_cleanly(sub.path(), &d, "SUB_COMPOSITION_MISSING");
    assert!(m.contains("c/x.html"), "{m}");
}

#[cfg(unix)]
#[test]
fn symlinks_are_followed_and_their_content_frozen() {
    // A file or folder linked from beside the project is frozen into the plan (as HyperFrames
    // follows it), named in a warning.
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "shared").unwrap();
    let linked = simple_project();
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), linked.path().join("assets/link.txt")).unwrap();
    std::os::unix::fs::symlink(outside.path(), linked.path().join("shared")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let result = plan_into(linked.path(), out.path(), &PlanConfig::default()).unwrap();
    assert!(
        result.warnings.iter().any(|w| w.contains("assets/link.txt") && w.contains("outside the project")),
        "{:?}",
        result.warnings
    );
    assert_eq!(read(&out.path().join("plan/compiled/assets/link.txt")), b"shared");
    assert_eq!(read(&out.path().join("plan/compiled/shared/secret.txt")), b"shared");

    let inside = simple_project();
    std::os::unix::fs::symlink("a.png", inside.path().join("assets/alias.png")).unwrap();
    std::os::unix::fs::symlink("assets", inside.path().join("more")).unwrap();
    let out = tempfile::tempdir().unwrap();
    plan_into(inside.path(), out.path(), &PlanConfig::default()).unwrap();
    let alias = out.path().join("plan/compiled/assets/alias.png");
    assert!(std::fs::symlink_metadata(&alias).unwrap().file_type().is_file());
    assert_eq!(read(&alias), TINY_IMAGE.as_bytes());
    assert!(std::fs::symlink_metadata(out.path().join("plan/compiled/more")).unwrap().is_dir());
}

// ---- what compile does to the page --------------------------------------------------------

#[test]
fn references_resolve_to_plain_decimals() {
    let proj = project(&[(
        "index.html",
        &page(
            ROOT,
            "<div id=intro data-start=0.25 data-duration=1.5>a</div><div id=next data-start=\"intro + 1\">b</div>",
        ),
    )]);
    let out = tempfile::tempdir().unwrap();
    plan_into(proj.path(), out.path(), &PlanConfig::default()).unwrap();
    let html = compiled_page(&out.path().join("plan"));
    assert!(html.contains("<div id=\"next\" data-start=\"2.75\" data-start-expr=\"intro + 1\">"), "{html}");
    assert!(html.contains("<div id=\"intro\" data-start=\"0.25\" data-duration=\"1.5\">"), "{html}");
}

#[test]
fn sub_compositions_are_inlined_with_scoped_css_and_scripts_last() {
    let sub = "<template id=\"x-template\"><div data-composition-id=\"x\" data-duration=\"1\">\
               <style>.title { color: red } @keyframes k { from { opacity: 0 } } @media print { p { x: y } }</style>\
               <script>window.__timelines['x'] = 1;</script><h1 class=\"title\">Sub</h1></div></template>";
    let full_doc = "<!doctype html><html><head><style>b { c: d }</style></head><body><p id=y-p>Y</p>\
                    <script>window.y = 1</script></body></html>";
    let proj = project(&[
        (
            "index.html",
            &page(
                ROOT,
                "<div id=host data-composition-id=\"x\" data-composition-src=\"compositions/x.html\" data-start=\"0.5\"></div>\
                 <div id=y data-composition-id=\"y\" data-composition-src=\"compositions/y.html\" data-start=\"host\"></div>",
            ),
        ),
        ("compositions/x.html", sub),
        ("compositions/y.html", full_doc),
    ]);
    let out = tempfile::tempdir().unwrap();
    plan_into(proj.path(), out.path(), &PlanConfig::default()).unwrap();
    let html = compiled_page(&out.path().join("plan"));
    assert!(!html.contains("data-composition-src="), "{html}");
    assert!(html.contains("data-framefan-inlined-src=\"compositions/x.html\""), "{html}");
    assert!(html.contains("[data-composition-id=\"x\"] .title { color: red }"), "{html}");
    assert!(html.contains("@keyframes k { from { opacity: 0 } }"), "{html}");
    assert!(html.contains("@media print { [data-composition-id=\"x\"] p { x: y } }"), "{html}");
    assert!(html.contains("[data-composition-id=\"y\"] b { c: d }"), "{html}");
    let (title, script) = (html.find("<h1 class=\"title\">").unwrap(), html.find("window.__timelines['x']").unwrap());
    assert!(title < script, "the sub-composition's script must follow its content: {html}");
    assert!(html.find("<p id=\"y-p\">").unwrap() < html.find("window.y = 1").unwrap());
    // The host's duration comes from the mounted composition: y starts at 0.5 + 1.
    assert!(html.contains("<div id=\"y\" data-composition-id=\"y\" data-start=\"1.5\""), "{html}");
    assert!(html.contains("data-start-expr=\"host\""), "{html}");
}

#[test]
fn a_sub_composition_that_includes_itself_is_invalid() {
    let proj = project(&[
        ("index.html", &page(ROOT, "<div data-composition-id=a data-composition-src=\"a.html\"></div>")),
        ("a.html", "<template><div data-composition-id=a><div data-composition-id=b data-composition-src=\"a.html\"></div></div></template>"),
    ]);
    let m = assert_fails_cleanly(proj.path(), &PlanConfig::default(), "COMPOSITION_INVALID");
    assert!(m.contains("includes itself"), "{m}");
}

/// A fake npm package `name@version` with one file, under `dir`.
fn fake_package(dir: &Path, name: &str, version: &str, file: &str, code: &str) {
    let pkg = dir.join(name);
    std::fs::create_dir_all(pkg.join(file).parent().unwrap()).unwrap();
    std::fs::write(
        pkg.join("package.json"),
        format!("{{\"name\":\"{name}\",\"version\":\"{version}\",\"main\":\"{file}\"}}"),
    )
    .unwrap();
    std::fs::write(pkg.join(file), code).unwrap();
}

#[test]
fn cdn_scripts_are_inlined_from_the_package_cache() {
    let cache = tempfile::tempdir().unwrap();
    fake_package(cache.path(), "gsap", "3.12.5", "dist/gsap.min.js", "var gsap = {v: '</script>'};");
    let body = "<script src=\"https://cdn.jsdelivr.net/npm/gsap@3.12.5/dist/gsap.min.js\" integrity=\"sha-x\" crossorigin></script>\
                <script src=\"https://cdnjs.cloudflare.com/ajax/libs/gsap/3.12.5/gsap.min.js\"></script>\
                <script src=\"https://unpkg.com/gsap@3\"></script>";
    let proj = project(&[("index.html", &page(ROOT, body))]);
    let config = PlanConfig { package_cache: Some(cache.path().to_path_buf()), ..offline_strict() };
    let out = tempfile::tempdir().unwrap();
    plan_into(proj.path(), out.path(), &config).unwrap();
    let html = compiled_page(&out.path().join("plan"));
    assert_eq!(html.matches("var gsap = {v: '<\\/script>'};").count(), 3, "{html}");
    assert!(!html.contains("src=\"https://"), "{html}");
    assert!(!html.contains("integrity"), "{html}");
    assert!(html.contains("data-framefan-inlined-from=\"https://cdn.jsdelivr.net/npm/gsap@3.12.5/dist/gsap.min.js\""));

    // Another version is not substituted.
    let wrong = project(&[(
        "index.html",
        &page(ROOT, "<script src=\"https://cdn.jsdelivr.net/npm/gsap@3.11.0/dist/gsap.min.js\"></script>"),
    )]);
    let m = assert_fails_cleanly(wrong.path(), &config, "EXTERNAL_RESOURCE_UNAVAILABLE");
    assert!(m.contains("3.12.5") && m.contains("gsap@3.11.0"), "{m}");
}

#[test]
fn the_projects_own_node_modules_serve_cdn_and_local_scripts() {
    let proj = project(&[(
        "index.html",
        &page(
            ROOT,
            "<script src=\"https://unpkg.com/@scope/anim@1.2.3/lib/anim.js\"></script>\
             <script src=\"node_modules/@scope/anim/lib/anim.js\"></script>",
        ),
    )]);
    fake_package(&proj.path().join("node_modules"), "@scope/anim", "1.2.3", "lib/anim.js", "window.anim = 1;");
    let out = tempfile::tempdir().unwrap();
    let result = plan_into(proj.path(), out.path(), &PlanConfig::default()).unwrap();
    let html = compiled_page(&out.path().join("plan"));
    assert_eq!(html.matches("window.anim = 1;").count(), 2, "{html}");
    assert!(!out.path().join("plan/compiled/node_modules").exists());
    assert!(result.warnings.is_empty(), "{:?}", result.warnings);
}

#[test]
fn the_skip_list_and_an_inner_plan_dir_are_not_frozen() {
    let proj = simple_project();
    for rel in [
        "node_modules/x/a.js",
        ".git/HEAD",
        ".cache/c",
        "output/o.mp4",
        "dist/d.js",
        ".next/n",
        ".turbo/t",
        "sub/node_modules/kept.js",
        "sub/dist/kept.js",
    ] {
        let path = proj.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "x").unwrap();
    }
    let inner = proj.path().join("plans/p1");
    std::fs::create_dir_all(inner.parent().unwrap()).unwrap();
    plan(proj.path(), &PlanConfig::default(), &inner).unwrap();
    let again = plan(proj.path(), &PlanConfig::default(), &inner).unwrap();
    let files = framefan::plan::hash::regular_files(&inner.join("compiled")).unwrap();
    // `.framefan/` is the frozen HyperFrames runtime, not a project file.
    let want = [".framefan/hyperframe.runtime.iife.js", "assets/a.png", "index.html", "sub/dist/kept.js"];
    assert_eq!(files, [want.as_slice(), &["sub/node_modules/kept.js"]].concat());
    assert_eq!(recomputed_hash(&inner), again.plan_hash);
}

#[test]
fn media_clips_land_on_the_root_timeline() {
    let body = "<audio id=music src=\"assets/m.wav\" data-start=\"1\" data-volume=\"0.5\" loop></audio>\
                <audio src=\"assets/anon.wav\"></audio>\
                <audio id=quiet src=\"assets/q.wav\" muted></audio>\
                <div data-composition-id=\"scene\" data-start=\"2.5\">\
                  <video id=clip src=\"assets/v.mp4\" data-start=\"0.5\" data-duration=\"3\" data-media-start=\"1.25\" \
                         data-has-audio=\"true\" muted></video>\
                  <div data-hidden><audio id=hidden src=\"assets/h.wav\"></audio></div>\
                </div>";
    let proj = project(&[("index.html", &page("data-width=\"320\" data-height=\"240\" data-duration=\"10\"", body))]);
    let valid = PlanConfig::default().validate().unwrap();
    let root = std::fs::canonicalize(proj.path()).unwrap();
    let c = compile::compile(&root, &valid).unwrap();
    assert_eq!((c.audio_count, c.video_count, c.image_count), (4, 1, 0));
    let by_id = |id: &str| c.media.iter().find(|m| m.id == id).unwrap().clone();
    let music = by_id("music");
    assert_eq!(
        (music.kind, music.start, music.volume, music.looped, music.audible),
        (MediaKind::Audio, Rational::int(1), 0.5, true, true)
    );
    assert_eq!(music.src, root.join("assets/m.wav"));
    let clip = by_id("clip");
    assert_eq!(clip.kind, MediaKind::Video);
    assert_eq!(clip.start, Rational::int(3));
    assert_eq!((clip.duration, clip.media_start), (Some(Rational::int(3)), Rational::new(5, 4).unwrap()));
    assert!(clip.audible);
    assert!(!by_id("quiet").audible);
    assert!(!by_id("hidden").audible);
    assert_eq!(c.media.len(), 4, "the audio without an id is silent and not a clip");

    // The sources do not exist: the media step names the first clip it cannot decode and the plan
    // leaves nothing behind.
    let out = tempfile::tempdir().unwrap();
    let err = plan_into(proj.path(), out.path(), &PlanConfig::default()).map(|_| ()).unwrap_err();
    assert_eq!(err.code(), "AUDIO_INVALID");
    assert!(err.message().contains("music"), "{}", err.message());
    assert!(!out.path().join("plan").exists());
}

#[test]
fn a_root_without_duration_is_measured_in_the_browser() {
    // The duration is HyperFrames' runtime's: its root timeline's (here a minimal one).
    let body = "<script>window.__timelines = { main: { duration() { return 2.75; }, totalDuration() { return 2.75; }, \
                time() { return 0; }, totalTime() { return this; }, pause() { return this; }, paused() { return true; } } };</script>";
    let proj = project(&[("index.html", &page("data-width=\"320\" data-height=\"240\"", body))]);
    let out = tempfile::tempdir().unwrap();
    let result = plan_into(proj.path(), out.path(), &PlanConfig::default()).unwrap();
    assert_eq!(result.duration_seconds, 2.75, "the root timeline's duration");
    assert_eq!(result.total_frames, 83, "ceil(2.75 × 30)");
    // Clips alone give no duration (HyperFrames refuses such a composition too).
    let body =
        "<div id=a data-start=0 data-duration=1.5>a</div><div id=b data-start=\"a + 0.25\" data-duration=1>b</div>";
    let proj = project(&[("index.html", &page("data-width=\"320\" data-height=\"240\" data-no-timeline", body))]);
    let err = plan_into(proj.path(), out.path(), &PlanConfig::default()).unwrap_err();
    assert_eq!(err.code(), "DISTRIBUTED_DURATION_OUT_OF_RANGE", "{err}");
}

#[test]
fn a_plan_with_real_media_carries_its_soundtrack_and_video_frames() {
    let proj = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(proj.path().join("assets")).unwrap();
    crate::util::write_sine_m4a(&proj.path().join("assets/tone.m4a"), 48_000 * 3, 440.0);
    let spec = crate::util::PlanSpec::mp4((25, 1), vec![50]);
    crate::util::make_chunk(&proj.path().join("assets/clip.mp4"), &spec, 0, 50);
    let body = "<audio id=tone src=\"assets/tone.m4a\" data-start=\"0.5\"></audio>\
                <video id=clip src=\"assets/clip.mp4\" data-start=\"1\" data-duration=\"1\" muted></video>";
    std::fs::write(
        proj.path().join("index.html"),
        page("data-width=\"64\" data-height=\"48\" data-duration=\"2\"", body),
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let result = plan_into(proj.path(), out.path(), &PlanConfig::default()).unwrap();
    assert!(result.has_audio);
    let dir = out.path().join("plan");
    let audio = crate::util::decode_audio(&dir.join("audio.m4a"));
    assert_eq!(audio.len(), 96_000, "the soundtrack is exactly the composition's 2 s");
    let videos: serde_json::Value = serde_json::from_slice(&read(&dir.join("meta/videos.json"))).unwrap();
    let x = &videos["extracted"][0];
    assert_eq!(
        (x["videoId"].as_str(), x["firstFrame"].as_i64(), x["frameCount"].as_i64()),
        (Some("clip"), Some(30), Some(30))
    );
    assert!(dir.join("video-frames/clip/frame_00030.jpg").is_file());
    let plan_json: serde_json::Value = serde_json::from_slice(&read(&dir.join("plan.json"))).unwrap();
    assert_eq!(plan_json["hasAudio"], true);
    assert_eq!(recomputed_hash(&dir), result.plan_hash, "the media is covered by the planHash");
}

/// A `<video>` tagged HLG or PQ is drawn as SDR (framefan does not render HDR yet; HyperFrames
/// would make the composition 10-bit HDR H.265): the plan says so, naming the clip and the
/// transfer. An SDR source says nothing.
#[test]
fn an_hdr_video_source_is_named_in_a_warning() {
    let proj = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(proj.path().join("assets")).unwrap();
    for (name, trc) in [("hlg.mp4", "arib-std-b67"), ("pq.mp4", "smpte2084"), ("sdr.mp4", "bt709")] {
        let made = Command::new("ffmpeg")
            .args(["-v", "error", "-f", "lavfi", "-i", "testsrc2=s=64x48:r=25:d=1", "-pix_fmt", "yuv420p10le"])
            .args(["-c:v", "libx265", "-x265-params", "log-level=error", "-color_primaries", "bt2020"])
            .args(["-colorspace", "bt2020nc", "-color_trc", trc])
            .arg(proj.path().join("assets").join(name))
            .status()
            .expect("the ffmpeg CLI (tests only)");
        assert!(made.success(), "{name}");
    }
    let body = "<video id=h src=\"assets/hlg.mp4\" data-start=\"0\" data-duration=\"1\" muted></video>\
                <video id=p src=\"assets/pq.mp4\" data-start=\"0\" data-duration=\"1\" muted></video>\
                <video id=s src=\"assets/sdr.mp4\" data-start=\"0\" data-duration=\"1\" muted></video>";
    std::fs::write(
        proj.path().join("index.html"),
        page("data-width=\"64\" data-height=\"48\" data-duration=\"1\"", body),
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let result = plan_into(proj.path(), out.path(), &PlanConfig::default()).unwrap();
    let hdr: Vec<&String> = result.warnings.iter().filter(|w| w.contains("is HDR")).collect();
    assert_eq!(hdr.len(), 2, "{:?}", result.warnings);
    assert!(hdr[0].contains("video clip \"h\" (assets/hlg.mp4) is HDR (HLG)"), "{}", hdr[0]);
    assert!(hdr[1].contains("video clip \"p\" (assets/pq.mp4) is HDR (PQ)"), "{}", hdr[1]);
}

// ---- CLI ---------------------------------------------------------------------------------

#[test]
fn cli_prints_the_result_as_one_json_line() {
    let proj = simple_project();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("plan");
    let output = Command::new(framefan_bin())
        .args(["plan".as_ref(), proj.path().as_os_str(), dir.as_os_str()])
        .args(["--fps", "30000/1001", "--quality", "draft", "--chunk-size", "25", "--gop-size", "10"])
        .args(["--variables", "{\"a\":1}", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let result: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(result["fps"], serde_json::json!({"num": 30000, "den": 1001}));
    assert_eq!(result["totalFrames"], 60);
    // 25 frames are not whole 10-frame GOPs: chunks of 30, and a warning that says so.
    assert_eq!(result["chunkCount"], 2);
    let warnings = result["warnings"].to_string();
    assert!(warnings.contains("chunkSize 25 is not a whole number of 10-frame GOPs"), "{warnings}");
    assert_eq!(result["planHash"].as_str().unwrap().len(), 64);
    assert_eq!(result["planDir"].as_str().map(PathBuf::from), Some(std::fs::canonicalize(&dir).unwrap()));
    let encoder: serde_json::Value = serde_json::from_slice(&read(&dir.join("meta/encoder.json"))).unwrap();
    assert_eq!((encoder["preset"].as_str(), encoder["crf"].as_u64()), (Some("ultrafast"), Some(28)));
    assert_eq!((encoder["gopSize"].as_u64(), encoder["chunkSize"].as_u64()), (Some(10), Some(30)));
    assert_eq!(encoder["variables"], serde_json::json!({"a": 1}));
}

#[test]
fn cli_exits_3_with_a_json_error_on_a_bad_project() {
    let proj = project(&[("index.html", "<html><body>no root</body></html>")]);
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("plan");
    let output = Command::new(framefan_bin())
        .args(["plan".as_ref(), proj.path().as_os_str(), dir.as_os_str(), "--json".as_ref()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8(output.stderr).unwrap();
    let line: serde_json::Value = serde_json::from_str(stderr.trim()).unwrap();
    assert_eq!(line["error"]["code"], "COMPOSITION_INVALID");
    assert_eq!(line["error"]["retryable"], false);
    assert!(!dir.exists());
    let bad_option = Command::new(framefan_bin())
        .args([
            "plan".as_ref(),
            proj.path().as_os_str(),
            dir.as_os_str(),
            "--crf".as_ref(),
            "60".as_ref(),
            "--json".as_ref(),
        ])
        .output()
        .unwrap();
    assert_eq!(bad_option.status.code(), Some(3));
    let line: serde_json::Value = serde_json::from_slice(&bad_option.stderr).unwrap();
    assert_eq!(line["error"]["code"], "INVALID_CONFIG");
    let usage = Command::new(framefan_bin()).args(["plan", "--crf", "x"]).output().unwrap();
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn hostile_pages_fail_cleanly_without_panicking() {
    // Deep nesting is refused before the parser (quadratic in depth) sees it, and after it.
    for (depth, tag) in [(100_000, "<div>"), (600, "<span>")] {
        let deep = format!("{}{}", tag.repeat(depth), page(ROOT, ""));
        let m = assert_fails_cleanly(
            project(&[("index.html", &deep)]).path(),
            &PlanConfig::default(),
            "COMPOSITION_INVALID",
        );
        assert!(m.contains("deep"), "{m}");
    }
    let d = offline_strict();
    let huge =
        page(ROOT, "<div id=a data-start=99999999999999999999999 data-duration=1></div><div data-start='a + 1'></div>");
    assert_fails_cleanly(project(&[("index.html", &huge)]).path(), &d, "COMPOSITION_INVALID");
    let big_end = page(
        ROOT,
        "<div id=a data-start=9223372036854775807 data-duration=9223372036854775807></div><div data-start='a'></div>",
    );
    assert_fails_cleanly(project(&[("index.html", &big_end)]).path(), &d, "COMPOSITION_INVALID");
    let long = page("data-width=\"320\" data-height=\"240\" data-duration=\"9223372036854775807\"", "");
    assert_fails_cleanly(project(&[("index.html", &long)]).path(), &d, "DISTRIBUTED_DURATION_OUT_OF_RANGE");
    let fps = page("data-width=\"320\" data-height=\"240\" data-duration=\"1\" data-fps=\"0/0\"", "");
    assert_fails_cleanly(project(&[("index.html", &fps)]).path(), &d, "COMPOSITION_INVALID");
    // Invalid UTF-8 and NUL bytes are parsed leniently, as a browser would.
    let proj = project(&[]);
    let mut bytes = page(ROOT, "<p>\u{0}</p>").into_bytes();
    bytes.extend_from_slice(&[0xff, 0xfe, b'<', 0xc3]);
    std::fs::write(proj.path().join("index.html"), bytes).unwrap();
    let out = tempfile::tempdir().unwrap();
    plan_into(proj.path(), out.path(), &d).unwrap();
}

#[test]
fn sub_compositions_are_treated_as_hyperframes_treats_them() {
    let scene = "<template><div data-composition-id=\"scene\" data-width=\"320\" data-height=\"240\">\
                 <img src=\"../assets/a.png\"><img src=\"icon.png\"><img src=\"assets/a.png\">\
                 <style>.x { background: url(../assets/a.png) } .y { background: url(icon.png) }</style>\
                 <script>const tl = 1; window.one = tl;</script><script src=\"../lib.js\"></script></div></template>";
    let other = "<template><div data-composition-id=\"other\"><script>const tl = 2;</script>\
                 <script src=\"../lib.js\"></script></div></template>";
    let body = "<div data-composition-src=\"compositions/scene.html\" data-start=\"0\"></div>\
                <div data-composition-id=\"o\" data-composition-src=\"compositions/other.html\"></div>\
                <img src=\"assets/a.png\"><video src=\"assets/v.mp4\" muted></video>";
    let proj = project(&[
        ("index.html", &page(ROOT, body)),
        ("compositions/scene.html", scene),
        ("compositions/other.html", other),
        ("compositions/icon.png", "icon"),
        ("assets/a.png", "a"),
        ("assets/v.mp4", "not decoded by compile"),
        ("lib.js", "window.lib = (window.lib || 0) + 1;"),
    ]);
    let root = std::fs::canonicalize(proj.path()).unwrap();
    let c = compile::compile(&root, &PlanConfig::default().validate().unwrap()).unwrap();
    let html = &c.html;
    // Relative URLs of compositions/scene.html: `../x` from its folder, a sibling that exists
    // from its folder, anything else from the project root as written.
    assert_eq!(html.matches("<img src=\"assets/a.png\">").count(), 3, "{html}");
    assert!(html.contains("<img src=\"compositions/icon.png\">"), "{html}");
    assert!(html.contains("url(\"assets/a.png\")") && html.contains("url(\"compositions/icon.png\")"), "{html}");
    // A host without data-composition-id: scoped to the file's own root id, and sized in pixels
    // from the file root's data-width/data-height.
    assert!(html.contains("[data-composition-id=\"scene\"] .x"), "{html}");
    assert!(
        html.contains(
            "<div style=\"width:320px;height:240px\" data-start=\"0\" data-width=\"320\" data-height=\"240\""
        ),
        "{html}"
    );
    // As in HyperFrames' render compiler: the files' inline scripts run, in mount order, from one
    // script at the very end of <body> (so `document.currentScript.parentElement` is <body>),
    // each in a function of its own whose document, gsap and window are scoped to its
    // composition: the id the file declares, the host's id as the mount's. The shared library
    // (a script src) is loaded once, before them.
    let shared = html.find("<script data-framefan-composition-scripts").expect("the shared script");
    assert!(html[shared..].trim_end().ends_with("</script></body></html>"), "{html}");
    let run =
        |code: &str| html[shared..].find(&format!("function (document, gsap, window, __hyperframes) {{\n{code}\n}}"));
    let (one, two) = (run("const tl = 1; window.one = tl;").unwrap(), run("const tl = 2;").unwrap());
    assert!(one < two, "{html}");
    let scene = r#"({"comp":"scene","timeline":"scene","scope":null,"authoredRoot":null}, function (document"#;
    let other = r#"({"comp":"other","timeline":"o","scope":"[data-composition-id=\"o\"]","authoredRoot":null}, function (document"#;
    assert!(html[shared..].contains(scene) && html[shared..].contains(other), "{html}");
    assert_eq!(html.matches("src=\"lib.js\"").count(), 1, "{html}");
    assert!(html.find("src=\"lib.js\"").unwrap() < shared, "{html}");
    // A <video> without id gets HyperFrames' positional id (after the four images before it).
    let video = c.media.iter().find(|m| m.kind == MediaKind::Video).unwrap();
    assert_eq!(video.id, "hf-media-4");
    assert!(html.contains("<video src=\"assets/v.mp4\" muted=\"\" id=\"hf-media-4\">"), "{html}");
}

#[test]
fn sub_composition_scripts_run_breadth_first_after_the_page() {
    let file = |id: &str, inner: &str| {
        format!("<template><div data-composition-id=\"{id}\">{inner}<script>window.seen.push(\"{id}\");</script></div></template>")
    };
    let a = file("a", "<div data-composition-id=\"n\" data-composition-src=\"n.html\"></div>");
    let b = file("b", "<script type=\"module\">window.module = 1;</script>");
    let body = "<script>window.seen = [];</script>\
                <div data-composition-id=\"a\" data-composition-src=\"a.html\"></div>\
                <div data-composition-id=\"b\" data-composition-src=\"b.html\"></div>";
    let proj =
        project(&[("index.html", &page(ROOT, body)), ("a.html", &a), ("b.html", &b), ("n.html", &file("n", ""))]);
    let root = std::fs::canonicalize(proj.path()).unwrap();
    let html = compile::compile(&root, &PlanConfig::default().validate().unwrap()).unwrap().html;
    let shared = html.find("<script data-framefan-composition-scripts").expect("the shared script");
    // The page's own script stays where it was written, before the mounted files' scripts.
    assert!(html.find("window.seen = [];").unwrap() < shared, "{html}");
    // HyperFrames mounts the page's hosts first, then the hosts inside them.
    let at = |id: &str| html[shared..].find(&format!("window.seen.push(\"{id}\");")).unwrap();
    assert!(at("a") < at("b") && at("b") < at("n"), "{html}");
    // A module script is not run by the shared script: it stays in its host.
    let module = html.find("window.module = 1;").unwrap();
    assert!(module < shared && html[..module].rfind("data-composition-id=\"b\"").is_some(), "{html}");
}
