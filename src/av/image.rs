//! Decoding captured browser frames (JPEG or PNG bytes) into tightly packed RGBA.
//!
//! Chromium's JPEG screenshots are JFIF: BT.601 YCbCr at full range. libav's mjpeg decoder
//! returns that as `yuvj420p`; swscale turns it into full-range RGBA with the BT.601 matrix, and the
//! chunk encoder then converts RGBA into BT.709 TV range. swscale cannot change the matrix in a
//! YUV→YUV conversion, so going through RGBA is what keeps colours right. PNG screenshots decode
//! to RGBA (or RGB) directly.

use super::{check, ff, Context as _};
use crate::error::AvError;

/// Which image codec the captured bytes are in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageCodec {
    /// JPEG (JFIF).
    Jpeg,
    /// PNG.
    Png,
}

/// One plane of a decoded picture, borrowed from the decoder: rows `stride` bytes apart.
#[derive(Clone, Copy)]
pub struct Plane<'a> {
    /// The plane's bytes (at least `(rows − 1)·stride + row width`).
    pub data: &'a [u8],
    /// Bytes from one row to the next.
    pub stride: usize,
}

/// A decoded capture.
pub enum DecodedImage<'a> {
    /// A JFIF JPEG with 4:2:0 chroma: full-range BT.601 planes, borrowed from the decoder until
    /// its next call.
    Jfif420 {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Luma.
        y: Plane<'a>,
        /// Blue-difference chroma, ⌈w/2⌉×⌈h/2⌉.
        cb: Plane<'a>,
        /// Red-difference chroma, ⌈w/2⌉×⌈h/2⌉.
        cr: Plane<'a>,
    },
    /// Anything else, as tightly packed RGBA.
    Rgba {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// `width`×`height`×4 bytes.
        pixels: Vec<u8>,
    },
}

/// A reusable decoder for captured frames of one codec and size.
pub struct ImageDecoder {
    decoder: ff::decoder::Video,
    codec: ImageCodec,
    /// The last decoded picture (its planes are what a [`DecodedImage::Jfif420`] borrows).
    frame: ff::frame::Video,
    scaler: Option<(ff::format::Pixel, u32, u32, ff::software::scaling::Context)>,
    /// The scaler's RGBA picture, kept from one image to the next.
    scaled: Option<ff::frame::Video>,
}

impl ImageDecoder {
    /// Open a decoder for `codec` images.
    pub fn open(codec: ImageCodec) -> Result<Self, AvError> {
        super::init();
        let id = match codec {
            ImageCodec::Jpeg => ff::codec::Id::MJPEG,
            ImageCodec::Png => ff::codec::Id::PNG,
        };
        let found = ff::decoder::find(id).ok_or_else(|| AvError {
            op: "avcodec_find_decoder",
            subject: format!("{codec:?}"),
            code: ff::ffi::AVERROR_DECODER_NOT_FOUND,
            message: "the linked libavcodec has no decoder for captured frames".into(),
        })?;
        let mut ctx = ff::codec::context::Context::new_with_codec(found);
        ctx.set_threading(ff::threading::Config { kind: ff::threading::Type::Frame, count: 1, ..Default::default() });
        let decoder = ctx.decoder().video().ctx("avcodec_open2", &"frame decoder")?;
        Ok(ImageDecoder { decoder, codec, frame: ff::frame::Video::empty(), scaler: None, scaled: None })
    }

