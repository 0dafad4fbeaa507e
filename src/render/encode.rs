//! Writing one chunk artifact from frames: closed-GOP H.264 in MP4, ProRes 4444 in MOV, VP9
//! with alpha in WebM, or a directory of RGBA PNG frames, built at a staging path and renamed into place when complete.
//!
//! A chunk is a run of whole GOPs (it starts on a multiple of the plan's `gopSize`), and each
//! GOP is encoded by an encoder of its own, opened at the GOP's first frame and flushed at its
//! last: no lookahead, rate-control or reference state crosses a GOP boundary. Packets are
//! stamped by their frame's place in the chunk. So a GOP's packets depend only on its frames and
//! the settings (x264's thread count included), never on the chunking or the machine, and any
//! chunking of a plan assembles to the same bytes; retries are byte-identical.

use std::path::Path;

use crate::av::ff;
use crate::av::mux::{Muxer, StreamSpec};
use crate::av::png::PngEncoder;
use crate::av::video::{FrameFormat, VideoEncoder, VideoEncoderConfig};
use crate::error::{Code, Error, Result};
use crate::plan::format::Container;
#[cfg(feature = "internals")]
use crate::plan::{format::Encoder, OutputFormat};
use crate::publish::{StagedDir, StagedFile};
use crate::time::{Fps, Rational};

/// A finished chunk: frames written and the artifact's digest (as in its sidecar).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkOutput {
    /// Frames in the chunk.
    pub frames: i64,
    /// sha256 of the file, or of the frame directory (see [`crate::digest`]).
    pub sha256: String,
}

#[allow(clippy::large_enum_variant)] // one per chunk writer; boxing buys nothing
enum Sink {
    Video { encoder: VideoEncoder, muxer: Muxer, staged: StagedFile, packets: Vec<ff::Packet>, stamps: Stamps },
    Png { encoder: PngEncoder, staged: StagedDir },
}

/// Builds one chunk artifact frame by frame.
pub struct ChunkWriter {
    sink: Sink,
    first_frame: i64,
    frames: i64,
    gop: i64,
    out: std::path::PathBuf,
}

/// Stamps packets in the muxer's time base by their frame's place in the chunk (no B-frames, so
/// packets come in frame order), whatever encoder of the chunk produced them.
struct Stamps {
    fps: Fps,
    tb: Rational,
    next: i64,
}

fn media(out: &Path) -> impl Fn(crate::error::AvError) -> Error + '_ {
    move |e| Error::av(Code::MediaFailed, e).prefixed(&format!("encoding chunk {}", out.display()))
}

/// What a chunk's frames are encoded into.
#[derive(Debug, Clone)]
pub enum ChunkEncoding {
    /// Video packets from a libav encoder, in `Container` (a muxed file).
    Video(Container, VideoEncoderConfig),
    /// One RGBA PNG file per frame, in a directory.
    Png {
        /// Frame width in pixels.
        width: u32,
        /// Frame height in pixels.
        height: u32,
    },
}

impl ChunkEncoding {
    /// The encoding of chunks of `format` with `config`, for callers that build the video
    /// settings themselves (tests, benches): `config`'s codec is used as given; a PNG sequence
    /// takes only its size.
    #[cfg(feature = "internals")]
    pub fn of(format: OutputFormat, config: VideoEncoderConfig) -> Self {
        match format.spec().encoder {
            Encoder::Png => ChunkEncoding::Png { width: config.width, height: config.height },
            Encoder::Libx264 | Encoder::Libx265 | Encoder::ProresKs | Encoder::LibvpxVp9 => {
                ChunkEncoding::Video(format.spec().container, config)
            }
        }
    }
}

impl ChunkWriter {
    /// Start a chunk at `out` in `format`; `first_frame` is the chunk's first absolute frame
    /// (PNG frames are named from it). For PNG sequences only the size in `config` is used.
    #[cfg(feature = "internals")]
    pub fn create(out: &Path, format: OutputFormat, config: VideoEncoderConfig, first_frame: i64) -> Result<Self> {
        Self::open(out, ChunkEncoding::of(format, config), first_frame)
    }

