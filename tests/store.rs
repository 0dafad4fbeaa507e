//! Object storage against a real S3-compatible server: moto (`moto_server`, installed by
//! `.ci/deps/40-store.sh`) started by each test on a free loopback port and stopped when it ends.
//! Workers are separate `framefan` processes with the environment an engine gives them.

use std::io::{BufRead, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use framefan::store::downloads::ChunkDownloads;
use framefan::store::{block_on, transfer, Location, Remote};
use framefan::Code;

use crate::util::{framefan_bin, make_render, write_sidecar, PlanSpec};

const BUCKET: &str = "framefan";

/// A moto S3 server on loopback, killed on drop.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Moto {
    pub fn start() -> Moto {
        let port = free_port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server is installed by .ci/install-deps (.ci/deps/40-store.sh)");
        let mut moto = Moto { child, endpoint: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(30);
        while http(port, "PUT", &format!("/{BUCKET}")).is_none_or(|status| status != 200) {
            assert!(Instant::now() < deadline, "moto_server did not come up on port {port}");
            assert!(moto.child.try_wait().unwrap().is_none(), "moto_server exited");
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// The environment an engine would give a worker, with `endpoint` (the server or a proxy).
    pub fn env_via(&self, cmd: &mut Command, endpoint: &str, cache: &Path) {
        cmd.env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_ALLOW_HTTP", "true")
            .env("FRAMEFAN_CACHE_DIR", cache)
            .env_remove("JOB_COMPLETION_INDEX")
            .env_remove("CLOUD_RUN_TASK_INDEX")
            .env_remove("AWS_BATCH_JOB_ARRAY_INDEX")
            .env_remove("SLURM_ARRAY_TASK_ID");
    }

    pub fn env(&self, cmd: &mut Command, cache: &Path) {
        self.env_via(cmd, &self.endpoint.clone(), cache)
    }

    /// An object handle for in-process checks (explicit settings, no process environment).
    pub fn remote(&self, key: &str) -> Remote {
        let opts: Vec<(String, String)> = [
            ("aws_access_key_id", "test"),
            ("aws_secret_access_key", "test"),
            ("aws_region", "us-east-1"),
            ("aws_endpoint", self.endpoint.as_str()),
            ("aws_allow_http", "true"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        match Location::parse_with(&format!("s3://{BUCKET}/{key}"), &opts).unwrap() {
            Location::Remote(r) => r,
            Location::Local(_) => unreachable!(),
        }
    }

    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        match block_on(transfer::get_bytes(&self.remote(key), Code::MissingChunk)).unwrap() {
            Ok(b) => Some(b.to_vec()),
            Err(e) if e.kind() == Code::MissingChunk => None,
            Err(e) => panic!("{e}"),
        }
    }

    pub fn put(&self, key: &str, bytes: Vec<u8>) {
        block_on(transfer::put_bytes(&self.remote(key), bytes.into())).unwrap().unwrap();
    }

    pub fn delete(&self, key: &str) {
        block_on(transfer::delete(&self.remote(key))).unwrap().unwrap();
    }

    pub fn keys(&self, prefix: &str) -> Vec<String> {
        block_on(transfer::list(&self.remote(prefix))).unwrap().unwrap().into_iter().map(|(k, _)| k).collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One bare HTTP request to the server; its status code.
fn http(port: u16, method: &str, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(s, "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut head = String::new();
    std::io::BufReader::new(s).read_line(&mut head).ok()?;
    head.split_whitespace().nth(1)?.parse().ok()
}

/// A loopback TCP proxy in front of the server that, while `cutting`, drops every connection
/// once `limit` bytes went upstream on it: an upload cut mid-way.
pub struct CuttingProxy {
    pub endpoint: String,
    pub cutting: Arc<AtomicBool>,
    pub cuts: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    port: u16,
}

impl CuttingProxy {
    pub fn start(upstream: &str, limit: u64) -> CuttingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let upstream = upstream.trim_start_matches("http://").to_string();
        let (cutting, cuts, stop) =
            (Arc::new(AtomicBool::new(true)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(false)));
        let (c, n, s) = (Arc::clone(&cutting), Arc::clone(&cuts), Arc::clone(&stop));
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let (Ok(client), Ok(server)) = (client, TcpStream::connect(&upstream)) else { continue };
                let (c, n) = (Arc::clone(&c), Arc::clone(&n));
                std::thread::spawn(move || pump_pair(client, server, limit, &c, &n));
            }
        });
        CuttingProxy { endpoint: format!("http://127.0.0.1:{port}"), cutting, cuts, stop, port }
    }
}

impl Drop for CuttingProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn pump_pair(client: TcpStream, server: TcpStream, limit: u64, cutting: &AtomicBool, cuts: &AtomicU64) {
    let (mut c_read, mut s_write) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let (mut s_read, mut c_write) = (server, client);
    let back = std::thread::spawn(move || {
        let _ = std::io::copy(&mut s_read, &mut c_write);
        let _ = c_write.shutdown(Shutdown::Both);
    });
    let mut sent = 0u64;
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match c_read.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let take = if cutting.load(Ordering::SeqCst) { n.min(limit.saturating_sub(sent) as usize) } else { n };
        if s_write.write_all(&buf[..take]).is_err() {
            break;
        }
        sent += take as u64;
        if take < n {
            cuts.fetch_add(1, Ordering::SeqCst);
            break;
        }
    }
    let _ = s_write.shutdown(Shutdown::Both);
    let _ = c_read.shutdown(Shutdown::Both);
    let _ = back.join();
}

/// A tiny composition: 320×240, 1 s at 30 fps, a box sliding by CSS animation.
pub fn tiny_project(dir: &Path, color: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let html = format!(
        r#"<!doctype html><html><head><style>
body {{ margin: 0; background: #102030; }}
.box {{ position: absolute; top: 90px; left: 0; width: 60px; height: 60px; background: {color};
        animation: slide 1s linear forwards; }}
@keyframes slide {{ from {{ left: 0; }} to {{ left: 260px; }} }}
</style></head><body>
<div id="root" data-composition-id="main" data-width="320" data-height="240" data-duration="1" data-fps="30" data-no-timeline>
<div class="box"></div></div></body></html>"#
    );
    std::fs::write(dir.join("index.html"), html).unwrap();
    dir.to_path_buf()
}

fn ff(moto: &Moto, cache: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(framefan_bin());
    cmd.args(args);
    moto.env(&mut cmd, cache);
    cmd
}

fn json_line(bytes: &[u8]) -> serde_json::Value {
    let text = String::from_utf8_lossy(bytes);
    let line = text.lines().rev().find(|l| l.starts_with('{')).unwrap_or_else(|| panic!("no JSON line in {text:?}"));
    serde_json::from_str(line).unwrap()
}

fn assert_ok(out: &Output, what: &str) -> serde_json::Value {
    assert!(out.status.success(), "{what}: {:?}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    json_line(&out.stdout)
}

/// The error code a failed command printed with --json, and its exit code.
fn failure(out: &Output) -> (i32, String) {
    let err = json_line(&out.stderr);
    (out.status.code().unwrap_or(-1), err["error"]["code"].as_str().unwrap_or_default().to_string())
}

fn plan_to_s3(moto: &Moto, cache: &Path, project: &Path, url: &str) -> serde_json::Value {
    let out =
        ff(moto, cache, &["plan", project.to_str().unwrap(), url, "--chunk-size", "10", "--gop-size", "10", "--json"])
            .output()
            .unwrap();
    assert_ok(&out, "plan")
}

/// Start chunk worker `index` as an Indexed Job would (JOB_COMPLETION_INDEX) and wait until it
/// has encoded a frame: it is mid-chunk.
fn worker_mid_chunk(moto: &Moto, cache: &Path, plan: &str, chunks: &str, index: u32) -> Child {
    let mut cmd = ff(moto, cache, &["render-chunk", plan, chunks, "--json", "--progress"]);
    let mut child = cmd.env("JOB_COMPLETION_INDEX", index.to_string()).stderr(Stdio::piped()).spawn().unwrap();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    for line in stderr.lines() {
        if line.unwrap().contains("\"chunk.progress\"") {
            return child;
        }
    }
    let status = child.wait().unwrap();
    panic!("worker {index} ended ({status}) before it encoded a frame");
}

#[test]
fn s3_plan_indexed_workers_and_assemble_match_a_local_render() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let project = tiny_project(&dir.path().join("project"), "#f0c020");
    let plan = format!("s3://{BUCKET}/job/plan");
    let chunks = format!("s3://{BUCKET}/job/chunks/");
    let planned = plan_to_s3(&moto, &cache, &project, &plan);
    assert_eq!(planned["chunkCount"], 3);
    assert!(moto.get("job/plan.manifest.json").is_some(), "the manifest is written");

    // Worker 1 is SIGKILLed mid-chunk: nothing appears under its key.
    let mut killed = worker_mid_chunk(&moto, &cache, &plan, &chunks, 1);
    let killed_pid = killed.id();
    killed.kill().unwrap();
    killed.wait().unwrap();
    assert!(moto.get("job/chunks/chunk-001.mp4").is_none(), "a killed worker left an object");

    // Workers 0, 1 (again) and 2 run concurrently, sharing one machine's plan cache.
    let workers: Vec<Child> = (0..3)
        .map(|i| {
            let mut cmd = ff(&moto, &cache, &["render-chunk", &plan, &chunks, "--json"]);
            cmd.env("JOB_COMPLETION_INDEX", i.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (i, w) in workers.into_iter().enumerate() {
        let result = assert_ok(&w.wait_with_output().unwrap(), &format!("worker {i}"));
        assert_eq!(result["index"], i);
        assert_eq!(result["outputPath"], format!("{chunks}chunk-{i:03}.mp4"));
    }
    let mut keys = moto.keys("job/chunks");
    keys.sort();
    let want: Vec<String> =
        (0..3).flat_map(|i| [format!("chunk-{i:03}.mp4"), format!("chunk-{i:03}.mp4.perf.json")]).collect();
    assert_eq!(keys, want);
    // One cached plan, no temporary download folders, and no scratch left but the SIGKILLed
    // worker's (a killed process cannot clean up; its folder is named by its pid).
    let hash = planned["planHash"].as_str().unwrap();
    let plans: Vec<String> = std::fs::read_dir(cache.join("plans"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(plans, vec![hash.to_string()]);
    let scratch: Vec<String> = std::fs::read_dir(cache.join("work"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(scratch.iter().all(|n| n.starts_with(&format!("chunk.{killed_pid}."))), "{scratch:?}");

    let out =
        ff(&moto, &cache, &["assemble", &plan, &format!("s3://{BUCKET}/job/output.mp4"), "--chunks-dir", &chunks])
            .args(["--plan-audio", "--json"])
            .output()
            .unwrap();
    let assembled = assert_ok(&out, "assemble");
    assert_eq!(assembled["framesEncoded"], 30);
    let remote = moto.get("job/output.mp4").expect("the output is uploaded");

    // The same project rendered on this machine (its own chunking): the same bytes.
    let local = dir.path().join("local.mp4");
    let out = ff(&moto, &cache, &["render", project.to_str().unwrap(), "-o", local.to_str().unwrap()])
        .args(["--gop-size", "10", "--json"])
        .output()
        .unwrap();
    assert_ok(&out, "local render");
    assert!(remote == std::fs::read(&local).unwrap(), "the distributed output differs from the local render");

    let verify = ff(&moto, &cache, &["verify", &format!("s3://{BUCKET}/job/output.mp4"), "--plan", &plan, "--json"])
        .output()
        .unwrap();
    let report = assert_ok(&verify, "verify");
    assert_eq!(report["consistent"], true);
}

#[test]
fn a_missing_manifest_is_retryable_and_a_tampered_plan_is_a_hash_mismatch() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let project = tiny_project(&dir.path().join("project"), "#20c0f0");
    let plan = format!("s3://{BUCKET}/p/plan");
    plan_to_s3(&moto, &dir.path().join("c0"), &project, &plan);
    let manifest = moto.get("p/plan.manifest.json").unwrap();
    let chunk = |cache: &str| {
        ff(&moto, &dir.path().join(cache), &["render-chunk", &plan, &format!("s3://{BUCKET}/p/chunks/")])
            .args(["--index", "0", "--json"])
            .output()
            .unwrap()
    };

    moto.delete("p/plan.manifest.json");
    let (code, err) = failure(&chunk("c1"));
    assert_eq!((code, err.as_str()), (75, "MISSING_PLAN_ARTIFACT"));

    // A plan file changed after upload: it no longer matches the manifest.
    moto.put("p/plan.manifest.json", manifest.clone());
    let html = moto.get("p/plan/compiled/index.html").unwrap();
    let tampered = String::from_utf8(html).unwrap().replace("#20c0f0", "#ff0000").into_bytes();
    moto.put("p/plan/compiled/index.html", tampered.clone());
    let out = chunk("c2");
    assert_eq!(failure(&out), (3, "PLAN_HASH_MISMATCH".to_string()));
    assert!(String::from_utf8_lossy(&out.stderr).contains("compiled/index.html"), "the message names the file");

    // The manifest rewritten to match the tampered file: the recomputed planHash catches it.
    let mut m: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
    for f in m["files"].as_array_mut().unwrap() {
        if f["path"] == "compiled/index.html" {
            f["size"] = tampered.len().into();
            f["sha256"] = framefan::digest::hex(&<sha2::Sha256 as sha2::Digest>::digest(&tampered)).into();
        }
    }
    moto.put("p/plan.manifest.json", serde_json::to_vec(&m).unwrap());
    assert_eq!(failure(&chunk("c3")), (3, "PLAN_HASH_MISMATCH".to_string()));
    assert!(moto.keys("p/chunks").is_empty(), "a refused plan rendered nothing");
}

/// Upload generated chunks (and sidecars) of `dir` to `prefix/`.
fn upload_chunks(moto: &Moto, chunks: &[PathBuf], prefix: &str) {
    for c in chunks {
        let name = c.file_name().unwrap().to_str().unwrap();
        moto.put(&format!("{prefix}/{name}"), std::fs::read(c).unwrap());
        let sidecar = framefan::assemble::check::sidecar_path(c);
        moto.put(&format!("{prefix}/{name}.perf.json"), std::fs::read(sidecar).unwrap());
    }
}

#[test]
fn a_chunk_from_another_plan_is_refused_as_stale() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let chunks = make_render(dir.path(), &PlanSpec::mp4((30, 1), vec![5, 5, 5]));
    // Chunk 1's sidecar names another plan, as if a worker of an earlier render uploaded it.
    let sha = framefan::digest::file(&chunks[1]).unwrap();
    write_sidecar(&chunks[1], &"b".repeat(64), &sha);
    upload_chunks(&moto, &chunks, "s/chunks");
    let out = ff(&moto, &dir.path().join("cache"), &["assemble", dir.path().to_str().unwrap()])
        .args([&format!("s3://{BUCKET}/s/out.mp4"), "--chunks-dir", &format!("s3://{BUCKET}/s/chunks/"), "--json"])
        .output()
        .unwrap();
    assert_eq!(failure(&out), (3, "STALE_CHUNK".to_string()));
    assert!(moto.get("s/out.mp4").is_none(), "a refused assemble uploaded an output");
}

#[test]
fn an_upload_cut_midway_leaves_no_object_and_a_retry_succeeds() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let mut spec = PlanSpec::mp4((30, 1), vec![30, 30]);
    spec.width = 320;
    spec.height = 240;
    let chunks = make_render(dir.path(), &spec);
    upload_chunks(&moto, &chunks, "u/chunks");
    let size = std::fs::metadata(&chunks[0]).unwrap().len() + std::fs::metadata(&chunks[1]).unwrap().len();
    // Every connection is dropped after 1 KiB went upstream: headers pass, the body does not.
    let proxy = CuttingProxy::start(&moto.endpoint, 1024);
    assert!(size > 4096, "the output must be larger than the cut");
    let assemble = |endpoint: &str| {
        let mut cmd = Command::new(framefan_bin());
        cmd.args(["assemble", dir.path().to_str().unwrap(), &format!("s3://{BUCKET}/u/out.mp4")])
            .args(["--chunks", &format!("s3://{BUCKET}/u/chunks/chunk-000.mp4")])
            .arg(format!("s3://{BUCKET}/u/chunks/chunk-001.mp4"))
            .arg("--json");
        moto.env_via(&mut cmd, endpoint, &dir.path().join("cache"));
        cmd.output().unwrap()
    };
    // Chunk downloads send only headers upstream and pass; the output's upload is cut on every try.
    let out = assemble(&proxy.endpoint);
    let (code, err) = failure(&out);
    assert_eq!((code, err.as_str()), (75, "STORAGE_UNAVAILABLE"), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("u/out.mp4"), "the error names the URL");
    assert!(proxy.cuts.load(Ordering::SeqCst) > 0, "the proxy cut nothing");
    assert!(moto.get("u/out.mp4").is_none(), "a cut upload left an object at the final key");
    // The engine retries the worker; the connection holds this time.
    proxy.cutting.store(false, Ordering::SeqCst);
    assert_ok(&assemble(&proxy.endpoint), "assemble after the network healed");
    assert!(moto.get("u/out.mp4").is_some_and(|b| b.len() > 1024));
}

#[test]
fn a_cut_multipart_upload_is_aborted_and_never_becomes_an_object() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.bin");
    // Past the multipart threshold: 20 MiB of a seeded pattern.
    let bytes: Vec<u8> = (0..20u64 * 1024 * 1024).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    std::fs::write(&file, &bytes).unwrap();
    assert!(bytes.len() as u64 > transfer::MULTIPART_THRESHOLD);
    // Parts are cut after 1 MiB each.
    let proxy = CuttingProxy::start(&moto.endpoint, 1024 * 1024);
    let via_proxy = {
        let mut r = moto.remote("m/big.bin");
        let opts: Vec<(String, String)> = [
            ("aws_access_key_id", "test"),
            ("aws_secret_access_key", "test"),
            ("aws_region", "us-east-1"),
            ("aws_endpoint", proxy.endpoint.as_str()),
            ("aws_allow_http", "true"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        if let Location::Remote(p) = Location::parse_with(&format!("s3://{BUCKET}/m/big.bin"), &opts).unwrap() {
            r = p;
        }
        r
    };
    let err = block_on(transfer::upload_file(&file, &via_proxy, None)).unwrap().unwrap_err();
    assert_eq!(err.kind(), Code::StorageUnavailable, "{err}");
    assert!(err.is_retryable());
    assert!(err.message().contains("s3://framefan/m/big.bin"), "{err}");
    assert!(proxy.cuts.load(Ordering::SeqCst) > 0);
    assert!(moto.get("m/big.bin").is_none(), "an aborted multipart upload became an object");
    proxy.cutting.store(false, Ordering::SeqCst);
    block_on(transfer::upload_file(&file, &via_proxy, None)).unwrap().unwrap();
    assert!(moto.get("m/big.bin").unwrap() == bytes, "the retried upload differs from the file");
}

#[test]
fn the_index_comes_from_the_flag_then_each_engine_variable_in_order() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let project = tiny_project(&dir.path().join("project"), "#ffffff");
    let plan = dir.path().join("plan");
    let cache = dir.path().join("cache");
    let out =
        ff(&moto, &cache, &["plan", project.to_str().unwrap(), plan.to_str().unwrap(), "--json"]).output().unwrap();
    assert_ok(&out, "local plan");
    // Out-of-range indexes fail before any browser starts; the message names the index used.
    let index_used = |vars: &[(&str, &str)], flag: Option<&str>| {
        let mut cmd =
            ff(&moto, &cache, &["render-chunk", plan.to_str().unwrap(), dir.path().join("c/").to_str().unwrap()]);
        if let Some(i) = flag {
            cmd.args(["--index", i]);
        }
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let out = cmd.arg("--json").output().unwrap();
        assert_eq!(failure(&out).1, "CHUNK_INDEX_OUT_OF_RANGE");
        let message = json_line(&out.stderr)["error"]["message"].as_str().unwrap().to_string();
        ["91", "92", "93", "94", "95"].into_iter().find(|i| message.contains(i)).unwrap_or("none").to_string()
    };
    let all = [
        ("JOB_COMPLETION_INDEX", "92"),
        ("CLOUD_RUN_TASK_INDEX", "93"),
        ("AWS_BATCH_JOB_ARRAY_INDEX", "94"),
        ("SLURM_ARRAY_TASK_ID", "95"),
    ];
    assert_eq!(index_used(&all, Some("91")), "91");
    for k in 0..4 {
        assert_eq!(index_used(&all[k..], None), all[k].1, "with {:?} set", &all[k..]);
    }
}

/// Twelve 320×240 chunks of 10 frames (three times the download window) with a plan that has
/// audio and a soundtrack a second longer than the video.
fn overlap_render(dir: &Path) -> (Vec<PathBuf>, PathBuf) {
    let mut spec = PlanSpec::mp4((30, 1), vec![10; 12]);
    spec.width = 320;
    spec.height = 240;
    spec.has_audio = true;
    let chunks = make_render(dir, &spec);
    let audio = dir.join("sound.m4a");
    crate::util::write_sine_m4a(&audio, 48_000 * 5, 440.0);
    (chunks, audio)
}

fn sha256_of(path: &Path) -> String {
    framefan::digest::file(path).unwrap()
}

fn entries(dir: &Path) -> Vec<String> {
    match std::fs::read_dir(dir) {
        Ok(rd) => rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn assemble_from_s3_gives_the_bytes_of_a_local_assemble_and_keeps_local_chunks() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let (chunks, audio) = overlap_render(dir.path());
    upload_chunks(&moto, &chunks, "o/chunks");
    let cache = dir.path().join("cache");
    let run = |out: &Path, chunk_args: &[String]| {
        let mut cmd = ff(&moto, &cache, &["assemble", dir.path().to_str().unwrap(), out.to_str().unwrap()]);
        cmd.args(chunk_args).args(["--audio", audio.to_str().unwrap(), "--json"]);
        assert_ok(&cmd.output().unwrap(), &format!("assemble {chunk_args:?}"))
    };
    let local = dir.path().join("local.mp4");
    let mut list = vec!["--chunks".to_string()];
    list.extend(chunks.iter().map(|c| c.to_str().unwrap().to_string()));
    run(&local, &list);
    let from_s3 = dir.path().join("from-s3.mp4");
    let result = run(&from_s3, &["--chunks-dir".into(), format!("s3://{BUCKET}/o/chunks/")]);
    assert_eq!(result["framesEncoded"], 120);
    assert_eq!(sha256_of(&from_s3), sha256_of(&local), "s3:// assemble differs from the local assemble");
    // A mixed list: even chunks local, odd ones from s3://. Same bytes; the local chunks are kept.
    let mut mixed = vec!["--chunks".to_string()];
    for (i, c) in chunks.iter().enumerate() {
        let name = c.file_name().unwrap().to_str().unwrap();
        mixed.push(if i % 2 == 0 { c.to_str().unwrap().into() } else { format!("s3://{BUCKET}/o/chunks/{name}") });
    }
    let from_mixed = dir.path().join("mixed.mp4");
    run(&from_mixed, &mixed);
    assert_eq!(sha256_of(&from_mixed), sha256_of(&local), "a mixed-source assemble differs");
    for c in &chunks {
        assert!(c.is_file() && framefan::assemble::check::sidecar_path(c).is_file(), "{} was deleted", c.display());
    }
    assert_eq!(entries(&cache.join("work")), Vec::<String>::new(), "assemble left scratch behind");
}

/// What a feed over chunks in moto saw: body downloads finished, the most chunks (whole or
/// partial, sidecars aside) its scratch folder held at one progress report, and the most
/// finished downloads beyond the chunk being copied then.
#[derive(Default)]
struct Watch {
    bodies_done: AtomicU64,
    most_on_disk: AtomicU64,
    most_ahead: AtomicU64,
}

fn body_counter(watch: &Arc<Watch>) -> framefan::Control {
    let w = Arc::clone(watch);
    framefan::Control::with_events(Arc::new(move |e: &framefan::Event| {
        if let framefan::Event::Transfer(p) = e {
            if p.done && p.url.ends_with(".mp4") {
                w.bodies_done.fetch_add(1, Ordering::SeqCst);
            }
        }
    }))
}

fn remote_feed(moto: &Moto, prefix: &str, n: usize, scratch: &Path, watch: &Arc<Watch>) -> ChunkDownloads {
    let sources = (0..n).map(|i| Location::Remote(moto.remote(&format!("{prefix}/chunk-{i:03}.mp4")))).collect();
    ChunkDownloads::new(sources, framefan::plan::OutputFormat::Mp4, scratch, Some(body_counter(watch))).unwrap()
}

#[test]
fn s3_chunks_are_concatenated_as_they_arrive_within_a_bounded_window() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let (chunks, audio) = overlap_render(dir.path());
    upload_chunks(&moto, &chunks, "w/chunks");
    let parent = dir.path().join("scratch");
    let watch = Arc::new(Watch::default());
    let mut feed = remote_feed(&moto, "w/chunks", chunks.len(), &parent, &watch);
    let folder = feed.scratch().unwrap().to_path_buf();
    let w = Arc::clone(&watch);
    let progress: framefan::EventSink = Arc::new(move |e: &framefan::Event| {
        let framefan::Event::Frames { done: frames_done, .. } = *e else { return };
        // Distinct chunk indexes (`NNNNN-name`, or `.NNNNN-name.…` while it downloads).
        let mut held: Vec<String> = entries(&folder)
            .iter()
            .filter(|n| !n.ends_with(".perf.json"))
            .map(|n| n.trim_start_matches('.').chars().take(5).collect())
            .collect();
        held.sort();
        held.dedup();
        let on_disk = held.len() as u64;
        w.most_on_disk.fetch_max(on_disk, Ordering::SeqCst);
        // Chunk `current` is being copied; every finished download beyond it is one ahead.
        let current = (frames_done - 1) as u64 / 10;
        let ahead = w.bodies_done.load(Ordering::SeqCst).saturating_sub(current + 1);
        w.most_ahead.fetch_max(ahead, Ordering::SeqCst);
    });
    let options = framefan::AssembleOptions { control: framefan::Control::with_events(progress), ..Default::default() };
    let out = dir.path().join("out.mp4");
    let result = framefan::assemble::assemble_from(dir.path(), &mut feed, Some(&audio), &out, &options).unwrap();
    assert_eq!(result.frames_encoded, 120);
    let in_flight = framefan::store::chunks::DOWNLOADS_IN_FLIGHT as u64;
    let (on_disk, ahead) = (watch.most_on_disk.load(Ordering::SeqCst), watch.most_ahead.load(Ordering::SeqCst));
    assert!(on_disk <= in_flight + 1, "{on_disk} chunks on disk at once (the copied one + {in_flight})");
    // Never more finished downloads ahead of the copy than are in flight: the concat did not
    // wait for all twelve (the first report comes at frame 32, in chunk 3, with 8 to come).
    assert!(ahead <= in_flight, "{ahead} downloads finished ahead of the copy");
    assert_eq!(watch.bodies_done.load(Ordering::SeqCst), 12);
    let local = dir.path().join("local.mp4");
    framefan::assemble::assemble(dir.path(), &chunks, Some(&audio), &local, &Default::default()).unwrap();
    assert_eq!(sha256_of(&out), sha256_of(&local));
    drop(feed);
    assert_eq!(entries(&parent), Vec::<String>::new(), "the feed left its downloads behind");
}

#[test]
fn a_missing_s3_chunk_fails_before_any_body_is_downloaded() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let (chunks, audio) = overlap_render(dir.path());
    upload_chunks(&moto, &chunks, "x/chunks");
    // Chunk 6's body is gone, its sidecar stays (a worker whose chunk was deleted later).
    moto.delete("x/chunks/chunk-006.mp4");
    let watch = Arc::new(Watch::default());
    let parent = dir.path().join("scratch");
    let mut feed = remote_feed(&moto, "x/chunks", chunks.len(), &parent, &watch);
    let out = dir.path().join("out.mp4");
    let err =
        framefan::assemble::assemble_from(dir.path(), &mut feed, Some(&audio), &out, &Default::default()).unwrap_err();
    assert_eq!(err.kind(), Code::MissingChunk, "{err}");
    assert!(err.message().contains("chunk 6") && err.message().contains("x/chunks/chunk-006.mp4"), "{err}");
    assert_eq!(watch.bodies_done.load(Ordering::SeqCst), 0, "bodies were downloaded before the check");
    assert!(!out.exists());
    drop(feed);
    assert_eq!(entries(&parent), Vec::<String>::new());
}

#[test]
fn a_corrupt_or_cancelled_s3_assemble_leaves_no_output_and_no_scratch() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let (chunks, audio) = overlap_render(dir.path());
    upload_chunks(&moto, &chunks, "c/chunks");
    // Chunk 5's object differs from what its sidecar says (a byte flipped after upload).
    let mut body = std::fs::read(&chunks[5]).unwrap();
    let last = body.len() - 100;
    body[last] ^= 0xff;
    moto.put("c/chunks/chunk-005.mp4", body);
    let out = dir.path().join("out.mp4");
    std::fs::write(&out, b"an earlier output").unwrap();
    let parent = dir.path().join("scratch");
    let watch = Arc::new(Watch::default());
    let mut feed = remote_feed(&moto, "c/chunks", chunks.len(), &parent, &watch);
    let err =
        framefan::assemble::assemble_from(dir.path(), &mut feed, Some(&audio), &out, &Default::default()).unwrap_err();
    assert_eq!(err.kind(), Code::CorruptChunk, "{err}");
    assert!(err.message().contains("chunk 5") && err.message().contains("c/chunks/chunk-005.mp4"), "{err}");
    drop(feed);
    assert_eq!(std::fs::read(&out).unwrap(), b"an earlier output", "the earlier output was touched");
    assert_eq!(entries(&parent), Vec::<String>::new());

    // Cancelled at the first progress report (chunk 3 of 12): CANCELLED, nothing left anywhere.
    std::fs::remove_file(&out).unwrap();
    upload_chunks(&moto, &chunks[5..6], "c/chunks");
    let cancel = framefan::Control::new();
    let handle = cancel.clone();
    let options = framefan::AssembleOptions {
        control: cancel.child_with_events(Some(Arc::new(move |_: &framefan::Event| handle.cancel()))),
        ..Default::default()
    };
    let mut feed = remote_feed(&moto, "c/chunks", chunks.len(), &parent, &watch);
    let err = framefan::assemble::assemble_from(dir.path(), &mut feed, Some(&audio), &out, &options).unwrap_err();
    assert_eq!(err.kind(), Code::Cancelled, "{err}");
    drop(feed);
    assert!(!out.exists(), "a cancelled assemble left an output");
    assert_eq!(entries(dir.path()).iter().filter(|n| n.starts_with(".out.mp4")).count(), 0, "staging left");
    assert_eq!(entries(&parent), Vec::<String>::new(), "a cancelled assemble left downloads behind");
}
