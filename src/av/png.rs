//! PNG encoding of RGBA frames with libavcodec's deterministic PNG encoder.

use super::{ff, Context as _};
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
        ctx.set_format(ff::format::Pixel::RGBA);
        ctx.set_time_base(ff::Rational(1, 1));
        ctx.set_threading(ff::threading::Config { kind: ff::threading::Type::Frame, count: 1, ..Default::default() });
        let mut opts = ff::Dictionary::new();
        opts.set("pred", "paeth");
        let encoder = ctx.open_with(opts).ctx("avcodec_open2", &"png")?;
        Ok(PngEncoder { encoder, width, height })
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
        frame.set_pts(Some(0));
        self.encoder.send_frame(&frame).ctx("avcodec_send_frame", &"png encoder")?;
        let mut packet = ff::Packet::empty();
        self.encoder.receive_packet(&mut packet).ctx("avcodec_receive_packet", &"png encoder")?;
        Ok(packet.data().unwrap_or_default().to_vec())
    }
}
