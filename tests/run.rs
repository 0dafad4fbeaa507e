//! `framefan render` and `framefan verify` end to end on the examples: real Chromium, real libav.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use framefan::plan::Quality;
use framefan::run::{render, Event, RenderOptions, RenderResult, Stage};
use framefan::time::Fps;
use framefan::{Code, Control};

use crate::util::{assert_session_empty, ffprobe, framefan_bin, framefan_in_session, stream, top_level_boxes};

#[path = "../examples/media/generate.rs"]
mod gen_media;

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(name)
}

/// The package cache `.ci/install-deps` fills; a missing one fails loudly in `plan`.
fn package_cache() -> PathBuf {
    std::env::var_os("FRAMEFAN_PACKAGE_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/package-cache"))
}

/// Draft quality, `fps` frames a second, `chunk` frames per chunk (each chunk one GOP, as
/// upstream cuts them), `workers` workers.
fn options(fps: Option<i64>, chunk: Option<i64>, workers: usize) -> RenderOptions {
    let mut o = RenderOptions { workers: Some(workers), ..Default::default() };
    o.plan.quality = Quality::Draft;
    o.plan.fps = fps.and_then(|f| Fps::new(f, 1));
    o.plan.package_cache = Some(package_cache());
    o.plan.chunk_size = chunk;
    o.plan.gop_size = chunk;
    o
}

/// Nothing but `keep` is left in `dir` (no work directory, no staging file).
fn only(dir: &Path, keep: &[&str]) {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, keep.iter().map(|s| s.to_string()).collect::<Vec<_>>(), "leftovers in {}", dir.display());
}

/// ffprobe agrees: frame count, both rates, exact duration; the index is first; verify agrees.
fn assert_output(out: &Path, frames: i64, fps: &str, seconds: f64) {
    let probe = ffprobe(out);
    let v = stream(&probe, "video");
    assert_eq!(v["nb_read_frames"].as_str().unwrap(), frames.to_string());
    assert_eq!(v["r_frame_rate"], fps);
    assert_eq!(v["avg_frame_rate"], fps);
    assert_eq!(v["duration"].as_str().unwrap().parse::<f64>().unwrap(), seconds);
    let boxes: Vec<String> = top_level_boxes(out).into_iter().map(|b| b.0).collect();
    let (moov, mdat) = (boxes.iter().position(|b| b == "moov"), boxes.iter().position(|b| b == "mdat"));
    assert!(moov.unwrap() < mdat.unwrap(), "moov must precede mdat: {boxes:?}");
    let report = framefan::verify::verify(out, None).unwrap();
    assert!(report.consistent, "{report:?}");
    assert_eq!((report.frames, report.r_frame_rate.as_str(), report.duration_seconds), (frames, fps, seconds));
    assert!(report.index_first && report.duration_exact);
}

#[test]
fn the_gsap_title_card_renders_frame_exact() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("title.mp4");
    let result = render(&example("title-card"), &options(None, None, 2), &out).unwrap();
    assert_eq!((result.total_frames, result.width, result.height), (120, 1280, 720));
    // 120 frames would be 12 chunks of 10, rounded up to whole two-second GOPs: two chunks of 60.
    assert_eq!(result.chunk_count, 2, "whole two-second GOPs: {result:?}");
    assert_eq!((result.retries, result.duplicates, result.work_dir.clone()), (0, 0, None));
    assert_output(&out, 120, "30/1", 4.0);
    only(dir.path(), &["title.mp4"]);
}

#[test]
fn the_nested_scenes_render_at_a_lowered_rate() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nested.mp4");
    let result = render(&example("nested-scenes"), &options(Some(6), None, 2), &out).unwrap();
    assert_eq!((result.total_frames, result.width, result.height), (60, 1920, 1080));
    assert_output(&out, 60, "6/1", 10.0);
}

