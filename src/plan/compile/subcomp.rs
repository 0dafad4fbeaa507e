//! Inlining sub-compositions (composition.md §6) so workers never fetch them.
//!
//! A host `<div data-composition-id="X" data-composition-src="compositions/x.html">` receives the
//! file's content: the content of its first `<template>`, or, for a full document without one,
//! its `<head>` styles and scripts followed by its `<body>` children. Every `<style>` of the
//! content is scoped to `[data-composition-id="X"]`; every `<script>` is moved after the content,
//! so it runs once the content it animates is mounted. The host loses `data-composition-src`
//! (the runtime must not mount it twice) and records it as `data-framefan-inlined-src`, which also
//! detects a composition that includes itself. Paths are relative to the project root.

use std::path::Path;

use kuchikiki::traits::TendrilSink;
use kuchikiki::NodeRef;

use super::css;
use super::dom::{attr, check_depth, describe, elements, precheck_depth, remove_attr, set_attr, set_text, tag};
use super::urls;
use crate::error::{Code, Error, Result};

/// The attribute a host keeps once its source is inlined.
pub const INLINED_ATTR: &str = "data-framefan-inlined-src";

/// The most sub-compositions one page may mount (a guard against runaway inclusion).
const MAX_INLINED: usize = 1000;

/// Inline every `data-composition-src` under `doc`, repeatedly, until none is left. Returns how
/// many were inlined.
pub fn inline_all(doc: &NodeRef, project: &Path) -> Result<usize> {
    let mut count = 0;
    while let Some(host) = doc.inclusive_descendants().find(|n| attr(n, "data-composition-src").is_some()) {
        if count == MAX_INLINED {
            return Err(Error::new(
                Code::CompositionInvalid,
                format!("the page mounts more than {MAX_INLINED} sub-compositions"),
            ));
        }
        inline(&host, project)?;
        count += 1;
    }
    Ok(count)
}

fn inline(host: &NodeRef, project: &Path) -> Result<()> {
    let src = attr(host, "data-composition-src").unwrap_or_default();
    let context = format!("{} data-composition-src", describe(host));
    let Some(id) = attr(host, "data-composition-id") else {
        return Err(Error::new(
            Code::CompositionInvalid,
            format!("{context} {src:?}: the host has no data-composition-id"),
        ));
    };
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
    let scope = format!("[data-composition-id=\"{}\"]", css_string(&id));
    let mut scripts = Vec::new();
    for node in &content {
        for e in elements(node) {
            match tag(&e).as_str() {
                "style" => set_text(&e, &css::scope(&e.text_contents(), &scope)),
                "script" => scripts.push(e),
                _ => {}
            }
        }
    }
    for node in content {
        host.append(node);
    }
    for script in scripts {
        host.append(script);
    }
    remove_attr(host, "data-composition-src");
    set_attr(host, INLINED_ATTR, &rel);
    Ok(())
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

/// `s` escaped for a double-quoted CSS string.
fn css_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\u{c}' => out.push_str(&format!("\\{:x} ", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn css_strings_are_escaped() {
        assert_eq!(css_string("a\"b\\c"), "a\\\"b\\\\c");
        assert_eq!(css_string("intro"), "intro");
    }
}
