//! What every assemble writer shares: the options it is given, the progress it reports and the
//! summary of its soundtrack. A leaf below `assemble`'s writers (`frames`, `gif`, `mux`) and
//! re-exported by `assemble`, so no writer imports `assemble`'s mod.rs.

use serde::Serialize;

use crate::audio::{EncodeSettings, EncodeSummary};
use crate::control::{Control, Event, Stage};
use crate::error::{Code, Error, Result};

/// Frames written so far, as the writers count them; sent to the caller as `Event::Frames`
/// (stage `Assemble`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Progress {
    /// Frames in the output so far.
    pub frames_done: i64,
    /// Frames the output will hold.
    pub total_frames: i64,
}

/// Knobs for [`assemble`](crate::assemble()); the defaults are what production uses.
#[derive(Debug, Clone, Default)]
pub struct AssembleOptions {
    /// How the soundtrack is encoded (bitrate, segmenting, encoder threads).
    pub audio: Option<EncodeSettings>,
    /// Cancelled to stop (the assemble then fails with `CANCELLED` and leaves nothing);
    /// receives `Event::Frames` (stage `Assemble`) while frames are copied, from the assembling
    /// thread.
    pub control: Control,
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

/// `CANCELLED` once the caller cancelled the options' control.
pub fn cancelled(options: &AssembleOptions) -> Result<()> {
    match options.control.is_cancelled() {
        true => Err(Error::new(Code::Cancelled, "assemble cancelled")),
        false => Ok(()),
    }
}

/// Send `p` to the caller as `Event::Frames`.
pub(crate) fn report(options: &AssembleOptions, p: Progress) {
    options.control.emit(Event::Frames { stage: Stage::Assemble, done: p.frames_done, total: p.total_frames });
}
