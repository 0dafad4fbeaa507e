//! Decoding a file's video stream frame by frame, with seeking, and converting pictures to RGB.
//!
//! [`VideoDecoder`] opens the best video stream of any file libav reads and returns [`Picture`]s
//! in presentation order. VP9 and VP8 are decoded by libvpx (`libvpx-vp9`, `libvpx`), as
//! HyperFrames extracts them: libav's native decoders, which it would pick first, drop a WebM's
//! alpha plane (BlockAdditional side data); libvpx's give `yuva420p` pictures. Pictures come
//! each stamped with its presentation time relative to the stream's first timestamp (so a source
//! whose timestamps start at 1.4 s still shows its first frame at 0). Time is kept as integer
//! ticks of the stream's time base. [`VideoDecoder::seek`] moves to the last
//! keyframe at or before a time; frames before the wanted one still come out and the caller
//! skips them.
//!
//! Colour: [`Picture::to_rgb`] and `RgbConverter` honour the picture's matrix and range. An
//! unspecified matrix is taken as Chrome guesses it (and so HyperFrames shows it): BT.709 from 720
//! lines up, except for VP9 and AV1, BT.601 below (a 960×664 source is BT.601 whatever its width);
//! an unspecified range is TV range, except for the `yuvj*` formats, which are full range by
//! definition. The conversion is HyperFrames' (`scale=flags=neighbor+accurate_rnd,format=gbrp`):
//! chroma is upsampled by repeating samples, not interpolated. A source tagged with its matrix
//! only (no primaries or transfer, as VP9 streams and many H.264 files are) is converted with
//! that matrix, as there: HyperFrames' `setparams` fills in primaries and transfer, which no
//! conversion reads, and guesses a matrix only for an untagged one (bit-identical planes, checked
//! against ffmpeg running its filters in `tests/media.rs`).

use std::path::{Path, PathBuf};

use super::{check, ff, Context as _};
use crate::error::AvError;
use crate::time::Rational;

/// One decoded picture and when it is shown.
pub struct Picture {
    frame: ff::frame::Video,
    pts: i64,
    duration: i64,
    /// Chrome guesses an untagged VP9 or AV1 stream as BT.601 at any size.
    untagged_is_601: bool,
}

impl Picture {
    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.frame.width()
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.frame.height()
    }

    /// Presentation time in stream ticks, relative to the stream's first timestamp.
    pub fn pts(&self) -> i64 {
        self.pts
    }

    /// How long the picture is shown, in stream ticks (from the packet, else the frame rate).
    pub fn duration(&self) -> i64 {
        self.duration
    }

    /// Whether the picture has an alpha plane (libvpx's `yuva420p` for a WebM with alpha).
    pub fn has_alpha(&self) -> bool {
        has_alpha(self.frame.format())
    }

    /// Tightly packed 8-bit RGB (w×h×3), full range.
    #[cfg(feature = "internals")]
    pub fn to_rgb(&self) -> Result<Vec<u8>, AvError> {
        let (w, h) = (self.width(), self.height());
        let mut converter = RgbConverter::default();
        let gbr = converter.convert(self, w, h, false)?;
        let (w, h) = (w as usize, h as usize);
        let mut rgb = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            let row = |plane: usize| &gbr.data(plane)[y * gbr.stride(plane)..][..w];
            let (g, b, r) = (row(0), row(1), row(2));
            for x in 0..w {
                rgb.extend_from_slice(&[r[x], g[x], b[x]]);
            }
        }
        Ok(rgb)
    }

    pub(super) fn frame(&self) -> &ff::frame::Video {
        &self.frame
    }

    /// The YCbCr → RGB coefficients (`sws_getCoefficients`) and whether the picture is full
    /// range, as HyperFrames' filters see it: an untagged matrix guessed as Chrome does, a matrix
    /// swscale has no table for taken as BT.601 (vf_scale's rule).
    pub(super) fn yuv_coefficients(&self) -> ([i32; 4], bool) {
        let (matrix, full) = colour_of(&self.frame, self.untagged_is_601);
        let matrix = if (1..=10).contains(&matrix) && matrix != 8 { matrix } else { ff::ffi::SWS_CS_ITU601 };
        // SAFETY: sws_getCoefficients returns a pointer to a static table of four ints.
        let table = unsafe { std::slice::from_raw_parts(ff::ffi::sws_getCoefficients(matrix), 4) };
        ([table[0], table[1], table[2], table[3]], full)
    }
}

