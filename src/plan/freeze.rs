//! Freezing a project into the plan's `compiled/` directory.
//!
//! Two steps so that nothing is copied before the project is known to be safe and small enough:
//! [`scan`] walks the project (never following a symlink out of it) and lists every file to copy
//! with its size; [`copy`] copies them and writes the compiled page as `compiled/index.html`.
//!
//! Skipped: the top-level directories in [`SKIPPED_TOP_LEVEL`], the plan directory itself and
//! its staging siblings when the plan is built inside the project. A symlink is followed and
//! copied as a regular file (or, for a directory, as a real directory), wherever it leads (one
//! leading out of the project is named in a warning); loops are cut by the nesting limit. Other
//! special files (sockets, fifos) and dangling symlinks are skipped with a warning.

use std::path::{Path, PathBuf};

use crate::error::{Code, Error, Result};
use crate::plan::project::{Generated, ENTRY, GENERATED_DIR, SKIPPED_TOP_LEVEL};

/// The deepest directory nesting followed (a guard against symlink loops and hostile trees).
const MAX_DEPTH: usize = 64;

/// One file to copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Relative POSIX path inside the project (and inside `compiled/`).
    pub rel: String,
    /// Where its bytes are read from (a symlink's target, already checked to be inside).
    pub source: PathBuf,
    /// Size in bytes.
    pub len: u64,
}

/// The files to freeze.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    /// Files in a stable order (sorted by relative path).
    pub entries: Vec<Entry>,
    /// Skipped special files and dangling links.
    pub warnings: Vec<String>,
}

impl Scan {
    /// Bytes that [`copy`] copies (the entry file is replaced by the compiled page).
    pub fn bytes(&self) -> u64 {
        self.entries.iter().filter(|e| e.rel != ENTRY).map(|e| e.len).sum()
    }
}

/// Walk `project` (canonical), skipping the skip list and any path `exclude` matches.
pub fn scan(project: &Path, exclude: &dyn Fn(&Path) -> bool) -> Result<Scan> {
    let mut out = Scan::default();
    let mut stack: Vec<(PathBuf, String, usize)> = vec![(project.to_path_buf(), String::new(), 0)];
    while let Some((dir, rel, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            return Err(Error::new(
                Code::UnsafeProjectPath,
                format!("{}: directories nest too deep or loop through symlinks", display_rel(&rel)),
            ));
        }
        let listing = std::fs::read_dir(&dir).map_err(|e| Error::io("listing", &dir, e))?;
        for item in listing {
            let item = item.map_err(|e| Error::io("listing", &dir, e))?;
            let name = item.file_name();
            let Some(name) = name.to_str() else {
                return Err(Error::new(
                    Code::CompositionInvalid,
                    format!("{}: a file name is not UTF-8", item.path().display()),
                ));
            };
            if rel.is_empty() && SKIPPED_TOP_LEVEL.contains(&name) {
                continue;
            }
            if rel.is_empty() && name == GENERATED_DIR {
                out.warnings
                    .push(format!("{GENERATED_DIR}/ is where plan puts what it adds, so the project's was not frozen"));
                continue;
            }
            let child_rel = if rel.is_empty() { name.to_string() } else { format!("{rel}/{name}") };
            let path = item.path();
            if exclude(&path) {
                continue;
            }
            visit(project, path, child_rel, depth, &mut stack, &mut out)?;
        }
    }
    out.entries.sort_unstable_by(|a, b| a.rel.as_bytes().cmp(b.rel.as_bytes()));
    Ok(out)
}

fn visit(
    project: &Path,
    path: PathBuf,
    rel: String,
    depth: usize,
    stack: &mut Vec<(PathBuf, String, usize)>,
    out: &mut Scan,
) -> Result<()> {
    let meta = std::fs::symlink_metadata(&path).map_err(|e| Error::io("inspecting", &path, e))?;
    let (source, meta) = if meta.file_type().is_symlink() {
        let Ok(target) = std::fs::canonicalize(&path) else {
            out.warnings.push(format!("{rel} is a dangling symlink and was not frozen"));
            return Ok(());
        };
        if !target.starts_with(project) {
            // As HyperFrames does, a link to a folder or file beside the project is followed: its
            // content is frozen into the plan (within the size cap), so workers still read
            // nothing outside the plan.
            out.warnings.push(format!(
                "{rel} is a symlink to {}, outside the project; its content was frozen",
                target.display()
            ));
        }
        let meta = std::fs::metadata(&target).map_err(|e| Error::io("inspecting", &target, e))?;
        if meta.is_dir() && path.starts_with(&target) {
            return Err(Error::new(Code::UnsafeProjectPath, format!("{rel} is a symlink to its own parent directory")));
        }
        (target, meta)
    } else {
        (path, meta)
    };
    if meta.is_dir() {
        stack.push((source, rel, depth + 1));
    } else if meta.is_file() {
        out.entries.push(Entry { rel, source, len: meta.len() });
    } else {
        out.warnings.push(format!("{rel} is not a regular file and was not frozen"));
    }
    Ok(())
}

fn display_rel(rel: &str) -> &str {
    if rel.is_empty() {
        "the project"
    } else {
        rel
    }
}

/// Copy the scanned files under `dest` (created), write the `generated` files and `page` as
/// `dest/index.html`.
pub fn copy(scan: &Scan, dest: &Path, page: &str, generated: &[Generated]) -> Result<()> {
    std::fs::create_dir_all(dest).map_err(|e| Error::io("creating", dest, e))?;
    for entry in scan.entries.iter().filter(|e| e.rel != ENTRY) {
        let target = entry.rel.split('/').fold(dest.to_path_buf(), |p, s| p.join(s));
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io("creating", parent, e))?;
        }
        std::fs::copy(&entry.source, &target).map_err(|e| Error::io("copying into the plan", &entry.source, e))?;
    }
    for file in generated {
        let target = file.rel.split('/').fold(dest.to_path_buf(), |p, s| p.join(s));
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io("creating", parent, e))?;
        }
        std::fs::write(&target, &file.bytes).map_err(|e| Error::io("writing", &target, e))?;
    }
    let index = dest.join(ENTRY);
    std::fs::write(&index, page).map_err(|e| Error::io("writing", &index, e))
}
