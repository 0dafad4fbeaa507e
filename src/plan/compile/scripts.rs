//! External scripts: well-known CDN URLs resolved from a local package cache and inlined.
//!
//! Recognised URLs (any of `https:`, `http:` or protocol-relative, query and fragment ignored):
//! - jsDelivr `cdn.jsdelivr.net/npm/<pkg>[@<ver>][/<path>]` and unpkg `unpkg.com/<pkg>[@<ver>][/<path>]`
//!   map to `<pkg>/<path>`; without a path, to the package's `jsdelivr`, `unpkg`, `browser` or
//!   `main` entry (in that order; else `index.js`).
//! - cdnjs `cdnjs.cloudflare.com/ajax/libs/<pkg>/<ver>/<file>` maps to the package's dist files:
//!   `<pkg>/dist/<file>`, else `<pkg>/<file>`.
//!
//! A package is looked for in each cache directory as `<dir>/node_modules/<pkg>` or `<dir>/<pkg>`
//! (the configured cache first, then the project's `node_modules`). **Version rule**: a full
//! version (`3.12.5`) needs exactly that `version` in the package's `package.json`; a partial
//! one (`3`, `3.12`, `3.x`) needs the same leading components; a caret range (`^3.12.0`) needs
//! the same major; no version, `latest` or `*` accepts any. A package without a readable
//! `package.json` satisfies only an unversioned URL. Anything else is
//! `EXTERNAL_RESOURCE_UNAVAILABLE` naming the URL and what was found.

use std::path::{Path, PathBuf};

use super::urls;
use crate::error::{Code, Error, Result};

/// Which CDN layout a URL uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// jsDelivr `/npm/` and unpkg: paths are the package's own.
    Npm,
    /// cdnjs: file names of the library's distribution.
    Cdnjs,
}

/// A CDN script URL, taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CdnRef {
    layout: Layout,
    /// npm package name, possibly scoped (`@scope/name`).
    pub package: String,
    /// Requested version or range, if any.
    pub version: Option<String>,
    /// Path inside the package, if any (normalised, never climbing out).
    pub path: Option<String>,
}

/// Parse `url` as a CDN script URL; `None` if it is not one.
pub fn parse_cdn(url: &str) -> Option<CdnRef> {
    let u = url.trim();
    let rest = u.strip_prefix("https://").or_else(|| u.strip_prefix("http://")).or_else(|| u.strip_prefix("//"))?;
    let rest = rest.split(['?', '#']).next()?;
    let (host, path) = rest.split_once('/')?;
    match host.to_ascii_lowercase().as_str() {
        "cdn.jsdelivr.net" => npm_spec(path.strip_prefix("npm/")?),
        "unpkg.com" => npm_spec(path),
        "cdnjs.cloudflare.com" => {
            let mut parts = path.strip_prefix("ajax/libs/")?.splitn(3, '/');
            let (package, version, file) = (parts.next()?, parts.next()?, parts.next()?);
            let file = urls::normalise(&urls::percent_decode(file)).filter(|f| !f.is_empty())?;
            valid_name(package).then(|| CdnRef {
                layout: Layout::Cdnjs,
                package: package.to_string(),
                version: Some(version.to_string()).filter(|v| !v.is_empty()),
                path: Some(file),
            })
        }
        _ => None,
    }
}

/// `<pkg>[@<ver>][/<path>]` with `<pkg>` possibly `@scope/name`.
fn npm_spec(spec: &str) -> Option<CdnRef> {
    let (name_ver, path) = if let Some(scoped) = spec.strip_prefix('@') {
        let (scope, rest) = scoped.split_once('/')?;
        let (name, path) = rest.split_once('/').unwrap_or((rest, ""));
        (format!("@{scope}/{name}"), path)
    } else {
        let (name, path) = spec.split_once('/').unwrap_or((spec, ""));
        (name.to_string(), path)
    };
    let at = name_ver.rfind('@').filter(|&i| i > 0);
    let (package, version) = match at {
        Some(i) => (name_ver[..i].to_string(), Some(name_ver[i + 1..].to_string()).filter(|v| !v.is_empty())),
        None => (name_ver, None),
    };
    let path = urls::normalise(&urls::percent_decode(path))?;
    valid_name(&package).then(|| CdnRef {
        layout: Layout::Npm,
        package,
        version,
        path: Some(path).filter(|p| !p.is_empty()),
    })
}