/// The video stream of a media file, decoded in presentation order.
pub struct VideoDecoder {
    input: ff::format::context::Input,
    stream: usize,
    decoder: ff::decoder::Video,
    time_base: Rational,
    origin: i64,
    default_duration: i64,
    path: PathBuf,
    eof: bool,
    untagged_is_601: bool,
    hdr: Option<HdrTransfer>,
    may_have_alpha: bool,
}

/// The HDR transfer a video stream is tagged with (what HyperFrames takes for an HDR source).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HdrTransfer {
    /// SMPTE ST 2084 (PQ), `smpte2084`.
    Pq,
    /// ARIB STD-B67 (HLG), `arib-std-b67`.
    Hlg,
}

impl HdrTransfer {
    /// The short name: `PQ` or `HLG`.
    pub fn name(self) -> &'static str {
        match self {
            HdrTransfer::Pq => "PQ",
            HdrTransfer::Hlg => "HLG",
        }
    }

    fn of(trc: ff::ffi::AVColorTransferCharacteristic) -> Option<HdrTransfer> {
        use ff::ffi::AVColorTransferCharacteristic as T;
        match trc {
            T::AVCOL_TRC_SMPTE2084 => Some(HdrTransfer::Pq),
            T::AVCOL_TRC_ARIB_STD_B67 => Some(HdrTransfer::Hlg),
            _ => None,
        }
    }
}

fn no_stream(path: &Path) -> AvError {
    AvError {
        op: "av_find_best_stream",
        subject: path.display().to_string(),
        code: ff::ffi::AVERROR_STREAM_NOT_FOUND,
        message: "the file has no video stream".into(),
    }
}

impl VideoDecoder {
    /// Open `path` and its best video stream.
    pub fn open(path: &Path) -> Result<Self, AvError> {
        super::init();
        let shown = path.display();
        let input = ff::format::input(&path).ctx("avformat_open_input", &shown)?;
        let stream = input.streams().best(ff::media::Type::Video).ok_or_else(|| no_stream(path))?;
        let tb = stream.time_base();
        let time_base =
            Rational::new(i64::from(tb.0), i64::from(tb.1)).filter(|r| r.num > 0).ok_or_else(|| no_stream(path))?;
        let origin = match stream.start_time() {
            ff::ffi::AV_NOPTS_VALUE => 0,
            start => start,
        };
        let default_duration = frame_ticks(stream.avg_frame_rate(), time_base);
        let index = stream.index();
        // SAFETY: the stream's AVCodecParameters live as long as `input`; one enum field is read.
        let hdr = HdrTransfer::of(unsafe { (*stream.parameters().as_ptr()).color_trc });
        let alpha_tag = stream.metadata().iter().any(|(k, v)| k.eq_ignore_ascii_case("alpha_mode") && v == "1");
        let mut ctx = ff::codec::context::Context::from_parameters(stream.parameters())
            .ctx("avcodec_parameters_to_context", &shown)?;
        ctx.set_threading(ff::threading::Config { kind: ff::threading::Type::Frame, count: 2, ..Default::default() });
        let ctx_codec = ctx.id();
        // SAFETY: a plain enum field of the context we own, set from the stream's parameters.
        let stream_format = ff::format::Pixel::from(unsafe { (*ctx.as_ptr()).pix_fmt });
        let may_have_alpha = alpha_tag || named_with_alpha(stream_format) || codec_may_have_alpha(ctx_codec);
        let mut decoder = open_decoder(ctx, ctx_codec, &shown)?;
        decoder.set_packet_time_base(tb);
        Ok(VideoDecoder {
            input,
            stream: index,
            decoder,
            time_base,
            origin,
            default_duration,
            path: path.to_path_buf(),
            eof: false,
            untagged_is_601: matches!(ctx_codec, ff::codec::Id::VP9 | ff::codec::Id::AV1),
            hdr,
            may_have_alpha,
        })
    }

