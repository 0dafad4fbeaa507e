//! Remote assets frozen at plan time, against a real HTTP server on loopback started by the test:
//! images, a stylesheet with a `url()` background and an `@font-face`, a font and a script are
//! fetched once, stored in the plan with their URLs and sha256 in `meta/remote.json`, and render
//! with the server stopped; a 404, a timeout, an oversized body, a refused address and a redirect
//! to another scheme are warnings by default and `EXTERNAL_RESOURCE_UNAVAILABLE` under
//! `--strict-resources`; `--offline` sends no request at all.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use framefan::plan::config::PlanConfig;
use framefan::plan::fetch::FetchOptions;
use framefan::plan::{plan, OutputFormat};
use framefan::render::{render_chunk, ChunkOptions};
use sha2::{Digest, Sha256};

const RED_SVG: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"80\" height=\"60\"><rect width=\"80\" height=\"60\" fill=\"#ff0000\"/></svg>";
const BLUE_SVG: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"8\" height=\"8\"><rect width=\"8\" height=\"8\" fill=\"#0000ff\"/></svg>";
const CSS: &str = "@font-face { font-family: Remote; src: url(\"/font.woff2\") format(\"woff2\") }\n\
                   .bg { background: url(bg.svg) repeat }";
const SCRIPT: &str = "document.getElementById('s').style.background = '#00ff00';";

/// A loopback HTTP/1.1 server; every request path is recorded. `/slow` never answers until the
/// server is dropped.
struct Server {
    port: u16,
    requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    release: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(font: Vec<u8>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (release, held) = mpsc::channel::<()>();
        let held = Arc::new(Mutex::new(held));
        let (r, s) = (requests.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (r, font, held) = (r.clone(), font.clone(), held.clone());
                std::thread::spawn(move || serve(stream, &r, &font, &held));
            }
        });
        Server { port, requests, stop, release: Some(release), thread: Some(thread) }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        drop(self.release.take());
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(stream: TcpStream, requests: &Mutex<Vec<String>>, font: &[u8], held: &Mutex<mpsc::Receiver<()>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).map(|n| n == 0).unwrap_or(true) || header == "\r\n" {
            break;
        }
    }
    requests.lock().unwrap().push(path.clone());
    let big = vec![b'x'; 2 << 20];
    let (status, kind, body): (&str, &str, &[u8]) = match path.as_str() {
        "/img.svg" => ("200 OK", "image/svg+xml", RED_SVG.as_bytes()),
        "/bg.svg" => ("200 OK", "image/svg+xml", BLUE_SVG.as_bytes()),
        "/style.css" => ("200 OK", "text/css", CSS.as_bytes()),
        "/font.woff2" => ("200 OK", "font/woff2", font),
        "/app.js" => ("200 OK", "application/javascript", SCRIPT.as_bytes()),
        "/big.svg" => ("200 OK", "image/svg+xml", &big),
        "/html.svg" => ("200 OK", "text/html", b"<html>not an image</html>"),
        "/to-ftp.svg" => ("302 Found", "text/plain", b""),
        "/slow.svg" => {
            // Hold the connection open until the server is dropped (the fetch times out first).
            let _ = held.lock().unwrap().recv();
            return;
        }
        _ => ("404 Not Found", "text/plain", b"no"),
    };
    let location = if path == "/to-ftp.svg" { "Location: ftp://127.0.0.1/x.svg\r\n" } else { "" };
    let mut out = stream;
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n{location}Connection: close\r\n\r\n",
        body.len()
    );
    let _ = out.write_all(head.as_bytes()).and_then(|_| out.write_all(body));
}

fn cache() -> PathBuf {
    std::env::var_os("FRAMEFAN_PACKAGE_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/package-cache"))
}

fn font_bytes() -> Vec<u8> {
    std::fs::read(cache().join("node_modules/@fontsource/inter/files/inter-latin-700-normal.woff2"))
        .expect("run bash .ci/install-deps")
}

