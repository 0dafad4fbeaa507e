//! One clip (or one effects track held in memory) played into the mix: decoded, trimmed, looped
//! and fitted to its slot on the root timeline, block by block (placement rules in
//! `audio_mix.rs`). A leaf below both `audio_mix` (which sums voices) and `audio_fx` (which takes
//! a clip's samples at gain 1 before its effects), so neither imports the other for it.

use std::path::PathBuf;

use super::clip::{seconds_to_samples, slot_end};
use crate::av::audio::{AudioReader, Pcm};
use crate::error::{AvError, Code, Error, Result};
use crate::plan::fx::mix_gain;
use crate::plan::model::MediaClip;

/// A track held in memory: `pcm` sounds from timeline sample `at`, scaled by `gain`.
#[derive(Debug)]
pub struct Track {
    /// The clip's or group's id.
    pub id: String,
    /// First timeline sample.
    pub at: u64,
    /// The samples.
    pub pcm: Pcm,
    /// Gain in the mix.
    pub gain: f32,
}

/// The samples of `clip` on the timeline at gain 1 (decoded, trimmed, looped, fitted as the mix
/// plays it): its first timeline sample and the samples up to its end, or `None` when it falls
/// outside `[0, samples)`.
pub(super) fn clip_samples(clip: &MediaClip, samples: u64) -> Result<Option<(u64, Pcm)>> {
    let Some(mut voice) = Voice::new(clip, 0, samples)? else { return Ok(None) };
    voice.probe()?;
    voice.gain = 1.0;
    let (at, n) = (voice.at, (voice.end - voice.at) as usize);
    let mut pcm = Pcm { left: vec![0.0; n], right: vec![0.0; n] };
    voice.mix_into(at, &mut pcm)?;
    // A source that ran out before the slot ends (no `data-duration`, or a longer one) leaves
    // silence the effects need not render: HyperFrames' track ends with its source too.
    let played = (voice.at - at) as usize;
    pcm.left.truncate(played);
    pcm.right.truncate(played);
    Ok(Some((at, pcm)))
}

/// Samples read from a source at a time by [`source_samples`].
const READ_BLOCK: u64 = 8192;

/// The source of `clip` at gain 1 from its media start, decoded as the mix decodes it: `n`
/// samples (looped when the clip loops), fewer where the source ends first; with `n` `None`, up
/// to the source's end, once.
pub(super) fn source_samples(clip: &MediaClip, n: Option<u64>) -> Result<Pcm> {
    let skip = seconds_to_samples(clip.media_start).max(0) as u64;
    let mut voice = Voice::playing(clip, 0, 0, n.unwrap_or(u64::MAX), skip);
    voice.looped &= n.is_some();
    voice.gain = 1.0;
    voice.probe()?;
    let mut out = Pcm::default();
    while !voice.done && voice.at < voice.end {
        let from = voice.at;
        let len = (voice.end - from).min(READ_BLOCK) as usize;
        let mut block = Pcm { left: vec![0.0; len], right: vec![0.0; len] };
        voice.mix_into(from, &mut block)?;
        let got = (voice.at - from) as usize;
        out.left.extend_from_slice(&block.left[..got]);
        out.right.extend_from_slice(&block.right[..got]);
    }
    Ok(out)
}

/// One clip being played into the mix.
pub(super) struct Voice {
    id: String,
    src: PathBuf,
    src_rel: String,
    pub(super) order: usize,
    gain: f32,
    looped: bool,
    /// Next timeline sample this voice writes.
    pub(super) at: u64,
    /// Timeline sample where it stops (exclusive).
    end: u64,
    /// Source samples still to drop before the first one played (the media start).
    skip: u64,
    reader: Option<AudioReader>,
    /// Samples decoded in the current pass over the source (a looped empty source stops).
    pass: u64,
    pending: Pcm,
    offset: usize,
    pub(super) done: bool,
    /// Whether the samples come from `buffer` (a track held in memory) instead of `src`.
    held: bool,
    buffer: Option<Pcm>,
}

impl Voice {
    /// The voice for `clip`, or `None` when it falls outside `[0, samples)`.
    pub(super) fn new(clip: &MediaClip, order: usize, samples: u64) -> Result<Option<Voice>> {
        if !clip.volume.is_finite() {
            let message = format!(
                "audio clip \"{}\" ({}): volume {} is not a finite gain",
                clip.id, clip.src_rel, clip.volume
            );
            return Err(Error::new(Code::CompositionInvalid, message));
        }
        let start = seconds_to_samples(clip.start);
        let end = match clip.duration {
            Some(d) => seconds_to_samples(slot_end(clip, d)?),
            None => i64::MAX,
        };
        let media_start = seconds_to_samples(clip.media_start).max(0);
        // A clip starting before 0 (never produced by the compiler, but cheap to honour) enters
        // the timeline part-way through its source.
        let skip = media_start as u64 + start.min(0).unsigned_abs();
        let (at, end) = (start.max(0) as u64, end.clamp(0, samples as i64) as u64);
        if at >= end {
            return Ok(None);
        }
        Ok(Some(Voice::playing(clip, order, at, end, skip)))
    }