    /// Whether the source may carry alpha, as HyperFrames' `resolveFrameFormat` asks it (and then
    /// extracts PNG): an alpha pixel format or `alpha_mode=1` tag on the stream (what ffprobe
    /// reports), or a codec that can code alpha (VP8, VP9, ProRes) whatever the file says.
    pub fn may_have_alpha(&self) -> bool {
        self.may_have_alpha
    }

    /// The stream's HDR transfer, if it is tagged PQ or HLG.
    pub fn hdr_transfer(&self) -> Option<HdrTransfer> {
        self.hdr
    }

    /// The stream's time base (seconds per tick of [`Picture::pts`]).
    pub fn time_base(&self) -> Rational {
        self.time_base
    }

    /// The coded size the stream announces (pictures may differ; trust theirs).
    pub fn size(&self) -> (u32, u32) {
        (self.decoder.width(), self.decoder.height())
    }

    /// Move to the last keyframe at or before `seconds` (relative to the stream start).
    pub fn seek(&mut self, seconds: Rational) -> Result<(), AvError> {
        let tb = self.time_base;
        // floor(seconds / tb): seeking early is always safe, the caller skips what it decodes.
        let n = seconds.num as i128 * tb.den as i128;
        let d = seconds.den as i128 * tb.num as i128;
        let ts = i64::try_from(n.div_euclid(d)).unwrap_or(i64::MAX).saturating_add(self.origin);
        // SAFETY: the input context is live and owned by self; the stream index is valid.
        let ret =
            unsafe { ff::ffi::avformat_seek_file(self.input.as_mut_ptr(), self.stream as i32, i64::MIN, ts, ts, 0) };
        check(ret, "avformat_seek_file", &self.path.display())?;
        self.decoder.flush();
        self.eof = false;
        Ok(())
    }

    /// The next picture in presentation order, or `None` at the end of the stream.
    pub fn next_picture(&mut self) -> Result<Option<Picture>, AvError> {
        loop {
            let mut frame = ff::frame::Video::empty();
            match self.decoder.receive_frame(&mut frame) {
                Ok(()) => return Ok(Some(self.picture(frame))),
                Err(ff::Error::Eof) => return Ok(None),
                Err(ff::Error::Other { errno }) if errno == ff::util::error::EAGAIN => {}
                Err(e) => return Err(super::wrap(e, "avcodec_receive_frame", &self.path.display())),
            }
            self.feed()?;
        }
    }

    fn picture(&self, frame: ff::frame::Video) -> Picture {
        let pts = frame.timestamp().unwrap_or(self.origin) - self.origin;
        let duration = match frame.packet().duration {
            d if d > 0 => d,
            _ => self.default_duration,
        };
        Picture { frame, pts, duration, untagged_is_601: self.untagged_is_601 }
    }

    /// Hand the decoder the next packet of the stream (or the end of stream). A packet the
    /// decoder rejects as invalid data is skipped, as players do; other errors are reported.
    fn feed(&mut self) -> Result<(), AvError> {
        let shown = self.path.display();
        if self.eof {
            return Err(super::wrap(ff::Error::Bug, "avcodec_receive_frame", &shown));
        }
        let mut packet = ff::Packet::empty();
        loop {
            match packet.read(&mut self.input) {
                Ok(()) if packet.stream() == self.stream => match self.decoder.send_packet(&packet) {
                    Err(ff::Error::InvalidData) => continue,
                    sent => return sent.ctx("avcodec_send_packet", &shown),
                },
                Ok(()) => continue,
                Err(ff::Error::Eof) => {
                    self.eof = true;
                    return self.decoder.send_eof().ctx("avcodec_send_packet(NULL)", &shown);
                }
                Err(e) => return Err(super::wrap(e, "av_read_frame", &shown)),
            }
        }
    }
}

