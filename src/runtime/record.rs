//! The runtime record a plan carries (`runtime {package, version, sha256}` in `plan.json` and
//! `meta/encoder.json`). A leaf: `plan` writes it and `runtime` checks frozen bytes against it,
//! and neither needs the other's code for that.

use serde::{Deserialize, Serialize};

/// The npm package that publishes the runtime.
pub const PACKAGE: &str = "hyperframes";
/// The file inside the package.
pub const PACKAGE_FILE: &str = "dist/hyperframe.runtime.iife.js";

/// Which runtime a plan was made with (`runtime` in `plan.json` and `meta/encoder.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeRecord {
    /// npm package name, or `file` for a runtime given as a file.
    pub package: String,
    /// Package version, or the file's name for a runtime given as a file.
    pub version: String,
    /// sha256 of the runtime's bytes (64 lowercase hex).
    pub sha256: String,
}
