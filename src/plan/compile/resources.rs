//! Everything the page would load, checked (and remote resources fetched) so that the frozen plan
//! needs no network.
//!
//! `<script src>` on a well-known CDN is resolved from the package cache and inlined (see
//! [`super::scripts`]); a local script under a directory that is not frozen (`node_modules/` …)
//! is inlined too, since the plan will not contain it. Any other remote URL the page loads —
//! scripts (inlined), stylesheets, images, `srcset`s, posters, media, `url()` and `@import` in
//! inline styles — is fetched once by [`Fetcher`] and pointed at its frozen copy; one that cannot
//! be fetched keeps its URL and fails to load in the worker (a warning, or
//! `EXTERNAL_RESOURCE_UNAVAILABLE` with `--strict-resources`). Frames (`<iframe>`, `<embed>`,
//! `<object>`) are not fetched, and a remote `<base href>` is refused. A path leaving the project
//! is `UNSAFE_PROJECT_PATH`. Local files that do not exist become warnings (the page may tolerate
//! them; a missing media source fails later, in the media step).

use std::path::{Path, PathBuf};

use kuchikiki::NodeRef;

use super::dom::{attr, describe, elements, remove_attr, set_attr, set_text, tag};
use super::{css, scripts, urls};
use crate::error::{Code, Error, Result};
use crate::plan::fetch::{is_import, Fetcher, Kind};
use crate::plan::project::SKIPPED_TOP_LEVEL;

/// `(element, attribute)` pairs whose value is a URL the browser fetches.
const URL_ATTRS: [(&str, &str); 13] = [
    ("base", "href"),
    ("img", "src"),
    ("audio", "src"),
    ("video", "src"),
    ("video", "poster"),
    ("source", "src"),
    ("track", "src"),
    ("iframe", "src"),
    ("embed", "src"),
    ("object", "data"),
    ("input", "src"),
    ("image", "href"),
    ("feimage", "href"),
];

/// `<link rel>` values that make the browser fetch the `href`.
const FETCHING_RELS: [&str; 7] = ["stylesheet", "preload", "modulepreload", "icon", "prefetch", "manifest", "import"];

/// The attribute an inlined script keeps naming where it came from.
pub const INLINED_FROM: &str = "data-framefan-inlined-from";

/// Where plan's checks of one page report to.
pub struct Context<'a> {
    /// The project directory (canonical).
    pub project: &'a Path,
    /// Package caches for CDN scripts.
    pub caches: &'a [PathBuf],
    /// Remote resources.
    pub fetcher: &'a mut Fetcher,
    /// Notes for the caller.
    pub warnings: &'a mut Vec<String>,
    /// `<script src>` URLs already loaded (a second one is dropped, as HyperFrames does).
    pub scripts_seen: std::collections::HashSet<String>,
}

/// The kind of resource an element's URL attribute loads, or `None` for what is never fetched.
fn kind_of(element: &str, attribute: &str) -> Option<Kind> {
    match (element, attribute) {
        ("img" | "input" | "image" | "feimage", _) | ("video", "poster") => Some(Kind::Image),
        ("audio" | "video" | "source" | "track", _) => Some(Kind::Media),
        _ => None,
    }
}

/// Inline CDN scripts, fetch remote resources and check every URL under `doc`.
pub fn process(doc: &NodeRef, cx: &mut Context<'_>) -> Result<()> {
    for e in elements(doc) {
        let name = tag(&e);
        if name == "script" {
            script(&e, cx)?;
        } else if name == "link" {
            link(&e, cx)?;
        } else if name == "style" {
            let text = e.text_contents();
            let next = styles(&text, "<style>", cx)?;
            if next != text {
                set_text(&e, &next);
            }
        }
        for (el, at) in URL_ATTRS {
            if name == el {
                if let Some(url) = attr(&e, at) {
                    let context = format!("{} {at}", describe(&e));
                    if let Some(rel) = check(&url, &context, kind_of(el, at), cx)? {
                        set_attr(&e, at, &rel);
                    }
                }
            }
        }
        for at in ["srcset", "imagesrcset"] {
            if let Some(set) = attr(&e, at) {
                let next = srcset(&set, &format!("{} {at}", describe(&e)), cx)?;
                if next != set {
                    set_attr(&e, at, &next);
                }
            }
        }
        if let Some(style) = attr(&e, "style") {
            let next = styles(&style, &format!("{} style", describe(&e)), cx)?;
            if next != style {
                set_attr(&e, "style", &next);
            }
        }
    }
    Ok(())
}

/// CSS with its remote references fetched and rewritten, its local ones checked.
fn styles(text: &str, context: &str, cx: &mut Context<'_>) -> Result<String> {
    let mut failure = None;
    let out = css::rewrite_urls(text, &mut |url| {
        if failure.is_some() {
            return None;
        }
        let kind = if is_import(text, url) { Kind::Stylesheet } else { Kind::CssAsset };
        match check(url, context, Some(kind), cx) {
            Ok(rel) => rel,
            Err(e) => {
                failure = Some(e);
                None
            }
        }
    });
    failure.map_or(Ok(out), Err)
}

