//! Fitting a decoded soundtrack to an exact sample count: trim what runs past it, pad silence
//! up to it. Streaming: only one decoded block is held at a time.

use std::path::Path;

use crate::av::audio::{AudioReader, Pcm};
use crate::error::{Code, Error, Result};

/// Something that yields stereo sample blocks in order; `None` at its end.
pub trait PcmSource {
    /// The next block of samples.
    fn next_block(&mut self) -> Result<Option<Pcm>>;
}

impl PcmSource for AudioReader {
    fn next_block(&mut self) -> Result<Option<Pcm>> {
        self.read().map_err(|e| Error::av(Code::AudioInvalid, e))
    }
}

/// Opens `path` as a decoded 48 kHz stereo source, mapping failures to `AUDIO_INVALID`.
pub fn open(path: &Path) -> Result<AudioReader> {
    AudioReader::open(path).map_err(|e| Error::av(Code::AudioInvalid, e))
}

/// A source cut or padded to exactly `target` samples.
pub struct Fitted<S> {
    source: Option<S>,
    target: u64,
    emitted: u64,
    decoded: u64,
    pending: Pcm,
    offset: usize,
}

impl<S: PcmSource> Fitted<S> {
    /// Wrap `source` so that exactly `target` samples come out.
    pub fn new(source: S, target: u64) -> Self {
        Fitted { source: Some(source), target, emitted: 0, decoded: 0, pending: Pcm::default(), offset: 0 }
    }

    /// Samples the source really held (known once it has been read to its end or past target).
    pub fn decoded(&self) -> u64 {
        self.decoded
    }

    /// Samples still to come.
    pub fn remaining(&self) -> u64 {
        self.target - self.emitted
    }

    /// Append up to `want` samples to `out`; returns how many were appended (0 once the target is
    /// reached).
    pub fn read_into(&mut self, out: &mut Pcm, want: usize) -> Result<usize> {
        let want = want.min(self.remaining() as usize);
        let mut done = 0;
        while done < want {
            if self.offset >= self.pending.len() && !self.refill()? {
                // The source ended early: the rest is silence.
                let pad = want - done;
                out.left.resize(out.left.len() + pad, 0.0);
                out.right.resize(out.right.len() + pad, 0.0);
                done = want;
                break;
            }
            let take = (want - done).min(self.pending.len() - self.offset);
            let range = self.offset..self.offset + take;
            out.left.extend_from_slice(&self.pending.left[range.clone()]);
            out.right.extend_from_slice(&self.pending.right[range]);
            self.offset += take;
            done += take;
        }
        self.emitted += done as u64;
        Ok(done)
    }

    fn refill(&mut self) -> Result<bool> {
        let Some(source) = self.source.as_mut() else {
            return Ok(false);
        };
        match source.next_block()? {
            Some(block) => {
                self.decoded += block.len() as u64;
                self.pending = block;
                self.offset = 0;
                Ok(true)
            }
            None => {
                self.source = None;
                Ok(false)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Ramp {
        left: u32,
        next: f32,
    }

    impl PcmSource for Ramp {
        fn next_block(&mut self) -> Result<Option<Pcm>> {
            if self.left == 0 {
                return Ok(None);
            }
            let n = self.left.min(700);
            self.left -= n;
            let block: Vec<f32> = (0..n).map(|i| self.next + i as f32).collect();
            self.next += n as f32;
            Ok(Some(Pcm { right: block.iter().map(|v| -v).collect(), left: block }))
        }
    }

    fn drain(target: u64, have: u32) -> Pcm {
        let mut fitted = Fitted::new(Ramp { left: have, next: 1.0 }, target);
        let mut out = Pcm::default();
        while fitted.read_into(&mut out, 1024).unwrap() > 0 {}
        out
    }

    #[test]
    fn pads_short_sources_with_silence() {
        let out = drain(5000, 3000);
        assert_eq!(out.len(), 5000);
        assert_eq!(out.left[2999], 3000.0);
        assert!(out.left[3000..].iter().all(|&v| v == 0.0));
    }

    #[test]
    fn trims_long_sources() {
        let out = drain(2500, 9000);
        assert_eq!(out.len(), 2500);
        assert_eq!(out.left[2499], 2500.0);
        assert_eq!(out.right[0], -1.0);
    }
}
