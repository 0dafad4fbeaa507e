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

/// Move the content of every `<template>` under `root` into the element itself, so the
/// serializer (which does not write template contents) keeps it; the browser parses it back into
/// the template's content. Nested templates are handled too.
pub fn flatten_templates(root: &NodeRef) {
    let mut pending: Vec<NodeRef> = vec![root.clone()];
    while let Some(scope) = pending.pop() {
        let templates: Vec<NodeRef> = scope.inclusive_descendants().filter(|n| tag(n) == "template").collect();
        for t in templates {
            let Some(contents) = t.as_element().and_then(|e| e.template_contents.clone()) else { continue };
            for child in contents.children().collect::<Vec<_>>() {
                t.append(child);
            }
            pending.push(t);
        }
    }
}