fn project(body: &str, head: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let page = format!(
        "<!doctype html><html><head><meta charset=utf-8>{head}<style>body {{ margin: 0 }} #root {{ background: #fff }}\n\
         .box {{ position: absolute; width: 80px; height: 60px; top: 20px }}</style></head><body>\
         <div id=root data-composition-id=main data-width=320 data-height=240 data-duration=0.2 data-fps=10 data-no-timeline>{body}</div>\
         <script>window.__timelines = window.__timelines || {{}};</script></body></html>"
    );
    std::fs::write(dir.path().join("index.html"), page).unwrap();
    dir
}

fn fetch(strict: bool) -> FetchOptions {
    FetchOptions {
        allow_private_network: true,
        strict,
        timeout: Duration::from_millis(1500),
        max_bytes: 1 << 20,
        ..FetchOptions::default()
    }
}

fn config(fetch: FetchOptions) -> PlanConfig {
    PlanConfig { format: OutputFormat::PngSequence, package_cache: Some(cache()), fetch, ..PlanConfig::default() }
}

fn sha(bytes: &[u8]) -> String {
    framefan::digest::hex(&Sha256::digest(bytes))
}

/// The RGB of pixel (x, y) of a PNG frame.
fn pixel(png: &Path, x: u32, y: u32) -> [u8; 3] {
    use framefan::av::image::{ImageCodec, ImageDecoder};
    let bytes = std::fs::read(png).unwrap();
    let (w, _, rgba) = ImageDecoder::open(ImageCodec::Png).unwrap().decode_rgba(&bytes).unwrap();
    let i = ((y * w + x) * 4) as usize;
    [rgba[i], rgba[i + 1], rgba[i + 2]]
}

#[test]
fn remote_assets_are_frozen_and_render_with_the_server_stopped() {
    let font = font_bytes();
    let server = Server::start(font.clone());
    let head = format!("<link rel=stylesheet href=\"{}\">", server.url("/style.css"));
    let body = format!(
        "<img class=box style=\"left: 20px\" src=\"{}\"><div class=\"box bg\" style=\"left: 120px\"></div>\
         <div id=s class=box style=\"left: 220px\"></div><p style=\"position:absolute; top: 120px; font-family: Remote\">Remote font</p>\
         <div class=box style=\"left: 20px; top: 160px; background: url('{}')\"></div><script src=\"{}\"></script>",
        server.url("/img.svg"),
        server.url("/img.svg"),
        server.url("/app.js")
    );
    let proj = project(&body, &head);
    let out = tempfile::tempdir().unwrap();
    let plan_dir = out.path().join("plan");
    let result = plan(proj.path(), &config(fetch(true)), &plan_dir).unwrap();
    assert!(result.warnings.is_empty(), "{:?}", result.warnings);
    // Each URL fetched once (the image is used twice).
    let mut requests = server.requests();
    requests.sort();
    assert_eq!(requests, ["/app.js", "/bg.svg", "/font.woff2", "/img.svg", "/style.css"]);
    drop(server);

    let remote: serde_json::Value =
        serde_json::from_slice(&std::fs::read(plan_dir.join("meta/remote.json")).unwrap()).unwrap();
    let fetched = remote["fetched"].as_array().unwrap();
    assert_eq!(fetched.len(), 5, "{remote}");
    for (path, bytes) in [
        ("/img.svg", RED_SVG.as_bytes()),
        ("/bg.svg", BLUE_SVG.as_bytes()),
        ("/font.woff2", &font[..]),
        ("/app.js", SCRIPT.as_bytes()),
    ] {
        let record = fetched.iter().find(|r| r["url"].as_str().unwrap().ends_with(path)).unwrap();
        assert_eq!(record["sha256"], sha(bytes), "{record}");
        let file = plan_dir.join("compiled").join(record["file"].as_str().unwrap());
        if path != "/app.js" {
            assert_eq!(std::fs::read(file).unwrap(), bytes, "{path}");
        }
    }
    let html = std::fs::read_to_string(plan_dir.join("compiled/index.html")).unwrap();
    for reference in ["src=\"http", "href=\"http", "url(&quot;http", "url('http"] {
        assert!(!html.contains(reference), "a remote URL is left in the page: {html}");
    }
    assert!(html.contains(SCRIPT), "the script is inlined");

    let frames = out.path().join("frames");
    render_chunk(&plan_dir, 0, &frames, &ChunkOptions { browsers: Some(1), ..Default::default() }).unwrap();
    let frame = frames.join("frame_000001.png");
    assert_eq!(pixel(&frame, 60, 50), [255, 0, 0], "the remote <img>");
    assert_eq!(pixel(&frame, 160, 50), [0, 0, 255], "the stylesheet's url() background");
    assert_eq!(pixel(&frame, 260, 50), [0, 255, 0], "the remote script ran");
    assert_eq!(pixel(&frame, 60, 190), [255, 0, 0], "the inline style's url()");
}