#[test]
fn the_media_example_has_its_soundtrack_exactly_as_long_as_the_video() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("media");
    std::fs::create_dir(&project).unwrap();
    std::fs::copy(example("media").join("index.html"), project.join("index.html")).unwrap();
    gen_media::generate(&project.join("assets")).unwrap();
    let out = dir.path().join("media.mp4");
    let result = render(&project, &options(None, None, 2), &out).unwrap();
    assert!(result.has_audio);
    assert_output(&out, 150, "30/1", 5.0);
    let probe = ffprobe(&out);
    let video: f64 = stream(&probe, "video")["duration"].as_str().unwrap().parse().unwrap();
    let audio: f64 = stream(&probe, "audio")["duration"].as_str().unwrap().parse().unwrap();
    assert!((audio - video).abs() <= 0.001, "audio {audio} s, video {video} s");
    let report = framefan::verify::verify(&out, None).unwrap();
    assert!(report.audio_offset_ms.unwrap().abs() <= 1.0, "{report:?}");
}

fn framemd5(path: &Path) -> Vec<String> {
    let out = Command::new("ffmpeg").args(["-v", "error", "-i"]).arg(path).args(["-f", "framemd5", "-"]).output();
    let out = out.expect("ffmpeg (tests only)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines().filter(|l| !l.starts_with('#')).map(|l| l.rsplit(',').next().unwrap().trim().to_string()).collect()
}

#[test]
fn one_worker_and_three_workers_give_the_same_frames_and_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (one, three) = (dir.path().join("one.mp4"), dir.path().join("three.mp4"));
    render(&example("title-card"), &options(Some(10), Some(8), 1), &one).unwrap();
    let result = render(&example("title-card"), &options(Some(10), Some(8), 3), &three).unwrap();
    assert_eq!((result.chunk_count, result.workers), (5, 3));
    let (a, b) = (framemd5(&one), framemd5(&three));
    assert_eq!(a.len(), 40);
    assert_eq!(a, b, "decoded frames differ");
    // Chunks are byte-identical by design and assemble is deterministic, so the files are too.
    assert_eq!(std::fs::read(&one).unwrap(), std::fs::read(&three).unwrap());
}

#[test]
fn a_retryable_failure_is_retried_and_the_render_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("retried.mp4");
    let mut o = options(Some(10), Some(10), 2);
    let notices = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&notices);
    o.control = Control::with_events(Arc::new(move |e: &Event| {
        if let Event::Notice(n) = e {
            seen.lock().unwrap().push(n.clone());
        }
    }));
    o.fault = Some(Arc::new(|a: &framefan::run::Attempt| {
        (a.index == 1 && a.attempt == 0).then(|| framefan::Error::new(Code::BrowserCrashed, "injected crash"))
    }));
    let result = render(&example("title-card"), &o, &out).unwrap();
    assert_eq!(result.retries, 1);
    assert_output(&out, 40, "10/1", 4.0);
    assert!(notices.lock().unwrap().iter().any(|n| n.contains("chunk 1") && n.contains("retrying")));
}

#[test]
fn a_retryable_failure_that_persists_stops_after_the_bounded_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never.mp4");
    let mut o = options(Some(10), Some(10), 2);
    o.retry.backoff = Duration::from_millis(10);
    let runs = Arc::new(Mutex::new(0));
    let count = Arc::clone(&runs);
    o.fault = Some(Arc::new(move |a: &framefan::run::Attempt| {
        (a.index == 0).then(|| {
            *count.lock().unwrap() += 1;
            framefan::Error::new(Code::CaptureFailed, "injected capture failure")
        })
    }));
    let err = render(&example("title-card"), &o, &out).unwrap_err();
    assert_eq!(err.kind(), Code::CaptureFailed);
    assert!(err.is_retryable());
    assert_eq!(*runs.lock().unwrap(), 3);
    only(dir.path(), &[]);
}

