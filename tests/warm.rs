//! Warm browsers: several chunks of one plan rendered by one session (the page loaded once)
//! are byte-identical to the same chunks rendered cold, one process each, in any order.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use framefan::plan::config::Quality;
use framefan::plan::{OutputFormat, Plan, PlanConfig};
use framefan::render::{render_chunk, ChunkOptions, ChunkResult, ChunkSession};
use framefan::{Control, Event};

use crate::page_plan::{write_page_plan, PagePlan};
use crate::render::{marker_page, read_marker};

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(name)
}

/// Plan an example at the draft tier with small chunks (fast to render, many seams).
fn plan_example(dir: &Path, name: &str, format: OutputFormat, chunk: i64) -> PathBuf {
    let plan_dir = dir.join(format!("plan-{name}"));
    let cache = std::env::var_os("FRAMEFAN_PACKAGE_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/package-cache"));
    let config = PlanConfig {
        format,
        quality: Quality::Draft,
        chunk_size: Some(chunk),
        gop_size: Some(chunk),
        package_cache: Some(cache),
        ..PlanConfig::default()
    };
    framefan::plan::plan(&example(name), &config, &plan_dir).expect("the example plans");
    plan_dir
}

fn chunk_out(dir: &Path, tag: &str, index: i64, format: OutputFormat) -> PathBuf {
    let folder = dir.join(tag);
    std::fs::create_dir_all(&folder).unwrap();
    folder.join(framefan::store::chunks::chunk_name(index as u32, format))
}

/// The sidecar without its timings, which are the only field a warm chunk may change.
fn sidecar_sans_timings(chunk: &Path) -> serde_json::Value {
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(framefan::sidecar::path(chunk)).unwrap()).unwrap();
    v.as_object_mut().unwrap().remove("timings");
    v
}

/// Render `order` with one session of `browsers` browsers, then each chunk cold, and compare.
fn warm_equals_cold(plan: &Path, order: &[i64], browsers: usize) -> Vec<ChunkResult> {
    let dir = plan.parent().unwrap();
    let format = Plan::load(plan).unwrap().dimensions.format;
    let options = ChunkOptions { browsers: Some(browsers), ..Default::default() };
    let mut session = ChunkSession::open(plan, &options).unwrap();
    let warm: Vec<ChunkResult> = order
        .iter()
        .map(|&i| session.render(i, &chunk_out(dir, "warm", i, format), &Control::default()).unwrap())
        .collect();
    session.close();
    for (k, (result, &i)) in warm.iter().zip(order).enumerate() {
        assert_eq!(result.start.warm, k > 0, "chunk {i}: only the session's first chunk launches browsers");
        if k > 0 {
            assert_eq!(result.start.launch_ms, 0);
            assert_eq!(result.timings.session_boot_ms, result.start.load_ms, "a warm chunk's boot is its reload");
            assert_eq!(result.timings.plan_hash_ms, 0, "the planHash is checked once per session");
        }
        let cold_out = chunk_out(dir, "cold", i, format);
        let cold = render_chunk(plan, i, &cold_out, &options).unwrap();
        assert!(!cold.start.warm);
        assert_eq!(result.sha256, cold.sha256, "chunk {i} rendered warm (position {k} in {order:?}) differs from cold");
        assert_eq!(sidecar_sans_timings(&result.output_path), sidecar_sans_timings(&cold_out), "chunk {i}'s sidecar");
    }
    warm
}

/// The chunk that holds `frame`.
fn chunk_with(plan: &Path, frame: i64) -> i64 {
    let plan = Plan::load(plan).unwrap();
    plan.chunks.iter().position(|c| c.start_frame <= frame && frame < c.end_frame).unwrap() as i64
}

#[test]
fn title_card_chunks_rendered_warm_out_of_order_match_cold_ones() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan_example(dir.path(), "title-card", OutputFormat::Mp4, 10);
    warm_equals_cold(&plan, &[2, 0, 1], 1);
}

