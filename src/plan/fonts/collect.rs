//! Reading (and normalising) the font families a compiled page uses.
//!
//! The surfaces are HyperFrames': every `<style>` of the page (sub-compositions are already
//! inlined, so their styles are among them), every `style` attribute and every
//! `data-font-family` attribute; we also read the project's own stylesheets linked with
//! `<link rel=stylesheet>` (and the remote ones plan fetched). Only `font-family` declarations count (not the `font` shorthand), a
//! primary `var(--x)` is looked up among the page's custom properties, and generic families are
//! never requested themselves: instead a stack whose *first* family is generic
//! (`sans-serif`, `system-ui`, `-apple-system` …) gets [`GENERIC_PRIMARY`] put in front of it, as
//! HyperFrames does, so that such text is drawn in a frozen face too.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;

use kuchikiki::NodeRef;

use super::table::{in_latin_subset, is_generic, GENERIC_PRIMARY};
use crate::plan::compile::css::{font_families, rewrite_declarations, Declaration};
use crate::plan::compile::dom::{attr, elements, set_attr, set_text, tag};
use crate::plan::compile::urls;
use crate::plan::project::Generated;

/// What the page asks of fonts.
#[derive(Debug, Clone, Default)]
pub struct Usage {
    /// Families requested, first spelling kept, one per lowercase name, in document order.
    pub requested: Vec<String>,
    /// Families (lowercase) the project declares with its own `@font-face`.
    pub declared: HashSet<String>,
    /// The first `src` of a project `@font-face` that names a `local()` face: the machine's own
    /// font, so glyphs drawn with it depend on the worker's fonts.
    pub local_source: Option<String>,
    /// Weights named by `font-weight` declarations (rounded to hundreds), plus 400 and 700.
    pub weights: BTreeSet<u16>,
    /// Whether anything asks for an italic (`font-style: italic|oblique`, `<i>`, `<em>`).
    pub italic: bool,
}

/// `value` with [`GENERIC_PRIMARY`] in front when its first family is generic.
fn promoted(value: &str) -> Option<String> {
    let first = font_families(value).into_iter().next()?;
    is_generic(&first).then(|| format!("{GENERIC_PRIMARY}, {}", value.trim()))
}

fn promote_declaration(d: Declaration<'_>) -> Option<String> {
    let font_family = d.property.eq_ignore_ascii_case("font-family") && !d.in_font_face;
    if font_family || d.property.starts_with("--") {
        promoted(d.value)
    } else {
        None
    }
}

/// Put [`GENERIC_PRIMARY`] in front of every stack that starts with a generic family.
pub fn promote_generic_primaries(doc: &NodeRef) {
    for e in elements(doc) {
        if tag(&e) == "style" {
            let css = e.text_contents();
            let next = rewrite_declarations(&css, false, &mut promote_declaration);
            if next != css {
                set_text(&e, &next);
            }
        }
        if let Some(style) = attr(&e, "style") {
            let next = rewrite_declarations(&style, true, &mut promote_declaration);
            if next != style {
                set_attr(&e, "style", &next);
            }
        }
        if let Some(next) = attr(&e, "data-font-family").as_deref().and_then(promoted) {
            set_attr(&e, "data-font-family", &next);
        }
    }
}

/// The CSS of the page: each `<style>`'s text, then each `style` attribute (inline), then the
/// project's own linked stylesheets.
fn sheets(doc: &NodeRef, project: &Path, generated: &[Generated]) -> Vec<(String, bool)> {
    let mut styles = Vec::new();
    let mut inline = Vec::new();
    let mut linked = Vec::new();
    for e in elements(doc) {
        match tag(&e).as_str() {
            "style" => styles.push((e.text_contents(), false)),
            "link" if is_stylesheet(&e) => {
                if let Some(css) = attr(&e, "href").and_then(|href| read_local(project, generated, &href)) {
                    linked.push((css, false));
                }
            }
            _ => {}
        }
        if let Some(style) = attr(&e, "style") {
            inline.push((style, true));
        }
    }
    styles.into_iter().chain(inline).chain(linked).collect()
}

fn is_stylesheet(e: &NodeRef) -> bool {
    attr(e, "rel").is_some_and(|r| r.split_whitespace().any(|r| r.eq_ignore_ascii_case("stylesheet")))
}