/// npm names: lowercase letters, digits, `-._~`, one optional `@scope/`.
fn valid_name(name: &str) -> bool {
    let bare = name.strip_prefix('@').map_or(Some(name), |s| s.split_once('/').map(|(_, n)| n));
    let ok_chars = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c));
    let scope_ok = name.strip_prefix('@').is_none_or(|s| s.split_once('/').is_some_and(|(sc, _)| ok_chars(sc)));
    bare.is_some_and(|b| ok_chars(b) && b != "." && b != "..") && scope_ok
}

/// Whether an installed `version` satisfies the `requested` one (see the module docs).
pub fn version_satisfies(requested: Option<&str>, installed: Option<&str>) -> bool {
    let Some(req) = requested.map(str::trim).filter(|r| !matches!(*r, "" | "latest" | "*")) else {
        return true;
    };
    let Some(have) = installed.map(|v| v.trim().trim_start_matches('v')) else {
        return false;
    };
    let have_parts: Vec<&str> = have.split(['.', '-', '+']).collect();
    if let Some(caret) = req.strip_prefix('^') {
        return caret.split('.').next() == have_parts.first().copied();
    }
    let req = req.trim_start_matches(['~', '=', 'v']);
    let wanted: Vec<&str> = req.split('.').take_while(|p| !matches!(*p, "x" | "X" | "*")).collect();
    if wanted.len() >= 3 {
        return req == have;
    }
    wanted.iter().zip(&have_parts).all(|(w, h)| w == h) && wanted.len() <= have_parts.len()
}

/// Read the file a CDN URL stands for from the first cache that has a satisfying package.
pub fn resolve(url: &str, cdn: &CdnRef, caches: &[PathBuf]) -> Result<(PathBuf, String)> {
    let mut seen = Vec::new();
    for dir in caches {
        for pkg_dir in [dir.join("node_modules"), dir.clone()].map(|d| urls::join(&d, &cdn.package)) {
            if !pkg_dir.is_dir() {
                continue;
            }
            let manifest = read_manifest(&pkg_dir);
            let installed = manifest.as_ref().and_then(|m| m.get("version")?.as_str().map(str::to_string));
            if !version_satisfies(cdn.version.as_deref(), installed.as_deref()) {
                seen.push(format!("{} {}", pkg_dir.display(), installed.as_deref().unwrap_or("(no version)")));
                continue;
            }
            if let Some(file) = candidates(cdn, manifest.as_ref())
                .into_iter()
                .map(|rel| urls::join(&pkg_dir, &rel))
                .find(|p| p.is_file())
            {
                let bytes = std::fs::read(&file).map_err(|e| Error::io("reading cached package file", &file, e))?;
                return Ok((file, String::from_utf8_lossy(&bytes).into_owned()));
            }
            seen.push(format!("{} (file not found)", pkg_dir.display()));
        }
    }
    let searched: Vec<String> = caches.iter().map(|d| d.display().to_string()).collect();
    let found = if seen.is_empty() { String::new() } else { format!("; found {}", seen.join(", ")) };
    Err(Error::new(
        Code::ExternalResourceUnavailable,
        format!(
            "script {url} ({}{}) is not in the package cache (searched {}{found}); plan never uses the network",
            cdn.package,
            cdn.version.as_deref().map(|v| format!("@{v}")).unwrap_or_default(),
            if searched.is_empty() { "nothing".to_string() } else { searched.join(", ") },
        ),
    ))
}

