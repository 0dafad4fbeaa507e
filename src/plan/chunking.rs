//! Splitting a render's frames into chunks (contracts §3), in whole GOPs.
//!
//! Let P = maxParallelChunks, or min(P, max(1, ceil(total/target))) when a target is given and no
//! chunkSize, and G the plan's GOP length. size = chunkSize or max(10, ceil(total/P)), rounded up
//! to a multiple of G; count = min(P, max(1, ceil(total/size))); size = max(size,
//! ceil(total/count)) rounded up to a multiple of G; count = ceil(total/size). Chunk i is
//! `[i·size, min(total, (i+1)·size))`. The result is never empty nor inverted, its union is
//! exactly `[0, total)`, and every chunk starts on a GOP boundary, so any chunking encodes the
//! same GOPs. With G = 1 this is the upstream rule unchanged.

use crate::error::{Code, Error, Result};
use crate::plan::manifest::ChunkSpec;

/// Chunking inputs, each a positive integer within its contract range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkingConfig {
    /// Fixed frames per chunk (rounded up to whole GOPs).
    pub chunk_size: Option<u32>,
    /// Frames per GOP; `None` = [`default_gop`](crate::plan::config::default_gop) of the frame
    /// rate (known once the root is read).
    pub gop_size: Option<u32>,
    /// Upper bound on the chunk count.
    pub max_parallel_chunks: u32,
    /// Desired frames per chunk when no size is fixed.
    pub target_chunk_frames: Option<u32>,
}

/// The chunks of a render and the size they were cut at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunking {
    /// Frames per chunk (the last may be shorter), a multiple of `gop`.
    pub size: u32,
    /// Frames per GOP: what the encoder sees as one independent piece (the last may be shorter).
    pub gop: u32,
    /// The `chunkSize` asked for, when it was not a whole number of GOPs and was rounded up.
    pub rounded_from: Option<u32>,
    /// The chunks, contiguous over `[0, total)`.
    pub chunks: Vec<ChunkSpec>,
}

fn ceil_div(a: i64, b: i64) -> i64 {
    // Both positive here; written without overflow for any positive a.
    a / b + i64::from(a % b != 0)
}

fn round_up(a: i64, to: i64) -> i64 {
    ceil_div(a, to) * to
}