#[test]
fn nested_scenes_chunks_rendered_warm_out_of_order_match_cold_ones() {
    // The outro's first frames hold a discrete keyframe (letter-spacing 40px → normal), once
    // seen stale in one chunk under load: its chunk goes first, then chunks 0 and 1 (a rewound
    // page drawing frame 0 and 1 after frame 230), then the cards' entrance.
    let dir = tempfile::tempdir().unwrap();
    let plan = plan_example(dir.path(), "nested-scenes", OutputFormat::Mp4, 8);
    // The chunk holding frame 114 drawn right after the one holding frame 100 came out 1 LSB off
    // when a warm page was only seeked back (Chromium's compositor keeps state across frames).
    let outro = chunk_with(&plan, 226);
    let (before, after) = (chunk_with(&plan, 100), chunk_with(&plan, 114));
    warm_equals_cold(&plan, &[outro, 0, 1, before, after], 2);
}

#[test]
fn png_sequence_chunks_rendered_warm_match_cold_ones() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan_example(dir.path(), "title-card", OutputFormat::PngSequence, 4);
    let last = Plan::load(&plan).unwrap().chunks.len() as i64 - 1;
    warm_equals_cold(&plan, &[last, 0, 1], 1);
}

#[test]
fn a_cancelled_chunk_ends_the_browsers_and_the_next_chunk_relaunches_them() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan");
    write_page_plan(&plan, &PagePlan::mp4(&marker_page(30), 30, 10));
    let options = ChunkOptions { browsers: Some(1), ..Default::default() };
    let mut session = ChunkSession::open(&plan, &options).unwrap();
    let first = session.render(0, &dir.path().join("c0.mp4"), &Control::default()).unwrap();
    assert!(!first.start.warm);
    // Cancelled after its third frame: nothing published, the browser ended.
    let cancel = Control::new();
    let handle = cancel.clone();
    let control = cancel.child_with_events(Some(Arc::new(move |e: &Event| {
        if matches!(e, Event::Frames { done, .. } if *done >= 3) {
            handle.cancel();
        }
    })));
    let stopped = session.render(1, &dir.path().join("c1.mp4"), &control);
    let err = stopped.map(|_| ()).unwrap_err();
    assert_eq!(err.code(), "CANCELLED", "{err}");
    assert!(!dir.path().join("c1.mp4").exists());
    let again = session.render(1, &dir.path().join("c1.mp4"), &Control::default()).unwrap();
    assert!(!again.start.warm, "after a failed chunk the browser is launched anew");
    let warm = session.render(2, &dir.path().join("c2.mp4"), &Control::default()).unwrap();
    assert!(warm.start.warm);
    session.close();
    for (i, r) in [(1, &again), (2, &warm)] {
        let cold = render_chunk(&plan, i, &dir.path().join(format!("cold{i}.mp4")), &options).unwrap();
        assert_eq!(r.sha256, cold.sha256, "chunk {i}");
    }
    let frames = crate::render::decode_gray(&dir.path().join("c2.mp4"), 320, 240);
    assert_eq!(read_marker(&frames[0], 320), 20);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".work."))
        .collect();
    assert!(leftovers.is_empty(), "scratch left behind: {leftovers:?}");
}

