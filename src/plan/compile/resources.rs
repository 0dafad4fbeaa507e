//! Everything the page would load, checked so that the frozen plan needs no network.
//!
//! `<script src>` on a well-known CDN is resolved from the package cache and inlined (see
//! [`super::scripts`]); a local script under a directory that is not frozen (`node_modules/` …)
//! is inlined too, since the plan will not contain it. Any other external URL the page would
//! load — scripts, stylesheets, images, media, posters, frames, `url()` and `@import` in inline
//! styles — is `EXTERNAL_RESOURCE_UNAVAILABLE` naming the URL; a path leaving the project is
//! `UNSAFE_PROJECT_PATH`. Local files that do not exist become warnings (the page may tolerate
//! them; a missing media source fails later, in the media step).

use std::path::{Path, PathBuf};

use kuchikiki::NodeRef;

use super::dom::{attr, describe, elements, remove_attr, set_attr, set_text, tag};
use super::{css, scripts, urls};
use crate::error::{Code, Error, Result};
use crate::plan::freeze::SKIPPED_TOP_LEVEL;

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

/// Inline CDN scripts and check every URL under `doc`. Notes go to `warnings`.
pub fn process(doc: &NodeRef, project: &Path, caches: &[PathBuf], warnings: &mut Vec<String>) -> Result<()> {
    for e in elements(doc) {
        let name = tag(&e);
        if name == "script" {
            script(&e, project, caches, warnings)?;
        } else if name == "link" {
            link(&e, project, warnings)?;
        } else if name == "style" {
            for url in css::urls(&e.text_contents()) {
                check(&url, "<style>", project, warnings)?;
            }
        }
        for (el, at) in URL_ATTRS {
            if name == el {
                if let Some(url) = attr(&e, at) {
                    check(&url, &format!("{} {at}", describe(&e)), project, warnings)?;
                }
            }
        }
        for at in ["srcset", "imagesrcset"] {
            if let Some(set) = attr(&e, at) {
                for candidate in set.split(',') {
                    let url = candidate.split_whitespace().next().unwrap_or("");
                    check(url, &format!("{} {at}", describe(&e)), project, warnings)?;
                }
            }
        }
        if let Some(style) = attr(&e, "style") {
            for url in css::urls(&style) {
                check(&url, &format!("{} style", describe(&e)), project, warnings)?;
            }
        }
    }
    Ok(())
}

fn script(e: &NodeRef, project: &Path, caches: &[PathBuf], warnings: &mut Vec<String>) -> Result<()> {
    let Some(src) = attr(e, "src") else { return Ok(()) };
    let context = format!("{} src", describe(e));
    match urls::classify(&src, &context)? {
        urls::Target::Nothing => Ok(()),
        urls::Target::External(url) => {
            let Some(cdn) = scripts::parse_cdn(&url) else {
                return Err(urls::external(&url, &context));
            };
            let (_, code) = scripts::resolve(&url, &cdn, caches)?;
            inline_script(e, &url, &code);
            Ok(())
        }
        urls::Target::Local(rel) => {
            let path = urls::join(project, &rel);
            urls::check_inside(project, &path, &context)?;
            if is_frozen(&rel) {
                if !path.is_file() {
                    warnings.push(format!("{context} {rel:?} does not exist in the project"));
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

fn link(e: &NodeRef, project: &Path, warnings: &mut Vec<String>) -> Result<()> {
    let rel = attr(e, "rel").unwrap_or_default().to_ascii_lowercase();
    if !rel.split_whitespace().any(|r| FETCHING_RELS.contains(&r) || r.ends_with("icon")) {
        return Ok(());
    }
    match attr(e, "href") {
        Some(href) => check(&href, &format!("{} href", describe(e)), project, warnings),
        None => Ok(()),
    }
}

/// Check one URL: external → error, escaping → error, missing or unfrozen local file → warning.
fn check(url: &str, context: &str, project: &Path, warnings: &mut Vec<String>) -> Result<()> {
    match urls::classify(url, context)? {
        urls::Target::Nothing => Ok(()),
        urls::Target::External(u) => Err(urls::external(&u, context)),
        urls::Target::Local(rel) => {
            let path = urls::join(project, &rel);
            urls::check_inside(project, &path, context)?;
            if !is_frozen(&rel) {
                warnings.push(format!("{context} {rel:?} is under a directory plan does not freeze"));
            } else if !path.exists() {
                warnings.push(format!("{context} {rel:?} does not exist in the project"));
            }
            Ok(())
        }
    }
}

/// Whether a project-relative path is copied into the plan (its top directory is not skipped).
fn is_frozen(rel: &str) -> bool {
    let top = rel.split('/').next().unwrap_or("");
    !(rel.contains('/') && SKIPPED_TOP_LEVEL.contains(&top))
}
