//! The names a project and its frozen copy (`compiled/`) share: the entry file, the top-level
//! folders never frozen, and the folder (with its files) that plan adds.
//!
//! A leaf: `compile`, `fetch`, `fonts` and `freeze` all name these, and none of them imports
//! another for it.

/// The entry file of a project (and the compiled page's name under `compiled/`).
pub const ENTRY: &str = "index.html";

/// Top-level directories of a project that are never frozen (contracts §2).
pub const SKIPPED_TOP_LEVEL: [&str; 7] = ["node_modules", ".git", ".cache", "output", "dist", ".next", ".turbo"];

/// The folder of `compiled/` that holds what plan itself adds (frozen font faces, fetched remote
/// assets). A project folder of that name is not frozen.
pub const GENERATED_DIR: &str = "__framefan__";

/// A file plan adds to `compiled/` (a font face, a fetched resource).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// Its path under `compiled/` (under [`GENERATED_DIR`]).
    pub rel: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}
