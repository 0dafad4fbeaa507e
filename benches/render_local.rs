//! `framefan render` on one machine against the parallel capture-only ceiling.
//!
//! Method (benches/README.md): the 10 s 1080p30 example `examples/nested-scenes` (300 frames).
//! 1. Capture-only ceiling: `cores` browsers at once on the frozen plan, each seeking and
//!    capturing (beginFrame, JPEG) every `cores`-th frame, nothing decoded or encoded; frames ÷
//!    wall time from the moment all are ready. Also one browser alone, and the chunk start-up
//!    (launch → first frame, median of 5).
//! 2. The release `framefan render` binary with `--workers 1`, `2` and auto, at the draft tier
//!    (and auto at the standard tier): wall time of the process, its stage timings (`--json`),
//!    and the peak resident memory of the whole process tree (framefan and its browsers, sampled
//!    every 50 ms from /proc; shared pages are counted once per process, so it overestimates).
//! 3. The target: auto wall ≤ 1.2 × frames ÷ ceiling + one start-up + the assemble.
//!
//! Run with `cargo build --release && cargo bench --bench render_local`; figures go to stdout.

#[path = "../tests/page_plan.rs"]
#[allow(dead_code)] // only the capture page helper is used here
mod page_plan;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use framefan::engine::capture::{Capturer, ShotFormat};
use framefan::engine::server::FileServer;

const FRAMES: i64 = 300;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn project() -> PathBuf {
    root().join("examples/nested-scenes")
}

async fn open(plan: &Path, scratch: &Path) -> (FileServer, Capturer) {
    let runtime = framefan::runtime::Runtime::of_plan(plan).unwrap();
    let server = FileServer::start(
        framefan::plan::layout::PlanLayout::new(plan).site(runtime.as_ref().map(|r| r.source.as_str())).unwrap(),
    )
    .await
    .unwrap();
    let page = page_plan::capture_spec(scratch, 1920, 1080, ShotFormat::Jpeg(80));
    let cap = Capturer::launch(&server, &page, &framefan::Control::default()).await.unwrap();
    (server, cap)
}

/// A browser on the plan with `first` captured. A first frame without damage can come back
/// without an image on a loaded machine (render_chunk's pool retries that); so does this, up to
/// three launches.
async fn ready(plan: &Path, scratch: &Path, first: i64) -> (FileServer, Capturer) {
    for attempt in 0..3 {
        let (server, mut cap) = open(plan, scratch).await;
        match cap.frame(first).await {
            Ok(_) => return (server, cap),
            Err(e) if attempt < 2 => {
                eprintln!("first frame failed ({e}); relaunching");
                cap.close().await;
            }
            Err(e) => panic!("first frame: {e}"),
        }
    }
    unreachable!()
}

/// Launch → page ready → first frame.
async fn startup(plan: &Path) -> Duration {
    let scratch = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let (_server, cap) = ready(plan, scratch.path(), 0).await;
    let took = t.elapsed();
    cap.close().await;
    took
}

/// Frames per second of `browsers` browsers capturing all frames between them.
async fn ceiling(plan: &Path, browsers: i64) -> f64 {
    let scratch = tempfile::tempdir().unwrap();
    let mut opened = Vec::new();
    for b in 0..browsers {
        let dir = scratch.path().join(b.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        opened.push(ready(plan, &dir, b).await);
    }
    let t = Instant::now();
    let tasks = opened.into_iter().enumerate().map(|(b, (server, mut cap))| async move {
        let mut f = b as i64 + browsers;
        while f < FRAMES {
            cap.frame(f).await.unwrap();
            f += browsers;
        }
        cap.close().await;
        drop(server);
    });
    futures_util::future::join_all(tasks).await;
    (FRAMES - browsers) as f64 / t.elapsed().as_secs_f64()
}

/// Resident bytes of `pid` and all its descendants, from /proc.
fn tree_rss(pid: u32) -> u64 {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(p) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else { continue };
        let after = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
        if let Some(ppid) = after.split_whitespace().nth(1).and_then(|s| s.parse::<u32>().ok()) {
            children.entry(ppid).or_default().push(p);
        }
    }
    let (mut total, mut stack) = (0, vec![pid]);
    while let Some(p) = stack.pop() {
        let statm = std::fs::read_to_string(format!("/proc/{p}/statm")).unwrap_or_default();
        total += statm.split_whitespace().nth(1).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0) * 4096;
        stack.extend(children.get(&p).into_iter().flatten());
    }
    total
}

struct Run {
    wall: Duration,
    peak_rss: u64,
    result: serde_json::Value,
}

fn render(workers: Option<u32>, quality: &str, out_dir: &Path) -> Run {
    let bin = root().join("target/release/framefan");
    assert!(bin.exists(), "build the release binary first: cargo build --release");
    let out = out_dir.join(format!("out-{}-{quality}.mp4", workers.map_or("auto".into(), |w| w.to_string())));
    let mut cmd = Command::new(bin);
    cmd.arg("render").arg(project()).arg("-o").arg(&out).args(["--quality", quality, "--progress", "none", "--json"]);
    if let Some(w) = workers {
        cmd.args(["--workers", &w.to_string()]);
    }
    let t = Instant::now();
    let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
    let mut peak = 0;
    while child.try_wait().unwrap().is_none() {
        peak = peak.max(tree_rss(child.id()));
        std::thread::sleep(Duration::from_millis(50));
    }
    let wall = t.elapsed();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let result = serde_json::from_slice(&output.stdout).unwrap();
    Run { wall, peak_rss: peak, result }
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan");
    framefan::plan::plan(&project(), &framefan::PlanConfig::default(), &plan).unwrap();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) as i64;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut startups: Vec<Duration> = (0..5).map(|_| rt.block_on(startup(&plan))).collect();
    startups.sort();
    let start_up = startups[2];
    let one = rt.block_on(ceiling(&plan, 1));
    let parallel = rt.block_on(ceiling(&plan, cores));
    println!("chunk start-up (launch → first frame), median of 5: {:.0} ms", start_up.as_secs_f64() * 1e3);
    println!("capture-only ceiling: 1 browser {one:.1} frames/s; {cores} browsers {parallel:.1} frames/s");
    let ideal = FRAMES as f64 / parallel;
    println!("frames ÷ parallel ceiling: {ideal:.2} s for {FRAMES} frames of 1920x1080");
    for (workers, quality) in [(Some(1), "draft"), (Some(2), "draft"), (None, "draft"), (None, "standard")] {
        let run = render(workers, quality, dir.path());
        let t = &run.result["timings"];
        let assemble = t["assembleMs"].as_f64().unwrap_or(0.0) / 1e3;
        let target = 1.2 * ideal + start_up.as_secs_f64() + assemble;
        let wall = run.wall.as_secs_f64();
        println!(
            "render --workers {} --quality {quality}: wall {wall:.2} s ({:.1} frames/s), plan {} ms, render {} ms, \
             assemble {} ms, {} chunks on {} workers, peak RSS of the process tree {:.0} MiB; \
             target {target:.2} s → {:.2}× of it",
            workers.map_or("auto".to_string(), |w| w.to_string()),
            FRAMES as f64 / wall,
            t["planMs"],
            t["renderMs"],
            t["assembleMs"],
            run.result["chunkCount"],
            run.result["workers"],
            run.peak_rss as f64 / (1 << 20) as f64,
            wall / target
        );
    }
}
