//! The plan directory (contracts §2, layout "plan-dir-v1"): every path under a plan named once,
//! and the one serde type of `plan.json`, used by `plan` to write it and by `manifest` to read it.
//!
//! `meta/encoder.json`'s type is [`EncoderConfig`]; [`PlanLayout::read_encoder`] is its only
//! reader. Everything here is a leaf below `plan`, `render`, `assemble`, `store`, `run` and
//! `runtime`: it imports no stage but the engine beneath them all (the video-frame name the page
//! reads, the served page), so any of them may build plan paths through it.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use crate::engine::server::Site;
use crate::error::{Code, Error, Result};
use crate::plan::model::EncoderConfig;
use crate::runtime::record::RuntimeRecord;

/// How extracted video frames are named (`VideoFrameFormat::file_name`): the engine's page reads
/// them by this name, so it lives there (the engine does not import `plan`).
pub use crate::engine::page::VideoFrameFormat;
#[cfg(feature = "internals")]
pub use crate::engine::page::VideoFrameName;

/// The only schema version we write and read.
pub const SCHEMA_VERSION: u32 = 1;
/// The plan directory layout name.
pub const ARTIFACT_LAYOUT: &str = "plan-dir-v1";

/// `plan.json`: protocol, planHash, versions, dimensions, counts (the plan's identity).
pub const PLAN_JSON: &str = "plan.json";
/// `meta/chunks.json`: `[{index, startFrame, endFrame}]`.
pub const CHUNKS_JSON: &str = "meta/chunks.json";
/// `meta/encoder.json`: the locked render configuration ([`EncoderConfig`]).
pub const ENCODER_JSON: &str = "meta/encoder.json";
/// `meta/composition.json`: duration, size, rate and element counts.
pub const COMPOSITION_JSON: &str = "meta/composition.json";
/// `meta/videos.json`: every `<video>` clip and its extracted frames.
pub const VIDEOS_JSON: &str = "meta/videos.json";
/// `meta/fonts.json`: the faces frozen for the page.
pub const FONTS_JSON: &str = "meta/fonts.json";
/// `meta/remote.json`: remote resources fetched at plan time.
pub const REMOTE_JSON: &str = "meta/remote.json";
/// `compiled/`: the frozen project.
pub const COMPILED_DIR: &str = "compiled";
/// `compiled/index.html`: the compiled page (hashed first, on its own).
pub const INDEX_HTML: &str = "compiled/index.html";
/// The frozen page runtime (inside `compiled/`, so the planHash covers it; the file server never
/// serves `.framefan/`).
pub const RUNTIME: &str = "compiled/.framefan/hyperframe.runtime.iife.js";
/// `video-frames/`: each `<video>`'s frames, one folder per clip id.
pub const VIDEO_FRAMES_DIR: &str = "video-frames";
/// The mixed soundtrack.
pub const AUDIO: &str = "audio.m4a";
/// A soundtrack as older plans name it; read, never written.
pub const LEGACY_AUDIO: &str = "audio.aac";

/// A video's frame folder relative to the plan (`video-frames/<id>`), as `meta/videos.json`
/// records it.
pub fn video_dir_rel(id: &str) -> String {
    format!("{VIDEO_FRAMES_DIR}/{id}")
}

/// The paths of one plan directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanLayout {
    root: PathBuf,
}

impl PlanLayout {
    /// The layout of the plan directory at `root` (which need not exist yet).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        PlanLayout { root: root.into() }
    }

    /// The plan directory.
    #[cfg_attr(not(feature = "internals"), allow(dead_code))]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `rel` (one of this module's constants) under the plan.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// `plan.json`.
    pub fn plan_json(&self) -> PathBuf {
        self.path(PLAN_JSON)
    }

    /// `meta/chunks.json`.
    pub fn chunks_json(&self) -> PathBuf {
        self.path(CHUNKS_JSON)
    }

    /// `meta/encoder.json`.
    pub fn encoder_json(&self) -> PathBuf {
        self.path(ENCODER_JSON)
    }

    /// `meta/composition.json`.
    #[cfg_attr(not(feature = "internals"), allow(dead_code))]
    pub fn composition_json(&self) -> PathBuf {
        self.path(COMPOSITION_JSON)
    }

    /// `meta/videos.json`.
    pub fn videos_json(&self) -> PathBuf {
        self.path(VIDEOS_JSON)
    }

    /// `compiled/`.
    pub fn compiled_dir(&self) -> PathBuf {
        self.path(COMPILED_DIR)
    }

    /// The frozen page runtime.
    pub fn runtime(&self) -> PathBuf {
        self.path(RUNTIME)
    }

    /// `video-frames/`.
    pub fn video_frames_dir(&self) -> PathBuf {
        self.path(VIDEO_FRAMES_DIR)
    }

    /// What the file server serves for this plan: `compiled/`, `video-frames/`, and the page
    /// (`compiled/index.html`, read now) with `runtime` (the script text) inlined.
    pub fn site(&self, runtime: Option<&str>) -> Result<Site> {
        let index = self.path(INDEX_HTML);
        let html = std::fs::read_to_string(&index).map_err(|e| Error::io("reading", &index, e))?;
        let index_html = crate::engine::page::served_html(html, runtime).into_bytes();
        Ok(Site { root: self.compiled_dir(), video_frames: self.video_frames_dir(), index_html })
    }

    /// `video-frames/<id>/`.
    pub fn video_dir(&self, id: &str) -> PathBuf {
        self.video_frames_dir().join(id)
    }

    /// `video-frames/<id>/frame_%05d.<jpg|png>` for frame `n` (1-based) in `format`.
    #[cfg_attr(not(feature = "internals"), allow(dead_code))]
    pub fn video_frame(&self, id: &str, format: VideoFrameFormat, n: u64) -> PathBuf {
        self.video_dir(id).join(format.file_name().of(n))
    }

    /// `audio.m4a`, where `plan` writes the soundtrack.
    pub fn audio(&self) -> PathBuf {
        self.path(AUDIO)
    }

    /// The plan's soundtrack: `audio.m4a`, or a legacy `audio.aac`, if either exists.
    pub fn soundtrack(&self) -> Option<PathBuf> {
        [AUDIO, LEGACY_AUDIO].iter().map(|n| self.path(n)).find(|p| p.is_file())
    }

    /// `meta/encoder.json`, read (a missing file is `MISSING_PLAN_ARTIFACT`, a bad one
    /// `PLAN_INVALID`).
    pub fn read_encoder(&self) -> Result<EncoderConfig> {
        read_json(&self.encoder_json())
    }
}

