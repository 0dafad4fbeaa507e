//! Animated GIF from RGBA frames, made as HyperFrames makes it with the ffmpeg CLI: one palette
//! for the whole video (`palettegen=stats_mode=diff:reserve_transparent=1`), then every frame
//! mapped onto it (`paletteuse=dither=sierra2_4a:alpha_threshold=128`), libavcodec's GIF encoder
//! at its defaults and libavformat's GIF muxer with the Netscape loop count. The same filters,
//! encoder and muxer run here in-process on the same frames, so the file is the one the CLI
//! writes from the same libav.
//!
//! [`PaletteBuilder`] is the first pass, [`GifWriter`] the second; the frames are given twice.

use std::path::Path;

use super::mux::{Muxer, StreamSpec};
use super::{ff, find_filter, Context as _};
use crate::error::AvError;
use crate::time::Rational;

/// The first pass's filter, as HyperFrames' encode stage spells it for frames with alpha.
const PALETTEGEN: &str = "palettegen=stats_mode=diff:reserve_transparent=1";
/// The second pass's filter (input `[in]`, the palette `[pal]`).
const PALETTEUSE: &str = "[in][pal]paletteuse=dither=sierra2_4a:alpha_threshold=128[out]";

/// The whole video's palette: palettegen's 16×16 frame of 256 BGRA entries.
pub struct Palette {
    frame: ff::frame::Video,
}

/// Frames in, in order; [`finish`](Self::finish) gives the palette.
pub struct PaletteBuilder {
    graph: ff::filter::Graph,
    input: FrameInput,
}

/// What a source of a filter graph takes: frames of one size, stamped one frame apart.
struct FrameInput {
    width: u32,
    height: u32,
    next_pts: i64,
}

impl FrameInput {
    /// `buffer` arguments for BGRA frames of this size at `fps` (time base one frame). The
    /// sample aspect ratio stays unknown (0/1), as it is for the CLI's PNG input.
    fn buffer_args(&self, fps: Rational) -> String {
        format!(
            "video_size={}x{}:pix_fmt={}:time_base={}/{}:pixel_aspect=0/1",
            self.width,
            self.height,
            ff::ffi::AVPixelFormat::AV_PIX_FMT_BGRA as i32,
            fps.den,
            fps.num
        )
    }

    /// A BGRA frame holding `rgba` (tightly packed RGBA rows), stamped with the next pts.
    fn frame(&mut self, rgba: &[u8], subject: &str) -> Result<ff::frame::Video, AvError> {
        let row = self.width as usize * 4;
        if rgba.len() != row * self.height as usize {
            return Err(AvError {
                op: "frame input",
                subject: subject.into(),
                code: ff::ffi::AVERROR_INVALIDDATA,
                message: format!("frame holds {} bytes, expected {}", rgba.len(), row * self.height as usize),
            });
        }
        let mut frame = ff::frame::Video::new(ff::format::Pixel::BGRA, self.width, self.height);
        let stride = frame.stride(0);
        let dst = frame.data_mut(0);
        for (y, line) in rgba.chunks_exact(row).enumerate() {
            let out = &mut dst[y * stride..y * stride + row];
            for (o, px) in out.chunks_exact_mut(4).zip(line.chunks_exact(4)) {
                o.copy_from_slice(&[px[2], px[1], px[0], px[3]]);
            }
        }
        frame.set_pts(Some(self.next_pts));
        self.next_pts += 1;
        Ok(frame)
    }
}

impl PaletteBuilder {
    /// A first pass over `width`×`height` frames at `fps`.
    pub fn new(width: u32, height: u32, fps: Rational) -> Result<Self, AvError> {
        super::init();
        let input = FrameInput { width, height, next_pts: 0 };
        let mut graph = ff::filter::Graph::new();
        graph
            .add(&find_filter("buffer")?, "in", &input.buffer_args(fps))
            .ctx("avfilter_graph_create_filter", &"gif palette")?;
        graph.add(&find_filter("buffersink")?, "out", "").ctx("avfilter_graph_create_filter", &"gif palette")?;
        let parser = graph.output("in", 0).and_then(|p| p.input("out", 0)).ctx("avfilter_inout", &"gif palette")?;
        parser.parse(PALETTEGEN).ctx("avfilter_graph_parse_ptr", &PALETTEGEN)?;
        graph.validate().ctx("avfilter_graph_config", &PALETTEGEN)?;
        Ok(PaletteBuilder { graph, input })
    }

