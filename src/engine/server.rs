//! A loopback, read-only HTTP file server for one plan.
//!
//! `/…` serves the plan's `compiled/` directory and `/__framefan/video-frames/…` its
//! `video-frames/` directory ([`Site`]); `/index.html` is the finished page the caller hands over
//! (the compiled page with HyperFrames' runtime injected, see `super::page::served_html`), and
//! the plan's own `.framefan/` is never served. Only `GET` and `HEAD`; every path is percent-decoded, must consist of
//! plain components (no `..`, no absolute parts, no NUL) and must resolve, after following
//! symlinks, inside its root — anything else is answered 403/404 without touching the file. One
//! request per connection keeps the server small; on loopback that costs nothing measurable.

use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::error::{Error, Result};

/// URL prefix under which the plan's extracted video frames are served.
pub const VIDEO_FRAMES_PREFIX: &str = "/__framefan/video-frames/";

const MAX_HEAD: usize = 16 * 1024;

/// What one server serves: a folder, a folder of video frames, and the finished page for
/// `/index.html` (prepared by the caller: the server only serves bytes).
#[derive(Debug, Clone)]
pub struct Site {
    /// Served under `/` (a plan's `compiled/`, or a project before its plan exists).
    pub root: PathBuf,
    /// Served under [`VIDEO_FRAMES_PREFIX`] (a plan's `video-frames/`).
    pub video_frames: PathBuf,
    /// The bytes of `/index.html`, served instead of the file under `root`.
    pub index_html: Vec<u8>,
}

/// A running server; it stops when dropped.
pub struct FileServer {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

struct Roots {
    compiled: PathBuf,
    frames: PathBuf,
    /// Served for `/index.html` instead of the file, when set.
    index: Option<Vec<u8>>,
}

enum Served {
    File(PathBuf),
    Index,
}

impl FileServer {
    /// Serve `site` on an ephemeral loopback port.
    pub async fn start(site: Site) -> Result<FileServer> {
        Self::serve(site.root, site.video_frames, site.index_html).await
    }

    async fn serve(compiled: PathBuf, frames: PathBuf, index: Vec<u8>) -> Result<FileServer> {
        let index = Some(index);
        let canon = |p: PathBuf| std::fs::canonicalize(&p).unwrap_or(p);
        let root = compiled.clone();
        let roots = Arc::new(Roots { compiled: canon(compiled), frames: canon(frames), index });
        let listener =
            TcpListener::bind("127.0.0.1:0").await.map_err(|e| Error::io("binding a loopback port for", &root, e))?;
        let addr = listener.local_addr().map_err(|e| Error::io("binding a loopback port for", &root, e))?;
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let roots = Arc::clone(&roots);
                tokio::spawn(async move {
                    // A client that hangs up mid-response is not our failure.
                    let _served = serve(stream, &roots).await;
                });
            }
        });
        Ok(FileServer { addr, task })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut stream: TcpStream, roots: &Roots) -> std::io::Result<()> {
    let Some(head) = read_head(&mut stream).await? else {
        return respond(&mut stream, 400, "text/plain", b"bad request", true).await;
    };
    let mut parts = head.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let with_body = method == "GET";
    if !with_body && method != "HEAD" {
        return respond(&mut stream, 405, "text/plain", b"method not allowed", true).await;
    }
    match resolve(roots, target) {
        Err(status) => respond(&mut stream, status, "text/plain", b"not served", with_body).await,
        Ok(Served::Index) => {
            let body = roots.index.as_deref().unwrap_or_default();
            respond(&mut stream, 200, "text/html; charset=utf-8", body, with_body).await
        }
        Ok(Served::File(path)) => match tokio::fs::read(&path).await {
            Ok(bytes) => respond(&mut stream, 200, content_type(&path), &bytes, with_body).await,
            Err(_) => respond(&mut stream, 404, "text/plain", b"not found", with_body).await,
        },
    }
}

async fn read_head(stream: &mut TcpStream) -> std::io::Result<Option<String>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        if buf.len() > MAX_HEAD {
            return Ok(None);
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(String::from_utf8(buf).ok())
}

async fn respond(stream: &mut TcpStream, status: u16, kind: &str, body: &[u8], with_body: bool) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        _ => "Method Not Allowed",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n\
         Access-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    if with_body {
        stream.write_all(body).await?;
    }
    stream.shutdown().await
}

/// Map a request target onto a file inside one of the roots, or an HTTP status.
fn resolve(roots: &Roots, target: &str) -> std::result::Result<Served, u16> {
    let path = target.split(['?', '#']).next().unwrap_or("");
    let decoded = percent_decode(path).ok_or(400u16)?;
    let (root, rest) = match decoded.strip_prefix(VIDEO_FRAMES_PREFIX) {
        Some(rest) => (&roots.frames, rest.to_string()),
        None => (&roots.compiled, decoded.trim_start_matches('/').to_string()),
    };
    let rest = if rest.is_empty() || rest.ends_with('/') { format!("{rest}index.html") } else { rest };
    if rest == "index.html" && root == &roots.compiled && roots.index.is_some() {
        return Ok(Served::Index);
    }
    let rel = Path::new(&rest);
    if rest.contains('\0')
        || rest.starts_with(".framefan/")
        || !rel.components().all(|c| matches!(c, Component::Normal(_)))
    {
        return Err(403);
    }
    let full = std::fs::canonicalize(root.join(rel)).map_err(|_| 404u16)?;
    if !full.starts_with(root) || !full.is_file() {
        return Err(403);
    }
    Ok(Served::File(full))
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn content_type(path: &Path) -> &'static str {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "m4a" => "audio/mp4",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roots(dir: &Path) -> Roots {
        Roots { compiled: dir.join("compiled"), frames: dir.join("video-frames"), index: None }
    }

    #[test]
    fn traversal_and_escapes_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = std::fs::canonicalize(dir.path()).expect("canon");
        std::fs::create_dir_all(base.join("compiled/a")).expect("mkdir");
        std::fs::write(base.join("compiled/a/x.css"), "x").expect("write");
        std::fs::write(base.join("secret.txt"), "s").expect("write");
        std::os::unix::fs::symlink(base.join("secret.txt"), base.join("compiled/link")).expect("symlink");
        let r = roots(&base);
        let file = |t: &str| match resolve(&r, t) {
            Ok(Served::File(p)) => Some(p),
            _ => None,
        };
        assert_eq!(file("/a/x.css?v=1"), Some(base.join("compiled/a/x.css")));
        assert_eq!(file("/a/%78.css"), Some(base.join("compiled/a/x.css")));
        for bad in ["/../secret.txt", "/a/../../secret.txt", "/%2e%2e/secret.txt", "/link", "/a/%00x"] {
            assert!(resolve(&r, bad).is_err(), "{bad} must be refused");
        }
        assert!(matches!(resolve(&r, "/missing.js"), Err(404)));
    }
}
