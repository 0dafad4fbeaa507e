//! Video encoding for chunks: libx264 closed-GOP H.264, libx265 closed-GOP H.265 (`hvc1`),
//! ProRes 4444 and libvpx VP9 with alpha,
//! fed tightly packed yuv420p or RGBA frames, with BT.709 / TV-range colour conversion done
//! bit-exactly by swscale.

use super::{check, ff, Context as _};
use crate::error::AvError;
use crate::time::{Fps, Rational};

/// Which codec a chunk is encoded with, and every knob that changes its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VideoCodec {
    /// libx264, 8-bit 4:2:0.
    H264 {
        /// x264 preset (`ultrafast` … `veryslow`).
        preset: String,
        /// Constant rate factor (0..=51); exclusive with `bitrate`.
        crf: Option<u32>,
        /// Target bitrate in bits per second; exclusive with `crf`.
        bitrate: Option<u64>,
        /// x264 thread count, fixed so output bytes do not depend on the machine.
        threads: u32,
        /// More x264 options (`key=value:…`, e.g. `aq-mode=3`), applied after the fixed
        /// closed-GOP ones; empty for the preset's own tuning.
        params: String,
    },
    /// libx265, 8-bit 4:2:0 H.265 tagged `hvc1` (the sample entry Apple's players open).
    H265 {
        /// x265 preset (`ultrafast` … `veryslow`).
        preset: String,
        /// Constant rate factor (0..=51); exclusive with `bitrate`.
        crf: Option<u32>,
        /// Target bitrate in bits per second; exclusive with `crf`.
        bitrate: Option<u64>,
        /// Threads of x265's pool (one frame thread), fixed so output bytes do not depend on
        /// the machine.
        threads: u32,
        /// More x265 options (`key=value:…`), applied after the fixed closed-GOP ones.
        params: String,
    },
    /// ProRes 4444 with alpha (`prores_ks`, yuva444p10le).
    ProRes4444 {
        /// Slice-thread count.
        threads: u32,
    },
    /// VP9 with alpha through libvpx (yuva420p: the alpha plane is encoded as a second VP9
    /// stream and carried as each packet's BlockAdditional side data).
    Vp9 {
        /// libvpx deadline: `good` or `realtime`.
        deadline: String,
        /// libvpx `cpu-used` (-8..=8).
        cpu_used: i32,
        /// Constant quality (0..=63, with an unconstrained bitrate); exclusive with `bitrate`.
        crf: Option<u32>,
        /// Target bitrate in bits per second; exclusive with `crf`.
        bitrate: Option<u64>,
        /// libvpx thread count, fixed so output bytes do not depend on the machine.
        threads: u32,
    },
}

/// Everything the encoder needs to produce one chunk.
#[derive(Debug, Clone)]
pub struct VideoEncoderConfig {
    /// Frame width in pixels (even for H.264).
    pub width: u32,
    /// Frame height in pixels (even for H.264).
    pub height: u32,
    /// Frame rate of the composition.
    pub fps: Fps,
    /// GOP length (`keyint`): the plan's `gopSize`. One encoder encodes one GOP; a chunk of
    /// several GOPs reopens it at each boundary ([`VideoEncoder::reopen`]).
    pub gop: u32,
    /// Codec and its settings.
    pub codec: VideoCodec,
}

/// Pixel layout of frames handed to the encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameFormat {
    /// Three tightly packed planes Y (w×h), U and V (w/2×h/2), BT.709 TV range already.
    Yuv420p,
    /// One tightly packed plane of 8-bit RGBA (w×h×4), full range sRGB.
    Rgba,
}

/// An open video encoder producing packets in its own time base.
pub struct VideoEncoder {
    encoder: ff::encoder::video::Encoder,
    config: VideoEncoderConfig,
    target: ff::format::Pixel,
    time_base: Rational,
    scaler: Option<ff::software::scaling::Context>,
    next_frame: i64,
    /// The last yuv420p input frame, refilled for the next one when the encoder no longer holds
    /// it (a 1080p frame is 3 MB: allocating one per frame costs page faults on every frame).
    spare: Option<ff::frame::Video>,
}

