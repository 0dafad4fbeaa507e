//! Reading a plan directory's `plan.json` and `meta/chunks.json` into checked types.
//!
//! Accepts framefan plans (`framefan-plan-hash-v1`), plans written by the HyperFrames
//! distributed renderer (`hyperframes-plan-hash-v1`), and legacy plans without a `protocol` key
//! (treated as v1). Everything a later step relies on is validated here, once.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Code, Error, Result};
pub use crate::plan::format::OutputFormat;
use crate::time::{Fps, FrameRange};

use crate::plan::layout::{parse_json, read_artifact, DimensionsJson, PlanJson, PlanLayout};
pub use crate::plan::layout::{read_json, ARTIFACT_LAYOUT, SCHEMA_VERSION};

/// Which hashing scheme produced a plan's `planHash`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HashSchema {
    /// framefan's own plans.
    #[serde(rename = "framefan-plan-hash-v1")]
    Framefan,
    /// Plans written by the HyperFrames distributed renderer.
    #[serde(rename = "hyperframes-plan-hash-v1")]
    Hyperframes,
}

impl HashSchema {
    /// The schema string as written in `plan.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            HashSchema::Framefan => "framefan-plan-hash-v1",
            HashSchema::Hyperframes => "hyperframes-plan-hash-v1",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [HashSchema::Framefan, HashSchema::Hyperframes].into_iter().find(|h| h.as_str() == s)
    }
}

/// Output frame size, rate and format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dimensions {
    /// Frame rate.
    pub fps: Fps,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Deliverable format.
    pub format: OutputFormat,
}

/// One chunk of the plan: its index and the absolute frames it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChunkSpec {
    /// Position in the plan, from 0.
    pub index: u32,
    /// First frame, inclusive.
    pub start_frame: i64,
    /// One past the last frame.
    pub end_frame: i64,
}

impl ChunkSpec {
    /// The chunk's frames as a range.
    pub fn range(&self) -> FrameRange {
        FrameRange { start: self.start_frame, end: self.end_frame }
    }

    /// Number of frames in the chunk.
    pub fn frames(&self) -> i64 {
        self.end_frame - self.start_frame
    }
}

/// A plan directory, read and checked.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The plan directory.
    pub dir: PathBuf,
    /// The plan's content hash (64 lowercase hex).
    pub plan_hash: String,
    /// How `plan_hash` was computed.
    pub hash_schema: HashSchema,
    /// Size, rate, format.
    pub dimensions: Dimensions,
    /// Frames in the whole render.
    pub total_frames: i64,
    /// Chunks, in index order, contiguous over `[0, total_frames)`.
    pub chunks: Vec<ChunkSpec>,
    /// Whether the plan carries a soundtrack.
    pub has_audio: bool,
    /// The producer that wrote the plan.
    pub producer_version: Option<String>,
    /// The libav version the plan was made with.
    pub ffmpeg_version: Option<String>,
    /// Fingerprint of the fonts the plan was made against.
    pub font_snapshot_sha: Option<String>,
}

/// Only the `protocol` key: read before anything else, since a later schema need not have the
/// fields v1 has. Loose JSON values, so that any shape of it gets a protocol error.
type Object = serde_json::Map<String, serde_json::Value>;

fn invalid(file: &Path, what: impl std::fmt::Display) -> Error {
    Error::new(Code::PlanInvalid, format!("{}: {what}", file.display()))
}

impl Plan {
    /// Read and check `plan.json` and `meta/chunks.json` under `dir`.
    pub fn load(dir: &Path) -> Result<Plan> {
        let layout = PlanLayout::new(dir);
        let file = layout.plan_json();
        let bytes = read_artifact(&file)?;
        let hash_schema = read_protocol(&file, &bytes)?;
        let raw: PlanJson = parse_json(&file, &bytes)?;
        check_hash(&file, &raw.plan_hash)?;
        let dimensions = check_dimensions(&file, &raw.dimensions)?;
        if raw.total_frames <= 0 {
            return Err(invalid(&file, format_args!("totalFrames {} must be positive", raw.total_frames)));
        }
        let chunks_file = layout.chunks_json();
        let chunks: Vec<ChunkSpec> = read_json(&chunks_file)?;
        check_chunks(&chunks_file, &chunks, raw.chunk_count, raw.total_frames)?;
        Ok(Plan {
            dir: dir.to_path_buf(),
            plan_hash: raw.plan_hash,
            hash_schema,
            dimensions,
            total_frames: raw.total_frames,
            chunks,
            has_audio: raw.has_audio,
            producer_version: raw.producer_version,
            ffmpeg_version: raw.ffmpeg_version,
            font_snapshot_sha: raw.font_snapshot_sha,
        })
    }

    /// The plan's soundtrack: `audio.m4a`, or a legacy `audio.aac`, if either exists.
    pub fn audio_path(&self) -> Option<PathBuf> {
        PlanLayout::new(&self.dir).soundtrack()
    }
}

