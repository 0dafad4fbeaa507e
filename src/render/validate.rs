//! The checks `render_chunk` makes before capturing, in the contract's order (contracts §5):
//! artifacts present, protocol understood, index in range, libav version, software GL, planHash,
//! font fingerprint. The cheap local checks run first; the planHash (which reads every plan
//! file) runs on a thread while the browser boots, and its verdict is reported in order.

use std::path::Path;

use crate::error::{Code, Error, Result};
use crate::plan::hash::{plan_hash, HashInputs};
use crate::plan::layout::{read_json, PlanLayout, CHUNKS_JSON, ENCODER_JSON, INDEX_HTML, PLAN_JSON, VIDEOS_JSON};
use crate::plan::model::{EncoderConfig, ExtractedVideo};
use crate::plan::{ChunkSpec, Plan};

/// Files every plan must hold before anything else is read.
const REQUIRED: [&str; 5] = [PLAN_JSON, CHUNKS_JSON, ENCODER_JSON, VIDEOS_JSON, INDEX_HTML];

/// A plan read and checked far enough to render one chunk.
#[derive(Debug, Clone)]
pub struct ChunkPlan {
    /// The plan.
    pub plan: Plan,
    /// The chunk to render.
    pub chunk: ChunkSpec,
    /// The locked render configuration.
    pub encoder: EncoderConfig,
    /// Pre-extracted video frames.
    pub videos: Vec<ExtractedVideo>,
}

#[derive(serde::Deserialize)]
struct VideosJson {
    #[serde(default)]
    extracted: Vec<ExtractedVideo>,
}

/// Steps 1–4: artifacts, protocol, index, libav version.
#[cfg(feature = "internals")]
pub fn local_checks(plan_dir: &Path, index: i64) -> Result<ChunkPlan> {
    let plan = load_plan(plan_dir)?;
    let chunk = chunk_of(&plan, index)?;
    check_libav(&plan)?;
    let (encoder, videos) = render_config(&plan)?;
    check_gop(&encoder, &chunk, plan_dir)?;
    Ok(ChunkPlan { plan, chunk, encoder, videos })
}

/// Steps 1–2: the artifacts are present and the plan's protocol is understood.
pub fn load_plan(plan_dir: &Path) -> Result<Plan> {
    for rel in REQUIRED {
        let path = plan_dir.join(rel);
        if !path.is_file() {
            return Err(Error::new(Code::MissingPlanArtifact, format!("plan artifact {} is missing", path.display())));
        }
    }
    Plan::load(plan_dir)
}

/// Step 3: chunk `index` of `plan`.
pub fn chunk_of(plan: &Plan, index: i64) -> Result<ChunkSpec> {
    usize::try_from(index).ok().and_then(|i| plan.chunks.get(i)).copied().ok_or_else(|| {
        Error::new(
            Code::ChunkIndexOutOfRange,
            format!("chunk index {index} is outside 0..{} of plan {}", plan.chunks.len(), plan.dir.display()),
        )
    })
}

/// Step 4: this worker links the libav the plan was made with.
pub fn check_libav(plan: &Plan) -> Result<()> {
    let linked = crate::av::ffmpeg_version();
    if plan.ffmpeg_version.as_deref() != Some(linked.as_str()) {
        return Err(Error::new(
            Code::FfmpegVersionMismatch,
            format!(
                "plan {} was made with \"{}\", this worker links \"{linked}\"",
                plan.dir.display(),
                plan.ffmpeg_version.as_deref().unwrap_or("(none)")
            ),
        ));
    }
    Ok(())
}

/// The locked render configuration and the pre-extracted video frames (read once the cheap
/// checks passed). An encoder, pixel format or capture format in `meta/encoder.json` that is
/// unknown, or not the plan's format's, is `PLAN_INVALID`.
pub fn render_config(plan: &Plan) -> Result<(EncoderConfig, Vec<ExtractedVideo>)> {
    let layout = PlanLayout::new(&plan.dir);
    let file = layout.encoder_json();
    let encoder = layout.read_encoder()?;
    let format = plan.dimensions.format;
    if let Some(why) = format.spec().mismatch(encoder.locked_format()) {
        return Err(Error::new(
            Code::PlanInvalid,
            format!("{}: for the plan's format {format}: {why}", file.display()),
        ));
    }
    check_encoder_libs(&encoder, &file)?;
    let videos: VideosJson = read_json(&layout.videos_json())?;
    Ok((encoder, videos.extracted))
}

