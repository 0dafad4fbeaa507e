//! Packet-level concatenation of chunks with exact restamping.
//!
//! Frame `n` of the output (counting across all chunks) gets `pts = dts = n·fpsDen/fpsNum` in
//! the output stream's time base, and every packet lasts exactly one frame, so the track's frame
//! rate is the plan's and its duration is `totalFrames·fpsDen/fpsNum`, whatever the chunking. No
//! timestamp from a chunk file survives, so chunk time bases and edit lists cannot drift it.
//!
//! Chunks are taken from [`Arrivals`] one at a time: chunk i is opened once it is local and
//! checked, and released (a downloaded copy deleted) as soon as its last packet was read.

use std::path::PathBuf;

use super::arrivals::Arrivals;
use crate::av::demux::Demuxer;
use crate::av::ff;
use crate::error::{Code, Error, Result};
use crate::time::{Fps, Rational};

/// Yields the video packets of all chunks in order, restamped onto one timeline.
pub struct VideoSource<'a> {
    chunks: Arrivals<'a>,
    path: PathBuf,
    fps: Fps,
    time_base: Rational,
    next_chunk: usize,
    current: Option<Demuxer>,
    in_chunk: i64,
    frame: i64,
}

impl<'a> VideoSource<'a> {
    /// A source over `chunks`, stamping in `time_base`.
    pub fn new(chunks: Arrivals<'a>, fps: Fps, time_base: Rational) -> Self {
        let path = PathBuf::new();
        VideoSource { chunks, path, fps, time_base, next_chunk: 0, current: None, in_chunk: 0, frame: 0 }
    }

    /// Frames yielded so far.
    pub fn frames(&self) -> i64 {
        self.frame
    }

    /// The next restamped packet, or `None` after the last chunk.
    pub fn next_packet(&mut self) -> Result<Option<ff::Packet>> {
        loop {
            if self.current.is_none() {
                if self.next_chunk == self.chunks.len() {
                    return Ok(None);
                }
                self.path = self.chunks.open(self.next_chunk)?;
                let demuxer = Demuxer::open(&self.path).map_err(|e| self.corrupt(e))?;
                self.current = Some(demuxer);
                self.in_chunk = 0;
            }
            let mut packet = ff::Packet::empty();
            let read = match self.current.as_mut() {
                Some(d) => d.read_video(&mut packet).map_err(|e| self.corrupt(e))?,
                None => false,
            };
            if read {
                return self.stamp(packet).map(Some);
            }
            self.end_chunk()?;
        }
    }

    fn stamp(&mut self, mut packet: ff::Packet) -> Result<ff::Packet> {
        let spec = self.chunks.spec(self.next_chunk);
        if self.in_chunk == spec.frames() {
            let what = format!("holds more than the plan's {} frames", spec.frames());
            return Err(self.chunk_error(Code::FrameCountMismatch, what));
        }
        if self.in_chunk == 0 && !packet.is_key() {
            let msg = format!("chunk {} does not start with a keyframe", spec.index);
            return Err(Error::new(Code::ChunkNotClosedGop, msg));
        }
        let ts = self.fps.frame_to_ts(self.frame, self.time_base);
        let next = self.fps.frame_to_ts(self.frame + 1, self.time_base);
        packet.set_pts(Some(ts));
        packet.set_dts(Some(ts));
        packet.set_duration(next - ts);
        packet.set_position(-1);
        packet.set_stream(0);
        self.in_chunk += 1;
        self.frame += 1;
        Ok(packet)
    }

    fn end_chunk(&mut self) -> Result<()> {
        let spec = self.chunks.spec(self.next_chunk);
        if self.in_chunk != spec.frames() {
            let what = format!("ended after {} of its {} indexed frames (truncated?)", self.in_chunk, spec.frames());
            return Err(self.chunk_error(Code::CorruptChunk, what));
        }
        self.current = None;
        self.chunks.done(self.next_chunk);
        self.next_chunk += 1;
        Ok(())
    }

    fn corrupt(&self, err: crate::error::AvError) -> Error {
        let spec = self.chunks.spec(self.next_chunk);
        let err =
            Error::av(Code::CorruptChunk, err).prefixed(&format!("chunk {} ({})", spec.index, self.path.display()));
        self.chunks.named(self.next_chunk, err)
    }

    fn chunk_error(&self, code: Code, what: String) -> Error {
        let spec = self.chunks.spec(self.next_chunk);
        let err = Error::new(code, format!("chunk {} ({}) {what}", spec.index, self.path.display()));
        self.chunks.named(self.next_chunk, err)
    }
}
