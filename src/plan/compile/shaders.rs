//! Whether a page draws WebGL shader transitions (`@hyperframes/shader-transitions`), as
//! HyperFrames' compiler decides it (`detectShaderTransitionUsage`): an inline script (one without
//! a `src`), its `//` and `/* */` comments taken out, that calls `HyperShader.init(` or assigns
//! `__hf.transitions`. Such a page composites its transitions itself when the render asks for it
//! (`pageSideCompositing` in `meta/encoder.json`, by the format's [`ShaderRoute`]).
//!
//! [`ShaderRoute`]: crate::plan::format::ShaderRoute

use kuchikiki::NodeRef;

use super::dom::elements;

/// Whether an inline script of `doc` uses shader transitions.
pub fn uses_shader_transitions(doc: &NodeRef) -> bool {
    elements(doc).iter().filter(|e| is_inline_script(e)).any(|e| script_uses_shaders(&e.text_contents()))
}

/// A `<script>` without a `src` (HyperFrames' test is `\bsrc\s*=` over the tag's attributes, so a
/// `data-src` counts as one too).
fn is_inline_script(node: &NodeRef) -> bool {
    let Some(el) = node.as_element() else { return false };
    if &*el.name.local != "script" {
        return false;
    }
    let attrs = el.attributes.borrow();
    !attrs.map.keys().any(|k| {
        let name = &*k.local;
        name.eq_ignore_ascii_case("src") || name.to_ascii_lowercase().ends_with("-src")
    })
}

/// The test on one script's text.
pub fn script_uses_shaders(source: &str) -> bool {
    let code = strip_comments(source);
    calls(&code, "HyperShader", &[".", "init", "("]) || calls(&code, "__hf", &[".", "transitions", "="])
}

/// HyperFrames' `stripJsComments`: from `//` to the end of each line, then every `/* … */`
/// (strings are not looked at, as there).
fn strip_comments(source: &str) -> String {
    let lines: Vec<&str> = source.split('\n').map(|l| l.find("//").map_or(l, |at| &l[..at])).collect();
    let text = lines.join("\n");
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(open) = rest.find("/*") {
        out.push_str(&rest[..open]);
        match rest[open + 2..].find("*/") {
            Some(close) => rest = &rest[open + 2 + close + 2..],
            None => {
                // An unclosed comment is no match for the pattern: the text stays.
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `\b<head>` followed by each of `tokens`, with any whitespace between them.
fn calls(code: &str, head: &str, tokens: &[&str]) -> bool {
    code.match_indices(head).any(|(at, _)| {
        if code[..at].chars().next_back().is_some_and(is_word) {
            return false;
        }
        let mut rest = &code[at + head.len()..];
        for token in tokens {
            rest = rest.trim_start();
            match rest.strip_prefix(token) {
                Some(after) => rest = after,
                None => return false,
            }
        }
        true
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kuchikiki::traits::TendrilSink;

    #[test]
    fn the_pattern_is_hyperframes() {
        assert!(script_uses_shaders("HyperShader.init({ scenes: [] })"));
        assert!(script_uses_shaders("window . HyperShader\n . init ("));
        assert!(script_uses_shaders("globalThis.HyperShader.init(cfg)"));
        assert!(script_uses_shaders("window.__hf.transitions = []"));
        assert!(!script_uses_shaders("MyHyperShader.init()"));
        assert!(!script_uses_shaders("HyperShader.initialise()"));
        assert!(!script_uses_shaders("// HyperShader.init()\nlet a = 1;"));
        assert!(!script_uses_shaders("/* HyperShader.init() */ let a = 1;"));
        assert!(!script_uses_shaders("x__hf.transitions = 1"));
    }

    #[test]
    fn only_inline_scripts_count() {
        let page = |body: &str| kuchikiki::parse_html().one(format!("<html><body>{body}</body></html>")).document_node;
        assert!(uses_shader_transitions(&page("<script>HyperShader.init({})</script>")));
        assert!(uses_shader_transitions(&page("<script type=\"text/hf-after-fonts\">HyperShader.init({})</script>")));
        assert!(!uses_shader_transitions(&page("<script src=\"a.js\">HyperShader.init({})</script>")));
        assert!(!uses_shader_transitions(&page("<p>HyperShader.init({})</p><script>go()</script>")));
    }
}