#[test]
fn a_non_retryable_failure_stops_the_render_with_its_code_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("failed.mp4");
    let mut o = options(Some(10), Some(10), 2);
    o.fault = Some(Arc::new(|a: &framefan::run::Attempt| {
        (a.index == 2).then(|| framefan::Error::new(Code::PageScriptError, "injected page error"))
    }));
    let err = render(&example("title-card"), &o, &out).unwrap_err();
    assert_eq!(err.kind(), Code::PageScriptError);
    assert!(!out.exists());
    only(dir.path(), &[]);
}

/// What the straggler test has seen of the pool, and a condition variable to wait on it.
#[derive(Default)]
struct Latch {
    seen: Mutex<(bool, Option<String>)>,
    changed: std::sync::Condvar,
}

impl Latch {
    fn update(&self, f: impl FnOnce(&mut (bool, Option<String>))) {
        f(&mut self.seen.lock().unwrap());
        self.changed.notify_all();
    }

    /// Block until a winner is known. The deadline only keeps a broken pool from hanging the
    /// test binary; it is never what the test waits for.
    fn wait_for_winner(&self) -> Option<String> {
        let guard = self.seen.lock().unwrap();
        let (guard, _) =
            self.changed.wait_timeout_while(guard, Duration::from_secs(300), |seen| seen.1.is_none()).unwrap();
        guard.1.clone()
    }
}

/// Chunk 0's first copy is held (in the fault hook) until the pool has started its second copy
/// and that copy has won, so the straggler rule must fire however slow the machine is, and the
/// winner is known: the second copy. The held copy is then cancelled by the pool.
#[test]
fn a_straggling_chunk_is_started_again_and_the_second_copy_wins() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("straggler.mp4");
    let mut o = options(Some(10), Some(10), 2);
    let latch = Arc::new(Latch::default());
    let (events, hook) = (Arc::clone(&latch), Arc::clone(&latch));
    o.control = Control::with_events(Arc::new(move |e: &Event| {
        if let Event::Notice(n) = e {
            if n.contains("chunk 0 has run") && n.contains("starting a second copy") {
                events.update(|seen| seen.0 = true);
            }
            if let Some(rest) = n.strip_prefix("chunk 0: the ") {
                events.update(|seen| seen.1 = rest.split(' ').next().map(str::to_string));
            }
        }
    }));
    o.fault = Some(Arc::new(move |a: &framefan::run::Attempt| {
        if a.index == 0 && !a.duplicate {
            let winner = hook.wait_for_winner();
            assert!(hook.seen.lock().unwrap().0, "a winner before the second copy started: {winner:?}");
        }
        None
    }));
    let result = render(&example("title-card"), &o, &out).unwrap();
    assert_eq!(result.duplicates, 1);
    let seen = latch.seen.lock().unwrap().clone();
    assert_eq!(seen, (true, Some("second".to_string())), "second copy started, and won");
    assert_output(&out, 40, "10/1", 4.0);
    only(dir.path(), &["straggler.mp4"]);
}

#[test]
fn cancelling_stops_the_workers_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cancelled.mp4");
    let mut o = options(Some(10), Some(10), 2);
    let cancel = Control::new();
    let handle = cancel.clone();
    o.control = cancel.child_with_events(Some(Arc::new(move |e: &Event| {
        if matches!(e, Event::Progress(p) if p.stage == Stage::Render && p.frames_rendered > 0) {
            handle.cancel();
        }
    })));
    let err = render(&example("title-card"), &o, &out).unwrap_err();
    assert_eq!(err.kind(), Code::Cancelled);
    only(dir.path(), &[]);
}

fn run_cli(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(framefan_bin()).args(args).env("FRAMEFAN_PACKAGE_CACHE", package_cache()).output().unwrap()
}

