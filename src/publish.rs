//! Atomic publication of artifacts: write beside the target, fsync, rename, fsync the directory.
//!
//! Every file or directory framefan produces is built under a unique staging name next to its
//! final path (so the rename never crosses a filesystem and concurrent writers never share
//! scratch), then renamed into place. Until [`StagedFile::commit`] succeeds the final path is
//! untouched; a staging path that is dropped uncommitted is removed.
//!
//! A process killed outright (SIGKILL, OOM, power loss) drops nothing, so its staging files and
//! scratch directories stay behind. Each one is therefore *claimed* while in use (an exclusive
//! `flock` on it, which the kernel releases when its owner dies, [`claim`]), and the next writer
//! of the same target sweeps its siblings ([`sweep_stale`]): an entry named for this target
//! whose pid is not running on this machine **and** whose claim nobody holds (so a live writer
//! on another host of a shared filesystem keeps its own) is removed — except a previous output
//! moved aside by [`StagedDir::commit`], which is put back when the target is missing.

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

/// An exclusive advisory lock on a staging file or scratch directory, held while it is in use
/// and released when dropped or when the process dies. `None` inside where the filesystem has
/// no locks: the entry is then judged by its pid alone.
#[derive(Debug)]
pub struct Claim(#[allow(dead_code)] Option<std::fs::File>);

/// Claim `path` (a file or a directory that exists) for this process.
pub fn claim(path: &Path) -> Claim {
    let file = std::fs::File::open(path).ok().filter(|f| f.try_lock().is_ok());
    Claim(file)
}

/// A file inside a scratch directory that was kept on purpose (`render --keep-work`): never swept.
pub const KEEP_MARKER: &str = ".framefan-keep";

/// Whether `pid` runs on this machine; `true` when that cannot be told (no `/proc`).
fn running(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}

/// The pid in a scratch or staging name's tail `<pid>.<16 hex digits>`, for the entries of
/// `target`: `<name>.work.<pid>.<random>` and `.<name>.<tag>.<pid>.<random>`. Returns the pid
/// and the tag (`work` for scratch).
fn owner_of(entry: &str, name: &str) -> Option<(u32, String)> {
    let (tag, tail) = if let Some(rest) = entry.strip_prefix(&format!("{name}.work.")) {
        ("work", rest)
    } else {
        let rest = entry.strip_prefix(&format!(".{name}."))?;
        rest.split_once('.')?
    };
    let (pid, random) = tail.split_once('.')?;
    let hex = random.len() == 16 && random.bytes().all(|b| b.is_ascii_hexdigit());
    let tag_ok = !tag.is_empty() && tag.bytes().all(|b| b.is_ascii_alphanumeric());
    (hex && tag_ok && pid.bytes().all(|b| b.is_ascii_digit())).then(|| Some((pid.parse().ok()?, tag.to_string())))?
}

/// Remove what killed predecessors left beside `target` (see the module docs). Best effort:
/// a sibling that cannot be judged or removed is left alone.
pub fn sweep_stale(target: &Path) {
    let Some(name) = target.file_name().map(|n| n.to_string_lossy().into_owned()) else { return };
    let Ok(entries) = std::fs::read_dir(parent_dir(target)) else { return };
    for entry in entries.flatten() {
        let entry_name = entry.file_name().to_string_lossy().into_owned();
        let Some((pid, tag)) = owner_of(&entry_name, &name) else { continue };
        let path = entry.path();
        if pid == std::process::id() || running(pid) || held(&path) || path.join(KEEP_MARKER).exists() {
            continue;
        }
        if tag == "old" && std::fs::symlink_metadata(target).is_err() {
            // A previous output moved aside by a commit that died before the new one was in.
            let _ = std::fs::rename(&path, target);
            continue;
        }
        let is_dir = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
        // A dying browser of the dead owner may still write into its profile: try again.
        for _ in 0..3 {
            let removed = if is_dir { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
            if removed.is_ok() || std::fs::symlink_metadata(&path).is_err() {
                break;
            }
        }
    }
}

/// Whether another process (on any host that shares the lock) holds `path`'s claim. A
/// filesystem without locks answers no: the pid decides alone.
fn held(path: &Path) -> bool {
    let Ok(file) = std::fs::File::open(path) else { return false };
    matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock))
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
    _claim: Claim,
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
        sweep_stale(target);
        let staging = sibling(target, "tmp");
        // Created here (writers open it again and truncate it in place) so it can be claimed.
        std::fs::File::create(&staging).map_err(|e| Error::io("creating", &staging, e))?;
        let claim = claim(&staging);
        Ok(StagedFile { staging, target: target.to_path_buf(), committed: false, _claim: claim })
    }

    /// Where to write.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// The final path.
    #[cfg(feature = "internals")]
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
    _claim: Claim,
}

