//! The worker's local cache: downloaded plans keyed by planHash, and scratch folders.
//!
//! The root is `FRAMEFAN_CACHE_DIR`, else `$XDG_CACHE_HOME/framefan`, else `~/.cache/framefan`,
//! else `/tmp/framefan-cache`. `plans/<planHash>/` holds `plan/` (the plan directory) and
//! `manifest.json` (the manifest it was verified against); it only ever appears by the rename of a
//! complete, verified download, so any process that sees it sees a whole plan. `work/` holds
//! scratch folders (one per command, removed when it ends).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::publish::unique_suffix;

/// The cache root (not created).
pub fn root() -> PathBuf {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    env("FRAMEFAN_CACHE_DIR")
        .or_else(|| env("XDG_CACHE_HOME").map(|p| p.join("framefan")))
        .or_else(|| env("HOME").map(|p| p.join(".cache").join("framefan")))
        .unwrap_or_else(|| PathBuf::from("/tmp/framefan-cache"))
}

/// Where the plan with `plan_hash` is (or will be) cached.
pub fn plan_entry(plan_hash: &str) -> PathBuf {
    root().join("plans").join(plan_hash)
}

/// A scratch folder under the cache, removed (with everything in it) when dropped.
#[derive(Debug)]
pub struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    /// Create `work/<tag>.<pid>.<random>` under the cache root.
    pub fn new(tag: &str) -> Result<Scratch> {
        Scratch::under(&root().join("work"), tag)
    }

    /// Create `<parent>/<tag>.<pid>.<random>`.
    pub fn under(parent: &Path, tag: &str) -> Result<Scratch> {
        std::fs::create_dir_all(parent).map_err(|e| Error::io("creating", parent, e))?;
        let dir = parent.join(format!("{tag}.{}", unique_suffix()));
        std::fs::create_dir(&dir).map_err(|e| Error::io("creating", &dir, e))?;
        Ok(Scratch { dir })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Keep the folder: it becomes the caller's (used once it was renamed away).
    pub fn forget(mut self) {
        self.dir = PathBuf::new();
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !self.dir.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