    /// Start a chunk at `out` encoded as `encoding`, beginning at absolute frame `first_frame`.
    pub fn open(out: &Path, encoding: ChunkEncoding, first_frame: i64) -> Result<Self> {
        let (sink, gop) = match encoding {
            ChunkEncoding::Video(container, config) => {
                let Some(name) = container.muxer() else {
                    return Err(Error::new(Code::InvalidConfig, "a frame directory holds no video stream"));
                };
                let encoder = VideoEncoder::open(config.clone()).map_err(media(out))?;
                let staged = StagedFile::new(out)?;
                let mut muxer = Muxer::create(staged.path(), name).map_err(media(out))?;
                let spec = StreamSpec {
                    parameters: encoder.parameters(),
                    time_base: encoder.time_base(),
                    frame_rate: Some(config.fps.rate()),
                };
                let index = muxer.add_stream(spec).map_err(media(out))?;
                if encoder.alpha_side_data() {
                    muxer.set_stream_metadata(index, "alpha_mode", "1").map_err(media(out))?;
                }
                muxer.write_header(&[]).map_err(media(out))?;
                let stamps = Stamps { fps: config.fps, tb: muxer.time_base(0), next: 0 };
                (Sink::Video { encoder, muxer, staged, packets: Vec::new(), stamps }, config.gop)
            }
            ChunkEncoding::Png { width, height } => {
                let encoder = PngEncoder::open(width, height).map_err(media(out))?;
                (Sink::Png { encoder, staged: StagedDir::new(out)? }, 1)
            }
        };
        let gop = i64::from(gop.max(1));
        Ok(ChunkWriter { sink, first_frame, frames: 0, gop, out: out.to_path_buf() })
    }

    /// Add the next frame, tightly packed in `format` (PNG chunks take RGBA only).
    pub fn push(&mut self, format: FrameFormat, pixels: &[u8]) -> Result<()> {
        let out = self.out.clone();
        let gop_start = self.frames > 0 && (self.first_frame + self.frames) % self.gop == 0;
        match &mut self.sink {
            Sink::Video { encoder, muxer, packets, stamps, .. } => {
                if gop_start && encoder.has_state() {
                    next_gop(encoder, packets).map_err(media(&out))?;
                }
                encoder.push(format, pixels, packets).map_err(media(&out))?;
                write_packets(muxer, packets, stamps).map_err(media(&out))?;
            }
            Sink::Png { encoder, staged } => {
                if format != FrameFormat::Rgba {
                    return Err(Error::new(Code::InvalidConfig, "PNG chunks are encoded from RGBA frames"));
                }
                let bytes = encoder.encode(pixels).map_err(media(&out))?;
                let name = format!("frame_{:06}.png", self.first_frame + self.frames + 1);
                let path = staged.path().join(name);
                std::fs::write(&path, bytes).map_err(|e| Error::io("writing", &path, e))?;
            }
        }
        self.frames += 1;
        Ok(())
    }

    /// Flush, close and publish the chunk at its path.
    pub fn finish(self) -> Result<ChunkOutput> {
        let out = self.out;
        match self.sink {
            Sink::Video { mut encoder, mut muxer, staged, mut packets, mut stamps } => {
                encoder.finish(&mut packets).map_err(media(&out))?;
                write_packets(&mut muxer, &mut packets, &mut stamps).map_err(media(&out))?;
                muxer.finish().map_err(media(&out))?;
                let sha256 = crate::digest::file(staged.path())?;
                staged.commit()?;
                Ok(ChunkOutput { frames: self.frames, sha256 })
            }
            Sink::Png { staged, .. } => {
                let sha256 = crate::digest::dir(staged.path())?;
                staged.commit()?;
                Ok(ChunkOutput { frames: self.frames, sha256 })
            }
        }
    }
}

/// Flush the GOP that ends here into `packets` and start a fresh encoder for the next one.
fn next_gop(
    encoder: &mut VideoEncoder,
    packets: &mut Vec<ff::Packet>,
) -> std::result::Result<(), crate::error::AvError> {
    encoder.finish(packets)?;
    encoder.reopen()
}

fn write_packets(
    muxer: &mut Muxer,
    packets: &mut Vec<ff::Packet>,
    stamps: &mut Stamps,
) -> std::result::Result<(), crate::error::AvError> {
    for mut packet in packets.drain(..) {
        let ts = stamps.fps.frame_to_ts(stamps.next, stamps.tb);
        let end = stamps.fps.frame_to_ts(stamps.next + 1, stamps.tb);
        packet.set_pts(Some(ts));
        packet.set_dts(Some(ts));
        packet.set_duration(end - ts);
        packet.set_stream(0);
        muxer.write(&packet)?;
        stamps.next += 1;
    }
    Ok(())
}