/// A `srcset` with each remote candidate fetched and rewritten.
fn srcset(set: &str, context: &str, cx: &mut Context<'_>) -> Result<String> {
    let mut parts = Vec::new();
    for candidate in set.split(',') {
        let trimmed = candidate.trim();
        let (url, descriptor) = trimmed.split_once(char::is_whitespace).unwrap_or((trimmed, ""));
        match check(url, context, Some(Kind::Image), cx)? {
            Some(rel) if descriptor.is_empty() => parts.push(rel),
            Some(rel) => parts.push(format!("{rel} {}", descriptor.trim())),
            None => parts.push(candidate.to_string()),
        }
    }
    Ok(if parts.iter().zip(set.split(',')).all(|(a, b)| a == b) { set.to_string() } else { parts.join(", ") })
}

fn script(e: &NodeRef, cx: &mut Context<'_>) -> Result<()> {
    let Some(src) = attr(e, "src") else { return Ok(()) };
    let context = format!("{} src", describe(e));
    let key = match urls::classify(&src, &context)? {
        urls::Target::Local(rel) => rel,
        other => format!("{other:?}"),
    };
    if !matches!(urls::classify(&src, &context)?, urls::Target::Nothing) && !cx.scripts_seen.insert(key) {
        e.detach();
        return Ok(());
    }
    match urls::classify(&src, &context)? {
        urls::Target::Nothing => Ok(()),
        urls::Target::External(url) => {
            let mut cache_miss = None;
            if let Some(cdn) = scripts::parse_cdn(&url) {
                match scripts::resolve(&url, &cdn, cx.caches) {
                    Ok((_, code)) => {
                        inline_script(e, &url, &code);
                        return Ok(());
                    }
                    Err(miss) => cache_miss = Some(miss),
                }
            }
            // Not a package the cache holds: fetched like any remote resource, then inlined.
            match cx.fetcher.get(&url, Kind::Script, &context, cx.warnings) {
                Ok(Some(rel)) => {
                    let code = cx
                        .fetcher
                        .generated
                        .iter()
                        .find(|g| g.rel == rel)
                        .map(|g| String::from_utf8_lossy(&g.bytes).into_owned());
                    inline_script(e, &url, &code.unwrap_or_default());
                    Ok(())
                }
                Ok(None) => {
                    if let Some(miss) = cache_miss {
                        cx.warnings.push(miss.message().to_string());
                    }
                    Ok(())
                }
                // Under --strict-resources the package cache's answer says more than the fetch's.
                Err(fetch) => Err(cache_miss.unwrap_or(fetch)),
            }
        }
        urls::Target::Local(rel) => {
            let path = urls::join(cx.project, &rel);
            urls::check_inside(cx.project, &path, &context)?;
            if is_frozen(&rel) {
                if !path.is_file() {
                    cx.warnings.push(format!("{context} {rel:?} does not exist in the project"));
                }
                return Ok(());
            }
            let bytes = std::fs::read(&path).map_err(|err| {
                Error::new(Code::CompositionInvalid, format!("{context} {rel:?} cannot be read: {err}"))
            })?;
            inline_script(e, &rel, &String::from_utf8_lossy(&bytes));
            Ok(())
        }
    }
}

fn inline_script(e: &NodeRef, from: &str, code: &str) {
    for a in ["src", "integrity", "crossorigin", "referrerpolicy", "async", "defer"] {
        remove_attr(e, a);
    }
    set_attr(e, INLINED_FROM, from);
    set_text(e, &scripts::escape_inline(code));
}

fn link(e: &NodeRef, cx: &mut Context<'_>) -> Result<()> {
    let rel = attr(e, "rel").unwrap_or_default().to_ascii_lowercase();
    if !rel.split_whitespace().any(|r| FETCHING_RELS.contains(&r) || r.ends_with("icon")) {
        return Ok(());
    }
    let Some(href) = attr(e, "href") else { return Ok(()) };
    let context = format!("{} href", describe(e));
    let stylesheet = rel.split_whitespace().any(|r| r == "stylesheet");
    if !stylesheet && matches!(urls::classify(&href, &context)?, urls::Target::External(_)) {
        // A hint (preload, icon …) to another origin: nothing the render needs.
        return Ok(());
    }
    if let Some(rel) = check(&href, &context, Some(Kind::Stylesheet), cx)? {
        set_attr(e, "href", &rel);
    }
    Ok(())
}

/// Check one URL: remote → fetched (its frozen path, when `kind` says it is fetched), escaping
/// → error, missing or unfrozen local file → warning.
fn check(url: &str, context: &str, kind: Option<Kind>, cx: &mut Context<'_>) -> Result<Option<String>> {
    match urls::classify(url, context)? {
        urls::Target::Nothing => Ok(None),
        urls::Target::External(u) => match kind {
            Some(kind) => cx.fetcher.get(&u, kind, context, cx.warnings),
            None if context.starts_with("<base") => Err(urls::external(&u, context)),
            None => {
                cx.warnings
                    .push(format!("{context} loads {u}, which plan does not fetch; it renders as a failed load"));
                Ok(None)
            }
        },
        urls::Target::Local(rel) => {
            let path = urls::join(cx.project, &rel);
            urls::check_inside(cx.project, &path, context)?;
            if !is_frozen(&rel) {
                cx.warnings.push(format!("{context} {rel:?} is under a directory plan does not freeze"));
            } else if !path.exists() {
                cx.warnings.push(format!("{context} {rel:?} does not exist in the project"));
            }
            Ok(None)
        }
    }
}

/// Whether a project-relative path is copied into the plan (its top directory is not skipped).
fn is_frozen(rel: &str) -> bool {
    let top = rel.split('/').next().unwrap_or("");
    !(rel.contains('/') && SKIPPED_TOP_LEVEL.contains(&top))
}
