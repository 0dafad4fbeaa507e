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
//! - A long input without automation (more than [`Streaming::above_bytes`] as HyperFrames holds
//!   it: 16-bit stereo for a clip, float stereo for a group or the master bus; 46.6 min and
//!   23.3 min at HyperFrames' 512 MiB) is rendered as HyperFrames' `renderInSegments` renders
//!   it: 300 s pieces, each in a fresh page from a pre-roll before it (the chain's memory,
//!   [`FxChain::warmup_seconds`], at least 10 s and at most 300 s, started on a 128-frame
//!   boundary) to 1 s past it, the runtime told where the piece starts (so its oscillators keep
//!   their phase); each piece's own frames are kept, the last one's tail with them. The
//!   effects' state starts afresh in every page: a seam is exact only as far as the pre-roll
//!   covers the chain's memory, as in HyperFrames. With automation, HyperFrames renders any
//!   length whole, and refuses a file over 2 GiB (`COMPOSITION_INVALID` here).
//!
//! A clip played at another speed (a `rate` lane or `data-playback-rate`) is a track too: its
//! samples are played at that speed first (`speed.rs`, HyperFrames' extraction), then go through
//! its chain, envelope and group as above; its lanes stay on the timeline clock.

use std::collections::HashMap;

pub use super::voice::Track;
use super::speed::{speed_of, speed_samples};
use super::voice::{add_scaled, clip_samples};
use crate::av::audio::Pcm;
use crate::control::Control;
use crate::engine::audio_fx::FxBrowser;
use crate::error::{Code, Error, Result};
use crate::plan::fx::{mix_gain, Automation, Envelope, FxChain};
use crate::plan::model::{AudioGroup, MediaClip};

const RATE: f64 = super::clip::SAMPLE_RATE as f64;

/// When and how HyperFrames renders a long input in segments (`DEFAULT_STREAMING_LIMITS`,
/// `planAudioFxSegments`). [`Streaming::HYPERFRAMES`] is what a plan uses; tests lower it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Streaming {
    /// An input of more bytes than this, as HyperFrames holds it, is segmented (512 MiB).
    pub above_bytes: u64,
    /// Frames each segment keeps (300 s).
    pub segment_frames: u64,
    /// The least pre-roll, in seconds (10).
    pub preroll_seconds: f64,
    /// The most pre-roll, in seconds (300).
    pub max_preroll_seconds: f64,
    /// Frames rendered past a segment's end (1 s).
    pub postroll_frames: u64,
}

impl Streaming {
    /// HyperFrames 0.8.170's limits.
    pub const HYPERFRAMES: Streaming = Streaming {
        above_bytes: 512 * 1024 * 1024,
        segment_frames: 300 * 48_000,
        preroll_seconds: 10.0,
        max_preroll_seconds: 300.0,
        postroll_frames: 48_000,
    };
}

impl Default for Streaming {
    fn default() -> Self {
        Streaming::HYPERFRAMES
    }
}

/// Web Audio's render quantum: a segment's pre-roll starts on a multiple of it.
const RENDER_QUANTUM: u64 = 128;

/// HyperFrames refuses to render a file over this many bytes whole (`MAX_WHOLE_FILE_BYTES`).
const MAX_WHOLE_FILE_BYTES: u64 = (1 << 31) - 1;

/// How HyperFrames holds an input: its WAV header (ffmpeg's, with its `LIST` chunk) and bytes
/// per stereo frame.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Held {
    /// A clip's trimmed 16-bit file.
    S16,
    /// A group's or the master bus's float sum.
    Float,
}

impl Held {
    fn frame_bytes(self) -> u64 {
        match self {
            Held::S16 => 4,
            Held::Float => 8,
        }
    }

    fn header_bytes(self) -> u64 {
        match self {
            Held::S16 => 78,
            Held::Float => 114,
        }
    }
}

/// One segment of a long input (`planAudioFxSegments`), in frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    keep_from: u64,
    keep_to: u64,
    read_from: u64,
    read_to: u64,
    last: bool,
}

/// The segments of `total` frames with a pre-roll of `pre` frames.
fn segments(total: u64, pre: u64, limits: &Streaming) -> Vec<Segment> {
    let step = limits.segment_frames.max(1);
    let mut out = Vec::new();
    let mut keep_from = 0;
    while keep_from < total {
        let keep_to = total.min(keep_from + step);
        out.push(Segment {
            keep_from,
            keep_to,
            read_from: keep_from.saturating_sub(pre) / RENDER_QUANTUM * RENDER_QUANTUM,
            read_to: total.min(keep_to + limits.postroll_frames),
            last: keep_to == total,
        });
        keep_from += step;
    }
    out
}

