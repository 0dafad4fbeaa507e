//! What framefan carries inside its binary: HyperFrames' pinned page runtime and HyperFrames'
//! bundled font set (the 42 latin `@fontsource` faces its compiler inlines), with their licences.
//!
//! build.rs fetched these files by name from the npm registry, checked each against the sha256
//! pins of `vendor/npm/pins.tsv` and embedded the bytes, so a plan needs no package cache, no
//! checkout and no network: `--package-cache` only adds CDN scripts and other `@fontsource`
//! families. The woff2 faces are already Brotli-compressed, so they are embedded as they are.

use std::path::Path;

use serde::Serialize;

use crate::runtime::record::{RuntimeRecord, PACKAGE, PACKAGE_FILE};

/// An npm package whose files are built in.
#[derive(Debug, PartialEq, Eq)]
pub struct Package {
    /// The package name (`@fontsource/inter`).
    pub name: &'static str,
    /// Its pinned version.
    pub version: &'static str,
    /// Its SPDX licence.
    pub licence: &'static str,
    /// The sha256 of the registry tarball the files came from.
    pub tarball_sha256: &'static str,
}

/// One built-in file.
#[derive(Debug, PartialEq, Eq)]
pub struct File {
    /// The package it comes from.
    pub package: &'static Package,
    /// Its path inside the package.
    pub path: &'static str,
    /// The sha256 of `bytes` (checked at build time).
    pub sha256: &'static str,
    /// The file.
    pub bytes: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/builtin_files.rs"));

/// Apache-2.0, the licence of `hyperframes` (its tarball ships the licence only as a
/// `package.json` field; the text is the one framefan's own `LICENSE` holds).
const APACHE_2_0: &str = include_str!("../LICENSE");

/// Every built-in package.
#[cfg(feature = "internals")]
pub fn packages() -> &'static [Package] {
    PACKAGES
}

/// The built-in file `path` of `package`.
pub fn file(package: &str, path: &str) -> Option<&'static File> {
    FILES.iter().find(|f| f.package.name == package && f.path == path)
}

/// The built-in latin face of the bundled family `slug` at `weight` (style normal).
pub fn font_face(slug: &str, weight: u16) -> Option<&'static File> {
    file(&format!("@fontsource/{slug}"), &format!("files/{slug}-latin-{weight}-normal.woff2"))
}

/// The licence text of `package`.
pub fn licence_text(package: &Package) -> Option<&'static str> {
    match file(package.name, "LICENSE") {
        Some(f) => std::str::from_utf8(f.bytes).ok(),
        None if package.licence == "Apache-2.0" => Some(APACHE_2_0),
        None => None,
    }
}

/// The folder [`write_licences`] gives `package`'s licence (`@fontsource/x@v` → `fontsource-x@v`).
fn licence_folder(package: &Package) -> String {
    format!("{}@{}", package.name.trim_start_matches('@').replace('/', "-"), package.version)
}

/// A Markdown list of the built-in packages, their licences and tarball sha256.
pub fn licence_list() -> String {
    PACKAGES
        .iter()
        .map(|p| {
            format!(
                "- `{}` {} — {} (`{}/LICENSE`); npm tarball sha256 {}\n",
                p.name,
                p.version,
                p.licence,
                licence_folder(p),
                p.tarball_sha256
            )
        })
        .collect()
}

/// Write each package's licence text to `dir/<folder>/LICENSE` (the folders [`licence_list`] names).
pub fn write_licences(dir: &Path) -> std::io::Result<()> {
    for package in PACKAGES {
        if let Some(text) = licence_text(package) {
            let folder = dir.join(licence_folder(package));
            std::fs::create_dir_all(&folder)?;
            std::fs::write(folder.join("LICENSE"), text)?;
        }
    }
    Ok(())
}

/// What `framefan version --json` says is built in.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuiltinReport {
    /// The pinned page runtime.
    pub runtime: RuntimeRecord,
    /// The bundled font set.
    pub fonts: FontSetReport,
}

/// The built-in font set.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FontSetReport {
    /// Each family, in HyperFrames' order.
    pub families: Vec<FamilyReport>,
    /// Number of faces.
    pub faces: usize,
    /// Their bytes in all.
    pub bytes: usize,
}

/// One built-in family.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FamilyReport {
    /// The family's name (`Inter`).
    pub family: &'static str,
    /// The npm package and version its faces come from.
    pub package: String,
    /// Its licence.
    pub licence: &'static str,
    /// The weights built in (style normal, latin subset).
    pub weights: Vec<u16>,
}

/// What a plan made with the built-in runtime records (`hyperframes`, its pinned version and
/// sha256, as `vendor/npm/pins.tsv` pins them). Here rather than in `runtime`, which reads the
/// runtime's bytes from this table, so that the two do not import each other.
pub fn runtime_record() -> RuntimeRecord {
    match file(PACKAGE, PACKAGE_FILE) {
        Some(f) => RuntimeRecord {
            package: f.package.name.to_string(),
            version: f.package.version.to_string(),
            sha256: f.sha256.to_string(),
        },
        None => RuntimeRecord { package: PACKAGE.into(), version: String::new(), sha256: String::new() },
    }
}

/// The report of what is built in.
pub fn report() -> BuiltinReport {
    let mut families = Vec::new();
    let (mut faces, mut bytes) = (0, 0);
    for b in &crate::plan::fonts::table::BUNDLED {
        let found: Vec<(u16, &File)> = b.weights.iter().filter_map(|&w| Some((w, font_face(b.slug, w)?))).collect();
        faces += found.len();
        bytes += found.iter().map(|(_, f)| f.bytes.len()).sum::<usize>();
        let package = found.first().map(|(_, f)| f.package);
        families.push(FamilyReport {
            family: b.name,
            package: package.map(|p| format!("{}@{}", p.name, p.version)).unwrap_or_default(),
            licence: package.map_or("", |p| p.licence),
            weights: found.iter().map(|(w, _)| *w).collect(),
        });
    }
    BuiltinReport { runtime: runtime_record(), fonts: FontSetReport { families, faces, bytes } }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fonts::table::BUNDLED;

    #[test]
    fn every_bundled_face_is_built_in_and_nothing_else_is() {
        let mut expected = 0;
        for b in &BUNDLED {
            for &w in b.weights {
                let face = font_face(b.slug, w).unwrap_or_else(|| panic!("{} {w} is not built in", b.name));
                assert!(face.bytes.starts_with(b"wOF2"), "{} is not woff2", face.path);
                expected += 1;
            }
            let package = font_face(b.slug, b.weights[0]).unwrap().package;
            assert!(licence_text(package).is_some_and(|t| t.contains("SIL Open Font License")), "{}", package.name);
        }
        let woff2 = FILES.iter().filter(|f| f.path.ends_with(".woff2")).count();
        assert_eq!((expected, woff2), (42, 42));
    }

    #[test]
    fn built_in_bytes_match_their_pins() {
        use sha2::Digest;
        for f in FILES {
            assert_eq!(crate::digest::hex(&sha2::Sha256::digest(f.bytes)), f.sha256, "{}", f.path);
        }
    }

    #[test]
    fn the_report_lists_runtime_and_fonts() {
        let r = report();
        assert_eq!((r.runtime.package.as_str(), r.fonts.families.len(), r.fonts.faces), ("hyperframes", 18, 42));
        assert_eq!(r.fonts.families[0].package, "@fontsource/inter@5.3.0");
        assert!(r.fonts.bytes > 500_000);
    }
}
