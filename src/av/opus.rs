//! Opus encoding (libopus) of 48 kHz stereo float planes, for WebM soundtracks.
//!
//! libopus takes whole 20 ms frames of 960 samples (only the last may be shorter: the encoder
//! pads it and marks the padding as the packet's `SKIP_SAMPLES` side data, which the Matroska
//! muxer writes as `DiscardPadding`). Its pre-skip (the encoder delay) is the codec's
//! `initial_padding`: packets come stamped from −pre-skip, and the Matroska muxer records it as
//! `CodecDelay`, so a decoder drops exactly those samples and the decoded length is the input's.

use super::{ff, Context as _};
use crate::error::AvError;

use super::audio::SAMPLE_RATE;

/// Samples per Opus frame at 48 kHz (20 ms, libopus' default frame duration).
pub const OPUS_FRAME: usize = 960;

/// A libopus encoder at 48 kHz stereo and a fixed bitrate.
pub struct OpusEncoder {
    encoder: ff::encoder::audio::Encoder,
    next_pts: i64,
}

fn stereo() -> ff::ChannelLayout {
    ff::ChannelLayout::STEREO
}

impl OpusEncoder {
    /// Open libopus at `bitrate` bits per second (its default VBR, `audio` application and 20 ms
    /// frames, as `ffmpeg -c:a libopus -b:a …` opens it).
    pub fn open(bitrate: usize) -> Result<Self, AvError> {
        super::init();
        let codec = ff::encoder::find_by_name("libopus").ok_or_else(|| AvError {
            op: "avcodec_find_encoder_by_name",
            subject: "libopus".into(),
            code: ff::ffi::AVERROR_ENCODER_NOT_FOUND,
            message: "the linked libavcodec has no libopus encoder".into(),
        })?;
        let mut ctx = ff::codec::context::Context::new_with_codec(codec)
            .encoder()
            .audio()
            .ctx("avcodec_alloc_context3", &"libopus")?;
        ctx.set_rate(SAMPLE_RATE);
        ctx.set_channel_layout(stereo());
        ctx.set_channels(2);
        ctx.set_format(ff::format::Sample::F32(ff::format::sample::Type::Packed));
        ctx.set_bit_rate(bitrate);
        ctx.set_time_base(ff::Rational(1, SAMPLE_RATE));
        ctx.set_flags(ff::codec::Flags::GLOBAL_HEADER);
        // SAFETY: plain flag field of the context we own, set before avcodec_open2.
        unsafe { (*ctx.as_mut_ptr()).flags |= ff::ffi::AV_CODEC_FLAG_BITEXACT as i32 };
        let encoder = ctx.open_with(ff::Dictionary::new()).ctx("avcodec_open2", &"libopus")?;
        Ok(OpusEncoder { encoder, next_pts: 0 })
    }

    /// Codec parameters for the output stream (the OpusHead extradata and the pre-skip).
    pub fn parameters(&self) -> ff::codec::Parameters {
        ff::codec::Parameters::from(&*self.encoder)
    }

    /// Samples of pre-skip at the start of the stream.
    pub fn delay(&self) -> i64 {
        // SAFETY: reading a plain field of the opened encoder context.
        i64::from(unsafe { (*self.encoder.as_ptr()).initial_padding })
    }

    /// Encode one frame of at most [`OPUS_FRAME`] samples (only the last may be shorter).
    /// Packets come out stamped in 1/48000, the first at −pre-skip.
    pub fn push(&mut self, left: &[f32], right: &[f32], out: &mut Vec<ff::Packet>) -> Result<(), AvError> {
        let n = left.len().min(right.len()).min(OPUS_FRAME);
        let mut frame = ff::frame::Audio::new(ff::format::Sample::F32(ff::format::sample::Type::Packed), n, stereo());
        frame.set_rate(SAMPLE_RATE as u32);
        let data = frame.plane_mut::<(f32, f32)>(0);
        for (slot, (l, r)) in data.iter_mut().zip(left.iter().zip(right)).take(n) {
            *slot = (*l, *r);
        }
        frame.set_pts(Some(self.next_pts));
        self.next_pts += n as i64;
        self.encoder.send_frame(&frame).ctx("avcodec_send_frame", &"libopus encoder")?;
        self.drain(out)
    }

    /// Flush the encoder's remaining packets into `out`.
    pub fn finish(&mut self, out: &mut Vec<ff::Packet>) -> Result<(), AvError> {
        self.encoder.send_eof().ctx("avcodec_send_frame(NULL)", &"libopus encoder")?;
        self.drain(out)
    }

    fn drain(&mut self, out: &mut Vec<ff::Packet>) -> Result<(), AvError> {
        super::audio::drain_packets(&mut self.encoder, out, "libopus encoder")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_short_frame_is_marked_and_the_pre_skip_is_stamped() {
        let mut enc = OpusEncoder::open(128_000).expect("libopus");
        let delay = enc.delay();
        assert!(delay > 0, "libopus has a pre-skip");
        let mut packets = Vec::new();
        let tone: Vec<f32> = (0..OPUS_FRAME).map(|i| (i as f32 * 0.05).sin() * 0.3).collect();
        enc.push(&tone, &tone, &mut packets).expect("frame");
        enc.push(&tone[..100], &tone[..100], &mut packets).expect("short frame");
        enc.finish(&mut packets).expect("finish");
        assert_eq!(packets.first().and_then(|p| p.pts()), Some(-delay));
        let total: i64 = packets.iter().map(|p| p.duration()).sum();
        assert!(total >= OPUS_FRAME as i64 + 100 + delay, "{total}");
    }
}