/// The x264 options of a chunk: one closed GOP with headers, fixed threading and BT.709 TV-range
/// tags, then `extra`, the plan's tuning (HyperFrames' AQ and deblocking; x264 applies options
/// in order, so the plan's never touch the GOP keys before it).
fn x264_params(gop: u32, threads: u32, extra: &str) -> String {
    let fixed = format!(
        "keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0:open-gop=0:repeat-headers=1:\
         threads={threads}:lookahead-threads=1:sliced-threads=0:colorprim=bt709:\
         transfer=bt709:colormatrix=bt709:range=tv"
    );
    join_params(fixed, extra)
}

/// The x265 options of a chunk, as HyperFrames locks a chunked H.265 GOP (`keyint`,
/// `min-keyint`, no scene cuts, closed GOP, headers repeated, no B-frames) with x265's threading
/// fixed (one frame thread, a pool of `threads`: wavefront rows give the same bytes for any pool
/// size, frame threads do not), its console log off (x265 prints to stderr itself) and no
/// version SEI (x265 writes the machine's CPU feature mask into it, which would make the bytes
/// depend on the worker), then `extra`, the plan's tuning.
fn x265_params(gop: u32, threads: u32, extra: &str) -> String {
    let fixed = format!(
        "keyint={gop}:min-keyint={gop}:scenecut=0:open-gop=0:repeat-headers=1:bframes=0:\
         pools={threads}:frame-threads=1:colorprim=bt709:transfer=bt709:colormatrix=bt709:\
         range=limited:log-level=error:info=0"
    );
    join_params(fixed, extra)
}

fn join_params(fixed: String, extra: &str) -> String {
    match extra {
        "" => fixed,
        extra => format!("{fixed}:{extra}"),
    }
}

/// `hvc1`, the MP4 sample entry of HEVC with its parameter sets in the sample description:
/// Apple's players refuse libavformat's default `hev1`.
const HVC1: u32 = u32::from_le_bytes(*b"hvc1");

impl VideoEncoder {
    /// Open the encoder described by `config`.
    pub fn open(config: VideoEncoderConfig) -> Result<Self, AvError> {
        let (encoder, target, time_base) = open_context(&config)?;
        Ok(VideoEncoder { encoder, config, target, time_base, scaler: None, next_frame: 0, spare: None })
    }

    /// A fresh encoder with the same configuration, for the next GOP: no lookahead, rate-control
    /// or reference state carries over, so a GOP's bytes depend only on its own frames. The
    /// colour converter and the spare input frame are kept. Call [`VideoEncoder::finish`] first.
    pub fn reopen(&mut self) -> Result<(), AvError> {
        let (encoder, _, _) = open_context(&self.config)?;
        self.encoder = encoder;
        self.next_frame = 0;
        Ok(())
    }

    /// Whether a new GOP needs a new encoder: x264, x265 and libvpx carry state from frame to frame;
    /// ProRes frames are independent anyway.
    pub fn has_state(&self) -> bool {
        matches!(self.config.codec, VideoCodec::H264 { .. } | VideoCodec::H265 { .. } | VideoCodec::Vp9 { .. })
    }

    /// Whether packets carry the alpha plane as Matroska BlockAdditional side data (VP9 with
    /// alpha), so the stream must be tagged `alpha_mode=1`.
    pub fn alpha_side_data(&self) -> bool {
        matches!(self.config.codec, VideoCodec::Vp9 { .. })
    }

    /// The encoder's time base (packets come stamped in it).
    pub fn time_base(&self) -> Rational {
        self.time_base
    }

    /// Codec parameters for the output stream.
    pub fn parameters(&self) -> ff::codec::Parameters {
        ff::codec::Parameters::from(&*self.encoder)
    }

