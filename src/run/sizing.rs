//! How many workers a machine runs: one browser process each, so one per core (two browsers on
//! two cores capture about 1.5× what one does; the encoder and decoder threads fill the gaps),
//! and no more than the available memory carries at [`MEMORY_PER_WORKER`] each.
//!
//! The worker count never changes the chunking (that is the plan's, contracts §3) nor the
//! browsers per chunk (one), so it never changes the output; it only decides how many chunks
//! render at once.

/// Memory one worker needs: a headless browser at 1080p, its decoder and x264.
pub const MEMORY_PER_WORKER: u64 = 768 << 20;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_is_always_at_least_one_worker() {
        assert!(auto_workers() >= 1);
    }
}