    /// `clip`'s source played from timeline sample `at` to `end`, `skip` samples into it.
    fn playing(clip: &MediaClip, order: usize, at: u64, end: u64, skip: u64) -> Voice {
        Voice {
            id: clip.id.clone(),
            src: clip.src.clone(),
            src_rel: clip.src_rel.clone(),
            order,
            gain: mix_gain(f64::from(clip.volume)),
            looped: clip.looped,
            at,
            end,
            skip,
            reader: None,
            pass: 0,
            pending: Pcm::default(),
            offset: 0,
            done: false,
            held: false,
            buffer: None,
        }
    }

    /// The voice playing a track held in memory, or `None` when it falls outside `[0, samples)`.
    pub(super) fn held(track: Track, order: usize, samples: u64) -> Option<Voice> {
        let end = (track.at + track.pcm.len() as u64).min(samples);
        (track.at < end).then(|| Voice {
            id: track.id,
            src: PathBuf::new(),
            src_rel: String::new(),
            order,
            gain: track.gain,
            looped: false,
            at: track.at,
            end,
            skip: 0,
            reader: None,
            pass: 0,
            pending: Pcm::default(),
            offset: 0,
            done: false,
            held: true,
            buffer: Some(track.pcm),
        })
    }

    fn invalid(&self, e: AvError) -> Error {
        Error::av(Code::AudioInvalid, e).prefixed(&format!("audio clip \"{}\" ({})", self.id, self.src_rel))
    }

    /// Open the source and decode its first block, to fail before anything is written.
    pub(super) fn probe(&self) -> Result<()> {
        if self.held {
            return Ok(());
        }
        let mut reader = AudioReader::open(&self.src).map_err(|e| self.invalid(e))?;
        reader.read().map_err(|e| self.invalid(e))?;
        Ok(())
    }

    /// Add this voice's samples for the block starting at timeline sample `block_start` into
    /// `mix`.
    pub(super) fn mix_into(&mut self, block_start: u64, mix: &mut Pcm) -> Result<()> {
        let stop = self.end.min(block_start + mix.len() as u64);
        while !self.done && self.at < stop {
            if self.offset == self.pending.len() {
                if !self.refill()? {
                    self.finish();
                }
                continue;
            }
            let n = (self.pending.len() - self.offset).min((stop - self.at) as usize);
            let dst = (self.at - block_start) as usize;
            let src = self.offset..self.offset + n;
            add_scaled(&mut mix.left[dst..dst + n], &self.pending.left[src.clone()], self.gain);
            add_scaled(&mut mix.right[dst..dst + n], &self.pending.right[src], self.gain);
            self.offset += n;
            self.at += n as u64;
        }
        if self.at >= self.end {
            self.finish();
        }
        Ok(())
    }

    fn finish(&mut self) {
        self.done = true;
        self.reader = None;
        self.pending = Pcm::default();
        self.offset = 0;
    }

    /// Decode the next block of the source into `pending`, dropping what the media start skips
    /// and restarting a looped source at its beginning. `false` when the source is over.
    fn refill(&mut self) -> Result<bool> {
        if self.held {
            let Some(block) = self.buffer.take().filter(|b| !b.is_empty()) else { return Ok(false) };
            self.pending = block;
            self.offset = 0;
            return Ok(true);
        }
        loop {
            let reader = match self.reader.as_mut() {
                Some(r) => r,
                None => self.reader.insert(AudioReader::open(&self.src).map_err(|e| self.invalid(e))?),
            };
            let Some(mut block) = reader.read().map_err(|e| self.invalid(e))? else {
                // A pass that produced nothing would loop forever: a looped empty source is silent.
                if !self.looped || self.pass == 0 {
                    return Ok(false);
                }
                self.reader = None;
                self.pass = 0;
                self.skip = 0;
                continue;
            };
            self.pass += block.len() as u64;
            let drop = (self.skip.min(block.len() as u64)) as usize;
            if drop > 0 {
                self.skip -= drop as u64;
                block.left.drain(..drop);
                block.right.drain(..drop);
            }
            if !block.is_empty() {
                self.pending = block;
                self.offset = 0;
                return Ok(true);
            }
        }
    }
}

/// `dst += src · gain`, sample by sample.
pub(super) fn add_scaled(dst: &mut [f32], src: &[f32], gain: f32) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d += s * gain;
    }
}