#[test]
fn unavailable_resources_warn_by_default_and_fail_when_strict() {
    let server = Server::start(Vec::new());
    let cases = [
        ("/missing.svg", "HTTP 404"),
        ("/slow.svg", "no complete answer within 1500 ms"),
        ("/big.svg", "larger than the 1048576-byte limit"),
        ("/html.svg", "text/html"),
        ("/to-ftp.svg", "ftp: scheme"),
    ];
    for (path, reason) in cases {
        let url = server.url(path);
        let proj = project(&format!("<img class=box src=\"{url}\">"), "");
        let out = tempfile::tempdir().unwrap();
        let result = plan(proj.path(), &config(fetch(false)), &out.path().join("plan")).unwrap();
        let warning = result
            .warnings
            .iter()
            .find(|w| w.contains(&url))
            .unwrap_or_else(|| panic!("{path}: {:?}", result.warnings));
        assert!(warning.contains(reason), "{path}: {warning}");
        let html = std::fs::read_to_string(out.path().join("plan/compiled/index.html")).unwrap();
        assert!(html.contains(&url), "an unavailable resource keeps its URL (a failed load)");
        let remote = std::fs::read_to_string(out.path().join("plan/meta/remote.json")).unwrap();
        assert!(remote.contains(&url), "{remote}");

        let err = plan(proj.path(), &config(fetch(true)), &out.path().join("strict")).unwrap_err();
        assert_eq!(err.code(), "EXTERNAL_RESOURCE_UNAVAILABLE", "{path}: {err}");
        assert!(err.to_string().contains(&url) && err.to_string().contains(reason), "{err}");
        assert!(!out.path().join("strict").exists(), "a failed plan leaves no directory");
    }
}

#[test]
fn offline_fetches_nothing_and_private_addresses_need_permission() {
    let server = Server::start(Vec::new());
    let url = server.url("/img.svg");
    let proj = project(
        &format!("<img class=box src=\"{url}\">"),
        &format!("<link rel=stylesheet href=\"{}\">", server.url("/style.css")),
    );
    let out = tempfile::tempdir().unwrap();
    let offline = FetchOptions { offline: true, ..fetch(false) };
    let result = plan(proj.path(), &config(offline), &out.path().join("offline")).unwrap();
    assert!(result.warnings.iter().any(|w| w.contains(&url) && w.contains("--offline")), "{:?}", result.warnings);
    let strict = FetchOptions { offline: true, ..fetch(true) };
    assert_eq!(
        plan(proj.path(), &config(strict), &out.path().join("o2")).unwrap_err().code(),
        "EXTERNAL_RESOURCE_UNAVAILABLE"
    );
    // Loopback is refused without --allow-private-network.
    let public_only = FetchOptions { allow_private_network: false, ..fetch(true) };
    let err = plan(proj.path(), &config(public_only), &out.path().join("p")).unwrap_err();
    assert!(err.to_string().contains("--allow-private-network"), "{err}");
    assert!(server.requests().is_empty(), "the server saw {:?}", server.requests());
}
