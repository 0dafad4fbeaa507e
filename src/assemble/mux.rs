//! Writing the assembled MP4 / MOV in one pass with its index (moov) first, or the assembled
//! WebM with its index (Cues) first.
//!
//! libavformat's MOV/MP4 muxer can reserve space for the moov at the start of the file
//! (`moov_size`) and write the index there when it finishes, so the media data is written exactly
//! once and no second "faststart" pass copies the file again. The reservation is sized from the
//! sample counts, which are known before the first packet: at most 28 bytes per sample (sample
//! size 4, chunk offset 8, sample-to-chunk 12, sync sample 4) plus a fixed allowance for the
//! boxes whose size does not grow with the length. The unused rest becomes a `free` box.
//!
//! The movie timescale (the unit of edit lists and the movie duration) is set to a common
//! multiple of the video and audio timescales, so the audio edit list that hides the AAC priming
//! and the durations are exact rather than rounded to the muxer's default millisecond.
//!
//! The Matroska muxer does the same for WebM with `reserve_index_space`: the Cues (one cue point
//! per video keyframe, that is per GOP) are written into space reserved after the header, sized
//! from the keyframe count (see `cues_reservation`); the unused rest becomes a Void element.
//! WebM's time base is the millisecond; every frame is stamped from its index (`time.rs`).

use std::path::Path;

use crate::audio::Soundtrack;
use crate::av::ff;
use crate::av::mux::{Muxer, StreamSpec};
use crate::error::Result;
use crate::plan::format::Container;
use crate::time::{lcm, Fps, Rational};

use crate::audio::m4a::{audio_stream, media_error, moov_reservation, write_audio_packet, write_header, AUDIO_TB};

use super::concat::VideoSource;
use super::model::{cancelled, report, AssembleOptions, Progress};

/// Whether timestamp `a` (in `atb`) comes no later than `b` (in `btb`), exactly.
fn not_later(a: i64, atb: Rational, b: i64, btb: Rational) -> bool {
    a as i128 * atb.num as i128 * btb.den as i128 <= b as i128 * btb.num as i128 * atb.den as i128
}

/// Mux the chunks' video (and `audio`, if any) into `staging` as `container`, interleaved by
/// time, and finish the file; returns the video frames written (counted). Progress goes to, and
/// cancellation comes from, `options`' control.
pub fn write(
    staging: &Path,
    container: Container,
    video: VideoInput<'_>,
    mut audio: Option<&mut Soundtrack>,
    options: &AssembleOptions,
) -> Result<i64> {
    let fail = |e| media_error(e, staging);
    let name = container
        .muxer()
        .ok_or_else(|| crate::error::Error::new(crate::error::Code::InvalidConfig, "a frame directory is not muxed"))?;
    let mut muxer = Muxer::create(staging, name).map_err(fail)?;
    let extradata = crate::av::demux::extradata_len(&video.parameters);
    let fps = video.fps;
    let total = video.total_frames;
    let vts = fps.video_time_base();
    let spec = StreamSpec { parameters: video.parameters, time_base: vts, frame_rate: Some(fps.rate()) };
    let index = muxer.add_stream(spec).map_err(fail)?;
    if let Some(a) = &audio {
        muxer.add_stream(audio_stream(a.parameters())).map_err(fail)?;
    }
    let facts = HeaderFacts { total_frames: total, gop: video.gop, alpha: video.alpha, extradata, video_tb: vts };
    write_container_header(&mut muxer, container, index, &facts, audio.as_deref()).map_err(fail)?;
    let vtb = muxer.time_base(0);
    let atb = muxer.time_base(1);
    let mut source = VideoSource::new(video.chunks, fps, vtb);
    let mut next_video = source.next_packet()?;
    let shift = audio.as_ref().map_or(0, |a| a.timestamp_shift());
    let mut next_audio = match audio.as_mut() {
        Some(a) => shifted(a.next_packet()?, shift),
        None => None,
    };
    loop {
        let take_audio = match (&next_video, &next_audio) {
            (None, None) => break,
            (Some(_), None) => false,
            (None, Some(_)) => true,
            (Some(v), Some(a)) => not_later(a.dts().unwrap_or(0), AUDIO_TB, v.dts().unwrap_or(0), vtb),
        };
        if take_audio {
            if let (Some(packet), Some(a)) = (next_audio.take(), audio.as_mut()) {
                write_audio_packet(&mut muxer, packet, 1, atb).map_err(fail)?;
                next_audio = shifted(a.next_packet()?, shift);
            }
        } else if let Some(packet) = next_video.take() {
            muxer.write(&packet).map_err(fail)?;
            let done = source.frames();
            if done % 32 == 0 || done == total {
                report(options, Progress { frames_done: done, total_frames: total });
                cancelled(options)?;
            }
            next_video = source.next_packet()?;
        }
    }
    muxer.finish().map_err(fail)?;
    Ok(source.frames())
}

