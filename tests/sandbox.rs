//! The render sandbox: at render time a page's own scripts try to read outside the plan (`..`,
//! absolute paths, a symlink out of `compiled/`, `file://` URLs), to reach another loopback HTTP
//! server (this test's, on another port) by fetch, image, `localhost` and WebSocket. The test's
//! server must see no connection at all, no attempt may get data, and the render succeeds as
//! the README documents (the page catches every failure; nothing else is reachable).
//!
//! The page registers its timeline only once every attempt has settled, so readiness — not a
//! timer — orders the attempts before the first capture. Each attempt paints one box: green
//! when refused, red when it got through; the rendered PNG frame is read back.

use std::io::Read as _;
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use framefan::plan::config::parse_format;
use framefan::plan::plan;
use framefan::plan::Quality;
use framefan::render::render_chunk;
use framefan::{ChunkOptions, PlanConfig};

const SECRET: &str = "framefan-sandbox-secret";

/// Attempts in order; each resolves to true when it got through.
const ATTEMPTS: [&str; 8] = [
    "fetch('http://127.0.0.1:' + P + '/fetch', {mode: 'no-cors'}).then(() => true, () => false)",
    "fetch('http://localhost:' + P + '/localhost', {mode: 'no-cors'}).then(() => true, () => false)",
    "new Promise((done) => { const ws = new WebSocket('ws://127.0.0.1:' + P + '/ws'); \
     ws.onopen = () => done(true); ws.onerror = () => done(false); })",
    "new Promise((done) => { const i = new Image(); i.onload = () => done(true); i.onerror = () => done(false); \
     i.src = 'http://127.0.0.1:' + P + '/image.png'; })",
    "fetch('file:///' + 'etc/hostname').then((r) => r.text().then((t) => t.length > 0), () => false)",
    "fetch('/%2e%2e/%2e%2e/secret.txt').then((r) => r.text().then(leaks), () => false)",
    "fetch('/' + '%2F' + SECRET_PATH.slice(1)).then((r) => r.text().then(leaks), () => false)",
    "fetch('/escape.txt').then((r) => r.text().then(leaks), () => false)",
];

fn page(port: u16, secret_path: &Path) -> String {
    let boxes: String =
        (0..ATTEMPTS.len()).map(|i| format!(r#"<div id="b{i}" style="position:absolute;left:{}px;top:0;width:16px;height:16px;background:#808080"></div>"#, i * 16)).collect();
    let attempts = ATTEMPTS.join(",\n  ");
    format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><style>#root {{ background: #000; }}</style></head>
<body><div id="root" data-composition-id="main" data-width="{w}" data-height="16" data-duration="0.2" data-fps="10">{boxes}</div>
<script>
const P = {port};
const SECRET = "{SECRET}";
const SECRET_PATH = {secret:?};
const leaks = (t) => t.includes(SECRET);
Promise.all([
  {attempts}
].map((p) => Promise.race([p, new Promise((r) => setTimeout(() => r(false), 3000))]))).then((got) => {{
  got.forEach((g, i) => {{ document.getElementById('b' + i).style.background = g ? '#ff0000' : '#00ff00'; }});
  window.__timelines = {{ main: {{ totalTime() {{}}, totalDuration() {{ return 0.2; }}, pause() {{}}, paused() {{ return true; }} }} }};
}});
</script></body></html>"#,
        w = ATTEMPTS.len() * 16,
        secret = secret_path.to_string_lossy(),
    )
}

/// A loopback HTTP server on its own port that counts every connection it accepts.
fn watching_server() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            count.fetch_add(1, Ordering::SeqCst);
            let mut stream = stream;
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf);
            let _ = std::io::Write::write_all(&mut stream, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        }
    });
    (port, seen)
}

/// The RGB of each box's centre in a PNG frame (decoded by the ffmpeg CLI, tests only).
fn box_colours(png: &Path) -> Vec<[u8; 3]> {
    let out = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(png)
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .expect("ffmpeg (tests only)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let width = ATTEMPTS.len() * 16;
    (0..ATTEMPTS.len())
        .map(|i| {
            let at = (8 * width + i * 16 + 8) * 3;
            [out.stdout[at], out.stdout[at + 1], out.stdout[at + 2]]
        })
        .collect()
}

#[test]
fn a_page_reaches_nothing_outside_its_plan_at_render_time() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, SECRET).unwrap();
    let (port, seen) = watching_server();
    let project = dir.path().join("project");
    std::fs::create_dir(&project).unwrap();
    std::fs::write(project.join("index.html"), page(port, &secret)).unwrap();
    let mut config = PlanConfig { quality: Quality::Draft, ..Default::default() };
    config.format = parse_format("png-sequence").unwrap();
    let plan_dir = dir.path().join("plan");
    plan(&project, &config, &plan_dir).unwrap();
    // A symlink out of the frozen page, added after planning (planHash skips symlinks).
    std::os::unix::fs::symlink(&secret, plan_dir.join("compiled/escape.txt")).unwrap();

    let out = dir.path().join("chunk");
    let result = render_chunk(&plan_dir, 0, &out, &ChunkOptions::default()).unwrap();
    assert_eq!(result.frames, 2);
    assert_eq!(seen.load(Ordering::SeqCst), 0, "the test's loopback server was reached");
    let mut frames: Vec<_> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().path()).collect();
    frames.sort();
    let colours = box_colours(&frames[0]);
    for (i, c) in colours.iter().enumerate() {
        assert_eq!(*c, [0, 255, 0], "attempt {i} ({}) was not refused: box {c:?}", ATTEMPTS[i]);
    }
}