    /// Decode one image: a JFIF 4:2:0 JPEG as its own planes (for a direct conversion), anything
    /// else as RGBA.
    #[cfg_attr(not(feature = "internals"), allow(dead_code))]
    pub fn decode(&mut self, bytes: &[u8]) -> Result<DecodedImage<'_>, AvError> {
        self.decode_into(bytes, &mut Vec::new())
    }

    /// [`Self::decode`], with RGBA written into `rgba`'s allocation (taken from it), so that a
    /// caller that recycles its buffers costs no fresh pages per image.
    pub fn decode_into(&mut self, bytes: &[u8], rgba: &mut Vec<u8>) -> Result<DecodedImage<'_>, AvError> {
        self.decode_frame(bytes)?;
        let (width, height) = (self.frame.width(), self.frame.height());
        if self.frame.format() != ff::format::Pixel::YUVJ420P {
            let mut pixels = std::mem::take(rgba);
            self.convert(&mut pixels)?;
            return Ok(DecodedImage::Rgba { width, height, pixels });
        }
        let frame = &self.frame;
        let plane = |i: usize| Plane { data: frame.data(i), stride: frame.stride(i) };
        Ok(DecodedImage::Jfif420 { width, height, y: plane(0), cb: plane(1), cr: plane(2) })
    }

    /// Decode one image into tightly packed RGBA; returns `(width, height, pixels)`.
    #[cfg_attr(not(feature = "internals"), allow(dead_code))]
    pub fn decode_rgba(&mut self, bytes: &[u8]) -> Result<(u32, u32, Vec<u8>), AvError> {
        self.decode_frame(bytes)?;
        let mut rgba = Vec::new();
        self.convert(&mut rgba)?;
        Ok((self.frame.width(), self.frame.height(), rgba))
    }

    fn decode_frame(&mut self, bytes: &[u8]) -> Result<(), AvError> {
        let mut packet = ff::Packet::copy(bytes);
        // Every capture is a whole picture. libav's PNG decoder treats a packet without the key
        // flag as a delta against the previous picture and adds the two together.
        packet.set_flags(ff::packet::Flags::KEY);
        self.decoder.send_packet(&packet).ctx("avcodec_send_packet", &"captured frame")?;
        self.decoder.receive_frame(&mut self.frame).ctx("avcodec_receive_frame", &"captured frame")
    }

    /// The decoded picture as tightly packed RGBA, into `rgba` (its contents replaced).
    fn convert(&mut self, rgba: &mut Vec<u8>) -> Result<(), AvError> {
        let frame = &self.frame;
        let (fmt, w, h) = (frame.format(), frame.width(), frame.height());
        if fmt == ff::format::Pixel::RGBA {
            pack(frame, w, h, rgba);
            return Ok(());
        }
        if !matches!(&self.scaled, Some(out) if out.width() == w && out.height() == h) {
            self.scaled = Some(ff::frame::Video::new(ff::format::Pixel::RGBA, w, h));
        }
        if !matches!(&self.scaler, Some((f, sw, sh, _)) if *f == fmt && *sw == w && *sh == h) {
            self.scaler = Some((fmt, w, h, rgba_scaler(fmt, w, h, self.codec)?));
        }
        let Some((_, _, _, scaler)) = self.scaler.as_mut() else {
            return Err(AvError {
                op: "internal",
                subject: "frame decoder".into(),
                code: ff::ffi::AVERROR_BUG,
                message: "scaler missing".into(),
            });
        };
        let Some(out) = self.scaled.as_mut() else {
            return Err(AvError {
                op: "internal",
                subject: "frame decoder".into(),
                code: ff::ffi::AVERROR_BUG,
                message: "RGBA picture missing".into(),
            });
        };
        scaler.run(frame, out).ctx("sws_scale", &"captured frame")?;
        pack(out, w, h, rgba);
        Ok(())
    }
}

/// A swscale context from the decoder's format to full-range RGBA; for JPEG the source is BT.601
/// full range (JFIF).
fn rgba_scaler(
    from: ff::format::Pixel,
    w: u32,
    h: u32,
    codec: ImageCodec,
) -> Result<ff::software::scaling::Context, AvError> {
    use ff::software::scaling::Flags;
    let flags = Flags::BICUBIC | Flags::ACCURATE_RND | Flags::BITEXACT | Flags::FULL_CHR_H_INT | Flags::FULL_CHR_H_INP;
    let mut ctx = ff::software::scaling::Context::get(from, w, h, ff::format::Pixel::RGBA, w, h, flags)
        .ctx("sws_getContext", &"captured frame")?;
    if codec == ImageCodec::Jpeg {
        // SAFETY: ctx is a live SwsContext; sws_getCoefficients returns pointers to static tables.
        let ret = unsafe {
            let bt601 = ff::ffi::sws_getCoefficients(ff::ffi::SWS_CS_ITU601);
            ff::ffi::sws_setColorspaceDetails(ctx.as_mut_ptr(), bt601, 1, bt601, 1, 0, 1 << 16, 1 << 16)
        };
        check(ret, "sws_setColorspaceDetails", &"captured frame")?;
    }
    Ok(ctx)
}

/// Copy a packed RGBA frame's rows into `out`, tightly (its contents replaced, its allocation
/// kept).
fn pack(frame: &ff::frame::Video, w: u32, h: u32, out: &mut Vec<u8>) {
    let row = w as usize * 4;
    let stride = frame.stride(0);
    let data = frame.data(0);
    out.clear();
    out.reserve(row * h as usize);
    for y in 0..h as usize {
        out.extend_from_slice(&data[y * stride..y * stride + row]);
    }
}
