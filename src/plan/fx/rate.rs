//! `rate` lanes: HyperFrames 0.8.170's speed ramps (core `speedRamp`, engine
//! `buildRampFilterComplex`), the clock arithmetic, and the constant `data-playback-rate` that
//! a lane replaces ([`Speed`]). `plan::media`'s `speed.rs` plays them.
//!
//! What HyperFrames does with a clip's `rate` lane (`readElementRateSpec`: the first `rate` lane
//! of `data-automation`, its points clamped to 0.1..10, replacing any constant playback rate):
//!
//! - **Clock.** The lane's `t` is the clip's own time (seconds from its start); its value is the
//!   playback speed, interpolated in log space between points (curves and via points shape the
//!   progress as for any lane). Source time is the integral of the speed ([`RateMap`]: a table of
//!   48 trapezoid cells per segment, linear between them, the first and last speeds held
//!   outside).
//! - **Length.** A clip without an end plays `time_at_source_time(source length − media start)`
//!   on the timeline; one with an end reads `source_time_at(end − start)` seconds of its source.
//! - **Samples.** The source, seeked to the media start and cut to that many source seconds, is
//!   split into at most 240 slices of equal timeline length (0.25 s, or `duration / 240` past
//!   60 s); slice `i` covers source `[S(i·step), S((i+1)·step)]`, is played by ffmpeg's `atempo`
//!   at the slice's mean speed (stages of at most ×2 / ×0.5), padded with silence and cut to
//!   exactly `step`, and the slices are concatenated ([`ramp_graph`] writes HyperFrames' filter
//!   graph). The pitch is kept (`atempo` is a time stretch, not a resampling).
//! - **Effects.** The effects runtime ignores a `rate` lane; volume and effect lanes stay on the
//!   clip's clock (timeline seconds), so they are not stretched. The chain's tail is unchanged.
//! - **Constant rate.** Without a lane, `data-playback-rate` (0.1..10) plays through the same
//!   extraction: `speed × length` source seconds through its `atempo` stages.

use super::automation::{sample_lane, to_fixed6, Automation, Lane};
pub use super::automation::{MAX_RATE, MIN_RATE};
/// Table cells per segment between two points (`CELLS_PER_SEGMENT`).
const CELLS_PER_SEGMENT: u32 = 48;
/// A ramp is played in slices of this many timeline seconds (`RAMP_SLICE_SECONDS`)...
pub const RAMP_SLICE_SECONDS: f64 = 0.25;
/// ...and at most this many of them (`MAX_RAMP_SLICES`).
pub const MAX_RAMP_SLICES: u32 = 240;

/// A rate lane's clock: timeline seconds of the clip ↔ seconds of its source.
#[derive(Debug, Clone, PartialEq)]
pub struct RateMap {
    ts: Vec<f64>,
    ss: Vec<f64>,
    first: f64,
    last: f64,
}

impl RateMap {
    /// The clock of `lane` (HyperFrames' `buildTable`), or `None` when it has no points.
    pub fn new(lane: &Lane) -> Option<RateMap> {
        let pts = &lane.points;
        let (first, last) = (pts.first()?.v, pts.last()?.v);
        let mut map = RateMap { ts: vec![0.0], ss: vec![0.0], first, last };
        map.push(lane, pts[0].t.max(0.0));
        for w in pts.windows(2) {
            let (a, b) = (w[0].t, w[1].t);
            if b <= 0.0 {
                continue;
            }
            for k in 1..=CELLS_PER_SEGMENT {
                map.push(lane, a.max(0.0) + (b - a) * f64::from(k) / f64::from(CELLS_PER_SEGMENT));
            }
        }
        Some(map)
    }

    fn push(&mut self, lane: &Lane, t: f64) {
        let (prev_t, prev_s) = (self.ts[self.ts.len() - 1], self.ss[self.ss.len() - 1]);
        if t <= prev_t {
            return;
        }
        let mean = (sample_lane(lane, prev_t, true) + sample_lane(lane, t, true)) / 2.0;
        self.ts.push(t);
        self.ss.push(prev_s + mean * (t - prev_t));
    }