/// `plan.json` (contracts §2): what `plan` writes and every reader deserialises. Readers take
/// framefan's plans, HyperFrames' and legacy ones without `protocol`, so the fields other plans
/// may lack or spell otherwise are optional or read leniently.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanJson {
    /// Absent in legacy plans (read as v1). Its values are judged by `manifest::read_protocol`
    /// before this type is read, because a later schema need not have the fields v1 has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    /// The planHash (64 lowercase hex).
    pub plan_hash: String,
    /// The producer that wrote the plan.
    pub producer_version: Option<String>,
    /// The linked libav (and x264) versions the plan was made with.
    pub ffmpeg_version: Option<String>,
    /// Fingerprint of the fonts the plan was made against.
    pub font_snapshot_sha: Option<String>,
    /// Size, rate and format.
    pub dimensions: DimensionsJson,
    /// Number of chunks.
    pub chunk_count: u32,
    /// Frames in the whole render.
    pub total_frames: i64,
    /// Seconds; informative (readers use frames). Read leniently: other writers' spellings of it
    /// never made a plan unreadable.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient")]
    pub duration: Option<f64>,
    /// Whether the plan carries a soundtrack.
    #[serde(default)]
    pub has_audio: bool,
    /// The runtime the plan was made with; informative here (render-chunk checks
    /// `meta/encoder.json`'s), so read leniently like `duration`.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient")]
    pub runtime: Option<RuntimeRecord>,
}

/// `plan.json`'s `protocol`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Protocol {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u64,
    /// [`ARTIFACT_LAYOUT`].
    pub artifact_layout: String,
    /// The planHash schema's name.
    pub hash_schema: String,
}

impl Protocol {
    /// The protocol framefan writes, with `hash_schema` naming the planHash's schema.
    pub fn v1(hash_schema: &str) -> Self {
        Protocol {
            schema_version: u64::from(SCHEMA_VERSION),
            artifact_layout: ARTIFACT_LAYOUT.to_string(),
            hash_schema: hash_schema.to_string(),
        }
    }
}

/// `plan.json`'s `dimensions`; the format stays a string here so that an unknown one gets its
/// own error code (`FORMAT_NOT_SUPPORTED_IN_DISTRIBUTED`) from the reader's checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DimensionsJson {
    /// Frame-rate numerator.
    pub fps_num: i64,
    /// Frame-rate denominator.
    pub fps_den: i64,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Deliverable format, as `--format` spells it.
    pub format: String,
}

/// `Some(value)` when the field reads as `T`, else `None`: for informative fields that other
/// writers may spell differently.
fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> std::result::Result<Option<T>, D::Error> {
    let value = serde_json::Value::deserialize(d)?;
    Ok(serde_json::from_value(value).ok())
}

/// Read and deserialise a JSON file the plan must contain.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    parse_json(path, &read_artifact(path)?)
}

/// The bytes of a file the plan must contain (missing: `MISSING_PLAN_ARTIFACT`, retryable, since
/// a partial download may heal).
pub fn read_artifact(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            Error::new(Code::MissingPlanArtifact, format!("plan artifact {} is missing", path.display()))
        }
        _ => Error::io("reading", path, e),
    })
}

/// `bytes` of the plan file `path` as `T` (`PLAN_INVALID` naming the file).
pub fn parse_json<T: DeserializeOwned>(path: &Path, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes)
        .map_err(|e| Error::new(Code::PlanInvalid, format!("{}: not a valid plan file: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_the_contract_layout() {
        let l = PlanLayout::new("/p");
        assert_eq!(l.plan_json(), Path::new("/p/plan.json"));
        assert_eq!(l.encoder_json(), Path::new("/p/meta/encoder.json"));
        assert_eq!(l.chunks_json(), Path::new("/p/meta/chunks.json"));
        assert_eq!(l.video_frame("clip", VideoFrameFormat::Jpg, 7), Path::new("/p/video-frames/clip/frame_00007.jpg"));
        assert_eq!(l.video_frame("clip", VideoFrameFormat::Jpg, 123_456), Path::new("/p/video-frames/clip/frame_123456.jpg"));
        assert_eq!(l.video_frame("clip", VideoFrameFormat::Png, 7), Path::new("/p/video-frames/clip/frame_00007.png"));
        assert_eq!(video_dir_rel("clip"), "video-frames/clip");
    }

    #[test]
    fn other_writers_spellings_of_informative_fields_still_read() {
        let text = r#"{"planHash":"x","dimensions":{"fpsNum":30,"fpsDen":1,"width":16,"height":16,"format":"mp4"},
            "chunkCount":1,"totalFrames":1,"duration":"4s","runtime":"hf@1"}"#;
        let p: PlanJson = serde_json::from_str(text).unwrap();
        assert_eq!((p.duration, p.runtime, p.protocol, p.has_audio), (None, None, None, false));
    }
}
