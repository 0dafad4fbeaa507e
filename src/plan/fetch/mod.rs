//! Remote assets fetched once, at plan time, and frozen into the plan (workers never touch the
//! network), as HyperFrames' compiler does.
//!
//! Each `http(s)` URL the page loads is fetched at most once per plan, bounded: a total timeout per
//! resource, a redirect limit, a size cap per resource and one for all of them together, and a
//! content type that must fit where the URL is used (an HTML error page is no image). Only
//! `http:`/`https:` are fetched, a redirect to another scheme is refused, and loopback, private
//! and link-local addresses are refused unless [`FetchOptions::allow_private_network`] (see
//! [`guard`]). A fetched resource is stored as `compiled/__framefan__/remote/<sha256>.<ext>` and
//! recorded (URL, file, sha256, bytes, content type) in `meta/remote.json`; a stylesheet's own
//! `url()` and `@import` references are fetched and rewritten too. A resource that cannot be
//! fetched is a warning and the page keeps its URL, which fails to load in the worker as any
//! load fails without a network; with [`FetchOptions::strict`] it is
//! `EXTERNAL_RESOURCE_UNAVAILABLE`. [`FetchOptions::offline`] fetches nothing.

pub mod guard;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde::Serialize;
use sha2::{Digest, Sha256};
use url::Url;

use crate::control::Control;
use crate::error::{Code, Error, Result};
use crate::plan::compile::css;
use crate::plan::project::{Generated, GENERATED_DIR};

/// How plan fetches remote resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchOptions {
    /// Fetch nothing (every remote resource is then unavailable).
    pub offline: bool,
    /// An unavailable resource fails the plan (`EXTERNAL_RESOURCE_UNAVAILABLE`).
    pub strict: bool,
    /// Allow loopback, private and link-local addresses.
    pub allow_private_network: bool,
    /// Longest time for one resource, redirects included.
    pub timeout: Duration,
    /// Most redirects followed for one resource.
    pub max_redirects: u32,
    /// Largest resource in bytes.
    pub max_bytes: u64,
    /// Most bytes fetched for one plan.
    pub max_total_bytes: u64,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            offline: false,
            strict: false,
            allow_private_network: false,
            timeout: Duration::from_secs(30),
            max_redirects: 5,
            max_bytes: 100 << 20,
            max_total_bytes: 512 << 20,
        }
    }
}

/// Where a URL is used, which decides the content types accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `<img>`, `srcset`, `poster`, SVG `<image>`.
    Image,
    /// `<link rel=stylesheet>`, `@import`.
    Stylesheet,
    /// `<script src>`.
    Script,
    /// `<video>`, `<audio>`, `<source>`, `<track>`.
    Media,
    /// A CSS `url()`: an image or a font.
    CssAsset,
}

/// One fetched resource, as listed in `meta/remote.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// The URL as resolved (before redirects).
    pub url: String,
    /// Its file under `compiled/`.
    pub file: String,
    /// SHA-256 of the bytes fetched.
    pub sha256: String,
    /// Bytes fetched.
    pub bytes: u64,
    /// The content type served.
    pub content_type: String,
}

/// What `meta/remote.json` holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RemoteJson {
    /// Fetched resources, in the order first used.
    pub fetched: Vec<Record>,
    /// URLs that could not be fetched (the reasons are in the plan's warnings).
    pub unavailable: Vec<String>,
}

/// The most resources fetched for one plan.
const MAX_RESOURCES: usize = 512;
/// How deep stylesheets may import stylesheets.
const MAX_CSS_DEPTH: u32 = 4;

/// Fetches for one plan: each URL once, within the budget.
pub struct Fetcher {
    options: FetchOptions,
    /// Ends a fetch under way; once cancelled nothing more is fetched.
    control: Control,
    runtime: Option<tokio::runtime::Runtime>,
    done: HashMap<String, Option<String>>,
    total: u64,
    /// What was fetched and what was not.
    pub remote: RemoteJson,
    /// The files to add under `compiled/`.
    pub generated: Vec<Generated>,
}