fn read_manifest(pkg_dir: &Path) -> Option<serde_json::Value> {
    let bytes = std::fs::read(pkg_dir.join("package.json")).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Relative paths inside the package to try, in order.
fn candidates(cdn: &CdnRef, manifest: Option<&serde_json::Value>) -> Vec<String> {
    match (cdn.layout, &cdn.path) {
        (Layout::Cdnjs, Some(file)) => vec![format!("dist/{file}"), file.clone()],
        (_, Some(path)) => vec![path.clone()],
        (_, None) => {
            let entry = ["jsdelivr", "unpkg", "browser", "main"]
                .iter()
                .find_map(|k| manifest.and_then(|m| m.get(*k)?.as_str().map(str::to_string)))
                .unwrap_or_else(|| "index.js".to_string());
            urls::normalise(&entry).into_iter().collect()
        }
    }
}

/// Make `code` safe as the text of an inline `<script>`: a literal `</script` would end the
/// element early, so its `/` is escaped (`<\/script`), which means the same inside JavaScript
/// strings, template literals, regular expressions and comments, the only places it can occur.
pub fn escape_inline(code: &str) -> String {
    let lower = code.to_ascii_lowercase();
    let mut out = String::with_capacity(code.len());
    let mut last = 0;
    for (i, _) in lower.match_indices("</script") {
        out.push_str(&code[last..i]);
        out.push_str("<\\/");
        last = i + 2;
    }
    out.push_str(&code[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cdn_urls() {
        let j = parse_cdn("https://cdn.jsdelivr.net/npm/gsap@3.12.5/dist/gsap.min.js").unwrap();
        assert_eq!(
            (j.package.as_str(), j.version.as_deref(), j.path.as_deref()),
            ("gsap", Some("3.12.5"), Some("dist/gsap.min.js"))
        );
        let u = parse_cdn("//unpkg.com/@scope/pkg@1/x.js?module").unwrap();
        assert_eq!(
            (u.package.as_str(), u.version.as_deref(), u.path.as_deref()),
            ("@scope/pkg", Some("1"), Some("x.js"))
        );
        let c = parse_cdn("https://cdnjs.cloudflare.com/ajax/libs/gsap/3.12.5/ScrollTrigger.min.js").unwrap();
        assert_eq!((c.layout, c.path.as_deref()), (Layout::Cdnjs, Some("ScrollTrigger.min.js")));
        let bare = parse_cdn("https://cdn.jsdelivr.net/npm/gsap").unwrap();
        assert_eq!((bare.version, bare.path), (None, None));
        for not in [
            "https://example.com/gsap.js",
            "https://cdn.jsdelivr.net/gh/user/repo/x.js",
            "https://unpkg.com/../etc/passwd",
            "https://unpkg.com/gsap@3/../../x.js",
            "assets/x.js",
        ] {
            assert_eq!(parse_cdn(not), None, "{not}");
        }
    }

    #[test]
    fn versions_match_exactly_or_by_prefix() {
        let ok = |r: Option<&str>, h: &str| version_satisfies(r, Some(h));
        assert!(ok(Some("3.12.5"), "3.12.5"));
        assert!(!ok(Some("3.12.5"), "3.12.4"));
        assert!(ok(Some("3"), "3.12.5"));
        assert!(ok(Some("3.12"), "3.12.5"));
        assert!(!ok(Some("3.11"), "3.12.5"));
        assert!(ok(Some("^3.1.0"), "3.12.5"));
        assert!(!ok(Some("^2"), "3.12.5"));
        assert!(ok(Some("3.x"), "3.0.0"));
        assert!(ok(None, "1.0.0"));
        assert!(ok(Some("latest"), "1.0.0"));
        assert!(!version_satisfies(Some("3"), None));
        assert!(version_satisfies(None, None));
    }

    #[test]
    fn inline_scripts_cannot_close_early() {
        assert_eq!(escape_inline("a='</SCRIPT>';b"), "a='<\\/SCRIPT>';b");
        assert_eq!(escape_inline("plain"), "plain");
    }
}
