//! Where a face's file comes from: HyperFrames' bundled faces built into framefan
//! ([`crate::builtin`]), an `@fontsource/<slug>` package in the package cache, or a folder of the
//! user's own font files (`--fonts-dir`).
//!
//! A package is looked for exactly as CDN scripts are (`<cache>/node_modules/@fontsource/<slug>`
//! or `<cache>/@fontsource/<slug>`); its faces are `files/<slug>-latin-<weight>-<style>.woff2`
//! (any `*-latin-<weight>-<style>.woff2` when the family's files use another prefix). A user's
//! font file is described by fontconfig's own scanner (`fc-scan`), which reads the family, weight
//! and slant out of the file itself, so the name of the file does not matter.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Code, Error, Result};

/// One face: a font file and the weight and style it is declared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Face {
    /// The family it belongs to, lowercase (for `--fonts-dir` faces; empty for packages).
    pub family: String,
    /// CSS weight (100..=900).
    pub weight: u16,
    /// `normal` or `italic`.
    pub style: &'static str,
    /// Where its bytes are.
    pub source: Source,
}

/// Where a face's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file on this machine (a package cache, `--fonts-dir`).
    File(PathBuf),
    /// A face built into framefan.
    Builtin(&'static crate::builtin::File),
}

impl Face {
    /// The face's file name (`inter-latin-400-normal.woff2`).
    pub fn file_name(&self) -> &str {
        match &self.source {
            Source::File(path) => path.file_name().and_then(|n| n.to_str()).unwrap_or("face"),
            Source::Builtin(f) => f.path.rsplit('/').next().unwrap_or(f.path),
        }
    }

    /// The face's bytes.
    pub fn bytes(&self) -> Result<Cow<'static, [u8]>> {
        match &self.source {
            Source::File(path) => std::fs::read(path).map(Cow::Owned).map_err(|e| Error::io("reading font", path, e)),
            Source::Builtin(f) => Ok(Cow::Borrowed(f.bytes)),
        }
    }

    /// Whether the face is one of HyperFrames' bundled (built-in) faces.
    pub fn is_builtin(&self) -> bool {
        matches!(self.source, Source::Builtin(_))
    }

    /// The CSS `format()` hint for the file's extension.
    pub fn format(&self) -> &'static str {
        let ext = self.file_name().rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
        match ext.as_deref() {
            Some("woff2") => "woff2",
            Some("woff") => "woff",
            Some("otf") => "opentype",
            Some("ttc") => "collection",
            _ => "truetype",
        }
    }
}

/// The `@fontsource/<slug>` package directory in the first cache holding it.
pub fn package_dir(caches: &[PathBuf], slug: &str) -> Option<PathBuf> {
    caches
        .iter()
        .flat_map(|c| [c.join("node_modules/@fontsource").join(slug), c.join("@fontsource").join(slug)])
        .find(|d| d.join("files").is_dir())
}

/// HyperFrames' bundled latin face of `slug` at `weight`, built into framefan.
pub fn builtin_face(slug: &str, weight: u16) -> Option<Face> {
    let file = crate::builtin::font_face(slug, weight)?;
    Some(Face { family: String::new(), weight, style: "normal", source: Source::Builtin(file) })
}

/// The package's latin face for `weight` and `style`, if it has one.
pub fn package_face(dir: &Path, slug: &str, weight: u16, style: &'static str) -> Option<Face> {
    let files = dir.join("files");
    let exact = files.join(format!("{slug}-latin-{weight}-{style}.woff2"));
    let path = if exact.is_file() {
        exact
    } else {
        let suffix = format!("-latin-{weight}-{style}.woff2");
        let mut names: Vec<String> = std::fs::read_dir(&files)
            .ok()?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(&suffix))
            .collect();
        names.sort_unstable();
        files.join(names.first()?)
    };
    Some(Face { family: String::new(), weight, style, source: Source::File(path) })
}

/// The weights a package has latin faces for in `style`, ascending.
pub fn package_weights(dir: &Path, style: &str) -> Vec<u16> {
    let suffix = format!("-{style}.woff2");
    let mut weights: Vec<u16> = std::fs::read_dir(dir.join("files"))
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.contains("-latin-") && n.ends_with(&suffix))
                .filter_map(|n| n.trim_end_matches(&suffix).rsplit('-').next()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    weights.sort_unstable();
    weights.dedup();
    weights
}

/// Every face in `dir` (not recursive), as fontconfig describes the files, sorted by path.
pub fn scan_dir(dir: &Path) -> Result<Vec<Face>> {
    let listing = std::fs::read_dir(dir).map_err(|e| Error::io("listing --fonts-dir", dir, e))?;
    let mut paths: Vec<PathBuf> = listing
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| ["ttf", "otf", "woff", "woff2", "ttc"].contains(&e.to_ascii_lowercase().as_str()))
        })
        .collect();
    paths.sort();
    let mut faces = Vec::new();
    for path in paths {
        faces.extend(scan_file(&path)?);
    }
    Ok(faces)
}

fn scan_file(path: &Path) -> Result<Vec<Face>> {
    let out =
        Command::new("fc-scan").arg("--format").arg("%{family}\t%{weight}\t%{slant}\n").arg(path).output().map_err(
            |e| {
                Error::new(
                    Code::InvalidConfig,
                    format!("cannot run fc-scan on {} ({e}); install fontconfig", path.display()),
                )
            },
        )?;
    let text = String::from_utf8_lossy(&out.stdout);
    // One face per family name the file gives (`Lato` and `Lato Light` …), so that either finds it.
    let faces: Vec<Face> = text
        .lines()
        .filter_map(|line| {
            let mut f = line.split('\t');
            let families = f.next()?;
            let weight = css_weight(f.next()?.trim().parse().ok()?);
            let style = if f.next()?.trim().parse::<u32>().ok()? >= 100 { "italic" } else { "normal" };
            Some(families.split(',').map(str::trim).filter(|n| !n.is_empty()).map(move |name| Face {
                family: name.to_lowercase(),
                weight,
                style,
                source: Source::File(path.to_path_buf()),
            }))
        })
        .flatten()
        .collect();
    if faces.is_empty() {
        return Err(Error::new(
            Code::InvalidConfig,
            format!("--fonts-dir: {} is not a font fontconfig can read", path.display()),
        ));
    }
    Ok(faces)
}

/// fontconfig's weight scale (0..=215) as a CSS weight.
fn css_weight(fc: u32) -> u16 {
    const SCALE: [(u32, u16); 9] =
        [(0, 100), (40, 200), (50, 300), (80, 400), (100, 500), (180, 600), (200, 700), (205, 800), (210, 900)];
    SCALE.iter().min_by_key(|(w, _)| w.abs_diff(fc)).map_or(400, |(_, css)| *css)
}

/// The face fontconfig substitutes for `family` on this machine, for messages.
pub fn system_match(family: &str) -> Option<String> {
    let out = Command::new("fc-match").arg("--format").arg("%{family[0]}").arg(family).output().ok()?;
    let name = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fontconfig_weights_map_to_css() {
        assert_eq!(css_weight(80), 400);
        assert_eq!(css_weight(200), 700);
        assert_eq!(css_weight(210), 900);
        assert_eq!(css_weight(0), 100);
    }
}