/// Cut `total` frames into chunks of whole `gop`-frame GOPs. `total` must be positive.
pub fn split(total: i64, config: &ChunkingConfig, gop: u32) -> Result<Chunking> {
    if total <= 0 {
        return Err(Error::new(
            Code::DistributedDurationOutOfRange,
            format!("totalFrames {total} must be positive to be chunked"),
        ));
    }
    let mut parallel = i64::from(config.max_parallel_chunks.max(1));
    if let (Some(target), None) = (config.target_chunk_frames, config.chunk_size) {
        parallel = parallel.min(ceil_div(total, i64::from(target.max(1))).max(1));
    }
    let g = i64::from(gop.max(1));
    let mut size = match config.chunk_size {
        Some(s) => i64::from(s.max(1)),
        None => ceil_div(total, parallel).max(10),
    };
    size = round_up(size, g);
    let count = parallel.min(ceil_div(total, size).max(1));
    size = round_up(size.max(ceil_div(total, count)), g);
    let count = ceil_div(total, size);
    let too_large = || Error::new(Code::DistributedDurationOutOfRange, format!("{total} frames give chunks too large"));
    let size32 = u32::try_from(size).map_err(|_| too_large())?;
    let count32 = u32::try_from(count).map_err(|_| too_large())?;
    let chunks = (0..count32)
        .map(|i| {
            let start = i64::from(i) * size;
            ChunkSpec { index: i, start_frame: start, end_frame: (start + size).min(total) }
        })
        .collect();
    let rounded_from = config.chunk_size.filter(|&s| i64::from(s) % g != 0);
    Ok(Chunking { size: size32, gop: gop.max(1), rounded_from, chunks })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(size: Option<u32>, max: u32, target: Option<u32>) -> ChunkingConfig {
        ChunkingConfig { chunk_size: size, gop_size: None, max_parallel_chunks: max, target_chunk_frames: target }
    }

    fn lens(c: &Chunking) -> Vec<i64> {
        c.chunks.iter().map(|c| c.frames()).collect()
    }

    #[test]
    fn contract_examples() {
        // With one-frame GOPs the rule is upstream's, and so are its examples.
        let c = split(660, &cfg(None, 16, None), 1).unwrap();
        assert_eq!((c.size, c.chunks.len()), (42, 16));
        let c = split(121, &cfg(Some(10), 12, None), 1).unwrap();
        assert_eq!((c.size, lens(&c)), (11, vec![11; 11]));
        let c = split(50, &cfg(None, 16, None), 1).unwrap();
        assert_eq!((c.size, lens(&c)), (10, vec![10; 5]));
        let c = split(216_000, &cfg(None, 64, Some(1600)), 1).unwrap();
        assert_eq!(c.chunks.len(), 64);
    }

    #[test]
    fn chunks_are_whole_gops() {
        // 660 frames at 30 fps, two-second GOPs: 42 rounds up to 60, so 11 chunks.
        let c = split(660, &cfg(None, 16, None), 60).unwrap();
        assert_eq!((c.size, c.chunks.len(), c.rounded_from), (60, 11, None));
        // An asked-for size is rounded up to whole GOPs, and says so.
        let c = split(300, &cfg(Some(100), 16, None), 60).unwrap();
        assert_eq!((c.size, lens(&c), c.rounded_from), (120, vec![120, 120, 60], Some(100)));
        // Shorter than one GOP: one chunk holding the one (short) GOP.
        let c = split(45, &cfg(None, 16, None), 60).unwrap();
        assert_eq!((c.size, lens(&c)), (60, vec![45]));
    }

    #[test]
    fn zero_frames_is_an_error() {
        assert!(split(0, &cfg(None, 16, None), 60).is_err());
    }

    /// Exhaustive over small totals, sizes, targets and caps, plus large totals: chunks are
    /// indexed in order, non-empty, contiguous, cover `[0, total)` and never exceed the cap.
    #[test]
    fn every_split_is_contiguous_non_empty_and_capped() {
        let sizes = [None, Some(1), Some(2), Some(7), Some(10), Some(33), Some(3600)];
        let targets = [None, Some(1), Some(5), Some(64), Some(1600), Some(3600)];
        let mut totals: Vec<i64> = (1..=400).collect();
        totals.extend([999, 1000, 1001, 86_399, 216_000, 2_592_000, 86_400 * 1000]);
        for &total in &totals {
            for size in sizes {
                for target in targets {
                    for max in [1u32, 2, 3, 7, 16, 64, 255, 256] {
                        for gop in [1u32, 7, 60] {
                            let c = split(total, &cfg(size, max, target), gop).unwrap();
                            check(total, max, &c);
                        }
                    }
                }
            }
        }
    }

    fn check(total: i64, max: u32, c: &Chunking) {
        assert!(!c.chunks.is_empty() && c.chunks.len() <= max as usize, "{total} cap {max}: {}", c.chunks.len());
        let mut next = 0;
        for (i, ch) in c.chunks.iter().enumerate() {
            assert_eq!(ch.index as usize, i);
            assert_eq!(ch.start_frame, next, "{total}: gap before chunk {i}");
            assert!(ch.end_frame > ch.start_frame, "{total}: empty chunk {i}");
            assert!(ch.frames() <= i64::from(c.size));
            assert_eq!(ch.start_frame % i64::from(c.gop), 0, "{total}: chunk {i} starts inside a GOP");
            next = ch.end_frame;
        }
        assert_eq!(next, total);
        assert_eq!(c.size % c.gop, 0);
    }
}
