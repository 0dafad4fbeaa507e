//! Object-storage figures against a real S3-compatible server on loopback (moto):
//!
//! - plan upload and download + verify of each example (fresh cache per run);
//! - chunk upload: each fixture chunk as `render-chunk` uploads it (one PUT, or multipart);
//! - assemble of 30 fixture chunks (1080p30 H.264, 240 frames each) from `s3://` against the
//!   same chunks from local disk, output on local disk in both.
//!
//! Each figure is the median of RUNS runs, wall time; method and results in benches/README.md.
//! Run with `cargo bench --bench store` (needs `moto_server`, see .ci/deps/40-store.sh).

#[path = "fixtures.rs"]
mod fixtures;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use framefan::store::ops::{assemble_at, AudioSource, ChunkSource};
use framefan::store::{block_on, plan as remote_plan, transfer, Location, Remote};

const RUNS: usize = 3;
const CHUNKS: usize = 30;

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

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
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

fn plans_of_examples(root: &Path) {
    let package_cache = std::env::var_os("FRAMEFAN_PACKAGE_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/package-cache"));
    for name in ["title-card", "nested-scenes", "media"] {
        let config = framefan::PlanConfig { package_cache: Some(package_cache.clone()), ..Default::default() };
        let local = root.join(format!("plan-{name}"));
        let _ = std::fs::remove_dir_all(&local);
        framefan::plan(&Path::new("examples").join(name), &config, &local).unwrap();
        let dest = remote(&format!("s3://bench/plans/{name}"));
        let (up, manifest) = time(|| block_on(remote_plan::upload(&local, &dest, None)).unwrap().unwrap());
        let fetches: Vec<f64> = (0..RUNS)
            .map(|i| {
                fresh_cache(root, i);
                time(|| block_on(remote_plan::fetch(&dest, None)).unwrap().unwrap()).0
            })
            .collect();
        println!(
            "plan {name}: {} files, {:.2} MB; upload {:.0} ms; download + verify {:.0} ms (median of {RUNS}, fresh cache)",
            manifest.files.len(),
            manifest.total_bytes as f64 / 1e6,
            up,
            median(fetches)
        );
    }
}

fn chunk_uploads(chunks: &[PathBuf]) {
    let mut ms = Vec::new();
    for (i, c) in chunks.iter().enumerate() {
        let dest = remote(&format!("s3://bench/chunks/chunk-{i:03}.mp4"));
        ms.push(time(|| block_on(transfer::upload_file(c, &dest, None)).unwrap().unwrap()).0);
    }
    let bytes = fixtures::total_bytes(chunks) as f64;
    let total: f64 = ms.iter().sum();
    println!(
        "chunk upload: {} chunks, {:.1} MB each on average; median {:.0} ms per chunk, {:.0} MB/s overall",
        chunks.len(),
        bytes / chunks.len() as f64 / 1e6,
        median(ms.clone()),
        bytes / 1e6 / (total / 1000.0)
    );
}

fn assembles(root: &Path, plan: &Path, chunks: &[PathBuf]) {
    let out = root.join("out.mp4");
    let options = framefan::AssembleOptions::default();
    let local: Vec<f64> =
        (0..RUNS).map(|_| time(|| framefan::assemble(plan, chunks, None, &out, &options).unwrap()).0).collect();
    let plan_arg = plan.to_str().unwrap();
    let from_s3: Vec<f64> = (0..RUNS)
        .map(|i| {
            fresh_cache(root, 10 + i);
            let source = ChunkSource::Dir("s3://bench/chunks/".into());
            time(|| assemble_at(plan_arg, &source, &AudioSource::None, out.to_str().unwrap(), &options, None).unwrap())
                .0
        })
        .collect();
    let to_s3: Vec<f64> = (0..RUNS)
        .map(|i| {
            fresh_cache(root, 20 + i);
            let source = ChunkSource::Dir("s3://bench/chunks/".into());
            time(|| assemble_at(plan_arg, &source, &AudioSource::None, "s3://bench/out.mp4", &options, None).unwrap()).0
        })
        .collect();
    let (l, s, s2) = (median(local), median(from_s3), median(to_s3));
    let mb = fixtures::total_bytes(chunks) as f64 / 1e6;
    println!("assemble {CHUNKS} chunks ({mb:.0} MB), medians of {RUNS}:");
    println!("  local disk → local disk   {l:.0} ms");
    println!("  s3:// → local disk        {s:.0} ms  ({:.2}× local)", s / l);
    println!("  s3:// → s3:// (multipart) {s2:.0} ms  ({:.2}× local)", s2 / l);
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
    plans_of_examples(&root);
    let chunks = fixtures::ensure_chunks(CHUNKS);
    let plan = fixtures::ensure_plan(CHUNKS, false);
    chunk_uploads(&chunks);
    assembles(&root, &plan, &chunks);
}
