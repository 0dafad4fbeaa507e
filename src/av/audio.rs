//! Audio decoding to 48 kHz stereo float planes, and AAC-LC encoding.
//!
//! [`AudioReader`] decodes any audio file libav reads (honouring the encoder-delay edit list of
//! MP4 files, so sample 0 is the first real sample, and their stated length, so the AAC frame
//! padding at the end is not returned) and resamples to 48 kHz stereo `f32` planes, with the
//! channel mapping HyperFrames' mixer applies (see [`AudioReader`]).
//! [`AacEncoder`] turns such planes back into AAC-LC packets at a fixed bitrate.

use std::path::{Path, PathBuf};

use super::{ff, Context as _};
use crate::error::AvError;

/// The one sample rate framefan soundtracks use.
pub const SAMPLE_RATE: i32 = 48_000;
/// Samples per AAC frame.
pub const AAC_FRAME: usize = 1024;

/// A block of decoded stereo samples, one `Vec` per channel, equal lengths.
#[derive(Debug, Default, Clone)]
pub struct Pcm {
    /// Left channel.
    pub left: Vec<f32>,
    /// Right channel.
    pub right: Vec<f32>,
}

impl Pcm {
    /// Number of samples per channel.
    pub fn len(&self) -> usize {
        self.left.len()
    }

    /// Whether the block holds no sample.
    pub fn is_empty(&self) -> bool {
        self.left.is_empty()
    }
}

/// Decodes an audio file's first audio stream to 48 kHz stereo `f32`.
///
/// Channels are mapped as HyperFrames' audio mixer maps them (`preparedAudioOutputArgs` in its
/// engine's `audioMixer`): a mono source is copied to both sides at its own level (its
/// `pan=stereo|FL=FL+FC|FR=FR+FC`; libswresample's default upmix would put it 3 dB lower), a
/// stereo one is kept, and any other layout is downmixed by libswresample's default matrix
/// normalised as ffmpeg normalises it when writing 16-bit samples (`-ac 2` to `pcm_s16le`): each
/// side's coefficients scaled to sum to 1, so 5.1's left is (FL + 0.707·FC + 0.707·BL) / 2.414
/// and the LFE is dropped.
pub struct AudioReader {
    input: ff::format::context::Input,
    stream: usize,
    decoder: ff::decoder::Audio,
    resampler: Option<ff::software::resampling::Context>,
    /// What the resampler writes: mono for a mono source (copied to both sides afterwards),
    /// stereo otherwise.
    target: ff::ChannelLayout,
    path: PathBuf,
    eof: bool,
    /// Samples still to return when the container states the exact length (MP4/MOV).
    remaining: Option<u64>,
}

fn stereo() -> ff::ChannelLayout {
    ff::ChannelLayout::STEREO
}

impl AudioReader {
    /// Open `path` and its best audio stream.
    pub fn open(path: &Path) -> Result<Self, AvError> {
        super::init();
        let shown = path.display();
        let input = ff::format::input(&path).ctx("avformat_open_input", &shown)?;
        let stream = input.streams().best(ff::media::Type::Audio).ok_or_else(|| AvError {
            op: "av_find_best_stream",
            subject: shown.to_string(),
            code: ff::ffi::AVERROR_STREAM_NOT_FOUND,
            message: "the file has no audio stream".into(),
        })?;
        let index = stream.index();
        let mut ctx = ff::codec::context::Context::from_parameters(stream.parameters())
            .ctx("avcodec_parameters_to_context", &shown)?;
        ctx.set_threading(ff::threading::Config { kind: ff::threading::Type::Frame, count: 1, ..Default::default() });
        let mut decoder = ctx.decoder().audio().ctx("avcodec_open2", &shown)?;
        decoder.set_packet_time_base(stream.time_base());
        let remaining = exact_length(&input, &stream);
        Ok(AudioReader {
            input,
            stream: index,
            decoder,
            resampler: None,
            target: stereo(),
            path: path.to_path_buf(),
            eof: false,
            remaining,
        })
    }

