//! Mixing every audible clip into the plan's one soundtrack, `audio.m4a`, streaming.
//!
//! Placement, in 48 kHz samples on the root timeline, all from exact rationals:
//! a clip sounds from `round(start·48000)` to `round((start + duration)·48000)` (or, without a
//! duration, until its source ends — or the composition ends, if it loops), clamped to
//! `[0, samples)`. Its first sample is source sample `round(media_start·48000)`. A looped clip
//! restarts at source sample 0 when the source runs out, as an HTML `loop` does; the first pass
//! alone starts at `media_start`. Each clip is scaled by its `volume` (clamped to +12 dB and
//! rounded to six decimals, as HyperFrames hands it to ffmpeg: `fx::mix_gain`) and the clips are summed in
//! order of start (then of position in the list), so the float sums are the same on every run.
//!
//! Limiter: the sum passes a look-ahead-free peak limiter with a stereo-linked gain. While
//! `|sample|·gain` stays within [`LIMITER_CEILING`] (full scale) the gain is 1 and the sum passes
//! untouched; a sample that would exceed it drops the gain at once to exactly `ceiling/|sample|`
//! (so no output sample exceeds full scale), after which the gain recovers exponentially with a
//! 250 ms time constant. This is gentle on the occasional overshooting peak of a few clips played
//! together; heavily overloaded mixes will sound compressed. [`MixSummary::limited`] reports
//! whether it ever engaged.
//!
//! Effects: clips with HyperFrames' audio effects (an enabled chain, a volume lane, a group, a
//! playback speed other than 1) are rendered first into tracks held in memory (`audio_fx.rs`) and played into the mix like any
//! clip; a master-bus chain runs over the whole sum, in memory, before the limiter. HyperFrames
//! has no limiter: it only acts here on a sum that would exceed full scale.
//!
//! Memory: the mix runs in blocks of [`MIX_BLOCK`] samples pulled by the AAC encoder's producer
//! thread (`audio::encode`, the same segmented, bit-exact encoder `assemble` uses). Only clips
//! overlapping the current block hold an open decoder; each holds at most one decoded block.
//! Nothing grows with the composition's or the sources' length.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::audio_fx::{self, Effects};
use super::voice::{Track, Voice};
use crate::audio::encode::{self, EncodeSettings};
use crate::audio::fit::{Fitted, PcmSource};
use crate::audio::m4a::write_m4a as write_audio;
use crate::av::audio::Pcm;
use crate::control::Control;
use crate::error::Result;
use crate::plan::fx::FxChain;
use crate::plan::model::{MediaClip, MixSummary};
use crate::publish::StagedFile;

/// Samples per channel mixed at a time.
pub const MIX_BLOCK: usize = 8192;

/// The limiter's ceiling: full scale.
pub const LIMITER_CEILING: f32 = 1.0;

/// Per-sample recovery factor of the limiter's gain reduction: `1 − 1/12000`, a time constant
/// of 12000 samples (250 ms at 48 kHz).
const RELEASE: f32 = 1.0 - 1.0 / 12_000.0;

/// Mix every audible clip into `out` (AAC-LC 192 kb/s, 48 kHz stereo, MP4 with the encoder
/// priming as an edit list) of exactly `samples` samples per channel. Returns `None` and writes
/// nothing when no audible clip overlaps the composition.
///
/// Every source is opened and its first block decoded before anything is written, so an
/// undecodable source fails fast with `AUDIO_INVALID` naming the clip and its file.
#[cfg(feature = "internals")]
pub fn mix_audio(clips: &[MediaClip], samples: u64, out: &Path) -> Result<Option<MixSummary>> {
    mix_soundtrack(clips, None, samples, out, &Control::default())
}

/// [`mix_audio`] with HyperFrames' audio effects: clips with a chain, a volume lane or a group
/// become tracks held in memory (rendered in the browser by HyperFrames' runtime, as
/// [`crate::engine::audio_fx`] describes), and `master`, when it has an enabled
/// node, runs over the whole sum before the limiter. Cancelling `control` stops the mix between
/// two blocks or two effect renders with `CANCELLED`, leaving nothing at `out`.
pub fn mix_soundtrack(
    clips: &[MediaClip],
    master: Option<&FxChain>,
    samples: u64,
    out: &Path,
    control: &Control,
) -> Result<Option<MixSummary>> {
    let mut fx = Effects::controlled(control);
    let mut voices = Vec::new();
    let mut held = Vec::new();
    for (order, clip) in clips.iter().enumerate().filter(|(_, c)| c.audible) {
        if audio_fx::needs_track(clip) {
            held.push(clip);
        } else if let Some(voice) = Voice::new(clip, order, samples)? {
            voices.push(voice);
        }
    }
    for voice in &voices {
        voice.probe()?;
    }
    for (i, track) in audio_fx::tracks(&held, samples, &mut fx)?.into_iter().enumerate() {
        voices.extend(Voice::held(track, clips.len() + i, samples));
    }
    if voices.is_empty() {
        return Ok(None);
    }
    let count = voices.len() as u32;
    if let Some(chain) = master.filter(|c| c.has_enabled()) {
        let sum = Mixer::new(voices, samples, None, control).collect()?;
        let pcm = audio_fx::master(sum, chain, &mut fx)?;
        voices = Voice::held(Track { id: "master".into(), at: 0, pcm, gain: 1.0 }, 0, samples).into_iter().collect();
    }
    // The browser is closed before the encode.
    drop(fx);
    let summary = encode_mix(voices, samples, out, control)?;
    Ok(Some(MixSummary { clips: count, ..summary }))
}