/// A fetched body and what the server said it is.
struct Body {
    bytes: Vec<u8>,
    content_type: String,
    final_url: Url,
}

impl Fetcher {
    /// A fetcher with `options`, stopped by `control`.
    pub fn new(options: FetchOptions, control: &Control) -> Self {
        Fetcher {
            options,
            control: control.clone(),
            runtime: None,
            done: HashMap::new(),
            total: 0,
            remote: RemoteJson::default(),
            generated: Vec::new(),
        }
    }

    /// The file under `compiled/` holding `url` (found in `context`), fetching it the first time;
    /// `None` (and a warning) if it is unavailable, or `EXTERNAL_RESOURCE_UNAVAILABLE` when strict.
    pub fn get(&mut self, url: &str, kind: Kind, context: &str, warnings: &mut Vec<String>) -> Result<Option<String>> {
        self.get_at(url, kind, context, warnings, 0)
    }

    fn get_at(
        &mut self,
        url: &str,
        kind: Kind,
        context: &str,
        warnings: &mut Vec<String>,
        depth: u32,
    ) -> Result<Option<String>> {
        let absolute = if url.starts_with("//") { format!("https:{url}") } else { url.to_string() };
        if let Some(done) = self.done.get(&absolute) {
            return Ok(done.clone());
        }
        let outcome = self.fetch_and_store(&absolute, kind, warnings, depth);
        let result = match outcome {
            Ok(rel) => Some(rel),
            Err(reason) => {
                let message = format!("{context} loads {absolute}, which could not be fetched: {reason}");
                if self.options.strict {
                    return Err(Error::new(
                        Code::ExternalResourceUnavailable,
                        format!("{message} (--strict-resources)"),
                    ));
                }
                warnings.push(format!("{message}; it renders as a failed load"));
                self.remote.unavailable.push(absolute.clone());
                None
            }
        };
        self.done.insert(absolute, result.clone());
        Ok(result)
    }

    fn fetch_and_store(
        &mut self,
        url: &str,
        kind: Kind,
        warnings: &mut Vec<String>,
        depth: u32,
    ) -> std::result::Result<String, String> {
        if self.options.offline {
            return Err("plan runs --offline".to_string());
        }
        if self.done.len() >= MAX_RESOURCES {
            return Err(format!("the page loads more than {MAX_RESOURCES} remote resources"));
        }
        let parsed = guard::parse(url)?;
        let body = self.fetch(parsed, kind)?;
        let sha = crate::digest::hex(&Sha256::digest(&body.bytes));
        let fetched_len = body.bytes.len() as u64;
        let bytes = if kind == Kind::Stylesheet {
            let text = String::from_utf8_lossy(&body.bytes).into_owned();
            self.rewrite_stylesheet(&text, &body.final_url, warnings, depth).map_err(|e| e.to_string())?.into_bytes()
        } else {
            body.bytes
        };
        let rel =
            format!("{GENERATED_DIR}/remote/{}.{}", &sha[..32], extension(&body.final_url, &body.content_type, kind));
        self.remote.fetched.push(Record {
            url: url.to_string(),
            file: rel.clone(),
            sha256: sha,
            bytes: fetched_len,
            content_type: body.content_type,
        });
        self.generated.push(Generated { rel: rel.clone(), bytes });
        Ok(rel)
    }

