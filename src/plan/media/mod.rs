//! The media half of the `plan` step: the mixed soundtrack and the pre-extracted video frames.
//!
//! Input is the composition's [`MediaClip`]s, already resolved onto the root timeline with exact
//! rational times. [`mix_audio`] writes `audio.m4a` (composition.md §7: every audible clip placed
//! at its start, trimmed by its media start and duration, scaled by its volume, looped if asked,
//! summed and limited so the sum never clips; [`mix_soundtrack`] adds HyperFrames' audio effects
//! chain, its automation, its group buses and its master bus, rendered by HyperFrames' own
//! runtime in the browser, and plays clips at their speed: `rate` lanes and
//! `data-playback-rate`, by libavfilter's `atempo` as HyperFrames plays them). [`extract_video`] writes
//! `video-frames/<id>/frame_%05d.jpg`, one JPEG per composition frame the clip shows.
//!
//! Both are deterministic (same inputs and libav version, and Chromium build for effects → same
//! bytes) and publish atomically:
//! nothing appears at the final path unless it is complete. Every sample and frame position is
//! computed from the rationals with integer maths. Errors name the clip id and its file:
//! `AUDIO_INVALID` for audio that cannot be decoded, `VIDEO_SOURCE_UNRENDERABLE` for video,
//! `MEDIA_FAILED` for encoding or muxing failures.
//!
//! [`MediaClip`]: crate::plan::model::MediaClip

mod audio_fx;
mod audio_mix;
mod clip;
mod speed;
mod video_frames;
mod voice;

pub use audio_mix::mix_soundtrack;
pub use clip::seconds_to_samples;
pub use video_frames::extract_video;
#[cfg(feature = "internals")]
pub use {
    audio_fx::{effect_tracks, effect_tracks_with, master_bus, master_bus_with, Streaming, Track},
    audio_mix::{mix_audio, LIMITER_CEILING, MIX_BLOCK},
    clip::SAMPLE_RATE,
    video_frames::Extraction,
};
