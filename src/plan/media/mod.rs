//! The media half of the `plan` step: the mixed soundtrack and the pre-extracted video frames.
//!
//! Input is the composition's [`MediaClip`]s, already resolved onto the root timeline with exact
//! rational times. [`mix_audio`] writes `audio.m4a` (composition.md §7: every audible clip placed
//! at its start, trimmed by its media start and duration, scaled by its volume, looped if asked,
//! summed and limited so the sum never clips; [`mix_soundtrack`] adds HyperFrames' audio effects
//! chain, its automation, its group buses and its master bus, rendered by HyperFrames' own
//! runtime in the browser). [`extract_video`] writes
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
mod video_frames;

pub use audio_fx::{effect_tracks, master_bus, Track};
pub use audio_mix::{mix_audio, mix_soundtrack, LIMITER_CEILING, MIX_BLOCK};
pub use video_frames::extract_video;

use crate::error::{Code, Error, Result};
use crate::plan::model::MediaClip;
use crate::time::Rational;

/// The soundtrack's sample rate, per channel.
pub const SAMPLE_RATE: i64 = crate::av::audio::SAMPLE_RATE as i64;

/// `round(seconds · 48000)`, halves away from zero, exactly on the rational.
pub fn seconds_to_samples(seconds: Rational) -> i64 {
    let n = seconds.num as i128 * SAMPLE_RATE as i128;
    let d = seconds.den as i128;
    let q = if n >= 0 { (2 * n + d) / (2 * d) } else { -((-2 * n + d) / (2 * d)) };
    q.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// A clip's id becomes a directory name: it must be one plain path component.
fn check_id(clip: &MediaClip) -> Result<()> {
    let id = clip.id.as_str();
    let plain = !id.is_empty() && id != "." && id != ".." && !id.contains(['/', '\\', '\0']) && id.len() <= 200;
    if plain {
        return Ok(());
    }
    Err(Error::new(
        Code::CompositionInvalid,
        format!(
            "media clip id {:?} ({}) cannot name a directory: use letters, digits, '-' or '_'",
            clip.id, clip.src_rel
        ),
    ))
}

/// `start + duration`, or an error naming the clip when the sum does not fit.
fn slot_end(clip: &MediaClip, duration: Rational) -> Result<Rational> {
    clip.start.checked_add(duration).ok_or_else(|| {
        Error::new(Code::CompositionInvalid, format!("media clip \"{}\": start + duration overflows", clip.id))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_round_half_away_from_zero() {
        assert_eq!(seconds_to_samples(Rational::new(1, 3).unwrap()), 16_000);
        assert_eq!(seconds_to_samples(Rational::new(1, 96_000).unwrap()), 1);
        assert_eq!(seconds_to_samples(Rational::new(1, 96_001).unwrap()), 0);
        assert_eq!(seconds_to_samples(Rational::new(-1, 96_000).unwrap()), -1);
        assert_eq!(seconds_to_samples(Rational::new(1001, 30_000).unwrap()), 1602);
    }
}
