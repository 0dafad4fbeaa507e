//! Object-storage figures against a real S3-compatible server on loopback (moto):
//!
//! - plan upload and download + verify of each example (fresh cache per run);
//! - chunk upload: each fixture chunk with its sidecar, as `render-chunk` uploads them;
//! - assemble of 30 fixture chunks (1080p30 H.264, 120 frames each, with sidecars) from local
//!   disk and from `s3://` (downloads overlapping the concat), the two run alternately in one
//!   process so they share the machine's load, each pair followed by the previous behaviour
//!   (download every chunk, 4 in flight, then assemble locally), whose download alone is the
//!   floor no s3:// assemble can beat; then s3:// → s3:// (3 runs).
//!
//! Each figure is min / median / max of RUNS runs, wall time; method and results in
//! benches/README.md. Run with `cargo bench --bench store` (needs `moto_server`, see
//! .ci/deps/40-store.sh).
#[path = "fixtures.rs"]
mod fixtures;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use framefan::store::{block_on, chunks, plan as remote_plan, transfer, Location, Remote};
use framefan::{AudioSource, ChunkSource};
use futures_util::{StreamExt, TryStreamExt};

const RUNS: usize = 5;
const CHUNKS: usize = 30;
/// Frames per chunk: the 30 × 120-frame 1080p chunks.
const FRAMES: i64 = 120;

struct Moto(Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_moto() -> (Moto, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server (pip install 'moto[server]')");
    let endpoint = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let made = Command::new("curl").args(["-sf", "-X", "PUT", &format!("{endpoint}/bench")]).output();
        if made.is_ok_and(|o| o.status.success()) {
            break;
        }
        assert!(Instant::now() < deadline, "moto did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    (Moto(child), endpoint)
}

fn remote(url: &str) -> Remote {
    match Location::parse(url).unwrap() {
        Location::Remote(r) => r,
        Location::Local(_) => unreachable!(),
    }
}

/// min / median / max of `v`, in ms.
struct Spread {
    min: f64,
    median: f64,
    max: f64,
}

fn spread(mut v: Vec<f64>) -> Spread {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    Spread { min: v[0], median: v[v.len() / 2], max: v[v.len() - 1] }
}

impl std::fmt::Display for Spread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.0} / {:.0} / {:.0} ms", self.min, self.median, self.max)
    }
}

fn time<T>(f: impl FnOnce() -> T) -> (f64, T) {
    let t = Instant::now();
    let out = f();
    (t.elapsed().as_secs_f64() * 1000.0, out)
}

