//! HyperFrames' published page runtime as a pinned dependency.
//!
//! The composition semantics (clip visibility, nesting offsets, root sizing, GSAP / CSS / WAAPI /
//! anime.js / Lottie seeking, duration, variables) are HyperFrames' own: the npm package
//! `hyperframes` ships them as `dist/hyperframe.runtime.iife.js`, and framefan injects that file
//! into every page it renders, as HyperFrames' producer does. The pinned version is built into
//! the binary ([`crate::builtin`], pinned by sha256 in `vendor/npm/pins.tsv`), so a plan needs no
//! package cache; an explicit file (`--runtime`, `$FRAMEFAN_RUNTIME`) replaces it and is recorded
//! as what it is. `plan` freezes the bytes into the plan ([`PLAN_PATH`]) and records a
//! [`RuntimeRecord`]; `render-chunk` checks the frozen bytes against that record before
//! injecting them.

use std::path::{Path, PathBuf};

use crate::error::{Code, Error, Result};
use crate::plan::layout::PlanLayout;

pub mod audio_fx;
pub mod record;

pub use record::{RuntimeRecord, PACKAGE, PACKAGE_FILE};

/// Where a plan keeps the frozen runtime, relative to the plan directory (inside `compiled/`, so
/// the planHash covers it; the file server never serves `.framefan/`).
#[cfg(feature = "internals")]
pub const PLAN_PATH: &str = crate::plan::layout::RUNTIME;
/// Names a runtime file to use instead of the pinned package's.
pub const RUNTIME_ENV: &str = "FRAMEFAN_RUNTIME";

/// A runtime's bytes and what they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runtime {
    /// The script text.
    pub source: String,
    /// What it is.
    pub record: RuntimeRecord,
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    crate::digest::hex(&sha2::Sha256::digest(bytes))
}

impl Runtime {
    /// The runtime for a plan: `explicit` (or `$FRAMEFAN_RUNTIME`) when given — any bytes, recorded
    /// by their sha256 — else the built-in pinned one. A package cache never supplies it.
    pub fn locate(explicit: Option<&Path>) -> Result<Runtime> {
        let env = std::env::var_os(RUNTIME_ENV).filter(|v| !v.is_empty()).map(PathBuf::from);
        match explicit.map(Path::to_path_buf).or(env) {
            Some(file) => Self::from_file(&file),
            None => Self::builtin(),
        }
    }

    /// The pinned runtime built into this binary.
    pub fn builtin() -> Result<Runtime> {
        let file = builtin_file()?;
        let source = text(file.bytes.to_vec(), Path::new(PACKAGE_FILE))?;
        Ok(Runtime { source, record: builtin_record() })
    }

    /// A user-chosen runtime file, recorded as what it is.
    fn from_file(path: &Path) -> Result<Runtime> {
        let bytes = std::fs::read(path)
            .map_err(|e| Error::new(Code::RuntimeNotFound, format!("runtime {}: {e}", path.display())))?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let record = RuntimeRecord { package: "file".into(), version: name, sha256: sha256_hex(&bytes) };
        Ok(Runtime { source: text(bytes, path)?, record })
    }

    /// The runtime frozen in the plan at `plan_dir`, checked against the plan's `record`.
    pub fn from_plan(plan_dir: &Path, record: &RuntimeRecord) -> Result<Runtime> {
        let path = PlanLayout::new(plan_dir).runtime();
        let bytes = std::fs::read(&path)
            .map_err(|e| Error::new(Code::MissingPlanArtifact, format!("{}: {e}", path.display())))?;
        let sha = sha256_hex(&bytes);
        if sha != record.sha256 {
            return Err(Error::new(
                Code::RuntimeMismatch,
                format!("{} has sha256 {sha}; the plan records {}", path.display(), record.sha256),
            ));
        }
        Ok(Runtime { source: text(bytes, &path)?, record: record.clone() })
    }

    /// The runtime a plan records in `meta/encoder.json` (none for a self-driven page), checked.
    pub fn of_plan(plan_dir: &Path) -> Result<Option<Runtime>> {
        let encoder = PlanLayout::new(plan_dir).read_encoder()?;
        encoder.runtime.map(|record| Self::from_plan(plan_dir, &record)).transpose()
    }

    /// Write the runtime into the plan being built at `plan_dir`.
    pub fn freeze(&self, plan_dir: &Path) -> Result<()> {
        let path = PlanLayout::new(plan_dir).runtime();
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io("creating", parent, e))?;
        }
        std::fs::write(&path, self.source.as_bytes()).map_err(|e| Error::io("writing", &path, e))
    }
}

/// The script text; it is inlined into a `<script>` element, so it must not close one.
fn text(bytes: Vec<u8>, path: &Path) -> Result<String> {
    let source = String::from_utf8(bytes)
        .map_err(|_| Error::new(Code::RuntimeMismatch, format!("runtime {} is not UTF-8", path.display())))?;
    if source.to_ascii_lowercase().contains("</script") {
        return Err(Error::new(Code::RuntimeMismatch, format!("runtime {} contains </script", path.display())));
    }
    Ok(source)
}

/// The built-in runtime file; absent only from a binary built without its npm files.
fn builtin_file() -> Result<&'static crate::builtin::File> {
    crate::builtin::file(PACKAGE, PACKAGE_FILE).ok_or_else(|| {
        Error::new(
            Code::RuntimeNotFound,
            format!("this framefan was built without {PACKAGE}'s {PACKAGE_FILE}; pass --runtime FILE"),
        )
    })
}

/// What a plan made with the built-in runtime records (`hyperframes`, its pinned version and
/// sha256, as `vendor/npm/pins.tsv` pins them).
pub fn builtin_record() -> RuntimeRecord {
    crate::builtin::runtime_record()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_runtime_is_the_pinned_release() {
        let rt = Runtime::builtin().unwrap();
        assert_eq!((rt.record.package.as_str(), rt.record.version.as_str()), ("hyperframes", "0.8.170"));
        assert_eq!(sha256_hex(rt.source.as_bytes()), rt.record.sha256);
        assert_eq!(rt.record.sha256, "4a56ffcd5e2b0d5c22cce6c2201205b85cb77ad9d7e32796c2e789fa46231935");
    }

    #[test]
    fn a_plan_runtime_is_checked_against_its_record() {
        let dir = std::env::temp_dir().join(format!("ff-rt-{}", crate::publish::unique_suffix()));
        let rt = Runtime {
            source: "1;".into(),
            record: RuntimeRecord { package: "file".into(), version: "x".into(), sha256: sha256_hex(b"1;") },
        };
        rt.freeze(&dir).unwrap();
        assert!(Runtime::from_plan(&dir, &rt.record).is_ok());
        let other = RuntimeRecord { sha256: sha256_hex(b"2;"), ..rt.record.clone() };
        assert_eq!(Runtime::from_plan(&dir, &other).unwrap_err().code(), "RUNTIME_MISMATCH");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
