//! SHA-256 fingerprints of chunk artifacts, as written in `<chunk>.perf.json` sidecars.
//!
//! A file's digest is the hex SHA-256 of its bytes. A frame directory's digest is the SHA-256 of
//! the lines `name\0sha256(file)` for each regular file, sorted by name and joined by `\0`.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex SHA-256 of a file's bytes, read in 1 MiB blocks.
pub fn file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io("opening", path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io("reading", path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// Hex SHA-256 of a frame directory (see the module docs).
pub fn dir(path: &Path) -> Result<String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(path).map_err(|e| Error::io("listing", path, e))? {
        let entry = entry.map_err(|e| Error::io("listing", path, e))?;
        let kind = entry.file_type().map_err(|e| Error::io("inspecting", &entry.path(), e))?;
        if kind.is_file() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    let mut hasher = Sha256::new();
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            hasher.update([0u8]);
        }
        hasher.update(name.as_bytes());
        hasher.update([0u8]);
        hasher.update(file(&path.join(name))?.as_bytes());
    }
    Ok(hex(&hasher.finalize()))
}

/// The digest of a chunk artifact: [`dir()`] for a directory, [`file()`] otherwise.
pub fn artifact(path: &Path) -> Result<String> {
    if path.is_dir() {
        dir(path)
    } else {
        file(path)
    }
}
