//! The audio effects around the mix, as HyperFrames 0.8.170's `processCompositionAudio` applies
//! them, turning clips into tracks held in memory before the streaming mix sums them.
//!
//! - A clip whose chain has an enabled node: its fitted samples (as 16-bit, as HyperFrames
//!   extracts them) go through HyperFrames' runtime in the browser ([`FxBrowser`]) with the
//!   clip's automation; the track is then longer by the chain's tail. A volume lane becomes an
//!   envelope (linear between its keys, per sample) multiplied into the output in float, which
//!   is then written as 16-bit; the lane replaces `data-volume`. Without a volume lane the track
//!   is mixed at `data-volume`.
//! - A clip with a volume lane and no chain: the envelope is applied to its 16-bit samples.
//! - A group (`<hf-audio-group>`): its members, each prepared as above, are summed in float on
//!   the composition clock over the whole composition, then pass the group's chain and
//!   automation (composition time), then its volume lane or `data-volume`.
//! - The master bus: the chain runs over the whole float sum ([`master`]).
//!
//! A `rate` lane is not rendered: the clip plays at its normal speed (the compile step warns).

use std::collections::HashMap;

pub use super::voice::Track;
use super::voice::{add_scaled, clip_samples};
use crate::av::audio::Pcm;
use crate::engine::audio_fx::FxBrowser;
use crate::error::Result;
use crate::plan::fx::{mix_gain, Automation, Envelope, FxChain};
use crate::plan::model::{AudioGroup, MediaClip};

const RATE: f64 = super::clip::SAMPLE_RATE as f64;

/// The browser, launched for the first chain that needs it and closed when dropped.
#[derive(Default)]
pub struct Effects {
    browser: Option<FxBrowser>,
}

impl Effects {
    fn render(&mut self, pcm: &Pcm, chain: &FxChain, automation: Option<&Automation>) -> Result<Pcm> {
        let browser = match self.browser.as_mut() {
            Some(b) => b,
            None => self.browser.insert(FxBrowser::launch()?),
        };
        let planes = [pcm.left.as_slice(), pcm.right.as_slice()];
        let mut out = browser.render(&planes, &chain.json, automation.map(|a| a.json.as_str()))?.into_iter();
        let left = out.next().unwrap_or_default();
        let right = out.next().unwrap_or_else(|| left.clone());
        Ok(Pcm { left, right })
    }
}

/// The tracks the effects make of the audible `clips` that have an enabled chain, a volume lane
/// or a group (and of their groups), as [`super::mix_soundtrack`] mixes them: for tests and
/// tools that compare them with HyperFrames' own intermediate files.
pub fn effect_tracks(clips: &[MediaClip], samples: u64) -> Result<Vec<Track>> {
    let held: Vec<&MediaClip> = clips.iter().filter(|c| c.audible && needs_track(c)).collect();
    tracks(&held, samples, &mut Effects::default())
}

/// Whether `clip` is mixed from memory rather than streamed.
pub fn needs_track(clip: &MediaClip) -> bool {
    clip.group.is_some() || clip.fx.renders() || clip.fx.automation.as_ref().is_some_and(|a| a.lane("volume").is_some())
}

/// The tracks for every clip that [`needs_track`] and for every group, in clip order (groups
/// after the ungrouped clips, as HyperFrames mixes them).
pub fn tracks(clips: &[&MediaClip], samples: u64, fx: &mut Effects) -> Result<Vec<Track>> {
    let mut out = Vec::new();
    let mut groups: Vec<(&AudioGroup, Vec<Track>)> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for clip in clips {
        let Some(track) = clip_track(clip, samples, fx)? else { continue };
        match clip.group.as_deref() {
            None => out.push(track),
            Some(group) => {
                let i = *index.entry(group.id.as_str()).or_insert_with(|| {
                    groups.push((group, Vec::new()));
                    groups.len() - 1
                });
                groups[i].1.push(track);
            }
        }
    }
    for (group, members) in groups {
        out.push(group_track(group, &members, samples, fx)?);
    }
    Ok(out)
}

fn clip_track(clip: &MediaClip, samples: u64, fx: &mut Effects) -> Result<Option<Track>> {
    let Some((at, mut pcm)) = clip_samples(clip, samples)?.filter(|(_, p)| !p.is_empty()) else { return Ok(None) };
    let automation = clip.fx.automation.as_ref();
    for plane in [&mut pcm.left, &mut pcm.right] {
        plane.iter_mut().for_each(|s| *s = s16_in(*s));
    }
    let envelope = automation.and_then(|a| a.volume_envelope(pcm.len() as f64 / RATE));
    let mut gain = mix_gain(f64::from(clip.volume));
    match clip.fx.chain.as_ref().filter(|c| c.has_enabled()) {
        Some(chain) => {
            pcm = fx.render(&pcm, chain, automation).map_err(|e| e.prefixed(&format!("audio clip \"{}\"", clip.id)))?;
            if let Some(env) = &envelope {
                apply_envelope(&mut pcm, env);
                gain = 1.0;
            }
            for plane in [&mut pcm.left, &mut pcm.right] {
                plane.iter_mut().for_each(|s| *s = s16_out(*s));
            }
        }
        None => {
            if let Some(env) = &envelope {
                apply_envelope_s16(&mut pcm, env);
                gain = 1.0;
            }
        }
    }
    Ok(Some(Track { id: clip.id.clone(), at, pcm, gain }))
}

