//! Reading back what an output file says about itself: its streams' rates, time bases,
//! durations and packet counts, without decoding.

use std::path::Path;

use super::{ff, Context as _};
use crate::error::AvError;
use crate::time::Rational;

/// One stream as the container and its packets describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamInfo {
    /// libav codec name, e.g. `h264`, `aac`.
    pub codec: String,
    /// The stream's time base.
    pub time_base: Rational,
    /// Duration in time-base ticks as the container states it (edit lists applied); 0 if unknown.
    pub duration: i64,
    /// Packets read from the stream (for video without B-frames: frames).
    pub packets: i64,
    /// Frame rate libav guesses from the timestamps (`r_frame_rate`), video only.
    pub r_frame_rate: Rational,
    /// Average frame rate (`avg_frame_rate`: frames ÷ duration), video only.
    pub avg_frame_rate: Rational,
    /// Width and height in pixels, video only.
    pub size: (u32, u32),
    /// Samples per second, audio only.
    pub sample_rate: u32,
}

/// A media file's first video and first audio stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaInfo {
    /// The container format libav detected, e.g. `mov,mp4,m4a,3gp,3g2,mj2`.
    pub format: String,
    /// The first video stream.
    pub video: Option<StreamInfo>,
    /// The first audio stream.
    pub audio: Option<StreamInfo>,
}

fn rational(r: ff::Rational) -> Rational {
    Rational::new(i64::from(r.0), i64::from(r.1)).unwrap_or(Rational { num: 0, den: 1 })
}

fn stream_info(stream: &ff::format::stream::Stream<'_>) -> StreamInfo {
    let par = stream.parameters();
    // SAFETY: `par` borrows a live AVCodecParameters owned by the open input; we read three
    // plain integer fields.
    let (width, height, sample_rate) = unsafe {
        let p = &*par.as_ptr();
        (p.width, p.height, p.sample_rate)
    };
    let duration = stream.duration();
    StreamInfo {
        codec: par.id().name().to_string(),
        time_base: rational(stream.time_base()),
        duration: if duration == ff::ffi::AV_NOPTS_VALUE { 0 } else { duration.max(0) },
        packets: 0,
        r_frame_rate: rational(stream.rate()),
        avg_frame_rate: rational(stream.avg_frame_rate()),
        size: (width.max(0) as u32, height.max(0) as u32),
        sample_rate: sample_rate.max(0) as u32,
    }
}

/// Open `path`, describe its first video and audio streams and count their packets.
pub fn probe(path: &Path) -> Result<MediaInfo, AvError> {
    super::init();
    let shown = path.display();
    let mut input = ff::format::input(&path).ctx("avformat_open_input", &shown)?;
    let first = |kind: ff::media::Type| input.streams().find(|s| s.parameters().medium() == kind);
    let video = first(ff::media::Type::Video).map(|s| (s.index(), stream_info(&s)));
    let audio = first(ff::media::Type::Audio).map(|s| (s.index(), stream_info(&s)));
    let format = input.format().name().to_string();
    let (mut video, mut audio) = (video, audio);
    let mut packet = ff::Packet::empty();
    loop {
        match packet.read(&mut input) {
            Ok(()) => {
                for (index, info) in [&mut video, &mut audio].into_iter().flatten() {
                    if *index == packet.stream() {
                        info.packets += 1;
                    }
                }
            }
            Err(ff::Error::Eof) => break,
            Err(e) => return Err(super::wrap(e, "av_read_frame", &shown)),
        }
    }
    Ok(MediaInfo { format, video: video.map(|v| v.1), audio: audio.map(|a| a.1) })
}