    /// Samples per frame the ffmpeg CLI's filter graph gets from this source (the graph's output
    /// can depend on where frames start: `atempo`'s does): a PCM WAV's packets of 4096 bytes
    /// (`wav_read_packet`), else the codec's frame size, else 1024.
    pub fn cli_frame_samples(&self) -> usize {
        let align = self.decoder.align();
        if self.input.format().name() == "wav" && self.decoder.id().name().starts_with("pcm_") && align > 0 {
            return (4096 / align).max(1);
        }
        match self.decoder.frame_size() {
            0 => AAC_FRAME,
            n => n as usize,
        }
    }

    /// The next block of samples, or `None` at the end of the stream.
    pub fn read(&mut self) -> Result<Option<Pcm>, AvError> {
        let Some(remaining) = self.remaining else {
            return self.decode();
        };
        if remaining == 0 {
            return Ok(None);
        }
        let Some(mut pcm) = self.decode()? else {
            return Ok(None);
        };
        let keep = remaining.min(pcm.len() as u64);
        pcm.left.truncate(keep as usize);
        pcm.right.truncate(keep as usize);
        self.remaining = Some(remaining - keep);
        Ok(Some(pcm))
    }

    fn decode(&mut self) -> Result<Option<Pcm>, AvError> {
        loop {
            let mut frame = ff::frame::Audio::empty();
            match self.decoder.receive_frame(&mut frame) {
                Ok(()) => {
                    let pcm = self.convert(&mut frame)?;
                    if !pcm.is_empty() {
                        return Ok(Some(pcm));
                    }
                    continue;
                }
                Err(ff::Error::Eof) => return self.flush_resampler(),
                Err(ff::Error::Other { errno }) if errno == ff::util::error::EAGAIN => {}
                Err(e) => return Err(super::wrap(e, "avcodec_receive_frame", &self.path.display())),
            }
            self.feed()?;
        }
    }

    fn feed(&mut self) -> Result<(), AvError> {
        let shown = self.path.display();
        if self.eof {
            return Err(AvError {
                op: "avcodec_receive_frame",
                subject: shown.to_string(),
                code: ff::ffi::AVERROR_BUG,
                message: "decoder wants input after end of stream".into(),
            });
        }
        let mut packet = ff::Packet::empty();
        loop {
            match packet.read(&mut self.input) {
                Ok(()) if packet.stream() == self.stream => {
                    return self.decoder.send_packet(&packet).ctx("avcodec_send_packet", &shown);
                }
                Ok(()) => continue,
                Err(ff::Error::Eof) => {
                    self.eof = true;
                    return self.decoder.send_eof().ctx("avcodec_send_packet(NULL)", &shown);
                }
                Err(e) => return Err(super::wrap(e, "av_read_frame", &shown)),
            }
        }
    }

    fn convert(&mut self, frame: &mut ff::frame::Audio) -> Result<Pcm, AvError> {
        let direct = frame.format() == ff::format::Sample::F32(ff::format::sample::Type::Planar)
            && frame.rate() == SAMPLE_RATE as u32
            && matches!(frame.channels(), 1 | 2);
        if direct {
            return Ok(planes(frame));
        }
        // A source without a channel layout (a plain mono or multichannel WAV) gets the default
        // layout for its channel count, on the frame too: the resampler compares every frame's
        // layout with the one it was opened with and refuses a mismatch ("Input changed").
        if frame.channel_layout().is_empty() {
            frame.set_channel_layout(ff::ChannelLayout::default(i32::from(frame.channels())));
        }
        if self.resampler.is_none() {
            self.target = if frame.channels() == 1 { ff::ChannelLayout::MONO } else { stereo() };
            self.resampler = Some(self.resampler_for(frame)?);
        }
        let mut out = ff::frame::Audio::empty();
        let shown = self.path.display();
        let resampler = self.resampler.as_mut().ok_or_else(|| super::wrap(ff::Error::Bug, "swr", &shown))?;
        resampler.run(frame, &mut out).ctx("swr_convert", &shown)?;
        Ok(planes(&out))
    }