/// A project stylesheet's text (or a fetched one's), if `href` names one inside the plan.
fn read_local(project: &Path, generated: &[Generated], href: &str) -> Option<String> {
    let urls::Target::Local(rel) = urls::classify(href, "<link href>").ok()? else { return None };
    if let Some(file) = generated.iter().find(|g| g.rel == rel) {
        return Some(String::from_utf8_lossy(&file.bytes).into_owned());
    }
    let path = urls::join(project, &rel);
    urls::check_inside(project, &path, "<link href>").ok()?;
    std::fs::read(&path).ok().map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// Everything the page asks of fonts (after [`promote_generic_primaries`]).
pub fn usage(doc: &NodeRef, project: &Path, generated: &[Generated]) -> Usage {
    let sheets = sheets(doc, project, generated);
    let mut custom: HashMap<String, String> = HashMap::new();
    let mut values: Vec<String> = Vec::new();
    let mut usage = Usage { weights: [400, 700].into_iter().collect(), ..Usage::default() };
    for (css, inline) in &sheets {
        rewrite_declarations(css, *inline, &mut |d| {
            let property = d.property.to_ascii_lowercase();
            if property.starts_with("--") {
                custom.insert(d.property.to_string(), d.value.to_string());
            } else if property == "font-family" && d.in_font_face {
                font_families(d.value).into_iter().for_each(|f| {
                    usage.declared.insert(f.to_lowercase());
                });
            } else if property == "src" && d.in_font_face && d.value.to_ascii_lowercase().contains("local(") {
                usage.local_source.get_or_insert_with(|| d.value.chars().take(200).collect());
            } else if property == "font-family" {
                values.push(d.value.to_string());
            } else if property == "font-weight" && !d.in_font_face {
                usage.weights.extend(css_weight(d.value));
            } else if property == "font-style" {
                usage.italic |= ["italic", "oblique"].iter().any(|s| d.value.to_ascii_lowercase().contains(s));
            }
            None
        });
    }
    values.extend(elements(doc).iter().filter_map(|e| attr(e, "data-font-family")));
    usage.italic |= elements(doc).iter().any(|e| matches!(tag(e).as_str(), "i" | "em" | "cite" | "dfn" | "var"));
    let mut seen = HashSet::new();
    for value in values {
        for family in resolve_var(&value, &custom) {
            let lower = family.to_lowercase();
            if !is_generic(&family) && !lower.starts_with("var(") && seen.insert(lower) {
                usage.requested.push(family);
            }
        }
    }
    usage
}

/// The families of `value`, with a primary `var(--x)` replaced by `--x`'s families.
fn resolve_var(value: &str, custom: &HashMap<String, String>) -> Vec<String> {
    let families = font_families(value);
    let Some(first) = families.first() else { return families };
    let Some(inner) =
        first.strip_prefix("var(").or_else(|| first.strip_prefix("VAR(")).and_then(|s| s.strip_suffix(')'))
    else {
        return families;
    };
    let name = inner.split(',').next().unwrap_or("").trim();
    match custom.get(name) {
        Some(v) => font_families(v).into_iter().chain(families.into_iter().skip(1)).collect(),
        None => families,
    }
}

/// A `font-weight` value as a weight in hundreds (`normal` 400, `bold` 700, numbers rounded).
fn css_weight(value: &str) -> Option<u16> {
    let v = value.trim().trim_end_matches("!important").trim().to_ascii_lowercase();
    match v.as_str() {
        "normal" => Some(400),
        "bold" => Some(700),
        _ => {
            let n: f64 = v.parse().ok()?;
            (1.0..=1000.0).contains(&n).then(|| ((n / 100.0).round().clamp(1.0, 9.0) as u16) * 100)
        }
    }
}

/// The first character of the page's static text that the bundled faces do not cover, if any.
pub fn uncovered_char(doc: &NodeRef) -> Option<char> {
    doc.inclusive_descendants()
        .filter_map(|n| {
            let text = n.as_text()?.borrow().clone();
            let parent = n.parent().map(|p| tag(&p)).unwrap_or_default();
            (!matches!(parent.as_str(), "script" | "style" | "template" | "noscript")).then_some(text)
        })
        .find_map(|text| text.chars().find(|c| !c.is_whitespace() && !in_latin_subset(*c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_primaries_get_inter_in_front() {
        assert_eq!(promoted("sans-serif").as_deref(), Some("Inter, sans-serif"));
        assert_eq!(
            promoted(" -apple-system, BlinkMacSystemFont, sans-serif ").as_deref(),
            Some("Inter, -apple-system, BlinkMacSystemFont, sans-serif")
        );
        assert_eq!(promoted("Arial, sans-serif"), None);
        assert_eq!(promoted("var(--f)"), None);
    }

    #[test]
    fn var_primaries_resolve_through_custom_properties() {
        let custom: HashMap<String, String> = [("--f".to_string(), "Futura, serif".to_string())].into();
        assert_eq!(resolve_var("var(--f), monospace", &custom), ["Futura", "serif", "monospace"]);
        assert_eq!(resolve_var("var(--g, x)", &custom), ["var(--g, x)"]);
    }

    #[test]
    fn weights_round_to_hundreds() {
        assert_eq!(css_weight("bold"), Some(700));
        assert_eq!(css_weight("650"), Some(700));
        assert_eq!(css_weight("900 !important"), Some(900));
        assert_eq!(css_weight("bolder"), None);
    }
}
