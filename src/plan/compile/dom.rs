//! Small helpers over the kuchikiki tree shared by the compile passes.

use kuchikiki::iter::NodeEdge;
use kuchikiki::NodeRef;

use crate::error::{Code, Error, Result};

/// The deepest element nesting a page may have. Serialising and matching recurse per level, so
/// an absurdly deep (hostile) page is refused instead of overflowing the stack.
pub const MAX_DEPTH: usize = 512;

/// The element's lowercase local name, or `""` for non-elements.
pub fn tag(node: &NodeRef) -> String {
    node.as_element().map(|e| e.name.local.to_string()).unwrap_or_default()
}

/// An attribute's value.
pub fn attr(node: &NodeRef, name: &str) -> Option<String> {
    node.as_element().and_then(|e| e.attributes.borrow().get(name).map(str::to_string))
}

/// Whether the element has the attribute.
pub fn has_attr(node: &NodeRef, name: &str) -> bool {
    node.as_element().is_some_and(|e| e.attributes.borrow().contains(name))
}

/// Set an attribute.
pub fn set_attr(node: &NodeRef, name: &str, value: &str) {
    if let Some(e) = node.as_element() {
        e.attributes.borrow_mut().insert(name, value.to_string());
    }
}

/// Remove an attribute.
pub fn remove_attr(node: &NodeRef, name: &str) {
    if let Some(e) = node.as_element() {
        e.attributes.borrow_mut().remove(name);
    }
}

/// Replace all children of `node` with one text node.
pub fn set_text(node: &NodeRef, text: &str) {
    for child in node.children().collect::<Vec<_>>() {
        child.detach();
    }
    node.append(NodeRef::new_text(text));
}

/// Every element under `root` (document order), itself included if it is one.
pub fn elements(root: &NodeRef) -> Vec<NodeRef> {
    root.inclusive_descendants().filter(|n| n.as_element().is_some()).collect()
}

/// Put a `<style {marker}="true">css</style>` first in the page's `<head>` (html5ever always
/// creates one), so that it comes ahead of the page's own CSS.
pub fn prepend_head_style(doc: &NodeRef, marker: &str, css: &str) {
    prepend_to_head(doc, "style", (marker, "true"), css);
}

/// Put a `<{element} {name}="{value}">text</{element}>` first in the page's `<head>`.
pub fn prepend_to_head(doc: &NodeRef, element: &str, (name, value): (&str, &str), text: &str) {
    let Some(head) = doc.inclusive_descendants().find(|n| tag(n) == "head") else { return };
    if let Some(node) = new_element(element, (name, value), text) {
        head.prepend(node);
    }
}

/// A detached `<{element} {name}="{value}">text</{element}>` (an HTML element name).
pub fn new_element(element: &str, (name, value): (&str, &str), text: &str) -> Option<NodeRef> {
    use kuchikiki::traits::TendrilSink;
    let scratch = kuchikiki::parse_html().one(format!("<{element}></{element}>")).document_node;
    let node = scratch.inclusive_descendants().find(|n| tag(n) == element)?;
    node.detach();
    set_attr(&node, name, value);
    set_text(&node, text);
    Some(node)
}

/// Whether `node` sits inside a `<template>` (inert content the page does not render as is).
pub fn in_template(node: &NodeRef) -> bool {
    node.ancestors().any(|a| tag(&a) == "template")
}

/// A short description of an element for messages: its tag and id or composition id, truncated
/// so that untrusted input is never dumped whole.
pub fn describe(node: &NodeRef) -> String {
    let name = tag(node);
    let short =
        |v: String| if v.chars().count() > 64 { format!("{}…", v.chars().take(64).collect::<String>()) } else { v };
    if let Some(id) = attr(node, "id") {
        format!("<{name} id=\"{}\">", short(id))
    } else if let Some(id) = attr(node, "data-composition-id") {
        format!("<{name} data-composition-id=\"{}\">", short(id))
    } else {
        format!("<{name}>")
    }
}

/// Fail if elements under `root` nest deeper than [`MAX_DEPTH`] (`what` names the file).
pub fn check_depth(root: &NodeRef, what: &str) -> Result<()> {
    let mut depth = 0usize;
    for edge in root.traverse() {
        match edge {
            NodeEdge::Start(_) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(Error::new(
                        Code::CompositionInvalid,
                        format!("{what} nests elements more than {MAX_DEPTH} levels deep"),
                    ));
                }
            }
            NodeEdge::End(_) => depth = depth.saturating_sub(1),
        }
    }
    Ok(())
}

/// The nesting estimate above which a page is refused before parsing (see [`precheck_depth`]).
pub const MAX_ESTIMATED_DEPTH: usize = 4096;