    /// A resampler from `frame`'s format, layout and rate to 48 kHz `f32` planes in `target`.
    fn resampler_for(&self, frame: &ff::frame::Audio) -> Result<ff::software::resampling::Context, AvError> {
        let mut options = ff::Dictionary::new();
        // Normalise a downmix as ffmpeg does for 16-bit output (HyperFrames' intermediate files):
        // without it a float output keeps the raw matrix, 7.7 dB hotter for 5.1.
        options.set("rematrix_maxval", "1.0");
        ff::software::resampling::Context::get_with(
            frame.format(),
            frame.channel_layout(),
            frame.rate(),
            ff::format::Sample::F32(ff::format::sample::Type::Planar),
            self.target,
            SAMPLE_RATE as u32,
            options,
        )
        .ctx("swr_init", &self.path.display())
    }

    fn flush_resampler(&mut self) -> Result<Option<Pcm>, AvError> {
        let Some(resampler) = self.resampler.as_mut() else {
            return Ok(None);
        };
        // The flush writes into a frame that already says what the output is (an empty frame
        // would not match the resampler's output and be refused as "Output changed").
        let mut out = ff::frame::Audio::empty();
        out.set_format(ff::format::Sample::F32(ff::format::sample::Type::Planar));
        out.set_channel_layout(self.target);
        out.set_channels(self.target.channels() as u16);
        out.set_rate(SAMPLE_RATE as u32);
        match resampler.flush(&mut out) {
            Ok(_) if out.samples() > 0 => {
                let pcm = planes(&out);
                self.resampler = None;
                Ok(Some(pcm))
            }
            Ok(_) => {
                self.resampler = None;
                Ok(None)
            }
            Err(e) => Err(super::wrap(e, "swr_convert(flush)", &self.path.display())),
        }
    }
}

/// The stream's exact length in 48 kHz samples when the container states it: MP4/MOV carry it
/// in the sample table and edit list, but libav's decoder runs on to the end of the last AAC
/// frame (up to 1023 samples of padding), so the output is cut there, as players do.
fn exact_length(input: &ff::format::context::Input, stream: &ff::format::stream::Stream<'_>) -> Option<u64> {
    let format = input.format();
    let name = format.name();
    let duration = stream.duration();
    if !(name.contains("mp4") || name.contains("mov")) || duration <= 0 {
        return None;
    }
    let tb = stream.time_base();
    let (n, d) = (duration as i128 * i128::from(tb.0) * i128::from(SAMPLE_RATE), i128::from(tb.1));
    (d > 0).then(|| ((2 * n + d) / (2 * d)).clamp(0, u64::MAX as i128) as u64)
}

/// The samples of a 48 kHz `f32` planar frame; a mono frame's one plane goes to both sides.
fn planes(frame: &ff::frame::Audio) -> Pcm {
    let n = frame.samples();
    if n == 0 {
        return Pcm::default();
    }
    let left = frame.plane::<f32>(0)[..n].to_vec();
    let right = if frame.channels() == 1 { left.clone() } else { frame.plane::<f32>(1)[..n].to_vec() };
    Pcm { left, right }
}

/// An AAC-LC encoder at 48 kHz stereo and a fixed bitrate.
pub struct AacEncoder {
    encoder: ff::encoder::audio::Encoder,
    next_pts: i64,
    frames_sent: u64,
}