#[test]
fn ndjson_progress_is_monotonic_and_ends_with_one_completed_event() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cli.mp4");
    let project = example("title-card");
    let args: Vec<&std::ffi::OsStr> = vec![
        "render".as_ref(),
        project.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--progress".as_ref(),
        "ndjson".as_ref(),
        "--fps".as_ref(),
        "10".as_ref(),
        "--quality".as_ref(),
        "draft".as_ref(),
    ];
    let output = run_cli(&args);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let events: Vec<serde_json::Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    let progress: Vec<&serde_json::Value> = events.iter().filter(|e| e["event"] == "render.progress").collect();
    assert!(progress.len() >= 3);
    let stage_rank = |s: &serde_json::Value| ["plan", "render", "assemble"].iter().position(|x| s == x).unwrap();
    for pair in progress.windows(2) {
        assert!(pair[1]["progress"].as_f64().unwrap() >= pair[0]["progress"].as_f64().unwrap(), "{pair:?}");
        assert!(pair[1]["framesRendered"].as_i64().unwrap() >= pair[0]["framesRendered"].as_i64().unwrap());
        assert!(stage_rank(&pair[1]["stage"]) >= stage_rank(&pair[0]["stage"]));
    }
    for p in &progress {
        assert!((0.0..=1.0).contains(&p["progress"].as_f64().unwrap()));
        assert_eq!(p["totalFrames"], 40);
    }
    assert_eq!(events.iter().filter(|e| e["event"] == "render.completed").count(), 1);
    assert_eq!(events.iter().filter(|e| e["event"] == "render.failed").count(), 0);
    let last = events.last().unwrap();
    assert_eq!(last["event"], "render.completed");
    assert_eq!(last["result"]["totalFrames"], 40);
    assert_eq!(last["result"]["outputPath"], out.to_str().unwrap());
}

#[test]
fn ndjson_reports_a_failure_once_with_its_code_and_the_exit_code_is_3() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.mp4");
    let missing = dir.path().join("no-such-project");
    let args: Vec<&std::ffi::OsStr> = vec![
        "render".as_ref(),
        missing.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--progress".as_ref(),
        "ndjson".as_ref(),
    ];
    let output = run_cli(&args);
    assert_eq!(output.status.code(), Some(3));
    let lines: Vec<serde_json::Value> =
        String::from_utf8(output.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["event"], "render.failed");
    assert_eq!(lines[0]["code"], "COMPOSITION_INVALID");
    assert_eq!(lines[0]["retryable"], false);
    only(dir.path(), &[]);
}

fn verify_cli(file: &Path, plan: &Path) -> (Option<i32>, serde_json::Value) {
    let args: Vec<&std::ffi::OsStr> =
        vec!["verify".as_ref(), file.as_os_str(), "--plan".as_ref(), plan.as_os_str(), "--json".as_ref()];
    let output = run_cli(&args);
    (output.status.code(), serde_json::from_slice(&output.stdout).unwrap())
}

#[test]
fn verify_matches_the_plan_it_was_rendered_from_and_exits_3_on_another() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("kept.mp4");
    let mut o = options(Some(10), Some(20), 2);
    o.keep_work = true;
    let result: RenderResult = render(&example("title-card"), &o, &out).unwrap();
    let plan = result.work_dir.clone().unwrap().join("plan");
    let (code, report) = verify_cli(&out, &plan);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["frames"], 40);
    assert_eq!(report["rFrameRate"], "10/1");
    assert_eq!(report["avgFrameRate"], "10/1");
    assert_eq!(report["durationSeconds"], 4.0);
    assert_eq!(report["indexFirst"], true);
    assert_eq!(report["plan"]["matches"], true);
    assert_eq!(report["plan"]["planHash"], result.plan_hash.as_str());

    let mut other = o.plan.clone();
    other.fps = Fps::new(15, 1);
    let other_plan = dir.path().join("plan15");
    framefan::plan::plan(&example("title-card"), &other, &other_plan).unwrap();
    let (code, report) = verify_cli(&out, &other_plan);
    assert_eq!(code, Some(3), "{report}");
    assert_eq!(report["consistent"], false);
    assert_eq!(report["plan"]["matches"], false);
    let problems = report["problems"].to_string();
    assert!(problems.contains("40 frames, the plan has 60") && problems.contains("10/1 fps"), "{problems}");
}

#[test]
fn ctrl_c_stops_the_cli_render_leaves_nothing_and_exits_130() {
    stop_cli_render("-INT", 130);
}