/// Stream `voices` through the limiter into the AAC soundtrack at `out`.
fn encode_mix(voices: Vec<Voice>, samples: u64, out: &Path, control: &Control) -> Result<MixSummary> {
    let count = voices.len() as u32;
    let limited = Arc::new(AtomicBool::new(false));
    let mixer = Mixer::new(voices, samples, Some(Arc::clone(&limited)), control);
    let staged = StagedFile::new(out)?;
    let mut audio = encode::start(Fitted::new(mixer, samples), samples, EncodeSettings::default())?;
    // On failure `audio` is dropped, not finished: dropping closes its channels, which stops the
    // producer and encoder threads wherever they wait.
    write_audio(staged.path(), &mut audio)?;
    audio.finish()?;
    staged.commit()?;
    Ok(MixSummary { clips: count, samples, limited: limited.load(Ordering::Relaxed) })
}

/// The stereo-linked peak limiter described in the module docs.
struct Limiter {
    gain: f32,
    engaged: bool,
}

impl Limiter {
    fn process(&mut self, pcm: &mut Pcm) {
        for (l, r) in pcm.left.iter_mut().zip(pcm.right.iter_mut()) {
            let peak = l.abs().max(r.abs());
            if self.gain < 1.0 {
                self.gain = 1.0 - (1.0 - self.gain) * RELEASE;
                if 1.0 - self.gain < 1e-6 {
                    self.gain = 1.0;
                }
            }
            if peak * self.gain > LIMITER_CEILING {
                self.gain = LIMITER_CEILING / peak;
                self.engaged = true;
            }
            if self.gain < 1.0 {
                // The clamp only absorbs the last rounding of `ceiling/peak · sample`.
                *l = (*l * self.gain).clamp(-LIMITER_CEILING, LIMITER_CEILING);
                *r = (*r * self.gain).clamp(-LIMITER_CEILING, LIMITER_CEILING);
            }
        }
    }
}

/// The whole mix as a stream of blocks, pulled by the AAC encoder.
struct Mixer {
    /// Voices not started yet, latest start first (so the next one is at the end).
    waiting: Vec<Voice>,
    active: Vec<Voice>,
    next: u64,
    total: u64,
    limiter: Limiter,
    /// Where the limiter reports engaging; `None`: no limiter (a sum for the master chain).
    limited: Option<Arc<AtomicBool>>,
    /// Looked at before each block.
    control: Control,
}

impl Mixer {
    fn new(mut voices: Vec<Voice>, total: u64, limited: Option<Arc<AtomicBool>>, control: &Control) -> Self {
        voices.sort_by_key(|v| std::cmp::Reverse((v.at, v.order)));
        Mixer {
            waiting: voices,
            active: Vec::new(),
            next: 0,
            total,
            limiter: Limiter { gain: 1.0, engaged: false },
            limited,
            control: control.clone(),
        }
    }

    /// The whole mix in memory.
    fn collect(mut self) -> Result<Pcm> {
        let mut all = Pcm::default();
        while let Some(block) = self.next_block()? {
            all.left.extend_from_slice(&block.left);
            all.right.extend_from_slice(&block.right);
        }
        Ok(all)
    }
}

impl PcmSource for Mixer {
    fn next_block(&mut self) -> Result<Option<Pcm>> {
        self.control.check()?;
        if self.next >= self.total {
            return Ok(None);
        }
        let n = (self.total - self.next).min(MIX_BLOCK as u64);
        let end = self.next + n;
        while self.waiting.last().is_some_and(|v| v.at < end) {
            if let Some(voice) = self.waiting.pop() {
                self.active.push(voice);
            }
        }
        let mut mix = Pcm { left: vec![0.0; n as usize], right: vec![0.0; n as usize] };
        for voice in &mut self.active {
            voice.mix_into(self.next, &mut mix)?;
        }
        self.active.retain(|v| !v.done);
        if let Some(limited) = &self.limited {
            self.limiter.process(&mut mix);
            if self.limiter.engaged {
                limited.store(true, Ordering::Relaxed);
            }
        }
        self.next = end;
        Ok(Some(mix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_never_exceeds_full_scale_and_recovers() {
        let mut limiter = Limiter { gain: 1.0, engaged: false };
        let mut pcm = Pcm { left: vec![0.5; 48_000], right: vec![0.25; 48_000] };
        pcm.left[100] = 3.0;
        pcm.right[200] = -2.0;
        limiter.process(&mut pcm);
        assert!(limiter.engaged);
        assert!(pcm.left.iter().chain(&pcm.right).all(|v| v.abs() <= LIMITER_CEILING));
        assert_eq!(pcm.left[100], 1.0);
        assert!(pcm.left[99] == 0.5 && pcm.left[101] < 0.17, "instant attack, slow release");
        assert!(pcm.left[47_999] > 0.49, "gain nearly back to 1 after a second");
    }

    #[test]
    fn limiter_leaves_quiet_mixes_untouched() {
        let mut limiter = Limiter { gain: 1.0, engaged: false };
        let mut pcm = Pcm { left: vec![1.0; 10], right: vec![-0.75; 10] };
        limiter.process(&mut pcm);
        assert!(!limiter.engaged);
        assert_eq!(pcm.left, vec![1.0; 10]);
        assert_eq!(pcm.right, vec![-0.75; 10]);
    }
}
