//! Inlining sub-compositions (composition.md §6) so workers never fetch them.
//!
//! A host `<div data-composition-id="X" data-composition-src="compositions/x.html">` receives the
//! file's content: the content of its first `<template>`, or, for a full document without one,
//! its `<head>` styles and scripts followed by its `<body>` children. Every `<style>` of the
//! content is scoped to `[data-composition-id="X"]`. Its classic scripts leave the content, as in
//! HyperFrames' render compiler: a `<script src>` goes to the end of `<body>` (loaded once), and
//! the inline ones run, after every file's `<script src>`, from one `<script>` at the very end of
//! `<body>`, each file's code in a function of its own with `document`, `gsap` and `window`
//! scoped to its composition ([`scoped`]). Files are mounted, and their scripts
//! run, breadth first: the page's hosts in document order, then the hosts those files contain.
//! Module scripts and data blocks stay in the host, after the content. The host loses
//! `data-composition-src` (the runtime must not mount it twice) and records it as
//! `data-framefan-inlined-src`, which also detects a composition that includes itself.
//!
//! As in HyperFrames: a host without `data-composition-id` is accepted, its styles scoped to the
//! composition id of the file's own root element (or not scoped when it has none); and relative
//! URLs in `src`/`href` attributes and `<style>` `url()`s of a file in a sub-folder are rebased
//! from that file's folder to the project root — `../x` always, a plain `x` when the file beside
//! the sub-composition exists (else it is taken as project-root relative, as authored). A host
//! is sized in pixels from its (or the file root's) `data-width`/`data-height`.

use std::collections::VecDeque;
use std::path::Path;

use kuchikiki::traits::TendrilSink;
use kuchikiki::NodeRef;

use super::css;
use super::dom::{
    attr, check_depth, describe, elements, new_element, precheck_depth, remove_attr, set_attr, set_text, tag,
};
use super::scoped::{self, Scope};
use super::urls;
use crate::error::{Code, Error, Result};

/// The attribute a host keeps once its source is inlined.
pub const INLINED_ATTR: &str = "data-framefan-inlined-src";

/// Marks the script at the end of `<body>` that runs the mounted files' inline scripts.
pub const SCRIPTS_ATTR: &str = "data-framefan-composition-scripts";

/// The most sub-compositions one page may mount (a guard against runaway inclusion).
const MAX_INLINED: usize = 1000;

/// The classic scripts taken out of the mounted files, in the order they run.
#[derive(Default)]
struct Hoisted {
    /// `<script src>` elements, detached.
    external: Vec<NodeRef>,
    /// Inline scripts, wrapped by [`scoped::wrap`].
    inline: Vec<String>,
}

/// Inline every `data-composition-src` under `doc`, breadth first, until none is left, and put
/// the files' classic scripts at the end of `<body>`. Returns how many were inlined.
pub fn inline_all(doc: &NodeRef, project: &Path) -> Result<usize> {
    let mut queue: VecDeque<NodeRef> = hosts_in(doc).into();
    let mut count = 0;
    let mut hoisted = Hoisted::default();
    while let Some(host) = queue.pop_front() {
        if attr(&host, "data-composition-src").is_none() {
            continue;
        }
        if count == MAX_INLINED {
            return Err(Error::new(
                Code::CompositionInvalid,
                format!("the page mounts more than {MAX_INLINED} sub-compositions"),
            ));
        }
        inline(&host, project, &mut hoisted)?;
        count += 1;
        queue.extend(hosts_in(&host));
    }
    if let Some(body) = doc.inclusive_descendants().find(|n| tag(n) == "body") {
        for script in hoisted.external {
            body.append(script);
        }
        if let Some(script) = (!hoisted.inline.is_empty())
            .then(|| new_element("script", (SCRIPTS_ATTR, "true"), &scoped::join(&hoisted.inline)))
            .flatten()
        {
            body.append(script);
        }
    }
    Ok(count)
}

/// The hosts under `node` still to mount, in document order.
fn hosts_in(node: &NodeRef) -> Vec<NodeRef> {
    node.descendants().filter(|n| attr(n, "data-composition-src").is_some()).collect()
}

