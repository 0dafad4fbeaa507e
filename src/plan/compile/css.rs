//! Just enough CSS for plan: scoping a sub-composition's rules to its host, and finding the URLs
//! a stylesheet loads.
//!
//! A small scanner instead of a full CSS parser: it only needs to know where rules, blocks,
//! strings and comments begin and end, and it copies everything else byte for byte, so a
//! construct it does not understand passes through unchanged instead of being dropped.
//! `@media`, `@supports`, `@container`, `@layer` and `@document` blocks are recursed into;
//! `@keyframes`, `@font-face` and every other at-rule stay unscoped. `html`, `body` and `:root`
//! as a selector's first compound become the host itself.

/// Scope every style rule of `css` under `scope` (e.g. `[data-composition-id="intro"]`).
pub fn scope(css: &str, scope: &str) -> String {
    let mut out = String::with_capacity(css.len() + 64);
    scope_rules(css, scope, &mut out);
    out
}

const RECURSE: [&str; 6] = ["media", "supports", "container", "layer", "document", "-moz-document"];

fn scope_rules(css: &str, scope: &str, out: &mut String) {
    let b = css.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        let (end, stop) = scan_until(b, i, |c| c == b'{' || c == b';' || c == b'}');
        let prelude = &css[start..end];
        match stop {
            Some(b'{') => {
                let close = matching_brace(b, end);
                let body = &css[end + 1..close.min(css.len())];
                let lead = &prelude[..lead_len(prelude.as_bytes())];
                let trimmed = &prelude[lead.len()..];
                out.push_str(lead);
                if let Some(at) = trimmed.strip_prefix('@') {
                    let name: String = at.chars().take_while(|c| c.is_alphanumeric() || *c == '-').collect();
                    out.push_str(trimmed);
                    out.push('{');
                    if RECURSE.contains(&name.to_ascii_lowercase().as_str()) {
                        scope_rules(body, scope, out);
                    } else {
                        out.push_str(body);
                    }
                } else {
                    out.push_str(&scope_selectors(trimmed, scope));
                    out.push('{');
                    out.push_str(body);
                }
                if close < css.len() {
                    out.push('}');
                }
                i = close + 1;
            }
            Some(_) => {
                // A statement (`@import …;`) or a stray `}`: copy it as it is.
                out.push_str(&css[start..=end]);
                i = end + 1;
            }
            None => {
                out.push_str(prelude);
                i = end;
            }
        }
    }
}

/// Length of the whitespace and comments that open `b`.
fn lead_len(b: &[u8]) -> usize {
    let mut i = 0;
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if b.get(i) == Some(&b'/') && b.get(i + 1) == Some(&b'*') {
            i = skip_comment(b, i);
        } else {
            return i;
        }
    }
}

/// Prefix each selector of a comma-separated list with `scope`.
fn scope_selectors(list: &str, scope: &str) -> String {
    let mut parts = Vec::new();
    let b = list.as_bytes();
    let mut i = 0;
    while i <= b.len() {
        let (end, _) = scan_until(b, i, |c| c == b',');
        parts.push(scope_one(&list[i..end], scope));
        i = end + 1;
    }
    parts.join(",")
}

fn scope_one(selector: &str, scope: &str) -> String {
    let trimmed = selector.trim();
    let trailing = &selector[selector.trim_end().len()..];
    if trimmed.is_empty() || trimmed.starts_with(scope) {
        return selector.to_string();
    }
    let first_end = trimmed.find(|c: char| c.is_whitespace() || ">+~".contains(c)).unwrap_or(trimmed.len());
    let first = &trimmed[..first_end];
    if ["html", "body", ":root"].iter().any(|r| first.eq_ignore_ascii_case(r)) {
        return format!("{scope}{}{trailing}", &trimmed[first_end..]);
    }
    format!("{scope} {trimmed}{trailing}")
}

/// Index of the first byte at or after `i` matching `stop` outside strings, comments and
/// brackets, and that byte; `(len, None)` if there is none.
fn scan_until(b: &[u8], mut i: usize, stop: impl Fn(u8) -> bool) -> (usize, Option<u8>) {
    let mut depth = 0usize;
    while i < b.len() {
        let c = b[i];
        if depth == 0 && stop(c) {
            return (i, Some(c));
        }
        match c {
            b'/' if b.get(i + 1) == Some(&b'*') => i = skip_comment(b, i),
            b'"' | b'\'' => i = skip_string(b, i),
            b'\\' => i += 2,
            b'(' | b'[' => {
                depth += 1;
                i += 1;
            }
            b')' | b']' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            _ => i += 1,
        }
    }
    (b.len(), None)
}