/// The decoder HyperFrames names for a codec that may carry alpha (`-c:v libvpx-vp9` /
/// `libvpx`); `None`: libav's default decoder.
fn alpha_decoder(codec: ff::codec::Id) -> Option<&'static str> {
    match codec {
        ff::codec::Id::VP9 => Some("libvpx-vp9"),
        ff::codec::Id::VP8 => Some("libvpx"),
        _ => None,
    }
}

/// HyperFrames' `ALPHA_CAPABLE_CODECS`: `vp9`, `vp8`, `prores`.
fn codec_may_have_alpha(codec: ff::codec::Id) -> bool {
    matches!(codec, ff::codec::Id::VP9 | ff::codec::Id::VP8 | ff::codec::Id::PRORES)
}

/// HyperFrames' `pixelFormatHasAlpha`: the format's name starts with `yuva`, `rgba`, `argb`,
/// `bgra`, `abgr`, `gbrap`, `ya` or `ayuv`.
fn named_with_alpha(format: ff::format::Pixel) -> bool {
    const PREFIXES: [&str; 8] = ["yuva", "rgba", "argb", "bgra", "abgr", "gbrap", "ya", "ayuv"];
    format.descriptor().is_some_and(|d| PREFIXES.iter().any(|p| d.name().starts_with(p)))
}

/// Open `ctx` with the decoder HyperFrames uses for its codec. A build without libvpx's decoder
/// is an error rather than a quiet fall back to the native one: the frames would lose their
/// alpha and depend on the build.
fn open_decoder(
    ctx: ff::codec::context::Context,
    codec: ff::codec::Id,
    shown: &dyn std::fmt::Display,
) -> Result<ff::decoder::Video, AvError> {
    let Some(name) = alpha_decoder(codec) else {
        return ctx.decoder().video().ctx("avcodec_open2", shown);
    };
    let found = ff::decoder::find_by_name(name).ok_or_else(|| AvError {
        op: "avcodec_find_decoder_by_name",
        subject: name.into(),
        code: ff::ffi::AVERROR_DECODER_NOT_FOUND,
        message: format!("the linked libavcodec has no {name} decoder (it keeps a WebM's alpha)"),
    })?;
    ctx.decoder().open_as(found).and_then(|o| o.video()).ctx("avcodec_open2", shown)
}

/// Ticks of `tb` in one frame at `rate`, at least 1 (1 when the rate is unknown).
fn frame_ticks(rate: ff::Rational, tb: Rational) -> i64 {
    if rate.0 <= 0 || rate.1 <= 0 {
        return 1;
    }
    let n = i128::from(rate.1) * tb.den as i128;
    let d = i128::from(rate.0) * tb.num as i128;
    i64::try_from(n / d).unwrap_or(1).max(1)
}

/// Converts pictures of any format, size and colour space to full-range planar RGB (GBRP, or
/// GBRAP with the picture's alpha plane) of one size, reusing its swscale context while the source
/// stays the same.
#[derive(Default)]
pub(super) struct RgbConverter {
    key: Option<ScalerKey>,
    scaler: Option<ff::software::scaling::Context>,
}

impl RgbConverter {
    /// `picture` as GBRP at `w`×`h`, or as GBRAP when `alpha` is asked and the picture has it.
    pub(super) fn convert(
        &mut self,
        picture: &Picture,
        w: u32,
        h: u32,
        alpha: bool,
    ) -> Result<ff::frame::Video, AvError> {
        let frame = picture.frame();
        let (matrix, full) = colour_of(frame, picture.untagged_is_601);
        let out = if alpha && picture.has_alpha() { ff::format::Pixel::GBRAP } else { ff::format::Pixel::GBRP };
        let key = (frame.format(), frame.width(), frame.height(), matrix, full, w, h, out);
        if self.key != Some(key) {
            self.scaler = Some(rgb_scaler(key)?);
            self.key = Some(key);
        }
        let mut rgb = ff::frame::Video::new(out, w, h);
        let scaler = self.scaler.as_mut().ok_or_else(|| super::wrap(ff::Error::Bug, "sws", &"rgb"))?;
        scaler.run(frame, &mut rgb).ctx("sws_scale", &"picture to RGB")?;
        Ok(rgb)
    }
}