#[test]
fn sigterm_stops_the_cli_render_leaves_nothing_and_exits_143() {
    stop_cli_render("-TERM", 143);
}

/// How long `framefan render` may take from a SIGINT or SIGTERM to its exit, with every browser
/// reaped and the work directory removed. The product's target is 2 s (a worker's grace period
/// is longer); measured about 0.2 s on a quiet 2-core machine and 0.5–1.7 s while other renders
/// shared it (debug build). A CI machine runs other tests' browsers at the same time, so the test
/// allows twice the target.
const STOP_LIMIT: Duration = Duration::from_secs(4);

/// Start a CLI render in a session of its own, send `signal` once frames are coming, and check
/// that it exits with `code` within [`STOP_LIMIT`], leaving no file and no process behind.
fn stop_cli_render(signal: &str, code: i32) {
    use std::io::BufRead as _;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("interrupted.mp4");
    let mut child = framefan_in_session()
        .arg("render")
        .arg(example("title-card"))
        .arg("-o")
        .arg(&out)
        .args(["--progress", "ndjson", "--quality", "draft", "--workers", "2"])
        .env("FRAMEFAN_PACKAGE_CACHE", package_cache())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut last = serde_json::Value::Null;
    for line in lines.by_ref() {
        last = serde_json::from_str(&line.unwrap()).unwrap();
        if last["stage"] == "render" && last["framesRendered"].as_i64().unwrap() > 0 {
            break;
        }
    }
    assert_eq!(last["stage"], "render", "the render never started: {last}");
    let signalled = Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap();
    assert!(signalled.success());
    let sent = Instant::now();
    let rest: Vec<serde_json::Value> = lines.map(|l| serde_json::from_str(&l.unwrap()).unwrap()).collect();
    let status = child.wait().unwrap();
    let took = sent.elapsed();
    eprintln!("framefan render exited {took:?} after {signal}");
    assert_eq!(status.code(), Some(code));
    assert!(took <= STOP_LIMIT, "exit {took:?} after {signal}, more than {STOP_LIMIT:?}");
    assert_session_empty(child.id(), "a stopped render");
    let failed = rest.last().unwrap();
    assert_eq!((failed["event"].as_str(), failed["code"].as_str()), (Some("render.failed"), Some("CANCELLED")));
    assert!(!rest.iter().any(|e| e["event"] == "render.completed"));
    only(dir.path(), &[]);
}

/// `framefan render PROJECT -o OUT --json` (draft, 10 fps, 2 workers) as the leader of a session
/// of its own: its output and the session's id.
fn render_in_session(project: &Path, out: &Path) -> (std::process::Output, u32) {
    let child = framefan_in_session()
        .arg("render")
        .arg(project)
        .arg("-o")
        .arg(out)
        .args(["--quality", "draft", "--fps", "10", "--workers", "2", "--json"])
        .env("FRAMEFAN_PACKAGE_CACHE", package_cache())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let sid = child.id();
    (child.wait_with_output().unwrap(), sid)
}

#[test]
fn a_finished_render_leaves_no_process_behind() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("clean.mp4");
    let (output, sid) = render_in_session(&example("title-card"), &out);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    // The probe's browser and every chunk's, with their zygotes, GPU, renderer and utility
    // processes, were reaped before framefan exited.
    assert_session_empty(sid, "a finished render");
    only(dir.path(), &["clean.mp4"]);
}

/// A render that fails in a chunk (a page script that never yields from t = 1 s on: the probe
/// passes it, the second chunk's browser stalls on it) ends every browser before it exits.
#[test]
fn a_failed_render_leaves_no_process_behind() {
    let project = crate::probe::loops_from_one_second();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("failed.mp4");
    let (output, sid) = render_in_session(project.path(), &out);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("PAGE_SCRIPT_TIMEOUT") && stderr.contains("spin.js:4"), "{stderr}");
    assert_session_empty(sid, "a failed render");
    only(dir.path(), &[]);
}
