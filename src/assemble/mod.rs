//! `assemble`: concatenate a plan's chunks into the final deliverable, atomically.
//!
//! Steps (contracts §6): read and check the plan; check the chunk list and sidecars; apply the
//! audio contract; probe every chunk; then, for MP4/MOV/WebM, copy the chunks' packets restamped onto
//! one exact timeline while the soundtrack is fitted and encoded in the background, into a
//! staging file with the index first, which is fsynced and renamed onto `out`; for PNG
//! sequences, merge the frame directories with one 1-based numbering. On any error the staging
//! file or directory is removed and `out` is untouched.
//!
//! [`assemble_from`] takes the chunks from a [`ChunkFeed`], so chunks still downloading are
//! concatenated one by one as they arrive (the order of checks is in [`arrivals`]).

pub mod arrivals;
pub mod check;
pub mod concat;
pub mod feed;
pub mod frames;
pub mod gif;
pub mod model;
pub mod mux;

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::audio::{self, EncodeSettings};
use crate::av::demux::Demuxer;
use crate::error::{Code, Error, Result};
use crate::plan::format::{AudioCodec, Container};
use crate::plan::Plan;
use crate::publish::{Flusher, StagedFile};

use arrivals::Arrivals;
use feed::{ChunkFeed, LocalChunks};
use model::{no_audio, summarize};
pub use model::{AssembleOptions, AudioSummary};

/// The outcome of [`assemble`](crate::assemble()); the CLI prints it as one JSON line.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssembleResult {
    /// Where the deliverable was published.
    pub output_path: PathBuf,
    /// Frames counted while writing the output.
    pub frames_encoded: i64,
    /// Size of the output in bytes (for PNG sequences, of all files in it).
    pub file_size: u64,
    /// Wall time of the assemble in milliseconds.
    pub duration_ms: u64,
    /// The soundtrack.
    pub audio: AudioSummary,
    /// Things the caller should know that did not stop the assemble.
    pub warnings: Vec<String>,
}

/// Concatenate `chunks` (one per plan chunk, in index order) with the soundtrack `audio` into
/// `out`, as [the contract](crate) describes.
pub fn assemble(
    plan_dir: &Path,
    chunks: &[PathBuf],
    audio: Option<&Path>,
    out: &Path,
    options: &AssembleOptions,
) -> Result<AssembleResult> {
    assemble_from(plan_dir, &mut LocalChunks(chunks.to_vec()), audio, out, options)
}

/// [`assemble`] over the chunks of `feed`, consumed in index order as each becomes local.
pub fn assemble_from(
    plan_dir: &Path,
    feed: &mut dyn ChunkFeed,
    audio: Option<&Path>,
    out: &Path,
    options: &AssembleOptions,
) -> Result<AssembleResult> {
    let started = Instant::now();
    let plan = Plan::load(plan_dir)?;
    let expected = check::chunk_list(&plan, feed)?;
    let mut warnings = Vec::new();
    let spec = plan.dimensions.format.spec();
    let audio = match spec.audio {
        Some(_) => audio_contract(&plan, audio, &mut warnings)?,
        None => silent_format(&plan, audio, &mut warnings),
    };
    let settings = options.audio.unwrap_or_default();
    let (frames_encoded, summary) = match spec.output {
        Container::FrameDir => frames::merge(&plan, feed, &expected, audio, out, settings, options)?,
        Container::Gif => gif::write(&plan, feed, &expected, out, options)?,
        Container::Mp4 | Container::Mov | Container::Webm => {
            let target = Target { container: spec.output, alpha: spec.alpha, audio: spec.audio, out };
            container(&plan, feed, expected, audio, target, settings, options)?
        }
    };
    Ok(AssembleResult {
        output_path: out.to_path_buf(),
        frames_encoded,
        file_size: output_size(out)?,
        duration_ms: started.elapsed().as_millis() as u64,
        audio: summary,
        warnings,
    })
}

/// Apply the audio contract: a plan with audio needs a soundtrack that exists; a soundtrack for
/// a silent plan is dropped with a warning.
fn audio_contract<'a>(plan: &Plan, audio: Option<&'a Path>, warnings: &mut Vec<String>) -> Result<Option<&'a Path>> {
    match (plan.has_audio, audio) {
        (true, None) => Err(Error::new(
            Code::AudioMissing,
            format!("plan {} has audio but no soundtrack was given", plan.dir.display()),
        )),
        (_, Some(path)) if !path.is_file() => {
            Err(Error::new(Code::AudioMissing, format!("soundtrack {} does not exist", path.display())))
        }
        (false, Some(path)) => {
            warnings.push(format!(
                "AUDIO_IGNORED: plan {} has no audio; soundtrack {} was not used",
                plan.dir.display(),
                path.display()
            ));
            Ok(None)
        }
        (_, audio) => Ok(audio),
    }
}

