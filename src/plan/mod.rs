//! Plans: the frozen, content-hashed directory every worker renders from.
//!
//! [`plan()`] writes one (contracts §2-4); `manifest` reads and checks one. The flow: validate the
//! config → compile the page (no browser) → bound a `data-duration` → scan the project →
//! (everything checked that needs no browser, nothing created yet) → build the plan in a
//! [`StagedDir`] beside `plan_dir` (so a failed plan leaves no plan directory and scratch never
//! lands in it) → freeze → probe the frozen page in one browser launch (`probe_step`: does it
//! become ready, which timelines never register, its duration when it declares none) → bound
//! the duration → chunk → media → `meta/*.json` → size cap → `plan.json` with the planHash →
//! rename into place.

pub mod chunking;
pub mod compile;
pub mod config;
pub mod fetch;
pub mod fonts;
pub mod format;
pub mod freeze;
pub mod fx;
pub mod hash;
pub mod layout;
pub mod manifest;
pub mod media;
pub mod meta;
pub mod model;
pub mod project;

use std::path::{Path, PathBuf};

use serde::Serialize;

pub use config::{PlanConfig, Quality, ValidConfig};
pub use manifest::{ChunkSpec, Dimensions, OutputFormat, Plan};

use crate::control::Control;
use crate::error::{Code, Error, Result};
use crate::plan::compile::Compiled;
use crate::plan::hash::HashInputs;
use crate::plan::layout::{DimensionsJson, PlanJson, PlanLayout, Protocol};
use crate::plan::manifest::HashSchema;
use crate::plan::meta::SizeBreakdown;
use crate::plan::model::{EncoderConfig, ExtractedVideo, MediaClip, MixSummary};
use crate::publish::StagedDir;
use crate::time::{Fps, Rational};

/// Seconds in the longest render the distributed path accepts (24 h).
pub const MAX_DURATION_SECONDS: i64 = 24 * 60 * 60;

/// A frame rate as written in results: `{num, den}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FpsJson {
    /// Numerator.
    pub num: i64,
    /// Denominator.
    pub den: i64,
}

/// What `plan` produced (printed by the CLI as one JSON line).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanResult {
    /// The plan directory.
    pub plan_dir: PathBuf,
    /// The plan's content hash (64 lowercase hex).
    pub plan_hash: String,
    /// Frames in the render.
    pub total_frames: i64,
    /// Number of chunks.
    pub chunk_count: u32,
    /// Render length in seconds (display value; the exact one is totalFrames at fps).
    pub duration_seconds: f64,
    /// Output frame rate.
    pub fps: FpsJson,
    /// Output width.
    pub width: u32,
    /// Output height.
    pub height: u32,
    /// Deliverable format.
    pub format: OutputFormat,
    /// Whether the plan carries `audio.m4a`.
    pub has_audio: bool,
    /// Bytes of regular files in the plan.
    pub size_bytes: u64,
    /// Notes: skipped files, ignored options, missing local assets.
    pub warnings: Vec<String>,
    /// Where the time went (wall clock; informational, never part of the plan).
    pub timings: PlanTimings,
}

/// How [`plan`](crate::plan()) plans: the settings that shape the plan, and the control that
/// stops it and receives its events.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// What to plan: format, quality, frame rate, chunking, fonts, fetching.
    pub config: PlanConfig,
    /// Cancels the plan (`CANCELLED`, the previous plan at the output kept) and receives its
    /// events.
    pub control: Control,
}

/// Wall-clock milliseconds of a plan's steps. The probe overlaps the media step when the root
/// declares its duration, so the two need not add up to the total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanTimings {
    /// The whole plan.
    pub total_ms: u64,
    /// Loading the frozen page once in the browser (launch to kill).
    pub probe_ms: u64,
    /// Decoding, mixing and extracting the media.
    pub media_ms: u64,
}

/// `step`'s result and how many milliseconds it took.
fn timed<T>(step: impl FnOnce() -> Result<T>) -> Result<(T, u64)> {
    let start = std::time::Instant::now();
    step().map(|out| (out, ms_since(start)))
}

