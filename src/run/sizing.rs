//! How many workers a machine runs and how finely a render is chunked for them.
//!
//! Workers: one browser process each, so one per core (two browsers on two cores capture about
//! 1.5× what one does; the encoder and decoder threads fill the gaps), and no more than the
//! available memory carries at [`MEMORY_PER_WORKER`] each.
//!
//! Chunks: every worker must stay busy to the end, so there are more chunks than workers (up to
//! [`CHUNKS_PER_WORKER`] each, a multiple of the worker count so that equal chunks end together;
//! a chunk that still lags is started again by the pool),
//! but each chunk pays a fixed start-up (browser launch, page ready, first frame: about
//! [`STARTUP`]), so no chunk is cut shorter than [`STARTUP_SHARE`]⁻¹ start-ups' worth of
//! capture, nor longer than the contract's 3600 frames. The capture speed is estimated from the frame size (it scales with pixels).

use std::time::Duration;

use crate::plan::config::MAX_CHUNK_FRAMES;

/// Memory one worker needs: a headless browser at 1080p, its decoder and x264.
pub const MEMORY_PER_WORKER: u64 = 768 << 20;

/// Chunks per worker when the render is long enough. Two, not more: each further chunk costs
/// a browser boot (0.26–0.34 s measured) while straggler copies already cover an uneven tail;
/// on the 10 s 1080p bench 2, 4 and 6 chunks on two workers took 18.6, 18.8 and 19.7 s.
pub const CHUNKS_PER_WORKER: i64 = 2;

/// Time from a chunk's start to its first captured frame (`sessionBootMs` in the sidecars of
/// `benches/render_local.rs`, 0.26–0.34 s on a loaded two-core machine).
pub const STARTUP: Duration = Duration::from_millis(300);

/// Largest share of a chunk's time its start-up may take.
pub const STARTUP_SHARE: f64 = 0.1;

/// Frames per second one worker captures at 1920×1080 while others run beside it.
const FPS_AT_1080P: f64 = 16.0;

/// The smallest chunk the contract's chunking produces on its own.
const MIN_CHUNK: i64 = 10;

/// The default worker count: one per core, bounded by memory, at least one.
pub fn auto_workers() -> usize {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let by_memory = available_memory().map_or(usize::MAX, |bytes| (bytes / MEMORY_PER_WORKER) as usize);
    cores.min(by_memory).max(1)
}

/// `MemAvailable` from `/proc/meminfo`, in bytes; `None` where it cannot be read.
fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// The chunk size for `total` frames of `width`×`height` on `workers` workers.
pub fn chunk_size(total: i64, width: u32, height: u32, workers: usize) -> i64 {
    let total = total.max(1);
    let workers = i64::try_from(workers.max(1)).unwrap_or(1);
    let pixels = (f64::from(width) * f64::from(height)).max(1.0);
    let fps = (FPS_AT_1080P * 1920.0 * 1080.0 / pixels).clamp(1.0, 240.0);
    let min_frames = ((STARTUP.as_secs_f64() * fps / STARTUP_SHARE).ceil() as i64).max(MIN_CHUNK);
    let per_worker = (total / min_frames).clamp(workers, workers * CHUNKS_PER_WORKER) / workers;
    let count = (workers * per_worker.max(1)).min(ceil_div(total, MIN_CHUNK)).max(1);
    ceil_div(total, count).min(MAX_CHUNK_FRAMES)
}

fn ceil_div(a: i64, b: i64) -> i64 {
    a / b + i64::from(a % b != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(total: i64, w: u32, h: u32, workers: usize) -> i64 {
        ceil_div(total, chunk_size(total, w, h, workers))
    }

    #[test]
    fn ten_seconds_of_1080p_give_two_chunks_per_worker() {
        assert_eq!(count(300, 1920, 1080, 2), 4);
        assert_eq!(chunk_size(300, 1920, 1080, 2), 75);
        assert_eq!(count(300, 1920, 1080, 1), 2);
    }

    #[test]
    fn a_minute_of_1080p_on_four_workers_gives_eight_chunks() {
        assert_eq!(count(1800, 1920, 1080, 4), 8);
    }

    #[test]
    fn short_renders_still_use_every_worker_but_keep_chunks_of_ten() {
        assert_eq!(count(60, 1920, 1080, 2), 2);
        assert_eq!(count(25, 1920, 1080, 4), 3);
        assert_eq!(count(1, 1920, 1080, 4), 1);
    }

    #[test]
    fn small_frames_capture_faster_so_chunks_are_longer() {
        assert!(chunk_size(900, 320, 240, 2) > chunk_size(900, 1920, 1080, 2));
        assert_eq!(count(900, 320, 240, 2), 2);
    }

    #[test]
    fn every_total_is_covered() {
        for total in 1..2000 {
            for workers in 1..6 {
                let size = chunk_size(total, 1280, 720, workers);
                assert!(size >= 1 && size <= total.max(MIN_CHUNK));
                assert!(ceil_div(total, size) <= 256);
            }
        }
    }

    #[test]
    fn long_renders_keep_chunks_within_the_contract() {
        assert_eq!(chunk_size(216_000, 1920, 1080, 2), MAX_CHUNK_FRAMES);
    }

    #[test]
    fn there_is_always_at_least_one_worker() {
        assert!(auto_workers() >= 1);
    }
}