    /// Encode one frame given as tightly packed pixels in `format`; finished packets are appended
    /// to `out`.
    pub fn push(&mut self, format: FrameFormat, pixels: &[u8], out: &mut Vec<ff::Packet>) -> Result<(), AvError> {
        let (w, h) = (self.config.width, self.config.height);
        // yuv420p in, yuv420p to x264: the input frame itself is encoded, and can be reused.
        let direct = format == FrameFormat::Yuv420p && self.target == ff::format::Pixel::YUV420P;
        let mut frame = match format {
            FrameFormat::Yuv420p if direct => fill_yuv420p(self.spare.take().filter(is_writable), pixels, w, h)?,
            FrameFormat::Yuv420p => {
                let src = fill_yuv420p(None, pixels, w, h)?;
                self.convert(&src, ff::format::Pixel::YUV420P)?
            }
            FrameFormat::Rgba => {
                let src = fill_packed(pixels, ff::format::Pixel::RGBA, w, h, 4)?;
                self.convert(&src, ff::format::Pixel::RGBA)?
            }
        };
        frame.set_color_range(ff::color::Range::MPEG);
        frame.set_color_space(ff::color::Space::BT709);
        frame.set_pts(Some(self.config.fps.frame_to_ts(self.next_frame, self.time_base)));
        self.next_frame += 1;
        self.encoder.send_frame(&frame).ctx("avcodec_send_frame", &"video encoder")?;
        if direct {
            self.spare = Some(frame);
        }
        self.drain(out)
    }

    /// Flush the encoder; the remaining packets are appended to `out`.
    pub fn finish(&mut self, out: &mut Vec<ff::Packet>) -> Result<(), AvError> {
        self.encoder.send_eof().ctx("avcodec_send_frame(NULL)", &"video encoder")?;
        self.drain(out)
    }

    fn drain(&mut self, out: &mut Vec<ff::Packet>) -> Result<(), AvError> {
        loop {
            let mut packet = ff::Packet::empty();
            match self.encoder.receive_packet(&mut packet) {
                Ok(()) => {
                    let dur = self.config.fps.frame_to_ts(1, self.time_base);
                    packet.set_duration(dur);
                    out.push(packet);
                }
                Err(ff::Error::Eof) => return Ok(()),
                Err(ff::Error::Other { errno }) if errno == ff::util::error::EAGAIN => return Ok(()),
                Err(e) => return Err(super::wrap(e, "avcodec_receive_packet", &"video encoder")),
            }
        }
    }

    fn convert(&mut self, src: &ff::frame::Video, from: ff::format::Pixel) -> Result<ff::frame::Video, AvError> {
        let (w, h) = (self.config.width, self.config.height);
        if self.scaler.is_none() {
            self.scaler = Some(bt709_scaler(from, self.target, w, h)?);
        }
        let mut dst = ff::frame::Video::new(self.target, w, h);
        let scaler = self.scaler.as_mut().ok_or_else(|| bug("scaler"))?;
        scaler.run(src, &mut dst).ctx("sws_scale", &"colour conversion")?;
        Ok(dst)
    }
}