    /// A fetched stylesheet with its references fetched and rewritten (to files beside it).
    fn rewrite_stylesheet(&mut self, text: &str, base: &Url, warnings: &mut Vec<String>, depth: u32) -> Result<String> {
        let mut failure = None;
        let out = css::rewrite_urls(text, &mut |reference| {
            if failure.is_some()
                || reference.trim().is_empty()
                || reference.starts_with("data:")
                || reference.starts_with('#')
            {
                return None;
            }
            let resolved = base.join(reference.trim()).ok()?;
            let kind = if is_import(text, reference) { Kind::Stylesheet } else { Kind::CssAsset };
            if kind == Kind::Stylesheet && depth >= MAX_CSS_DEPTH {
                warnings.push(format!(
                    "{base} imports stylesheets more than {MAX_CSS_DEPTH} deep; {resolved} was not fetched"
                ));
                return None;
            }
            let context = format!("stylesheet {base}");
            match self.get_at(resolved.as_str(), kind, &context, warnings, depth + 1) {
                Ok(Some(rel)) => Some(rel.rsplit('/').next().unwrap_or(&rel).to_string()),
                Ok(None) => Some(resolved.to_string()),
                Err(e) => {
                    failure = Some(e);
                    None
                }
            }
        });
        match failure {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    fn fetch(&mut self, url: Url, kind: Kind) -> std::result::Result<Body, String> {
        if self.runtime.is_none() {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the fetcher ({e})"))?;
            self.runtime = Some(rt);
        }
        let budget = self.options.max_total_bytes.saturating_sub(self.total);
        let cap = self.options.max_bytes.min(budget);
        let options = self.options.clone();
        let rt = self.runtime.as_ref().ok_or("no runtime")?;
        let timed = async { Ok(tokio::time::timeout(options.timeout, fetch_following(url, kind, cap, &options)).await) };
        let body = match rt.block_on(self.control.race(timed)) {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(format!("no complete answer within {} ms", options.timeout.as_millis())),
            Err(_) => Err("the plan was cancelled".to_string()),
        }?;
        self.total += body.bytes.len() as u64;
        Ok(body)
    }
}

/// Whether `reference` is the target of an `@import` in `css` (rather than a `url()`).
pub fn is_import(css: &str, reference: &str) -> bool {
    css.match_indices(reference).any(|(i, _)| {
        let before = css[..i].trim_end_matches(['"', '\'', '(', ' ']).trim_end();
        let before = before.strip_suffix("url").unwrap_or(before).trim_end();
        before.to_ascii_lowercase().ends_with("@import")
    })
}

/// GET `url`, following at most `max_redirects` redirects (each re-checked), reading at most
/// `cap` bytes.
async fn fetch_following(
    mut url: Url,
    kind: Kind,
    cap: u64,
    options: &FetchOptions,
) -> std::result::Result<Body, String> {
    for _ in 0..=options.max_redirects {
        let response = get_once(&url, options).await?;
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or(format!("HTTP {status} without a Location"))?;
            let next = url.join(location).map_err(|e| format!("redirect to an invalid URL ({e})"))?;
            url = guard::parse(next.as_str()).map_err(|why| format!("redirect to {next}, which {why}"))?;
            continue;
        }
        if !status.is_success() {
            return Err(format!("HTTP {}", status.as_u16()));
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        if !accepts(kind, &content_type) {
            return Err(format!("served as {content_type:?}, which is not a {kind:?} resource"));
        }
        if response.content_length().is_some_and(|n| n > cap) {
            return Err(format!("larger than the {cap}-byte limit"));
        }
        let bytes = read_capped(response, cap).await?;
        return Ok(Body { bytes, content_type, final_url: url });
    }
    Err(format!("more than {} redirects", options.max_redirects))
}

/// One request to `url`, connecting to the address that was resolved and checked.
async fn get_once(url: &Url, options: &FetchOptions) -> std::result::Result<reqwest::Response, String> {
    let host = url.host_str().ok_or("no host")?.trim_start_matches('[').trim_end_matches(']').to_string();
    let port = url.port_or_known_default().ok_or("no port")?;
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| format!("host {host} does not resolve ({e})"))?
        .collect();
    let addr = guard::pick(&addrs, options.allow_private_network, &host)?;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .resolve(&host, addr)
        .connect_timeout(options.timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("framefan/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the HTTP client ({e})"))?;
    client.get(url.clone()).send().await.map_err(|e| format!("request failed ({})", error_chain(&e)))
}

async fn read_capped(mut response: reqwest::Response, cap: u64) -> std::result::Result<Vec<u8>, String> {
    let started = Instant::now();
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| {
        format!("reading the body failed after {} ms ({})", started.elapsed().as_millis(), error_chain(&e))
    })? {
        if bytes.len() as u64 + chunk.len() as u64 > cap {
            return Err(format!("larger than the {cap}-byte limit"));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Whether a response of `content_type` may be used as `kind` (a missing type is accepted; an
/// HTML page never is, except that nothing here is HTML).
fn accepts(kind: Kind, content_type: &str) -> bool {
    let t = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if t.is_empty() || t == "application/octet-stream" || t == "binary/octet-stream" {
        return true;
    }
    let font = t.starts_with("font/")
        || t.starts_with("application/font")
        || t.starts_with("application/x-font")
        || t == "application/vnd.ms-fontobject";
    match kind {
        Kind::Image => t.starts_with("image/"),
        Kind::Stylesheet => t == "text/css" || t == "text/plain",
        Kind::Script => t.contains("javascript") || t.contains("ecmascript") || t == "text/plain",
        Kind::Media => {
            t.starts_with("video/") || t.starts_with("audio/") || t == "application/mp4" || t == "application/ogg"
        }
        Kind::CssAsset => t.starts_with("image/") || font,
    }
}

/// A file extension for a fetched resource: the URL's own (if short and plain), else one for the
/// content type.
fn extension(url: &Url, content_type: &str, kind: Kind) -> String {
    let from_url = url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .and_then(|name| name.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase());
    if let Some(e) = from_url.filter(|e| (1..=5).contains(&e.len()) && e.chars().all(|c| c.is_ascii_alphanumeric())) {
        return e;
    }
    let t = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let by_type = [
        ("image/png", "png"),
        ("image/jpeg", "jpg"),
        ("image/webp", "webp"),
        ("image/gif", "gif"),
        ("image/svg+xml", "svg"),
        ("font/woff2", "woff2"),
        ("font/woff", "woff"),
        ("font/ttf", "ttf"),
        ("font/otf", "otf"),
        ("text/css", "css"),
        ("video/mp4", "mp4"),
        ("video/webm", "webm"),
        ("audio/mpeg", "mp3"),
        ("audio/wav", "wav"),
    ];
    if let Some((_, e)) = by_type.iter().find(|(ty, _)| *ty == t) {
        return e.to_string();
    }
    match kind {
        Kind::Stylesheet => "css",
        Kind::Script => "js",
        _ => "bin",
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_fit_their_use() {
        assert!(accepts(Kind::Image, "image/png"));
        assert!(!accepts(Kind::Image, "text/html; charset=utf-8"));
        assert!(accepts(Kind::CssAsset, "font/woff2"));
        assert!(accepts(Kind::Stylesheet, "text/css; charset=utf-8"));
        assert!(accepts(Kind::Script, "application/javascript"));
        assert!(accepts(Kind::Media, "video/mp4") && !accepts(Kind::Media, "text/html"));
        assert!(accepts(Kind::Image, ""));
    }

    #[test]
    fn extensions_come_from_the_url_or_the_type() {
        let u = Url::parse("https://x.test/a/b.PNG?x=1").unwrap();
        assert_eq!(extension(&u, "", Kind::Image), "png");
        let u = Url::parse("https://x.test/css2?family=Inter").unwrap();
        assert_eq!(extension(&u, "text/css", Kind::Stylesheet), "css");
        assert_eq!(extension(&u, "", Kind::Script), "js");
    }

    #[test]
    fn imports_are_told_from_urls() {
        let css = "@import url(\"a.css\"); @import 'b.css'; .x { background: url(c.png) }";
        assert!(is_import(css, "a.css") && is_import(css, "b.css") && !is_import(css, "c.png"));
    }
}
