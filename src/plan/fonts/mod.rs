//! Deterministic fonts: the faces a page's text is drawn with are frozen into the plan, so
//! glyphs do not depend on the fonts a worker happens to have (HyperFrames does the same).
//!
//! Every family the page requests (see [`collect`]) is resolved, in order, to:
//! 1. the project's own `@font-face` (left alone, even when it fails to load: HyperFrames'
//!    compiler adds no bundled face for a family the project declares; a face with `local()`
//!    sources is the machine's font, so the plan then depends on system fonts);
//! 2. the user's font files (`--fonts-dir`), matched by the family name inside the files;
//! 3. HyperFrames' bundled family for the name ([`table`]: `Arial` → Inter, `Futura` →
//!    Montserrat, `Menlo` → JetBrains Mono …), whose faces are built into framefan
//!    ([`crate::builtin`]), so a bundled family never depends on a package cache or system fonts;
//! 4. `@fontsource/<family>` in the package cache (`npm install` any other family there);
//! 5. otherwise nothing: a warning names the family and the font fontconfig substitutes, and the
//!    plan records that it depends on system fonts.
//!
//! Chosen faces are copied to `compiled/__framefan__/fonts/` (hashed like every plan file) and
//! declared with `@font-face` under the family name the page uses (a built-in face with
//! HyperFrames' `unicode-range` of the bundled subset, as its compiler declares it), in a `<style
//! data-framefan-fonts>` first in `<head>`, ahead of the page's own CSS. The plan is independent
//! of system fonts ([`FontPlan::system_fonts`] false) unless `--system-fonts` is given, a family
//! stays unresolved, or the page's text holds characters the bundled (latin) faces lack.

pub mod collect;
pub mod faces;
pub mod table;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use kuchikiki::NodeRef;
use serde::Serialize;
use sha2::{Digest, Sha256};

use self::faces::Face;
use self::table::bundled_for;
use crate::error::Result;
use crate::plan::compile::dom::prepend_head_style;
use crate::plan::project::{Generated, GENERATED_DIR};

/// Options of the font step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FontOptions {
    /// Render with the machine's fonts: no mapping, no frozen faces (`--system-fonts`).
    pub system_fonts: bool,
    /// A folder of the user's own font files (`--fonts-dir`).
    pub fonts_dir: Option<PathBuf>,
}

/// What the font step decided, written to `meta/fonts.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FontPlan {
    /// Whether the rendered glyphs may still come from the worker's system fonts (then
    /// render-chunk insists on an equal `fontSnapshotSha`).
    pub system_fonts: bool,
    /// One entry per requested family.
    pub families: Vec<Resolution>,
}

/// How one requested family was resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Resolution {
    /// The family as the page names it.
    pub family: String,
    /// `project`, `fonts-dir`, `bundled`, `package-cache` or `system`.
    pub source: &'static str,
    /// The family whose faces draw it (`Inter` for `Arial`); the substitute for `system`.
    pub renders_as: String,
    /// The frozen faces.
    pub faces: Vec<FaceJson>,
}

/// One frozen face.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FaceJson {
    /// Its path under `compiled/`.
    pub file: String,
    /// CSS weight.
    pub weight: u16,
    /// `normal` or `italic`.
    pub style: &'static str,
}

/// The style element's marker attribute.
pub const MARKER: &str = "data-framefan-fonts";

/// Resolve and freeze the fonts of `doc` (see the module docs). Frozen files go to `generated`.
pub fn apply(
    doc: &NodeRef,
    project: &Path,
    caches: &[PathBuf],
    options: &FontOptions,
    generated: &mut Vec<Generated>,
    warnings: &mut Vec<String>,
) -> Result<FontPlan> {
    if options.system_fonts {
        return Ok(FontPlan { system_fonts: true, families: Vec::new() });
    }
    collect::promote_generic_primaries(doc);
    let usage = collect::usage(doc, project, generated);
    let user = match &options.fonts_dir {
        Some(dir) => faces::scan_dir(dir)?,
        None => Vec::new(),
    };
    let mut plan = FontPlan::default();
    if let Some(src) = &usage.local_source {
        warnings.push(format!(
            "a project @font-face names the machine's own fonts (src {src}), so the plan depends on system fonts"
        ));
        plan.system_fonts = true;
    }
    let mut rules = Vec::new();
    let mut frozen = HashSet::new();
    for family in &usage.requested {
        if usage.declared.contains(&family.to_lowercase()) {
            plan.families.push(Resolution {
                family: family.clone(),
                source: "project",
                renders_as: family.clone(),
                faces: Vec::new(),
            });
            continue;
        }
        let Some((source, renders_as, found)) = resolve(family, &usage, &user, caches) else {
            let substitute = faces::system_match(family).unwrap_or_else(|| "the system's default".to_string());
            warnings.push(format!(
                "font family {family:?} is not declared by the project, not bundled and not in the package cache \
                 (@fontsource/{}); it renders with the next family of its stack or the system's {substitute:?}, \
                 so the plan depends on system fonts",
                slug(family)
            ));
            plan.system_fonts = true;
            plan.families.push(Resolution {
                family: family.clone(),
                source: "system",
                renders_as: substitute,
                faces: Vec::new(),
            });
            continue;
        };
        let mut faces_json = Vec::new();
        for face in found {
            let rel = freeze_face(&face, generated, &mut frozen)?;
            rules.push(rule(family, &rel, &face));
            faces_json.push(FaceJson { file: rel, weight: face.weight, style: face.style });
        }
        plan.families.push(Resolution { family: family.clone(), source, renders_as, faces: faces_json });
    }
    if !rules.is_empty() {
        prepend_head_style(doc, MARKER, &rules.join("\n"));
        if let Some(c) = collect::uncovered_char(doc) {
            warnings.push(format!(
                "the page's text has characters the frozen faces do not cover (U+{:04X} …); the browser draws them \
                 with system fonts, so the plan depends on system fonts",
                c as u32
            ));
            plan.system_fonts = true;
        }
    }
    Ok(plan)
}