impl AacEncoder {
    /// Open the native AAC encoder at `bitrate` bits per second.
    pub fn open(bitrate: usize) -> Result<Self, AvError> {
        super::init();
        let codec = ff::encoder::find(ff::codec::Id::AAC).ok_or_else(|| AvError {
            op: "avcodec_find_encoder",
            subject: "aac".into(),
            code: ff::ffi::AVERROR_ENCODER_NOT_FOUND,
            message: "the linked libavcodec has no AAC encoder".into(),
        })?;
        let mut ctx = ff::codec::context::Context::new_with_codec(codec)
            .encoder()
            .audio()
            .ctx("avcodec_alloc_context3", &"aac")?;
        ctx.set_rate(SAMPLE_RATE);
        ctx.set_channel_layout(stereo());
        ctx.set_channels(2);
        ctx.set_format(ff::format::Sample::F32(ff::format::sample::Type::Planar));
        ctx.set_bit_rate(bitrate);
        ctx.set_time_base(ff::Rational(1, SAMPLE_RATE));
        ctx.set_flags(ff::codec::Flags::GLOBAL_HEADER);
        ctx.set_threading(ff::threading::Config { kind: ff::threading::Type::Frame, count: 1, ..Default::default() });
        // SAFETY: plain flag field of the context we own, set before avcodec_open2.
        unsafe { (*ctx.as_mut_ptr()).flags |= ff::ffi::AV_CODEC_FLAG_BITEXACT as i32 };
        let mut opts = ff::Dictionary::new();
        opts.set("aac_coder", "twoloop");
        let encoder = ctx.open_with(opts).ctx("avcodec_open2", &"aac")?;
        Ok(AacEncoder { encoder, next_pts: 0, frames_sent: 0 })
    }

    /// Codec parameters for the output stream (including the encoder delay).
    pub fn parameters(&self) -> ff::codec::Parameters {
        ff::codec::Parameters::from(&*self.encoder)
    }

    /// Samples of encoder delay (priming) at the start of the stream.
    #[cfg(feature = "internals")]
    pub fn delay(&self) -> i64 {
        // SAFETY: reading a plain field of the opened encoder context.
        i64::from(unsafe { (*self.encoder.as_ptr()).initial_padding })
    }

    /// Frames handed to the encoder so far.
    pub fn frames_sent(&self) -> u64 {
        self.frames_sent
    }

    /// Encode one frame of at most [`AAC_FRAME`] samples (only the last may be shorter).
    /// Packets come out stamped in 1/48000 with the priming at negative time.
    pub fn push(&mut self, left: &[f32], right: &[f32], out: &mut Vec<ff::Packet>) -> Result<(), AvError> {
        let n = left.len().min(right.len());
        let mut frame = ff::frame::Audio::new(ff::format::Sample::F32(ff::format::sample::Type::Planar), n, stereo());
        frame.set_rate(SAMPLE_RATE as u32);
        frame.plane_mut::<f32>(0)[..n].copy_from_slice(&left[..n]);
        frame.plane_mut::<f32>(1)[..n].copy_from_slice(&right[..n]);
        frame.set_pts(Some(self.next_pts));
        self.next_pts += n as i64;
        self.frames_sent += 1;
        self.encoder.send_frame(&frame).ctx("avcodec_send_frame", &"aac encoder")?;
        self.drain(out)
    }

    /// Flush the encoder's remaining packets into `out`.
    pub fn finish(&mut self, out: &mut Vec<ff::Packet>) -> Result<(), AvError> {
        self.encoder.send_eof().ctx("avcodec_send_frame(NULL)", &"aac encoder")?;
        self.drain(out)
    }

    fn drain(&mut self, out: &mut Vec<ff::Packet>) -> Result<(), AvError> {
        drain_packets(&mut self.encoder, out, "aac encoder")
    }
}

/// Move every packet an audio encoder has ready into `out` (until it wants input or has ended).
pub(super) fn drain_packets(
    encoder: &mut ff::encoder::audio::Encoder,
    out: &mut Vec<ff::Packet>,
    subject: &'static str,
) -> Result<(), AvError> {
    loop {
        let mut packet = ff::Packet::empty();
        match encoder.receive_packet(&mut packet) {
            Ok(()) => out.push(packet),
            Err(ff::Error::Eof) => return Ok(()),
            Err(ff::Error::Other { errno }) if errno == ff::util::error::EAGAIN => return Ok(()),
            Err(e) => return Err(super::wrap(e, "avcodec_receive_packet", &subject)),
        }
    }
}