/// A webm plan's chunks are libvpx's bytes, an h265 plan's libx265's: this worker must link the
/// encoder library the plan records.
fn check_encoder_libs(encoder: &EncoderConfig, file: &Path) -> Result<()> {
    let recorded = [
        ("libvpx", encoder.libvpx_version.as_deref(), crate::av::VPX_VERSION),
        ("libx265", encoder.x265_version.as_deref(), crate::av::X265_VERSION),
    ];
    for (lib, planned, linked) in recorded {
        match planned {
            Some(planned) if planned != linked => {
                return Err(Error::new(
                    Code::FfmpegVersionMismatch,
                    format!(
                        "{}: the plan was made with {lib} \"{planned}\", this worker links \"{linked}\"",
                        file.display()
                    ),
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

/// The chunk is a run of whole GOPs: it starts on a multiple of `gopSize` (a plan from upstream,
/// where the GOP is the chunk, always does).
pub fn check_gop(encoder: &EncoderConfig, chunk: &ChunkSpec, plan_dir: &Path) -> Result<()> {
    let gop = i64::from(encoder.gop_size);
    if gop == 0 || chunk.start_frame % gop != 0 {
        return Err(Error::new(
            Code::PlanInvalid,
            format!(
                "chunk {} of plan {} starts at frame {}, not on a GOP boundary (gopSize {} in meta/encoder.json)",
                chunk.index,
                plan_dir.display(),
                chunk.start_frame,
                encoder.gop_size
            ),
        ));
    }
    Ok(())
}

/// Step 6: the planHash recomputed from the directory equals `plan.json`'s.
pub fn check_hash(plan: &Plan) -> Result<()> {
    let inputs = HashInputs {
        schema: plan.hash_schema,
        font_snapshot_sha: plan.font_snapshot_sha.as_deref().unwrap_or(""),
        producer_version: plan.producer_version.as_deref().unwrap_or(""),
        ffmpeg_version: plan.ffmpeg_version.as_deref().unwrap_or(""),
        dimensions: plan.dimensions,
    };
    let actual = plan_hash(&plan.dir, &inputs)?;
    if actual != plan.plan_hash {
        return Err(Error::new(
            Code::PlanHashMismatch,
            format!(
                "plan {} hashes to {actual}, plan.json says {}: a file of the plan changed after it was made",
                plan.dir.display(),
                plan.plan_hash
            ),
        ));
    }
    Ok(())
}

/// Step 7: the fonts this machine's browser sees are the plan's — when they can matter: a plan
/// whose glyphs all come from faces frozen inside it (`systemFonts` false in `meta/encoder.json`,
/// covered by the planHash) renders the same whatever fonts the worker has.
pub fn check_fonts(plan: &Plan, system_fonts: bool) -> Result<()> {
    let here = crate::fonts::snapshot_sha()?;
    if !system_fonts {
        // Chromium draws no text at all, web fonts included, on a machine without any font.
        if here == crate::fonts::NO_FONTS_SHA {
            return Err(Error::new(
                Code::FontSnapshotMismatch,
                format!(
                    "this worker has no system fonts; Chromium draws no text without at least one \
                     (install fonts-dejavu-core), although plan {} freezes its own faces",
                    plan.dir.display()
                ),
            ));
        }
        return Ok(());
    }
    match plan.font_snapshot_sha.as_deref() {
        Some(expected) if expected != here => Err(Error::new(
            Code::FontSnapshotMismatch,
            format!(
                "plan {} was made against fonts {expected}, this worker's fonts are {here} \
                 (install the same fonts, or plan on a machine like the workers)",
                plan.dir.display()
            ),
        )),
        _ => Ok(()),
    }
}

/// Step 5: the browser renders in software. `renderer` is the WebGL renderer string the page
/// reported (`None` when WebGL is unavailable, which is software by definition).
pub fn check_software_gl(renderer: Option<&str>) -> Result<()> {
    let Some(r) = renderer else { return Ok(()) };
    let lower = r.to_ascii_lowercase();
    if ["swiftshader", "llvmpipe", "softpipe", "software"].iter().any(|s| lower.contains(s)) {
        return Ok(());
    }
    Err(Error::new(
        Code::BrowserGpuNotSoftware,
        format!("the browser renders WebGL on \"{r}\", not in software; frames would depend on the GPU"),
    ))
}
