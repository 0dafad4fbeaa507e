//! What every assemble writer shares: the options it is given, the progress it reports and the
//! summary of its soundtrack. A leaf below `assemble`'s writers (`frames`, `gif`, `mux`) and
//! re-exported by `assemble`, so no writer imports `assemble`'s mod.rs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::Serialize;

use crate::audio::{EncodeSettings, EncodeSummary};
use crate::error::{Code, Error, Result};

/// Frames written so far, reported during long assembles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// Frames in the output so far.
    pub frames_done: i64,
    /// Frames the output will hold.
    pub total_frames: i64,
}

/// A callback receiving progress; called from the assembling thread.
pub type ProgressSink = Arc<dyn Fn(Progress) + Send + Sync>;

/// Knobs for [`assemble`](super::assemble); the defaults are what production uses.
#[derive(Clone, Default)]
pub struct AssembleOptions {
    /// How the soundtrack is encoded (bitrate, segmenting, encoder threads).
    pub audio: Option<EncodeSettings>,
    /// Receives progress while frames are copied.
    pub progress: Option<ProgressSink>,
    /// Set to `true` to stop; the assemble then fails with `CANCELLED` and leaves nothing.
    pub cancel: Option<Arc<AtomicBool>>,
}

/// What happened to the soundtrack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AudioSummary {
    /// Whether the output carries an audio track.
    pub present: bool,
    /// Samples in the output track (48 kHz), exactly the video's duration.
    pub samples: u64,
    /// Sample rate of the output track.
    pub sample_rate: u32,
    /// Samples the source held up to the cut (less than `samples` when it was padded).
    pub source_samples: u64,
    /// Segments the encoder split the soundtrack into.
    pub segments: usize,
}

/// The summary of an output without a soundtrack.
pub fn no_audio() -> AudioSummary {
    AudioSummary { present: false, samples: 0, sample_rate: 48_000, source_samples: 0, segments: 0 }
}

/// The summary of an encoded soundtrack.
pub fn summarize(s: EncodeSummary) -> AudioSummary {
    AudioSummary {
        present: true,
        samples: s.samples,
        sample_rate: 48_000,
        source_samples: s.source_samples,
        segments: s.segments,
    }
}

/// `CANCELLED` once the caller set the options' cancel flag.
pub fn cancelled(options: &AssembleOptions) -> Result<()> {
    match &options.cancel {
        Some(flag) if flag.load(Ordering::Relaxed) => Err(Error::new(Code::Cancelled, "assemble cancelled")),
        _ => Ok(()),
    }
}