fn fresh_cache(root: &Path, n: usize) {
    let dir = root.join(format!("cache-{n}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::env::set_var("FRAMEFAN_CACHE_DIR", &dir);
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn plans_of_examples(root: &Path) {
    let package_cache = std::env::var_os("FRAMEFAN_PACKAGE_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/package-cache"));
    for name in ["title-card", "nested-scenes", "media"] {
        let config = framefan::PlanConfig { package_cache: Some(package_cache.clone()), ..Default::default() };
        let local = root.join(format!("plan-{name}"));
        let _ = std::fs::remove_dir_all(&local);
        if let Err(e) = framefan::plan::plan(&Path::new("examples").join(name), &config, &local) {
            println!("plan {name}: not planned here ({e}); skipped");
            continue;
        }
        let dest = remote(&format!("s3://bench/plans/{name}"));
        let (up, manifest) = time(|| block_on(remote_plan::upload(&local, &dest, None)).unwrap().unwrap());
        let fetches: Vec<f64> = (0..RUNS)
            .map(|i| {
                fresh_cache(root, i);
                time(|| block_on(remote_plan::fetch(&dest, None)).unwrap().unwrap()).0
            })
            .collect();
        println!(
            "plan {name}: {} files, {:.2} MB; upload {up:.0} ms; download + verify {} (min/median/max of {RUNS}, fresh cache)",
            manifest.files.len(),
            manifest.total_bytes as f64 / 1e6,
            spread(fetches)
        );
    }
}

/// Sidecars as render-chunk writes them (planHash and sha256), so both assembles check digests.
fn write_sidecars(chunks: &[PathBuf]) {
    for c in chunks {
        if !framefan::sidecar::path(c).exists() {
            let sha = framefan::digest::file(c).unwrap();
            framefan::sidecar::write(c, &serde_json::json!({"planHash": fixtures::PLAN_HASH, "sha256": sha})).unwrap();
        }
    }
}

fn chunk_uploads(chunks: &[PathBuf]) {
    let mut ms = Vec::new();
    for (i, c) in chunks.iter().enumerate() {
        let dest = remote(&format!("s3://bench/chunks/chunk-{i:03}.mp4"));
        ms.push(time(|| block_on(chunks::upload(c, &dest, None)).unwrap().unwrap()).0);
    }
    let bytes = fixtures::total_bytes(chunks) as f64;
    let total: f64 = ms.iter().sum();
    println!(
        "chunk + sidecar upload: {} chunks, {:.1} MB each on average; per chunk {}, {:.0} MB/s overall",
        chunks.len(),
        bytes / chunks.len() as f64 / 1e6,
        spread(ms.clone()),
        bytes / 1e6 / (total / 1000.0)
    );
}

/// The 30 chunk objects downloaded to local disk, 4 in flight, nothing else; returns the time
/// and the local paths (in `root/download-only/`, replaced by each call).
fn download_only(root: &Path) -> (f64, Vec<PathBuf>) {
    let dir = root.join("download-only");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let paths: Vec<PathBuf> = (0..CHUNKS).map(|i| dir.join(format!("chunk-{i:03}.mp4"))).collect();
    let (ms, _) = time(|| {
        block_on(
            futures_util::stream::iter(0..CHUNKS)
                .map(|i| {
                    let src = remote(&format!("s3://bench/chunks/chunk-{i:03}.mp4"));
                    let dest = paths[i].clone();
                    async move {
                        let sidecar = src.with_suffix(".perf.json");
                        let code = framefan::Code::MissingChunk;
                        transfer::download_file(&sidecar, &framefan::sidecar::path(&dest), code, None).await?;
                        transfer::download_file(&src, &dest, code, None).await
                    }
                })
                .buffered(chunks::DOWNLOADS_IN_FLIGHT)
                .try_collect::<Vec<_>>(),
        )
        .unwrap()
        .unwrap()
    });
    (ms, paths)
}

fn assembles(root: &Path, plan: &Path, chunks: &[PathBuf]) {
    let out = root.join("out.mp4");
    let options = framefan::AssembleOptions::default();
    let plan_at = Location::from(plan);
    let source = ChunkSource::Dir(Location::parse("s3://bench/chunks/").unwrap());
    let from_s3 = |n: usize, out: &str| {
        fresh_cache(root, n);
        let out = Location::parse(out).unwrap();
        let (ms, r) = time(|| framefan::assemble(&plan_at, &source, &AudioSource::None, &out, &options).unwrap());
        (ms, r.storage.download_ms as f64)
    };
    let before = load();
    let (mut local, mut s3, mut waited, mut ratios) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut downloads, mut sequential) = (Vec::new(), Vec::new());
    for i in 0..RUNS {
        let l = time(|| framefan::assemble::assemble(plan, chunks, None, &out, &options).unwrap()).0;
        let local_sha = framefan::digest::file(&out).unwrap();
        let (s, w) = from_s3(10 + i, out.to_str().unwrap());
        assert_eq!(framefan::digest::file(&out).unwrap(), local_sha, "s3:// assemble differs from local");
        // The previous behaviour: every chunk downloaded first, then the local assemble.
        let (d, paths) = download_only(root);
        let a = time(|| framefan::assemble::assemble(plan, &paths, None, &out, &options).unwrap()).0;
        local.push(l);
        s3.push(s);
        waited.push(w);
        ratios.push(s / l);
        downloads.push(d);
        sequential.push(d + a);
    }
    let _ = std::fs::remove_dir_all(root.join("download-only"));
    let to_s3: Vec<f64> = (0..3).map(|i| from_s3(20 + i, "s3://bench/out.mp4").0).collect();
    let mb = fixtures::total_bytes(chunks) as f64 / 1e6;
    let (l, s) = (spread(local), spread(s3));
    println!("assemble {CHUNKS} × {FRAMES}-frame 1080p chunks ({mb:.0} MB), min / median / max of {RUNS}:");
    println!("  local disk → local disk        {l}");
    println!("  s3:// → local disk             {s}  ({:.2}× local, medians)", s.median / l.median);
    println!("    of which waiting on downloads {}", spread(waited));
    let r = spread(ratios);
    println!("    per-pair ratio s3/local      {:.2}× / {:.2}× / {:.2}×", r.min, r.median, r.max);
    println!("  download only (4 in flight)    {}  (the floor for s3://)", spread(downloads));
    let q = spread(sequential);
    println!(
        "  download all, then assemble    {q}  ({:.2}× local, medians; the previous behaviour)",
        q.median / l.median
    );
    println!("  s3:// → s3:// (multipart)      {}  (3 runs)", spread(to_s3));
    println!("  load average before: {before}; after: {}", load());
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("store: bench");
        return;
    }
    let (_moto, endpoint) = start_moto();
    for (k, v) in [
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ALLOW_HTTP", "true"),
    ] {
        std::env::set_var(k, v);
    }
    let root = fixtures::root().join("store");
    std::fs::create_dir_all(&root).unwrap();
    println!("load average at start: {}", load());
    plans_of_examples(&root);
    let chunks = fixtures::ensure_chunks_of(CHUNKS, FRAMES);
    write_sidecars(&chunks);
    let plan = fixtures::ensure_plan_of(CHUNKS, FRAMES, false);
    chunk_uploads(&chunks);
    assembles(&root, &plan, &chunks);
}
