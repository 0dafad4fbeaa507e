//! HyperFrames' audio-effects runtime, taken from the pinned npm release.
//!
//! HyperFrames 0.8.170 publishes no separate file for it: its CLI bundle carries the runtime as
//! one JavaScript string constant, `var AUDIO_FX_RUNTIME_IIFE = '…';`, in
//! `dist/chunk-VKFYI7AQ.js` of the `hyperframes` tarball. framefan embeds that file (pinned by
//! sha256 in `vendor/npm/pins.tsv`, like the page runtime), reads the literal out of it here,
//! unescapes it as JavaScript would, and checks the text against [`SHA256`], so what runs in the
//! browser is exactly the script HyperFrames injects. Nothing is read from disk at run time.

use std::sync::OnceLock;

use crate::error::{Code, Error, Result};

/// The bundle file of the pinned `hyperframes` package that holds the runtime.
pub const BUNDLE_FILE: &str = "dist/chunk-VKFYI7AQ.js";

/// The sha256 of the extracted runtime text (UTF-8).
pub const SHA256: &str = "099a9ab1e95b0a47c50774da11e2d3e558295994228b0f790f27b52785d5f94d";

const DECLARATION: &str = "var AUDIO_FX_RUNTIME_IIFE = '";

/// The runtime's script text, extracted and checked once per process.
pub fn script() -> Result<&'static str> {
    static SCRIPT: OnceLock<std::result::Result<String, String>> = OnceLock::new();
    let extracted = SCRIPT.get_or_init(|| {
        let file = crate::builtin::file(super::PACKAGE, BUNDLE_FILE)
            .ok_or_else(|| format!("{BUNDLE_FILE} of {} is not built in", super::PACKAGE))?;
        let text = std::str::from_utf8(file.bytes).map_err(|e| format!("{BUNDLE_FILE} is not UTF-8: {e}"))?;
        let script = extract(text)?;
        let sha = super::sha256_hex(script.as_bytes());
        if sha != SHA256 {
            return Err(format!("the audio-fx runtime in {BUNDLE_FILE} has sha256 {sha}, pinned {SHA256}"));
        }
        Ok(script)
    });
    extracted.as_deref().map_err(|m| Error::new(Code::RuntimeMismatch, m.clone()))
}

/// The value of the `AUDIO_FX_RUNTIME_IIFE` single-quoted literal in `bundle`.
fn extract(bundle: &str) -> std::result::Result<String, String> {
    let at = bundle.find(DECLARATION).ok_or_else(|| format!("{BUNDLE_FILE} declares no AUDIO_FX_RUNTIME_IIFE"))?;
    unquote(&bundle[at + DECLARATION.len()..]).ok_or_else(|| "AUDIO_FX_RUNTIME_IIFE's literal is unterminated".into())
}

/// Read a JavaScript single-quoted string body up to its closing quote, unescaping it.
fn unquote(body: &str) -> Option<String> {
    let mut out = String::with_capacity(body.len().min(1 << 20));
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => return Some(out),
            '\\' => escape(&mut chars, &mut out)?,
            c => out.push(c),
        }
    }
    None
}

/// One escape sequence after its backslash.
fn escape(chars: &mut std::str::Chars<'_>, out: &mut String) -> Option<()> {
    let c = chars.next()?;
    match c {
        'n' => out.push('\n'),
        'r' => out.push('\r'),
        't' => out.push('\t'),
        'b' => out.push('\u{8}'),
        'f' => out.push('\u{c}'),
        'v' => out.push('\u{b}'),
        '0' => out.push('\0'),
        'x' => out.push(hex(chars, 2)?),
        'u' => out.push(hex(chars, 4)?),
        // A line continuation is no character.
        '\n' => {}
        other => out.push(other),
    }
    Some(())
}

fn hex(chars: &mut std::str::Chars<'_>, digits: usize) -> Option<char> {
    let text: String = chars.take(digits).collect();
    (text.len() == digits).then_some(())?;
    char::from_u32(u32::from_str_radix(&text, 16).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_javascript_literals() {
        let src = r#"a\'b\\c\nd\x41\u00e9' rest"#;
        assert_eq!(unquote(src).unwrap(), "a'b\\c\ndA\u{e9}");
        assert_eq!(unquote("unterminated"), None);
    }

    #[test]
    fn the_built_in_runtime_matches_its_pin() {
        let script = script().unwrap();
        assert!(script.contains("window.__HF_AUDIO_FX={render:"));
        assert_eq!(script.chars().count(), 45_679);
    }
}
