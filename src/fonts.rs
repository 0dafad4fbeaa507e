//! A fingerprint of the fonts the browser can see (`fontSnapshotSha`).
//!
//! Chromium on Linux finds system fonts through fontconfig, so the fingerprint is taken from
//! fontconfig's own list: for every face, its family, style, font version, file name, face index
//! and file size, sorted and hashed. File paths are reduced to their names so that the same fonts
//! installed under another prefix give the same fingerprint; sizes and versions catch a changed
//! font file without reading every font on the machine. Fonts shipped inside the project are part
//! of the plan and covered by the planHash instead.
//!
//! Since plan freezes the faces a page's text is drawn with (`plan::fonts`), this fingerprint
//! only has to match when a plan says its glyphs may still come from system fonts (`systemFonts`
//! in `meta/encoder.json`); a worker with no font at all is refused even then, because Chromium
//! draws no text without one.

use std::process::Command;

use sha2::{Digest, Sha256};

use crate::digest;
use crate::error::{Code, Error, Result};

/// The fingerprint of a machine on which fontconfig finds no font at all.
pub const NO_FONTS_SHA: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

const FORMAT: &str = "%{family}\\t%{style}\\t%{fontversion}\\t%{file}\\t%{index}\\n";

/// The fingerprint of the fonts fontconfig exposes on this machine (64 lowercase hex).
pub fn snapshot_sha() -> Result<String> {
    let out = Command::new("fc-list").arg("--format").arg(FORMAT).output().map_err(|e| {
        Error::new(
            Code::BrowserNotFound,
            format!("cannot run fc-list to fingerprint fonts ({e}); install the Debian package fontconfig"),
        )
    })?;
    if !out.status.success() {
        return Err(Error::new(Code::BrowserNotFound, format!("fc-list failed with {}", out.status)));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(fingerprint(text.lines().map(face_line)))
}

/// One face's line with the file path reduced to its name plus the file's size.
fn face_line(line: &str) -> String {
    let mut fields: Vec<String> = line.split('\t').map(str::to_string).collect();
    if let Some(file) = fields.get_mut(3) {
        let size = std::fs::metadata(&*file).map(|m| m.len()).unwrap_or(0);
        let name = std::path::Path::new(file).file_name().map(|n| n.to_string_lossy().into_owned());
        *file = format!("{}:{size}", name.unwrap_or_default());
    }
    fields.join("\t")
}

/// SHA-256 of the sorted, de-duplicated lines joined by newlines.
fn fingerprint(lines: impl Iterator<Item = String>) -> String {
    let mut lines: Vec<String> = lines.filter(|l| !l.is_empty()).collect();
    lines.sort_unstable();
    lines.dedup();
    let mut h = Sha256::new();
    for line in &lines {
        h.update(line.as_bytes());
        h.update(b"\n");
    }
    digest::hex(&h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_duplicates_do_not_matter() {
        let a = fingerprint(["b".to_string(), "a".to_string(), "a".to_string()].into_iter());
        let b = fingerprint(["a".to_string(), "b".to_string()].into_iter());
        assert_eq!(a, b);
        assert_ne!(a, fingerprint(["a".to_string()].into_iter()));
    }

    #[test]
    fn no_fonts_has_a_known_fingerprint() {
        assert_eq!(fingerprint(std::iter::empty()), NO_FONTS_SHA);
    }

    #[test]
    fn this_machine_has_a_fingerprint() {
        let sha = snapshot_sha().expect("fc-list runs (CI installs fontconfig)");
        assert_eq!(sha.len(), 64);
        assert_eq!(sha, snapshot_sha().expect("second run"));
    }
}