fn inline(host: &NodeRef, project: &Path, hoisted: &mut Hoisted) -> Result<()> {
    let src = attr(host, "data-composition-src").unwrap_or_default();
    let context = format!("{} data-composition-src", describe(host));
    let rel = urls::local_file(&src, &context)?;
    if host.inclusive_ancestors().any(|a| attr(&a, INLINED_ATTR).as_deref() == Some(rel.as_str())) {
        return Err(Error::new(Code::CompositionInvalid, format!("{context} {rel:?} includes itself")));
    }
    let path = urls::join(project, &rel);
    urls::check_inside(project, &path, &context)?;
    let text = match std::fs::read(&path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::IsADirectory) => {
            return Err(Error::new(
                Code::SubCompositionMissing,
                format!("{context} {rel:?}: no such file in the project"),
            ));
        }
        Err(e) if path.is_dir() => {
            return Err(Error::new(Code::SubCompositionMissing, format!("{context} {rel:?} is a directory ({e})")));
        }
        Err(e) => return Err(Error::io("reading sub-composition", &path, e)),
    };
    precheck_depth(&text, &rel)?;
    let sub = kuchikiki::parse_html().one(text).document_node;
    check_depth(&sub, &rel)?;
    let content = content_of(&sub);
    let host_id = attr(host, "data-composition-id");
    let inner_root = content.iter().flat_map(elements).find(|e| match (&host_id, attr(e, "data-composition-id")) {
        (Some(want), Some(got)) => *want == got,
        (None, got) => got.is_some(),
        (Some(_), None) => false,
    });
    let inner_size = (
        inner_root.as_ref().and_then(|r| attr(r, "data-width")),
        inner_root.as_ref().and_then(|r| attr(r, "data-height")),
    );
    let id = attr(host, "data-composition-id")
        .or_else(|| content.iter().flat_map(elements).find_map(|e| attr(&e, "data-composition-id")));
    let scope = id.map(|id| format!("[data-composition-id=\"{}\"]", super::css::escape_string(&id)));
    let dir = rel.rsplit_once('/').map(|(d, _)| d.to_string()).unwrap_or_default();
    let script_scope = script_scope(host_id.as_deref(), &content, inner_root.as_ref());
    let mut scripts = Vec::new();
    for node in &content {
        for e in elements(node) {
            rebase_attrs(&e, &dir, project);
            match tag(&e).as_str() {
                "style" => {
                    let css = css::rewrite_urls(&e.text_contents(), &mut |u| rebase(&dir, u, project));
                    set_text(&e, &scope.as_deref().map_or(css.clone(), |s| css::scope(&css, s)));
                }
                "script" if !is_classic(&e) => scripts.push(e),
                "script" if attr(&e, "src").is_some() => {
                    e.detach();
                    hoisted.external.push(e);
                }
                "script" => {
                    e.detach();
                    let code = e.text_contents();
                    if !code.trim().is_empty() {
                        hoisted.inline.push(scoped::wrap(&code, script_scope.as_ref()));
                    }
                }
                _ => {}
            }
        }
    }
    if let Some(root) = &inner_root {
        flatten_inner_root(root, host_id.is_none());
    }
    // A hoisted script that was a top-level node of the content has no parent any more.
    for node in content.into_iter().filter(|n| n.parent().is_some()) {
        host.append(node);
    }
    for script in scripts {
        host.append(script);
    }
    size_host(host, inner_size);
    remove_attr(host, "data-composition-src");
    set_attr(host, INLINED_ATTR, &rel);
    Ok(())
}

/// Where a flattened root keeps the `data-duration` it was written with: the compile step still
/// needs it to place clips that start after a host without a duration of its own
/// (`data-start="host + 1"`); the runtime never reads it.
pub const AUTHORED_DURATION_ATTR: &str = "data-framefan-authored-duration";

/// What HyperFrames strips from a sub-composition's root once it is inside its host (its
/// `FLATTENED_INNER_ROOT_STRIP_ATTRS`): the host carries the composition's identity and timing.
const INNER_ROOT_STRIPPED: [&str; 10] = [
    "data-composition-id",
    "data-composition-file",
    "data-start",
    "data-duration",
    "data-end",
    "data-track-index",
    "data-track",
    "data-composition-src",
    "data-hf-authored-duration",
    "data-hf-authored-end",
];

/// Flatten the file's root element into its host as HyperFrames' render compiler does
/// (`prepareFlattenedInnerRoot`): the root stays as a wrapper, without its composition identity
/// and timing (so the runtime never takes it for a second clip of the same composition; an
/// anonymous host keeps the id on the wrapper, where the composition's CSS and scripts look for
/// it), marked `data-hf-inner-root`, and sized in pixels from its `data-width`/`data-height`
/// (else 100%), so that content sized in percent or anchored with `bottom:` fills the scene
/// instead of a wrapper of zero height. Its duration moves to [`AUTHORED_DURATION_ATTR`]. Its `id` is kept (and copied to `data-hf-authored-id`)
/// so that the file's `#id` rules and lookups still find it.
fn flatten_inner_root(root: &NodeRef, keep_id: bool) {
    let size = |name: &str| attr(root, name).map(|v| format!("{}px", v.trim())).unwrap_or_else(|| "100%".into());
    let (w, h) = (size("data-width"), size("data-height"));
    if let Some(duration) = attr(root, "data-duration") {
        set_attr(root, AUTHORED_DURATION_ATTR, &duration);
    }
    for name in INNER_ROOT_STRIPPED {
        if !(keep_id && name == "data-composition-id") {
            remove_attr(root, name);
        }
    }
    if let Some(id) = attr(root, "id").filter(|id| !id.trim().is_empty()) {
        set_attr(root, "data-hf-authored-id", id.trim());
    }
    set_attr(root, "data-hf-inner-root", "true");
    let style = attr(root, "style").unwrap_or_default();
    let style = style.trim().trim_end_matches(';');
    let fill = format!("width:{w};height:{h}");
    set_attr(root, "style", &if style.is_empty() { fill } else { format!("{style};{fill}") });
}