    /// The speed at clip time `t` (HyperFrames' `rateAt`).
    #[cfg(test)]
    pub fn rate_at(lane: &Lane, t: f64) -> f64 {
        if lane.points.is_empty() {
            1.0
        } else {
            sample_lane(lane, t, true)
        }
    }

    /// Source seconds played by clip time `t` (HyperFrames' `sourceTimeAt`).
    pub fn source_time_at(&self, t: f64) -> f64 {
        let last = self.ts.len() - 1;
        if t <= 0.0 {
            t * self.first
        } else if t >= self.ts[last] {
            self.ss[last] + (t - self.ts[last]) * self.last
        } else {
            interpolate(&self.ts, &self.ss, t)
        }
    }

    /// Clip time at which source second `s` plays (HyperFrames' `timeAtSourceTime`).
    pub fn time_at_source_time(&self, s: f64) -> f64 {
        let last = self.ss.len() - 1;
        if s <= 0.0 {
            s / self.first
        } else if s >= self.ss[last] {
            self.ts[last] + (s - self.ss[last]) / self.last
        } else {
            interpolate(&self.ss, &self.ts, s)
        }
    }
}

/// How a clip's source plays against the timeline: HyperFrames' rate spec
/// (`readElementRateSpec`), the clip's `rate` lane, else its constant `data-playback-rate`.
#[derive(Debug, Clone, PartialEq)]
pub enum Speed {
    /// A constant speed other than 1, within 0.1..10.
    Constant(f64),
    /// A rate lane's clock.
    Ramp(RateMap),
}

impl Speed {
    /// The speed of a clip with `automation` and constant playback rate `rate`, or `None` when it
    /// plays at normal speed (HyperFrames' `normalizedPlaybackRate !== 1`: a lane with points
    /// always counts).
    pub fn of(automation: Option<&Automation>, rate: f64) -> Option<Speed> {
        if let Some(map) = automation.and_then(|a| a.lane("rate")).and_then(RateMap::new) {
            return Some(Speed::Ramp(map));
        }
        let rate = clamp_rate(rate);
        (rate != 1.0).then_some(Speed::Constant(rate))
    }

    /// Source seconds played by clip time `t` (`sourceTimeAt`).
    pub fn source_time_at(&self, t: f64) -> f64 {
        match self {
            Speed::Constant(rate) => t * rate,
            Speed::Ramp(map) => map.source_time_at(t),
        }
    }

    /// Clip time at which source second `s` plays (`timeAtSourceTime`).
    pub fn time_at_source_time(&self, s: f64) -> f64 {
        match self {
            Speed::Constant(rate) => s / rate,
            Speed::Ramp(map) => map.time_at_source_time(s),
        }
    }

    /// The filter graph, `[0:a]` to `[out]`, that plays a stereo source for `duration` timeline
    /// seconds (`preparedAudioOutputArgs`): the ramp's graph ([`ramp_graph`]), or the `atempo`
    /// stages of a constant speed (`anull` where they round to none).
    pub fn graph(&self, duration: f64) -> String {
        match self {
            Speed::Ramp(map) => ramp_graph(map, duration, None, None),
            Speed::Constant(rate) => format!("[0:a]{}[out]", atempo(*rate).unwrap_or_else(|| "anull".into())),
        }
    }
}

/// A playback rate as HyperFrames keeps it (`clampPlaybackRate`): within 0.1..10, 1 when not a
/// positive number.
pub fn clamp_rate(rate: f64) -> f64 {
    if rate.is_finite() && rate > 0.0 {
        rate.clamp(MIN_RATE, MAX_RATE)
    } else {
        1.0
    }
}

/// The 48 kHz samples ffmpeg keeps for `-t <seconds>` as HyperFrames writes it (`String(x)`):
/// the text read to the microsecond, later digits dropped (`av_parse_time`), then rescaled to the
/// nearest sample, halves up (`av_rescale_q`). 0 for what is not a positive number.
pub fn ffmpeg_duration_samples(seconds: f64) -> u64 {
    if !(seconds.is_finite() && seconds > 0.0) {
        return 0;
    }
    let text = format!("{seconds}");
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let micro: String = frac.chars().chain(std::iter::repeat('0')).take(6).collect();
    let (Ok(int), Ok(micro)) = (int.parse::<u128>(), micro.parse::<u128>()) else { return 0 };
    let us = int * 1_000_000 + micro;
    u64::try_from((us * 48_000 + 500_000) / 1_000_000).unwrap_or(u64::MAX)
}