/// Milliseconds since `start`.
fn ms_since(start: std::time::Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Freeze the project at `project_dir` into a new plan directory at `plan_dir` (replacing a
/// previous plan there), under `config`: [`plan_with`] without a way to cancel.
#[cfg(feature = "internals")]
pub fn plan(project_dir: &Path, config: &PlanConfig, plan_dir: &Path) -> Result<PlanResult> {
    plan_with(project_dir, config, plan_dir, &Control::default())
}

/// [`plan`], stopped with `CANCELLED` once `control` is cancelled: looked at before each step
/// (compile, freeze, probe and media, meta and planHash), and inside the long ones: a remote
/// fetch, the probe's browser launch and page load, the audio effects' browser, the mix (per
/// block) and each video's extraction (per frame) end where they stand. A cancelled plan leaves
/// nothing at `plan_dir` (a previous plan there survives).
pub fn plan_with(project_dir: &Path, config: &PlanConfig, plan_dir: &Path, control: &Control) -> Result<PlanResult> {
    let started = std::time::Instant::now();
    let valid = config.validate()?;
    let project = canonical_project(project_dir)?;
    let target = check_target(&project, plan_dir)?;
    go_on(control)?;
    let compiled = compile::compile_page(&project, &valid, control);
    go_on(control)?;
    let (mut compiled, data_duration) = compiled?;
    if let Some(text) = &data_duration {
        compiled.duration = compile::parse_duration(&compiled.root_id, text)?;
        frame_count(&compiled)?;
    }
    let (width, height) = valid.output_size(compiled.width, compiled.height);
    let scan = freeze::scan(&project, &exclusions(&target))?;
    let frozen = SizeBreakdown {
        compiled: scan.bytes().saturating_add(compiled.html.len() as u64).saturating_add(generated_bytes(&compiled)),
        ..Default::default()
    };
    frozen.check(valid.size_limit)?;
    let font_snapshot_sha = crate::fonts::snapshot_sha()?;
    let ffmpeg_version = crate::av::ffmpeg_version();
    let dimensions = Dimensions { fps: compiled.fps, width, height, format: valid.format };

    go_on(control)?;
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io("creating", parent, e))?;
    }
    let staged = StagedDir::new(&target)?;
    let dir = staged.path();
    let layout = PlanLayout::new(dir);
    freeze::copy(&scan, &layout.compiled_dir(), &compiled.html, &compiled.generated)?;
    valid.runtime.freeze(dir)?;
    go_on(control)?;
    let (probed, media, total_frames, mut timings) =
        probe_and_media(dir, &mut compiled, &valid, data_duration.is_none(), control)?;
    let gop = valid.chunking.gop_size.unwrap_or_else(|| config::default_gop(compiled.fps));
    let chunking = chunking::split(total_frames, &valid.chunking, gop)?;
    let chunk_count = u32::try_from(chunking.chunks.len()).unwrap_or(u32::MAX);
    let mut encoder = valid.encoder_config(&chunking);
    // A face that failed to load draws its text with the machine's fonts.
    compiled.fonts.system_fonts |= !probed.broken_fonts.is_empty();
    encoder.system_fonts = compiled.fonts.system_fonts;
    encoder.unregistered_timelines = probed.unregistered;
    let shader_note = shader_route(compiled.shader_transitions, valid.format, &mut encoder);
    if (width, height) != (compiled.width, compiled.height) {
        encoder.page_size = Some((compiled.width, compiled.height));
        encoder.capture_format = format::CaptureFormat::Png;
    }
    go_on(control)?;
    meta::write_meta(dir, &compiled, &encoder, &chunking, &media.extracted)?;
    let sizes = SizeBreakdown::measure(dir)?;
    sizes.check(valid.size_limit)?;
    let inputs = HashInputs {
        schema: HashSchema::Framefan,
        font_snapshot_sha: &font_snapshot_sha,
        producer_version: crate::producer::PRODUCER_VERSION,
        ffmpeg_version: &ffmpeg_version,
        dimensions,
    };
    let plan_hash = hash::plan_hash(dir, &inputs)?;
    let has_audio = media.mix.is_some();
    let plan_json = PlanJson {
        runtime: Some(valid.runtime.record.clone()),
        ..plan_json(&plan_hash, &inputs, chunk_count, total_frames, compiled.duration, has_audio)
    };
    let plan_bytes = meta::pretty_json(&plan_json)?;
    let plan_path = layout.plan_json();
    std::fs::write(&plan_path, &plan_bytes).map_err(|e| Error::io("writing", &plan_path, e))?;
    staged.commit()?;

    let mut warnings = valid.warnings.clone();
    warnings.extend(scan.warnings);
    warnings.extend(compiled.warnings.iter().cloned());
    warnings.extend(probed.warnings);
    warnings.extend(media.warnings);
    warnings.extend(shader_note);
    if let Some(asked) = chunking.rounded_from {
        warnings.push(format!(
            "chunkSize {asked} is not a whole number of {}-frame GOPs; chunks hold {} frames",
            chunking.gop, chunking.size
        ));
    }
    timings.total_ms = ms_since(started);
    Ok(PlanResult {
        plan_dir: target,
        plan_hash,
        total_frames,
        chunk_count,
        duration_seconds: compiled.duration.to_f64(),
        fps: FpsJson { num: compiled.fps.num(), den: compiled.fps.den() },
        width,
        height,
        format: valid.format,
        has_audio,
        size_bytes: sizes.total().saturating_add(plan_bytes.len() as u64),
        warnings,
        timings,
    })
}