/// Index of the `}` closing the block opened at `open`, or `len` if unterminated.
fn matching_brace(b: &[u8], open: usize) -> usize {
    let mut depth = 0usize;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = skip_comment(b, i);
                continue;
            }
            b'"' | b'\'' => {
                i = skip_string(b, i);
                continue;
            }
            b'\\' => i += 1,
            _ => {}
        }
        i += 1;
    }
    b.len()
}

fn skip_comment(b: &[u8], i: usize) -> usize {
    let rest = &b[(i + 2).min(b.len())..];
    match rest.windows(2).position(|w| w == b"*/") {
        Some(p) => i + 2 + p + 2,
        None => b.len(),
    }
}

/// Index just past the string opened at `i` (or the end of the line for a broken string).
fn skip_string(b: &[u8], i: usize) -> usize {
    let quote = b[i];
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            c if c == quote => return j + 1,
            b'\n' => return j,
            _ => j += 1,
        }
    }
    b.len()
}

/// Every URL `css` would load: `url(…)` arguments and `@import "…"` strings.
#[cfg(feature = "internals")]
pub fn urls(css: &str) -> Vec<String> {
    // The same scan as the rewrite, keeping every URL and replacing none.
    let mut found = Vec::new();
    rewrite_urls(css, &mut |url| {
        found.push(url.to_string());
        None
    });
    found
}

/// `css` with every URL it loads (`url(…)` arguments and `@import "…"` strings) replaced where
/// `f` returns a new one (written quoted); everything else is copied byte for byte.
pub fn rewrite_urls(css: &str, f: &mut dyn FnMut(&str) -> Option<String>) -> String {
    let b = css.as_bytes();
    let mut out = String::with_capacity(css.len());
    let mut copied = 0;
    let mut i = 0;
    let mut replace = |out: &mut String, copied: &mut usize, start: usize, end: usize, url: &str| {
        if let Some(new) = f(url) {
            out.push_str(&css[*copied..start]);
            out.push_str(&quoted(&new));
            *copied = end;
        }
    };
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'*') => i = skip_comment(b, i),
            b'"' | b'\'' => i = skip_string(b, i),
            b'u' | b'U' if b.len() >= i + 4 && b[i..i + 4].eq_ignore_ascii_case(b"url(") => {
                let (url, next) = url_argument(css, i + 4);
                let close = if css[..next.min(css.len())].ends_with(')') { next - 1 } else { next.min(css.len()) };
                replace(&mut out, &mut copied, i + 4, close, &url);
                i = next;
            }
            b'@' if b.len() >= i + 7 && b[i..i + 7].eq_ignore_ascii_case(b"@import") => {
                let mut j = i + 7;
                while j < b.len() && b[j].is_ascii_whitespace() {
                    j += 1;
                }
                if j < b.len() && (b[j] == b'"' || b[j] == b'\'') {
                    let end = skip_string(b, j);
                    let url = string_value(css, j, end).to_string();
                    replace(&mut out, &mut copied, j, end, &url);
                    i = end;
                } else {
                    i = j;
                }
            }
            _ => i += 1,
        }
    }
    out.push_str(&css[copied.min(css.len())..]);
    out
}

/// `s` as a double-quoted CSS string.
fn quoted(s: &str) -> String {
    format!("\"{}\"", escape_string(s))
}

/// `s` escaped for the inside of a double-quoted CSS string.
pub fn escape_string(s: &str) -> String {
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

/// The text of the string whose quote is at `open` and which [`skip_string`] ended at `end`
/// (just past the closing quote, or at a newline or the end for a broken string).
fn string_value(css: &str, open: usize, end: usize) -> &str {
    let b = css.as_bytes();
    let close = if end > open + 1 && b.get(end - 1) == Some(&b[open]) { end - 1 } else { end };
    css.get(open + 1..close).unwrap_or("")
}

/// The argument of `url(` starting at `i` (quoted or not) and the index after its `)`.
fn url_argument(css: &str, i: usize) -> (String, usize) {
    let b = css.as_bytes();
    let mut j = i;
    while j < b.len() && b[j].is_ascii_whitespace() {
        j += 1;
    }
    if j < b.len() && (b[j] == b'"' || b[j] == b'\'') {
        let end = skip_string(b, j);
        let value = string_value(css, j, end).to_string();
        let close = css[end..].find(')').map_or(b.len(), |p| end + p + 1);
        return (value, close);
    }
    let close = css[j..].find(')').map_or(b.len(), |p| j + p);
    (css[j..close].trim().to_string(), close + 1)
}

/// One `property: value` declaration found by [`rewrite_declarations`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Declaration<'a> {
    /// The property as written, trimmed (`font-family`, `--brand-font` …).
    pub property: &'a str,
    /// The value as written, trimmed (it may end in `!important`).
    pub value: &'a str,
    /// Whether the declaration sits inside an `@font-face` block.
    pub in_font_face: bool,
}