/// Linear interpolation in a table sorted by `xs`, as HyperFrames' `interpolate` computes it.
fn interpolate(xs: &[f64], ys: &[f64], x: f64) -> f64 {
    let (mut lo, mut hi) = (0, xs.len() - 1);
    while hi - lo > 1 {
        let mid = (lo + hi) >> 1;
        if xs[mid] <= x {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    ys[lo] + (ys[hi] - ys[lo]) * (x - xs[lo]) / (xs[hi] - xs[lo])
}

/// A number as HyperFrames writes it into a filter graph (`formatFilterNumber`: six decimals,
/// then JavaScript's shortest text).
pub fn filter_number(x: f64) -> String {
    let v = if x < 0.0 { -to_fixed6(-x) } else { to_fixed6(x) };
    format!("{}", if v == 0.0 { 0.0 } else { v })
}

/// The `atempo` stages for a speed (HyperFrames' `buildAtempoFilter`): the speed clamped to
/// 0.1..10 (1 when not a positive number), split into ×0.5 / ×2 stages and the rest; `None` at
/// speed 1.
pub fn atempo(rate: f64) -> Option<String> {
    let mut left = if rate.is_finite() && rate > 0.0 { rate.clamp(MIN_RATE, MAX_RATE) } else { 1.0 };
    if (left - 1.0).abs() < 1e-9 {
        return None;
    }
    let mut stages = Vec::new();
    while left < 0.5 - 1e-9 {
        stages.push(0.5);
        left /= 0.5;
    }
    while left > 2.0 + 1e-9 {
        stages.push(2.0);
        left /= 2.0;
    }
    if (left - 1.0).abs() >= 1e-9 {
        stages.push(left);
    }
    Some(stages.iter().map(|s| format!("atempo={}", filter_number(*s))).collect::<Vec<_>>().join(","))
}

/// One slice of a ramp: the source seconds it plays and the timeline seconds it fills.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RampSlice {
    /// First source second.
    pub from: f64,
    /// Source second it ends at.
    pub to: f64,
    /// Timeline seconds the slice fills (every slice the same).
    pub step: f64,
}

/// The slices HyperFrames plays a clip of `duration` timeline seconds in.
pub fn ramp_slices(map: &RateMap, duration: f64) -> Vec<RampSlice> {
    let slices = ((duration / RAMP_SLICE_SECONDS).ceil().max(1.0) as u32).min(MAX_RAMP_SLICES);
    let step = duration / f64::from(slices);
    (0..slices)
        .map(|i| RampSlice {
            from: map.source_time_at(f64::from(i) * step),
            to: map.source_time_at(f64::from(i + 1) * step),
            step,
        })
        .collect()
}

/// HyperFrames' `buildRampFilterComplex`: the ffmpeg filter graph that plays a clip of
/// `duration` timeline seconds through `map`, with `head` before the split and `tail` (the mono
/// upmix) after the concatenation, from input `[0:a]` to `[out]`.
pub fn ramp_graph(map: &RateMap, duration: f64, head: Option<&str>, tail: Option<&str>) -> String {
    let slices = ramp_slices(map, duration);
    let n = slices.len();
    let split: String = (0..n).map(|i| format!("[s{i}]")).collect();
    let mut parts = vec![format!("[0:a]{}asplit={n}{split}", head.map_or(String::new(), |h| format!("{h},")))];
    for (i, s) in slices.iter().enumerate() {
        let mut chain = vec![
            format!("atrim=start={}:end={}", filter_number(s.from), filter_number(s.to)),
            "asetpts=PTS-STARTPTS".into(),
        ];
        chain.extend(atempo((s.to - s.from) / s.step));
        chain.extend(["apad".into(), "asetpts=N/SR/TB".into(), format!("atrim=0:{}", filter_number(s.step))]);
        parts.push(format!("[s{i}]{}[t{i}]", chain.join(",")));
    }
    let joined: String = (0..n).map(|i| format!("[t{i}]")).collect();
    parts.push(format!("{joined}concat=n={n}:v=0:a=1{}", if tail.is_some() { "[cat]" } else { "[out]" }));
    if let Some(tail) = tail {
        parts.push(format!("[cat]{tail}[out]"));
    }
    parts.join(";")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fx::Automation;

    fn lane(json: &str) -> Lane {
        Automation::parse(json).unwrap().lane("rate").unwrap().clone()
    }

    #[test]
    fn a_constant_rate_scales_the_clock() {
        let map = RateMap::new(&lane(r#"{"version":1,"lanes":[{"target":"rate","points":[{"t":0,"v":2}]}]}"#)).unwrap();
        assert_eq!(map.source_time_at(3.0), 6.0);
        assert_eq!(map.time_at_source_time(6.0), 3.0);
        assert_eq!(atempo(2.0).as_deref(), Some("atempo=2"));
        assert_eq!(atempo(1.0), None);
        assert_eq!(atempo(0.2).as_deref(), Some("atempo=0.5,atempo=0.5,atempo=0.8"));
        assert_eq!(atempo(50.0).as_deref(), Some("atempo=2,atempo=2,atempo=2,atempo=1.25"));
    }

    #[test]
    fn a_speed_is_the_lane_else_the_constant_rate() {
        let auto = Automation::parse(r#"{"version":1,"lanes":[{"target":"rate","points":[{"t":0,"v":2}]}]}"#).unwrap();
        assert!(matches!(Speed::of(Some(&auto), 3.0), Some(Speed::Ramp(_))));
        assert_eq!(Speed::of(None, 1.0), None);
        assert_eq!(Speed::of(None, -4.0), None);
        assert_eq!(Speed::of(None, 40.0), Some(Speed::Constant(10.0)));
        let half = Speed::of(None, 0.5).unwrap();
        assert_eq!((half.source_time_at(3.0), half.time_at_source_time(1.5)), (1.5, 3.0));
        assert_eq!(half.graph(2.0), "[0:a]atempo=0.5[out]");
        // A rate lane with only unreadable points is no lane: the constant rate plays.
        let none = Automation::parse(r#"{"version":1,"lanes":[{"target":"rate","points":[{"t":"x","v":2}]}]}"#);
        assert_eq!(Speed::of(none.ok().as_ref(), 1.0), None);
    }

    #[test]
    fn ffmpeg_durations_are_read_to_the_microsecond() {
        assert_eq!(ffmpeg_duration_samples(3.0), 144_000);
        // 1.0000104 s reads as 1.000010 s: 48000.48 samples, 48000.
        assert_eq!(ffmpeg_duration_samples(1.000_010_4), 48_000);
        // 0.0000105 s reads as 10 µs: 0.48 of a sample rounds to 0; 11 µs is 0.528.
        assert_eq!(ffmpeg_duration_samples(0.000_010_5), 0);
        assert_eq!(ffmpeg_duration_samples(0.000_011), 1);
        assert_eq!(ffmpeg_duration_samples(-1.0), 0);
        assert_eq!(ffmpeg_duration_samples(f64::NAN), 0);
    }

    #[test]
    fn a_ramp_integrates_in_log_space() {
        // 1 → 4 over 2 s, log-linear: the speed is 2 at 1 s; ∫ = 3 / ln 4 · 2 ≈ 4.328 s.
        let l = lane(
            r#"{"version":1,"lanes":[{"target":"rate","points":[{"t":0,"v":1},{"t":2,"v":4},{"t":3,"v":"40"}]}]}"#,
        );
        assert!((RateMap::rate_at(&l, 1.0) - 2.0).abs() < 1e-12);
        assert_eq!(l.points[2].v, MAX_RATE);
        let map = RateMap::new(&l).unwrap();
        let want = 3.0 / 4f64.ln() * 2.0;
        assert!((map.source_time_at(2.0) - want).abs() < 1e-3, "{}", map.source_time_at(2.0));
        for t in [0.3, 1.7, 2.5, 9.0] {
            assert!((map.time_at_source_time(map.source_time_at(t)) - t).abs() < 1e-9);
        }
        let slices = ramp_slices(&map, 100.0);
        assert_eq!(slices.len(), 240);
        assert_eq!(slices[0].from, 0.0);
        assert_eq!(filter_number(slices[0].step), "0.416667");
    }
}
