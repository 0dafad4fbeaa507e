//! PNG-sequence assemble: merge the chunks' frame directories into one directory numbered
//! `frame_000001.png …` across the whole render, with the fitted soundtrack beside the frames as
//! `audio.m4a`. Frames are hard-linked where the filesystem allows (copied otherwise) into a
//! staging directory beside `out`, which is renamed into place once complete.

use std::path::{Path, PathBuf};

use super::feed::ChunkFeed;
use super::model::{cancelled, no_audio, report, summarize, AssembleOptions, AudioSummary, Progress};
use crate::audio::{self, EncodeSettings};
use crate::error::{Code, Error, Result};
use crate::plan::Plan;
use crate::publish::{StagedDir, StagedFile};

/// The PNG signature and IHDR layout: width and height are big-endian at bytes 16..24.
const PNG_SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";

/// Merge `chunks` (frame directories) into `out`; returns frames merged and the audio summary.
/// Frame directories are hard-linked, not copied, so there is no copy to overlap downloads
/// with: every chunk is made local (and checked) before the merge starts.
pub fn merge(
    plan: &Plan,
    feed: &mut dyn ChunkFeed,
    expected: &[Option<String>],
    audio: Option<&Path>,
    out: &Path,
    settings: EncodeSettings,
    options: &AssembleOptions,
) -> Result<(i64, AudioSummary)> {
    let lists = local_frames(plan, feed, expected, options)?;
    let staged = StagedDir::new(out)?;
    let mut n = 0i64;
    for frame in lists.iter().flatten() {
        n += 1;
        place(frame, &staged.path().join(format!("frame_{n:06}.png")))?;
        if n % 64 == 0 || n == plan.total_frames {
            report(options, Progress { frames_done: n, total_frames: plan.total_frames });
            cancelled(options)?;
        }
    }
    let summary = match audio {
        Some(source) => write_soundtrack(plan, source, &staged.path().join("audio.m4a"), settings)?,
        None => no_audio(),
    };
    staged.commit()?;
    Ok((n, summary))
}

/// Every chunk made local and checked (frame count and size, digest), then its PNG frames in
/// order: one list per chunk, holding the plan's frames in all.
pub fn local_frames(
    plan: &Plan,
    feed: &mut dyn ChunkFeed,
    expected: &[Option<String>],
    options: &AssembleOptions,
) -> Result<Vec<Vec<PathBuf>>> {
    for i in 0..feed.paths().len() {
        feed.ready(i, &options.control)?;
    }
    let chunks = feed.paths();
    let mut lists = Vec::with_capacity(chunks.len());
    for (i, path) in chunks.iter().enumerate() {
        let frames = check_chunk(plan, i, path)?;
        if let Some(want) = &expected[i] {
            super::check::verify_digest(i, path, want)?;
        }
        lists.push(frames);
    }
    let total: usize = lists.iter().map(Vec::len).sum();
    if total as i64 != plan.total_frames {
        let msg = format!("chunks hold {total} frames, plan {} has {}", plan.dir.display(), plan.total_frames);
        return Err(Error::new(Code::FrameCountMismatch, msg));
    }
    Ok(lists)
}

fn write_soundtrack(plan: &Plan, source: &Path, target: &Path, settings: EncodeSettings) -> Result<AudioSummary> {
    let samples = audio::samples_for(plan.dimensions.fps, plan.total_frames);
    let mut encoded = audio::start(source, samples, settings)?;
    let staged = StagedFile::new(target)?;
    crate::audio::m4a::write_m4a(staged.path(), &mut encoded)?;
    let summary = summarize(encoded.finish()?);
    staged.commit()?;
    Ok(summary)
}

/// Hard-link `from` to `to`, or copy it when linking is not possible (another filesystem).
fn place(from: &Path, to: &Path) -> Result<()> {
    if std::fs::hard_link(from, to).is_ok() {
        return Ok(());
    }
    std::fs::copy(from, to).map(|_| ()).map_err(|e| Error::io("copying frame", from, e))
}

/// List a chunk's PNG frames in frame order and check their count and size.
fn check_chunk(plan: &Plan, i: usize, path: &Path) -> Result<Vec<PathBuf>> {
    let spec = plan.chunks[i];
    if !path.is_dir() {
        let msg = format!("chunk {i} ({}) is not a frame directory", path.display());
        return Err(Error::new(Code::IncompatibleChunk, msg));
    }
    let frames = list_frames(path)?;
    if frames.len() as i64 != spec.frames() {
        let msg = format!(
            "chunk {i} ({}) holds {} PNG frames, plan says {} (frames {}..{})",
            path.display(),
            frames.len(),
            spec.frames(),
            spec.start_frame,
            spec.end_frame
        );
        return Err(Error::new(Code::FrameCountMismatch, msg));
    }
    for frame in &frames {
        check_png(plan, i, frame)?;
    }
    Ok(frames)
}

/// The `*.png` files of a directory, ordered by the number in their name (then by name), so
/// `frame_1000000.png` sorts after `frame_999999.png`.
fn list_frames(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut frames = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io("listing", dir, e))? {
        let path = entry.map_err(|e| Error::io("listing", dir, e))?.path();
        if path.extension().is_some_and(|e| e == "png") && path.is_file() {
            frames.push(path);
        }
    }
    frames.sort_by_cached_key(|p| {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let digits: String = name.chars().filter(char::is_ascii_digit).collect();
        (digits.len(), digits, name)
    });
    Ok(frames)
}

fn check_png(plan: &Plan, i: usize, frame: &Path) -> Result<()> {
    use std::io::Read;
    let mut head = [0u8; 24];
    let read = std::fs::File::open(frame).and_then(|mut f| f.read_exact(&mut head));
    let bad = |what: &str| Error::new(Code::CorruptChunk, format!("chunk {i}: {} {what}", frame.display()));
    if read.is_err() || &head[..8] != PNG_SIGNATURE || &head[12..16] != b"IHDR" {
        return Err(bad("is not a PNG file"));
    }
    let width = u32::from_be_bytes([head[16], head[17], head[18], head[19]]);
    let height = u32::from_be_bytes([head[20], head[21], head[22], head[23]]);
    let d = &plan.dimensions;
    if (width, height) != (d.width, d.height) {
        let msg = format!("chunk {i}: {} is {width}x{height}, plan is {}x{}", frame.display(), d.width, d.height);
        return Err(Error::new(Code::IncompatibleChunk, msg));
    }
    Ok(())
}
