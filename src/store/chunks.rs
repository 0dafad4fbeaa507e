//! Chunk names and chunk transfers.
//!
//! In a chunks folder or prefix, chunk i is `chunk-NNN.mp4` / `chunk-NNN.mov` (a file) or
//! `chunk-NNN` (a folder of PNG frames), with its sidecar `<name>.perf.json` beside it: the names
//! HyperFrames' adapters use. A chunk is uploaded before its sidecar; the chunk object appears
//! whole or not at all (see [`transfer`]). Downloads for assemble ([`super::downloads`]) run
//! [`DOWNLOADS_IN_FLIGHT`] at a time and start in index order, each straight to disk, so memory
//! stays flat.

use std::path::Path;

use super::transfer;
use super::Remote;
use crate::control::Control;
use crate::error::Result;
use crate::plan::OutputFormat;

/// Chunk downloads in flight at once during assemble.
pub const DOWNLOADS_IN_FLIGHT: usize = 4;

/// The name of chunk `index` of a plan with `format`: `chunk-007.mp4`, or `chunk-007` for PNG frames.
pub fn chunk_name(index: u32, format: OutputFormat) -> String {
    format!("chunk-{index:03}{}", format.spec().container.extension())
}

/// The sidecar's name beside the chunk `name`.
#[cfg(feature = "internals")]
pub fn sidecar_name(name: &str) -> String {
    format!("{name}.perf.json")
}

/// Upload a rendered chunk (file or frame folder) and then its sidecar, from `local` to `dest`.
/// Returns the bytes sent.
pub async fn upload(local: &Path, dest: &Remote, sink: Option<&Control>) -> Result<u64> {
    let sent = if local.is_dir() {
        transfer::upload_dir(local, dest, sink, 8).await?
    } else {
        transfer::upload_file(local, dest, sink).await?
    };
    let sidecar = crate::assemble::check::sidecar_path(local);
    let sidecar_dest = dest.with_suffix(".perf.json");
    Ok(sent + transfer::upload_file(&sidecar, &sidecar_dest, sink).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_names_are_hyperframes_names() {
        assert_eq!(chunk_name(0, OutputFormat::Mp4), "chunk-000.mp4");
        assert_eq!(chunk_name(41, OutputFormat::Mov), "chunk-041.mov");
        assert_eq!(chunk_name(7, OutputFormat::PngSequence), "chunk-007");
        assert_eq!(chunk_name(1234, OutputFormat::Mp4), "chunk-1234.mp4");
        assert_eq!(sidecar_name("chunk-000.mp4"), "chunk-000.mp4.perf.json");
    }
}