/// Sum a group's members over the whole composition, then run its effects and gain.
fn group_track(group: &AudioGroup, members: &[Track], samples: u64, fx: &mut Effects) -> Result<Track> {
    let n = samples as usize;
    let mut sum = Pcm { left: vec![0.0; n], right: vec![0.0; n] };
    for m in members {
        add_at(&mut sum, m);
    }
    let automation = group.fx.automation.as_ref();
    let envelope = automation.and_then(|a| a.volume_envelope(samples as f64 / RATE));
    if let Some(chain) = group.fx.chain.as_ref().filter(|c| c.has_enabled()) {
        sum = fx.render(&sum, chain, automation).map_err(|e| e.prefixed(&format!("audio group \"{}\"", group.id)))?;
        sum.left.truncate(n);
        sum.right.truncate(n);
    }
    let mut gain = mix_gain(f64::from(group.volume));
    if let Some(env) = &envelope {
        apply_envelope(&mut sum, env);
        gain = 1.0;
    }
    Ok(Track { id: group.id.clone(), at: 0, pcm: sum, gain })
}

/// The master bus chain over `sum` (kept at its length), with a browser of its own: for tests
/// and tools.
pub fn master_bus(sum: Pcm, chain: &FxChain) -> Result<Pcm> {
    master(sum, chain, &mut Effects::default())
}

/// Run the master chain over the whole mix `sum`, kept at its length.
pub fn master(sum: Pcm, chain: &FxChain, fx: &mut Effects) -> Result<Pcm> {
    if !chain.has_enabled() {
        return Ok(sum);
    }
    let n = sum.len();
    let mut out = fx.render(&sum, chain, None).map_err(|e| e.prefixed("the master bus"))?;
    out.left.resize(n, 0.0);
    out.right.resize(n, 0.0);
    Ok(out)
}

/// Add `track` (scaled by its gain) into `sum` from its start, as far as `sum` reaches.
pub fn add_at(sum: &mut Pcm, track: &Track) {
    let at = (track.at as usize).min(sum.len());
    add_scaled(&mut sum.left[at..], &track.pcm.left, track.gain);
    add_scaled(&mut sum.right[at..], &track.pcm.right, track.gain);
}

/// HyperFrames' `applyEnvelopeToPlanes`: each sample times the gain at its time, in float.
fn apply_envelope(pcm: &mut Pcm, env: &Envelope) {
    for plane in [&mut pcm.left, &mut pcm.right] {
        for (i, s) in plane.iter_mut().enumerate() {
            *s = (f64::from(*s) * env.gain_at(i as f64 / RATE)) as f32;
        }
    }
}

/// HyperFrames' `scaleSamples` on a 16-bit WAV: each sample rounded after its gain.
fn apply_envelope_s16(pcm: &mut Pcm, env: &Envelope) {
    for plane in [&mut pcm.left, &mut pcm.right] {
        for (i, s) in plane.iter_mut().enumerate() {
            let scaled = js_round(f64::from(*s) * 32768.0 * env.gain_at(i as f64 / RATE));
            *s = (scaled.clamp(-32768.0, 32767.0) / 32768.0) as f32;
        }
    }
}

/// A float sample as the 16-bit extraction holds it (libswresample's rounding, read back
/// over 32768).
fn s16_in(s: f32) -> f32 {
    ((f64::from(s) * 32768.0).round_ties_even().clamp(-32768.0, 32767.0) / 32768.0) as f32
}

/// JavaScript's `Math.round`: halves toward +∞.
fn js_round(x: f64) -> f64 {
    (x + 0.5).floor()
}

/// A float sample as HyperFrames writes it to a 16-bit WAV (clamped, ×32767, rounded) and
/// ffmpeg reads it back (÷32768).
fn s16_out(s: f32) -> f32 {
    (js_round(f64::from(s).clamp(-1.0, 1.0) * 32767.0) / 32768.0) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_bit_round_trips() {
        assert_eq!(s16_in(0.5), 0.5);
        assert_eq!(s16_in(2.0), 32767.0 / 32768.0);
        assert_eq!(s16_out(1.5), 32767.0 / 32768.0);
        let env = Envelope::new(vec![(0.0, 0.5)]);
        let mut pcm = Pcm { left: vec![3.0 / 32768.0], right: vec![-3.0 / 32768.0] };
        apply_envelope_s16(&mut pcm, &env);
        // JavaScript's Math.round: 1.5 → 2, −1.5 → −1.
        assert_eq!(pcm.left[0], 2.0 / 32768.0);
        assert_eq!(pcm.right[0], -1.0 / 32768.0);
    }
}