    /// Count one frame's colours (tightly packed RGBA).
    pub fn add(&mut self, rgba: &[u8]) -> Result<(), AvError> {
        let frame = self.input.frame(rgba, "gif palette")?;
        source(&mut self.graph, "in")?.source().add(&frame).ctx("av_buffersrc_add_frame", &"gif palette")
    }

    /// End the pass: the palette of every frame added.
    pub fn finish(mut self) -> Result<Palette, AvError> {
        source(&mut self.graph, "in")?.source().flush().ctx("av_buffersrc_add_frame", &"gif palette")?;
        let mut frame = ff::frame::Video::empty();
        sink(&mut self.graph)?.sink().frame(&mut frame).ctx("av_buffersink_get_frame", &"gif palette")?;
        Ok(Palette { frame })
    }
}

fn source(graph: &mut ff::filter::Graph, name: &str) -> Result<ff::filter::Context, AvError> {
    graph.get(name).ok_or_else(|| missing(name))
}

fn sink(graph: &mut ff::filter::Graph) -> Result<ff::filter::Context, AvError> {
    graph.get("out").ok_or_else(|| missing("out"))
}

fn missing(name: &str) -> AvError {
    AvError {
        op: "avfilter_graph_get_filter",
        subject: name.into(),
        code: ff::ffi::AVERROR_BUG,
        message: format!("filter {name} is not in its graph"),
    }
}

/// The second pass: frames mapped onto the palette, encoded and muxed into one GIF file.
pub struct GifWriter {
    graph: ff::filter::Graph,
    input: FrameInput,
    encoder: ff::encoder::video::Encoder,
    muxer: Muxer,
    encoder_time_base: ff::Rational,
    stream_time_base: ff::Rational,
    frames: i64,
}

impl GifWriter {
    /// Create `path` for `width`×`height` frames at `fps` mapped onto `palette`, played `loops`
    /// times over (0: for ever, as GIF's Netscape extension spells it).
    pub fn create(path: &Path, size: (u32, u32), fps: Rational, loops: u16, palette: Palette) -> Result<Self, AvError> {
        super::init();
        let (width, height) = size;
        let input = FrameInput { width, height, next_pts: 0 };
        let graph = mapping_graph(&input, fps, palette)?;
        let encoder_time_base = ff::Rational(fps.den as i32, fps.num as i32);
        let encoder = open_encoder(width, height, encoder_time_base)?;
        let mut muxer = Muxer::create(path, "gif")?;
        let parameters = ff::codec::Parameters::from(&encoder);
        let time_base = Rational { num: fps.den, den: fps.num };
        muxer.add_stream(StreamSpec { parameters, time_base, frame_rate: Some(fps) })?;
        muxer.write_header(&[("loop", loops.to_string())])?;
        let tb = muxer.time_base(0);
        let stream_time_base = ff::Rational(tb.num as i32, tb.den as i32);
        Ok(GifWriter { graph, input, encoder, muxer, encoder_time_base, stream_time_base, frames: 0 })
    }

    /// Map, encode and write one frame (tightly packed RGBA).
    pub fn add(&mut self, rgba: &[u8]) -> Result<(), AvError> {
        let frame = self.input.frame(rgba, "gif")?;
        source(&mut self.graph, "in")?.source().add(&frame).ctx("av_buffersrc_add_frame", &"gif")?;
        self.drain_graph()
    }

    /// Flush the filters, the encoder and the muxer; returns the frames written.
    pub fn finish(mut self) -> Result<i64, AvError> {
        source(&mut self.graph, "in")?.source().flush().ctx("av_buffersrc_add_frame", &"gif")?;
        self.drain_graph()?;
        self.encoder.send_eof().ctx("avcodec_send_frame", &"gif encoder")?;
        self.drain_encoder()?;
        self.muxer.finish()?;
        Ok(self.frames)
    }