/// Elements that never nest (void) or whose end tag the parser implies when a sibling starts.
const NON_NESTING: [&str; 33] = [
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr", "p",
    "li", "dt", "dd", "option", "optgroup", "tr", "td", "th", "thead", "tbody", "tfoot", "rb", "rt", "rp", "colgroup",
    "caption", "html", "head",
];

/// Refuse, before parsing, markup whose element nesting is estimated above
/// [`MAX_ESTIMATED_DEPTH`]: html5ever's tree builder takes time quadratic in the nesting depth
/// (minutes for 100 000 levels), so a hostile page must be turned away without building it. The
/// estimate counts start and end tags outside comments and raw text (`script`, `style` …),
/// ignoring void elements, elements with implied end tags and `/>` tags; it errs towards
/// counting too deep only for pages far past [`MAX_DEPTH`], which are refused anyway.
pub fn precheck_depth(html: &str, what: &str) -> Result<()> {
    let b = html.as_bytes();
    let lower = html.to_ascii_lowercase();
    let (mut i, mut depth, mut max) = (0usize, 0usize, 0usize);
    while let Some(p) = lower[i..].find('<').map(|p| p + i) {
        i = p + 1;
        if lower[i..].starts_with("!--") {
            i = lower[i..].find("-->").map_or(b.len(), |e| i + e + 3);
            continue;
        }
        let closing = b.get(i) == Some(&b'/');
        let start = i + usize::from(closing);
        let len = b[start..].iter().take_while(|c| c.is_ascii_alphanumeric() || **c == b'-').count();
        if len == 0 {
            continue;
        }
        let name = &lower[start..start + len];
        let gt = lower[start..].find('>').map_or(b.len(), |e| start + e);
        let self_closing = gt > 0 && b.get(gt - 1) == Some(&b'/');
        i = (gt + 1).min(b.len());
        if NON_NESTING.contains(&name) || self_closing {
            continue;
        }
        if closing {
            depth = depth.saturating_sub(1);
            continue;
        }
        depth += 1;
        max = max.max(depth);
        if max > MAX_ESTIMATED_DEPTH {
            return Err(Error::new(
                Code::CompositionInvalid,
                format!("{what} nests elements more than {MAX_DEPTH} levels deep"),
            ));
        }
        if matches!(name, "script" | "style" | "textarea" | "title" | "xmp" | "iframe" | "noembed" | "noframes") {
            let end = format!("</{name}");
            i = lower[i..].find(&end).map_or(b.len(), |e| i + e);
        }
    }
    Ok(())
}

/// Move the content of every `<template>` under `root` into the element itself, so the
/// serializer (which does not write template contents) keeps it; the browser parses it back into
/// the template's content. Nested templates are handled too: each moved content is searched
/// again, below the template it now sits in (never the template itself, whose content is gone by
/// then — searching it again looped forever, found by fuzzing).
pub fn flatten_templates(root: &NodeRef) {
    let mut pending: Vec<NodeRef> = vec![root.clone()];
    while let Some(scope) = pending.pop() {
        let templates: Vec<NodeRef> = scope.descendants().filter(|n| tag(n) == "template").collect();
        for t in templates {
            let Some(contents) = t.as_element().and_then(|e| e.template_contents.clone()) else { continue };
            for child in contents.children().collect::<Vec<_>>() {
                t.append(child);
            }
            pending.push(t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_templates_are_flattened_once_each() {
        use kuchikiki::traits::TendrilSink;
        let doc = kuchikiki::parse_html()
            .one("<div><template><p>a</p><template><b>b</b><template><i>c</i></template></template></template></div>")
            .document_node;
        flatten_templates(&doc);
        let html = doc.to_string();
        assert!(html.contains("<p>a</p>") && html.contains("<b>b</b>") && html.contains("<i>c</i>"), "{html}");
    }

    #[test]
    fn depth_estimate_ignores_void_implied_raw_and_commented_tags() {
        let flat = format!("{}{}{}", "<p>x".repeat(10_000), "<img><br/>".repeat(10_000), "<div></div>".repeat(10_000));
        assert!(precheck_depth(&flat, "t").is_ok());
        let raw = format!("<script>{}</script><!-- {} -->", "<div>".repeat(10_000), "<div>".repeat(10_000));
        assert!(precheck_depth(&raw, "t").is_ok());
        assert!(precheck_depth(&"<div>".repeat(5000), "t").is_err());
        assert!(precheck_depth(&"<svg><g/>".repeat(2000), "t").is_ok());
        for broken in ["<", "</", "<!--", "<a", "<script>", "<div/"] {
            assert!(precheck_depth(broken, "t").is_ok());
        }
    }
}