/// The pre-roll for `chain` in frames: its memory, within the limits (`chainPrerollSeconds`,
/// JavaScript's `Math.round`).
fn preroll_frames(chain: &FxChain, limits: &Streaming) -> u64 {
    let seconds = chain.warmup_seconds().max(limits.preroll_seconds).min(limits.max_preroll_seconds);
    js_round(seconds * RATE).max(0.0) as u64
}

/// Whether an input of `frames` held as `held` may be rendered whole with automation: HyperFrames
/// refuses a file over 2 GiB then (`parameter automation is not supported on inputs over 2 GiB`).
fn automation_fits(frames: usize, held: Held) -> bool {
    held.header_bytes() + frames as u64 * held.frame_bytes() <= MAX_WHOLE_FILE_BYTES
}

/// The browser, launched for the first chain that needs it and closed when dropped.
#[derive(Default)]
pub struct Effects {
    browser: Option<FxBrowser>,
    streaming: Streaming,
    /// Ends the browser's launch or a render under way.
    control: Control,
}

impl Effects {
    /// Effects whose browser work `control` cancels.
    pub fn controlled(control: &Control) -> Effects {
        Effects { control: control.clone(), ..Effects::default() }
    }

    /// Effects rendered with `streaming` for limits (tests lower HyperFrames').
    #[cfg(feature = "internals")]
    pub fn with_streaming(streaming: Streaming) -> Effects {
        Effects { streaming, ..Effects::default() }
    }

    fn browser(&mut self) -> Result<&mut FxBrowser> {
        Ok(match self.browser {
            Some(ref mut b) => b,
            None => self.browser.insert(FxBrowser::launch(&self.control)?),
        })
    }

    /// Render `pcm` through `chain` as HyperFrames' `applyAudioFxChain` does: whole, or in
    /// segments when it is long and has no automation. `what` names the track for errors.
    fn render(
        &mut self,
        pcm: &Pcm,
        chain: &FxChain,
        automation: Option<&Automation>,
        held: Held,
        what: &str,
    ) -> Result<Pcm> {
        let frames = pcm.len();
        if automation.is_none() && frames as u64 * held.frame_bytes() > self.streaming.above_bytes {
            return self.render_segments(pcm, chain, what);
        }
        if automation.is_some() && !automation_fits(frames, held) {
            return Err(Error::new(
                Code::CompositionInvalid,
                format!(
                    "{what} data-automation: HyperFrames renders parameter automation only on inputs up to 2 GiB \
                     ({frames} frames of {} bytes)",
                    held.frame_bytes()
                ),
            ));
        }
        let planes = [pcm.left.as_slice(), pcm.right.as_slice()];
        let automation = automation.map(|a| a.json.as_str());
        let out = self.browser()?.render(&planes, &chain.json, automation).map_err(|e| e.prefixed(what))?;
        Ok(planes_to_pcm(out))
    }

    /// HyperFrames' `renderInSegments`: each segment in a fresh page from its pre-roll, without
    /// automation, told its start; its own frames kept (the last one's with the tail).
    fn render_segments(&mut self, pcm: &Pcm, chain: &FxChain, what: &str) -> Result<Pcm> {
        let pre = preroll_frames(chain, &self.streaming);
        let mut out = Pcm::default();
        for seg in segments(pcm.len() as u64, pre, &self.streaming) {
            let (from, to) = (seg.read_from as usize, seg.read_to as usize);
            let planes = [&pcm.left[from..to], &pcm.right[from..to]];
            let elapsed = seg.read_from as f64 / RATE;
            let rendered =
                self.browser()?.render_at(&planes, &chain.json, None, elapsed).map_err(|e| e.prefixed(what))?;
            let rendered = planes_to_pcm(rendered);
            if rendered.is_empty() {
                return Err(Error::new(Code::MediaFailed, format!("{what}: audio effects produced no samples")));
            }
            let skip = ((seg.keep_from - seg.read_from) as usize).min(rendered.len());
            let end =
                if seg.last { rendered.len() } else { ((seg.keep_to - seg.read_from) as usize).min(rendered.len()) };
            out.left.extend_from_slice(&rendered.left[skip..end.max(skip)]);
            out.right.extend_from_slice(&rendered.right[skip..end.max(skip)]);
        }
        Ok(out)
    }
}

/// The runtime's planes as a stereo [`Pcm`] (a mono answer on both sides).
fn planes_to_pcm(planes: Vec<Vec<f32>>) -> Pcm {
    let mut planes = planes.into_iter();
    let left = planes.next().unwrap_or_default();
    let right = planes.next().unwrap_or_else(|| left.clone());
    Pcm { left, right }
}

/// The tracks the effects make of the audible `clips` that have an enabled chain, a volume lane
/// or a group (and of their groups), as [`super::mix_soundtrack`] mixes them: for tests and
/// tools that compare them with HyperFrames' own intermediate files.
#[cfg(feature = "internals")]
pub fn effect_tracks(clips: &[MediaClip], samples: u64) -> Result<Vec<Track>> {
    effect_tracks_with(clips, samples, Streaming::HYPERFRAMES)
}

