//! Progress of a whole render as typed events, monotonic and throttled.
//!
//! The library reports, the caller draws: [`render`](super::render) sends [`Event`]s to the
//! caller's [`EventSink`] (a terminal bar, NDJSON lines, a log). Guarantees: `progress` never
//! decreases and stays in 0–1; `framesRendered` never decreases; the stage only moves forward
//! (plan → render → assemble); at most about ten progress events a second are sent, but every
//! stage's first and last event is always sent. Notices (a retried or duplicated chunk) are sent
//! as they happen.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::control::Control;

pub use crate::control::{Event, ProgressEvent, Stage};
#[cfg(feature = "internals")]
pub use crate::control::EventSink;

/// The share of the overall 0–1 progress `stage` starts at and ends at. Rendering is nearly all
/// of a render's time; plan and assemble take the small ends.
fn span(stage: Stage) -> (f64, f64) {
    match stage {
        Stage::Plan => (0.0, 0.02),
        Stage::Render => (0.02, 0.95),
        Stage::Assemble => (0.95, 1.0),
    }
}

/// Least time between two progress events of the same stage.
const THROTTLE: Duration = Duration::from_millis(100);

struct Last {
    stage: Stage,
    progress: f64,
    frames: i64,
    sent: Option<Instant>,
}

/// Turns stage-local figures into monotonic, throttled overall progress events.
pub(crate) struct Reporter {
    control: Control,
    total_frames: AtomicI64,
    last: Mutex<Last>,
}

impl Reporter {
    /// Events go to `control`'s sink.
    pub(crate) fn new(control: Control) -> Reporter {
        Reporter {
            control,
            total_frames: AtomicI64::new(0),
            last: Mutex::new(Last { stage: Stage::Plan, progress: 0.0, frames: 0, sent: None }),
        }
    }

    pub(crate) fn set_total(&self, total: i64) {
        self.total_frames.store(total.max(0), Ordering::Relaxed);
    }

    pub(crate) fn notice(&self, message: String) {
        self.control.emit(Event::Notice(message));
    }

    /// Report `fraction` (0–1) of `stage` done with `frames` rendered; `force` sends it even
    /// inside the throttle window (a stage's first and last report).
    pub(crate) fn report(&self, stage: Stage, frames: i64, fraction: f64, force: bool) {
        if !self.control.has_events() {
            return;
        }
        let (from, to) = span(stage);
        let fraction = if fraction.is_finite() { fraction.clamp(0.0, 1.0) } else { 0.0 };
        // The lock is held while the sink runs: that keeps events ordered across the worker
        // threads, which is what makes them monotonic on the wire (the sink is documented as quick).
        let mut last = match self.last.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let stage = stage.max(last.stage);
        let progress = (from + (to - from) * fraction).max(last.progress);
        let frames = frames.max(last.frames);
        let now = Instant::now();
        let due = force || stage != last.stage || last.sent.is_none_or(|t| now.duration_since(t) >= THROTTLE);
        *last = Last { stage, progress, frames, sent: if due { Some(now) } else { last.sent } };
        if due {
            let total_frames = self.total_frames.load(Ordering::Relaxed);
            self.control.emit(Event::Progress(ProgressEvent {
                stage,
                frames_rendered: frames,
                total_frames,
                progress,
            }));
        }
    }
}

/// Frames done per chunk, summed: each chunk counts the furthest any of its copies got, so the
/// sum never decreases when a chunk is retried or run twice.
pub(crate) struct FrameCounter {
    per_chunk: Vec<AtomicI64>,
    total: AtomicI64,
}

impl FrameCounter {
    pub(crate) fn new(chunks: usize) -> FrameCounter {
        FrameCounter { per_chunk: (0..chunks).map(|_| AtomicI64::new(0)).collect(), total: AtomicI64::new(0) }
    }

    /// Chunk `index` has `frames` frames encoded; returns the new total.
    pub(crate) fn update(&self, index: usize, frames: i64) -> i64 {
        let Some(slot) = self.per_chunk.get(index) else { return self.total.load(Ordering::Relaxed) };
        let before = slot.fetch_max(frames, Ordering::Relaxed);
        if frames > before {
            self.total.fetch_add(frames - before, Ordering::Relaxed) + (frames - before)
        } else {
            self.total.load(Ordering::Relaxed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn collect() -> (EventSink, Arc<Mutex<Vec<ProgressEvent>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let into = Arc::clone(&seen);
        let sink: EventSink = Arc::new(move |e: &Event| {
            if let Event::Progress(p) = e {
                into.lock().unwrap().push(*p);
            }
        });
        (sink, seen)
    }

    #[test]
    fn progress_never_goes_back_and_stages_only_advance() {
        let (sink, seen) = collect();
        let r = Reporter::new(Control::with_events(sink));
        r.set_total(100);
        r.report(Stage::Plan, 0, 0.0, true);
        r.report(Stage::Render, 50, 0.5, true);
        r.report(Stage::Render, 40, 0.4, true);
        r.report(Stage::Plan, 0, 1.0, true);
        r.report(Stage::Assemble, 100, 1.0, true);
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 5);
        for pair in seen.windows(2) {
            assert!(pair[1].progress >= pair[0].progress);
            assert!(pair[1].frames_rendered >= pair[0].frames_rendered);
            assert!(pair[1].stage >= pair[0].stage);
        }
        assert_eq!(seen.last().unwrap().progress, 1.0);
    }

    #[test]
    fn unforced_reports_are_throttled() {
        let (sink, seen) = collect();
        let r = Reporter::new(Control::with_events(sink));
        for i in 0..1000 {
            r.report(Stage::Render, i, i as f64 / 1000.0, false);
        }
        assert!(seen.lock().unwrap().len() < 5);
    }

    #[test]
    fn a_chunk_counts_its_furthest_copy() {
        let c = FrameCounter::new(2);
        assert_eq!(c.update(0, 5), 5);
        assert_eq!(c.update(0, 3), 5);
        assert_eq!(c.update(1, 4), 9);
        assert_eq!(c.update(0, 10), 14);
        assert_eq!(c.update(7, 10), 14);
    }
}