/// A page with shader transitions, drawn as HyperFrames draws it in `format`
/// ([`format::ShaderRoute`]): composited in the page, captured by screenshot (HyperFrames'
/// page-side compositing forces its screenshot capture), or left to the page's fallback. The
/// warning when framefan's frames of the transitions are not HyperFrames'.
fn shader_route(uses: bool, format: OutputFormat, encoder: &mut EncoderConfig) -> Option<String> {
    if !uses {
        return None;
    }
    let composite = |encoder: &mut EncoderConfig| {
        encoder.page_side_compositing = true;
        encoder.capture_mode = model::CaptureMode::Screenshot;
    };
    match format.spec().shaders {
        format::ShaderRoute::Page => {
            composite(encoder);
            None
        }
        format::ShaderRoute::Layered => {
            composite(encoder);
            Some(format!(
                "the page draws shader transitions (HyperShader.init); HyperFrames blends them for {format} in its \
                 layered compositor, framefan draws them in the page as for mp4: the transitions' frames differ \
                 from HyperFrames'"
            ))
        }
        format::ShaderRoute::Fallback => Some(format!(
            "the page draws shader transitions (HyperShader.init); {format} has no shader compositing (as in \
             HyperFrames): each transition shows both scenes, without its shader"
        )),
    }
}

/// `CANCELLED` once the caller cancelled the plan.
fn go_on(control: &Control) -> Result<()> {
    control.check().map_err(|e| e.prefixed("plan"))
}

/// The probe ([`probe_step`]) and the media step, with the render's length in frames. With a
/// declared duration the two overlap (the browser mostly waits on the page while libav decodes
/// and mixes); a root without one is measured first, since the media step needs the length. A
/// page that fails the probe is the error reported, whatever the media step did.
fn probe_and_media(
    dir: &Path,
    compiled: &mut Compiled,
    valid: &ValidConfig,
    measure: bool,
    control: &Control,
) -> Result<(crate::engine::probe::Probed, MediaOutput, i64, PlanTimings)> {
    let clips = frozen_sources(&compiled.media, &PlanLayout::new(dir).compiled_dir());
    if measure {
        let (probed, probe_ms) = timed(|| probe_step(dir, compiled, valid, true, control))?;
        if let Some(measured) = probed.duration {
            compiled.duration = measured;
        }
        let total_frames = frame_count(compiled)?;
        let (media, media_ms) = timed(|| {
            let timing = (compiled.duration, compiled.fps, total_frames);
            media_step(&clips, compiled.master_fx.as_ref(), timing, dir, control)
        })?;
        return Ok((probed, media, total_frames, PlanTimings { probe_ms, media_ms, total_ms: 0 }));
    }
    let total_frames = frame_count(compiled)?;
    let compiled: &Compiled = compiled;
    // A step that fails cancels the other, so a broken page is not waited on for the media.
    let both = &control.child();
    let (probed, media) = std::thread::scope(|scope| {
        let probe =
            scope.spawn(move || timed(|| probe_step(dir, compiled, valid, false, both).inspect_err(|_| both.cancel())));
        let timing = (compiled.duration, compiled.fps, total_frames);
        let media = timed(|| {
            media_step(&clips, compiled.master_fx.as_ref(), timing, dir, both).inspect_err(|_| both.cancel())
        });
        let probed = probe.join().unwrap_or_else(|_| Err(Error::new(Code::BrowserCrashed, "the probe panicked")));
        (probed, media)
    });
    let ((probed, probe_ms), (media, media_ms)) = match (probed, media) {
        // The probe was stopped because the media step failed: that failure is the error.
        (Err(p), Err(m)) if p.kind() == Code::Cancelled && !control.is_cancelled() => return Err(m),
        (probed, media) => (probed?, media?),
    };
    Ok((probed, media, total_frames, PlanTimings { probe_ms, media_ms, total_ms: 0 }))
}

