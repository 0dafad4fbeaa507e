//! Compiling a project's `index.html` into the self-contained page every worker renders.
//!
//! The page is parsed with a real HTML5 parser, **kuchikiki** (html5ever's tree builder, the
//! same parsing algorithm as browsers, under a mutable reference-counted DOM with CSS selectors
//! and html5ever's serializer). It was picked over html5ever's `rcdom` (which has no selector
//! matching and only test-grade mutation) and streaming rewriters such as lol_html (which cannot
//! look at ancestors, move subtrees between documents, or resolve references across the page).
//!
//! Passes, in order: find the root composition (composition.md §2) and read its size and rate;
//! inline sub-compositions ([`subcomp`]); resolve `data-start` references ([`timing`]); inline
//! CDN scripts and check every URL the page loads ([`resources`]); collect media clips
//! ([`media`]); serialize; resolve the duration ([`parse_duration`], or the page in a browser).

pub mod after_fonts;
pub mod audio_fx;
pub mod css;
pub mod dom;
pub mod media;
pub mod resources;
pub mod scoped;
pub mod scripts;
pub mod shaders;
pub mod subcomp;
pub mod timing;
pub mod urls;

use std::path::Path;

use kuchikiki::traits::TendrilSink;
use kuchikiki::NodeRef;

use self::dom::{attr, check_depth, elements};
use crate::control::Control;
use crate::error::{Code, Error, Result};
use crate::plan::config::{parse_fps_as, ValidConfig};
use crate::plan::fetch::{Fetcher, RemoteJson};
use crate::plan::fonts::FontPlan;
use crate::plan::fx::FxChain;
use crate::plan::model::MediaClip;
use crate::plan::project::{Generated, ENTRY};
use crate::time::{Fps, Rational};

/// The frame rate of a root without `data-fps`.
pub const DEFAULT_FPS: i64 = 30;

/// HyperFrames draws all text with geometric precision (no hinting-driven size snapping); the
/// rule comes first in `<head>`, right after the frozen font faces.
const TEXT_RENDERING_CSS: &str = "html,body,*{text-rendering:geometricPrecision}";
const TEXT_RENDERING_MARKER: &str = "data-framefan-text-rendering";

/// A compiled composition: the page and what plan needs to know about it.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The compiled `index.html`.
    pub html: String,
    /// The root composition's id.
    pub root_id: String,
    /// Output width in pixels.
    pub width: u32,
    /// Output height in pixels.
    pub height: u32,
    /// Output frame rate (`--fps`, else `data-fps`, else 30).
    pub fps: Fps,
    /// Render length in seconds, exact (not yet bounds-checked).
    pub duration: Rational,
    /// Audio and video clips on the root timeline.
    pub media: Vec<MediaClip>,
    /// The master bus chain (`data-fx-chain` on the root), run over the summed soundtrack.
    pub master_fx: Option<FxChain>,
    /// `<video>` elements.
    pub video_count: u32,
    /// `<audio>` elements.
    pub audio_count: u32,
    /// `<img>` elements.
    pub image_count: u32,
    /// Sub-compositions inlined.
    #[cfg_attr(not(feature = "internals"), allow(dead_code))]
    pub inlined: usize,
    /// Notes for the caller.
    pub warnings: Vec<String>,
    /// Files plan adds under `compiled/` (font faces, fetched resources).
    pub generated: Vec<Generated>,
    /// The fonts chosen (`meta/fonts.json`).
    pub fonts: FontPlan,
    /// The remote resources fetched (`meta/remote.json`).
    pub remote: RemoteJson,
    /// An inline script draws WebGL shader transitions (`HyperShader.init`, [`shaders`]).
    pub shader_transitions: bool,
}

/// The root composition's attributes, read before anything else is done.
struct Root {
    node: NodeRef,
    id: String,
    width: u32,
    height: u32,
    fps: Fps,
    data_duration: Option<String>,
}

fn invalid(message: String) -> Error {
    Error::new(Code::CompositionInvalid, message)
}

/// Compile the project at `project` (a canonical directory) under `config`.
#[cfg(feature = "internals")]
pub fn compile(project: &Path, config: &ValidConfig) -> Result<Compiled> {
    let (mut compiled, data_duration) = compile_page(project, config, &Control::default())?;
    compiled.duration = match data_duration.as_deref() {
        Some(text) => parse_duration(&compiled.root_id, text)?,
        None => crate::engine::probe::page_duration(
            project,
            &compiled.html,
            compiled.width,
            compiled.height,
            compiled.fps,
            Some(&config.runtime.source),
        )
        .map_err(|e| {
            e.prefixed(&format!("root {} has no data-duration; reading window.__hf.duration", compiled.root_id))
        })?,
    };
    Ok(compiled)
}

