//! Reading the one video stream of a chunk file packet by packet, without decoding.

use std::path::{Path, PathBuf};

use super::{ff, Context as _};
use crate::error::AvError;
#[cfg(feature = "internals")]
use crate::time::Rational;

/// The codec parameters that must agree between chunks for their packets to share one track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoParams {
    /// libav codec name, e.g. `h264`.
    pub codec: String,
    /// Coded width in pixels.
    pub width: i32,
    /// Coded height in pixels.
    pub height: i32,
    /// Pixel format as libav's number (`AVPixelFormat`).
    pub pixel_format: i32,
    /// Codec profile number.
    pub profile: i32,
    /// Codec level number.
    pub level: i32,
    /// Colour range, primaries, transfer and matrix as libav numbers.
    pub color: [i32; 4],
    /// Sample aspect ratio.
    pub sample_aspect_ratio: (i32, i32),
    /// Codec-specific setup bytes (e.g. the avcC box) which the output track carries once.
    pub extradata: Vec<u8>,
    /// Frames of reordering delay (non-zero when B-frames are present).
    pub video_delay: i32,
}

impl VideoParams {
    /// The first field in which `other` differs from `self`, with both values, for messages.
    pub fn difference(&self, other: &VideoParams) -> Option<String> {
        macro_rules! cmp {
            ($field:ident) => {
                if self.$field != other.$field {
                    return Some(format!("{} {:?} differs from {:?}", stringify!($field), other.$field, self.$field));
                }
            };
        }
        cmp!(codec);
        cmp!(width);
        cmp!(height);
        cmp!(pixel_format);
        cmp!(profile);
        cmp!(level);
        cmp!(color);
        cmp!(sample_aspect_ratio);
        cmp!(video_delay);
        if self.extradata != other.extradata {
            return Some("codec setup data (extradata) differs".to_string());
        }
        None
    }
}

/// An open media file positioned at its first packet, reading only its video stream.
pub struct Demuxer {
    input: ff::format::context::Input,
    path: PathBuf,
    video: usize,
    video_streams: usize,
}

impl Demuxer {
    /// Open `path` and find its video streams.
    pub fn open(path: &Path) -> Result<Self, AvError> {
        super::init();
        let shown = path.display();
        let input = ff::format::input(&path).ctx("avformat_open_input", &shown)?;
        let videos: Vec<usize> =
            input.streams().filter(|s| s.parameters().medium() == ff::media::Type::Video).map(|s| s.index()).collect();
        Ok(Demuxer {
            video: videos.first().copied().unwrap_or(usize::MAX),
            video_streams: videos.len(),
            input,
            path: path.to_path_buf(),
        })
    }

    /// How many video streams the file holds.
    pub fn video_stream_count(&self) -> usize {
        self.video_streams
    }

    fn stream(&self) -> Option<ff::format::stream::Stream<'_>> {
        self.input.stream(self.video)
    }

    /// The video stream's time base.
    #[cfg(feature = "internals")]
    pub fn time_base(&self) -> Rational {
        let tb = self.stream().map(|s| s.time_base()).unwrap_or(ff::Rational(0, 1));
        Rational { num: tb.0 as i64, den: tb.1.max(1) as i64 }
    }

    /// The number of frames the container's index announces (0 when it does not say).
    pub fn indexed_frames(&self) -> i64 {
        self.stream().map(|s| s.frames()).unwrap_or(0)
    }

    /// The video stream's codec parameters, as the file declares them.
    pub fn parameters(&self) -> Option<ff::codec::Parameters> {
        self.stream().map(|s| s.parameters())
    }

    /// The video stream's codec parameters for a track made of this file's packets and
    /// others': without the bit rate the demuxer measured over this file alone. The MP4 muxer
    /// declares the larger of that rate and the whole track's average as the track's maximum
    /// (`btrt`), so keeping it would make the output's bytes depend on how it was chunked.
    pub fn track_parameters(&self) -> Option<ff::codec::Parameters> {
        // A copy (avcodec_parameters_copy): `parameters()` wraps the stream's own.
        let mut par = self.parameters()?.clone();
        // SAFETY: `par` is our own copy of the stream's AVCodecParameters; bit_rate is a plain
        // integer field.
        unsafe { (*par.as_mut_ptr()).bit_rate = 0 };
        Some(par)
    }

    /// The comparable codec parameters of the video stream.
    pub fn params(&self) -> Option<VideoParams> {
        let par = self.parameters()?;
        // SAFETY: `par` borrows a live AVCodecParameters owned by `self.input`; we only read
        // plain fields and copy `extradata_size` bytes, which libav keeps allocated.
        let p = unsafe { &*par.as_ptr() };
        let extradata = if p.extradata.is_null() || p.extradata_size <= 0 {
            Vec::new()
        } else {
            // SAFETY: see above; extradata points to extradata_size readable bytes.
            unsafe { std::slice::from_raw_parts(p.extradata, p.extradata_size as usize).to_vec() }
        };
        Some(VideoParams {
            codec: par.id().name().to_string(),
            width: p.width,
            height: p.height,
            pixel_format: p.format,
            profile: p.profile,
            level: p.level,
            color: [p.color_range as i32, p.color_primaries as i32, p.color_trc as i32, p.color_space as i32],
            sample_aspect_ratio: (p.sample_aspect_ratio.num, p.sample_aspect_ratio.den),
            extradata,
            video_delay: p.video_delay,
        })
    }

    /// Read the next packet of the video stream into `packet`. Returns `false` at the end of the
    /// file; a read error (truncation, corruption) is an error, never a silent end.
    pub fn read_video(&mut self, packet: &mut ff::Packet) -> Result<bool, AvError> {
        loop {
            match packet.read(&mut self.input) {
                Ok(()) if packet.stream() == self.video => return Ok(true),
                Ok(()) => continue,
                Err(ff::Error::Eof) => return Ok(false),
                Err(e) => return Err(super::wrap(e, "av_read_frame", &self.path.display())),
            }
        }
    }
}

/// Size in bytes of a stream's codec setup data.
pub fn extradata_len(params: &ff::codec::Parameters) -> usize {
    // SAFETY: reading one integer field of a live AVCodecParameters.
    let size = unsafe { (*params.as_ptr()).extradata_size };
    size.max(0) as usize
}