/// An opened libav encoder for `config`, with the pixel format it takes and its time base.
fn open_context(
    config: &VideoEncoderConfig,
) -> Result<(ff::encoder::video::Encoder, ff::format::Pixel, Rational), AvError> {
    super::init();
    let (id, name, target) = match config.codec {
        VideoCodec::H264 { .. } => (ff::codec::Id::H264, "libx264", ff::format::Pixel::YUV420P),
        VideoCodec::H265 { .. } => (ff::codec::Id::HEVC, "libx265", ff::format::Pixel::YUV420P),
        VideoCodec::ProRes4444 { .. } => (ff::codec::Id::PRORES, "prores_ks", ff::format::Pixel::YUVA444P10LE),
        VideoCodec::Vp9 { .. } => (ff::codec::Id::VP9, "libvpx-vp9", ff::format::Pixel::YUVA420P),
    };
    let codec = ff::encoder::find_by_name(name).ok_or_else(|| AvError {
        op: "avcodec_find_encoder_by_name",
        subject: name.to_string(),
        code: ff::ffi::AVERROR_ENCODER_NOT_FOUND,
        message: format!("encoder {name} is not in the linked libavcodec"),
    })?;
    debug_assert_eq!(codec.id(), id);
    let time_base = config.fps.video_time_base();
    let mut ctx =
        ff::codec::context::Context::new_with_codec(codec).encoder().video().ctx("avcodec_alloc_context3", &name)?;
    ctx.set_width(config.width);
    ctx.set_height(config.height);
    ctx.set_format(target);
    ctx.set_time_base(ff::Rational(time_base.num as i32, time_base.den as i32));
    ctx.set_frame_rate(Some(ff::Rational(config.fps.num() as i32, config.fps.den() as i32)));
    ctx.set_gop(config.gop);
    ctx.set_max_b_frames(0);
    ctx.set_colorspace(ff::color::Space::BT709);
    ctx.set_color_range(ff::color::Range::MPEG);
    ctx.set_color_primaries(ff::color::Primaries::BT709);
    ctx.set_color_transfer_characteristic(ff::color::TransferCharacteristic::BT709);
    ctx.set_flags(ff::codec::Flags::CLOSED_GOP | ff::codec::Flags::GLOBAL_HEADER);
    let mut opts = ff::Dictionary::new();
    match &config.codec {
        VideoCodec::H264 { preset, crf, bitrate, threads, params } => {
            x26x_rate(&mut opts, &mut ctx, preset, *crf, *bitrate);
            opts.set("x264-params", &x264_params(config.gop, *threads, params));
            ctx.set_threading(ff::threading::Config {
                kind: ff::threading::Type::Frame,
                count: 1,
                ..Default::default()
            });
        }
        VideoCodec::H265 { preset, crf, bitrate, threads, params } => {
            x26x_rate(&mut opts, &mut ctx, preset, *crf, *bitrate);
            opts.set("x265-params", &x265_params(config.gop, *threads, params));
            // SAFETY: plain field of the context we own, set before avcodec_open2.
            unsafe { (*ctx.as_mut_ptr()).codec_tag = HVC1 };
        }
        VideoCodec::ProRes4444 { threads } => {
            opts.set("profile", "4444");
            opts.set("vendor", "apl0");
            ctx.set_threading(ff::threading::Config {
                kind: ff::threading::Type::Slice,
                count: *threads as usize,
                ..Default::default()
            });
        }
        VideoCodec::Vp9 { deadline, cpu_used, crf, bitrate, threads } => {
            vp9_options(&mut opts, config.gop, deadline, *cpu_used, *crf);
            ctx.set_bit_rate(bitrate.unwrap_or(0) as usize);
            ctx.set_threading(ff::threading::Config {
                kind: ff::threading::Type::Frame,
                count: *threads as usize,
                ..Default::default()
            });
        }
    }
    // SAFETY: plain flag field of the context we own, set before avcodec_open2.
    unsafe { (*ctx.as_mut_ptr()).flags |= ff::ffi::AV_CODEC_FLAG_BITEXACT as i32 };
    let encoder = ctx.open_with(opts).ctx("avcodec_open2", &name)?;
    Ok((encoder, target, time_base))
}

/// The preset and rate control libx264 and libx265 share (libavcodec's wrappers take the same
/// option names), and an IDR wherever a keyframe is forced.
fn x26x_rate(
    opts: &mut ff::Dictionary,
    ctx: &mut ff::encoder::video::Video,
    preset: &str,
    crf: Option<u32>,
    bitrate: Option<u64>,
) {
    opts.set("preset", preset);
    if let Some(crf) = crf {
        opts.set("crf", &crf.to_string());
    }
    if let Some(rate) = bitrate {
        ctx.set_bit_rate(rate as usize);
    }
    opts.set("forced-idr", "1");
}