/// `render-chunk --json` with several chunks, as the leader of a session of its own: one result
/// per chunk, and no process of it left once it exited.
fn framefan_chunks(plan: &Path, out: &str, args: &[&str], env: &[(&str, &str)]) -> Vec<serde_json::Value> {
    let mut cmd = crate::util::framefan_in_session();
    cmd.arg("render-chunk").arg(plan).arg(out).args(args).arg("--json");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let sid = child.id();
    let run = child.wait_with_output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    crate::util::assert_session_empty(sid, "render-chunk with several indexes");
    String::from_utf8(run.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn cli_renders_a_list_or_a_task_range_of_chunks_in_one_process() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan");
    write_page_plan(&plan, &PagePlan::mp4(&marker_page(30), 40, 10));
    let out = format!("{}/list/", dir.path().display());
    let listed = framefan_chunks(&plan, &out, &["--indexes", "2,0", "--browsers", "1"], &[]);
    let indexes: Vec<i64> = listed.iter().map(|r| r["index"].as_i64().unwrap()).collect();
    assert_eq!(indexes, [2, 0]);
    assert_eq!(listed[1]["start"]["warm"], true);
    let tasked = framefan_chunks(
        &plan,
        &format!("{}/task/", dir.path().display()),
        &["--chunks-per-task", "3", "--browsers", "1"],
        &[("JOB_COMPLETION_INDEX", "1")],
    );
    assert_eq!(tasked.iter().map(|r| r["index"].as_i64().unwrap()).collect::<Vec<_>>(), [3], "task 1 of 3-chunk tasks");
    for (i, result) in [(2, &listed[0]), (0, &listed[1])] {
        let cold = render_chunk(
            &plan,
            i,
            &dir.path().join(format!("cold{i}.mp4")),
            &ChunkOptions { browsers: Some(1), ..Default::default() },
        )
        .unwrap();
        assert_eq!(result["sha256"], cold.sha256.as_str(), "chunk {i}");
        assert!(dir.path().join(format!("list/chunk-{i:03}.mp4.perf.json")).is_file());
    }
    // Several indexes into one file name is a usage error, and a bad index fails before any chunk.
    let file = dir.path().join("one.mp4");
    let usage = Command::new(crate::util::framefan_bin())
        .arg("render-chunk")
        .arg(&plan)
        .arg(&file)
        .args(["--index", "0", "--index", "1"])
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2));
    let bad = Command::new(crate::util::framefan_bin())
        .arg("render-chunk")
        .arg(&plan)
        .arg(format!("{}/bad/", dir.path().display()))
        .args(["--indexes", "0-9", "--json"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(3));
    assert!(!dir.path().join("bad/chunk-000.mp4").exists(), "nothing rendered before the index check");
}

#[test]
fn sigterm_between_warm_chunks_keeps_the_finished_ones_and_leaves_no_process_or_scratch() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan");
    write_page_plan(&plan, &PagePlan::mp4(&marker_page(30), 120, 10));
    let out = dir.path().join("chunks");
    let mut child = crate::util::framefan_in_session()
        .arg("render-chunk")
        .arg(&plan)
        .arg(format!("{}/", out.display()))
        .args(["--indexes", "0-11", "--browsers", "1", "--json", "--progress"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let sid = child.id();
    // The first chunk's result line.
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert_eq!(serde_json::from_str::<serde_json::Value>(&first).unwrap()["index"], 0);
    // The second chunk's first encoded frame: the warm browser is capturing chunk 1. The rest of
    // stderr is drained on a thread, so that the progress lines never fill the pipe.
    let mut events = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let under_way = events.by_ref().map_while(|l| l.ok()).any(|line| {
        serde_json::from_str::<serde_json::Value>(&line)
            .is_ok_and(|e| e["event"] == "chunk.progress" && e["index"] == 1)
    });
    assert!(under_way, "render-chunk ended before chunk 1 encoded a frame");
    let drain = std::thread::spawn(move || events.for_each(drop));
    let sent = std::time::Instant::now();
    Command::new("kill").args(["-TERM", &sid.to_string()]).status().unwrap();
    let status = child.wait().unwrap();
    let took = sent.elapsed();
    assert_eq!(status.code(), Some(143));
    assert!(took <= std::time::Duration::from_secs(4), "exit {took:?} after SIGTERM");
    crate::util::assert_session_empty(sid, "render-chunk stopped between warm chunks");
    drain.join().unwrap();
    let mut names: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert!(names.starts_with(&["chunk-000.mp4".to_string(), "chunk-000.mp4.perf.json".to_string()]), "{names:?}");
    assert!(!names.iter().any(|n| n.contains(".work.") || n.starts_with('.')), "scratch or staging left: {names:?}");
    assert!(!names.iter().any(|n| n.starts_with("chunk-011")), "{names:?}");
}
