//! A clip played at another speed: its `rate` automation lane (a speed ramp) or its constant
//! `data-playback-rate`, as HyperFrames 0.8.170's audio pass prepares the clip
//! (`extractAudioSegment` with `preparedAudioOutputArgs`), before any effect, volume lane or
//! group sees it. The clock is [`crate::plan::fx::rate`]'s.
//!
//! - **Length on the timeline.** `end − start` in float as HyperFrames reads the compiled
//!   `data-end` (`start + duration`); a clip without a duration plays
//!   `timeAtSourceTime(source length − media start)` (the source length as ffprobe states it, to
//!   the microsecond), or the whole source length where that is not positive.
//! - **Source.** `sourceTimeAt(length)` seconds of the source from the media start, read as
//!   ffmpeg's `-ss <start> -t <seconds>` keeps them ([`ffmpeg_duration_samples`]); a looped clip
//!   loops within them.
//! - **Graph.** The ramp's `-filter_complex` ([`ramp_graph`](crate::plan::fx::rate::ramp_graph):
//!   slices played by `atempo` at their mean speed, padded and cut to their timeline length,
//!   concatenated), or the constant speed's `atempo` stages, run by libavfilter over the 16-bit
//!   samples ([`filter_audio`]) in frames of the size the CLI reads the source in, from the media
//!   start (`atempo`'s output depends on where frames start); then cut to the length
//!   (`-t <length>`).
//!
//! HyperFrames runs the graph on a mono source before its `pan` upmix; here the source is
//! already both sides of the same signal, which `atempo` treats as one channel (its alignment
//! follows the louder side, the same samples), so the sides come out as the mono graph's.
//! Not matched: a source whose audio starts later than its container (HyperFrames trims by
//! timestamp in the graph then), one not at 48 kHz (ffmpeg cuts `-ss`/`-t` at the source's rate
//! before resampling, here at 48 kHz after, and the resampler's frames are its own) and the frame
//! grid of a compressed source (its frames start at the codec's grid there, at the media start
//! here): a ramp over them differs by a few 16-bit steps in short stretches.

use super::clip::seconds_to_samples;
use super::voice::source_samples;
use crate::av::audio::{AudioReader, Pcm};
use crate::av::audio_filter::filter_audio;
use crate::error::{Code, Error, Result};
use crate::plan::fx::automation::to_fixed6;
use crate::plan::fx::rate::{ffmpeg_duration_samples, Speed};
use crate::plan::model::MediaClip;

const RATE: f64 = super::clip::SAMPLE_RATE as f64;

/// The speed `clip` plays at, or `None` at normal speed.
pub(super) fn speed_of(clip: &MediaClip) -> Option<Speed> {
    Speed::of(clip.fx.automation.as_ref(), clip.playback_rate)
}

/// The samples of `clip` played at `speed`, at gain 1: its first timeline sample and the samples
/// of its whole length (the mix cuts what passes the composition's end), or `None` when it
/// starts at or after sample `samples`.
pub(super) fn speed_samples(clip: &MediaClip, speed: &Speed, samples: u64) -> Result<Option<(u64, Pcm)>> {
    let at = seconds_to_samples(clip.start).max(0) as u64;
    if at >= samples {
        return Ok(None);
    }
    let (length, whole) = match clip.duration {
        Some(d) => {
            let start = clip.start.to_f64();
            ((start + d.to_f64()) - start, None)
        }
        None => natural_length(clip, speed)?,
    };
    let n = ffmpeg_duration_samples(speed.source_time_at(length));
    let mut source = match whole {
        Some(source) => source,
        None => source_samples(clip, Some(n))?,
    };
    source.left.truncate(n as usize);
    source.right.truncate(n as usize);
    let what = format!("audio clip \"{}\" ({}) at its playback rate", clip.id, clip.src_rel);
    let reader = AudioReader::open(&clip.src).map_err(|e| Error::av(Code::AudioInvalid, e).prefixed(&what))?;
    let graph = speed.graph(length);
    let out = filter_audio(&source, &graph, reader.cli_frame_samples(), &what);
    let mut out = out.map_err(|e| Error::av(Code::MediaFailed, e))?;
    let keep = ffmpeg_duration_samples(length) as usize;
    out.left.truncate(keep);
    out.right.truncate(keep);
    Ok(Some((at, out)))
}

/// The timeline length of a clip without a duration (`processCompositionAudio`), and its source
/// from the media start to the end, read to measure it.
fn natural_length(clip: &MediaClip, speed: &Speed) -> Result<(f64, Option<Pcm>)> {
    let rest = source_samples(clip, None)?;
    let skipped = seconds_to_samples(clip.media_start).max(0) as u64;
    let source_seconds = to_fixed6((skipped + rest.len() as u64) as f64 / RATE);
    let length = speed.time_at_source_time(source_seconds - clip.media_start.to_f64());
    Ok((if length > 0.0 { length } else { source_seconds }, Some(rest)))
}
