//! High-quality, deterministic JPEG encoding of decoded pictures with libavcodec's MJPEG encoder.
//!
//! Made as HyperFrames 0.8.170 pre-extracts SDR video frames, so a `<video>` shows the same
//! pixels: `scale=flags=neighbor+accurate_rnd,format=gbrp,scale=out_color_matrix=bt601:
//! out_range=pc:flags=neighbor,format=yuv420p` then `-q:v 2`. That is baseline JFIF, 4:2:0
//! full-range BT.601 (what every browser decodes a JPEG as), at a fixed quantiser scale of 2 with
//! optimal Huffman tables. A picture is first turned into full-range planar RGB with its own
//! matrix and range (see [`super::video_decode`]), then into BT.601 full-range 4:2:0, so a BT.709
//! TV-range source keeps its colours when the browser shows the JPEG; chroma is resampled by
//! nearest neighbour both ways, as there. Both conversions and the encoder run with bit-exact
//! flags and one thread: the same picture always gives the same bytes. The one difference from
//! HyperFrames' files is the DCT: the C integer one here, where ffmpeg's default picks an SSE2
//! one on x86 only (the bytes would then depend on the machine); decoded, the two differ by
//! about 55 dB.

use super::video_decode::{Picture, RgbConverter};
use super::{check, ff, Context as _};
use crate::error::AvError;

/// The fixed quantiser scale (1 = best, 31 = worst).
pub const JPEG_QSCALE: i32 = 2;

/// A reusable JPEG encoder for pictures of one output size (other sizes are scaled to it).
pub struct JpegEncoder {
    encoder: ff::encoder::video::Encoder,
    width: u32,
    height: u32,
    to_rgb: RgbConverter,
    to_yuv: ff::software::scaling::Context,
    next_pts: i64,
}

impl JpegEncoder {
    /// Open an encoder producing `width`×`height` JPEGs.
    pub fn open(width: u32, height: u32) -> Result<Self, AvError> {
        super::init();
        let codec = ff::encoder::find(ff::codec::Id::MJPEG).ok_or_else(|| AvError {
            op: "avcodec_find_encoder",
            subject: "mjpeg".into(),
            code: ff::ffi::AVERROR_ENCODER_NOT_FOUND,
            message: "the linked libavcodec has no MJPEG encoder".into(),
        })?;
        let mut ctx = ff::codec::context::Context::new_with_codec(codec)
            .encoder()
            .video()
            .ctx("avcodec_alloc_context3", &"mjpeg")?;
        ctx.set_width(width);
        ctx.set_height(height);
        ctx.set_format(ff::format::Pixel::YUVJ420P);
        ctx.set_color_range(ff::color::Range::JPEG);
        ctx.set_colorspace(ff::color::Space::BT470BG);
        ctx.set_time_base(ff::Rational(1, 1));
        ctx.set_threading(ff::threading::Config { kind: ff::threading::Type::Frame, count: 1, ..Default::default() });
        ctx.set_flags(ff::codec::Flags::QSCALE);
        // SAFETY: plain fields of the context we own, set before avcodec_open2.
        unsafe {
            (*ctx.as_mut_ptr()).flags |= ff::ffi::AV_CODEC_FLAG_BITEXACT as i32;
            (*ctx.as_mut_ptr()).global_quality = JPEG_QSCALE * ff::ffi::FF_QP2LAMBDA;
        }
        let mut opts = ff::Dictionary::new();
        opts.set("huffman", "optimal");
        // The integer DCT in C: `auto` picks a CPU-specific one, and the bytes must not depend on
        // the machine (the JPEGs are part of the plan hash).
        opts.set("dct", "int");
        let encoder = ctx.open_with(opts).ctx("avcodec_open2", &"mjpeg")?;
        let to_yuv = yuvj_scaler(width, height)?;
        Ok(JpegEncoder { encoder, width, height, to_rgb: RgbConverter::default(), to_yuv, next_pts: 0 })
    }

    /// Encode `picture` (scaled to the encoder's size if it differs) into JPEG file bytes.
    pub fn encode(&mut self, picture: &Picture) -> Result<Vec<u8>, AvError> {
        let rgb = self.to_rgb.convert(picture, self.width, self.height, false)?;
        let mut yuv = ff::frame::Video::new(ff::format::Pixel::YUVJ420P, self.width, self.height);
        self.to_yuv.run(&rgb, &mut yuv).ctx("sws_scale", &"RGB to JPEG YCbCr")?;
        yuv.set_color_range(ff::color::Range::JPEG);
        yuv.set_color_space(ff::color::Space::BT470BG);
        // The encoder wants increasing timestamps; they do not reach the JPEG bytes.
        yuv.set_pts(Some(self.next_pts));
        self.next_pts += 1;
        // SAFETY: plain field of the frame we own; the encoder reads its quantiser from it.
        unsafe { (*yuv.as_mut_ptr()).quality = JPEG_QSCALE * ff::ffi::FF_QP2LAMBDA };
        self.encoder.send_frame(&yuv).ctx("avcodec_send_frame", &"mjpeg encoder")?;
        let mut packet = ff::Packet::empty();
        self.encoder.receive_packet(&mut packet).ctx("avcodec_receive_packet", &"mjpeg encoder")?;
        Ok(packet.data().unwrap_or_default().to_vec())
    }
}

/// Full-range GBRP → full-range BT.601 4:2:0, bit-exact.
fn yuvj_scaler(w: u32, h: u32) -> Result<ff::software::scaling::Context, AvError> {
    use ff::software::scaling::Flags;
    let flags = Flags::POINT | Flags::BITEXACT;
    let mut ctx =
        ff::software::scaling::Context::get(ff::format::Pixel::GBRP, w, h, ff::format::Pixel::YUVJ420P, w, h, flags)
            .ctx("sws_getContext", &"RGB to JPEG YCbCr")?;
    // SAFETY: ctx is a live SwsContext; sws_getCoefficients returns a pointer to a static table.
    let ret = unsafe {
        let bt601 = ff::ffi::sws_getCoefficients(ff::ffi::SWS_CS_ITU601);
        ff::ffi::sws_setColorspaceDetails(ctx.as_mut_ptr(), bt601, 1, bt601, 1, 0, 1 << 16, 1 << 16)
    };
    check(ret, "sws_setColorspaceDetails", &"RGB to JPEG YCbCr")?;
    Ok(ctx)
}
