//! Writing AAC into MP4 files: the audio-only `audio.m4a` (plan's mix, the png-sequence
//! soundtrack) and the pieces the assembled MP4/MOV shares with it (moov reservation, header,
//! audio stream and packets). Beneath `plan` and `assemble`, so both reach it without climbing.

use std::path::Path;

use crate::audio::EncodedAudio;
use crate::av::ff;
use crate::av::mux::{Muxer, StreamSpec};
use crate::error::AvError;
use crate::error::{Code, Error, Result};
use crate::time::Rational;

/// Bytes to reserve for the moov of a file with these sample counts.
pub fn moov_reservation(video_samples: u64, audio_samples: u64, extradata: usize) -> u64 {
    const PER_SAMPLE: u64 = 28;
    const FIXED: u64 = 16 * 1024;
    (video_samples + audio_samples) * PER_SAMPLE + FIXED + 2 * extradata as u64
}

/// A libav failure while writing `out`.
pub fn media_error(e: crate::error::AvError, out: &Path) -> Error {
    Error::av(Code::MediaFailed, e).prefixed(&format!("writing {}", out.display()))
}

/// The audio half of the output: an encoder's packets in 1/48000, with its `parameters`.
pub fn audio_stream(parameters: ff::codec::Parameters) -> StreamSpec {
    StreamSpec { parameters, time_base: AUDIO_TB, frame_rate: None }
}

/// The audio encoders' time base (AAC and Opus).
pub const AUDIO_TB: Rational = Rational { num: 1, den: 48_000 };

/// Write the header: the moov reserved up front, and the movie timescale (the unit of edit
/// lists and the movie duration) set so every stream's ticks are counted exactly.
pub fn write_header(muxer: &mut Muxer, reserve: u64, movie_timescale: i64) -> Result<(), AvError> {
    muxer.write_header(&[("moov_size", reserve.to_string()), ("movie_timescale", movie_timescale.to_string())])
}

/// Write one audio packet from the encoder's 1/48000 into stream `index` of time base `tb`.
pub fn write_audio_packet(
    muxer: &mut Muxer,
    mut packet: ff::Packet,
    index: usize,
    tb: Rational,
) -> Result<(), AvError> {
    packet.rescale_ts(ff_tb(AUDIO_TB), ff_tb(tb));
    packet.set_stream(index);
    muxer.write(&packet)
}

/// A rational as libav's.
pub fn ff_tb(r: Rational) -> ff::Rational {
    ff::Rational(r.num as i32, r.den as i32)
}

/// Mux an audio-only MP4 (`audio.m4a`) from `audio`, index first.
pub fn write_m4a(staging: &Path, audio: &mut EncodedAudio) -> Result<()> {
    let fail = |e| media_error(e, staging);
    let mut muxer = Muxer::create(staging, "mp4").map_err(fail)?;
    muxer.add_stream(audio_stream(audio.parameters())).map_err(fail)?;
    let reserve = moov_reservation(0, audio.total_samples().div_ceil(1024) + 2, 64);
    write_header(&mut muxer, reserve, AUDIO_TB.den).map_err(fail)?;
    let tb = muxer.time_base(0);
    while let Some(packet) = audio.next_packet()? {
        write_audio_packet(&mut muxer, packet, 0, tb).map_err(fail)?;
    }
    muxer.finish().map_err(fail)
}