/// Visit every declaration of `css` (a stylesheet, or with `inline` the content of a `style`
/// attribute) in order; where `f` returns a new value, the declaration's value is replaced by it
/// and everything else is copied byte for byte.
pub fn rewrite_declarations(css: &str, inline: bool, f: &mut dyn FnMut(Declaration<'_>) -> Option<String>) -> String {
    let b = css.as_bytes();
    let mut out = String::with_capacity(css.len());
    // One entry per open block: whether it is (inside) an `@font-face`.
    let mut blocks: Vec<bool> = if inline { vec![false] } else { Vec::new() };
    let mut i = 0;
    while i < b.len() {
        let (end, stop) = scan_until(b, i, |c| c == b'{' || c == b';' || c == b'}');
        let segment = &css[i..end];
        if stop == Some(b'{') {
            let prelude = &segment[lead_len(segment.as_bytes())..];
            let font_face = prelude.trim_end().eq_ignore_ascii_case("@font-face");
            blocks.push(font_face || blocks.last().copied().unwrap_or(false));
            out.push_str(segment);
        } else {
            match blocks.last().copied() {
                Some(in_font_face) => out.push_str(&rewrite_one(segment, in_font_face, f)),
                None => out.push_str(segment),
            }
            if stop == Some(b'}') {
                blocks.pop();
            }
        }
        if let Some(c) = stop {
            out.push(c as char);
        }
        i = end + 1;
    }
    out
}

/// One declaration segment (`  font-family: a, b  `), rewritten if `f` asks for it.
fn rewrite_one(segment: &str, in_font_face: bool, f: &mut dyn FnMut(Declaration<'_>) -> Option<String>) -> String {
    let lead = lead_len(segment.as_bytes());
    let body = &segment[lead..];
    let (colon, stop) = scan_until(body.as_bytes(), 0, |c| c == b':');
    if stop.is_none() {
        return segment.to_string();
    }
    let property = body[..colon].trim();
    let raw_value = &body[colon + 1..];
    let value = raw_value.trim();
    if property.is_empty() || property.contains(char::is_whitespace) {
        return segment.to_string();
    }
    match f(Declaration { property, value, in_font_face }) {
        Some(new) => {
            let trailing = &raw_value[raw_value.trim_end().len()..];
            format!("{}{}: {new}{trailing}", &segment[..lead], &body[..colon].trim_end())
        }
        None => segment.to_string(),
    }
}

/// The families of a `font-family` value in order, unquoted, case kept; commas inside quotes or
/// brackets (`var(--f, x)`) do not split, and `!important` is dropped.
pub fn font_families(value: &str) -> Vec<String> {
    let value = value.trim();
    let value = match value.to_ascii_lowercase().rfind("!important") {
        Some(p) if value[p..].trim().eq_ignore_ascii_case("!important") => &value[..p],
        _ => value,
    };
    let b = value.as_bytes();
    let mut families = Vec::new();
    let mut i = 0;
    while i <= b.len() {
        let (end, _) = scan_until(b, i, |c| c == b',');
        let piece = value[i..end].trim();
        let unquoted = piece
            .strip_prefix('"')
            .and_then(|p| p.strip_suffix('"'))
            .or_else(|| piece.strip_prefix('\'').and_then(|p| p.strip_suffix('\'')))
            .unwrap_or(piece)
            .trim();
        if !unquoted.is_empty() {
            families.push(unquoted.to_string());
        }
        i = end + 1;
    }
    families
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn css_strings_are_escaped() {
        assert_eq!(escape_string("a\"b\\c"), "a\\\"b\\\\c");
        assert_eq!(escape_string("intro"), "intro");
        assert_eq!(quoted("a\nb"), "\"a\\a b\"");
    }

    const S: &str = "[data-composition-id=\"x\"]";

    #[test]
    fn scopes_rules_and_lists() {
        assert_eq!(scope(".a { color: red }", S), format!("{S} .a {{ color: red }}"));
        assert_eq!(scope(".a, h1 > b{}", S), format!("{S} .a,{S} h1 > b{{}}"));
        assert_eq!(scope("body { margin: 0 }", S), format!("{S} {{ margin: 0 }}"));
        assert_eq!(scope(":root{--c: 1}", S), format!("{S}{{--c: 1}}"));
        assert_eq!(scope(&format!("{S} .a{{}}"), S), format!("{S} .a{{}}"));
    }

    #[test]
    fn keeps_keyframes_and_font_faces_and_recurses_into_media() {
        let css = "@keyframes spin { from { x: 0 } to { x: 1 } }\n@font-face { font-family: F; src: url(f.woff2) }\n\
                   @media (min-width: 10px) { .a { b: c } }\n@supports (display: grid) { @media print { p {} } }";
        let out = scope(css, S);
        assert!(out.contains("@keyframes spin { from { x: 0 } to { x: 1 } }"), "{out}");
        assert!(out.contains("@font-face { font-family: F; src: url(f.woff2) }"), "{out}");
        assert!(out.contains(&format!("@media (min-width: 10px) {{ {S} .a {{ b: c }} }}")), "{out}");
        assert!(out.contains(&format!("@media print {{ {S} p {{}} }}")), "{out}");
    }

    #[test]
    fn strings_comments_and_selectors_with_commas_survive() {
        let css = "/* a { */ .a:is(.b, .c)[title=\"x,{y}\"] { content: \"}\" }";
        let out = scope(css, S);
        assert_eq!(out, format!("/* a {{ */ {S} .a:is(.b, .c)[title=\"x,{{y}}\"] {{ content: \"}}\" }}"));
        // Broken CSS never panics and keeps its text.
        for broken in ["a {", "}", "@media {", "a { \"", "/*", "a{b:url("] {
            let _ = scope(broken, S);
            let _ = urls(broken);
        }
    }

    /// Every prefix of inputs full of multi-byte characters, escapes and broken strings goes
    /// through both functions without panicking.
    #[test]
    fn never_panics_on_broken_or_multibyte_css() {
        let nasty = "a{b:url(\"é\n)} @import 'ü\\é\n; .x\\é{c:'ö'} url(ä @media{ /* é */ url(\"ß\") } \\";
        for (i, _) in nasty.char_indices().chain([(nasty.len(), ' ')]) {
            let _ = scope(&nasty[..i], S);
            let _ = urls(&nasty[..i]);
            let _ = scope(&nasty[i..], S);
            let _ = urls(&nasty[i..]);
        }
    }

    #[test]
    fn finds_urls() {
        let css = "@import 'x.css'; /* url(no.png) */ .a { background: url( \"a.png\" ) } \
                   @font-face { src: url(https://f.test/f.woff2) format('woff2') }";
        assert_eq!(urls(css), vec!["x.css", "a.png", "https://f.test/f.woff2"]);
    }

    #[test]
    fn rewrites_declarations_and_knows_font_faces() {
        let css = "@font-face { font-family: Own; src: url(o.woff2) }\n.a{font-family:sans-serif;color:red}\
                   @media print { .b { --f: serif } }";
        let mut seen = Vec::new();
        let out = rewrite_declarations(css, false, &mut |d| {
            seen.push((d.property.to_string(), d.value.to_string(), d.in_font_face));
            (d.property == "font-family" && !d.in_font_face).then(|| format!("Inter, {}", d.value))
        });
        assert_eq!(out, css.replace("font-family:sans-serif", "font-family: Inter, sans-serif"));
        assert_eq!(seen[0], ("font-family".into(), "Own".into(), true));
        assert_eq!(seen[2], ("font-family".into(), "sans-serif".into(), false));
        assert_eq!(seen.last().unwrap(), &("--f".to_string(), "serif".to_string(), false));
        let inline = rewrite_declarations("color: red; font-family: 'A B'", true, &mut |d| {
            (d.property == "font-family").then(|| "X".to_string())
        });
        assert_eq!(inline, "color: red; font-family: X");
        for broken in ["a{b", "}", "a{b:c}}", ":", "{{:}"] {
            let _ = rewrite_declarations(broken, true, &mut |_| Some("x".into()));
        }
    }

    #[test]
    fn splits_font_family_values() {
        assert_eq!(font_families("\"Inter\", -apple-system, sans-serif"), ["Inter", "-apple-system", "sans-serif"]);
        assert_eq!(font_families("var(--f, Arial), 'A, B' !important"), ["var(--f, Arial)", "A, B"]);
        assert!(font_families("  ").is_empty());
    }

    #[test]
    fn rewrites_urls_in_place() {
        let css = "@import 'https://x.test/a.css'; .a { background: url( https://x.test/b.png ) } \
                   .b { background: url(\"local.png\") } /* url(https://x.test/c.png) */";
        let out = rewrite_urls(css, &mut |u| u.starts_with("https://").then(|| format!("r/{}", &u[15..])));
        assert_eq!(
            out,
            "@import \"r/a.css\"; .a { background: url(\"r/b.png\") } \
             .b { background: url(\"local.png\") } /* url(https://x.test/c.png) */"
        );
        for broken in ["url(", "url(\"", "@import '", "a{b:url(x"] {
            let _ = rewrite_urls(broken, &mut |_| Some("y".into()));
        }
    }
}