/// Load the frozen page at `dir` once in the browser (`engine::probe`): a page that does not
/// become ready fails the plan with its code; the duration is read when the root declares none.
fn probe_step(
    dir: &Path,
    compiled: &Compiled,
    valid: &ValidConfig,
    measure: bool,
    control: &Control,
) -> Result<crate::engine::probe::Probed> {
    let variables = serde_json::Value::Object(valid.variables.clone());
    let spec = crate::engine::probe::ProbeSpec {
        width: compiled.width,
        height: compiled.height,
        fps: compiled.fps,
        variables: &variables,
        measure,
        strict_fonts: valid.strict_fonts,
        control,
    };
    let site = PlanLayout::new(dir).site(Some(&valid.runtime.source));
    site.and_then(|site| crate::engine::probe::probe_plan(site, &spec)).map_err(|e| match measure {
        true => e.prefixed(&format!("root {} has no data-duration; reading window.__hf.duration", compiled.root_id)),
        false => e,
    })
}

/// The clips with fetched sources (under `compiled/__framefan__/`) read from the plan itself.
fn frozen_sources(clips: &[MediaClip], compiled_dir: &Path) -> Vec<MediaClip> {
    let prefix = format!("{}/", project::GENERATED_DIR);
    clips
        .iter()
        .map(|c| {
            let mut c = c.clone();
            if c.src_rel.starts_with(&prefix) {
                c.src = compile::urls::join(compiled_dir, &c.src_rel);
            }
            c
        })
        .collect()
}

fn generated_bytes(compiled: &Compiled) -> u64 {
    compiled.generated.iter().map(|g| g.bytes.len() as u64).sum()
}

/// The master bus chain handed to the mix.
type Bus<'a> = Option<&'a crate::plan::fx::FxChain>;

/// What the media step put into the plan.
#[derive(Debug, Default)]
struct MediaOutput {
    mix: Option<MixSummary>,
    extracted: Vec<ExtractedVideo>,
    warnings: Vec<String>,
}

/// The plan's media: the mixed soundtrack (`audio.m4a`, exactly `duration` long) and each
/// video's decoded frames (`video-frames/<id>/`), written into the staging directory `dir`.
/// `timing` is the composition's duration, frame rate and length in frames. Cancelling
/// `control` stops it between two audio blocks or two video frames.
fn media_step(
    clips: &[MediaClip],
    bus: Bus<'_>,
    timing: (Rational, Fps, i64),
    dir: &Path,
    control: &Control,
) -> Result<MediaOutput> {
    let (duration, fps, total_frames) = timing;
    let samples = u64::try_from(media::seconds_to_samples(duration)).unwrap_or(0);
    let mix = media::mix_soundtrack(clips, bus, samples, &PlanLayout::new(dir).audio(), control)?;
    let mut extracted = Vec::new();
    let mut warnings = Vec::new();
    for clip in clips.iter().filter(|c| c.kind == model::MediaKind::Video) {
        let extraction = media::extract_video(clip, fps, total_frames, dir, control)?;
        warnings.extend(extraction.hdr_warning(clip));
        extracted.push(extraction.video);
    }
    if mix.is_some_and(|m| m.limited) {
        warnings.push("the audio mix exceeded full scale; the limiter reduced its gain".to_string());
    }
    Ok(MediaOutput { mix, extracted, warnings })
}