/// The swscale matrix (`SWS_CS_*`, numbered like `AVColorSpace`) and whether the picture is full
/// range.
fn colour_of(frame: &ff::frame::Video, untagged_is_601: bool) -> (i32, bool) {
    use ff::format::Pixel;
    // SAFETY: reading plain enum fields of a live frame.
    let (space, range) = unsafe { ((*frame.as_ptr()).colorspace as i32, (*frame.as_ptr()).color_range as i32) };
    let hd = frame.height() >= 720 && !untagged_is_601;
    let matrix = match space {
        s if s == ff::ffi::AVColorSpace::AVCOL_SPC_UNSPECIFIED as i32 && hd => ff::ffi::SWS_CS_ITU709,
        s if s == ff::ffi::AVColorSpace::AVCOL_SPC_UNSPECIFIED as i32 => ff::ffi::SWS_CS_ITU601,
        s => s,
    };
    let yuvj = matches!(frame.format(), Pixel::YUVJ420P | Pixel::YUVJ422P | Pixel::YUVJ444P | Pixel::YUVJ440P);
    (matrix, yuvj || range == ff::ffi::AVColorRange::AVCOL_RANGE_JPEG as i32)
}

type ScalerKey = (ff::format::Pixel, u32, u32, i32, bool, u32, u32, ff::format::Pixel);

fn rgb_scaler(
    (format, sw, sh, matrix, full, w, h, out): ScalerKey,
) -> Result<ff::software::scaling::Context, AvError> {
    use ff::software::scaling::Flags;
    // HyperFrames' flags; bit-exact on top changes no pixel there and keeps the bytes the same on
    // any machine.
    let flags = Flags::POINT | Flags::ACCURATE_RND | Flags::BITEXACT;
    let mut ctx = ff::software::scaling::Context::get(format, sw, sh, out, w, h, flags)
        .ctx("sws_getContext", &"picture to RGB")?;
    // SAFETY: ctx is a live SwsContext; sws_getCoefficients returns a pointer to a static table
    // (the BT.601 one for numbers it does not know).
    let ret = unsafe {
        let table = ff::ffi::sws_getCoefficients(matrix);
        ff::ffi::sws_setColorspaceDetails(ctx.as_mut_ptr(), table, i32::from(full), table, 1, 0, 1 << 16, 1 << 16)
    };
    // swscale answers -1 when the source is RGB already (no matrix applies); that is fine.
    if !is_rgb(format) {
        check(ret, "sws_setColorspaceDetails", &"picture to RGB")?;
    }
    Ok(ctx)
}

fn has_alpha(format: ff::format::Pixel) -> bool {
    format.descriptor().is_some_and(|d| {
        // SAFETY: the descriptor is a static libav table entry.
        let flags = unsafe { (*d.as_ptr()).flags };
        flags & ff::ffi::AV_PIX_FMT_FLAG_ALPHA as u64 != 0
    })
}

fn is_rgb(format: ff::format::Pixel) -> bool {
    format.descriptor().is_some_and(|d| {
        // SAFETY: the descriptor is a static libav table entry.
        let flags = unsafe { (*d.as_ptr()).flags };
        flags & ff::ffi::AV_PIX_FMT_FLAG_RGB as u64 != 0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untagged_pictures_get_the_matrix_chrome_guesses() {
        let matrix =
            |w, h, vp9_or_av1| colour_of(&ff::frame::Video::new(ff::format::Pixel::YUV420P, w, h), vp9_or_av1).0;
        assert_eq!(matrix(960, 664, false), ff::ffi::SWS_CS_ITU601);
        assert_eq!(matrix(1280, 576, false), ff::ffi::SWS_CS_ITU601);
        assert_eq!(matrix(1280, 720, false), ff::ffi::SWS_CS_ITU709);
        assert_eq!(matrix(720, 1280, false), ff::ffi::SWS_CS_ITU709);
        assert_eq!(matrix(1920, 1080, true), ff::ffi::SWS_CS_ITU601);
    }
}
