//! What a URL written in the page points at, and whether plan may let the page load it.
//!
//! Relative URLs resolve against the project root (composition.md §1, §6; a sub-composition's
//! are rebased first, see `subcomp`). A relative URL whose `..` segments climb out of the project,
//! and any absolute path (`/x`, `file:`), is `UNSAFE_PROJECT_PATH`; an `http(s):`, protocol-relative or other-scheme URL is external and is
//! reported by the caller (`EXTERNAL_RESOURCE_UNAVAILABLE`) unless it is a CDN script plan can
//! inline. `data:`, `blob:`, `about:`, `javascript:` and fragment-only URLs load nothing.

use std::path::{Path, PathBuf};

use crate::error::{Code, Error, Result};

/// What a URL refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Nothing to load (empty, `#frag`, `data:` …).
    Nothing,
    /// Another origin: the URL as written.
    External(String),
    /// A file of the project: its normalised relative path (`/`-separated, no `.`/`..`).
    Local(String),
}

/// Classify `url`, found in `context` (e.g. `<img src>`), failing on paths that leave the project.
pub fn classify(url: &str, context: &str) -> Result<Target> {
    let u = url.trim();
    if u.is_empty() || u.starts_with('#') {
        return Ok(Target::Nothing);
    }
    if let Some(scheme) = scheme(u) {
        return match scheme.to_ascii_lowercase().as_str() {
            "data" | "blob" | "about" | "javascript" | "mailto" => Ok(Target::Nothing),
            "file" => Err(unsafe_path(u, context, "is an absolute file URL")),
            s if s.len() == 1 => Err(unsafe_path(u, context, "is an absolute path")),
            _ => Ok(Target::External(u.to_string())),
        };
    }
    if u.starts_with("//") || u.starts_with("\\\\") {
        return Ok(Target::External(u.to_string()));
    }
    if u.starts_with('/') || u.starts_with('\\') {
        return Err(unsafe_path(u, context, "is an absolute path"));
    }
    let path = u.split(['?', '#']).next().unwrap_or("");
    let decoded = percent_decode(path);
    match normalise(&decoded) {
        Some(rel) if rel.is_empty() => Ok(Target::Nothing),
        Some(rel) => Ok(Target::Local(rel)),
        None => Err(unsafe_path(u, context, "climbs out of the project with ..")),
    }
}

/// `classify` for URLs that must name a project file (a sub-composition, a media source).
pub fn local_file(url: &str, context: &str) -> Result<String> {
    match classify(url, context)? {
        Target::Local(rel) => Ok(rel),
        Target::External(u) => Err(external(&u, context)),
        Target::Nothing => {
            Err(Error::new(Code::CompositionInvalid, format!("{context} {url:?} names no project file")))
        }
    }
}

/// The error for an external URL the page would load.
pub fn external(url: &str, context: &str) -> Error {
    Error::new(
        Code::ExternalResourceUnavailable,
        format!("{context} loads {url}, which is outside the project; plan never uses the network (copy it into the project)"),
    )
}

fn unsafe_path(url: &str, context: &str, why: &str) -> Error {
    Error::new(Code::UnsafeProjectPath, format!("{context} {url:?} {why}; only paths inside the project may be used"))
}

/// The URL's scheme, if it starts with one (`https:` …).
fn scheme(u: &str) -> Option<&str> {
    let end = u.find(':')?;
    let s = &u[..end];
    let mut chars = s.chars();
    let first = chars.next()?;
    let ok = first.is_ascii_alphabetic() && chars.all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c));
    ok.then_some(s)
}

/// Decode `%XX` escapes; invalid escapes are kept as written.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Resolve `.` and `..` in a relative path (`/` or `\` separated); `None` if it climbs out.
pub fn normalise(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split(['/', '\\']) {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

/// The absolute path of a normalised relative path under `root`.
pub fn join(root: &Path, rel: &str) -> PathBuf {
    rel.split('/').fold(root.to_path_buf(), |p, seg| p.join(seg))
}

/// Check that `path` (under `root`) may be read. A relative URL is already known not to climb
/// out of the project ([`classify`]); a symlink inside the project may lead anywhere, since the
/// project scan follows it and freezes its content (see `plan::freeze`).
pub fn check_inside(_root: &Path, _path: &Path, _context: &str) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_urls() {
        let c = |u: &str| classify(u, "test").map_err(|e| e.code());
        assert_eq!(c("assets/a.png"), Ok(Target::Local("assets/a.png".into())));
        assert_eq!(c("./assets/../b%20c.png?x=1#y"), Ok(Target::Local("b c.png".into())));
        assert_eq!(c("https://x.test/a.js"), Ok(Target::External("https://x.test/a.js".into())));
        assert_eq!(c("//x.test/a.js"), Ok(Target::External("//x.test/a.js".into())));
        assert_eq!(c("data:image/png;base64,AAAA"), Ok(Target::Nothing));
        assert_eq!(c("#frag"), Ok(Target::Nothing));
        assert_eq!(c("../secret.png"), Err("UNSAFE_PROJECT_PATH"));
        assert_eq!(c("a/../../b"), Err("UNSAFE_PROJECT_PATH"));
        assert_eq!(c("/etc/passwd"), Err("UNSAFE_PROJECT_PATH"));
        assert_eq!(c("file:///etc/passwd"), Err("UNSAFE_PROJECT_PATH"));
        assert_eq!(c("C:/x.png"), Err("UNSAFE_PROJECT_PATH"));
        assert_eq!(c("%2e%2e/x"), Err("UNSAFE_PROJECT_PATH"));
    }

    #[test]
    fn decodes_percent_escapes_leniently() {
        assert_eq!(percent_decode("a%20b"), "a b");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