/// `packet` with `shift` added to its timestamps (in 1/48000).
fn shifted(packet: Option<ff::Packet>, shift: i64) -> Option<ff::Packet> {
    packet.map(|mut p| {
        if shift != 0 {
            p.set_pts(p.pts().map(|t| t + shift));
            p.set_dts(p.dts().map(|t| t + shift));
        }
        p
    })
}

/// The chunks to concatenate and what the output track must look like.
pub struct VideoInput<'a> {
    /// The chunks, in index order, as they become local.
    pub chunks: super::arrivals::Arrivals<'a>,
    /// Codec parameters for the output track (chunk 0's).
    pub parameters: ff::codec::Parameters,
    /// The plan's frame rate.
    pub fps: Fps,
    /// The plan's frame count.
    pub total_frames: i64,
    /// The plan's GOP length (every GOP starts with a keyframe).
    pub gop: u32,
    /// Whether the video carries alpha as side data (WebM's `alpha_mode`).
    pub alpha: bool,
}

/// What the header's index reservation and tags are sized from.
struct HeaderFacts {
    total_frames: i64,
    gop: u32,
    alpha: bool,
    extradata: usize,
    video_tb: Rational,
}

/// Write the header: WebM with its Cues reserved at the front (and `alpha_mode` on the video
/// stream `index` when it has alpha); MP4/MOV with the moov reserved and the exact movie
/// timescale.
fn write_container_header(
    muxer: &mut Muxer,
    container: Container,
    index: usize,
    facts: &HeaderFacts,
    audio: Option<&Soundtrack>,
) -> std::result::Result<(), crate::error::AvError> {
    match container {
        Container::Webm => {
            if facts.alpha {
                muxer.set_stream_metadata(index, "alpha_mode", "1")?;
            }
            let cues = cues_reservation(facts.total_frames, facts.gop);
            muxer.write_header(&[("reserve_index_space", cues.to_string())])
        }
        // A frame directory and a GIF are not written here (assemble::frames, assemble::gif).
        Container::Mp4 | Container::Mov | Container::FrameDir | Container::Gif => {
            let audio_samples = audio.map_or(0, |a| a.total_samples().div_ceil(1024) + 2);
            let reserve = moov_reservation(facts.total_frames as u64, audio_samples, facts.extradata);
            let tb = facts.video_tb.den;
            let movie = if audio.is_some() { lcm(tb, AUDIO_TB.den) } else { tb };
            write_header(muxer, reserve, movie)
        }
    }
}

/// Bytes to reserve for a WebM's Cues: one cue point per keyframe (every GOP start), each at
/// most 36 bytes (CuePoint, CueTime, CueTrackPositions with track, cluster position and relative
/// position, each with an 8-byte value and its ID and size; 48 counted), plus the Cues
/// element's own header and a margin.
fn cues_reservation(total_frames: i64, gop: u32) -> u64 {
    const PER_CUE: u64 = 48;
    const FIXED: u64 = 1024;
    let keyframes = (total_frames.max(0) as u64).div_ceil(u64::from(gop.max(1)));
    keyframes * PER_CUE + FIXED
}