/// `plan.json` (contracts §2) for a plan hashed from `inputs`, without the runtime record.
fn plan_json(
    plan_hash: &str,
    inputs: &HashInputs<'_>,
    chunk_count: u32,
    total_frames: i64,
    duration: Rational,
    has_audio: bool,
) -> PlanJson {
    let d = inputs.dimensions;
    PlanJson {
        protocol: Some(Protocol::v1(inputs.schema.as_str())),
        plan_hash: plan_hash.to_string(),
        producer_version: Some(inputs.producer_version.to_string()),
        ffmpeg_version: Some(inputs.ffmpeg_version.to_string()),
        font_snapshot_sha: Some(inputs.font_snapshot_sha.to_string()),
        dimensions: DimensionsJson {
            fps_num: d.fps.num(),
            fps_den: d.fps.den(),
            width: d.width,
            height: d.height,
            format: d.format.as_str().to_string(),
        },
        chunk_count,
        total_frames,
        duration: Some(duration.to_f64()),
        has_audio,
        runtime: None,
    }
}

/// The project directory, canonical (so later containment checks compare real paths).
fn canonical_project(project_dir: &Path) -> Result<PathBuf> {
    match std::fs::canonicalize(project_dir) {
        Ok(p) if p.is_dir() => Ok(p),
        _ => Err(Error::new(Code::CompositionInvalid, format!("project {} is not a directory", project_dir.display()))),
    }
}

/// The absolute plan directory, refusing targets whose replacement would destroy something
/// that is not a plan: the project itself or a directory containing it, or an existing non-empty
/// directory without `plan.json`.
fn check_target(project: &Path, plan_dir: &Path) -> Result<PathBuf> {
    let bad = |why: &str| Error::new(Code::InvalidConfig, format!("planDir {}: {why}", plan_dir.display()));
    let name = plan_dir.file_name().filter(|n| *n != "." && *n != "..").ok_or_else(|| bad("has no directory name"))?;
    let parent = match plan_dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let parent = std::fs::canonicalize(&parent)
        .or_else(|_| std::path::absolute(&parent))
        .map_err(|e| bad(&format!("cannot be resolved ({e})")))?;
    let target = parent.join(name);
    if project.starts_with(&target) {
        return Err(bad("is the project or contains it; a plan directory is replaced as a whole"));
    }
    if let Ok(meta) = std::fs::symlink_metadata(&target) {
        let is_plan_or_empty = meta.is_dir()
            && (PlanLayout::new(&target).plan_json().is_file()
                || std::fs::read_dir(&target).map(|mut d| d.next().is_none()).unwrap_or(false));
        if !is_plan_or_empty {
            return Err(bad("exists and is not an empty directory or a previous plan; refusing to replace it"));
        }
    }
    Ok(target)
}

/// A predicate matching the plan directory and its staging siblings (`.<name>.tmp.*`,
/// `.<name>.old.*`), so a plan built inside the project never freezes itself.
fn exclusions(target: &Path) -> impl Fn(&Path) -> bool + '_ {
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    move |path: &Path| {
        if path == target {
            return true;
        }
        let sibling = path.parent() == target.parent();
        let file = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        sibling && (file.starts_with(&format!(".{name}.tmp.")) || file.starts_with(&format!(".{name}.old.")))
    }
}

/// totalFrames = ceil(duration × fps), exactly; the duration must be positive and at most 24 h.
fn frame_count(compiled: &Compiled) -> Result<i64> {
    let (d, fps) = (compiled.duration, compiled.fps);
    let out_of_range =
        |why: String| Error::new(Code::DistributedDurationOutOfRange, format!("root {} {why}", compiled.root_id));
    if d <= Rational::ZERO {
        return Err(out_of_range(format!(
            "data-duration {} s must be greater than 0",
            compile::timing::format_decimal(d)
        )));
    }
    let total = fps.frames_for(d);
    let max = fps.frames_for(Rational::int(MAX_DURATION_SECONDS));
    if total > max {
        return Err(out_of_range(format!(
            "is {total} frames at {fps} fps, more than 24 h ({max} frames); split it into shorter renders"
        )));
    }
    Ok(total)
}
