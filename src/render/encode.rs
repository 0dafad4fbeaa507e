//! Writing one chunk artifact from frames: a closed-GOP H.264 MP4, a ProRes 4444 MOV, or a
//! directory of RGBA PNG frames, built at a staging path and renamed into place when complete.
//!
//! The bytes depend only on the frames and the settings (x264's thread count included), never on
//! the machine: retries of the same chunk are byte-identical.

use std::path::Path;

use crate::av::ff;
use crate::av::mux::{Muxer, StreamSpec};
use crate::av::png::PngEncoder;
use crate::av::video::{FrameFormat, VideoEncoder, VideoEncoderConfig};
use crate::error::{Code, Error, Result};
use crate::plan::OutputFormat;
use crate::publish::{StagedDir, StagedFile};
use crate::time::Rational;

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
    Video { encoder: VideoEncoder, muxer: Muxer, staged: StagedFile, packets: Vec<ff::Packet>, tb: Rational },
    Png { encoder: PngEncoder, staged: StagedDir },
}

/// Builds one chunk artifact frame by frame.
pub struct ChunkWriter {
    sink: Sink,
    first_frame: i64,
    frames: i64,
    out: std::path::PathBuf,
}

fn media(out: &Path) -> impl Fn(crate::error::AvError) -> Error + '_ {
    move |e| Error::av(Code::MediaFailed, e).prefixed(&format!("encoding chunk {}", out.display()))
}

impl ChunkWriter {
    /// Start a chunk at `out` in `format`; `first_frame` is the chunk's first absolute frame
    /// (PNG frames are named from it). For PNG sequences only the size in `config` is used.
    pub fn create(out: &Path, format: OutputFormat, config: VideoEncoderConfig, first_frame: i64) -> Result<Self> {
        let sink = match format.muxer() {
            Some(container) => {
                let encoder = VideoEncoder::open(config.clone()).map_err(media(out))?;
                let staged = StagedFile::new(out)?;
                let mut muxer = Muxer::create(staged.path(), container).map_err(media(out))?;
                let spec = StreamSpec {
                    parameters: encoder.parameters(),
                    time_base: encoder.time_base(),
                    frame_rate: Some(config.fps.rate()),
                };
                muxer.add_stream(spec).map_err(media(out))?;
                muxer.write_header(&[]).map_err(media(out))?;
                let tb = muxer.time_base(0);
                Sink::Video { encoder, muxer, staged, packets: Vec::new(), tb }
            }
            None => Sink::Png {
                encoder: PngEncoder::open(config.width, config.height).map_err(media(out))?,
                staged: StagedDir::new(out)?,
            },
        };
        Ok(ChunkWriter { sink, first_frame, frames: 0, out: out.to_path_buf() })
    }

    /// Add the next frame, tightly packed in `format` (PNG chunks take RGBA only).
    pub fn push(&mut self, format: FrameFormat, pixels: &[u8]) -> Result<()> {
        let out = self.out.clone();
        match &mut self.sink {
            Sink::Video { encoder, muxer, packets, tb, .. } => {
                encoder.push(format, pixels, packets).map_err(media(&out))?;
                write_packets(muxer, packets, encoder.time_base(), *tb).map_err(media(&out))?;
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
            Sink::Video { mut encoder, mut muxer, staged, mut packets, tb } => {
                encoder.finish(&mut packets).map_err(media(&out))?;
                write_packets(&mut muxer, &mut packets, encoder.time_base(), tb).map_err(media(&out))?;
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

fn write_packets(
    muxer: &mut Muxer,
    packets: &mut Vec<ff::Packet>,
    from: Rational,
    to: Rational,
) -> std::result::Result<(), crate::error::AvError> {
    for mut packet in packets.drain(..) {
        packet.rescale_ts(ff::Rational(from.num as i32, from.den as i32), ff::Rational(to.num as i32, to.den as i32));
        packet.set_stream(0);
        muxer.write(&packet)?;
    }
    Ok(())
}