/// Everything of [`compile`] that needs no browser: the compiled page with a zero duration, and
/// the root's `data-duration` text (`None`: the page must be measured). Cancelling `control`
/// ends a remote fetch under way and starts no other (the caller checks it after).
pub(crate) fn compile_page(
    project: &Path,
    config: &ValidConfig,
    control: &Control,
) -> Result<(Compiled, Option<String>)> {
    let doc = parse_entry(project)?;
    let root = find_root(&doc, config)?;
    config.check_dimensions(root.width, root.height)?;
    let mut warnings = Vec::new();
    let inlined = subcomp::inline_all(&doc, project)?;
    dom::flatten_templates(&doc);
    check_depth(&doc, "the compiled page")?;
    timing::resolve(&doc)?;
    let caches = config.caches_for(project);
    let mut fetcher = Fetcher::new(config.fetch.clone(), control);
    let mut cx = resources::Context {
        project,
        caches: &caches,
        fetcher: &mut fetcher,
        warnings: &mut warnings,
        scripts_seen: Default::default(),
    };
    resources::process(&doc, &mut cx)?;
    dom::prepend_head_style(&doc, TEXT_RENDERING_MARKER, TEXT_RENDERING_CSS);
    let mut generated = std::mem::take(&mut fetcher.generated);
    let fonts = crate::plan::fonts::apply(&doc, project, &caches, &config.fonts, &mut generated, &mut warnings)?;
    let media = media::collect(&doc, &root.node, project, &mut warnings)?;
    after_fonts::hold_scripts(&doc);
    let shader_transitions = shaders::uses_shader_transitions(&doc);
    let html = doc.to_string();
    let compiled = Compiled {
        html,
        root_id: root.id,
        width: root.width,
        height: root.height,
        fps: root.fps,
        duration: Rational::ZERO,
        media: media.clips,
        master_fx: media.master_fx,
        video_count: media.video_count,
        audio_count: media.audio_count,
        image_count: media.image_count,
        inlined,
        warnings,
        generated,
        fonts,
        remote: fetcher.remote,
        shader_transitions,
    };
    Ok((compiled, root.data_duration))
}

/// Read and parse `index.html`.
fn parse_entry(project: &Path) -> Result<NodeRef> {
    let path = project.join(ENTRY);
    urls::check_inside(project, &path, ENTRY)?;
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e)
            if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::IsADirectory) || path.is_dir() =>
        {
            return Err(invalid(format!("{} has no {ENTRY}", project.display())));
        }
        Err(e) => return Err(Error::io("reading", &path, e)),
    };
    let text = String::from_utf8_lossy(&bytes).into_owned();
    dom::precheck_depth(&text, ENTRY)?;
    let doc = kuchikiki::parse_html().one(text).document_node;
    check_depth(&doc, ENTRY)?;
    Ok(doc)
}

/// The root: the first `data-composition-id` element with `data-root="true"`, else the first
/// without a composition ancestor (composition.md §2).
fn find_root(doc: &NodeRef, config: &ValidConfig) -> Result<Root> {
    let comps: Vec<NodeRef> = elements(doc).into_iter().filter(|e| attr(e, "data-composition-id").is_some()).collect();
    let node = comps
        .iter()
        .find(|e| attr(e, "data-root").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")))
        .or_else(|| comps.iter().find(|e| !e.ancestors().any(|a| attr(&a, "data-composition-id").is_some())))
        .cloned()
        .ok_or_else(|| invalid(format!("{ENTRY} has no root composition (an element with data-composition-id)")))?;
    let id = attr(&node, "data-composition-id").unwrap_or_default();
    let size = |name: &str| -> Result<u32> {
        let text = attr(&node, name).ok_or_else(|| invalid(format!("root {id:?} has no {name}")))?;
        text.trim()
            .parse::<u32>()
            .map_err(|_| invalid(format!("root {id:?} {name}={text:?} is not a whole number of pixels")))
    };
    let (width, height) = (size("data-width")?, size("data-height")?);
    let fps = match (config.fps, attr(&node, "data-fps")) {
        (Some(fps), _) => fps,
        (None, Some(text)) => parse_fps_as(&text, &format!("root {id:?} data-fps"), Code::CompositionInvalid)?,
        (None, None) => Fps::new(DEFAULT_FPS, 1).ok_or_else(|| invalid("default fps".to_string()))?,
    };
    let data_duration = attr(&node, "data-duration");
    Ok(Root { node, id, width, height, fps, data_duration })
}

/// Parse the root's `data-duration`. A non-finite value is `DISTRIBUTED_DURATION_OUT_OF_RANGE`;
/// whether it is positive and short enough is checked by `plan` once the frame rate is known. A
/// root without the attribute is measured in the browser instead (`engine::probe`).
pub fn parse_duration(root_id: &str, text: &str) -> Result<Rational> {
    let t = text.trim();
    if let Some(d) = Rational::parse_decimal(t) {
        return Ok(d);
    }
    let lower = t.trim_start_matches(['+', '-']).to_ascii_lowercase();
    if matches!(lower.as_str(), "infinity" | "inf" | "nan") {
        return Err(Error::new(
            Code::DistributedDurationOutOfRange,
            format!("root {root_id} data-duration={t:?} is not a finite number of seconds"),
        ));
    }
    Err(invalid(format!(
        "root {root_id} data-duration={:?} is not a number of seconds",
        t.chars().take(64).collect::<String>()
    )))
}
