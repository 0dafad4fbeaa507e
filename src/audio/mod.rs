//! The soundtrack: decode, fit to the exact sample count, encode once (AAC-LC, or Opus for
//! WebM), streaming.
//!
//! `fit` pads or trims the decoded source to `round(totalFrames·fpsDen/fpsNum·48000)` samples;
//! `encode` turns that into AAC packets on parallel, seamlessly spliced segments; `opus` into
//! Opus packets in one continuous encode. Nothing is written to temporary files and memory does
//! not grow with the soundtrack's length.

pub mod encode;
pub mod fit;
pub mod m4a;
pub mod opus;

use std::path::Path;

pub use encode::{EncodeSettings, EncodeSummary, EncodedAudio};
pub use opus::OpusAudio;

use crate::av::audio::SAMPLE_RATE;
use crate::error::Result;
use crate::time::Fps;

/// The soundtrack's codec in the output (and in the plan's `audio.m4a`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AudioCodec {
    /// AAC-LC, 192 kb/s, 48 kHz stereo.
    Aac,
    /// Opus (libopus), 128 kb/s, 48 kHz stereo, as HyperFrames muxes WebM.
    Opus,
}

/// The exact number of 48 kHz samples that span `frames` frames at `fps`.
pub fn samples_for(fps: Fps, frames: i64) -> u64 {
    fps.samples_for_frames(frames, i64::from(SAMPLE_RATE)).max(0) as u64
}

/// Start decoding `source` and encoding it, fitted to `samples` samples, in the background.
pub fn start(source: &Path, samples: u64, settings: EncodeSettings) -> Result<EncodedAudio> {
    let reader = fit::open(source)?;
    encode::start(fit::Fitted::new(reader, samples), samples, settings)
}

/// An output's soundtrack being encoded in the background, in its format's codec.
pub enum Soundtrack {
    /// AAC-LC (MP4, MOV).
    Aac(EncodedAudio),
    /// Opus (WebM).
    Opus(OpusAudio),
}

/// Start decoding `source`, fitted to `samples` samples, and encoding it as `codec`.
pub fn start_as(codec: AudioCodec, source: &Path, samples: u64, settings: EncodeSettings) -> Result<Soundtrack> {
    let fitted = fit::Fitted::new(fit::open(source)?, samples);
    match codec {
        AudioCodec::Aac => encode::start(fitted, samples, settings).map(Soundtrack::Aac),
        AudioCodec::Opus => opus::start(fitted, samples, opus::OPUS_BITRATE).map(Soundtrack::Opus),
    }
}

impl Soundtrack {
    /// Codec parameters of the encoded stream.
    pub fn parameters(&self) -> crate::av::ff::codec::Parameters {
        match self {
            Soundtrack::Aac(a) => a.parameters(),
            Soundtrack::Opus(o) => o.parameters(),
        }
    }

    /// Samples to add to every packet's timestamp before muxing. Opus in WebM: the Matroska
    /// muxer records the pre-skip as `CodecDelay` and players subtract it from block times, so
    /// blocks are stored from 0; handing it packets from −pre-skip instead makes libavformat
    /// 5.1 shift every stream (the video too) later by the pre-skip to avoid negative times.
    /// AAC: none (MP4 records the priming as an edit list over its negative times).
    pub fn timestamp_shift(&self) -> i64 {
        match self {
            Soundtrack::Aac(_) => 0,
            Soundtrack::Opus(o) => o.pre_skip(),
        }
    }

    /// Samples in the fitted soundtrack.
    pub fn total_samples(&self) -> u64 {
        match self {
            Soundtrack::Aac(a) => a.total_samples(),
            Soundtrack::Opus(o) => o.total_samples(),
        }
    }

    /// The next packet in timeline order, stamped in 1/48000 (the encoder delay at negative
    /// time); `None` at the end.
    pub fn next_packet(&mut self) -> Result<Option<crate::av::ff::Packet>> {
        match self {
            Soundtrack::Aac(a) => a.next_packet(),
            Soundtrack::Opus(o) => o.next_packet(),
        }
    }

    /// Wait for the background threads and report what was encoded.
    pub fn finish(self) -> Result<EncodeSummary> {
        match self {
            Soundtrack::Aac(a) => a.finish(),
            Soundtrack::Opus(o) => o.finish(),
        }
    }
}