impl StagedDir {
    /// Create an empty staging directory for `target`.
    pub fn new(target: &Path) -> Result<Self> {
        sweep_stale(target);
        let staging = sibling(target, "tmp");
        std::fs::create_dir(&staging).map_err(|e| Error::io("creating", &staging, e))?;
        let claim = claim(&staging);
        Ok(StagedDir { staging, target: target.to_path_buf(), committed: false, _claim: claim })
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A pid that ran and exited (reaped), so nothing runs under it now.
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    #[test]
    fn owners_are_read_only_from_names_of_this_target() {
        let r = "0123456789abcdef";
        assert_eq!(owner_of(&format!("c.mp4.work.42.{r}"), "c.mp4"), Some((42, "work".into())));
        assert_eq!(owner_of(&format!(".c.mp4.tmp.7.{r}"), "c.mp4"), Some((7, "tmp".into())));
        assert_eq!(owner_of(&format!(".c.mp4.old.7.{r}"), "c.mp4"), Some((7, "old".into())));
        for other in [
            format!(".c.mp4.perf.json.tmp.7.{r}"),
            format!("c.mp4.work.x.{r}"),
            "c.mp4.work.42.0123".to_string(),
            format!("d.mp4.work.42.{r}"),
            "c.mp4".to_string(),
        ] {
            assert_eq!(owner_of(&other, "c.mp4"), None, "{other}");
        }
    }

    #[test]
    fn leftovers_of_dead_owners_go_and_live_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.mp4");
        let r = "0123456789abcdef";
        let dead = dead_pid();
        let stale_dir = dir.path().join(format!("out.mp4.work.{dead}.{r}"));
        std::fs::create_dir_all(stale_dir.join("profile")).unwrap();
        let stale_file = dir.path().join(format!(".out.mp4.tmp.{dead}.{r}"));
        std::fs::write(&stale_file, b"half").unwrap();
        let mine = dir.path().join(format!("out.mp4.work.{}.{r}", std::process::id()));
        std::fs::create_dir(&mine).unwrap();
        let kept = dir.path().join(format!("out.mp4.work.{dead}.fedcba9876543210"));
        std::fs::create_dir(&kept).unwrap();
        std::fs::write(kept.join(KEEP_MARKER), b"").unwrap();
        let unrelated = dir.path().join(format!("other.mp4.work.{dead}.{r}"));
        std::fs::create_dir(&unrelated).unwrap();
        sweep_stale(&target);
        assert!(!stale_dir.exists() && !stale_file.exists());
        assert!(mine.exists() && kept.exists() && unrelated.exists());
    }

    #[test]
    fn a_claim_held_elsewhere_keeps_an_entry_whatever_its_pid() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.mp4");
        let held_by_peer = dir.path().join(format!(".out.mp4.tmp.{}.0123456789abcdef", dead_pid()));
        std::fs::write(&held_by_peer, b"a peer on another host").unwrap();
        let _claim = claim(&held_by_peer);
        assert!(_claim.0.is_some(), "this filesystem has locks");
        sweep_stale(&target);
        assert!(held_by_peer.exists());
    }

    #[test]
    fn a_previous_output_moved_aside_by_a_dead_commit_is_put_back() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("frames");
        let old = dir.path().join(format!(".frames.old.{}.0123456789abcdef", dead_pid()));
        std::fs::create_dir(&old).unwrap();
        std::fs::write(old.join("frame_000001.png"), b"earlier").unwrap();
        sweep_stale(&target);
        assert_eq!(std::fs::read(target.join("frame_000001.png")).unwrap(), b"earlier");
        assert!(!old.exists());
    }
}
