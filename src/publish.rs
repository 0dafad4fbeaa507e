//! Atomic publication of artifacts: write beside the target, fsync, rename, fsync the directory.
//!
//! Every file or directory framefan produces is built under a unique staging name next to its
//! final path (so the rename never crosses a filesystem and concurrent writers never share
//! scratch), then renamed into place. Until [`StagedFile::commit`] succeeds the final path is
//! untouched; a staging path that is dropped uncommitted is removed.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// A unique name beside `target`: `.<name>.<tag>.<pid>.<random>`, hidden so listings of the
/// output directory do not show half-written files.
pub fn sibling(target: &Path, tag: &str) -> PathBuf {
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    target.with_file_name(format!(".{name}.{tag}.{}", unique_suffix()))
}

/// `<pid>.<random>`: unique among concurrent writers on this machine.
pub fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    format!("{}.{:016x}", std::process::id(), h.finish())
}

fn parent_dir(target: &Path) -> &Path {
    match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Flush a directory's entries (the rename itself) to disk.
pub fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| Error::io("syncing directory", dir, e))
}

/// A file being built at a staging path beside its target.
#[derive(Debug)]
pub struct StagedFile {
    staging: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl StagedFile {
    /// Reserve a staging path for `target`. The target's directory must exist.
    pub fn new(target: &Path) -> Result<Self> {
        let dir = parent_dir(target);
        if !dir.is_dir() {
            let err = std::io::Error::new(std::io::ErrorKind::NotFound, "directory does not exist");
            return Err(Error::io("writing into", dir, err));
        }
        if target.is_dir() {
            let err = std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a directory");
            return Err(Error::io("replacing", target, err));
        }
        Ok(StagedFile { staging: sibling(target, "tmp"), target: target.to_path_buf(), committed: false })
    }

    /// Where to write.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// The final path.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// fsync the staged file, rename it onto the target, fsync the directory.
    pub fn commit(mut self) -> Result<()> {
        let file = std::fs::File::open(&self.staging).map_err(|e| Error::io("opening", &self.staging, e))?;
        file.sync_all().map_err(|e| Error::io("syncing", &self.staging, e))?;
        drop(file);
        std::fs::rename(&self.staging, &self.target).map_err(|e| Error::io("renaming onto", &self.target, e))?;
        self.committed = true;
        sync_dir(parent_dir(&self.target))
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if !self.committed {
            // Best effort: the staging file may never have been created.
            let _ = std::fs::remove_file(&self.staging);
        }
    }
}

/// Writes a growing staged file back to disk in the background while it is being written, so
/// that the fsync in [`StagedFile::commit`] finds little left to do (for a 1.4 GB output it was
/// 0.6 s of idle waiting at the end). It only starts writeback earlier; durability still comes
/// from the commit's fsync. Stops when dropped.
pub struct Flusher {
    /// Dropping it wakes the thread at once (a sleeping thread would hold up the commit).
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Flusher {
    /// Flush `path` every `every` (it may not exist yet; it is opened once it does).
    pub fn start(path: &Path, every: std::time::Duration) -> Flusher {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let path = path.to_path_buf();
        let thread = std::thread::spawn(move || {
            let mut file = None;
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                if file.is_none() {
                    file = std::fs::File::open(&path).ok();
                }
                // A failed early flush is not an error: the commit's fsync is the one that counts.
                if let Some(f) = &file {
                    let _flushed = f.sync_data();
                }
            }
        });
        Flusher { stop: Some(stop), thread: Some(thread) }
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _joined = t.join();
        }
    }
}

/// A directory being built at a staging path beside its target.
#[derive(Debug)]
pub struct StagedDir {
    staging: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl StagedDir {
    /// Create an empty staging directory for `target`.
    pub fn new(target: &Path) -> Result<Self> {
        let staging = sibling(target, "tmp");
        std::fs::create_dir(&staging).map_err(|e| Error::io("creating", &staging, e))?;
        Ok(StagedDir { staging, target: target.to_path_buf(), committed: false })
    }

    /// Where to build.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// fsync every file and the directory, then move it onto the target. An existing target
    /// directory is first moved aside and removed only after the new one is in place.
    pub fn commit(mut self) -> Result<()> {
        for entry in std::fs::read_dir(&self.staging).map_err(|e| Error::io("listing", &self.staging, e))? {
            let path = entry.map_err(|e| Error::io("listing", &self.staging, e))?.path();
            let file = std::fs::File::open(&path).map_err(|e| Error::io("opening", &path, e))?;
            file.sync_all().map_err(|e| Error::io("syncing", &path, e))?;
        }
        sync_dir(&self.staging)?;
        let old = sibling(&self.target, "old");
        let replaced = match std::fs::symlink_metadata(&self.target) {
            Ok(_) => {
                std::fs::rename(&self.target, &old).map_err(|e| Error::io("moving aside", &self.target, e))?;
                true
            }
            Err(_) => false,
        };
        if let Err(e) = std::fs::rename(&self.staging, &self.target) {
            if replaced {
                // Put the previous output back; the new one stays in staging and is removed.
                let _ = std::fs::rename(&old, &self.target);
            }
            return Err(Error::io("renaming onto", &self.target, e));
        }
        self.committed = true;
        sync_dir(parent_dir(&self.target))?;
        if replaced {
            let removed = if old.is_dir() { std::fs::remove_dir_all(&old) } else { std::fs::remove_file(&old) };
            removed.map_err(|e| Error::io("removing previous output", &old, e))?;
        }
        Ok(())
    }
}

impl Drop for StagedDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}
