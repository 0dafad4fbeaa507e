//! The `<chunk>.perf.json` sidecar beside every chunk artifact: `render-chunk` writes it (after
//! the chunk is in place, staged and renamed like the chunk), `assemble` and the pool read it.
//! It lives here, beneath both, so neither reaches into the other.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Code, Error, Result};
use crate::publish::StagedFile;

/// The fields of a sidecar that assemble checks (a HyperFrames sidecar may lack either).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checked {
    /// The plan the chunk was rendered from.
    pub plan_hash: Option<String>,
    /// Digest of the chunk artifact.
    pub sha256: Option<String>,
}

/// The sidecar path of a chunk artifact: `<chunk>.perf.json` beside it.
pub fn path(chunk: &Path) -> PathBuf {
    let mut name = chunk.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".perf.json");
    chunk.with_file_name(name)
}

/// Write `sidecar` beside the chunk at `chunk` (staged, fsynced, renamed).
pub fn write(chunk: &Path, sidecar: &impl Serialize) -> Result<()> {
    let path = path(chunk);
    let staged = StagedFile::new(&path)?;
    let bytes = serde_json::to_vec_pretty(sidecar)
        .map_err(|e| Error::new(Code::Io, format!("serialising sidecar {}: {e}", path.display())))?;
    std::fs::write(staged.path(), bytes).map_err(|e| Error::io("writing", staged.path(), e))?;
    staged.commit()
}

/// Read a chunk's sidecar, if it has one.
pub fn read(chunk: &Path) -> Result<Option<Checked>> {
    let path = path(chunk);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("reading", &path, e)),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| Error::new(Code::CorruptChunk, format!("sidecar {} is not valid JSON: {e}", path.display())))
}