/// The plan's protocol, checked before the rest of `plan.json` is deserialised: schemaVersion,
/// then artifactLayout, then hashSchema. A plan without `protocol` is a legacy v1 plan.
pub fn read_protocol(file: &Path, bytes: &[u8]) -> Result<HashSchema> {
    let object: Object = parse_json(file, bytes)?;
    let Some(p) = object.get("protocol").filter(|p| !p.is_null()) else {
        return Ok(HashSchema::Hyperframes);
    };
    let unsupported = |what: String| Error::new(Code::PlanProtocolUnsupported, format!("{}: {what}", file.display()));
    let field = |name: &str| p.get(name).filter(|v| !v.is_null());
    // Shown in messages through serde_json's own quoting, cut short: untrusted input.
    let shown = |v: Option<&serde_json::Value>| v.map_or("(missing)".to_string(), |v| clip(&v.to_string()));
    let version = field("schemaVersion");
    if version.and_then(serde_json::Value::as_u64) != Some(u64::from(SCHEMA_VERSION)) {
        return Err(unsupported(format!("protocol.schemaVersion {} is not {SCHEMA_VERSION}", shown(version))));
    }
    let layout = field("artifactLayout");
    if layout.and_then(serde_json::Value::as_str) != Some(ARTIFACT_LAYOUT) {
        return Err(unsupported(format!("protocol.artifactLayout {} is not {ARTIFACT_LAYOUT:?}", shown(layout))));
    }
    let schema = field("hashSchema");
    schema
        .and_then(serde_json::Value::as_str)
        .and_then(HashSchema::parse)
        .ok_or_else(|| unsupported(format!("protocol.hashSchema {} is not one framefan reads", shown(schema))))
}

/// At most 80 characters of `s`, for messages that show untrusted values.
fn clip(s: &str) -> String {
    match s.char_indices().nth(80) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

fn check_hash(file: &Path, hash: &str) -> Result<()> {
    let ok = hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if ok {
        Ok(())
    } else {
        Err(invalid(file, "planHash must be 64 lowercase hex digits"))
    }
}

fn check_dimensions(file: &Path, d: &DimensionsJson) -> Result<Dimensions> {
    let fps = Fps::new(d.fps_num, d.fps_den).ok_or_else(|| {
        invalid(file, format_args!("dimensions.fpsNum/fpsDen {}/{} is not a positive rate", d.fps_num, d.fps_den))
    })?;
    if !(16..=7680).contains(&d.width) || !(16..=7680).contains(&d.height) {
        return Err(invalid(file, format_args!("dimensions {}x{} outside 16..7680", d.width, d.height)));
    }
    let format = OutputFormat::parse(&d.format).ok_or_else(|| {
        // Upstream's distributed renderer writes formats framefan does not render yet (webm).
        let why = crate::plan::format::unknown("dimensions.format", &d.format, &OutputFormat::choices());
        Error::new(Code::FormatNotSupportedInDistributed, format!("{}: {why}", file.display()))
    })?;
    Ok(Dimensions { fps, width: d.width, height: d.height, format })
}

fn check_chunks(file: &Path, chunks: &[ChunkSpec], count: u32, total: i64) -> Result<()> {
    if chunks.len() != count as usize {
        return Err(invalid(
            file,
            format_args!("{} chunks listed but plan.json says chunkCount {count}", chunks.len()),
        ));
    }
    let mut next = 0;
    for (i, c) in chunks.iter().enumerate() {
        if c.index as usize != i || c.start_frame != next || c.end_frame <= c.start_frame {
            return Err(invalid(
                file,
                format_args!("chunk {i} [{}, {}) does not continue at frame {next}", c.start_frame, c.end_frame),
            ));
        }
        next = c.end_frame;
    }
    if next != total {
        return Err(invalid(file, format_args!("chunks end at frame {next}, plan has {total} frames")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> Option<Code> {
        read_protocol(Path::new("plan.json"), text.as_bytes()).err().map(|e| e.kind())
    }

    #[test]
    fn the_protocol_is_judged_alone_whatever_else_is_missing() {
        let unsupported = Some(Code::PlanProtocolUnsupported);
        assert_eq!(code(r#"{"protocol":{"schemaVersion":9}}"#), unsupported);
        assert_eq!(code(r#"{"protocol":{"schemaVersion":1,"artifactLayout":"plan-dir-v1"}}"#), unsupported);
        assert_eq!(code(r#"{"protocol":{"schemaVersion":null}}"#), unsupported);
        assert_eq!(code(r#"{"protocol":"v1"}"#), unsupported);
        assert_eq!(code("[]"), Some(Code::PlanInvalid));
        assert_eq!(code("{"), Some(Code::PlanInvalid));
        let v1 =
            r#"{"protocol":{"schemaVersion":1,"artifactLayout":"plan-dir-v1","hashSchema":"framefan-plan-hash-v1"}}"#;
        assert_eq!(read_protocol(Path::new("p"), v1.as_bytes()).unwrap(), HashSchema::Framefan);
        assert_eq!(read_protocol(Path::new("p"), b"{}").unwrap(), HashSchema::Hyperframes);
    }

    #[test]
    fn untrusted_values_are_cut_short_in_messages() {
        let long = format!(r#"{{"protocol":{{"schemaVersion":"{}"}}}}"#, "x".repeat(10_000));
        let err = read_protocol(Path::new("plan.json"), long.as_bytes()).unwrap_err();
        assert!(err.message().len() < 200, "{}", err.message());
    }
}
