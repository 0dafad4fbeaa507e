//! The planHash (contracts §2): one SHA-256 over the frozen plan's content and the versions that
//! decide its pixels.
//!
//! In order, each followed by a 0x00 byte: the hash-schema string; the bytes of
//! `compiled/index.html`; for every other regular file under the plan (sorted by relative POSIX
//! path, minus `plan.json`, `meta/encoder.json` and `compiled/index.html`, symlinks skipped) its path
//! and the hex SHA-256 of its bytes; `fontSnapshotSha`; the bytes of `meta/encoder.json`;
//! `producerVersion`; `ffmpegVersion`; and last `"{fpsNum}/{fpsDen}x{width}x{height}x{format}"`
//! with no trailing byte. `plan` writes it and `render-chunk` recomputes it from the directory alone.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::digest;
use crate::error::{Code, Error, Result};
use crate::plan::layout::{read_artifact, ENCODER_JSON, INDEX_HTML, PLAN_JSON};
use crate::plan::manifest::{Dimensions, HashSchema};

/// Everything the hash covers that is not a file of the plan directory.
#[derive(Debug, Clone, Copy)]
pub struct HashInputs<'a> {
    /// Which schema string opens the hash.
    pub schema: HashSchema,
    /// Fingerprint of the fonts the browser sees.
    pub font_snapshot_sha: &'a str,
    /// The producer that wrote the plan.
    pub producer_version: &'a str,
    /// The linked libav (and x264) versions.
    pub ffmpeg_version: &'a str,
    /// Size, rate and format.
    pub dimensions: Dimensions,
}

const EXCLUDED: [&str; 3] = [PLAN_JSON, ENCODER_JSON, INDEX_HTML];

/// Compute the planHash of the plan directory `dir` (64 lowercase hex).
pub fn plan_hash(dir: &Path, inputs: &HashInputs<'_>) -> Result<String> {
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        h.update(bytes);
        h.update([0u8]);
    };
    field(inputs.schema.as_str().as_bytes());
    field(&read_artifact(&dir.join(INDEX_HTML))?);
    for rel in regular_files(dir)? {
        if EXCLUDED.contains(&rel.as_str()) {
            continue;
        }
        let sum = digest::file(&dir.join(&rel))?;
        field(rel.as_bytes());
        field(sum.as_bytes());
    }
    field(inputs.font_snapshot_sha.as_bytes());
    field(&read_artifact(&dir.join(ENCODER_JSON))?);
    field(inputs.producer_version.as_bytes());
    field(inputs.ffmpeg_version.as_bytes());
    let d = inputs.dimensions;
    let tail = format!("{}/{}x{}x{}x{}", d.fps.num(), d.fps.den(), d.width, d.height, d.format.as_str());
    h.update(tail.as_bytes());
    Ok(format!("{:x}", h.finalize()))
}

/// Every regular file under `dir` as a relative POSIX path, sorted bytewise; symlinks are skipped
/// and not followed.
pub fn regular_files(dir: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stack: Vec<(PathBuf, String)> = vec![(dir.to_path_buf(), String::new())];
    while let Some((abs, rel)) = stack.pop() {
        let entries = std::fs::read_dir(&abs).map_err(|e| Error::io("listing", &abs, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("listing", &abs, e))?;
            let kind = entry.file_type().map_err(|e| Error::io("inspecting", &entry.path(), e))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                return Err(Error::new(
                    Code::PlanInvalid,
                    format!("{}: file name is not UTF-8", entry.path().display()),
                ));
            };
            let child = if rel.is_empty() { name.to_string() } else { format!("{rel}/{name}") };
            if kind.is_dir() {
                stack.push((entry.path(), child));
            } else if kind.is_file() {
                out.push(child);
            }
        }
    }
    out.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    Ok(out)
}
