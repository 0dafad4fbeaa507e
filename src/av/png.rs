//! PNG encoding with libavcodec's deterministic PNG encoder: RGBA frames (captures), and decoded
//! video pictures as HyperFrames extracts the frames of a source that may carry alpha.
//!
//! A picture becomes an RGBA PNG (RGB when the first picture has no alpha, as the ffmpeg CLI picks
//! `rgba` or `rgb24` for HyperFrames' `-c:v png`) with its own matrix and range and its alpha
//! plane: a `yuv420p`/`yuva420p` one (VP8, VP9) as that ffmpeg's fast path converts it, ported in
//! [`super::yuv2rgb`]; any other through swscale with bit-exact flags (see
//! [`super::video_decode`]; HyperFrames' bicubic scaler may round those differently). Either way
//! the same picture gives the same bytes on any machine.

use super::video_decode::{Picture, RgbConverter};
use super::{ff, yuv2rgb, Context as _};
use crate::error::AvError;

/// A reusable PNG encoder for frames of one size.
pub struct PngEncoder {
    encoder: ff::encoder::video::Encoder,
    width: u32,
    height: u32,
}

impl PngEncoder {
    /// Open an encoder for `width`×`height` RGBA frames.
    pub fn open(width: u32, height: u32) -> Result<Self, AvError> {
        Self::open_as(width, height, ff::format::Pixel::RGBA, None)
    }

    /// Open an encoder of `format` frames (RGBA or RGB24) at zlib level `compression` (default
    /// when `None`).
    fn open_as(width: u32, height: u32, format: ff::format::Pixel, compression: Option<usize>) -> Result<Self, AvError> {
        super::init();
        let codec = ff::encoder::find(ff::codec::Id::PNG).ok_or_else(|| AvError {
            op: "avcodec_find_encoder",
            subject: "png".into(),
            code: ff::ffi::AVERROR_ENCODER_NOT_FOUND,
            message: "the linked libavcodec has no PNG encoder".into(),
        })?;
        let mut ctx = ff::codec::context::Context::new_with_codec(codec)
            .encoder()
            .video()
            .ctx("avcodec_alloc_context3", &"png")?;
        ctx.set_width(width);
        ctx.set_height(height);
        ctx.set_format(format);
        ctx.set_time_base(ff::Rational(1, 1));
        ctx.set_compression(compression);
        ctx.set_threading(ff::threading::Config { kind: ff::threading::Type::Frame, count: 1, ..Default::default() });
        let mut opts = ff::Dictionary::new();
        opts.set("pred", "paeth");
        let encoder = ctx.open_with(opts).ctx("avcodec_open2", &"png")?;
        Ok(PngEncoder { encoder, width, height })
    }

    fn encode_frame(&mut self, frame: &mut ff::frame::Video) -> Result<Vec<u8>, AvError> {
        frame.set_pts(Some(0));
        self.encoder.send_frame(frame).ctx("avcodec_send_frame", &"png encoder")?;
        let mut packet = ff::Packet::empty();
        self.encoder.receive_packet(&mut packet).ctx("avcodec_receive_packet", &"png encoder")?;
        Ok(packet.data().unwrap_or_default().to_vec())
    }

    /// Encode one tightly packed RGBA frame into PNG file bytes.
    pub fn encode(&mut self, rgba: &[u8]) -> Result<Vec<u8>, AvError> {
        let row = self.width as usize * 4;
        if rgba.len() != row * self.height as usize {
            return Err(AvError {
                op: "frame input",
                subject: "png encoder".into(),
                code: ff::ffi::AVERROR_INVALIDDATA,
                message: format!("frame holds {} bytes, expected {}", rgba.len(), row * self.height as usize),
            });
        }
        let mut frame = ff::frame::Video::new(ff::format::Pixel::RGBA, self.width, self.height);
        let stride = frame.stride(0);
        let dst = frame.data_mut(0);
        for (y, line) in rgba.chunks_exact(row).enumerate() {
            dst[y * stride..y * stride + row].copy_from_slice(line);
        }
        self.encode_frame(&mut frame)
    }
}

/// Video pictures as PNG files of one size (pictures of another size are scaled to it).
pub struct PicturePngEncoder {
    png: PngEncoder,
    alpha: bool,
    to_rgb: RgbConverter,
}

impl PicturePngEncoder {
    /// Open an encoder of `width`×`height` PNGs, RGBA when `alpha` (the first picture has an
    /// alpha plane), else RGB. zlib level 1, as HyperFrames' `-compression_level 1`: these files
    /// are read once per frame by the page, and level 1 costs a fraction of the default's time.
    pub fn open(width: u32, height: u32, alpha: bool) -> Result<Self, AvError> {
        let format = if alpha { ff::format::Pixel::RGBA } else { ff::format::Pixel::RGB24 };
        let png = PngEncoder::open_as(width, height, format, Some(1))?;
        Ok(PicturePngEncoder { png, alpha, to_rgb: RgbConverter::default() })
    }

    /// Encode `picture` into PNG file bytes (a picture without alpha is opaque in an RGBA file).
    pub fn encode(&mut self, picture: &Picture) -> Result<Vec<u8>, AvError> {
        let (w, h) = (self.png.width, self.png.height);
        let (format, channels) = if self.alpha { (ff::format::Pixel::RGBA, 4) } else { (ff::format::Pixel::RGB24, 3) };
        let mut frame = ff::frame::Video::new(format, w, h);
        let stride = frame.stride(0);
        if yuv2rgb::applies(picture.frame(), w, h) {
            let (inv, full) = picture.yuv_coefficients();
            yuv2rgb::convert(picture.frame(), inv, full, frame.data_mut(0), stride, channels);
            return self.png.encode_frame(&mut frame);
        }
        let planes = self.to_rgb.convert(picture, w, h, self.alpha)?;
        let with_alpha = planes.format() == ff::format::Pixel::GBRAP;
        let (w, h) = (w as usize, h as usize);
        let dst = frame.data_mut(0);
        for y in 0..h {
            let row = |plane: usize| &planes.data(plane)[y * planes.stride(plane)..][..w];
            let (g, b, r) = (row(0), row(1), row(2));
            let a = if with_alpha { Some(row(3)) } else { None };
            let out = &mut dst[y * stride..][..w * channels];
            for (x, px) in out.chunks_exact_mut(channels).enumerate() {
                px[..3].copy_from_slice(&[r[x], g[x], b[x]]);
                if channels == 4 {
                    px[3] = a.map_or(255, |a| a[x]);
                }
            }
        }
        self.png.encode_frame(&mut frame)
    }
}
