//! Holding the page's scripts until its web fonts have loaded, as HyperFrames' compiler does.
//!
//! A script that measures text while it runs (a GSAP `from` tween reading a centred caption's
//! `translateX(-50%)` as pixels, a layout computed from `offsetWidth`) sees the fallback font's
//! metrics if the frozen faces have not loaded yet, and keeps those numbers for the whole render.
//! So every classic script in `<body>` gets `type="text/hf-after-fonts"` and every module script
//! `type="text/hf-after-fonts+module"`; the browser does not run either. HyperFrames' runtime
//! (0.8.170) claims them at `DOMContentLoaded`: it waits for `document.fonts.ready` (at most 5 s),
//! runs them in document order (a classic file finishing before the next script, deferred files
//! and modules after the classic ones), replays the `DOMContentLoaded`/`load` listeners they
//! added, and only then starts its own player.
//!
//! A page that runs without the runtime (a page of its own `window.__hf`) still runs its
//! scripts: a small script first in `<head>` does the same at `DOMContentLoaded` unless the
//! runtime has claimed them (`window.__hfAfterFontsClaimed`), without the font wait.
//!
//! Left alone: scripts in `<head>`, inside `<noscript>` or `<svg>`, `nomodule` scripts, and
//! scripts of other types (JSON data, import maps, templates).

use kuchikiki::NodeRef;

use super::dom::{attr, has_attr, prepend_to_head, set_attr, tag};

/// The type of a held classic script (HyperFrames' name, which its runtime looks for).
pub const HELD: &str = "text/hf-after-fonts";
/// The type of a held module script.
pub const HELD_MODULE: &str = "text/hf-after-fonts+module";
/// Marks the fallback runner in `<head>`.
pub const RUNNER_MARKER: &str = "data-hf-after-fonts-fallback";

/// The `type` values a browser runs as classic JavaScript (the HTML standard's list).
const JAVASCRIPT_TYPES: &[&str] = &[
    "",
    "application/ecmascript",
    "application/javascript",
    "application/x-ecmascript",
    "application/x-javascript",
    "text/ecmascript",
    "text/javascript",
    "text/javascript1.0",
    "text/javascript1.1",
    "text/javascript1.2",
    "text/javascript1.3",
    "text/javascript1.4",
    "text/javascript1.5",
    "text/jscript",
    "text/livescript",
    "text/x-ecmascript",
    "text/x-javascript",
];

/// Runs the held scripts when the runtime does not (see the module doc).
const RUNNER: &str = r#"document.addEventListener("DOMContentLoaded", function () {
  if (window.__hfAfterFontsClaimed) return;
  var CLASSIC = "text/hf-after-fonts";
  var held = Array.prototype.slice.call(document.querySelectorAll('script[type="text/hf-after-fonts"], script[type="text/hf-after-fonts+module"]'));
  var later = function (el) { return el.type !== CLASSIC || el.matches("[defer][src]"); };
  var order = held.filter(function (el) { return !later(el); }).concat(held.filter(later));
  var run = function (i) {
    if (i >= order.length) return;
    var old = order[i], s = document.createElement("script");
    for (var k = 0; k < old.attributes.length; k++) s.setAttribute(old.attributes[k].name, old.attributes[k].value);
    if (old.type === CLASSIC) s.removeAttribute("type"); else s.type = "module";
    s.async = old.hasAttribute("async");
    s.text = old.text;
    var blocking = s.type !== "module" && s.hasAttribute("src") && !s.async;
    if (blocking) { s.onload = s.onerror = function () { run(i + 1); }; }
    old.replaceWith(s);
    if (!blocking) run(i + 1);
  };
  run(0);
});
//# sourceURL=framefan://after-fonts-runner"#;

/// Hold every script of `<body>` until the fonts have loaded; returns how many were held.
pub fn hold_scripts(doc: &NodeRef) -> usize {
    let Some(body) = doc.inclusive_descendants().find(|n| tag(n) == "body") else { return 0 };
    let scripts: Vec<NodeRef> = body.descendants().filter(|n| tag(n) == "script").collect();
    let mut held = 0;
    for script in scripts {
        if script.ancestors().any(|a| matches!(tag(&a).as_str(), "noscript" | "svg")) {
            continue;
        }
        let kind = attr(&script, "type").unwrap_or_default().trim().to_ascii_lowercase();
        if kind == "module" {
            set_attr(&script, "type", HELD_MODULE);
        } else if JAVASCRIPT_TYPES.contains(&kind.as_str()) && !has_attr(&script, "nomodule") {
            set_attr(&script, "type", HELD);
        } else {
            continue;
        }
        held += 1;
    }
    if held > 0 {
        add_runner(doc);
    }
    held
}

/// Put the fallback runner first in `<head>` (once).
fn add_runner(doc: &NodeRef) {
    let runner = |n: &NodeRef| tag(n) == "script" && has_attr(n, RUNNER_MARKER);
    if !doc.descendants().any(|n| runner(&n)) {
        prepend_to_head(doc, "script", (RUNNER_MARKER, ""), RUNNER);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kuchikiki::traits::TendrilSink;

    fn types(html: &str) -> (Vec<String>, String) {
        let doc = kuchikiki::parse_html().one(html).document_node;
        hold_scripts(&doc);
        let out = doc.to_string();
        let kinds = doc
            .descendants()
            .filter(|n| tag(n) == "script" && !has_attr(n, RUNNER_MARKER))
            .map(|n| attr(&n, "type").unwrap_or_default())
            .collect();
        (kinds, out)
    }

    #[test]
    fn body_scripts_are_held_and_others_left_alone() {
        let (kinds, out) = types(concat!(
            "<html><head><script>h()</script></head><body>",
            "<script>a()</script><script type=\"text/javascript\" src=\"g.js\"></script>",
            "<script type=\" Module \">m()</script><script type=\"application/json\">{}</script>",
            "<script nomodule>n()</script><noscript><script>x()</script></noscript>",
            "<svg><script>s()</script></svg></body></html>"
        ));
        // (The parser reads <noscript> as text, so its script is no element at all.)
        assert_eq!(kinds, ["", HELD, HELD, HELD_MODULE, "application/json", "", ""]);
        assert_eq!(out.matches(RUNNER_MARKER).count(), 1);
        assert!(out.find(RUNNER_MARKER) < out.find("h()"), "the runner comes first in <head>");
    }

    #[test]
    fn a_page_without_body_scripts_gets_no_runner() {
        let (kinds, out) = types("<html><head><script>h()</script></head><body><p>x</p></body></html>");
        assert_eq!(kinds, [""]);
        assert!(!out.contains(RUNNER_MARKER));
    }
}