/// Steps 2–4 of the module docs: the faces for `family`, where they come from and what they are.
fn resolve(
    family: &str,
    usage: &collect::Usage,
    user: &[Face],
    caches: &[PathBuf],
) -> Option<(&'static str, String, Vec<Face>)> {
    let lower = family.to_lowercase();
    let own: Vec<Face> = user.iter().filter(|f| f.family == lower).cloned().collect();
    if !own.is_empty() {
        return Some(("fonts-dir", family.to_string(), own));
    }
    if let Some(b) = bundled_for(family) {
        let found: Vec<Face> = b.weights.iter().filter_map(|&w| faces::builtin_face(b.slug, w)).collect();
        return (!found.is_empty()).then(|| ("bundled", b.name.to_string(), found));
    }
    let slug = slug(family);
    let dir = faces::package_dir(caches, &slug)?;
    let mut found = Vec::new();
    for style in ["normal", "italic"].into_iter().filter(|s| *s == "normal" || usage.italic) {
        let available = faces::package_weights(&dir, style);
        let mut weights: Vec<u16> = usage.weights.iter().filter_map(|&w| nearest(&available, w)).collect();
        weights.dedup();
        found.extend(weights.into_iter().filter_map(|w| faces::package_face(&dir, &slug, w, style)));
    }
    (!found.is_empty()).then(|| ("package-cache", family.to_string(), found))
}

/// The available weight nearest to `wanted` (ties go to the heavier one).
fn nearest(available: &[u16], wanted: u16) -> Option<u16> {
    available.iter().copied().min_by_key(|&w| (w.abs_diff(wanted), std::cmp::Reverse(w)))
}

/// `@fontsource`'s package name for a family: lowercase, words joined by `-`.
fn slug(family: &str) -> String {
    let lower = family.to_lowercase();
    let words: Vec<String> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.chars().filter(char::is_ascii_alphanumeric).collect())
        .collect();
    words.join("-")
}

/// Copy `face` into the plan (once) and return its path under `compiled/`.
fn freeze_face(face: &Face, generated: &mut Vec<Generated>, frozen: &mut HashSet<String>) -> Result<String> {
    let bytes = face.bytes()?.into_owned();
    let name = face.file_name();
    let ext = name.rsplit_once('.').map_or("font".to_string(), |(_, e)| e.to_ascii_lowercase());
    let hash = crate::digest::hex(&Sha256::digest(&bytes));
    // Package faces keep their (unique) names; a user's file is named by its content.
    let file = if face.family.is_empty() { name.to_string() } else { format!("user-{}.{ext}", &hash[..16]) };
    let rel = format!("{GENERATED_DIR}/fonts/{file}");
    if frozen.insert(rel.clone()) {
        generated.push(Generated { rel: rel.clone(), bytes });
    }
    Ok(rel)
}

/// One `@font-face` rule.
fn rule(family: &str, rel: &str, face: &Face) -> String {
    let quoted: String =
        family.chars().flat_map(|c| if matches!(c, '"' | '\\') { vec!['\\', c] } else { vec![c] }).collect();
    let quoted: String = quoted.chars().filter(|c| !c.is_control()).collect();
    let range =
        if face.is_builtin() { format!(" unicode-range: {};", table::BUNDLED_UNICODE_RANGE) } else { String::new() };
    format!(
        "@font-face {{ font-family: \"{quoted}\"; src: url(\"{rel}\") format(\"{}\"); font-style: {}; font-weight: {}; font-display: block;{range} }}",
        face.format(),
        face.style,
        face.weight
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_and_nearest_weights() {
        assert_eq!(slug("Fira Sans"), "fira-sans");
        assert_eq!(slug("  IBM Plex  Mono "), "ibm-plex-mono");
        assert_eq!(nearest(&[300, 500, 700], 400), Some(500));
        assert_eq!(nearest(&[400], 900), Some(400));
        assert_eq!(nearest(&[], 400), None);
    }
}
