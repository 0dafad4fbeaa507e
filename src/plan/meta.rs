//! Writing a plan's metadata: `meta/*.json` and `plan.json` (contracts §2), and measuring the
//! plan against its size cap.
//!
//! Every `meta/` file is canonical JSON (object keys sorted recursively, no whitespace, no
//! trailing newline) because each is covered by the planHash: the same composition must give
//! the same bytes on any machine.

use std::path::Path;

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::error::{Code, Error, Result};
use crate::plan::chunking::Chunking;
use crate::plan::compile::Compiled;
use crate::plan::hash;
use crate::plan::layout::{
    CHUNKS_JSON, COMPILED_DIR, COMPOSITION_JSON, ENCODER_JSON, FONTS_JSON, REMOTE_JSON, VIDEOS_JSON, VIDEO_FRAMES_DIR,
};
use crate::plan::model::{EncoderConfig, ExtractedVideo, MediaKind};

/// `value` with every object's keys sorted, recursively.
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable();
            Value::Object(keys.into_iter().map(|k| (k.clone(), sorted(&map[k]))).collect::<Map<_, _>>())
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// `value` as JSON with every object's keys sorted, recursively.
fn sorted_value<T: Serialize>(value: &T) -> Result<Value> {
    serde_json::to_value(value).map(|v| sorted(&v)).map_err(serialize_failed)
}

fn serialize_failed(e: serde_json::Error) -> Error {
    Error::new(Code::PlanInvalid, format!("serializing plan metadata: {e}"))
}

/// Canonical JSON bytes of `value`: keys sorted recursively, no whitespace, no trailing newline.
pub fn canonical_json<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(&sorted_value(value)?).map_err(serialize_failed)
}

/// `plan.json`'s bytes: pretty-printed (two-space indents, no trailing newline) with keys sorted
/// recursively, as plans have always been written. Readers do not depend on the layout, but the
/// same plan keeps the same bytes.
pub fn pretty_json<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(&sorted_value(value)?).map_err(serialize_failed)
}

fn write(dir: &Path, rel: &str, bytes: &[u8]) -> Result<()> {
    let path = rel.split('/').fold(dir.to_path_buf(), |p, s| p.join(s));
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io("creating", parent, e))?;
    }
    std::fs::write(&path, bytes).map_err(|e| Error::io("writing", &path, e))
}

/// Write `meta/composition.json`, `meta/encoder.json`, `meta/chunks.json`, `meta/fonts.json`,
/// `meta/remote.json` and `meta/videos.json`.
pub fn write_meta(
    dir: &Path,
    compiled: &Compiled,
    encoder: &EncoderConfig,
    chunking: &Chunking,
    extracted: &[ExtractedVideo],
) -> Result<()> {
    let composition = json!({
        "durationSeconds": compiled.duration.to_f64(),
        "width": compiled.width,
        "height": compiled.height,
        "fps": {"num": compiled.fps.num(), "den": compiled.fps.den()},
        "videoCount": compiled.video_count,
        "audioCount": compiled.audio_count,
        "imageCount": compiled.image_count,
    });
    write(dir, COMPOSITION_JSON, &canonical_json(&composition)?)?;
    write(dir, ENCODER_JSON, &canonical_json(encoder)?)?;
    write(dir, CHUNKS_JSON, &canonical_json(&chunking.chunks)?)?;
    write(dir, FONTS_JSON, &canonical_json(&compiled.fonts)?)?;
    write(dir, REMOTE_JSON, &canonical_json(&compiled.remote)?)?;
    write(dir, VIDEOS_JSON, &canonical_json(&videos_json(compiled, extracted))?)
}

/// `{videos: [{id, src, start, end, mediaStart, hasAudio}], extracted: [...]}`; a video without a
/// duration shows until the composition ends, and no clip ends after it (nor before its start).
fn videos_json(compiled: &Compiled, extracted: &[ExtractedVideo]) -> Value {
    let videos: Vec<Value> = compiled
        .media
        .iter()
        .filter(|c| c.kind == MediaKind::Video)
        .map(|c| {
            let end =
                c.duration.and_then(|d| c.start.checked_add(d)).map_or(compiled.duration, |e| e.min(compiled.duration));
            json!({
                "id": c.id,
                "src": c.src_rel,
                "start": c.start.to_f64(),
                "end": end.max(c.start).to_f64(),
                "mediaStart": c.media_start.to_f64(),
                "hasAudio": c.audible,
            })
        })
        .collect();
    json!({"videos": videos, "extracted": extracted})
}

/// Sizes of the plan's parts, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SizeBreakdown {
    /// `compiled/`.
    pub compiled: u64,
    /// `video-frames/`.
    pub video_frames: u64,
    /// `audio.m4a`.
    pub audio: u64,
    /// `meta/` and `plan.json`.
    pub meta: u64,
}

impl SizeBreakdown {
    /// All parts together.
    pub fn total(&self) -> u64 {
        self.compiled.saturating_add(self.video_frames).saturating_add(self.audio).saturating_add(self.meta)
    }

    /// Measure the regular files under `dir`.
    pub fn measure(dir: &Path) -> Result<Self> {
        let mut sizes = SizeBreakdown::default();
        for rel in hash::regular_files(dir)? {
            let path = dir.join(&rel);
            let len = std::fs::metadata(&path).map_err(|e| Error::io("inspecting", &path, e))?.len();
            let part = match rel.split('/').next().unwrap_or("") {
                COMPILED_DIR => &mut sizes.compiled,
                VIDEO_FRAMES_DIR => &mut sizes.video_frames,
                top if top.starts_with("audio.") => &mut sizes.audio,
                _ => &mut sizes.meta,
            };
            *part = part.saturating_add(len);
        }
        Ok(sizes)
    }

    /// `PLAN_TOO_LARGE` with the sizes if the plan is over `limit` bytes.
    pub fn check(&self, limit: u64) -> Result<()> {
        let size = self.total();
        if size <= limit {
            return Ok(());
        }
        Err(Error::new(
            Code::PlanTooLarge,
            format!(
                "the plan is {size} bytes (sizeBytes {size}, limitBytes {limit}): compiled {} bytes, \
                 video-frames {} bytes, audio {} bytes, meta {} bytes; shrink the project's assets or \
                 raise planDirSizeLimitBytes",
                self.compiled, self.video_frames, self.audio, self.meta
            ),
        ))
    }
}