/// [`effect_tracks`] with other segmenting limits (tests lower HyperFrames').
#[cfg(feature = "internals")]
pub fn effect_tracks_with(clips: &[MediaClip], samples: u64, streaming: Streaming) -> Result<Vec<Track>> {
    let held: Vec<&MediaClip> = clips.iter().filter(|c| c.audible && needs_track(c)).collect();
    tracks(&held, samples, &mut Effects::with_streaming(streaming))
}

/// Whether `clip` is mixed from memory rather than streamed.
pub fn needs_track(clip: &MediaClip) -> bool {
    clip.group.is_some()
        || clip.fx.renders()
        || clip.fx.automation.as_ref().is_some_and(|a| a.lane("volume").is_some())
        || speed_of(clip).is_some()
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
    let played = match speed_of(clip) {
        Some(speed) => speed_samples(clip, &speed, samples)?,
        None => clip_samples(clip, samples)?,
    };
    let Some((at, mut pcm)) = played.filter(|(_, p)| !p.is_empty()) else { return Ok(None) };
    let automation = clip.fx.automation.as_ref();
    for plane in [&mut pcm.left, &mut pcm.right] {
        plane.iter_mut().for_each(|s| *s = s16_in(*s));
    }
    let envelope = automation.and_then(|a| a.volume_envelope(pcm.len() as f64 / RATE));
    let mut gain = mix_gain(f64::from(clip.volume));
    match clip.fx.chain.as_ref().filter(|c| c.has_enabled()) {
        Some(chain) => {
            pcm = fx.render(&pcm, chain, automation, Held::S16, &format!("audio clip \"{}\"", clip.id))?;
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
        sum = fx.render(&sum, chain, automation, Held::Float, &format!("audio group \"{}\"", group.id))?;
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
#[cfg(feature = "internals")]
pub fn master_bus(sum: Pcm, chain: &FxChain) -> Result<Pcm> {
    master_bus_with(sum, chain, Streaming::HYPERFRAMES)
}

/// [`master_bus`] with other segmenting limits (tests lower HyperFrames').
#[cfg(feature = "internals")]
pub fn master_bus_with(sum: Pcm, chain: &FxChain, streaming: Streaming) -> Result<Pcm> {
    master(sum, chain, &mut Effects::with_streaming(streaming))
}

/// Run the master chain over the whole mix `sum`, kept at its length.
pub fn master(sum: Pcm, chain: &FxChain, fx: &mut Effects) -> Result<Pcm> {
    if !chain.has_enabled() {
        return Ok(sum);
    }
    let n = sum.len();
    let mut out = fx.render(&sum, chain, None, Held::Float, "the master bus")?;
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
    fn segments_follow_hyperframes() {
        let limits = Streaming::HYPERFRAMES;
        // 700 s with a 10 s pre-roll: 0–300, 300–600, 600–700.
        let segs = segments(700 * 48_000, 480_000, &limits);
        let want = [
            (0, 14_400_000, 0, 14_448_000, false),
            (14_400_000, 28_800_000, 13_920_000, 28_848_000, false),
            (28_800_000, 33_600_000, 28_320_000, 33_600_000, true),
        ];
        let got: Vec<_> = segs.iter().map(|s| (s.keep_from, s.keep_to, s.read_from, s.read_to, s.last)).collect();
        assert_eq!(got, want);
        // A pre-roll that is no multiple of 128 starts on the quantum below.
        assert_eq!(segments(20, 3, &Streaming { segment_frames: 1000, ..limits })[0].read_from, 0);
        let odd = segments(2000, 100, &Streaming { segment_frames: 1000, postroll_frames: 0, ..limits });
        assert_eq!((odd[1].read_from, odd[1].read_to), (896, 2000));
        // 512 MiB: 46.6 min of a clip's 16-bit stereo, 23.3 min of a float sum.
        assert_eq!(limits.above_bytes / Held::S16.frame_bytes(), 134_217_728);
        assert_eq!(limits.above_bytes / Held::Float.frame_bytes(), 67_108_864);
        let chain = FxChain::parse(r#"{"version":1,"nodes":[{"type":"gain"}]}"#).unwrap();
        assert_eq!(preroll_frames(&chain, &limits), 480_000);
        let long = FxChain::parse(r#"{"version":1,"nodes":[{"type":"compressor","params":{"release":9000}},{"type":"gate","params":{"release":9000}},{"type":"delay","params":{"time":5000,"feedback":0.95}}]}"#).unwrap();
        assert_eq!(preroll_frames(&long, &limits), 300 * 48_000);
        assert!(automation_fits(536_870_892, Held::S16) && !automation_fits(536_870_893, Held::S16));
    }

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