/// HyperFrames sizes a host in pixels so that content sized `100%` resolves: the host takes the
/// file root's `data-width`/`data-height` when it has none, and then `width`/`height` in its
/// `style` unless the style already names them.
fn size_host(host: &NodeRef, inner: (Option<String>, Option<String>)) {
    for (name, value) in [("data-width", inner.0), ("data-height", inner.1)] {
        if let (None, Some(v)) = (attr(host, name), value) {
            set_attr(host, name, &v);
        }
    }
    let (Some(w), Some(h)) = (attr(host, "data-width"), attr(host, "data-height")) else { return };
    let style = attr(host, "style").unwrap_or_default();
    let mut additions = Vec::new();
    if !style.contains("width") {
        additions.push(format!("width:{}px", w.trim()));
    }
    if !style.contains("height") {
        additions.push(format!("height:{}px", h.trim()));
    }
    if !additions.is_empty() {
        let joined = additions.join(";");
        set_attr(host, "style", &if style.is_empty() { joined } else { format!("{style};{joined}") });
    }
}

/// Whether `script` is classic JavaScript (not a module, nor a data block).
fn is_classic(script: &NodeRef) -> bool {
    let kind = attr(script, "type").unwrap_or_default().trim().to_ascii_lowercase();
    kind.is_empty() || kind.contains("javascript") || kind.contains("ecmascript")
}

/// What a file's inline scripts are scoped to, decided as HyperFrames decides it: the id the
/// file declares (the matched root's, else the first root's), else the host's; `None` when
/// neither names one (its scripts then run unscoped).
fn script_scope(host_id: Option<&str>, content: &[NodeRef], inner_root: Option<&NodeRef>) -> Option<Scope> {
    let host_id = host_id.map(str::trim).filter(|id| !id.is_empty());
    let first_root = || content.iter().flat_map(elements).find(|e| attr(e, "data-composition-id").is_some());
    let declared = inner_root
        .cloned()
        .or_else(first_root)
        .and_then(|r| attr(&r, "data-composition-id"))
        .map(|id| id.trim().to_string())
        .filter(|id| !id.is_empty());
    let comp = declared.clone().or(host_id.map(str::to_string))?;
    Some(Scope {
        timeline: host_id.map(str::to_string).unwrap_or_else(|| comp.clone()),
        scope: host_id.map(|id| format!("[data-composition-id=\"{}\"]", css::escape_string(id))),
        authored_root: inner_root
            .and_then(|r| attr(r, "id"))
            .map(|id| id.trim().to_string())
            .filter(|id| !id.is_empty()),
        comp,
    })
}

/// Rebase the `src` and `href` attributes of `e` from the sub-composition's folder `dir`.
fn rebase_attrs(e: &NodeRef, dir: &str, project: &Path) {
    for name in ["src", "href"] {
        if let Some(next) = attr(e, name).and_then(|v| rebase(dir, &v, project)) {
            set_attr(e, name, &next);
        }
    }
}

/// `url`, written in a file of folder `dir`, as a project-root relative URL, when it changes.
fn rebase(dir: &str, url: &str, project: &Path) -> Option<String> {
    let u = url.trim();
    // Relative: a project path, or one whose `..` climbs out of the project from the root (the
    // case a sub-composition's folder makes right); never a scheme, nor an absolute path.
    let relative = match urls::classify(u, "") {
        Ok(urls::Target::Local(_)) => true,
        Err(_) => !u.starts_with(['/', '\\']) && !u.split('/').next().unwrap_or("").contains(':'),
        Ok(_) => false,
    };
    if dir.is_empty() || !relative {
        return None;
    }
    let split = u.find(['?', '#']).unwrap_or(u.len());
    let (path, suffix) = u.split_at(split);
    let joined = urls::normalise(&format!("{dir}/{path}"))?;
    if path.starts_with("../") || path == ".." {
        return Some(format!("{joined}{suffix}"));
    }
    urls::join(project, &urls::percent_decode(&joined)).exists().then(|| format!("{joined}{suffix}"))
}

/// The nodes a sub-composition file contributes.
fn content_of(sub: &NodeRef) -> Vec<NodeRef> {
    let template = sub.inclusive_descendants().find(|n| tag(n) == "template");
    if let Some(contents) = template.and_then(|t| t.as_element().and_then(|e| e.template_contents.clone())) {
        return contents.children().collect();
    }
    let mut nodes: Vec<NodeRef> = Vec::new();
    if let Some(head) = sub.inclusive_descendants().find(|n| tag(n) == "head") {
        nodes.extend(head.children().filter(|c| matches!(tag(c).as_str(), "style" | "script" | "link")));
    }
    if let Some(body) = sub.inclusive_descendants().find(|n| tag(n) == "body") {
        nodes.extend(body.children());
    }
    nodes
}