/// libvpx-vp9's options for one closed GOP, as HyperFrames sets them for chunked WebM: every
/// keyframe interval and its minimum the GOP (no keyframe placed on a scene change inside it), no
/// alt-ref frames (they may reference across the GOP, and libvpx cannot combine them with alpha),
/// row-based multithreading, the deadline and `cpu-used` the plan locks, and constant quality
/// (`crf` with `b:v 0`) unless a bitrate is given.
fn vp9_options(opts: &mut ff::Dictionary, gop: u32, deadline: &str, cpu_used: i32, crf: Option<u32>) {
    opts.set("deadline", deadline);
    opts.set("cpu-used", &cpu_used.to_string());
    opts.set("row-mt", "1");
    opts.set("auto-alt-ref", "0");
    opts.set("keyint_min", &gop.to_string());
    if let Some(crf) = crf {
        opts.set("crf", &crf.to_string());
    }
}

/// RGBA → tightly packed BT.709 TV-range yuv420p, with exactly the conversion the encoder would
/// apply itself; lets a pipeline convert on another thread than the one running x264.
pub struct Yuv420Converter {
    scaler: ff::software::scaling::Context,
    width: u32,
    height: u32,
}

impl Yuv420Converter {
    /// A converter for `width`×`height` frames.
    pub fn new(width: u32, height: u32) -> Result<Self, AvError> {
        super::init();
        let scaler = bt709_scaler(ff::format::Pixel::RGBA, ff::format::Pixel::YUV420P, width, height)?;
        Ok(Yuv420Converter { scaler, width, height })
    }