/// A format without sound (GIF) drops the plan's soundtrack, saying so, as HyperFrames does.
fn silent_format<'a>(plan: &Plan, audio: Option<&'a Path>, warnings: &mut Vec<String>) -> Option<&'a Path> {
    if plan.has_audio || audio.is_some() {
        warnings.push(format!(
            "AUDIO_IGNORED: format {} has no sound; the plan's soundtrack is left out",
            plan.dimensions.format
        ));
    }
    None
}

/// A container output: its container, whether its video has alpha, its audio codec and where
/// it goes.
struct Target<'a> {
    container: Container,
    alpha: bool,
    audio: Option<AudioCodec>,
    out: &'a Path,
}

fn container(
    plan: &Plan,
    feed: &mut dyn ChunkFeed,
    expected: Vec<Option<String>>,
    audio: Option<&Path>,
    target: Target<'_>,
    settings: EncodeSettings,
    options: &AssembleOptions,
) -> Result<(i64, AudioSummary)> {
    let out = target.out;
    // All local: every chunk is probed before the copy; otherwise each as it arrives (see feed).
    let probe_on_arrival = !feed.all_local();
    if !probe_on_arrival {
        check::probe_chunks(plan, feed.paths())?;
    }
    let staged = StagedFile::new(out)?;
    // The verifier hashes local chunks beside the copy; a downloaded chunk's digest is checked
    // on arrival (it was computed while it downloaded).
    let local_expected = expected.iter().enumerate().map(|(i, e)| e.clone().filter(|_| feed.origin(i).is_none()));
    let verifier = check::Verifier::spawn(feed.paths(), local_expected.collect());
    let fps = plan.dimensions.fps;
    let samples = audio::samples_for(fps, plan.total_frames);
    let mut encoded = match (audio, target.audio) {
        (Some(path), Some(codec)) => Some(audio::start_as(codec, path, samples, settings)?),
        (None, _) | (_, None) => None,
    };
    let mut chunks = Arrivals::new(feed, plan, expected, probe_on_arrival, options.control.clone());
    let parameters = first_parameters(&mut chunks)?;
    let alpha = target.alpha && target.container == Container::Webm;
    let gop = if alpha || target.container == Container::Webm { locked_gop(plan) } else { 1 };
    let input = mux::VideoInput { chunks, parameters, fps, total_frames: plan.total_frames, gop, alpha };
    let flusher = Flusher::start(staged.path(), std::time::Duration::from_millis(200));
    let written = mux::write(staged.path(), target.container, input, encoded.as_mut(), options);
    drop(flusher);
    let frames = match written {
        Ok(frames) => frames,
        Err(e) => return Err(verifier.explain(e)),
    };
    verifier.wait()?;
    let summary = match encoded {
        Some(a) => summarize(a.finish()?),
        None => no_audio(),
    };
    if frames != plan.total_frames {
        let msg = format!("wrote {frames} frames, plan has {}", plan.total_frames);
        return Err(Error::new(Code::FrameCountMismatch, msg));
    }
    staged.commit()?;
    Ok((frames, summary))
}

/// The plan's GOP length from `meta/encoder.json` (`gopSize`, in framefan's and HyperFrames'
/// plans alike), which bounds the output's keyframes; one frame (every frame a keyframe: the
/// largest index) when it cannot be read, since it only sizes a reservation.
fn locked_gop(plan: &Plan) -> u32 {
    let path = plan.dir.join("meta").join("encoder.json");
    std::fs::read(&path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|v| v.get("gopSize").and_then(serde_json::Value::as_u64))
        .and_then(|g| u32::try_from(g).ok())
        .filter(|g| *g > 0)
        .unwrap_or(1)
}

/// The output track's codec parameters: chunk 0's (waiting for it to arrive), without its own
/// bit rate.
fn first_parameters(chunks: &mut Arrivals<'_>) -> Result<crate::av::ff::codec::Parameters> {
    let path = chunks.open(0)?;
    let first = Demuxer::open(&path).map_err(|e| chunks.named(0, Error::av(Code::CorruptChunk, e)))?;
    first
        .track_parameters()
        .ok_or_else(|| chunks.named(0, Error::new(Code::IncompatibleChunk, "chunk 0 has no video stream")))
}

fn output_size(out: &Path) -> Result<u64> {
    let meta = std::fs::metadata(out).map_err(|e| Error::io("inspecting", out, e))?;
    if !meta.is_dir() {
        return Ok(meta.len());
    }
    let mut total = 0;
    for entry in std::fs::read_dir(out).map_err(|e| Error::io("listing", out, e))? {
        let entry = entry.map_err(|e| Error::io("listing", out, e))?;
        total += entry.metadata().map_err(|e| Error::io("inspecting", &entry.path(), e))?.len();
    }
    Ok(total)
}
