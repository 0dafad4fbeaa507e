//! GIF assemble: the chunks are RGBA PNG frames (as for a PNG sequence), because a GIF's palette
//! is a decision about the whole video; assemble reads every frame twice, once to build the
//! palette and once to map and encode it, as HyperFrames' two ffmpeg passes do (`av::gif`). So
//! the file depends only on the frames, never on how they were chunked.
//!
//! The loop count is the plan's (`gifLoop` in `meta/encoder.json`). A GIF has no sound: a plan's
//! soundtrack is left out with a warning before this runs.

use std::path::{Path, PathBuf};

use super::feed::ChunkFeed;
use super::frames;
use super::model::{cancelled, no_audio, report, AssembleOptions, AudioSummary, Progress};
use crate::av::gif::{GifWriter, PaletteBuilder};
use crate::av::image::{DecodedImage, ImageCodec, ImageDecoder};
use crate::error::{Code, Error, Result};
use crate::plan::layout::PlanLayout;
use crate::plan::Plan;
use crate::publish::StagedFile;

/// Write the GIF of `feed`'s chunks to `out`; returns the frames written.
pub fn write(
    plan: &Plan,
    feed: &mut dyn ChunkFeed,
    expected: &[Option<String>],
    out: &Path,
    options: &AssembleOptions,
) -> Result<(i64, AudioSummary)> {
    let loops = PlanLayout::new(&plan.dir).read_encoder()?.gif_loop.unwrap_or(0);
    let lists = frames::local_frames(plan, feed, expected, options)?;
    let frames: Vec<&PathBuf> = lists.iter().flatten().collect();
    let d = plan.dimensions;
    let mut reader = FrameReader::new(plan)?;
    let mut step = Steps { total: plan.total_frames, done: 0, options };
    let mut palette = PaletteBuilder::new(d.width, d.height, d.fps.rate()).map_err(media(out))?;
    for frame in &frames {
        palette.add(reader.rgba(frame)?).map_err(media(out))?;
        step.advance()?;
    }
    let palette = palette.finish().map_err(media(out))?;
    let staged = StagedFile::new(out)?;
    let mut writer =
        GifWriter::create(staged.path(), (d.width, d.height), d.fps.rate(), loops, palette).map_err(media(out))?;
    for frame in &frames {
        writer.add(reader.rgba(frame)?).map_err(media(out))?;
        step.advance()?;
    }
    let written = writer.finish().map_err(media(out))?;
    if written != plan.total_frames {
        let msg = format!("wrote {written} GIF frames, plan has {}", plan.total_frames);
        return Err(Error::new(Code::FrameCountMismatch, msg));
    }
    staged.commit()?;
    Ok((written, no_audio()))
}

fn media(out: &Path) -> impl Fn(crate::error::AvError) -> Error + '_ {
    move |e| Error::av(Code::MediaFailed, e).prefixed(&format!("writing {}", out.display()))
}

/// Reads a chunk's PNG frame into one reused RGBA buffer, checking its size against the plan.
struct FrameReader {
    decoder: ImageDecoder,
    rgba: Vec<u8>,
    size: (u32, u32),
}

impl FrameReader {
    fn new(plan: &Plan) -> Result<Self> {
        let decoder = ImageDecoder::open(ImageCodec::Png).map_err(|e| Error::av(Code::MediaFailed, e))?;
        Ok(FrameReader { decoder, rgba: Vec::new(), size: (plan.dimensions.width, plan.dimensions.height) })
    }

    fn rgba(&mut self, frame: &Path) -> Result<&[u8]> {
        let bytes = std::fs::read(frame).map_err(|e| Error::io("reading frame", frame, e))?;
        let corrupt = |e| Error::av(Code::CorruptChunk, e).prefixed(&format!("decoding {}", frame.display()));
        match self.decoder.decode_into(&bytes, &mut self.rgba).map_err(corrupt)? {
            DecodedImage::Rgba { width, height, pixels } if (width, height) == self.size => self.rgba = pixels,
            DecodedImage::Rgba { width, height, .. } => {
                let msg = format!("{} is {width}x{height}, plan is {}x{}", frame.display(), self.size.0, self.size.1);
                return Err(Error::new(Code::IncompatibleChunk, msg));
            }
            DecodedImage::Jfif420 { .. } => {
                return Err(Error::new(Code::CorruptChunk, format!("{} is not an RGBA PNG", frame.display())));
            }
        }
        Ok(&self.rgba)
    }
}

/// Progress over both passes: each frame counts half in each, so `frames_done` reaches the
/// total as the last frame is written; cancellation is checked every 16 steps.
struct Steps<'a> {
    total: i64,
    done: i64,
    options: &'a AssembleOptions,
}

impl Steps<'_> {
    fn advance(&mut self) -> Result<()> {
        self.done += 1;
        if self.done % 16 == 0 || self.done == 2 * self.total {
            report(self.options, Progress { frames_done: self.done / 2, total_frames: self.total });
            cancelled(self.options)?;
        }
        Ok(())
    }
}
