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
    /// From the earliest packet's start to the latest packet's end, in time-base ticks (what a
    /// container without a stated stream duration, such as WebM, spans); 0 without packets.
    pub span: i64,
    /// Whether the stream is tagged `alpha_mode=1` (WebM's AlphaMode: VP8/VP9 alpha in each
    /// block's BlockAdditional).
    pub alpha_mode: bool,
    /// Packets carrying Matroska BlockAdditional side data (the alpha plane of VP8/VP9).
    pub alpha_packets: i64,
    /// The colour tags the container or codec states, video only.
    pub color: ColorTags,
}

/// A video stream's colour tags as libav names them (`bt709`, `tv`, …; `unknown` when the file
/// does not say).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ColorTags {
    /// Matrix coefficients (`colorspace`).
    pub matrix: String,
    /// Sample range: `tv` (limited) or `pc` (full).
    pub range: String,
    /// Colour primaries.
    pub primaries: String,
    /// Transfer characteristics.
    pub transfer: String,
}

/// libav's name for a colour enum value; `unknown` where it has none.
fn color_name(name: *const std::os::raw::c_char) -> String {
    if name.is_null() {
        return "unknown".to_string();
    }
    // SAFETY: libav's av_color_*_name return pointers to static NUL-terminated strings.
    unsafe { std::ffi::CStr::from_ptr(name) }.to_string_lossy().into_owned()
}

fn color_tags(p: &ff::ffi::AVCodecParameters) -> ColorTags {
    // SAFETY: the av_color_*_name functions only index static tables (NULL when out of range).
    unsafe {
        ColorTags {
            matrix: color_name(ff::ffi::av_color_space_name(p.color_space)),
            range: color_name(ff::ffi::av_color_range_name(p.color_range)),
            primaries: color_name(ff::ffi::av_color_primaries_name(p.color_primaries)),
            transfer: color_name(ff::ffi::av_color_transfer_name(p.color_trc)),
        }
    }
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
    // SAFETY: `par` borrows a live AVCodecParameters owned by the open input; we read plain
    // integer fields.
    let (width, height, sample_rate, color) = unsafe {
        let p = &*par.as_ptr();
        let color =
            if p.codec_type == ff::ffi::AVMediaType::AVMEDIA_TYPE_VIDEO { color_tags(p) } else { ColorTags::default() };
        (p.width, p.height, p.sample_rate, color)
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
        span: 0,
        alpha_mode: stream.metadata().iter().any(|(k, v)| k.eq_ignore_ascii_case("alpha_mode") && v == "1"),
        alpha_packets: 0,
        color,
    }
}

/// Packet extents of one stream while counting: first start and last end, in its time base.
#[derive(Default)]
struct Extent {
    first: Option<i64>,
    end: Option<i64>,
}

impl Extent {
    fn add(&mut self, packet: &ff::Packet) {
        let Some(start) = packet.pts().or(packet.dts()) else {
            return;
        };
        let end = start.saturating_add(packet.duration().max(0));
        self.first = Some(self.first.map_or(start, |f| f.min(start)));
        self.end = Some(self.end.map_or(end, |e| e.max(end)));
    }

    fn span(&self) -> i64 {
        match (self.first, self.end) {
            (Some(f), Some(e)) => e.saturating_sub(f).max(0),
            _ => 0,
        }
    }
}

/// Whether `packet` carries Matroska BlockAdditional side data.
fn has_block_additional(packet: &ff::Packet) -> bool {
    packet.side_data().any(|d| d.kind() == ff::packet::side_data::Type::MatroskaBlockAdditional)
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
    let mut extents = [Extent::default(), Extent::default()];
    loop {
        match packet.read(&mut input) {
            Ok(()) => {
                for ((index, info), extent) in [&mut video, &mut audio]
                    .into_iter()
                    .zip(&mut extents)
                    .filter_map(|(s, e)| s.as_mut().map(|s| (s, e)))
                {
                    if *index == packet.stream() {
                        info.packets += 1;
                        extent.add(&packet);
                        info.alpha_packets += i64::from(has_block_additional(&packet));
                    }
                }
            }
            Err(ff::Error::Eof) => break,
            Err(e) => return Err(super::wrap(e, "av_read_frame", &shown)),
        }
    }
    let [video_extent, audio_extent] = extents;
    let finish = |s: Option<(usize, StreamInfo)>, e: Extent| s.map(|(_, info)| StreamInfo { span: e.span(), ..info });
    Ok(MediaInfo { format, video: finish(video, video_extent), audio: finish(audio, audio_extent) })
}
