//! The soundtrack: decode, fit to the exact sample count, encode AAC-LC once, streaming.
//!
//! `fit` pads or trims the decoded source to `round(totalFrames·fpsDen/fpsNum·48000)` samples;
//! `encode` turns that into AAC packets on parallel, seamlessly spliced segments. Nothing is
//! written to temporary files and memory does not grow with the soundtrack's length.

pub mod encode;
pub mod fit;
pub mod m4a;

use std::path::Path;

pub use encode::{EncodeSettings, EncodeSummary, EncodedAudio};

use crate::av::audio::SAMPLE_RATE;
use crate::error::Result;
use crate::time::Fps;

/// The exact number of 48 kHz samples that span `frames` frames at `fps`.
pub fn samples_for(fps: Fps, frames: i64) -> u64 {
    fps.samples_for_frames(frames, i64::from(SAMPLE_RATE)).max(0) as u64
}

/// Start decoding `source` and encoding it, fitted to `samples` samples, in the background.
pub fn start(source: &Path, samples: u64, settings: EncodeSettings) -> Result<EncodedAudio> {
    let reader = fit::open(source)?;
    encode::start(fit::Fitted::new(reader, samples), samples, settings)
}