    /// Convert one tightly packed RGBA frame into tightly packed Y, U, V planes.
    pub fn convert(&mut self, rgba: &[u8]) -> Result<Vec<u8>, AvError> {
        let (w, h) = (self.width, self.height);
        let src = fill_packed(rgba, ff::format::Pixel::RGBA, w, h, 4)?;
        let mut dst = ff::frame::Video::new(ff::format::Pixel::YUV420P, w, h);
        self.scaler.run(&src, &mut dst).ctx("sws_scale", &"colour conversion")?;
        let (w, h) = (w as usize, h as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let mut out = Vec::with_capacity(w * h + 2 * cw * ch);
        for (index, pw, ph) in [(0, w, h), (1, cw, ch), (2, cw, ch)] {
            let stride = dst.stride(index);
            let data = dst.data(index);
            for y in 0..ph {
                out.extend_from_slice(&data[y * stride..y * stride + pw]);
            }
        }
        Ok(out)
    }
}

fn bug(what: &str) -> AvError {
    AvError {
        op: "internal",
        subject: what.to_string(),
        code: ff::ffi::AVERROR_BUG,
        message: "unreachable state".into(),
    }
}

/// A swscale context converting full-range RGB (or TV-range 4:2:0) into BT.709 TV-range `to`,
/// with bit-exact arithmetic so every CPU produces the same bytes.
fn bt709_scaler(
    from: ff::format::Pixel,
    to: ff::format::Pixel,
    w: u32,
    h: u32,
) -> Result<ff::software::scaling::Context, AvError> {
    use ff::software::scaling::Flags;
    let flags = Flags::BICUBIC | Flags::ACCURATE_RND | Flags::BITEXACT | Flags::FULL_CHR_H_INT;
    let mut ctx =
        ff::software::scaling::Context::get(from, w, h, to, w, h, flags).ctx("sws_getContext", &"colour conversion")?;
    let src_full = i32::from(from == ff::format::Pixel::RGBA);
    // SAFETY: ctx is a live SwsContext; sws_getCoefficients returns pointers to static tables.
    let ret = unsafe {
        let bt709 = ff::ffi::sws_getCoefficients(ff::ffi::SWS_CS_ITU709);
        ff::ffi::sws_setColorspaceDetails(ctx.as_mut_ptr(), bt709, src_full, bt709, 0, 0, 1 << 16, 1 << 16)
    };
    check(ret, "sws_setColorspaceDetails", &"colour conversion")?;
    Ok(ctx)
}

/// Whether no one else holds a reference to the frame's buffers, so they may be overwritten.
fn is_writable(frame: &ff::frame::Video) -> bool {
    // SAFETY: the frame is live; av_frame_is_writable only reads its buffer reference counts.
    unsafe { ff::ffi::av_frame_is_writable(frame.as_ptr().cast_mut()) > 0 }
}

/// Copy tightly packed yuv420p planes into a libav frame (whose rows may be padded): `reuse` if
/// given (a writable frame of this size and format), else a new one.
fn fill_yuv420p(reuse: Option<ff::frame::Video>, pixels: &[u8], w: u32, h: u32) -> Result<ff::frame::Video, AvError> {
    let (w, h) = (w as usize, h as usize);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let need = w * h + 2 * cw * ch;
    if pixels.len() != need {
        return Err(size_error(pixels.len(), need));
    }
    let mut frame = reuse.unwrap_or_else(|| ff::frame::Video::new(ff::format::Pixel::YUV420P, w as u32, h as u32));
    let planes = [(0, w, h, 0usize), (1, cw, ch, w * h), (2, cw, ch, w * h + cw * ch)];
    for (index, pw, ph, offset) in planes {
        copy_plane(&mut frame, index, &pixels[offset..offset + pw * ph], pw, ph);
    }
    Ok(frame)
}

fn fill_packed(
    pixels: &[u8],
    format: ff::format::Pixel,
    w: u32,
    h: u32,
    bpp: usize,
) -> Result<ff::frame::Video, AvError> {
    let row = w as usize * bpp;
    let need = row * h as usize;
    if pixels.len() != need {
        return Err(size_error(pixels.len(), need));
    }
    let mut frame = ff::frame::Video::new(format, w, h);
    copy_plane(&mut frame, 0, pixels, row, h as usize);
    Ok(frame)
}

fn copy_plane(frame: &mut ff::frame::Video, index: usize, src: &[u8], row: usize, rows: usize) {
    let stride = frame.stride(index);
    let dst = frame.data_mut(index);
    for (y, line) in src.chunks_exact(row).take(rows).enumerate() {
        dst[y * stride..y * stride + row].copy_from_slice(line);
    }
}

fn size_error(got: usize, need: usize) -> AvError {
    AvError {
        op: "frame input",
        subject: "video encoder".to_string(),
        code: ff::ffi::AVERROR_INVALIDDATA,
        message: format!("frame holds {got} bytes, expected {need}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The x264 settings string the encoder writes into the first packet (its SEI).
    fn sei_of(params: &str) -> String {
        let codec = VideoCodec::H264 {
            preset: "medium".into(),
            crf: Some(16),
            bitrate: None,
            threads: 1,
            params: params.into(),
        };
        let fps = Fps::new(30, 1).expect("30 fps");
        let mut enc =
            VideoEncoder::open(VideoEncoderConfig { width: 64, height: 64, fps, gop: 2, codec }).expect("open");
        let mut packets = Vec::new();
        let grey = vec![128u8; 64 * 64 * 3 / 2];
        enc.push(FrameFormat::Yuv420p, &grey, &mut packets).expect("push");
        enc.finish(&mut packets).expect("finish");
        let data = packets.first().and_then(|p| p.data()).expect("a packet");
        let text = String::from_utf8_lossy(data);
        let at = text.find("options: ").expect("x264 SEI");
        text[at..].split('\0').next().unwrap_or_default().to_string()
    }

    #[test]
    fn tuning_follows_the_closed_gop_options() {
        let tuned = sei_of("aq-mode=3:aq-strength=0.8:deblock=1,1");
        for want in ["aq=3:0.80", "deblock=1:1:1", "keyint=2", "scenecut=0", "bframes=0", "crf=16.0"] {
            assert!(tuned.contains(want), "{want} not in {tuned}");
        }
        let plain = sei_of("");
        assert!(plain.contains("aq=1:1.00") && plain.contains("deblock=1:0:0"), "{plain}");
    }
}
