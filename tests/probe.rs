//! `plan`'s browser probe (engine::probe) with real Chromium: each kind of page that cannot
//! become ready makes `framefan plan` exit 3 with its own code, a message naming what failed,
//! and no plan directory; a timeline that never registers plans (with the warning recorded in
//! the plan, so render-chunk does not wait for it again) and renders; a font face that fails to
//! load plans with a warning (as HyperFrames renders it) unless `--strict-fonts`; a normal example
//! still plans to the same planHash.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use framefan::render::{render_chunk, ChunkOptions};

use crate::util::{assert_session_empty, framefan_in_session};

/// A minimal registered root timeline, so that only what a test breaks is broken.
const TIMELINE: &str = "<script>window.__timelines = { main: { duration() { return 1; }, totalDuration() { return 1; }, \
     time() { return 0; }, totalTime() { return this; }, pause() { return this; }, paused() { return true; } } };</script>";

/// A project whose `index.html` has a 320×240, 1 s root holding `body`, then `tail` (scripts).
fn project(head: &str, body: &str, tail: &str, files: &[(&str, &str)]) -> tempfile::TempDir {
    project_lasting(1, head, body, tail, files)
}

/// [`project`] with a root of `seconds`.
fn project_lasting(seconds: u32, head: &str, body: &str, tail: &str, files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let html = format!(
        "<!doctype html><html><head><meta charset=utf-8>{head}</head><body>\n\
         <div data-composition-id=\"main\" data-width=\"320\" data-height=\"240\" data-duration=\"{seconds}\">{body}</div>\n\
         {tail}\n</body></html>\n"
    );
    std::fs::write(dir.path().join("index.html"), html).unwrap();
    for (rel, content) in files {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    dir
}

/// A 320×240, 2 s project whose page passes the probe (frame 0) and then, from t = 1 s on, never
/// yields: its animation frame callback, run by the virtual clock on each seek, loops at
/// `spin.js:4`.
pub fn loops_from_one_second() -> tempfile::TempDir {
    let spin =
        "function tick() {\n  if (performance.now() >= 1000) {\n    let n = 0;\n    while (true) { n++; }\n  }\n  \
                requestAnimationFrame(tick);\n}\nrequestAnimationFrame(tick);\n";
    let tail = format!("{}<script src=\"spin.js\"></script>", TIMELINE.replace("return 1;", "return 2;"));
    project_lasting(2, "", "<p>spin</p>", &tail, &[("spin.js", spin)])
}

fn plan_cli(project: &Path, plan_dir: &Path, extra: &[&str]) -> Output {
    plan_cli_pid(project, plan_dir, extra).0
}

/// `framefan plan --json` and the pid it ran as. Run in a session of its own, so that no process
/// of its probe outlives it (checked on every run).
fn plan_cli_pid(project: &Path, plan_dir: &Path, extra: &[&str]) -> (Output, u32) {
    let child = framefan_in_session()
        .arg("plan")
        .arg(project)
        .arg(plan_dir)
        .arg("--json")
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let output = child.wait_with_output().unwrap();
    assert_session_empty(pid, "framefan plan");
    (output, pid)
}

/// `framefan plan` must exit 3 with `code`, leave nothing in the output folder, and say `names`.
/// Returns the pid `plan` ran as.
fn assert_plan_fails(project: &Path, code: &str, names: &str) -> u32 {
    assert_plan_fails_with(project, &[], code, names)
}

/// [`assert_plan_fails`] with `extra` options.
fn assert_plan_fails_with(project: &Path, extra: &[&str], code: &str, names: &str) -> u32 {
    let out = tempfile::tempdir().unwrap();
    let plan_dir = out.path().join("plan");
    let (output, pid) = plan_cli_pid(project, &plan_dir, extra);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    let line: serde_json::Value = serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert_eq!(line["error"]["code"], code, "{stderr}");
    assert_eq!(line["error"]["retryable"], false);
    let message = line["error"]["message"].as_str().unwrap();
    assert!(message.contains(names), "{code}: the message names {names:?}: {message}");
    let left: Vec<_> = std::fs::read_dir(out.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "{code}: a failed plan left {left:?}");
    pid
}

#[test]
fn a_page_script_that_throws_fails_the_plan_naming_the_script() {
    let proj = project(
        "",
        "",
        &format!("{TIMELINE}<script src=\"js/app.js\"></script>"),
        &[("js/app.js", "function go() {\n  undefinedThing.x = 1;\n}\ngo();\n")],
    );
    assert_plan_fails(proj.path(), "PAGE_SCRIPT_ERROR", "js/app.js:2");
}

#[test]
fn a_script_that_does_not_load_fails_the_plan() {
    let proj = project("", "", &format!("{TIMELINE}<script src=\"js/absent.js\"></script>"), &[]);
    assert_plan_fails(proj.path(), "PAGE_SCRIPT_ERROR", "js/absent.js failed to load");
}

#[test]
fn an_endless_loop_is_stopped_and_named_and_its_browser_killed() {
    let proj = project(
        "",
        "",
        &format!("{TIMELINE}<script src=\"spin.js\"></script>"),
        &[("spin.js", "let n = 0;\nwhile (true) { n++; }\n")],
    );
    // The probe's browser, and every process it started, went with the plan (assert_plan_fails
    // runs it in a session of its own and finds none left).
    assert_plan_fails(proj.path(), "PAGE_SCRIPT_TIMEOUT", "spin.js:2");
}

#[test]
fn a_script_that_loops_on_the_first_frame_is_stopped_too() {
    // The page loads and becomes ready; its animation frame callback (run by the virtual clock
    // when the probe draws frame 0) never returns.
    let tail = format!("{TIMELINE}<script src=\"frame.js\"></script>");
    let proj = project("", "", &tail, &[("frame.js", "requestAnimationFrame(() => {\n  for (;;) {}\n});\n")]);
    assert_plan_fails(proj.path(), "PAGE_SCRIPT_TIMEOUT", "frame.js:2");
}

/// `framefan plan` succeeds; its warnings and `meta/encoder.json`'s `systemFonts`.
fn plan_warnings(project: &Path) -> (Vec<String>, bool) {
    let out = tempfile::tempdir().unwrap();
    let plan_dir = out.path().join("plan");
    let output = plan_cli(project, &plan_dir, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let warnings = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|l| l["message"].as_str().map(str::to_string))
        .collect();
    let encoder: serde_json::Value =
        serde_json::from_slice(&std::fs::read(plan_dir.join("meta/encoder.json")).unwrap()).unwrap();
    (warnings, encoder["systemFonts"].as_bool().unwrap())
}

/// A page that loops only at a later frame passes the probe, which seeks frame 0 alone;
/// render-chunk finds the loop at that frame's seek and fails for good, naming the script:
/// PAGE_SCRIPT_TIMEOUT, exit 3, found by its watch rather than by a DevTools timeout a minute
/// later (a retryable BROWSER_CRASHED that the pool would have run twice more).
#[test]
fn a_script_that_loops_at_a_later_seek_fails_render_chunk_naming_it() {
    let proj = loops_from_one_second();
    let out = tempfile::tempdir().unwrap();
    let plan_dir = out.path().join("plan");
    let planned = plan_cli(proj.path(), &plan_dir, &["--chunk-size", "60"]);
    assert!(planned.status.success(), "{}", String::from_utf8_lossy(&planned.stderr));
    std::fs::create_dir(out.path().join("chunks")).unwrap();
    let chunk = out.path().join("chunks/c0.mp4");
    let started = Instant::now();
    let child = framefan_in_session()
        .arg("render-chunk")
        .arg(&plan_dir)
        .arg(&chunk)
        .args(["--index", "0", "--browsers", "1", "--json"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let sid = child.id();
    let output = child.wait_with_output().unwrap();
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    let line: serde_json::Value = serde_json::from_str(stderr.lines().last().unwrap()).unwrap();
    assert_eq!(
        (line["error"]["code"].as_str(), line["error"]["retryable"].as_bool()),
        (Some("PAGE_SCRIPT_TIMEOUT"), Some(false))
    );
    let message = line["error"]["message"].as_str().unwrap();
    assert!(message.contains("frame 30") && message.contains("spin.js:4"), "{message}");
    // Launch, load and 30 frames, then a 1 s stall and 10 s of silence: well inside the minute a
    // DevTools command may take, which is what the chunk waited for before.
    assert!(took < Duration::from_secs(55), "render-chunk took {took:?}");
    eprintln!("render-chunk found the loop and exited after {took:?}");
    assert_session_empty(sid, "render-chunk");
    let left: Vec<_> = std::fs::read_dir(out.path().join("chunks")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn a_font_face_that_fails_to_load_is_a_warning_unless_strict() {
    let head = "<style>@font-face { font-family: \"Gone\"; src: url(\"fonts/gone.woff2\") format(\"woff2\"); } \
                #t { font-family: \"Gone\", sans-serif; }</style>";
    let proj = project(head, "<div id=t>Hello</div>", TIMELINE, &[]);
    let (warnings, system_fonts) = plan_warnings(proj.path());
    let named = warnings.iter().any(|w| w.contains("font face Gone") && w.contains("fonts/gone.woff2"));
    assert!(named, "a warning names the family and its source: {warnings:?}");
    assert!(system_fonts, "its text draws with system fonts");
    assert_plan_fails_with(proj.path(), &["--strict-fonts"], "FONT_LOAD_FAILED", "fonts/gone.woff2");
}

#[test]
fn a_project_face_of_missing_local_fonts_keeps_the_bundled_face_out_as_hyperframes_does() {
    // HyperFrames' compiler adds no bundled Inter for a family the project declares, so the
    // text falls back to the machine's fonts there; framefan draws it the same way.
    let head = "<style>@font-face { font-family: \"Inter\"; src: local(\"Inter\"), local(\"Inter-Regular\"); } \
                #t { font-family: Inter, sans-serif; }</style>";
    let proj = project(head, "<div id=t>Hello</div>", TIMELINE, &[]);
    let (warnings, system_fonts) = plan_warnings(proj.path());
    assert!(warnings.iter().any(|w| w.contains("font face Inter (src local(\"Inter\")")), "{warnings:?}");
    assert!(system_fonts);
    assert_plan_fails_with(proj.path(), &["--strict-fonts"], "FONT_LOAD_FAILED", "local(\"Inter-Regular\")");
}

#[test]
fn a_broken_image_fails_the_plan_naming_it() {
    let proj = project("", "<img src=\"assets/broken.png\">", TIMELINE, &[("assets/broken.png", "not a png")]);
    assert_plan_fails(proj.path(), "IMAGE_LOAD_FAILED", "assets/broken.png");
    let proj = project("", "<img src=\"assets/missing.png\">", TIMELINE, &[]);
    assert_plan_fails(proj.path(), "IMAGE_LOAD_FAILED", "assets/missing.png");
}

#[test]
fn a_page_that_never_becomes_ready_fails_the_plan_saying_what() {
    // The runtime's player can never be installed.
    let tail = format!(
        "{TIMELINE}<script>Object.defineProperty(window, '__player', {{ configurable: false, get() {{ return undefined; }}, \
         set(v) {{}} }});</script>"
    );
    let proj = project("", "", &tail, &[]);
    assert_plan_fails(proj.path(), "PAGE_NEVER_READY", "window.__player");
}

#[test]
fn a_debugger_statement_does_not_hold_the_probe() {
    let proj = project("", "<p>hi</p>", &format!("{TIMELINE}<script>debugger; window.seen = 1;</script>"), &[]);
    let out = tempfile::tempdir().unwrap();
    let output = plan_cli(proj.path(), &out.path().join("plan"), &[]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

fn encoder_json(plan_dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(plan_dir.join("meta/encoder.json")).unwrap()).unwrap()
}

#[test]
fn a_timeline_that_never_registers_is_recorded_and_the_plan_renders_without_it() {
    let body = "<div style=\"position:absolute;left:100px;top:100px;width:40px;height:40px;background:#fff\"></div>";
    let proj = project("<style>body { margin: 0; background: #000; }</style>", body, "", &[]);
    let out = tempfile::tempdir().unwrap();
    let plan_dir = out.path().join("plan");
    let output = plan_cli(proj.path(), &plan_dir, &["--chunk-size", "15", "--gop-size", "15"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let warned = result["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w.as_str().is_some_and(|w| w.contains("no timeline registered for composition main")));
    assert!(warned, "{result}");
    assert_eq!(encoder_json(&plan_dir)["unregisteredTimelines"], serde_json::json!(["main"]));

    // render-chunk reads the record (so it waits no grace) and renders the page as it stands.
    let plan = framefan::plan::Plan::load(&plan_dir).unwrap();
    let encoder = framefan::render::validate::local_checks(&plan_dir, 0).unwrap().encoder;
    assert_eq!(encoder.unregistered_timelines, vec!["main".to_string()]);
    assert_eq!(framefan::render::timeline_grace(&encoder, None), std::time::Duration::ZERO);
    let chunk = out.path().join("c0.mp4");
    let rendered = render_chunk(&plan_dir, 0, &chunk, &ChunkOptions { browsers: Some(1), ..Default::default() });
    let rendered = rendered.unwrap();
    assert_eq!(rendered.frames, plan.chunks[0].end_frame - plan.chunks[0].start_frame);
    let probe = crate::util::ffprobe(&chunk);
    assert_eq!(probe["streams"][0]["nb_read_frames"], "15");
}

/// The package cache `.ci/install-deps` fills (GSAP for the examples).
fn cache() -> PathBuf {
    std::env::var_os("FRAMEFAN_PACKAGE_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/package-cache"))
}

#[test]
fn an_example_passes_the_probe_and_plans_to_the_same_hash_twice() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/title-card");
    let cache = cache();
    let out = tempfile::tempdir().unwrap();
    let hashes: Vec<String> = (0..2)
        .map(|i| {
            let plan_dir = out.path().join(format!("plan-{i}"));
            let output = plan_cli(&example, &plan_dir, &["--package-cache", cache.to_str().unwrap()]);
            assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
            let result: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
            assert!(
                !result["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().starts_with("page:")),
                "{result}"
            );
            // Every timeline registered: nothing recorded, so such plans keep their encoder.json.
            assert!(encoder_json(&plan_dir).get("unregisteredTimelines").is_none());
            // The probe ran (a browser launch and a page load take well over a millisecond) and
            // is part of the plan's time.
            let ms = |key: &str| result["timings"][key].as_u64().unwrap_or_else(|| panic!("timings.{key}: {result}"));
            assert!(ms("probeMs") > 0 && ms("totalMs") >= ms("probeMs"), "{result}");
            assert!(result["timings"]["mediaMs"].is_u64(), "{result}");
            result["planHash"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(hashes[0], hashes[1]);
}