    fn drain_graph(&mut self) -> Result<(), AvError> {
        let mut mapped = ff::frame::Video::empty();
        loop {
            match sink(&mut self.graph)?.sink().frame(&mut mapped) {
                Ok(()) => {}
                Err(ff::Error::Other { errno }) if errno == ff::util::error::EAGAIN => return Ok(()),
                Err(ff::Error::Eof) => return Ok(()),
                Err(e) => return Err(super::wrap(e, "av_buffersink_get_frame", &"gif")),
            }
            self.encoder.send_frame(&mapped).ctx("avcodec_send_frame", &"gif encoder")?;
            self.drain_encoder()?;
        }
    }

    fn drain_encoder(&mut self) -> Result<(), AvError> {
        let mut packet = ff::Packet::empty();
        loop {
            match self.encoder.receive_packet(&mut packet) {
                Ok(()) => {}
                Err(ff::Error::Other { errno }) if errno == ff::util::error::EAGAIN => return Ok(()),
                Err(ff::Error::Eof) => return Ok(()),
                Err(e) => return Err(super::wrap(e, "avcodec_receive_packet", &"gif encoder")),
            }
            packet.set_stream(0);
            packet.rescale_ts(self.encoder_time_base, self.stream_time_base);
            self.muxer.write_interleaved(&packet)?;
            self.frames += 1;
        }
    }
}

/// The second pass's graph: frames at `[in]` mapped onto `palette`, already given at `[pal]`.
fn mapping_graph(input: &FrameInput, fps: Rational, mut palette: Palette) -> Result<ff::filter::Graph, AvError> {
    let mut graph = ff::filter::Graph::new();
    let pal = &palette.frame;
    let pal_args = format!(
        "video_size={}x{}:pix_fmt={}:time_base=1/1:pixel_aspect=0/1",
        pal.width(),
        pal.height(),
        ff::ffi::AVPixelFormat::from(pal.format()) as i32
    );
    graph.add(&find_filter("buffer")?, "in", &input.buffer_args(fps)).ctx("avfilter_graph_create_filter", &"gif")?;
    graph.add(&find_filter("buffer")?, "pal", &pal_args).ctx("avfilter_graph_create_filter", &"gif")?;
    graph.add(&find_filter("buffersink")?, "out", "").ctx("avfilter_graph_create_filter", &"gif")?;
    let parser = graph
        .output("in", 0)
        .and_then(|p| p.output("pal", 0))
        .and_then(|p| p.input("out", 0))
        .ctx("avfilter_inout", &"gif")?;
    parser.parse(PALETTEUSE).ctx("avfilter_graph_parse_ptr", &PALETTEUSE)?;
    graph.validate().ctx("avfilter_graph_config", &PALETTEUSE)?;
    let mut pal_source = source(&mut graph, "pal")?;
    palette.frame.set_pts(Some(0));
    pal_source.source().add(&palette.frame).ctx("av_buffersrc_add_frame", &"gif palette")?;
    pal_source.source().flush().ctx("av_buffersrc_add_frame", &"gif palette")?;
    Ok(graph)
}

/// libavcodec's GIF encoder at its defaults (offsetting, transparency between frames, a global
/// palette), for PAL8 frames stamped in `time_base`.
fn open_encoder(width: u32, height: u32, time_base: ff::Rational) -> Result<ff::encoder::video::Encoder, AvError> {
    let codec = ff::encoder::find(ff::codec::Id::GIF).ok_or_else(|| AvError {
        op: "avcodec_find_encoder",
        subject: "gif".into(),
        code: ff::ffi::AVERROR_ENCODER_NOT_FOUND,
        message: "the linked libavcodec has no GIF encoder".into(),
    })?;
    let mut ctx =
        ff::codec::context::Context::new_with_codec(codec).encoder().video().ctx("avcodec_alloc_context3", &"gif")?;
    ctx.set_width(width);
    ctx.set_height(height);
    ctx.set_format(ff::format::Pixel::PAL8);
    ctx.set_time_base(time_base);
    ctx.open().ctx("avcodec_open2", &"gif")
}
